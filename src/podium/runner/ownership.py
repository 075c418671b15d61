"""Who owns a run, and whether that owner is still alive (for resume and takeover)."""

from __future__ import annotations

import os
import socket
import time

import psutil

from podium.errors import RunOwnedError
from podium.model.records import Owner, RunRecord

HEARTBEAT_INTERVAL = 1.0
STALE_AFTER = 10.0


def this_process() -> Owner:
    """The owner record of the current process."""
    return Owner(os.getpid(), socket.gethostname())


def process_alive(pid: int) -> bool:
    """True if ``pid`` runs here and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def owner_gone(run: RunRecord, stale_after: float = STALE_AFTER) -> bool:
    """True when nobody runs ``run`` any more: no owner; or an owner on this host whose
    process is gone; or an owner elsewhere that stopped heartbeating ``stale_after`` ago."""
    if run.owner_pid is None:
        return True
    if run.owner_host == this_process().host:
        return not process_alive(run.owner_pid)
    return time.time() - (run.heartbeat_at or 0.0) >= stale_after


def ensure_owner_gone(run: RunRecord, stale_after: float = STALE_AFTER) -> None:
    """Raise RunOwnedError if the run's owner is alive and heartbeating.

    On this host, a dead owner process is gone at once; elsewhere (or a live process that
    stopped heartbeating) the owner is gone once its heartbeat is ``stale_after`` old.
    """
    if run.owner_pid is None:
        return
    age = time.time() - (run.heartbeat_at or 0.0)
    me = this_process()
    if run.owner_host == me.host:
        if run.owner_pid == me.pid or not process_alive(run.owner_pid):
            return
    if age < stale_after:
        raise RunOwnedError(run.run_id, f"pid {run.owner_pid} on {run.owner_host}", age)
