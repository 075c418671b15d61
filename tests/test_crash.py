"""Surviving kill -9 of the orchestrator: ``podium resume`` finishes the run without redoing
finished work.

The run is killed several times, each time when the store shows at least one finished and at
least one running task, and resumed. A ledger written by the tasks (one line per execution,
with the idempotency key) shows what really ran.
"""

from __future__ import annotations

import signal
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from cli_support import FLOWS, current_run_id, query, start_podium, wait_for

KILLS = 3
WORKERS = 4
LAYERS, WIDTH = 6, 5


def counts(home: Path, run_id: str) -> Counter[str]:
    return Counter(
        state
        for (state,) in query(home, "SELECT state FROM task_instances WHERE run_id = ?", run_id)
    )


@pytest.mark.slow
def test_kill_9_and_resume_runs_every_task_and_redoes_only_work_in_flight(
    tmp_path: Path,
) -> None:
    home = tmp_path / ".podium"
    ledger = tmp_path / "ledger.txt"
    env = {"PODIUM_TEST_LEDGER": str(ledger)}
    target = str(FLOWS / "ledger.py")
    process = start_podium(
        "run",
        target,
        "-p",
        f"layers={LAYERS}",
        "-p",
        f"width={WIDTH}",
        "--max-workers",
        str(WORKERS),
        home=home,
        env=env,
    )
    run_id = wait_for(lambda: current_run_id(home))
    finished_at_kill: list[set[str]] = []
    ledger_length_at_kill: list[int] = []
    for _kill in range(KILLS):
        done_before = counts(home, run_id)["succeeded"]
        wait_for(
            lambda before=done_before: (
                (c := counts(home, run_id))["running"] >= 1 and c["succeeded"] > before
            ),
            timeout=60,
        )
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
        ledger_length_at_kill.append(len(ledger.read_text().splitlines()))
        states = dict(
            query(home, "SELECT name, state FROM task_instances WHERE run_id = ?", run_id)
        )
        finished_at_kill.append({n for n, s in states.items() if s == "succeeded"})
        assert finished_at_kill[-1]
        process = start_podium("resume", run_id, home=home, env=env)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err

    # the run ended succeeded, every task succeeded exactly once
    assert query(home, "SELECT state FROM runs WHERE run_id = ?", run_id) == [("succeeded",)]
    succeeded = query(
        home, "SELECT task_name FROM attempts WHERE run_id = ? AND state = 'succeeded'", run_id
    )
    assert sorted(name for (name,) in succeeded) == sorted(
        f"work_{layer}_{index}" for layer in range(LAYERS) for index in range(WIDTH)
    )

    lines = ledger.read_text().splitlines()
    executions: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in lines:
        name, attempt, key = line.split(" ")
        executions[name].append((int(attempt), key))
    # every task ran; its key is the same for every execution, and is run_id/task_name
    assert len(executions) == LAYERS * WIDTH
    for name, runs in executions.items():
        assert {key for _attempt, key in runs} == {f"{run_id}/{name}"}
    # re-runs only for tasks in flight at a kill (started, per the ledger, but not finished);
    # never for a task that had finished before a kill
    in_flight_at_kill = [
        {line.split(" ")[0] for line in lines[:length]} - finished
        for finished, length in zip(finished_at_kill, ledger_length_at_kill, strict=True)
    ]
    rerun = {name for name, runs in executions.items() if len(runs) > 1}
    assert rerun <= set().union(*in_flight_at_kill)
    for finished, length in zip(finished_at_kill, ledger_length_at_kill, strict=True):
        ran_later = {line.split(" ")[0] for line in lines[length:]}
        assert not finished & ran_later, "a task finished before a kill ran again after it"
    extra_runs = sum(len(runs) - 1 for runs in executions.values())
    assert extra_runs <= KILLS * WORKERS
    # attempts in flight at a kill are recorded as lost (those whose start was written): a
    # lost one may have been dispatched without its code having started yet (no ledger
    # line), but never one of a task that had finished before the kills
    lost = query(home, "SELECT task_name FROM attempts WHERE run_id = ? AND state = 'lost'", run_id)
    finished_before_every_kill = set.intersection(*finished_at_kill)
    assert lost
    assert not {name for (name,) in lost} & finished_before_every_kill
