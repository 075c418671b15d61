"""Running workflows from Python, on the real SQLite store and the real local executor.

Thread, coroutine, process and shell tasks; failures and what they do to the rest of the run;
maps; per-attempt logs; the task context; results in the store; bad input refused before
anything is written; the seed API; and resuming a failed run in-process.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import graphs
from podium import (
    CycleError,
    DefinitionError,
    DuplicateTaskError,
    HandleMisuseError,
    OptionError,
    Orchestrator,
    OutsideTaskError,
    ParameterError,
    RunFailedError,
    Task,
    UnknownDependencyError,
    current_context,
    shell,
    task,
    workflow,
)
from podium.errors import RunNotFoundError, RunNotResumableError
from podium.model.loading import loading
from podium.runner.session import DATABASE_NAME
from podium.store.results import SPILL_BYTES
from podium.store.sqlite import SQLiteStore

WAIT = 30.0
"""Seconds a barrier or event waits before the test is declared broken (never reached)."""


def query(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the store under ``home``."""
    db = sqlite3.connect(f"{(home / DATABASE_NAME).as_uri()}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def task_states(store: SQLiteStore, run_id: str) -> dict[str, str]:
    return {record.name: record.state for record in store.load_tasks(run_id)}


# -- thread tasks and the fixture graphs --------------------------------------------------------


def test_the_diamond_runs_each_task_once_in_dependency_order(
    home: Path, store: SQLiteStore
) -> None:
    recorder = graphs.Recorder()

    result = graphs.diamond(recorder).run(home=home)

    assert result.state == "succeeded"
    assert result.result == 10
    order = recorder.order
    assert sorted(order) == ["bottom", "left", "right", "top"]
    assert order[0] == "top" and order[-1] == "bottom"
    assert store.get_run(result.run_id).state == "succeeded"
    assert task_states(store, result.run_id) == dict.fromkeys(
        ["top", "left", "right", "bottom"], "succeeded"
    )
    assert store.load_results(result.run_id, ["top", "left", "right", "bottom"]) == {
        "top": 3,
        "left": 4,
        "right": 6,
        "bottom": 10,
    }


def test_parameters_reach_the_tasks_and_are_recorded_with_the_run(
    home: Path, store: SQLiteStore
) -> None:
    result = graphs.diamond().run({"n": 5}, home=home)

    assert result.result == (5 + 1) + (5 * 2)
    assert store.get_run(result.run_id).params == {"n": 5}


def test_a_chain_passes_each_result_to_the_next_link(home: Path) -> None:
    recorder = graphs.Recorder()

    result = graphs.chain(5, recorder).run(home=home)

    assert result.result == 5
    assert recorder.order == [f"increment[{i}]" for i in range(5)]


def test_a_fan_out_runs_its_branches_between_the_root_and_the_join(home: Path) -> None:
    recorder = graphs.Recorder()

    result = graphs.fan_out(4, recorder).run(home=home)

    assert result.result == [10, 11, 12, 13]
    order = recorder.order
    assert order[0] == "spread" and order[-1] == "collect"
    assert sorted(order[1:-1]) == [f"branch[{i}]" for i in range(4)]


def test_the_events_of_a_run_tell_its_story_in_order(home: Path, store: SQLiteStore) -> None:
    result = graphs.chain(2).run(home=home)

    kinds = [(event.kind, event.task_name) for _, event in store.load_events(result.run_id)]

    assert kinds == [
        ("run_submitted", None),
        ("run_started", None),
        ("attempt_started", "increment[0]"),
        ("task_succeeded", "increment[0]"),
        ("attempt_started", "increment[1]"),
        ("task_succeeded", "increment[1]"),
        ("run_succeeded", None),
    ]


def test_listeners_receive_the_events_as_they_are_committed(home: Path) -> None:
    seen: list[str] = []

    graphs.chain(1).run(home=home, listeners=[lambda events: seen.extend(e.kind for e in events)])

    assert seen[0] == "run_started"
    assert seen[-1] == "run_succeeded"
    assert "task_succeeded" in seen


# -- coroutine tasks ----------------------------------------------------------------------------


def test_coroutine_tasks_run_concurrently_on_the_engine_loop(home: Path) -> None:
    """``ping`` cannot finish before ``pong`` has started, and the other way round."""
    ping_sent, pong_sent = asyncio.Event(), asyncio.Event()

    @task
    async def ping() -> str:
        ping_sent.set()
        await asyncio.wait_for(pong_sent.wait(), WAIT)
        return "ping"

    @task
    async def pong() -> str:
        await asyncio.wait_for(ping_sent.wait(), WAIT)
        pong_sent.set()
        return "pong"

    @task
    def join(a: str, b: str) -> str:
        return f"{a}-{b}"

    @workflow
    def rally() -> Any:
        return join(ping(), pong())

    result = rally.run(home=home)

    assert result.result == "ping-pong"
    assert ping.isolation == "async"


def test_a_failing_coroutine_records_its_error_and_traceback(
    home: Path, store: SQLiteStore
) -> None:
    @task
    async def fetch() -> None:
        await asyncio.sleep(0)
        raise ConnectionError("the model API is down")

    @workflow
    def agent() -> Any:
        return fetch()

    result = agent.run(home=home)

    assert result["fetch"].state == "failed"
    assert result["fetch"].error == "ConnectionError: the model API is down"
    [attempt] = store.load_attempts(result.run_id, "fetch")
    assert "raise ConnectionError" in (attempt.traceback or "")


# -- process tasks ------------------------------------------------------------------------------


def test_process_tasks_run_in_worker_processes_with_their_context_and_output(
    home: Path, store: SQLiteStore
) -> None:
    @workflow
    def compute() -> Any:
        return graphs.describe_process(), graphs.square_in_process.map([1, 2, 3])

    result = compute.run(home=home)

    described, squares = result.result
    assert squares == [1, 4, 9]
    assert described["pid"] != os.getpid()
    assert described == {
        "pid": described["pid"],
        "run_id": result.run_id,
        "task_name": "describe_process",
        "attempt": 1,
        "idempotency_key": f"{result.run_id}/describe_process",
    }
    [attempt] = store.load_attempts(result.run_id, "describe_process")
    assert "logged by the worker" in attempt.logs
    assert "printed by the worker" in attempt.logs


def test_a_failing_process_task_records_the_error_raised_in_the_worker(
    home: Path, store: SQLiteStore
) -> None:
    @workflow
    def compute() -> Any:
        return graphs.fail_in_process("out of memory, pretend")

    result = compute.run(home=home)

    assert result.state == "failed"
    assert result["fail_in_process"].error == "RuntimeError: out of memory, pretend"
    [attempt] = store.load_attempts(result.run_id, "fail_in_process")
    assert "raise RuntimeError(message)" in (attempt.traceback or "")


def test_a_process_task_traceback_shows_source_lines_of_nested_functions_too(
    home: Path, store: SQLiteStore
) -> None:
    # cloudpickle (3.1.3+) names the code it pickles by value "<dynamic-code>"; the worker
    # gives it back its file, nested code included, so the lines show as in the parent.
    @workflow
    def compute() -> Any:
        return graphs.fail_in_nested_function("deep")

    result = compute.run(home=home)

    [attempt] = store.load_attempts(result.run_id, "fail_in_nested_function")
    traceback = attempt.traceback or ""
    assert "<dynamic-code>" not in traceback
    assert "graphs.py" in traceback
    assert "    inner()" in traceback
    assert "raise ValueError(message)" in traceback


# -- shell tasks --------------------------------------------------------------------------------


def test_a_shell_task_gets_upstream_results_as_shell_quoted_fields(home: Path) -> None:
    @task
    def title() -> str:
        return "hello world; echo injected"

    @workflow
    def announce() -> Any:
        return shell("echo {text}", text=title())

    result = announce.run(home=home)

    assert result.result == "hello world; echo injected\n"
    assert result["shell"].state == "succeeded"


def test_a_shell_task_sees_its_attempt_identity_in_the_environment(home: Path) -> None:
    @workflow
    def identify() -> Any:
        return shell('echo "$PODIUM_IDEMPOTENCY_KEY $PODIUM_ATTEMPT"', name="whoami")

    result = identify.run(home=home)

    assert result.result == f"{result.run_id}/whoami 1\n"


def test_a_failing_shell_command_fails_its_task_and_keeps_its_output_in_the_log(
    home: Path, store: SQLiteStore
) -> None:
    command = "echo to-stdout; echo to-stderr >&2; exit 3"

    @workflow
    def deploy() -> Any:
        return shell(command, name="deploy")

    result = deploy.run(home=home)

    assert result.state == "failed"
    assert result["deploy"].error == f"ShellCommandError: command exited with code 3: {command}"
    [attempt] = store.load_attempts(result.run_id, "deploy")
    assert attempt.state == "failed"
    assert "to-stdout" in attempt.logs
    assert "[stderr] to-stderr" in attempt.logs


# -- failures -----------------------------------------------------------------------------------


@task
def load_rows() -> list[int]:
    return [1, 2, 3]


@task
def explode(rows: list[int]) -> int:
    raise ValueError(f"boom after {len(rows)} rows")


@task
def report(value: Any) -> str:
    return f"report of {value}"


@task
def summarize(rows: list[int]) -> int:
    return sum(rows)


@workflow
def partly_broken() -> Any:
    rows = load_rows()
    return report(explode(rows)), report(summarize(rows))


def test_a_failing_task_fails_its_dependents_while_independent_branches_finish(
    home: Path, store: SQLiteStore
) -> None:
    result = partly_broken.run(home=home)

    assert result.state == "failed"
    assert {name: t.state for name, t in result.tasks.items()} == {
        "load_rows": "succeeded",
        "explode": "failed",
        "report[0]": "upstream_failed",
        "summarize": "succeeded",
        "report[1]": "succeeded",
    }
    assert result["report[1]"].value == "report of 6"
    assert result["explode"].error == "ValueError: boom after 3 rows"
    assert store.get_run(result.run_id).state == "failed"
    assert task_states(store, result.run_id) == {n: t.state for n, t in result.tasks.items()}


def test_the_traceback_of_a_failed_attempt_is_stored(home: Path, store: SQLiteStore) -> None:
    result = partly_broken.run(home=home)

    [attempt] = store.load_attempts(result.run_id, "explode")

    assert attempt.state == "failed"
    assert attempt.error == "ValueError: boom after 3 rows"
    assert "Traceback (most recent call last)" in (attempt.traceback or "")
    assert "in explode" in (attempt.traceback or "")
    assert store.load_attempts(result.run_id, "report[0]") == []


def test_the_result_of_a_failed_run_raises_and_names_the_failed_tasks(home: Path) -> None:
    result = partly_broken.run(home=home)

    with pytest.raises(RunFailedError) as raised:
        _ = result.result

    assert raised.value.run_id == result.run_id
    assert raised.value.state == "failed"
    assert raised.value.failed_tasks == ["explode"]
    assert not result.ok


# -- maps -----------------------------------------------------------------------------------


def test_a_dynamic_map_makes_one_element_per_item_and_keeps_their_order(
    home: Path, store: SQLiteStore
) -> None:
    """The first element finishes last, yet its result comes first."""
    last_done = threading.Event()

    @task
    def candidates() -> list[int]:
        return [3, 1, 2]

    @task
    def score(item: int, bonus: int) -> int:
        if current_context().map_index == 0:
            assert last_done.wait(WAIT)
        elif current_context().map_index == 2:
            last_done.set()
        return item * 10 + bonus

    @task
    def ranking(scores: list[int]) -> list[int]:
        return scores

    @workflow
    def rank() -> Any:
        return ranking(score.map(candidates(), bonus=5))

    result = rank.run(home=home)

    assert result.result == [35, 15, 25]
    records = {record.name: record for record in store.load_tasks(result.run_id)}
    assert {f"score[{i}]": records[f"score[{i}]"].map_index for i in range(3)} == {
        "score[0]": 0,
        "score[1]": 1,
        "score[2]": 2,
    }
    assert all(records[f"score[{i}]"].state == "succeeded" for i in range(3))
    assert records["score"].state == "succeeded"


def test_a_dynamic_map_over_an_empty_list_gives_an_empty_list(home: Path) -> None:
    @task
    def candidates() -> list[int]:
        return []

    @task
    def score(item: int) -> int:
        return item

    @task
    def ranking(scores: list[int]) -> list[int]:
        return scores

    @workflow
    def rank() -> Any:
        return ranking(score.map(candidates()))

    result = rank.run(home=home)

    assert result.state == "succeeded"
    assert result["score"].value == []
    assert result.result == []


def test_an_explicit_name_a_dynamic_map_element_will_take_is_refused_before_the_run(
    home: Path, count_rows: Any
) -> None:
    """As for a static map (see test_model), the clash is bad input: refused, nothing written."""

    @task
    def candidates() -> list[int]:
        return [1, 2]

    @task
    def score(item: int) -> int:
        return item

    @workflow
    def rank() -> Any:
        return score.map(candidates()), candidates(name="score[0]")

    with pytest.raises(DefinitionError, match=r"score\[0\]"):
        rank.run(home=home, max_workers=1)
    assert set(count_rows().values()) == {0}


def test_a_dynamic_map_over_something_not_iterable_fails_the_map(home: Path) -> None:
    @task
    def count() -> int:
        return 3

    @task
    def score(item: int) -> int:
        return item

    @workflow
    def rank() -> Any:
        return score.map(count())

    result = rank.run(home=home)

    assert result["score"].state == "failed"
    assert "not iterable" in (result["score"].error or "")
    assert result.state == "failed"


def test_a_literal_map_applies_its_constants_to_every_element(
    home: Path, store: SQLiteStore
) -> None:
    @task
    def scale(x: int, factor: int) -> int:
        return x * factor

    @task
    def total(values: list[int]) -> int:
        return sum(values)

    @workflow
    def scaled() -> Any:
        values = scale.map([1, 2, 3], factor=10)
        return values, total(values)

    result = scaled.run(home=home)

    assert result.result == ([10, 20, 30], 60)
    names = [record.name for record in store.load_tasks(result.run_id)]
    assert names == ["scale[0]", "scale[1]", "scale[2]", "scale", "total"]


def test_a_literal_map_over_nothing_gives_an_empty_list(home: Path) -> None:
    @task
    def scale(x: int) -> int:
        return x

    @workflow
    def scaled() -> Any:
        return scale.map([])

    assert scaled.run(home=home).result == []


# -- logs and the task context --------------------------------------------------------------


def test_each_attempt_captures_only_its_own_log_lines_even_when_they_interleave(
    home: Path, store: SQLiteStore
) -> None:
    barrier = threading.Barrier(2, timeout=WAIT)

    @task
    def speak(voice: str) -> None:
        logger = current_context().logger
        for line in range(3):
            logger.info("%s says %d", voice, line)
            barrier.wait()  # the other voice logs its line before anyone goes on

    @workflow
    def choir() -> Any:
        return speak("alto", name="alto"), speak("bass", name="bass")

    result = choir.run(home=home)

    assert result.state == "succeeded"
    for voice, other in (("alto", "bass"), ("bass", "alto")):
        [attempt] = store.load_attempts(result.run_id, voice)
        lines = attempt.logs.splitlines()
        assert [line.split(" INFO ")[1] for line in lines] == [
            f"{voice} says {i}" for i in range(3)
        ]
        assert other not in attempt.logs


def test_current_context_describes_the_running_attempt(home: Path) -> None:
    def fields() -> dict[str, Any]:
        context = current_context()
        return {
            "run_id": context.run_id,
            "task_name": context.task_name,
            "attempt": context.attempt,
            "idempotency_key": context.idempotency_key,
            "map_index": context.map_index,
        }

    @task
    def in_thread() -> dict[str, Any]:
        return fields()

    @task
    async def in_loop() -> dict[str, Any]:
        return fields()

    @task
    def element(_: int) -> dict[str, Any]:
        return fields()

    @workflow
    def introspect() -> Any:
        return in_thread(), in_loop(), element.map([7, 8])

    result = introspect.run(home=home)

    run_id = result.run_id
    thread, loop, elements = result.result

    def expected(name: str, map_index: int | None = None) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "task_name": name,
            "attempt": 1,
            "idempotency_key": f"{run_id}/{name}",
            "map_index": map_index,
        }

    assert thread == expected("in_thread")
    assert loop == expected("in_loop")
    assert elements == [expected("element[0]", 0), expected("element[1]", 1)]


def test_current_context_outside_a_task_raises_outside_task_error() -> None:
    with pytest.raises(OutsideTaskError, match="outside a running podium task"):
        current_context()
    with pytest.raises(LookupError):
        current_context()


# -- event loops ----------------------------------------------------------------------------


def test_run_works_from_inside_a_running_event_loop(home: Path) -> None:
    async def notebook_cell() -> Any:
        return graphs.diamond().run(home=home)

    result = asyncio.run(notebook_cell())

    assert result.result == 10


def test_bad_input_from_inside_a_running_event_loop_still_raises(home: Path) -> None:
    async def notebook_cell() -> Any:
        return needs_int.run({"n": "abc"}, home=home)

    with pytest.raises(ParameterError):
        asyncio.run(notebook_cell())


def test_arun_can_be_awaited(home: Path) -> None:
    result = asyncio.run(graphs.diamond().arun({"n": 1}, home=home))

    assert result.result == (1 + 1) + (1 * 2)


# -- results in the store -------------------------------------------------------------------


def test_plain_values_are_stored_as_json_and_others_with_cloudpickle(
    home: Path, store: SQLiteStore
) -> None:
    values: dict[str, Any] = {
        "mapping": {"scores": [1, 2.5, None, True], "name": "x"},
        "text": "hello",
        "nothing": None,
        "pair": (1, "two"),
        "labels": {"cat", "dog"},
        "numbered": {1: "one"},
    }

    @task
    def produce(value: Any) -> Any:
        return value

    @workflow
    def produce_all() -> Any:
        return {key: produce(value, name=key) for key, value in values.items()}

    result = produce_all.run(home=home)

    encodings = dict(
        query(home, "SELECT task_name, encoding FROM results WHERE run_id = ?", result.run_id)
    )
    assert encodings == {
        "mapping": "json",
        "text": "json",
        "pair": "pickle",
        "labels": "pickle",
        "numbered": "pickle",
    }
    assert store.load_results(result.run_id, list(values)) == values  # None: no row
    assert result.result == values


def test_a_large_result_is_spilled_to_a_file_named_by_its_sha256(
    home: Path, store: SQLiteStore
) -> None:
    big = "x" * (SPILL_BYTES + 1024)

    @task
    def generate() -> str:
        return big

    @workflow
    def big_output() -> Any:
        return generate(), generate()

    result = big_output.run(home=home)

    rows = query(
        home, "SELECT data, path, sha256, size FROM results WHERE run_id = ?", result.run_id
    )
    [(data, path, digest, size)] = set(rows)  # the same content is kept once
    spilled = home / "results" / path
    assert len(rows) == 2
    assert data is None
    assert path == f"{digest}.json"
    assert hashlib.sha256(spilled.read_bytes()).hexdigest() == digest
    assert size == spilled.stat().st_size > SPILL_BYTES
    assert [p.name for p in (home / "results").iterdir()] == [path]
    assert store.load_results(result.run_id, ["generate[0]", "generate[1]"]) == {
        "generate[0]": big,
        "generate[1]": big,
    }


def test_a_result_that_cannot_be_stored_fails_its_task_and_not_the_run(
    home: Path, store: SQLiteStore
) -> None:
    @task
    def make_lock() -> Any:
        return threading.Lock()

    @task
    def independent() -> str:
        return "fine"

    @workflow
    def locks() -> Any:
        return make_lock(), independent()

    result = locks.run(home=home, max_workers=1)  # one attempt in flight at a time

    assert result.state == "failed"
    assert result["make_lock"].state == "failed"
    assert "pickle" in (result["make_lock"].error or "")
    assert result["independent"].state == "succeeded"
    assert store.get_run(result.run_id).state == "failed"


# -- bad input is refused before anything is written ----------------------------------------


@task
def step(*inputs: Any) -> None:
    return None


@workflow
def duplicated() -> Any:
    return step(name="same"), step(name="same")


@workflow
def misused() -> Any:
    return step() if step() else None


@workflow
def needs_int(n: int) -> Any:
    return step(n)


def _seed(*tasks: Task, max_workers: int | None = None) -> Any:
    def start(home: Path) -> Any:
        orchestrator = Orchestrator(home=home, max_workers=max_workers)
        for each in tasks:
            orchestrator.add_task(each)
        return orchestrator.start()

    return start


BAD_INPUT = {
    "cycle (seed API)": (lambda home: graphs.cycle(home).start(), CycleError),
    "unknown dependency (seed API)": (
        _seed(Task("Model Training", ["Data Preparation"])),
        UnknownDependencyError,
    ),
    "duplicate names": (lambda home: duplicated.run(home=home), DuplicateTaskError),
    "handle used as a value": (lambda home: misused.run(home=home), HandleMisuseError),
    "bad parameter": (lambda home: needs_int.run({"n": "abc"}, home=home), ParameterError),
    "unknown parameter": (lambda home: needs_int.run({"m": 1}, home=home), ParameterError),
    "missing parameter": (lambda home: needs_int.run(home=home), ParameterError),
    "max_workers=0": (lambda home: graphs.diamond().run(home=home, max_workers=0), OptionError),
    "max_workers=0 (seed API)": (_seed(Task("a"), max_workers=0), OptionError),
}


@pytest.mark.parametrize(("start", "error"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_raises_before_the_store_is_even_created(
    home: Path, count_rows: Any, start: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        start(home)

    assert not (home / DATABASE_NAME).exists()
    assert set(count_rows().values()) == {0}


@pytest.mark.parametrize(("start", "error"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_adds_no_rows_to_an_existing_store(
    home: Path, count_rows: Any, start: Any, error: type[Exception]
) -> None:
    graphs.chain(2).run(home=home)
    before = count_rows()

    with pytest.raises(error):
        start(home)

    assert count_rows() == before
    assert before["runs"] == 1


# -- the seed API ---------------------------------------------------------------------------


def test_the_four_step_seed_example_runs_its_steps_in_dependency_order(
    home: Path, store: SQLiteStore
) -> None:
    recorder = graphs.Recorder()

    result = graphs.seed_pipeline(recorder, home).start()

    assert result is not None and result.state == "succeeded"
    assert recorder.order == list(graphs.SEED_STEPS)
    assert result["Model Training"].value == "Model Training"
    assert store.get_run(result.run_id).workflow == "seed_pipeline"


def test_seed_tasks_without_dependencies_run_in_parallel(home: Path) -> None:
    barrier = threading.Barrier(2, timeout=WAIT)
    orchestrator = Orchestrator(home=home)
    orchestrator.add_task(Task("Download Images", fn=lambda: barrier.wait() >= 0))
    orchestrator.add_task(Task("Download Labels", fn=lambda: barrier.wait() >= 0))
    orchestrator.add_task(Task("Build Dataset", ["Download Images", "Download Labels"]))

    result = orchestrator.start()

    assert result is not None and result.state == "succeeded"
    assert result["Download Images"].value is True


def test_a_seed_task_subclass_can_override_execute(home: Path) -> None:
    class Train(Task):
        def __init__(self, epochs: int) -> None:
            super().__init__("Model Training", ["Data Preparation"])
            self.epochs = epochs

        def execute(self) -> str:
            return f"trained for {self.epochs} epochs"

    orchestrator = Orchestrator(home=home)
    orchestrator.add_task(Task("Data Preparation"))
    orchestrator.add_task(Train(epochs=3))

    result = orchestrator.start()

    assert result is not None
    assert result["Model Training"].value == "trained for 3 epochs"


def test_a_seed_task_without_fn_does_nothing_and_succeeds(home: Path) -> None:
    orchestrator = Orchestrator(home=home)
    orchestrator.add_task(Task("Placeholder"))

    result = orchestrator.start()

    assert result is not None
    assert (result["Placeholder"].state, result["Placeholder"].value) == ("succeeded", None)


def test_a_failing_seed_step_fails_the_steps_after_it(home: Path) -> None:
    def broken() -> None:
        raise RuntimeError("no data")

    orchestrator = Orchestrator(home=home)
    orchestrator.add_task(Task("Data Preparation", fn=broken))
    orchestrator.add_task(Task("Model Training", ["Data Preparation"]))

    result = orchestrator.start()

    assert result is not None and result.state == "failed"
    assert result["Data Preparation"].error == "RuntimeError: no data"
    assert result["Model Training"].state == "upstream_failed"


def test_start_does_nothing_while_podium_imports_the_file(home: Path, count_rows: Any) -> None:
    recorder = graphs.Recorder()

    with loading():
        assert graphs.seed_pipeline(recorder, home).start() is None

    assert recorder.order == []
    assert set(count_rows().values()) == {0}


# -- resume ---------------------------------------------------------------------------------


def test_resume_finishes_a_failed_run_without_redoing_what_succeeded(
    home: Path, tmp_path: Path, store: SQLiteStore
) -> None:
    fixed = tmp_path / "fixed"
    recorder = graphs.Recorder()
    identities: list[tuple[int, str]] = []

    @task
    def prepare() -> int:
        recorder.record()
        return 21

    @task
    def flaky(x: int) -> int:
        recorder.record()
        context = current_context()
        identities.append((context.attempt, context.idempotency_key))
        if not fixed.exists():
            raise RuntimeError("not fixed yet")
        return x * 2

    @task
    def publish(y: int) -> str:
        recorder.record()
        return f"published {y}"

    @workflow
    def release() -> Any:
        return publish(flaky(prepare()))

    first = release.run(home=home)
    assert first.state == "failed"
    assert first["publish"].state == "upstream_failed"

    fixed.touch()
    second = release.resume(first.run_id, home=home)

    run_id = first.run_id
    assert second.run_id == run_id
    assert second.state == "succeeded"
    assert second.result == "published 42"
    assert recorder.counts() == {"prepare": 1, "flaky": 2, "publish": 1}
    assert identities == [(1, f"{run_id}/flaky"), (2, f"{run_id}/flaky")]
    assert [(a.attempt, a.state) for a in store.load_attempts(run_id, "flaky")] == [
        (1, "failed"),
        (2, "succeeded"),
    ]
    assert second["flaky"].attempts == 2
    assert store.get_run(run_id).state == "succeeded"
    assert set(task_states(store, run_id).values()) == {"succeeded"}


def test_resume_redoes_only_the_failed_element_of_a_dynamic_map(home: Path, tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    recorder = graphs.Recorder()

    @task
    def candidates() -> list[int]:
        recorder.record()
        return [1, 2, 3]

    @task
    def score(item: int) -> int:
        recorder.record()
        if item == 2 and not fixed.exists():
            raise RuntimeError("flaky element")
        return item * 10

    @task
    def total(scores: list[int]) -> int:
        recorder.record()
        return sum(scores)

    @workflow
    def rank() -> Any:
        return total(score.map(candidates()))

    first = rank.run(home=home)
    assert first["score[1]"].state == "failed"
    assert first["score"].state == "upstream_failed"

    fixed.touch()
    second = rank.resume(first.run_id, home=home)

    assert second.result == 60
    assert recorder.counts() == {
        "candidates": 1,
        "score[0]": 1,
        "score[1]": 2,
        "score[2]": 1,
        "total": 1,
    }
    assert second["score[1]"].attempts == 2


def test_resume_of_a_run_that_succeeded_is_refused(home: Path) -> None:
    done = graphs.chain(1).run(home=home)

    with pytest.raises(RunNotResumableError) as raised:
        graphs.chain(1).resume(done.run_id, home=home)
    assert raised.value.run_id == done.run_id


def test_resume_of_an_unknown_run_is_refused(home: Path) -> None:
    with pytest.raises(RunNotFoundError):
        graphs.chain(1).resume("20000101-000000-abcdef", home=home)


def test_resume_rebuilds_the_graph_with_the_parameters_the_run_started_with(
    home: Path, tmp_path: Path
) -> None:
    fixed = tmp_path / "fixed"
    received: list[Path] = []

    @task
    def export(target: Path) -> str:
        received.append(target)
        if not fixed.exists():
            raise RuntimeError("disk full, pretend")
        return str(target)

    @workflow
    def nightly(target: Path = tmp_path / "out.csv") -> Any:
        return export(target)

    first = nightly.run(home=home)
    fixed.touch()
    second = nightly.resume(first.run_id, home=home)

    assert received == [tmp_path / "out.csv", tmp_path / "out.csv"]
    assert second.result == str(tmp_path / "out.csv")


def test_task_results_are_a_read_only_mapping_made_on_demand() -> None:
    from podium.model.run_result import TaskResult, TaskResults

    tasks = TaskResults(
        {"load": "succeeded", "prepare": "succeeded", "train": "failed"},
        {"load": 1, "train": 2},
        {"load": [1, 2]},
        {"train": "ValueError: boom"},
        {"prepare"},
    )
    assert list(tasks) == ["load", "prepare", "train"] and len(tasks) == 3
    assert tasks["load"] == TaskResult("load", "succeeded", 1, [1, 2], None)
    assert tasks["prepare"] == TaskResult("prepare", "cached", 0, None, None)
    assert tasks["train"] == TaskResult("train", "failed", 2, None, "ValueError: boom")
    assert dict(tasks) == {name: tasks[name] for name in ("load", "prepare", "train")}
    with pytest.raises(KeyError):
        tasks["deploy"]
