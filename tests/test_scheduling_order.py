"""Critical-path scheduling on learned durations: among ready tasks of equal priority, the
one with the longest expected remaining path starts first; durations come from earlier
runs of the workflow; `podium runs show` gives the critical path and, while a run is
live, its ETA."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from cli_support import podium, start_podium, wait_for
from podium import OptionError, current_context, task, workflow
from podium.runner.session import open_store

STARTS: list[str] = []
SLOW = {"slow": 0.3}


@task
def step(label: str, *after: Any) -> str:
    STARTS.append(current_context().task_name)
    time.sleep(SLOW.get(label, 0.01))
    return label


@workflow
def shape() -> Any:
    quick = [step("quick", name=f"quick{i}") for i in range(3)]  # declared first: FIFO's pick
    head = step("slow", name="head")
    tail = step("tail", head, name="tail")
    return quick, tail


def first_started(home: Path, order: str) -> str:
    STARTS.clear()
    assert shape.run(home=home, max_workers=1, order=order).state == "succeeded"
    return STARTS[0]


def test_the_longest_remaining_path_starts_first_once_durations_are_known(home: Path) -> None:
    shape.run(home=home, max_workers=1)  # learn: head takes 0.3 s, the others 0.01 s
    assert first_started(home, "critical_path") == "head"
    assert first_started(home, "fifo") == "quick0"


def test_priority_comes_before_the_critical_path(home: Path) -> None:
    @workflow
    def urgent_first() -> Any:
        urgent = step.with_options(priority=5)("quick", name="urgent")
        head = step("slow", name="head")
        return urgent, step("tail", head, name="tail")

    urgent_first.run(home=home, max_workers=1)
    STARTS.clear()
    urgent_first.run(home=home, max_workers=1)
    assert STARTS[0] == "urgent"


def test_durations_are_learned_per_workflow_from_succeeded_attempts(home: Path) -> None:
    result = shape.run(home=home, max_workers=1)
    store = open_store(home)
    try:
        history = store.task_durations("shape")
    finally:
        store.close()
    assert set(history) == {"quick0", "quick1", "quick2", "head", "tail"}
    assert history["head"][0] >= 0.3 > history["quick0"][0]
    assert result.state == "succeeded"


def test_an_unknown_order_is_refused(home: Path) -> None:
    with pytest.raises(OptionError, match="order"):
        shape.run(home=home, order="random")


LIVE = """
import time
from podium import task, workflow

@task
def wait(seconds: float, *after) -> float:
    time.sleep(seconds)
    return seconds

@workflow
def live(seconds: float = 0.2):
    first = wait(seconds, name="first")
    return wait(seconds, first, name="second")
"""


def test_runs_show_gives_the_critical_path_and_an_eta_while_running(
    home: Path, tmp_path: Path
) -> None:
    flow = tmp_path / "live.py"
    flow.write_text(LIVE)
    assert podium("run", str(flow), home=home).returncode == 0  # learn the durations
    ended = podium("runs", "show", podium_run_id(home), home=home)
    assert "critical path" in ended.stdout and "first -> second" in ended.stdout

    process = start_podium("run", str(flow), "-p", "seconds=3", home=home)
    try:
        run_id = wait_for(lambda: podium_run_id(home, running=True))
        shown = podium("runs", "show", run_id, home=home)
        assert "expected critical path" in shown.stdout
        assert "ETA:" in shown.stdout
    finally:
        process.kill()
        process.communicate()


def podium_run_id(home: Path, running: bool = False) -> str | None:
    store = open_store(home)
    try:
        runs = store.list_runs(1)
    finally:
        store.close()
    if not runs or (running and runs[0].state != "running"):
        return None
    return runs[0].run_id
