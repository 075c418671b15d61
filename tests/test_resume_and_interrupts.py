"""Resume refuses what it cannot honour; Ctrl-C stops runs started from Python cleanly; a
second Ctrl-C on the CLI leaves no command behind; files that run themselves at import are
refused by ``podium run``."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from cli_support import (
    alive,
    current_run_id,
    descendants,
    podium,
    query,
    start_podium,
    task_states,
    wait_for,
)
from podium import GraphChangedError, RunError, task, workflow


@task
def step(x: int) -> int:
    return x + 1


@task
def other_step(x: int) -> int:
    return x * 2


@task
def fails_once(x: int, marker: str) -> int:
    if not Path(marker).exists():
        raise RuntimeError("not yet")
    return x


def test_resume_refuses_a_workflow_whose_tasks_changed(home: Path, tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")

    @workflow
    def pipeline() -> object:
        return fails_once(step(1), marker)

    first = pipeline.run(home=home)
    assert first.state == "failed"

    @workflow(name="pipeline")
    def edited() -> object:
        return fails_once(other_step(1), marker)

    with pytest.raises(GraphChangedError) as refused:
        edited.resume(first.run_id, home=home)
    assert refused.value.new == ["other_step"]
    assert refused.value.gone == ["step"]
    states = dict(query(home, "SELECT name, state FROM task_instances"))
    assert states == {"step": "succeeded", "fails_once": "failed"}  # nothing was claimed


def test_resume_refuses_a_run_of_another_workflow(home: Path) -> None:
    @workflow
    def one() -> object:
        return step(1)

    @workflow
    def two() -> object:
        return step(2)

    run = one.run(home=home)
    with pytest.raises(RunError, match="is a run of workflow 'one', not 'two'"):
        two.resume(run.run_id, home=home)


SCRIPT = """
import sys, time
from podium import task, workflow

@task
def quick() -> int:
    return 1

@task
def slow(x: int) -> None:
    time.sleep(60)

@workflow
def interrupted():
    return slow(quick())

if __name__ == "__main__":
    try:
        interrupted.run(home=sys.argv[1])
    except KeyboardInterrupt as error:
        print("KeyboardInterrupt:", error)
        sys.exit(130)
"""


def test_ctrl_c_during_workflow_run_cancels_cleanly_then_raises(tmp_path: Path) -> None:
    home = tmp_path / ".podium"
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script), str(home)], stdout=subprocess.PIPE, text=True
    )
    run_id = wait_for(lambda: current_run_id(home))
    wait_for(lambda: task_states(home, run_id).get("slow") == "running")
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    assert f"run {run_id} was cancelled (Ctrl-C)" in out
    assert task_states(home, run_id) == {"quick": "succeeded", "slow": "cancelled"}
    assert query(home, "SELECT state FROM runs") == [("cancelled",)]


SHELL_FLOW = """
from podium import shell, workflow

@workflow
def sleeper():
    return shell("trap '' TERM; sleep 60 & sleep 60; wait", name="sleeps")
"""


def test_a_second_ctrl_c_kills_shell_commands_before_exiting(tmp_path: Path) -> None:
    home = tmp_path / ".podium"
    flow = tmp_path / "sleeper.py"
    flow.write_text(SHELL_FLOW)
    process = start_podium("run", str(flow), home=home)
    run_id = wait_for(lambda: current_run_id(home))
    wait_for(lambda: task_states(home, run_id).get("sleeps") == "running")
    started: list[psutil.Process] = wait_for(
        lambda: (
            (found := descendants(process.pid))
            and len([p for p in found if p.name() == "sleep"]) >= 2
            and found
        )
    )
    process.send_signal(signal.SIGINT)  # the command ignores SIGTERM: cancel waits 2 s...
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)  # ...unless a second Ctrl-C says: now
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted again" in err
    wait_for(lambda: not alive(started), timeout=10)


def test_a_file_that_runs_its_workflow_at_import_is_refused(tmp_path: Path) -> None:
    flow = tmp_path / "runs_itself.py"
    flow.write_text(
        textwrap.dedent(
            """
            from podium import task, workflow

            @task
            def one() -> int:
                return 1

            @workflow
            def itself():
                return one()

            itself.run()
            """
        )
    )
    done = podium("run", str(flow), home=tmp_path / ".podium")
    assert done.returncode == 2
    assert "itself.run() was called while podium imports this file" in done.stderr
    assert 'if __name__ == "__main__":' in done.stderr
    assert not (tmp_path / ".podium" / "podium.db").exists()
