"""Task policies in real runs: retries with backoff, retry_on, Retry and Fail, timeouts for
every kind of task (nothing left behind; an overrunning thread keeps its slot), priority."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from podium import Fail, Retry, current_context, shell, task, workflow
from podium.runner.session import open_store


def attempts_of(home: Path, run_id: str, name: str) -> list[tuple[int, str, str | None]]:
    store = open_store(home)
    try:
        return [(a.attempt, a.state, a.error) for a in store.load_attempts(run_id, name)]
    finally:
        store.close()


# -- retries --------------------------------------------------------------------------------

KEYS: list[tuple[int, str]] = []


@task(retries=2, retry_delay=0.01, backoff=2.0)
def flaky() -> str:
    context = current_context()
    KEYS.append((context.attempt, context.idempotency_key))
    if context.attempt < 3:
        raise ConnectionError(f"attempt {context.attempt} failed")
    return "ok"


def test_a_flaky_task_is_retried_until_it_succeeds_with_one_idempotency_key(home: Path) -> None:
    KEYS.clear()

    @workflow
    def pipeline() -> Any:
        return flaky()

    result = pipeline.run(home=home)
    assert result.state == "succeeded"
    assert result["flaky"].attempts == 3 and result.result == "ok"
    assert attempts_of(home, result.run_id, "flaky") == [
        (1, "failed", "ConnectionError: attempt 1 failed"),
        (2, "failed", "ConnectionError: attempt 2 failed"),
        (3, "succeeded", None),
    ]
    assert [attempt for attempt, _ in KEYS] == [1, 2, 3]
    assert {key for _, key in KEYS} == {f"{result.run_id}/flaky"}


@task(retries=3, retry_delay=0.01, retry_on=(ConnectionError,))
def wrong_input() -> None:
    raise KeyError("not retried: not a ConnectionError")


def test_errors_outside_retry_on_fail_at_once(home: Path) -> None:
    @workflow
    def pipeline() -> Any:
        return wrong_input()

    result = pipeline.run(home=home)
    assert result["wrong_input"].state == "failed"
    assert result["wrong_input"].attempts == 1


@task(retries=1, retry_delay=60)
def asks_again() -> int:
    if current_context().attempt == 1:
        raise Retry("the model is warming up", after=0.01)
    return 2


@task(retries=5, retry_delay=0.01)
def gives_up() -> None:
    raise Fail("the input is wrong; retrying will not help")


def test_retry_overrides_the_delay_and_fail_stops_retrying(home: Path) -> None:
    @workflow
    def pipeline() -> Any:
        return [asks_again(), gives_up()]

    started = time.monotonic()
    result = pipeline.run(home=home)
    assert time.monotonic() - started < 30  # the 60 s retry_delay was overridden
    assert result["asks_again"].state == "succeeded"
    assert result["asks_again"].attempts == 2
    assert result["gives_up"].state == "failed"
    assert result["gives_up"].attempts == 1
    assert "Fail: the input is wrong" in (result["gives_up"].error or "")


# -- timeouts --------------------------------------------------------------------------------


@task(timeout=0.2)
async def stuck_coroutine() -> None:
    await asyncio.sleep(60)


@task(isolation="process", timeout=0.5)
def stuck_process(pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(60)


def test_coroutine_process_and_shell_tasks_are_stopped_by_their_timeout(
    home: Path, tmp_path: Path
) -> None:
    pid_file = str(tmp_path / "worker.pid")
    shell_pid_file = str(tmp_path / "shell.pid")

    @workflow
    def pipeline() -> Any:
        return [
            stuck_coroutine(),
            stuck_process(pid_file),
            shell("echo $$ > {pid}; sleep 60", name="stuck_shell", timeout=0.5,
                  pid=shell_pid_file),
        ]  # fmt: skip

    started = time.monotonic()
    result = pipeline.run(home=home)
    assert time.monotonic() - started < 30
    for name, seconds in (("stuck_coroutine", 0.2), ("stuck_process", 0.5),
                          ("stuck_shell", 0.5)):  # fmt: skip
        assert result[name].state == "failed"
        assert result[name].error == f"TimedOut: timed out after {seconds:g}s"
        assert attempts_of(home, result.run_id, name)[0][1] == "timed_out"
    for path in (pid_file, shell_pid_file):
        pid = int(Path(path).read_text())
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


RETURNED = threading.Event()


@task(timeout=0.2)
def overrunning_thread() -> None:
    time.sleep(1.0)
    RETURNED.set()


@task
def waits_for_a_slot() -> bool:
    return RETURNED.is_set()


def test_a_thread_that_overruns_is_abandoned_but_keeps_its_slot(home: Path) -> None:
    RETURNED.clear()

    @workflow
    def pipeline() -> Any:
        return [overrunning_thread(), waits_for_a_slot()]

    result = pipeline.run(home=home, max_workers=1)
    assert result["overrunning_thread"].state == "failed"
    assert result["overrunning_thread"].error == "TimedOut: timed out after 0.2s"
    # the only slot stayed taken until the abandoned thread really returned
    assert result["waits_for_a_slot"].value is True


@task(timeout=0.3, retries=1, retry_delay=0.01)
async def slow_then_fast() -> str:
    if current_context().attempt == 1:
        await asyncio.sleep(60)
    return "second attempt"


def test_a_timed_out_attempt_is_retried(home: Path) -> None:
    @workflow
    def pipeline() -> Any:
        return slow_then_fast()

    result = pipeline.run(home=home)
    assert result.result == "second attempt"
    assert [state for _, state, _ in attempts_of(home, result.run_id, "slow_then_fast")] == [
        "timed_out",
        "succeeded",
    ]


# -- priority --------------------------------------------------------------------------------

ORDER: list[str] = []


@task
def start() -> None:
    return None


@task
def record(label: str, _after: None) -> None:
    ORDER.append(label)


def test_higher_priority_runs_first_among_ready_tasks(home: Path) -> None:
    ORDER.clear()

    @workflow
    def pipeline() -> Any:
        first = start()
        return [
            record("low", first, name="low"),
            record.with_options(priority=10)("high", first, name="high"),
            record("also low", first, name="also_low"),
            record.with_options(priority=5)("middle", first, name="middle"),
        ]

    pipeline.run(home=home, max_workers=1)
    assert ORDER == ["high", "middle", "low", "also low"]


# -- fallback --------------------------------------------------------------------------------


@task
def cheap_model(prompt: str) -> str:
    return f"cheap answer to {prompt}"


@task(retries=1, retry_delay=0.01, fallback=cheap_model)
def big_model(prompt: str) -> str:
    raise ConnectionError("the big model is down")


@task
def publish(answer: str) -> str:
    return answer.upper()


def test_a_fallback_runs_with_the_same_inputs_and_its_result_stands_in(home: Path) -> None:
    @workflow
    def answer(prompt: str = "why") -> Any:
        return publish(big_model(prompt))

    result = answer.run(home=home)
    assert result.state == "succeeded"
    assert result["big_model"].state == "fell_back"
    assert result["big_model"].value == "cheap answer to why"
    assert result.result == "CHEAP ANSWER TO WHY"
    assert [(n, state) for n, state, _ in attempts_of(home, result.run_id, "big_model")] == [
        (1, "failed"),
        (2, "failed"),
        (3, "succeeded"),  # the fallback's attempt, same task instance and idempotency key
    ]


@task
def also_fails(prompt: str) -> str:
    raise RuntimeError("no luck either")


@task(fallback=also_fails)
def fails_first(prompt: str) -> str:
    raise RuntimeError("first failure")


def test_when_the_fallback_fails_too_the_task_fails(home: Path) -> None:
    @workflow
    def answer() -> Any:
        return publish(fails_first("x"))

    result = answer.run(home=home)
    assert result["fails_first"].state == "failed"
    assert result["fails_first"].error == "RuntimeError: no luck either"
    assert result["publish"].state == "upstream_failed"


def test_a_fallback_must_be_a_task() -> None:
    import pytest

    from podium import OptionError

    with pytest.raises(OptionError, match="fallback"):

        @task(fallback=len)  # type: ignore[arg-type]
        def broken() -> None: ...
