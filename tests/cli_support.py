"""Running the real ``podium`` command in a subprocess, and reading its store."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

PODIUM = str(Path(sys.executable).with_name("podium"))
FLOWS = Path(__file__).parent / "flows"


def podium(
    *args: str,
    home: Path | None,
    cwd: Path | None = None,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``podium ARGS --home HOME`` to its end; return the completed process."""
    return subprocess.run(
        [PODIUM, *args, *(["--home", str(home)] if home is not None else [])],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=_env(env),
    )


def start_podium(
    *args: str, home: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start ``podium ARGS --home HOME`` in the background."""
    return subprocess.Popen(
        [PODIUM, *args, "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(env),
        cwd=cwd,
    )


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PODIUM_HOME"}
    env.update(extra or {})
    return env


def wait_for(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def query(home: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` from the store under ``home`` ([] when there is no store yet)."""
    path = home / "podium.db"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:  # the schema is not created yet
            if "no such table" in str(error):
                return []
            raise


def task_states(home: Path, run_id: str) -> dict[str, str]:
    return dict(query(home, "SELECT name, state FROM task_instances WHERE run_id = ?", run_id))


def current_run_id(home: Path) -> str | None:
    """The run in the store under ``home``, once there is one."""
    rows = query(home, "SELECT run_id FROM runs")
    return str(rows[0][0]) if rows else None


def only_run_id(home: Path) -> str:
    rows = query(home, "SELECT run_id FROM runs")
    assert len(rows) == 1, rows
    return str(rows[0][0])


def descendants(pid: int) -> list[psutil.Process]:
    """Every process started, directly or not, by ``pid``."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` still running (zombies count as gone)."""
    result = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                result.append(process)
        except psutil.NoSuchProcess:
            continue
    return result
