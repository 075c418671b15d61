"""Process-wide limits: concurrency per tag and token-bucket rates per tag.

``limits(tags={"gpu-train": 1}, rates={"openai": "60/min"})`` caps, across every run in
this process, how many attempts of tasks tagged ``gpu-train`` run at once, and how often
tasks tagged ``openai`` may start. A task takes a concurrency unit of every limited tag it
carries and a token of every rate-limited one, all or nothing (``Limits.try_acquire``).

A rate ``COUNT/PERIOD`` is a token bucket: it holds at most COUNT tokens, starts full (a
burst of COUNT may start at once), and refills continuously at COUNT per PERIOD. Tokens are
spent, never given back; concurrency units are given back by ``release``.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from podium.errors import OptionError

logger = logging.getLogger(__name__)

UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
"""Period units ``Rate.parse`` accepts, in seconds."""
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+(?:\.\d*)?|\.\d+)?\s*([A-Za-z]+)\s*")
_NAMES = {1.0: "s", 60.0: "min", 3600.0: "hour", 86400.0: "day"}
_EPSILON = 1e-9  # a bucket this close to a whole token has it (float refill drift)


@dataclass(frozen=True)
class Rate:
    """``count`` starts per ``per_seconds``. Raises OptionError unless ``count`` is a whole
    number >= 1 and ``per_seconds`` a finite number > 0."""

    count: int
    per_seconds: float

    def __post_init__(self) -> None:
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise OptionError("rate", self.count, "the count must be a whole number >= 1")
        per = self.per_seconds
        if isinstance(per, bool) or not isinstance(per, int | float) or not 0 < per < math.inf:
            raise OptionError("rate", per, "the period must be a finite number of seconds > 0")
        object.__setattr__(self, "per_seconds", float(per))

    @classmethod
    def parse(cls, text: str | Rate) -> Rate:
        """A rate from ``"COUNT/UNIT"`` or ``"COUNT/NUMBER UNIT"``: ``"60/min"``, ``"10/s"``,
        ``"5/sec"``, ``"1000/hour"``, ``"100/day"``, ``"2/0.5s"``, ``"30/5min"``. A Rate is
        returned as it is. Raises OptionError naming the text when it is not one."""
        if isinstance(text, Rate):
            return text
        match = _RATE.fullmatch(text) if isinstance(text, str) else None
        unit = UNITS.get(match[3].lower()) if match else None
        if match is None or unit is None:
            raise OptionError(
                "rate",
                text,
                "must be COUNT/UNIT like '60/min', '10/s' or '2/0.5s' (units: s, min, hour, day)",
            )
        try:
            return cls(int(match[1]), float(match[2] or 1) * unit)
        except OptionError as error:
            raise OptionError("rate", text, error.reason) from None

    def __str__(self) -> str:
        name = _NAMES.get(self.per_seconds)
        return f"{self.count}/{name}" if name else f"{self.count}/{self.per_seconds:g}s"


class _Bucket:
    """Tokens of one rate at ``updated_at``; refilled lazily."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate.count)
        self.updated_at = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated_at)
        rate = self.rate
        self.tokens = min(float(rate.count), self.tokens + elapsed * rate.count / rate.per_seconds)
        self.updated_at = now

    def wait(self) -> float:
        """Seconds until a whole token is there; 0.0 when one is."""
        missing = 1.0 - self.tokens
        if missing <= _EPSILON:
            return 0.0
        return missing * self.rate.per_seconds / self.rate.count


class Limits:
    """Concurrency per tag and token-bucket rates, shared by every run in this process
    (thread-safe: engines run on different threads' loops)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._concurrency: dict[str, int] = {}
        self._in_use: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._limited: frozenset[str] = frozenset()
        self._subscribers: list[Callable[[], None]] = []

    def configure(
        self,
        *,
        tags: Mapping[str, int | None] | None = None,
        rates: Mapping[str, str | Rate | None] | None = None,
    ) -> None:
        """Set limits, merged into the current ones; a value None removes a tag's limit.

        ``tags``: tag -> attempts at once (a whole number >= 1). ``rates``: tag -> a Rate
        or its text (``Rate.parse``). Everything is checked before anything changes; raises
        OptionError naming the tag. A changed rate keeps the tokens its bucket has (up to
        the new count); a new one starts full. Subscribers are called afterwards.
        """
        concurrency = {tag: _concurrency(tag, count) for tag, count in (tags or {}).items()}
        parsed = {tag: _rate(tag, rate) for tag, rate in (rates or {}).items()}
        with self._lock:
            now = self._clock()
            for tag, count in concurrency.items():
                if count is None:
                    self._concurrency.pop(tag, None)
                else:
                    self._concurrency[tag] = count
            for tag, rate in parsed.items():
                bucket = self._buckets.get(tag)
                if rate is None:
                    self._buckets.pop(tag, None)
                elif bucket is None:
                    self._buckets[tag] = _Bucket(rate, now)
                else:
                    bucket.refill(now)
                    bucket.rate = rate
                    bucket.tokens = min(bucket.tokens, float(rate.count))
            self._limited = frozenset(self._concurrency) | frozenset(self._buckets)
        self._notify()

    def limited(self, tags: Iterable[str]) -> bool:
        """Whether any of ``tags`` has a limit (no lock: a quick test on the hot path)."""
        limited = self._limited
        return bool(limited) and any(tag in limited for tag in tags)

    def try_acquire(self, tags: Iterable[str]) -> float:
        """Take a concurrency unit of every limited tag and a token of every rate-limited
        tag in ``tags``, all or nothing, without waiting. Returns 0.0 when taken; math.inf
        when a concurrency limit is reached (try again after a release: subscribe); else
        the seconds until every rate has a token."""
        wanted = tuple(dict.fromkeys(tags))
        with self._lock:
            concurrency, in_use = self._concurrency, self._in_use
            for tag in wanted:
                limit = concurrency.get(tag)
                if limit is not None and in_use.get(tag, 0) >= limit:
                    return math.inf
            buckets = [self._buckets[tag] for tag in wanted if tag in self._buckets]
            if buckets:
                now = self._clock()
                for bucket in buckets:
                    bucket.refill(now)
                wait = max(bucket.wait() for bucket in buckets)
                if wait > 0:
                    return wait
                for bucket in buckets:
                    bucket.tokens -= 1.0
            for tag in wanted:
                if tag in concurrency:
                    in_use[tag] = in_use.get(tag, 0) + 1
        return 0.0

    def release(self, tags: Iterable[str]) -> None:
        """Give back the concurrency units ``try_acquire(tags)`` took (tokens are spent),
        then call every subscriber. A tag whose limit was removed meanwhile is ignored."""
        with self._lock:
            in_use = self._in_use
            for tag in dict.fromkeys(tags):
                held = in_use.get(tag, 0)
                if held > 1:
                    in_use[tag] = held - 1
                elif held == 1:
                    del in_use[tag]
        self._notify()

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every release and reconfiguration (from the thread that
        made it, outside the lock): attempts blocked on a limit may fit now."""
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``; nothing happens if it was not subscribed."""
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def describe(self) -> dict[str, str]:
        """Each limited tag and its state, for display:
        ``{"gpu-train": "1 at a time (1 in use)", "openai": "60/min (42 tokens)"}``."""
        with self._lock:
            now = self._clock()
            described: dict[str, str] = {}
            for tag in sorted(self._limited):
                parts = []
                if tag in self._concurrency:
                    count, held = self._concurrency[tag], self._in_use.get(tag, 0)
                    parts.append(f"{count} at a time ({held} in use)")
                bucket = self._buckets.get(tag)
                if bucket is not None:
                    bucket.refill(now)
                    tokens = math.floor(bucket.tokens + _EPSILON)
                    parts.append(f"{bucket.rate} ({tokens} token{'' if tokens == 1 else 's'})")
                described[tag] = "; ".join(parts)
            return described

    def _notify(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback()
            except Exception:  # one run's broken callback must not break another's release
                logger.exception("limits subscriber %r failed", callback)


def _concurrency(tag: str, count: int | None) -> int | None:
    _check_tag(tag)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise OptionError(
            "tags", count, f"tag {tag!r}: a concurrency limit is a whole number >= 1 (None: none)"
        )
    return count


def _rate(tag: str, rate: str | Rate | None) -> Rate | None:
    _check_tag(tag)
    if rate is None:
        return None
    try:
        return Rate.parse(rate)
    except OptionError as error:
        raise OptionError("rates", rate, f"tag {tag!r}: {error.reason}") from None


def _check_tag(tag: str) -> None:
    if not isinstance(tag, str) or not tag:
        raise OptionError("tags", tag, "a tag is a non-empty string")


LIMITS = Limits()
"""The process's shared limits (``podium.limits``)."""


def limits(
    *,
    tags: Mapping[str, int | None] | None = None,
    rates: Mapping[str, str | Rate | None] | None = None,
) -> Limits:
    """Configure the process's shared limits (see ``Limits.configure``) and return them.
    Raises OptionError on an invalid value, changing nothing."""
    LIMITS.configure(tags=tags, rates=rates)
    return LIMITS
