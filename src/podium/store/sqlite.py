"""The SQLite store: one file, WAL mode, numbered migrations, one transaction per batch.

Durability: with ``synchronous="NORMAL"`` (the default) committed batches survive kill -9 of
the process; ``synchronous="FULL"`` also survives a power cut, at a cost per commit.
"""

from __future__ import annotations

import atexit
import json
import logging
import pickle
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any, ClassVar

from podium.errors import (
    RunNotFoundError,
    RunNotResumableError,
    SchemaVersionError,
    StoreError,
)
from podium.model.records import (
    DONE_STATES,
    AttemptRecord,
    Batch,
    CacheEntry,
    EventRecord,
    Owner,
    RunRecord,
    TaskRecord,
)
from podium.store.migrations import LATEST, MIGRATIONS
from podium.store.results import NONE_RESULT, EncodedResult, decode_result, encode_result

log = logging.getLogger(__name__)

# sqlite3 "adapts" every parameter that is not exactly an int, float, str or bytearray.
# For None that means failed attribute lookups that format an AttributeError each (about
# 0.2 us; an attempt's rows hold a dozen Nones). An adapter registered for a type is found
# first, in a dict; ``{}.get`` gives None back, which binds as NULL as before. The registry
# is the process's, and this adapter changes nothing for anyone else's connections.
_NOTHING: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NOTHING.get)  # C, no Python frame per parameter

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT = 30.0
"""Seconds a connection waits for another one's lock before giving up."""
CHECKPOINT_INTERVAL = 0.25
"""Seconds between the background checkpoints of a store that commits (see Checkpointer)."""
BACKSTOP_CHECKPOINT_PAGES = 20_000
"""WAL pages (4 KiB each) past which a commit checkpoints itself, should the background
checkpoints fall behind; SQLite's default, 1,000, would checkpoint on the engine's path."""

_RUN_COLUMNS = (
    "run_id, workflow, source, params, state, owner_pid, owner_host, heartbeat_at, "
    "created_at, started_at, ended_at, cancel_requested, max_workers"
)
_TASK_COLUMNS = (
    "run_id, name, task, deps, state, map_index, attempts, idempotency_key, isolation, "
    "started_at, ended_at, error, position"
)
_NEW_TASK_COLUMNS = (
    "run_id, name, task, deps, state, map_index, idempotency_key, isolation, position"
)
"""What a new task instance row is given; attempts (0), times and error take defaults."""
_KEPT = ", ".join(f"'{state}'" for state in DONE_STATES)
"""The states a claimed run keeps, as SQL literals."""
_CACHE_COLUMNS = "key, identity, code, inputs, run_id, task_name, created_at, expires_at"
NAMES_PER_QUERY = 500
"""Task names bound in one ``IN (...)`` query (SQLite allows 999 parameters at least)."""
HISTORY_RUNS = 5
"""Expected durations come from the succeeded attempts of this many latest runs."""
HISTORY_ATTEMPTS = 20
"""... and at most this many of them per task."""
_ATTEMPT_COLUMNS = (
    "run_id, task_name, attempt, state, started_at, ended_at, error, traceback, logs, "
    "run_started_at, wall_s, cpu_s, peak_rss_mb, gpu_memory_mb, queue_wait_s, rss_scope"
)
"""In the order of AttemptRecord's fields."""


class SQLiteStore:
    """Runs, task instances, attempts, results and events in a SQLite file.

    Raises StoreError if the file cannot be opened, SchemaVersionError if it is newer.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.results_dir = self.path.parent / "results"
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise StoreError(f"synchronous must be one of {SYNCHRONOUS_MODES}: {synchronous!r}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT
            )
            _enter_wal(self._db, BUSY_TIMEOUT)
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"cannot open the store at {self.path}: {error}") from error
        self._lock = threading.RLock()
        self._checkpointer: Checkpointer | None = None
        self._migrate()

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, mode: str = "") -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute(f"BEGIN {mode}")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._transaction("IMMEDIATE") as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > LATEST:
                raise SchemaVersionError(str(self.path), version, LATEST)
            for number in range(version, LATEST):
                for statement in _statements(MIGRATIONS[number]):
                    db.execute(statement)
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST,))
            else:
                db.execute("UPDATE schema_version SET version = ?", (LATEST,))

    def schema_version(self) -> int:
        """The schema version of the database."""
        return int(self._db.execute("SELECT version FROM schema_version").fetchone()[0])

    def close(self) -> None:
        """Close the store. The last connection to close a WAL database copies the log
        back into the file with two fsyncs (about 13 ms here, every run): when this store
        has a checkpointer, its connection closes last, on its own thread, so the caller
        does not wait (see ``Checkpointer.finish``)."""
        checkpointer = self._checkpointer
        if checkpointer is not None:  # its connection must hold the database open first
            checkpointer.wait_attached(ATTACH_WAIT)
        with self._lock:
            self._db.close()
        if checkpointer is not None:
            checkpointer.finish()

    # -- writes of the engine ---------------------------------------------------------------

    def create_run(self, run: RunRecord, tasks: list[TaskRecord]) -> None:
        """Insert a new run with its task instances, in one transaction. The instances are
        new: their attempts, times and error are not read (no attempt has been made)."""
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                _run_row(run),
            )
            db.executemany(
                f"INSERT INTO task_instances ({_NEW_TASK_COLUMNS}) VALUES ({', '.join('?' * 9)})",
                _task_rows(tasks),
            )
            db.execute(
                _INSERT_EVENTS,
                _event_batch(
                    run.run_id,
                    [EventRecord(run.run_id, run.created_at, "run_submitted", detail=run.workflow)],
                ),
            )

    def commit(self, batch: Batch) -> None:
        """Apply every change of ``batch`` in one transaction. A result that is None gets
        no row (see load_results)."""
        results = [
            (run_id, name, e.encoding, e.data, e.path, e.sha256, e.size)
            for run_id, name, e in batch.results
            if e is not NONE_RESULT
        ]
        with self._transaction() as db:
            if self._checkpointer is None:  # the first commit of this store (under its lock)
                self._checkpointer = Checkpointer(self.path, CHECKPOINT_INTERVAL)
            if batch.new_tasks:
                db.executemany(
                    f"INSERT OR IGNORE INTO task_instances ({_NEW_TASK_COLUMNS}) "
                    f"VALUES ({', '.join('?' * 9)})",
                    _task_rows(batch.new_tasks),
                )
            if batch.attempts_started:
                db.executemany(
                    f"INSERT INTO attempts ({_ATTEMPT_COLUMNS}) VALUES ({', '.join('?' * 16)})",
                    sorted(batch.attempts_started, key=_BY_TASK_NAME),
                )
            if batch.attempts_ended:
                db.executemany(
                    "UPDATE attempts SET state = ?4, ended_at = ?6, error = ?7, traceback = ?8, "
                    "logs = ?9, run_started_at = ?10, wall_s = ?11, cpu_s = ?12, "
                    "peak_rss_mb = ?13, gpu_memory_mb = ?14, queue_wait_s = ?15, "
                    "rss_scope = ?16 WHERE run_id = ?1 AND task_name = ?2 AND attempt = ?3",
                    batch.attempts_ended,
                )
            if batch.task_updates:
                db.executemany(
                    "UPDATE task_instances SET state = ?, attempts = ?, "
                    "started_at = COALESCE(?, started_at), ended_at = ?, error = ? "
                    "WHERE run_id = ? AND name = ?",
                    sorted(batch.task_updates, key=_BY_NAME),  # stable: a task's in order
                )
            if results:
                db.executemany(
                    "INSERT OR REPLACE INTO results "
                    "(run_id, task_name, encoding, data, path, sha256, size) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    results,
                )
            if batch.events:
                runs = {event.run_id for event in batch.events}
                db.executemany(
                    _INSERT_EVENTS,
                    [
                        _event_batch(run_id, [e for e in batch.events if e.run_id == run_id])
                        for run_id in runs
                    ]
                    if len(runs) > 1
                    else [_event_batch(batch.events[0].run_id, batch.events)],
                )
            if batch.cache_entries:
                db.executemany(
                    f"INSERT OR REPLACE INTO cache_entries ({_CACHE_COLUMNS}) "
                    f"VALUES ({', '.join('?' * 8)})",
                    batch.cache_entries,
                )
            update = batch.run_update
            if update is not None:
                db.execute(
                    "UPDATE runs SET state = ?, started_at = COALESCE(started_at, ?), "
                    "ended_at = ? WHERE run_id = ?",
                    (update.state, update.started_at, update.ended_at, update.run_id),
                )

    def encode_result(self, value: Any) -> EncodedResult:
        """``value`` as it will be stored (raises if it cannot be: then the task fails)."""
        return encode_result(value, self.results_dir)

    def heartbeat(self, run_id: str, owner: Owner, at: float) -> str:
        """Record that ``owner`` is alive. Returns ``"ok"``, ``"cancel"`` (a cancel was
        requested) or ``"lost"`` (another process has taken the run over)."""
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE runs SET heartbeat_at = ? WHERE run_id = ? AND owner_pid = ? "
                "AND owner_host = ?",
                (at, run_id, owner.pid, owner.host),
            ).rowcount
            row = db.execute(
                "SELECT cancel_requested FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if not updated:
            return "lost"
        return "cancel" if row and row[0] else "ok"

    def claim_run(
        self, run_id: str, owner: Owner, at: float, owner_alive: Callable[[RunRecord], None]
    ) -> RunRecord:
        """Take over ``run_id`` for ``owner``, atomically.

        ``owner_alive(run)`` raises (RunOwnedError) when the current owner must be left alone.
        Attempts that were in flight are marked ``lost``; their task instances become
        pending again. Raises RunNotFoundError, RunNotResumableError (run succeeded).
        """
        with self._transaction("IMMEDIATE") as db:
            row = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise RunNotFoundError(run_id)
            run = _run_record(row)
            if run.state == "succeeded":
                raise RunNotResumableError(run_id, run.state)
            if run.state in ("running", "pending"):
                owner_alive(run)
            note = f"the orchestrator ({run.owner_pid} on {run.owner_host}) stopped"
            db.execute(
                "UPDATE attempts SET state = 'lost', ended_at = ?, error = ? "
                "WHERE run_id = ? AND state = 'running'",
                (at, note, run_id),
            )
            db.execute(
                "UPDATE task_instances SET state = 'pending', ended_at = NULL, error = NULL "
                f"WHERE run_id = ? AND state NOT IN ({_KEPT})",
                (run_id,),
            )
            db.execute(
                "UPDATE runs SET state = 'running', owner_pid = ?, owner_host = ?, "
                "heartbeat_at = ?, cancel_requested = 0, ended_at = NULL WHERE run_id = ?",
                (owner.pid, owner.host, at, run_id),
            )
            db.execute(
                _INSERT_EVENTS,
                _event_batch(
                    run_id,
                    [
                        EventRecord(
                            run_id,
                            at,
                            "run_claimed",
                            detail=f"{owner} took over from {run.owner_pid} on {run.owner_host}",
                        )
                    ],
                ),
            )
        run.state, run.owner_pid, run.owner_host, run.heartbeat_at = (
            "running",
            owner.pid,
            owner.host,
            at,
        )
        return run

    def request_cancel(self, run_id: str, at: float) -> RunRecord:
        """Ask the owner of ``run_id`` to cancel it (raises RunNotFoundError)."""
        with self._transaction("IMMEDIATE") as db:
            row = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise RunNotFoundError(run_id)
            db.execute("UPDATE runs SET cancel_requested = 1 WHERE run_id = ?", (run_id,))
            db.execute(
                _INSERT_EVENTS,
                _event_batch(run_id, [EventRecord(run_id, at, "cancel_requested")]),
            )
        return _run_record(row)

    # -- reads ------------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        """The run ``run_id`` (raises RunNotFoundError)."""
        row = self._query_one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if row is None:
            raise RunNotFoundError(run_id)
        return _run_record(row)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """The most recent runs, newest first."""
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY created_at DESC LIMIT ?", (limit,)
        )
        return [_run_record(row) for row in rows]

    def load_tasks(self, run_id: str) -> list[TaskRecord]:
        """The task instances of a run, in the order they were created."""
        rows = self._query(
            f"SELECT {_TASK_COLUMNS} FROM task_instances WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
        return [_task_record(row) for row in rows]

    def load_attempts(self, run_id: str, task_name: str | None = None) -> list[AttemptRecord]:
        """The attempts of a run (or of one of its tasks), in the order they started."""
        sql = f"SELECT {_ATTEMPT_COLUMNS} FROM attempts WHERE run_id = ?"
        params: tuple[Any, ...] = (run_id,)
        if task_name is not None:
            sql += " AND task_name = ?"
            params += (task_name,)
        rows = self._query(sql + " ORDER BY started_at, task_name, attempt", params)
        return [AttemptRecord(*row) for row in rows]

    def load_events(self, run_id: str, after: int = 0) -> list[tuple[int, EventRecord]]:
        """The events of a run, oldest first, each with the number of the batch (the
        transaction) that wrote it; pass the last number seen as ``after`` to follow a
        live run. A batch's events are stored together, as one JSON array."""
        rows = self._query(
            "SELECT batch_id, events FROM event_batches WHERE run_id = ? AND batch_id > ? "
            "ORDER BY batch_id",
            (run_id, after),
        )
        return [
            (batch_id, EventRecord(run_id, *fields))
            for batch_id, events in rows
            for fields in _decode_events(events)
        ]

    def load_results(self, run_id: str, names: list[str]) -> dict[str, Any]:
        """The results of the named task instances, which must have finished (succeeded,
        cached or fell back): a finished instance without a row returned None. Reads only
        their rows (a cache hit wants one result of a run that may hold thousands)."""
        values: dict[str, Any] = dict.fromkeys(names)
        wanted = list(values)
        for start in range(0, len(wanted), NAMES_PER_QUERY):
            chunk = wanted[start : start + NAMES_PER_QUERY]
            rows = self._query(
                "SELECT task_name, encoding, data, path FROM results WHERE run_id = ? "
                f"AND task_name IN ({', '.join('?' * len(chunk))})",
                (run_id, *chunk),
            )
            for name, encoding, data, path in rows:
                values[name] = decode_result(encoding, data, path, self.results_dir)
        return values

    # -- the result cache ---------------------------------------------------------------------

    def cache_lookup(self, key: str, now: float) -> tuple[CacheEntry, Any] | None:
        """The entry for ``key`` that has not expired at ``now``, with its result; None
        when there is none or its result is gone."""
        row = self._query_one(
            f"SELECT {_CACHE_COLUMNS} FROM cache_entries WHERE key = ? "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (key, now),
        )
        if row is None:
            return None
        entry = CacheEntry(*row)
        try:
            values = self.load_results(entry.run_id, [entry.task_name])
        except (OSError, ValueError):  # a spilled result file was removed or damaged
            return None
        return entry, values[entry.task_name]

    def cache_latest(self, identity: str) -> CacheEntry | None:
        """The newest entry of the task ``identity``, expired or not (to explain a miss)."""
        row = self._query_one(
            f"SELECT {_CACHE_COLUMNS} FROM cache_entries WHERE identity = ? "
            "ORDER BY created_at DESC LIMIT 1",
            (identity,),
        )
        return None if row is None else CacheEntry(*row)

    def cache_entries(self, task: str | None = None) -> list[CacheEntry]:
        """Every cache entry (of the task named ``task``), newest first."""
        sql = f"SELECT {_CACHE_COLUMNS} FROM cache_entries"
        params: tuple[Any, ...] = ()
        if task is not None:
            sql += " WHERE identity >= ? AND identity < ?"
            params = (f"{task}:", f"{task};")  # identities are "name:module.qualname"
        rows = self._query(sql + " ORDER BY created_at DESC", params)
        return [CacheEntry(*row) for row in rows]

    def clear_cache(self, task: str | None = None, *, expired_before: float | None = None) -> int:
        """Delete cache entries (results stay with their runs): all of them, those of the
        task named ``task``, and/or only those expired before ``expired_before``. Returns
        how many were deleted."""
        sql = "DELETE FROM cache_entries WHERE 1"
        params: tuple[Any, ...] = ()
        if task is not None:
            sql += " AND identity >= ? AND identity < ?"
            params += (f"{task}:", f"{task};")
        if expired_before is not None:
            sql += " AND expires_at IS NOT NULL AND expires_at <= ?"
            params += (expired_before,)
        with self._transaction() as db:
            return db.execute(sql, params).rowcount

    # -- history ----------------------------------------------------------------------------

    def task_durations(self, workflow: str) -> dict[str, list[float]]:
        """Seconds taken by the latest succeeded attempts of each task of ``workflow``
        (newest first, at most HISTORY_ATTEMPTS per task instance name), from its
        HISTORY_RUNS latest runs."""
        rows = self._query(
            "SELECT a.task_name, COALESCE(a.wall_s, a.ended_at - a.started_at) "
            "FROM attempts a WHERE a.state = 'succeeded' AND a.ended_at IS NOT NULL "
            "AND a.run_id IN (SELECT run_id FROM runs WHERE workflow = ? "
            "ORDER BY created_at DESC LIMIT ?) ORDER BY a.started_at DESC",
            (workflow, HISTORY_RUNS),
        )
        durations: dict[str, list[float]] = {}
        for name, seconds in rows:
            seen = durations.setdefault(name, [])
            if len(seen) < HISTORY_ATTEMPTS and seconds is not None:
                seen.append(seconds)
        return durations

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _query_one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._db.execute(sql, params).fetchone()
            return row


class Checkpointer:
    """Copies the write-ahead log back into the database file every ``interval`` seconds,
    on a daemon thread with its own connection, so that the engine's commits never pay
    for a checkpoint (a copy of every page written since the last one, and an fsync).

    PASSIVE checkpoints never wait for the writer nor block it; SQLite starts the log
    over once a checkpoint has caught up with it, which keeps the file small.

    When the store closes, ``finish`` lets the thread close its connection last, which
    merges the log into the file off the caller's path; the interpreter waits for that at
    exit (``FINISH_AT_EXIT`` seconds at most): a log left behind is still safe, SQLite
    reads it on the next open."""

    _finishing: ClassVar[set[threading.Thread]] = set()
    _finishing_lock: ClassVar[threading.Lock] = threading.Lock()
    _registered: ClassVar[bool] = False

    def __init__(self, path: Path, interval: float) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._attached = threading.Event()
        self._thread = threading.Thread(target=self._run, name="podium-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, timeout=BUSY_TIMEOUT)
        try:
            try:  # a first read maps the log's index: SQLite now counts this connection
                db.execute("SELECT 1 FROM schema_version LIMIT 1").fetchall()
            except sqlite3.Error:
                log.debug("the checkpointer of %s could not read it", self._path, exc_info=True)
            self._attached.set()
            while not self._stop.wait(self._interval):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:  # busy or damaged: the next one (or a commit) will do
                    log.debug("checkpoint of %s failed", self._path, exc_info=True)
        finally:
            try:
                db.close()  # the last connection of this store: SQLite checkpoints now
            except sqlite3.Error:
                log.debug("closing the checkpointer of %s failed", self._path, exc_info=True)
            with Checkpointer._finishing_lock:
                Checkpointer._finishing.discard(self._thread)

    def wait_attached(self, timeout: float) -> None:
        """Wait until the connection holds the database open (at most ``timeout``): a
        connection that has not read it yet does not count, and the store's own would
        close last and checkpoint on the caller's thread."""
        self._attached.wait(timeout)

    def finish(self) -> None:
        """Stop, and close the connection in the background (the final checkpoint)."""
        with Checkpointer._finishing_lock:
            if not Checkpointer._registered:
                atexit.register(Checkpointer.wait_all, FINISH_AT_EXIT)
                Checkpointer._registered = True
            if self._thread.is_alive():
                Checkpointer._finishing.add(self._thread)
        self._stop.set()

    @classmethod
    def wait_all(cls, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds in all) for closing checkpointers."""
        deadline = time.monotonic() + timeout
        with cls._finishing_lock:
            threads = list(cls._finishing)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


ATTACH_WAIT = 0.05
"""Seconds a closing store waits for its checkpointer's connection to hold the database
(it does within a millisecond of the first commit)."""
FINISH_AT_EXIT = 30.0
"""Seconds the interpreter waits at exit for stores still merging their log."""


def _enter_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch ``db`` to WAL mode. Two processes opening a new store at once race for it,
    and SQLite answers the loser "database is locked" at once, without waiting on the
    busy timeout: so wait and try again, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            busy = "locked" in str(error) or "busy" in str(error)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


_INSERT_EVENTS = "INSERT INTO event_batches (run_id, at, events) VALUES (?, ?, ?)"

# Rows of one batch are written in key order: each lands next to the previous one in the
# B-tree, which is cheaper than the order attempts ended in (about a tenth, measured).
_BY_TASK_NAME = itemgetter(1)  # an AttemptRecord's task_name (run_id first, the same)
_BY_NAME = itemgetter(6)  # a TaskUpdate's name


EVENTS_PICKLE_PROTOCOL = 5


def _event_batch(run_id: str, events: list[EventRecord]) -> tuple[str, float, bytes]:
    """One row of event_batches: the events of one transaction, in order, pickled.

    Pickle, not JSON: a batch is written with every commit, and JSON's encoder costs about
    1.5 us a task on a fan-out (a new encoder per call, a float printed per event) against
    0.2 for pickle; the events hold only str, float, int and None. Rows written as JSON
    text by earlier versions are still read (``_decode_events``)."""
    fields = [event[1:] for event in events]  # (at, kind, task_name, attempt, detail)
    return (run_id, events[-1].at, pickle.dumps(fields, EVENTS_PICKLE_PROTOCOL))


def _decode_events(events: bytes | str) -> list[tuple[Any, ...]]:
    """The (at, kind, task_name, attempt, detail) fields of one event_batches row."""
    if isinstance(events, str):  # written by podium 0.1 before pickled batches
        return [tuple(fields) for fields in json.loads(events)]
    return list(pickle.loads(events))


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def _run_row(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.run_id,
        run.workflow,
        run.source,
        json.dumps(run.params, default=repr),
        run.state,
        run.owner_pid,
        run.owner_host,
        run.heartbeat_at,
        run.created_at,
        run.started_at,
        run.ended_at,
        int(run.cancel_requested),
        run.max_workers,
    )


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    values = list(row)
    values[3] = json.loads(values[3])
    values[11] = bool(values[11])
    return RunRecord(*values)


SHORT_DEPS = 8


def _task_rows(tasks: list[TaskRecord]) -> list[tuple[Any, ...]]:
    """Rows of new task instances (``_NEW_TASK_COLUMNS``: their attempts, times and error
    are the columns' defaults, as for any new instance). The dependencies' JSON is what
    ``json.dumps`` gives (about 1 us a list), made once per distinct list (the elements of
    a fan-out share theirs) from each name's JSON string, itself made once."""
    lists: dict[tuple[str, ...], str] = {}
    quoted: dict[str, str] = {}
    rows = []
    for task in tasks:
        deps = tuple(task.deps)
        encoded = lists.get(deps)
        if encoded is None and len(deps) > SHORT_DEPS:  # a join: one call in C does better
            encoded = lists[deps] = json.dumps(task.deps)
        elif encoded is None:
            parts = []
            for dep in deps:
                text = quoted.get(dep)
                if text is None:
                    text = quoted[dep] = json.dumps(dep)
                parts.append(text)
            encoded = lists[deps] = "[" + ", ".join(parts) + "]"
        rows.append(
            (task.run_id, task.name, task.task, encoded, task.state, task.map_index,
             task.idempotency_key, task.isolation, task.position)
        )  # fmt: skip
    return rows


def _task_record(row: tuple[Any, ...]) -> TaskRecord:
    values = list(row)
    values[3] = json.loads(values[3])
    return TaskRecord(*values)
