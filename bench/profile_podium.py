"""Profile one podium workload run with cProfile: where does the scheduling time go?

    .venv/bin/python bench/profile_podium.py                 # W1, 10,000 tasks
    .venv/bin/python bench/profile_podium.py w2 '{"n": 1000}' --sort cumulative --top 40

cProfile sees the thread it is enabled on: the engine's event loop, graph building and the
store's commits (podium runs them on the calling thread); with ``--threads`` every task thread
is profiled too (one profiler per thread, merged), which costs more overhead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "systems"))

import podium_runner
import workloads

DEFAULT_PARAMS = {"w1": {"n": 10_000}, "w2": {"n": 1_000}, "w3": {"layers": 20, "width": 100}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", nargs="?", default="w1", choices=sorted(DEFAULT_PARAMS))
    parser.add_argument("params", nargs="?", help="PARAMS_JSON (default: the suite's sizes)")
    parser.add_argument("--sort", default="tottime", help="pstats sort key")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--threads", action="store_true", help="also profile task threads")
    parser.add_argument("--dump", type=Path, help="write the raw pstats file here")
    args = parser.parse_args()
    params = json.loads(args.params) if args.params else DEFAULT_PARAMS[args.workload]
    workload = workloads.make(args.workload, params)
    podium_runner.GRAPH = workload.graph

    thread_profiles: list[cProfile.Profile] = []
    if args.threads:

        def start_thread_profile(*_: object) -> None:
            profile = cProfile.Profile()
            thread_profiles.append(profile)
            threading.setprofile(None)
            sys.setprofile(None)
            profile.enable()

        threading.setprofile(start_thread_profile)  # hooks threads started from now on

    home = Path(tempfile.mkdtemp(prefix="podium-profile-")) / ".podium"
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    result = podium_runner.bench_noop.run({}, max_workers=workload.workers, home=home)
    profile.disable()
    wall = time.perf_counter() - started
    threading.setprofile(None)
    for thread_profile in thread_profiles:
        thread_profile.disable()

    print(
        f"{args.workload}: {workload.tasks} tasks, {result.state}, {wall:.3f} s under "
        f"the profiler ({wall / workload.tasks * 1e6:.0f} us/task)"
    )
    stats = pstats.Stats(profile, stream=(out := io.StringIO()))
    for thread_profile in thread_profiles:
        stats.add(thread_profile)
    if args.dump:
        stats.dump_stats(str(args.dump))
    stats.sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
