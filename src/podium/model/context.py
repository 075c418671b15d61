"""``current_context()``: what a running task can know about its attempt."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field

from podium.errors import OutsideTaskError

__all__ = ["OutsideTaskError", "TaskContext", "current_context"]

_current: ContextVar[TaskContext | None] = ContextVar("podium_task_context", default=None)


class AttemptLogHandler(logging.Handler):
    """Collects one attempt's log records as formatted lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
        )

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass(slots=True)
class TaskContext:
    """The attempt a task is running as.

    ``idempotency_key`` is one per task instance (run + task name + map index): the same for
    every attempt, including attempts made after a crash and ``podium resume``.
    ``logger`` writes to this attempt's captured log (see ``podium logs``).
    ``gpus``: the GPU device ids the attempt was given (empty when it asked for none).
    """

    run_id: str
    task_name: str
    attempt: int
    idempotency_key: str
    map_index: int | None = None
    gpus: tuple[str, ...] = ()
    """GPU device ids granted to this attempt (``resources={"gpu": ...}``); process and
    shell attempts also see them as ``CUDA_VISIBLE_DEVICES``."""
    _handler: AttemptLogHandler | None = field(default=None, repr=False)
    _logger: logging.Logger | None = field(default=None, repr=False)

    @property
    def logger(self) -> logging.Logger:
        """A logger whose records are captured into this attempt's log."""
        if self._logger is None:
            self._handler = AttemptLogHandler()
            logger = logging.Logger(f"podium.task.{self.task_name}", logging.DEBUG)
            logger.addHandler(self._handler)
            logger.propagate = False
            self._logger = logger
        return self._logger

    def captured_lines(self) -> list[str]:
        """The lines logged so far through ``logger``."""
        return list(self._handler.lines) if self._handler is not None else []


def current_context() -> TaskContext:
    """The context of the task attempt running in this thread, coroutine or process.

    Raises OutsideTaskError when called outside a running task.
    """
    context = _current.get()
    if context is None:
        raise OutsideTaskError("current_context() was called outside a running podium task")
    return context


def enter_context(context: TaskContext) -> object:
    """Make ``context`` current (for executors); returns a token for ``leave_context``."""
    return _current.set(context)


def leave_context(token: object) -> None:
    """Undo ``enter_context``."""
    _current.reset(token)  # type: ignore[arg-type]
