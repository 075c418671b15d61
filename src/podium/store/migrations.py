"""Numbered schema migrations of the SQL stores. Append; never edit a released one."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: runs, task instances, attempts, results, events
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        source TEXT NOT NULL,
        params TEXT NOT NULL,
        state TEXT NOT NULL,
        owner_pid INTEGER,
        owner_host TEXT,
        heartbeat_at REAL,
        created_at REAL NOT NULL,
        started_at REAL,
        ended_at REAL,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        max_workers INTEGER
    );
    CREATE INDEX runs_by_created_at ON runs (created_at);
    CREATE TABLE task_instances (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        task TEXT NOT NULL,
        map_index INTEGER,
        deps TEXT NOT NULL,
        isolation TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        idempotency_key TEXT NOT NULL,
        started_at REAL,
        ended_at REAL,
        error TEXT,
        position INTEGER NOT NULL,
        PRIMARY KEY (run_id, name)
    ) WITHOUT ROWID;
    CREATE TABLE attempts (
        run_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL,
        error TEXT,
        traceback TEXT,
        logs TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (run_id, task_name, attempt)
    ) WITHOUT ROWID;
    CREATE TABLE results (
        run_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        encoding TEXT NOT NULL,
        data BLOB,
        path TEXT,
        sha256 TEXT,
        size INTEGER NOT NULL,
        PRIMARY KEY (run_id, task_name)
    ) WITHOUT ROWID;
    CREATE TABLE event_batches (
        batch_id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        at REAL NOT NULL,
        events TEXT NOT NULL
    );
    """,
    # 2: what each attempt used (resource accounting); NULL for older rows
    """
    ALTER TABLE attempts ADD COLUMN run_started_at REAL;
    ALTER TABLE attempts ADD COLUMN wall_s REAL;
    ALTER TABLE attempts ADD COLUMN cpu_s REAL;
    ALTER TABLE attempts ADD COLUMN peak_rss_mb REAL;
    ALTER TABLE attempts ADD COLUMN gpu_memory_mb REAL;
    ALTER TABLE attempts ADD COLUMN queue_wait_s REAL;
    ALTER TABLE attempts ADD COLUMN rss_scope TEXT;
    """,
    # 3: cached results (a key per call of a cached task, pointing at a stored result)
    """
    CREATE TABLE cache_entries (
        key TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        code TEXT NOT NULL,
        inputs TEXT NOT NULL,
        run_id TEXT NOT NULL,
        task_name TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL
    ) WITHOUT ROWID;
    CREATE INDEX cache_entries_by_identity ON cache_entries (identity, created_at);
    """,
]

LATEST = len(MIGRATIONS)
