"""``@task``: a function made into a task that workflows can call.

Inside a workflow function, calling a task adds a node and returns a Handle. Outside one, it
simply runs the function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload

from podium.errors import OptionError
from podium.model.building import current_builder
from podium.model.caching import Caching
from podium.model.handles import Handle
from podium.model.policy import Policy, make_policy
from podium.model.resources import make_request

if TYPE_CHECKING:
    from typing_extensions import Unpack

Isolation = Literal["thread", "process", "async", "shell"]
ISOLATIONS = ("thread", "process", "async", "shell")
Seconds = float | timedelta
ExceptionClasses = type[BaseException] | Iterable[type[BaseException]]


class TaskOptions(TypedDict, total=False):
    """The keyword options of ``@task(...)``; see ``task`` for what each does."""

    name: str | None
    tags: Iterable[str]
    isolation: Isolation | None
    retries: int
    retry_delay: Seconds
    backoff: float
    max_delay: Seconds | None
    jitter: float
    retry_on: ExceptionClasses
    timeout: Seconds | None
    priority: int
    trigger_rule: str
    fallback: TaskDef | None
    cache: bool
    cache_ttl: Seconds | None
    cache_version: str | int | None
    resources: Mapping[str, float] | None


NON_POLICY_OPTIONS = ("name", "tags", "isolation", "fallback", "cache", "cache_ttl",
                      "cache_version", "resources")  # fmt: skip


class TaskDef:
    """A task: a function plus how and where to run it, and its ``policy`` (retries, timeout,
    priority; see ``Policy``).

    Raises OptionError at decoration time for an invalid ``isolation``, ``tags`` or policy
    option.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        tags: Iterable[str] = (),
        isolation: Isolation | None = None,
        retries: int = 0,
        retry_delay: Seconds = 1.0,
        backoff: float = 2.0,
        max_delay: Seconds | None = None,
        jitter: float = 0.0,
        retry_on: ExceptionClasses = (Exception,),
        timeout: Seconds | None = None,
        priority: int = 0,
        trigger_rule: str = "all_success",
        fallback: TaskDef | None = None,
        cache: bool = False,
        cache_ttl: Seconds | None = None,
        cache_version: str | int | None = None,
        resources: Mapping[str, float] | None = None,
    ) -> None:
        if not callable(fn):
            raise OptionError("fn", fn, "a task must wrap a callable")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "task"))
        if not isinstance(self.name, str) or not self.name.strip():
            raise OptionError("name", name, "a task name must be a non-empty string")
        if isinstance(tags, str):
            raise OptionError("tags", tags, "tags must be a list of strings, not one string")
        self.tags = tuple(tags)
        self.is_coroutine = inspect.iscoroutinefunction(fn)
        self.isolation = self._choose_isolation(isolation)
        self.policy: Policy = make_policy(
            retries=retries,
            retry_delay=retry_delay,
            backoff=backoff,
            max_delay=max_delay,
            jitter=jitter,
            retry_on=retry_on,
            timeout=timeout,
            priority=priority,
            trigger_rule=trigger_rule,
        )
        if fallback is not None and not isinstance(fallback, TaskDef):
            raise OptionError(
                "fallback", fallback, f"task {self.name!r}: a fallback must be a @task"
            )
        self.fallback = fallback
        self.caching = Caching.create(cache, cache_ttl, cache_version, task=self.name)
        self.resources: dict[str, float] = make_request(resources, task=self.name)
        self._takes_name = _has_parameter(fn, "name")
        functools.update_wrapper(self, fn)

    def _choose_isolation(self, isolation: str | None) -> str:
        if isolation is None:
            return "async" if self.is_coroutine else "thread"
        if isolation not in ISOLATIONS:
            raise OptionError("isolation", isolation, f"must be one of {', '.join(ISOLATIONS)}")
        if self.is_coroutine and isolation not in ("async",):
            raise OptionError(
                "isolation",
                isolation,
                f"task {self.name!r} is a coroutine function; it runs "
                "on the engine's event loop (isolation='async')",
            )
        if not self.is_coroutine and isolation == "async":
            raise OptionError(
                "isolation", isolation, f"task {self.name!r} is not a coroutine function"
            )
        return isolation

    def __repr__(self) -> str:
        return f"<task {self.name} ({self.isolation})>"

    def options(self) -> TaskOptions:
        """This task's options, as ``@task(...)`` takes them."""
        return TaskOptions(
            name=self.name,
            tags=self.tags,
            isolation=self.isolation,
            fallback=self.fallback,
            cache=self.caching.enabled,
            cache_ttl=self.caching.ttl,
            cache_version=self.caching.version,
            resources=self.resources,
            **self.policy.options(),  # type: ignore[typeddict-item]
        )

    def with_options(self, **options: Unpack[TaskOptions]) -> TaskDef:
        """A copy of this task (same function) with some options changed; the others keep
        this task's values. Calls of the copy in a workflow are named after its name, like
        calls of the original. Raises OptionError naming an unknown or invalid option.
        """
        policy_options = {k: v for k, v in options.items() if k not in NON_POLICY_OPTIONS}
        policy = self.policy.merged(**policy_options)  # refuses unknown names
        merged: dict[str, Any] = {**self.options(), **options, **policy.options()}
        return TaskDef(self.fn, **merged)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = current_builder()
        if builder is None:
            return self.fn(*args, **kwargs)
        name = None if self._takes_name else kwargs.pop("name", None)
        return builder.add_call(self, args, kwargs, name)

    def map(
        self, over: Iterable[Any] | Handle, /, *, name: str | None = None, **constants: Any
    ) -> Any:
        """Fan out: one node per element of ``over``; downstream tasks receive a list.

        ``over`` is a literal iterable or the handle of an upstream task whose result is
        iterable (its length is known only at run time). ``constants`` go to every element.
        Outside a workflow, returns the list of results computed here.
        """
        builder = current_builder()
        if builder is None:
            return [self.fn(item, **constants) for item in over]
        if not isinstance(over, Handle) and not isinstance(over, Iterable):
            raise OptionError("map", over, f"task {self.name!r}: map needs an iterable or handle")
        return builder.add_map(self, over, constants, name)


def _has_parameter(fn: Callable[..., Any], parameter: str) -> bool:
    try:
        return parameter in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


@overload
def task(fn: Callable[..., Any], /) -> TaskDef: ...


@overload
def task(**options: Unpack[TaskOptions]) -> Callable[[Callable[..., Any]], TaskDef]: ...


def task(
    fn: Callable[..., Any] | None = None, /, **options: Unpack[TaskOptions]
) -> TaskDef | Callable[[Callable[..., Any]], TaskDef]:
    """Make a function (sync or ``async def``) a task; usable as ``@task`` or ``@task(...)``.

    ``isolation``: ``"thread"`` (default for sync functions), ``"process"`` (CPU-bound work,
    run in a worker process), ``"async"`` (coroutines, on the engine's event loop).
    ``retries`` (attempts after the first), ``retry_delay`` (seconds before the first retry),
    ``backoff`` (its growth factor), ``max_delay``, ``jitter`` (a fraction), ``retry_on``
    (exception classes worth retrying), ``timeout`` (seconds per attempt) and ``priority``
    (higher runs first among ready tasks) and ``trigger_rule`` (when it may run, given how
    the tasks it needs ended: ``all_success`` by default) make the task's ``Policy``.
    ``fallback``: another task run with the same inputs when every attempt has failed; its
    result stands in (the task ends ``fell_back``).
    ``cache=True``: a call whose task identity, code (or ``cache_version``) and inputs (by
    content) match an earlier successful call is not run again; its stored result is used
    (the task ends ``cached``) for ``cache_ttl`` seconds (default: for ever).
    ``resources``: what one attempt needs, e.g. ``{"cpu": 2, "memory_mb": 4000, "gpu": 0.5,
    "licenses": 1}``; it starts only when that fits in what this machine has.
    Raises OptionError for an invalid option, naming it.
    """
    if fn is not None:
        return TaskDef(fn, **options)
    stand_in = _check_coroutine if options.get("isolation") == "async" else _check
    TaskDef(stand_in, **options)  # refuse bad options now, at decoration
    return lambda function: TaskDef(function, **options)


def _check() -> None:
    """Stands in for the function while ``@task(...)`` checks its options."""


async def _check_coroutine() -> None:
    """Stands in for a coroutine function while ``@task(...)`` checks its options."""
