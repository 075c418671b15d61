"""Task policies: how often a task is retried, how long to wait, its timeout and priority.

Pure definitions: a ``Policy`` value, validated when it is made, and two functions the
engine asks after a failed attempt (``should_retry``, then ``retry_delay``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from podium.errors import Fail, OptionError, Retry

POLICY_OPTIONS = (
    "retries",
    "retry_delay",
    "backoff",
    "max_delay",
    "jitter",
    "retry_on",
    "timeout",
    "priority",
    "trigger_rule",
)
"""The names of a task's policy options, as ``@task(...)`` and ``shell(...)`` accept them."""
TRIGGER_RULES = (
    "all_success",
    "all_done",
    "one_failed",
    "one_success",
    "none_failed",
    "none_failed_min_one_success",
)
"""When a task may run, given how the tasks it needs ended (see engine/plan.py)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How a task is retried, timed out and ordered. Every field is checked when it is made.

    ``retries``: attempts after the first (>= 0). ``retry_delay``: seconds before the first
    retry (>= 0; a timedelta is accepted). ``backoff``: factor the delay grows by on each
    further retry (>= 1). ``max_delay``: cap on the delay (>= retry_delay) or None.
    ``jitter``: fraction (0..1) by which each delay is randomly stretched or shrunk.
    ``retry_on``: exception classes worth retrying (one class or several).
    ``timeout``: seconds an attempt may run (> 0) or None. ``priority``: among ready tasks,
    higher runs first. ``trigger_rule``: when the task may run, given how the tasks it
    needs ended (one of TRIGGER_RULES). Raises OptionError naming the first invalid option.
    """

    retries: int = 0
    retry_delay: float = 1.0
    backoff: float = 2.0
    max_delay: float | None = None
    jitter: float = 0.0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    timeout: float | None = None
    priority: int = 0
    trigger_rule: str = "all_success"

    def __post_init__(self) -> None:
        delay = _seconds("retry_delay", self.retry_delay, positive=False)
        max_delay = _optional_seconds("max_delay", self.max_delay, positive=False)
        if max_delay is not None and max_delay < delay:
            raise OptionError(
                "max_delay", self.max_delay, f"must be at least retry_delay ({delay:g}s)"
            )
        normalized: dict[str, Any] = {
            "retries": _count("retries", self.retries),
            "retry_delay": delay,
            "backoff": _number("backoff", self.backoff, low=1.0, reason="must be a number >= 1"),
            "max_delay": max_delay,
            "jitter": _number(
                "jitter", self.jitter, low=0.0, high=1.0, reason="must be a fraction from 0 to 1"
            ),
            "retry_on": _exception_classes(self.retry_on),
            "timeout": _optional_seconds("timeout", self.timeout, positive=True),
            "priority": _integer("priority", self.priority),
            "trigger_rule": _trigger_rule(self.trigger_rule),
        }
        for option, value in normalized.items():
            object.__setattr__(self, option, value)  # frozen: normalize in place, once

    @classmethod
    def create(cls, **options: Any) -> Policy:
        """A policy from keyword options (see ``make_policy``)."""
        return make_policy(**options)

    def merged(self, **options: Any) -> Policy:
        """A copy with ``options`` changed, validated as ``make_policy`` does."""
        _check_names(options)
        return dataclasses.replace(self, **options)

    def options(self) -> dict[str, Any]:
        """The policy's fields as keyword options."""
        return {option: getattr(self, option) for option in POLICY_OPTIONS}


def make_policy(**options: Any) -> Policy:
    """A Policy from keyword options; missing ones take Policy's defaults.

    Raises OptionError naming an unknown option or the first invalid value.
    """
    _check_names(options)
    return Policy(**options)


def retry_delay(policy: Policy, attempt: int, random: Callable[[], float]) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one.

    ``retry_delay * backoff ** (attempt - 1)``, capped at ``max_delay``, then stretched by a
    factor in ``[1 - jitter, 1 + jitter]`` drawn from ``random()`` (a float in [0, 1)); never
    below 0. Deterministic for a given ``random``. Raises ValueError if ``attempt`` < 1.
    """
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1 (got {attempt})")
    if policy.retry_delay == 0:
        return 0.0
    try:
        base = policy.retry_delay * policy.backoff ** (attempt - 1)
    except OverflowError:
        base = math.inf
    if policy.max_delay is not None:
        base = min(base, policy.max_delay)
    if policy.jitter == 0 or math.isinf(base):
        return base
    return max(0.0, base * (1 + policy.jitter * (2 * random() - 1)))


def should_retry(
    policy: Policy, error: BaseException | None, attempt: int
) -> tuple[bool, float | None]:
    """Whether failed attempt number ``attempt`` (1-based) gets another attempt.

    Returns ``(retry, after)``: ``after`` is the delay a ``Retry(after=...)`` asked for,
    which replaces ``retry_delay(...)``; otherwise None. No retry once ``attempt`` exceeds
    ``policy.retries``. ``Fail`` never retries; ``Retry`` always does while attempts remain;
    any other error retries if it is an instance of ``policy.retry_on``. ``error`` None (the
    error could not be brought back from a worker process) retries if ``retry_on`` covers
    every ``Exception`` (it holds ``Exception`` or ``BaseException``).
    """
    if attempt > policy.retries or isinstance(error, Fail):
        return False, None
    if isinstance(error, Retry):
        return True, error.after
    if error is None:
        return any(issubclass(Exception, kind) for kind in policy.retry_on), None
    return isinstance(error, policy.retry_on), None


# -- validation of single options ------------------------------------------------------------


def _check_names(options: dict[str, Any]) -> None:
    for option, value in options.items():
        if option not in POLICY_OPTIONS:
            raise OptionError(
                option, value, f"not a task option (options: {', '.join(POLICY_OPTIONS)})"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(option: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise OptionError(option, value, "must be an integer")
    return value


def _count(option: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise OptionError(option, value, "must be a non-negative integer")
    return value


def _number(option: str, value: Any, *, low: float, high: float = math.inf, reason: str) -> float:
    if not _is_number(value) or not math.isfinite(value) or not low <= value <= high:
        raise OptionError(option, value, reason)
    return float(value)


def _seconds(option: str, value: Any, *, positive: bool) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if (
        not _is_number(seconds)
        or not math.isfinite(seconds)
        or seconds < 0
        or (positive and seconds == 0)
    ):
        sign = "positive" if positive else "non-negative"
        raise OptionError(option, value, f"must be a {sign} number of seconds or a timedelta")
    return float(seconds)


def _optional_seconds(option: str, value: Any, *, positive: bool) -> float | None:
    return None if value is None else _seconds(option, value, positive=positive)


def _exception_classes(value: Any) -> tuple[type[BaseException], ...]:
    reason = "must be an exception class or a list of exception classes"
    if isinstance(value, str | bytes) or not isinstance(value, type | Iterable):
        raise OptionError("retry_on", value, reason)
    classes = (value,) if isinstance(value, type) else tuple(value)
    if not classes:
        raise OptionError("retry_on", value, "must name at least one exception class")
    for kind in classes:
        if not isinstance(kind, type) or not issubclass(kind, BaseException):
            raise OptionError("retry_on", value, f"{reason}; {kind!r} is not one")
    return tuple(dict.fromkeys(classes))


def _trigger_rule(value: Any) -> str:
    if value not in TRIGGER_RULES:
        raise OptionError("trigger_rule", value, f"must be one of {', '.join(TRIGGER_RULES)}")
    return str(value)
