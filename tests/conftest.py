"""Shared fixtures: a store folder per test, the real SQLite store on it, and row counts.

Every test that runs something passes ``home=`` explicitly, so nothing is written under the
current directory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podium.runner.session import DATABASE_NAME, open_store
from podium.store.sqlite import SQLiteStore

TABLES = ("runs", "task_instances", "attempts", "event_batches", "results")
"""The tables a run writes to."""


def row_counts(home: Path) -> dict[str, int]:
    """The number of rows of each table in the store under ``home``.

    All zero when the store file does not exist; the file is opened read-only, so counting
    never creates it.
    """
    path = Path(home) / DATABASE_NAME
    if not path.exists():
        return dict.fromkeys(TABLES, 0)
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        existing = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        return {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            if table in existing
            else 0
            for table in TABLES
        }
    finally:
        db.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The store folder of this test (not created until something opens the store)."""
    return tmp_path / ".podium"


@pytest.fixture
def store(home: Path) -> Iterator[SQLiteStore]:
    """The real SQLite store under ``home``, closed after the test."""
    opened = open_store(home)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def count_rows(home: Path) -> Callable[..., dict[str, int]]:
    """``count_rows()``: rows per table under ``home``; ``count_rows(other)`` for another."""

    def count(where: Path | None = None) -> dict[str, int]:
        return row_counts(home if where is None else where)

    return count
