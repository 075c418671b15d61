"""Critical-path ordering against FIFO: the makespan of one slow chain beside many quick tasks.

The workflow: 200 quick thread tasks (0.01 s each), declared first, beside a chain of 4 slow
ones (0.5 s each), run with 2 workers. FIFO starts the quick tasks first, so the chain waits
for them: about 200 x 0.01 / 2 + 4 x 0.5 = 3.0 s. Critical-path order starts the chain at once
and the quick tasks fill the other worker: about 4 x 0.5 = 2.0 s.

    .venv/bin/python bench/critical_path.py                 # 3 repetitions of each order
    .venv/bin/python bench/critical_path.py --reps 5 --json bench/results/critical_path.json

One fresh store folder (``home``) in a temporary directory: a first run teaches it the
durations, then runs alternate between ``order="fifo"`` and ``order="critical_path"`` on it.
The makespan is the wall time of ``workflow.run(...)``. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podium import task, workflow

QUICK_TASKS = 200
QUICK_SECONDS = 0.01
SLOW_TASKS = 4
SLOW_SECONDS = 0.5
WORKERS = 2
ORDERS = ("fifo", "critical_path")
TARGET_SHORTER = 0.20  # critical-path makespan at least 20% shorter than FIFO


@task(isolation="thread")
def quick(index: int) -> int:
    time.sleep(QUICK_SECONDS)
    return index


@task(isolation="thread")
def slow(previous: int) -> int:
    time.sleep(SLOW_SECONDS)
    return previous + 1


@workflow
def chain_beside_fan() -> list[Any]:
    """The quick tasks first (FIFO starts them first), then the slow chain."""
    sinks: list[Any] = [quick(index) for index in range(QUICK_TASKS)]
    step: Any = 0
    for _ in range(SLOW_TASKS):
        step = slow(step)
    return [*sinks, step]


def timed_run(home: Path, order: str | None) -> float:
    """Seconds for one run on ``home`` (``order`` None: the default order)."""
    options: dict[str, Any] = {} if order is None else {"order": order}
    started = time.perf_counter()
    result = chain_beside_fan.run(home=home, max_workers=WORKERS, **options)
    elapsed = time.perf_counter() - started
    if result.state != "succeeded":
        raise SystemExit(f"podium run ended {result.state}")
    return elapsed


def measure(reps: int) -> dict[str, list[float]]:
    """Makespans per order: one learning run, then the orders alternated ``reps`` times."""
    samples: dict[str, list[float]] = {order: [] for order in ORDERS}
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as folder:
        home = Path(folder) / ".podium"
        log(f"learning run: {timed_run(home, None):.3f} s")
        for rep in range(reps):
            for order in ORDERS:
                samples[order].append(timed_run(home, order))
                log(f"rep {rep + 1}/{reps} {order}: {samples[order][-1]:.3f} s")
    return samples


def summarize(samples: dict[str, list[float]]) -> dict[str, Any]:
    rows = {
        order: {
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
            "samples_s": values,
        }
        for order, values in samples.items()
    }
    ratio = rows["critical_path"]["median_s"] / rows["fifo"]["median_s"]
    return {
        "orders": rows,
        "ratio": ratio,
        "shorter": 1 - ratio,
        "target_shorter": TARGET_SHORTER,
        "passed": 1 - ratio >= TARGET_SHORTER,
    }


def to_markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"## Critical path vs FIFO: {SLOW_TASKS} x {SLOW_SECONDS} s chain beside "
        f"{QUICK_TASKS} x {QUICK_SECONDS} s tasks, {WORKERS} workers",
        "",
        "| order | median makespan (s) | min (s) | max (s) |",
        "|---|---:|---:|---:|",
    ]
    for order, row in summary["orders"].items():
        lines.append(
            f"| {order} | {row['median_s']:.3f} | {row['min_s']:.3f} | {row['max_s']:.3f} |"
        )
    verdict = "PASS" if summary["passed"] else "MISS"
    change = "shorter" if summary["shorter"] >= 0 else "longer"
    lines += [
        "",
        f"critical/fifo: {summary['ratio']:.2f} ({change} by {abs(summary['shorter']):.0%}); "
        f"expected about {SLOW_TASKS * SLOW_SECONDS:.1f} s vs "
        f"{QUICK_TASKS * QUICK_SECONDS / WORKERS + SLOW_TASKS * SLOW_SECONDS:.1f} s",
        f"{verdict}: critical-path makespan at least {TARGET_SHORTER:.0%} shorter than FIFO",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="runs of each order (default 3)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    summary = summarize(measure(args.reps))
    print(to_markdown(summary))
    if args.json is not None:
        summary["context"] = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([".venv/bin/python", "bench/critical_path.py", *argv]),
            "reps": args.reps,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "bench_seconds": round(time.perf_counter() - started, 1),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
        log(f"wrote {args.json}")
    return 0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
