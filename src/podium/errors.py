"""Every exception podium raises, in one tree.

    PodiumError
    +-- DefinitionError            bad input, refused before anything runs (CLI exit code 2)
    |   +-- CycleError             the graph has a cycle; ``.cycle`` lists it
    |   +-- UnknownDependencyError a task needs a name that is not in the graph
    |   +-- DuplicateTaskError     two tasks share one name
    |   +-- WorkflowNotFoundError  ``FILE:NAME`` names no workflow; ``.available`` lists those found
    |   +-- WorkflowLoadError      the file is missing or does not import
    |   +-- ParameterError         a workflow parameter is unknown, missing or fails its type hint
    |   +-- OptionError            a run option has an invalid value
    |   +-- HandleMisuseError      a task's handle was used as a value while building the graph
    |   +-- ResourceUnavailableError  a task asks for more than this machine has, without fallback
    |   +-- SettingsError          the settings file or a --resources value is invalid
    +-- RunError                   about a run that exists (or should)
    |   +-- RunNotFoundError       no run has this run_id
    |   +-- RunOwnedError          the run's owner is alive and heartbeating; resume is refused
    |   +-- RunNotResumableError   the run already ended
    |   +-- RunFailedError         the result of a run that did not succeed was asked for
    |   +-- GraphChangedError      resume: the workflow's tasks differ from the run's
    +-- OutsideTaskError           current_context() was called outside a running task
    +-- CacheKeyError              a cached task's input cannot be fingerprinted
    +-- TaskControl                raised by a task to steer its own retries
    |   +-- Retry                  ask for another attempt (``after=`` seconds overrides the delay)
    |   +-- Fail                   fail at once, without retrying
    +-- TaskFailure                raised inside a task's attempt (recorded, not bad input)
    |   +-- ShellCommandError      a shell task exited with a non-zero code
    |   +-- WorkerLostError        the process running an attempt died
    |   +-- TimedOut               the attempt ran longer than its timeout
    +-- StoreError                 the store cannot be used
        +-- SchemaVersionError     the database was written by a newer podium

Every error pickles (it may cross a process boundary) and carries its fields as attributes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

__all__ = [
    "CacheKeyError",
    "CycleError",
    "DefinitionError",
    "DuplicateTaskError",
    "Fail",
    "GraphChangedError",
    "HandleMisuseError",
    "OptionError",
    "OutsideTaskError",
    "ParameterError",
    "PodiumError",
    "ResourceUnavailableError",
    "Retry",
    "RunError",
    "RunFailedError",
    "RunNotFoundError",
    "RunNotResumableError",
    "RunOwnedError",
    "SchemaVersionError",
    "SettingsError",
    "ShellCommandError",
    "StoreError",
    "TaskControl",
    "TaskFailure",
    "TimedOut",
    "UnknownDependencyError",
    "WorkerLostError",
    "WorkflowLoadError",
    "WorkflowNotFoundError",
]


class PodiumError(Exception):
    """Base of every podium error. Subclasses keep their constructor arguments for pickling."""

    def __init__(self, message: str, *args: Any) -> None:
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[PodiumError], message: str, state: dict[str, Any]) -> PodiumError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


# -- definition errors: refused before anything runs -------------------------------------


class DefinitionError(PodiumError):
    """The workflow, its parameters or the run options are invalid; nothing was run."""


class CycleError(DefinitionError):
    """The task graph has a cycle. ``cycle`` is the path, first name repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__(f"the graph has a cycle: {' -> '.join(self.cycle)}")


class UnknownDependencyError(DefinitionError):
    """``task`` depends on ``missing``, which is not a task of the workflow."""

    def __init__(self, task: str, missing: str, known: Sequence[str] = ()) -> None:
        self.task = task
        self.missing = missing
        hint = f" (known tasks: {', '.join(sorted(known))})" if known else ""
        super().__init__(f"task {task!r} depends on {missing!r}, which is not a task{hint}")


class DuplicateTaskError(DefinitionError):
    """Two tasks of one workflow have the same ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"two tasks are named {name!r}: task names must be unique within a workflow "
            f"(give one of them another name=)"
        )


class WorkflowNotFoundError(DefinitionError):
    """``name`` is not a workflow in ``source``; ``available`` lists the ones that are."""

    def __init__(self, source: str, name: str | None, available: Sequence[str]) -> None:
        self.source = source
        self.name = name
        self.available = list(available)
        listed = ", ".join(self.available) if self.available else "none"
        if name is None:
            what = "no workflow or Orchestrator" if not self.available else "several workflows"
            message = f"{source}: {what} found; pick one with FILE:NAME (available: {listed})"
        else:
            message = f"{source}: no workflow named {name!r} (available: {listed})"
        super().__init__(message)


class WorkflowLoadError(DefinitionError):
    """The workflow file is missing or raised while being imported."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"cannot load {source}: {reason}")


class ParameterError(DefinitionError):
    """Workflow parameter ``param`` is unknown, missing, or ``value`` fails its type hint."""

    def __init__(self, param: str, value: Any, reason: str) -> None:
        self.param = param
        self.value = value
        self.reason = reason
        super().__init__(f"parameter {param!r}: {reason} (got {value!r})")


class OptionError(DefinitionError):
    """Run option ``option`` has an invalid ``value``."""

    def __init__(self, option: str, value: Any, reason: str) -> None:
        self.option = option
        self.value = value
        self.reason = reason
        super().__init__(f"option {option!r}: {reason} (got {value!r})")


class HandleMisuseError(DefinitionError, TypeError):
    """A task's handle was used as a value inside a workflow function."""

    def __init__(self, task: str, usage: str) -> None:
        self.task = task
        self.usage = usage
        super().__init__(
            f"the result of task {task!r} was used as a value ({usage}) while building the "
            f"workflow; results exist only at run time: pass the handle to another task and "
            f"decide on its value inside that task"
        )


class ResourceUnavailableError(DefinitionError):
    """Task ``task`` asks for ``request`` of a resource, more than ``capacity`` here, and
    has no fallback to run instead."""

    def __init__(self, task: str, resource: str, request: float, capacity: float) -> None:
        self.task = task
        self.resource = resource
        self.request = request
        self.capacity = capacity
        super().__init__(
            f"task {task!r} asks for {resource}={request:g} but this machine has "
            f"{resource}={capacity:g}; give it a fallback, lower the request, or declare "
            f"more with --resources {resource}=N (or the settings file)"
        )


class SettingsError(DefinitionError):
    """The settings file or a ``--resources`` / ``resources=`` value is invalid; ``source``
    says where it came from."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


# -- run errors -----------------------------------------------------------------------------


class RunError(PodiumError):
    """Something about an existing run prevents the request."""


class RunNotFoundError(RunError):
    """No run has this ``run_id``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run with run_id {run_id!r} (see `podium runs list`)")


class RunOwnedError(RunError):
    """The run is owned by a live, heartbeating process; it cannot be taken over."""

    def __init__(self, run_id: str, owner: str, seconds_since_heartbeat: float) -> None:
        self.run_id = run_id
        self.owner = owner
        self.seconds_since_heartbeat = seconds_since_heartbeat
        super().__init__(
            f"run {run_id} is still running: its owner {owner} is alive and heartbeated "
            f"{seconds_since_heartbeat:.1f}s ago; cancel it with `podium cancel {run_id}` or "
            f"wait for it to end"
        )


class RunNotResumableError(RunError):
    """The run already ended (``state``) and has nothing left to resume."""

    def __init__(self, run_id: str, state: str) -> None:
        self.run_id = run_id
        self.state = state
        super().__init__(f"run {run_id} has already ended ({state}); nothing to resume")


class RunFailedError(RunError):
    """The value of a run that did not succeed was asked for."""

    def __init__(self, run_id: str, state: str, failed_tasks: Sequence[str]) -> None:
        self.run_id = run_id
        self.state = state
        self.failed_tasks = list(failed_tasks)
        names = ", ".join(self.failed_tasks) or "none"
        super().__init__(f"run {run_id} {state}; it has no result (failed tasks: {names})")


class GraphChangedError(RunError):
    """The workflow no longer has the tasks the run was started with; it cannot resume."""

    def __init__(self, run_id: str, new: Sequence[str], gone: Sequence[str]) -> None:
        self.run_id = run_id
        self.new = list(new)
        self.gone = list(gone)
        parts = []
        if self.new:
            parts.append(f"new tasks: {', '.join(self.new[:10])}")
        if self.gone:
            parts.append(f"tasks gone: {', '.join(self.gone[:10])}")
        super().__init__(
            f"run {run_id} cannot resume: the workflow changed since it started "
            f"({'; '.join(parts)}); start a new run instead"
        )


class OutsideTaskError(PodiumError, LookupError):
    """``current_context()`` was called outside a running task."""


# -- task control: raised by a task's own code to steer its retries ------------------------


class CacheKeyError(PodiumError, TypeError):
    """An input of cached task ``task`` (``path`` inside its arguments) cannot be
    fingerprinted by content; give the task ``cache_version=`` plus a hashable input, or
    turn its cache off."""

    def __init__(self, task: str, path: str, reason: str) -> None:
        self.task = task
        self.path = path
        self.reason = reason
        super().__init__(f"task {task!r}: cannot fingerprint input {path}: {reason}")


class TaskControl(PodiumError):
    """Raised by a task's code to tell podium how to treat the failed attempt."""


class Retry(TaskControl):
    """Ask for another attempt, whatever the task's ``retry_on``, while attempts remain.

    ``after`` (seconds or a timedelta; None: the policy's backoff) is the delay before the
    next attempt. Raises OptionError if ``after`` is not a non-negative number of seconds.
    """

    def __init__(self, message: str = "retry requested", *, after: float | timedelta | None = None):
        self.after = _delay_seconds(after)
        super().__init__(message)


class Fail(TaskControl):
    """Fail the task at once: no retry, even if attempts remain and ``retry_on`` matches."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _delay_seconds(after: float | timedelta | None) -> float | None:
    if after is None:
        return None
    seconds = after.total_seconds() if isinstance(after, timedelta) else after
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds < 0
    ):
        raise OptionError("after", after, "must be a non-negative number of seconds or a timedelta")
    return float(seconds)


# -- task failures: raised inside attempts, recorded with their traceback --------------------


class TaskFailure(PodiumError):
    """An attempt failed for a reason podium detected (not an exception of the user's code)."""


class ShellCommandError(TaskFailure):
    """A shell task's command exited with ``returncode`` != 0."""

    def __init__(self, command: str, returncode: int) -> None:
        self.command = command
        self.returncode = returncode
        super().__init__(f"command exited with code {returncode}: {command}")


class WorkerLostError(TaskFailure):
    """The worker process running the attempt died (killed, or crashed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the worker process running this attempt died: {reason}")


class TimedOut(TaskFailure):
    """The attempt ran longer than its task's ``timeout`` (``seconds``) and was stopped."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"timed out after {seconds:g}s")


# -- store errors --------------------------------------------------------------------------


class StoreError(PodiumError):
    """The store cannot be opened or used."""


class SchemaVersionError(StoreError):
    """The database schema is newer than this podium understands."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"{path} has schema version {found}, but this podium supports up to {supported}; "
            f"upgrade podium or use another --home"
        )
