"""Calling a task's function for one attempt: context set, logs captured, errors caught.

Shared by the thread runner and the process worker, so both report the same way.
"""

from __future__ import annotations

import time
import traceback

from podium.executors.usage import THREAD, ThreadMeter, WorkerMeter
from podium.model.attempts import Outcome, Work
from podium.model.context import TaskContext, enter_context, leave_context


def describe(error: BaseException) -> str:
    """``ValueError: boom``: the one-line form of an error."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def call(work: Work, meter: ThreadMeter | WorkerMeter = THREAD) -> Outcome:
    """Run ``work.fn`` here and now; never raises (the error goes into the Outcome).
    ``meter`` measures what it used (executors/usage.py): this thread's CPU by default."""
    context = work.context()
    token = enter_context(context)
    started = time.time()
    probe = meter.start(started)
    try:
        value = work.fn(*work.args, **work.kwargs)  # type: ignore[misc]
    except BaseException as error:  # the task's own error, whatever it is, is its outcome
        outcome = failure(work, error, started, context)
    else:
        outcome = Outcome(work, True, value, None, None, joined(context), started, time.time())
    finally:
        leave_context(token)
    outcome.usage = meter.stop(probe, outcome.ended_at)
    return outcome


def failure(
    work: Work,
    error: BaseException,
    started: float,
    context: TaskContext | None = None,
    extra_logs: str = "",
) -> Outcome:
    """The Outcome of an attempt that raised ``error``."""
    logs = joined(context) if context is not None else ""
    return Outcome(
        work,
        False,
        exception=error,
        error=describe(error),
        traceback="".join(traceback.format_exception(error)),
        logs=logs + extra_logs,
        started_at=started,
        ended_at=time.time(),
    )


def cancelled(work: Work, started: float, logs: str = "") -> Outcome:
    """The Outcome of an attempt stopped by a cancel (or a kill on cancel)."""
    return Outcome(
        work, False, error="cancelled", logs=logs, started_at=started, ended_at=time.time(),
        cancelled=True,
    )  # fmt: skip


def joined(context: TaskContext | None) -> str:
    if context is None or context._handler is None:
        return ""
    return "\n".join(context.captured_lines())
