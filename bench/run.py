"""Run the benchmark suite: every (workload, system) pair in a fresh subprocess, repeated,
then print the medians and podium's targets (see docs/benchmarks.md).

    bash bench/setup.sh                     # once: dask + prefect in bench/.venv-peers
    .venv/bin/python bench/run.py --quick   # about 10 minutes on 2 cores
    .venv/bin/python bench/run.py --full    # 7 repetitions, larger prefect sizes

Writes bench/results/latest.md and bench/results/latest.json. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import report  # noqa: E402

PEERS_PYTHON = BENCH / ".venv-peers" / "bin" / "python"
SCRIPTS = {
    "baseline": BENCH / "systems" / "baseline.py",
    "podium": BENCH / "systems" / "podium_runner.py",
    "dask": BENCH / "systems" / "dask_runner.py",
    "prefect": BENCH / "systems" / "prefect_runner.py",
}
SYSTEMS = tuple(SCRIPTS)
WORKLOADS = ("w1", "w2", "w3", "w4", "w5")
RUN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Mode:
    reps: int
    import_reps: int
    prefect_sizes: dict[str, dict[str, Any]]  # prefect is run smaller: ~10 ms per task


MODES = {
    "quick": Mode(
        reps=3,
        import_reps=7,
        prefect_sizes={"w1": {"n": 1000}, "w2": {"n": 100}, "w3": {"layers": 5, "width": 100}},
    ),
    "full": Mode(
        reps=7,
        import_reps=15,
        prefect_sizes={"w1": {"n": 2000}, "w2": {"n": 200}, "w3": {"layers": 10, "width": 100}},
    ),
}


@dataclass(frozen=True)
class Job:
    """One row of the table: a system (with a variant) on a workload, with its sizes."""

    system: str
    workload: str
    params: dict[str, Any]
    variant: str = ""

    @property
    def label(self) -> str:
        return f"{self.system} ({self.variant})" if self.variant else self.system


@dataclass
class Samples:
    job: Job
    runs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def podium_python() -> Path:
    """podium's own virtualenv (falls back to the interpreter running this script)."""
    venv = ROOT / ".venv" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def python_for(system: str) -> Path:
    return PEERS_PYTHON if system in ("dask", "prefect") else podium_python()


def base_sizes(spin_iterations: int) -> dict[str, dict[str, Any]]:
    return {
        "w1": {"n": 10_000, "workers": 32},
        "w2": {"n": 1_000, "workers": 32},
        "w3": {"layers": 20, "width": 100, "workers": 32},
        "w4": {"n": 200, "workers": 50, "seconds": 0.01},
        "w5": {"n": 8, "workers": os.cpu_count() or 1, "iterations": spin_iterations},
    }


def make_jobs(mode: Mode, systems: list[str], names: list[str], spin_iterations: int) -> list[Job]:
    sizes = base_sizes(spin_iterations)
    jobs: list[Job] = []
    for name in names:
        for system in systems:
            params = dict(sizes[name])
            if system == "prefect":
                params.update(mode.prefect_sizes.get(name, {}))
            if system == "podium" and name == "w4":
                jobs.append(Job(system, name, {**params, "variant": "async"}, "async"))
                jobs.append(Job(system, name, {**params, "variant": "thread"}, "thread"))
            elif system == "podium" and name in ("w1", "w2"):
                jobs.append(Job(system, name, params))  # crash-safe: the default, the target
                full = {**params, "synchronous": "FULL"}  # power-cut safe, measured apart
                jobs.append(Job(system, name, full, "synchronous=FULL"))
            else:
                jobs.append(Job(system, name, params))
    return jobs


def run_once(job: Job) -> dict[str, Any]:
    """One fresh subprocess; returns its RESULT record (raises RuntimeError on failure)."""
    command = [
        str(python_for(job.system)),
        str(SCRIPTS[job.system]),
        job.workload,
        json.dumps(job.params),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=ROOT
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"timed out after {RUN_TIMEOUT_S}s") from error
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
    raise RuntimeError(f"exit {done.returncode}: " + " | ".join(tail))


IMPORT_STATEMENTS = {
    # podium's exports load lazily: time what a workflow file does, not a bare ``import``
    "podium": "from podium import task, workflow",
}


def measure_imports(module: str, python: Path, reps: int) -> list[float]:
    """Seconds to import ``module`` (podium: ``from podium import task, workflow``) in a
    fresh interpreter (interpreter start excluded)."""
    statement = IMPORT_STATEMENTS.get(module, f"import {module}")
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = []
    for _ in range(reps):
        done = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
        )
        samples.append(float(done.stdout.strip().splitlines()[-1]))
    return samples


def calibrate() -> tuple[int, float]:
    """(spin iterations for ~0.25 s, measured seconds for them), in a fresh process."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import workloads; "
        "n = workloads.calibrate_spin(0.25); t = time.perf_counter(); "
        "workloads.spin(n); print(n, time.perf_counter() - t)"
    )
    done = subprocess.run(
        [str(podium_python()), "-c", code, str(BENCH)], capture_output=True, text=True, check=True
    )
    iterations, seconds = done.stdout.split()
    return int(iterations), float(seconds)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="3 repetitions (default)")
    group.add_argument("--full", action="store_true", help="7 repetitions, larger peers")
    parser.add_argument("--reps", type=int, help="override the number of repetitions")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated subset of " + ",".join(SYSTEMS),
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="comma-separated subset of " + ",".join(WORKLOADS),
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    mode_name = "full" if args.full else "quick"
    mode = MODES[mode_name]
    reps = args.reps or mode.reps
    systems = [s for s in args.systems.split(",") if s]
    names = [w for w in args.workloads.split(",") if w]
    notes: list[str] = []
    if any(s in ("dask", "prefect") for s in systems) and not PEERS_PYTHON.exists():
        notes.append(
            "dask and prefect skipped: bench/.venv-peers is missing (run `bash bench/setup.sh`)"
        )
        systems = [s for s in systems if s not in ("dask", "prefect")]
    started = time.perf_counter()

    iterations, spin_s = calibrate()
    log(f"calibrated: {iterations} iterations = {spin_s:.3f} s per CPU task")
    import_samples = {"podium": measure_imports("podium", podium_python(), mode.import_reps)}
    for system in ("dask", "prefect"):
        if system in systems:
            import_samples[system] = measure_imports(system, PEERS_PYTHON, 3)
    log(
        "import: "
        + ", ".join(f"{k} {statistics.median(v):.3f} s" for k, v in import_samples.items())
    )

    jobs = make_jobs(mode, systems, names, iterations)
    samples = [Samples(job) for job in jobs]
    for rep in range(reps):
        for name in names:
            # Round-robin: every system once per repetition, the order rotated per rep.
            row = [entry for entry in samples if entry.job.workload == name]
            shift = rep % len(row)
            for entry in row[shift:] + row[:shift]:
                where = f"rep {rep + 1}/{reps} {name} {entry.job.label}"
                try:
                    record = run_once(entry.job)
                except RuntimeError as error:
                    entry.errors.append(str(error))
                    log(f"{where}: FAILED {error}")
                    continue
                entry.runs.append(record)
                log(f"{where}: {record['wall_s']:.3f} s")

    context = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join([".venv/bin/python", "bench/run.py", *argv]),
        "mode": mode_name,
        "reps": reps,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "spin_iterations": iterations,
        "spin_seconds": spin_s,
        "bench_seconds": round(time.perf_counter() - started, 1),
        "notes": notes,
    }
    rows = [
        report.Row(s.job.system, s.job.label, s.job.workload, s.job.params, s.runs, s.errors)
        for s in samples
    ]
    summary = report.summarize(rows, import_samples, context)
    markdown = report.to_markdown(summary)
    print(markdown)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(markdown)
    (args.out / "latest.json").write_text(json.dumps(summary, indent=2))
    log(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    return 0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
