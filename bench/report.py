"""Medians, per-task overheads, ratios to the baseline, podium's targets, and the markdown.

Figures (see docs/benchmarks.md):
- wall: median over repetitions of the timed region inside each subprocess;
- per-task overhead (W1-W3): (wall - ideal work time) / tasks, ideal work time being 0 for
  no-op tasks; for the W2 chain it is per step;
- W4, W5: wall, and its ratio to the baseline's wall (both end to end; W5 also splits
  process-pool start-up from the run phase);
- peak RSS: ru_maxrss of the subprocess (workers of process pools are not included).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

TITLES = {
    "w1": "W1 fan-out 1 -> N no-op -> 1",
    "w2": "W2 chain of N no-op tasks",
    "w3": "W3 random layered graph (1-3 deps per task)",
    "w4": "W4 I/O-bound tasks of 10 ms, 50 at a time",
    "w5": "W5 CPU-bound tasks of ~0.25 s in processes",
}
# (workload, label of podium's row, metric, limit): podium's ratio to the baseline.
RATIO_TARGETS = [
    ("w1", "podium", "per-task overhead", 3.0),
    ("w2", "podium", "per-step overhead", 2.0),
    ("w3", "podium", "per-task overhead", 3.0),
    ("w4", "podium (async)", "wall", 1.25),
    ("w4", "podium (thread)", "wall", 1.25),
    ("w5", "podium", "wall (start-up + run)", 1.2),
]
RSS_LIMIT_MB = 250.0
IMPORT_LIMIT_S = 0.3


@dataclass
class Row:
    system: str
    label: str
    workload: str
    params: dict[str, Any]
    runs: list[dict[str, Any]]
    errors: list[str]


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def ideal_seconds(row: Row, spin_seconds: float) -> float:
    """Work time with unlimited scheduling speed: waves of ``workers`` tasks."""
    params = row.params
    if row.workload == "w4":
        return math.ceil(params["n"] / params["workers"]) * params["seconds"]
    if row.workload == "w5":
        return math.ceil(params["n"] / params["workers"]) * spin_seconds
    return 0.0


def summarize_row(row: Row, spin_seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "system": row.system,
        "label": row.label,
        "workload": row.workload,
        "params": row.params,
        "reps": len(row.runs),
        "errors": row.errors,
        "samples_wall_s": [run["wall_s"] for run in row.runs],
    }
    if not row.runs:
        return out
    tasks = row.runs[0]["tasks"]
    wall = median_of(row.runs, "wall_s")
    assert wall is not None
    ideal = ideal_seconds(row, spin_seconds)
    out.update(
        tasks=tasks,
        wall_s=wall,
        ideal_s=ideal,
        overhead_us_per_task=(wall - ideal) / tasks * 1e6,
        peak_rss_mb=median_of(row.runs, "peak_rss_mb"),
        startup_s=median_of(row.runs, "startup_s"),
        run_s=median_of(row.runs, "run_s"),
        server_startup_s=median_of(row.runs, "server_startup_s"),
        version=row.runs[0].get("version"),
    )
    return out


def summarize(
    rows: list[Row], imports: dict[str, list[float]], context: dict[str, Any]
) -> dict[str, Any]:
    results = [summarize_row(row, context["spin_seconds"]) for row in rows]
    baseline = {r["workload"]: r for r in results if r["system"] == "baseline" and "wall_s" in r}
    for result in results:
        base = baseline.get(result["workload"])
        if base is None or "wall_s" not in result:
            continue
        if result["workload"] in ("w4", "w5"):
            result["vs_baseline"] = result["wall_s"] / base["wall_s"]
            if result.get("run_s") is not None and base.get("run_s"):
                result["run_vs_baseline"] = result["run_s"] / base["run_s"]
        else:  # per-task figures compare across sizes (prefect runs smaller graphs)
            result["vs_baseline"] = result["overhead_us_per_task"] / base["overhead_us_per_task"]
    return {
        "context": context,
        "imports_s": {name: statistics.median(v) for name, v in imports.items()},
        "import_samples_s": imports,
        "results": results,
        "targets": targets(results, imports),
    }


def targets(results: list[dict[str, Any]], imports: dict[str, list[float]]) -> list[dict]:
    found = {(r["workload"], r["label"]): r for r in results}
    checks: list[dict[str, Any]] = []
    for workload, label, metric, limit in RATIO_TARGETS:
        ratio = found.get((workload, label), {}).get("vs_baseline")
        checks.append(check(f"{workload.upper()} {label}: {metric} vs baseline", ratio, limit, "x"))
    rss = found.get(("w1", "podium"), {}).get("peak_rss_mb")
    checks.append(check("W1 podium: peak RSS", rss, RSS_LIMIT_MB, " MB"))
    seconds = statistics.median(imports["podium"]) if imports.get("podium") else None
    checks.append(check("import podium", seconds, IMPORT_LIMIT_S, " s"))
    return checks


def check(name: str, value: float | None, limit: float, unit: str) -> dict[str, Any]:
    status = "n/a" if value is None else ("PASS" if value <= limit else "MISS")
    return {"target": name, "value": value, "limit": limit, "unit": unit, "status": status}


# ---------------------------------------------------------------- markdown


def fmt(value: float | None, digits: int = 3, unit: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def notes_for(result: dict[str, Any]) -> str:
    notes = []
    if result.get("startup_s") is not None:
        notes.append(f"pool start-up {fmt(result['startup_s'])} s, run {fmt(result['run_s'])} s")
    if result.get("run_vs_baseline") is not None:
        notes.append(f"run phase {result['run_vs_baseline']:.2f}x baseline")
    if result.get("server_startup_s") is not None:
        notes.append(f"server start-up {fmt(result['server_startup_s'], 1)} s (not in wall)")
    if result["system"] == "prefect" and result["workload"] in ("w1", "w2", "w3"):
        notes.append("smaller graph: prefect takes ~10 ms/task")
    if result["workload"] in ("w4", "w5") and result.get("ideal_s"):
        notes.append(f"ideal {fmt(result['ideal_s'])} s")
    if result["system"] == "prefect" and result["workload"] == "w5":
        notes.append("ProcessPoolTaskRunner, not warmed (starts with the flow)")
    if result["label"] == "podium (async)":
        notes.append("async def + asyncio.sleep")
    if result["label"] == "podium (thread)":
        notes.append("sync task + time.sleep")
    if result["errors"]:
        notes.append(f"{len(result['errors'])} failed: {result['errors'][0][:120]}")
    return "; ".join(notes)


def to_markdown(summary: dict[str, Any]) -> str:
    context = summary["context"]
    lines = [
        f"Benchmarks, {context['date']}: `{context['command']}` ({context['mode']}, "
        f"{context['reps']} reps, medians), {context['cpus']} CPUs, Python "
        f"{context['python']}, {context['platform']}; CPU task = "
        f"{context['spin_iterations']} iterations ({context['spin_seconds']:.3f} s); "
        f"bench took {context['bench_seconds']:.0f} s.",
        "",
    ]
    lines += [f"Note: {note}" for note in context["notes"]]
    for workload, title in TITLES.items():
        rows = [r for r in summary["results"] if r["workload"] == workload]
        if not rows:
            continue
        per = "per-step" if workload == "w2" else "per-task"
        lines += [
            f"### {title}",
            "",
            f"| system | tasks | wall s | min-max s | {per} overhead us | vs baseline "
            "| peak RSS MB | notes |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in rows:
            if "wall_s" not in r:
                lines.append(f"| {r['label']} | - | - | - | - | - | - | {notes_for(r)} |")
                continue
            ratio = f"{r['vs_baseline']:.2f}x" if r.get("vs_baseline") is not None else "-"
            spread = f"{min(r['samples_wall_s']):.3f}-{max(r['samples_wall_s']):.3f}"
            overhead = "-" if workload in ("w4", "w5") else fmt(r["overhead_us_per_task"], 1)
            lines.append(
                f"| {r['label']} | {r['tasks']} | {fmt(r['wall_s'])} | {spread} | {overhead} | "
                f"{ratio} | {fmt(r['peak_rss_mb'], 1)} | {notes_for(r)} |"
            )
        lines.append("")
    lines += [
        "### Import time (fresh interpreter, median)",
        "",
        "| module | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {seconds:.3f} |" for name, seconds in summary["imports_s"].items()]
    lines += [
        "",
        "### podium's targets",
        "",
        "| target | measured | limit | result |",
        "|---|---:|---:|---|",
    ]
    for t in summary["targets"]:
        digits = 1 if t["unit"] == " MB" else 3
        value = "-" if t["value"] is None else f"{t['value']:.{digits}f}{t['unit']}"
        lines.append(f"| {t['target']} | {value} | {t['limit']:g}{t['unit']} | **{t['status']}** |")
    return "\n".join(lines) + "\n"
