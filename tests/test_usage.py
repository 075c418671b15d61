"""Resource accounting: every attempt records what it used (wall and CPU time, peak RSS,
queue wait), on the real SQLite store and the real local executor; ``podium runs show``
prints it. Only generous lower bounds are asserted: no timings."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cli_support import podium
from flows.basic import basic
from podium import shell, task, workflow
from podium.executors.gpu import gpu_memory_mb
from podium.model.records import AttemptRecord
from podium.store.sqlite import SQLiteStore


def burn(seconds: float) -> None:
    """Busy-loop until this thread has used ``seconds`` of CPU time (a loaded machine or
    the GIL only make it take longer; given up after 30 s of wall time)."""
    start, deadline = time.thread_time(), time.monotonic() + 30
    while time.thread_time() - start < seconds and time.monotonic() < deadline:
        pass


@task(isolation="process")
def allocate_and_burn() -> int:
    block = bytearray(100_000_000)  # zero-filled: every page is written
    burn(0.3)
    return len(block)


@task
def busy_thread() -> str:
    burn(0.2)
    return "done"


@workflow
def heavy():
    allocate_and_burn()
    busy_thread()
    shell(
        "python -c 'import time; block = bytearray(50_000_000); time.sleep(0.3)'",
        name="allocate_in_shell",
    )


def attempts_by_task(store: SQLiteStore, run_id: str) -> dict[str, AttemptRecord]:
    return {a.task_name: a for a in store.load_attempts(run_id)}


def test_process_thread_and_shell_attempts_record_cpu_and_peak_rss(
    home: Path, store: SQLiteStore
) -> None:
    result = heavy.run(home=home)
    assert result.state == "succeeded"
    attempts = attempts_by_task(store, result.run_id)

    process = attempts["allocate_and_burn"]
    assert process.rss_scope == "process"
    assert process.peak_rss_mb is not None and process.peak_rss_mb >= 100
    assert process.cpu_s is not None and process.cpu_s >= 0.2

    thread = attempts["busy_thread"]
    assert thread.rss_scope == "podium-process-sampled"
    assert thread.cpu_s is not None and thread.cpu_s >= 0.1
    assert thread.peak_rss_mb is not None and thread.peak_rss_mb > 0

    command = attempts["allocate_in_shell"]
    assert command.rss_scope == "process"
    assert command.peak_rss_mb is not None and command.peak_rss_mb >= 50

    for attempt in attempts.values():
        assert attempt.wall_s is not None and attempt.wall_s >= 0.2
        assert attempt.gpu_memory_mb is None  # no NVML here
        assert attempt.run_started_at is not None
        assert attempt.run_started_at >= attempt.started_at


def test_every_attempt_of_a_mixed_run_has_its_wall_time_and_queue_wait(
    home: Path, store: SQLiteStore
) -> None:
    result = basic.run({"n": 4}, home=home, max_workers=2)  # tests/flows/basic.py
    assert result.state == "succeeded"
    attempts = store.load_attempts(result.run_id)
    kinds = {a.task_name for a in attempts}
    assert {"load", "square[0]", "square[3]", "total", "echo"} <= kinds
    for attempt in attempts:
        assert attempt.wall_s is not None and attempt.wall_s >= 0, attempt
        assert attempt.queue_wait_s is not None and attempt.queue_wait_s >= 0, attempt
        assert attempt.rss_scope in ("process", "podium-process-sampled"), attempt
    by_task = {a.task_name: a for a in attempts}
    assert by_task["total"].cpu_s is None  # a coroutine's CPU time is not separable
    assert by_task["load"].cpu_s is not None
    assert by_task["square[0]"].cpu_s is not None


def test_gpu_memory_is_none_without_nvml() -> None:
    assert gpu_memory_mb() is None
    assert gpu_memory_mb([1]) is None


def test_runs_show_prints_usage_and_bottlenecks(home: Path) -> None:
    flow = Path(__file__).parent / "flows" / "basic.py"
    assert podium("run", str(flow), home=home).returncode == 0
    listed = json.loads(podium("runs", "list", "--json", home=home).stdout)
    run_id = listed[0]["run_id"]

    shown = podium("runs", "show", run_id, home=home)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "usage (latest attempt)" in text
    for column in ("wall", "cpu", "peak RSS", "queue wait"):
        assert column in text
    assert "bottlenecks" in text
    for column in ("longest running", "longest queue wait", "largest peak RSS"):
        assert column in text
    assert " MB" in text

    detail = json.loads(podium("runs", "show", run_id, "--json", home=home).stdout)
    for attempt in detail["attempts"]:
        for field in ("wall_s", "cpu_s", "peak_rss_mb", "queue_wait_s", "rss_scope"):
            assert field in attempt
        assert attempt["wall_s"] is not None
        assert attempt["queue_wait_s"] is not None
