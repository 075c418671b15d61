"""The SQLite store on its own: migrations, the schema-version check, results on disk."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cli_support import FLOWS, podium
from podium import task, workflow
from podium.errors import SchemaVersionError
from podium.runner.session import open_store
from podium.store.migrations import LATEST
from podium.store.sqlite import SQLiteStore


def test_a_new_store_is_created_at_the_latest_schema_version_in_wal_mode(home: Path) -> None:
    store = open_store(home)
    try:
        assert store.schema_version() == LATEST
    finally:
        store.close()
    with sqlite3.connect(home / "podium.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_opening_a_store_twice_keeps_its_runs(home: Path) -> None:
    assert podium("run", str(FLOWS / "basic.py"), home=home).returncode == 0
    store = open_store(home)
    try:
        assert [run.state for run in store.list_runs()] == ["succeeded"]
        assert store.schema_version() == LATEST
    finally:
        store.close()


def test_a_store_written_by_a_newer_podium_is_refused(home: Path) -> None:
    open_store(home).close()
    with sqlite3.connect(home / "podium.db") as db:
        db.execute("UPDATE schema_version SET version = ?", (LATEST + 1,))
    with pytest.raises(SchemaVersionError) as refused:
        open_store(home)
    assert refused.value.found == LATEST + 1
    assert "upgrade podium or use another --home" in str(refused.value)
    done = podium("run", str(FLOWS / "basic.py"), home=home)
    assert done.returncode == 2
    assert "schema version" in done.stderr
    assert "Traceback" not in done.stderr


def race_to_open(path: Path, racers: int = 4) -> list[Exception]:
    """Open the store at ``path`` from ``racers`` threads at the same instant; their errors."""
    start = threading.Barrier(racers)
    errors: list[Exception] = []

    def open_now() -> None:
        start.wait()
        try:
            SQLiteStore(path).close()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=open_now) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_runs_opening_a_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    """Runs started together on a fresh home race to create the database and switch it to
    WAL mode; the losers wait instead of failing with "database is locked"."""
    for attempt in range(50):
        path = tmp_path / f"race{attempt}" / "podium.db"
        assert race_to_open(path) == []
        store = SQLiteStore(path)
        try:
            assert store.schema_version() == LATEST
        finally:
            store.close()


@task(cache=True)
def announce(n: int) -> None:
    ANNOUNCED.append(n)


@task
def count(n: int, _after: None) -> int:
    return n


@workflow
def announce_then_count(n: int = 2) -> Any:
    return count(n, announce(n))


ANNOUNCED: list[int] = []


def test_a_none_result_is_kept_without_a_row_and_read_back_as_none(home: Path) -> None:
    """Most tasks return None: the store writes no result row for them (one table less per
    commit); a finished task instance without a row reads back as None, for a resume and
    for a cache hit."""
    ANNOUNCED.clear()
    first = announce_then_count.run(home=home)
    assert first.state == "succeeded" and first.result == 2
    store = open_store(home)
    try:
        rows = store._db.execute(
            "SELECT task_name FROM results WHERE run_id = ?", (first.run_id,)
        ).fetchall()
        assert rows == [("count",)]
        assert store.load_results(first.run_id, ["announce", "count"]) == {
            "announce": None,
            "count": 2,
        }
    finally:
        store.close()
    second = announce_then_count.run(home=home)
    assert second.tasks["announce"].state == "cached"
    assert second.result == 2 and ANNOUNCED == [2]


def test_the_write_ahead_log_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    """Commits never pay for a checkpoint: a thread of the store copies the log back into
    the database file (the file grows while nothing else checkpoints)."""
    from podium.model.records import Batch, EventRecord
    from podium.store import sqlite as module

    store = SQLiteStore(tmp_path / "podium.db")
    try:
        before = (tmp_path / "podium.db").stat().st_size
        events = [EventRecord("r", 1.0, "note", detail="x" * 1000) for _ in range(200)]
        store.commit(Batch(events=events))
        deadline = time.monotonic() + 10 * module.CHECKPOINT_INTERVAL + 5
        while (tmp_path / "podium.db").stat().st_size == before:
            assert time.monotonic() < deadline, "nothing was checkpointed"
            time.sleep(module.CHECKPOINT_INTERVAL / 2)
    finally:
        store.close()


def test_results_of_more_instances_than_one_query_binds_are_all_read(tmp_path: Path) -> None:
    from podium.model.records import Batch, RunRecord, TaskRecord
    from podium.store import sqlite as module

    count = 2 * module.NAMES_PER_QUERY + 7
    names = [f"step[{index}]" for index in range(count)]
    store = SQLiteStore(tmp_path / "podium.db")
    try:
        store.create_run(
            RunRecord("r", "w", "flows.py:w", {}, created_at=1.0),
            [TaskRecord("r", name, "step", [], position=index) for index, name in enumerate(names)],
        )
        results = [("r", name, store.encode_result(index)) for index, name in enumerate(names)]
        store.commit(Batch(results=results))
        assert store.load_results("r", names) == {name: index for index, name in enumerate(names)}
        assert store.load_results("r", ["step[3]", "other"]) == {"step[3]": 3, "other": None}
    finally:
        store.close()


def test_events_are_read_back_whether_a_batch_was_pickled_or_written_as_json(home: Path) -> None:
    @task
    def one() -> int:
        return 1

    @workflow
    def flow() -> Any:
        return one()

    run_id = flow.run(home=home).run_id
    store = open_store(home)
    try:
        kinds = [(event.kind, event.task_name) for _, event in store.load_events(run_id)]
        assert kinds[0] == ("run_submitted", None)
        assert ("attempt_started", "one") in kinds and ("task_succeeded", "one") in kinds
        assert kinds[-1] == ("run_succeeded", None)
        (stored,) = store._db.execute(
            "SELECT events FROM event_batches WHERE run_id = ? LIMIT 1", (run_id,)
        ).fetchone()
        assert isinstance(stored, bytes)  # pickled: no JSON encoder per commit
        # a batch written as JSON text by an earlier podium 0.1
        store._db.execute(
            "INSERT INTO event_batches (run_id, at, events) VALUES (?, ?, ?)",
            (run_id, 5.0, '[[4.5,"task_failed","one",2,"ValueError: boom"],[5.0,"run_failed"]]'),
        )
        old = [event for _, event in store.load_events(run_id)][-2:]
    finally:
        store.close()
    assert [tuple(event) for event in old] == [
        (run_id, 4.5, "task_failed", "one", 2, "ValueError: boom"),
        (run_id, 5.0, "run_failed", None, None, None),
    ]


def test_closing_a_store_leaves_the_final_checkpoint_to_its_thread(tmp_path: Path) -> None:
    """The last connection to close merges the log into the file (two fsyncs): the
    checkpointer's closes last, in the background; waiting for it leaves one file."""
    from podium.model.records import Batch, EventRecord
    from podium.store.sqlite import Checkpointer

    store = SQLiteStore(tmp_path / "podium.db")
    store.commit(Batch(events=[EventRecord("r", 1.0, "note", detail="x" * 100)]))
    assert (tmp_path / "podium.db-wal").exists()
    checkpointer = store._checkpointer
    assert checkpointer is not None
    checkpointer.wait_attached(10)
    store._db.close()  # what close() does first: not the last connection, so no checkpoint
    assert (tmp_path / "podium.db-wal").exists()
    checkpointer.finish()  # the checkpointer's connection closes last, in its thread
    Checkpointer.wait_all(timeout=10)
    assert not (tmp_path / "podium.db-wal").exists()
    reopened = SQLiteStore(tmp_path / "podium.db")
    try:
        [(_, event)] = reopened.load_events("r")
        assert event.detail == "x" * 100
    finally:
        reopened.close()


def test_a_podium_process_exits_with_its_log_merged_into_the_store(home: Path) -> None:
    assert podium("run", str(FLOWS / "basic.py"), home=home).returncode == 0
    assert (home / "podium.db").exists()
    assert not (home / "podium.db-wal").exists()


def test_dependencies_of_any_names_are_stored_as_json_and_read_back(tmp_path: Path) -> None:
    from podium.model.records import RunRecord, TaskRecord

    odd = ['say "hi"', "back\\slash", "ünï", "tab\there"]
    many = [f"leaf[{index}]" for index in range(20)]
    tasks = [
        TaskRecord("r", "join", "join", odd),
        TaskRecord("r", "sink", "sink", many),
        TaskRecord("r", "again", "join", list(odd)),
        TaskRecord("r", "root", "root", []),
    ]
    store = SQLiteStore(tmp_path / "podium.db")
    try:
        store.create_run(RunRecord("r", "flow", "<test>", {}), tasks)
        stored = {task.name: task.deps for task in store.load_tasks("r")}
    finally:
        store.close()
    assert stored == {"join": odd, "sink": many, "again": odd, "root": []}
