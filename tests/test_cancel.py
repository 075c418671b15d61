"""Stopping a run: Ctrl-C in the foreground and ``podium cancel`` from another terminal.

Either way nothing further starts, coroutines are cancelled, worker processes and shell
process groups are killed, a thread is abandoned, states are recorded, and no process that
the run started is left behind.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import psutil

from cli_support import (
    FLOWS,
    alive,
    current_run_id,
    descendants,
    only_run_id,
    podium,
    query,
    start_podium,
    task_states,
    wait_for,
)

LONG = ("in_thread", "in_process", "in_coroutine", "in_shell")


def start_slow_run(home: Path) -> tuple[subprocess.Popen[str], str, list[psutil.Process]]:
    """Start flows/slow.py; return once all four long attempts run (and the shell's and the
    worker's processes exist)."""
    process = start_podium("run", str(FLOWS / "slow.py"), home=home)
    run_id = wait_for(lambda: current_run_id(home))
    wait_for(lambda: all(task_states(home, run_id).get(n) == "running" for n in LONG))
    started = wait_for(lambda: _shell_started(process.pid))
    return process, run_id, started


def _shell_started(pid: int) -> list[psutil.Process] | None:
    found = descendants(pid)
    sleeps = [p for p in found if p.name() == "sleep"]
    return found if len(sleeps) >= 2 else None


def assert_cancelled_cleanly(home: Path, run_id: str, started: list[psutil.Process]) -> None:
    states = task_states(home, run_id)
    assert states["quick"] == "succeeded"
    assert {states[name] for name in LONG} == {"cancelled"}
    assert states["never"] == "cancelled"
    wait_for(lambda: not alive(started), timeout=10)


def test_ctrl_c_cancels_the_run_and_exits_130(tmp_path: Path) -> None:
    home = tmp_path / ".podium"
    process, run_id, started = start_slow_run(home)
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert time.monotonic() - began < 10
    assert "Ctrl-C: cancelling the run" in err
    assert f"run {run_id} cancelled" in err
    assert_cancelled_cleanly(home, run_id, started)
    run_state = podium("runs", "show", run_id, "--json", home=home).stdout
    assert '"state": "cancelled"' in run_state


def test_podium_cancel_from_another_terminal(tmp_path: Path) -> None:
    home = tmp_path / ".podium"
    process, run_id, started = start_slow_run(home)
    cancel = podium("cancel", run_id, home=home, timeout=30)
    assert cancel.returncode == 0, cancel.stderr
    assert f"run {run_id} is cancelled" in cancel.stdout
    process.communicate(timeout=30)
    assert process.returncode == 1
    assert_cancelled_cleanly(home, run_id, started)


def test_resume_is_refused_while_the_owner_is_alive(tmp_path: Path) -> None:
    home = tmp_path / ".podium"
    process, run_id, _started = start_slow_run(home)
    try:
        refused = podium("resume", run_id, home=home)
        assert refused.returncode == 2
        assert "is still running" in refused.stderr
        assert f"pid {process.pid}" in refused.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_cancel_of_an_ended_run_is_refused(tmp_path: Path) -> None:
    home = tmp_path / ".podium"
    assert podium("run", str(FLOWS / "basic.py"), home=home).returncode == 0
    done = podium("cancel", only_run_id(home), home=home)
    assert done.returncode == 2
    assert "already ended (succeeded)" in done.stderr


def test_an_owner_whose_run_was_taken_over_stops_and_writes_nothing_more(
    tmp_path: Path,
) -> None:
    home = tmp_path / ".podium"
    process, run_id, started = start_slow_run(home)
    with sqlite3.connect(home / "podium.db") as db:  # as a takeover by another process does
        db.execute(
            "UPDATE runs SET owner_pid = 1, owner_host = 'elsewhere' WHERE run_id = ?", (run_id,)
        )
    process.communicate(timeout=30)
    assert process.returncode == 1
    wait_for(lambda: not alive(started), timeout=10)
    # the old owner wrote nothing after losing the run: its tasks are as it left them
    states = task_states(home, run_id)
    assert {states[name] for name in LONG} == {"running"}
    assert query(home, "SELECT state, owner_host FROM runs") == [("running", "elsewhere")]
