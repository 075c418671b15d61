"""The main loop of a worker process: receive an attempt, run it, send its outcome back.

The worker is started in its own session by the pool (so it and everything it starts can be
killed together), dies with its parent (Linux: PR_SET_PDEATHSIG), and ignores SIGINT (Ctrl-C
is the parent's to handle). Payloads are cloudpickle bytes over a socket pair.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import signal
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from types import CodeType
from typing import Any

import cloudpickle

from podium.executors.invoke import call, describe
from podium.executors.usage import WORKER
from podium.model.attempts import Outcome, Work


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main(fd: int, parent_pid: int) -> None:
    """Serve attempts over the socket ``fd`` until it closes (the worker's entry point)."""
    serve(Connection(fd), parent_pid)


def serve(conn: Connection, parent_pid: int) -> None:
    """Serve attempts until the connection closes."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() != parent_pid:  # the parent died before we set the death signal
        return
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send_bytes(run_payload(payload))


def run_payload(payload: bytes) -> bytes:
    """Run one pickled Work; return the pickled Outcome (never raises)."""
    started = time.time()
    try:
        work: Work
        work, source_file = cloudpickle.loads(payload)
    except BaseException as error:
        return _pickled_failure(
            f"cannot unpickle the task in the worker: {describe(error)}", started
        )
    restore_source_file(work.fn, source_file)
    captured = io.StringIO()
    with (
        contextlib.redirect_stdout(captured),
        contextlib.redirect_stderr(captured),
        visible_devices(work.gpus),
    ):
        outcome = call(work, WORKER)
    printed = captured.getvalue()
    if printed:
        outcome.logs = "\n".join(part for part in (outcome.logs, printed.rstrip("\n")) if part)
    outcome.work = None  # type: ignore[assignment]  # the parent keeps its own Work
    if outcome.exception is not None:
        try:
            cloudpickle.dumps(outcome.exception)
        except BaseException:  # the error's text and traceback still go back
            outcome.exception = None
    try:
        return cloudpickle.dumps(outcome)
    except BaseException as error:
        reason = "cannot pickle the result" if outcome.ok else "cannot pickle the error"
        return _pickled_failure(f"{reason}: {describe(error)}", started, outcome.logs)


@contextlib.contextmanager
def visible_devices(gpus: tuple[str, ...]) -> Iterator[None]:
    """``CUDA_VISIBLE_DEVICES`` set to the attempt's GPUs while it runs (this process is
    the attempt's own, so the variable is its alone), then restored."""
    if not gpus:
        yield
        return
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = before


def _pickled_failure(error: str, started: float, logs: str = "") -> bytes:
    outcome = Outcome(
        None,  # type: ignore[arg-type]  # the parent reattaches its Work
        False,
        error=error,
        logs=logs,
        started_at=started,
        ended_at=time.time(),
    )
    return cloudpickle.dumps(outcome)


def decode_outcome(data: bytes, work: Work) -> Outcome:
    """The parent's side: the Outcome sent by a worker, reattached to its Work."""
    outcome: Outcome = cloudpickle.loads(data)
    outcome.work = work
    return outcome


def encode_work(work: Work) -> bytes:
    """The parent's side: ``work`` as bytes for a worker (raises if it cannot be pickled),
    with the file its function's code comes from (see ``restore_source_file``)."""
    code = getattr(work.fn, "__code__", None)
    return cloudpickle.dumps((work, code.co_filename if isinstance(code, CodeType) else None))


DYNAMIC_CODE = "<dynamic-code>"
"""The file name cloudpickle (3.1.3 and later) gives the code of a function it pickles by
value (a workflow file's functions: cli/loader.py registers its module so)."""


def restore_source_file(fn: Any, source_file: str | None) -> None:
    """Give ``fn``'s code (and the code nested in it) back the file it was defined in, so
    a traceback raised in the worker shows its source lines, as it would in the parent."""
    code = getattr(fn, "__code__", None)
    if source_file and isinstance(code, CodeType) and code.co_filename == DYNAMIC_CODE:
        fn.__code__ = _renamed(code, source_file)


def _renamed(code: CodeType, source_file: str) -> CodeType:
    consts = tuple(
        _renamed(const, source_file)
        if isinstance(const, CodeType) and const.co_filename == DYNAMIC_CODE
        else const
        for const in code.co_consts
    )
    return code.replace(co_filename=source_file, co_consts=consts)
