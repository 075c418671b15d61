"""The SQLite store on its own: migrations, the schema-version check, results on disk."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cli_support import FLOWS, podium
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
