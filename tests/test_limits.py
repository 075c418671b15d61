"""Process-wide limits: how many attempts of a tag run at once, and how often a tag may start.

A rate is a token bucket that starts full and refills continuously; a concurrency limit is
a count of units given back on release. A task carrying several limited tags takes all it
needs or nothing. Time is a fake clock throughout.
"""

from __future__ import annotations

import math
import threading

import pytest

from podium.engine import limits as limits_module
from podium.engine.limits import LIMITS, Limits, Rate, limits
from podium.errors import OptionError


class Clock:
    """A fake monotonic clock: time moves only when a test moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def shared(clock: Clock) -> Limits:
    """Limits on the fake clock."""
    return Limits(clock)


# -- rates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "per_seconds"),
    [
        ("60/min", 60, 60.0),
        ("10/s", 10, 1.0),
        ("5/sec", 5, 1.0),
        ("1000/hour", 1000, 3600.0),
        ("100/day", 100, 86400.0),
        ("2/0.5s", 2, 0.5),
        ("30/5min", 30, 300.0),
        (" 3 / minute ", 3, 60.0),
        ("1/2h", 1, 7200.0),
        ("7/S", 7, 1.0),
    ],
)
def test_a_rate_is_a_count_per_period(text: str, count: int, per_seconds: float) -> None:
    assert Rate.parse(text) == Rate(count, per_seconds)


@pytest.mark.parametrize(
    "text", ["", "60", "60/", "/min", "0/min", "-1/s", "1.5/s", "60/fortnight", "1/0s", "1/-2s"]
)
def test_a_malformed_rate_is_refused_naming_it(text: str) -> None:
    with pytest.raises(OptionError) as refused:
        Rate.parse(text)
    assert refused.value.value == text
    assert repr(text) in str(refused.value)


def test_a_rate_that_is_not_text_is_refused() -> None:
    with pytest.raises(OptionError, match="COUNT/UNIT"):
        Rate.parse(60)  # type: ignore[arg-type]


def test_a_rate_passes_through_parse_unchanged() -> None:
    rate = Rate(3, 1.0)
    assert Rate.parse(rate) is rate


@pytest.mark.parametrize(("count", "per_seconds"), [(0, 1.0), (1, 0.0), (1, math.inf), (True, 1)])
def test_an_impossible_rate_is_refused(count: int, per_seconds: float) -> None:
    with pytest.raises(OptionError):
        Rate(count, per_seconds)


@pytest.mark.parametrize(
    ("text", "shown"), [("60/min", "60/min"), ("5/sec", "5/s"), ("2/0.5s", "2/0.5s")]
)
def test_a_rate_shows_as_count_per_unit(text: str, shown: str) -> None:
    assert str(Rate.parse(text)) == shown


# -- token buckets ------------------------------------------------------------------------------


def test_a_rate_allows_a_burst_then_one_start_per_interval(clock: Clock, shared: Limits) -> None:
    shared.configure(rates={"openai": "3/s"})
    assert [shared.try_acquire(["openai"]) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert shared.try_acquire(["openai"]) == pytest.approx(1 / 3)
    clock.now += 0.2
    assert shared.try_acquire(["openai"]) == pytest.approx(1 / 3 - 0.2)
    clock.now = 1 / 3
    assert shared.try_acquire(["openai"]) == 0.0
    assert shared.try_acquire(["openai"]) == pytest.approx(1 / 3)


def test_a_bucket_refills_continuously_up_to_its_count(clock: Clock, shared: Limits) -> None:
    shared.configure(rates={"openai": "10/s"})
    for _ in range(10):
        assert shared.try_acquire(["openai"]) == 0.0
    clock.now = 0.25  # 2.5 tokens back
    assert [shared.try_acquire(["openai"]) for _ in range(3)] == [0.0, 0.0, pytest.approx(0.05)]
    clock.now = 3600.0  # idle for an hour: still only 10
    assert sum(shared.try_acquire(["openai"]) == 0.0 for _ in range(20)) == 10


def test_tokens_are_spent_not_given_back(clock: Clock, shared: Limits) -> None:
    shared.configure(rates={"openai": "1/min"})
    assert shared.try_acquire(["openai"]) == 0.0
    shared.release(["openai"])
    assert shared.try_acquire(["openai"]) == pytest.approx(60.0)


def test_a_changed_rate_keeps_its_tokens_up_to_the_new_count(clock: Clock, shared: Limits) -> None:
    shared.configure(rates={"openai": "10/min"})
    assert shared.try_acquire(["openai"]) == 0.0
    shared.configure(rates={"openai": "3/min"})
    assert [shared.try_acquire(["openai"]) for _ in range(4)] == [0.0, 0.0, 0.0, 20.0]


# -- concurrency -------------------------------------------------------------------------------


def test_a_concurrency_limit_blocks_until_a_release(shared: Limits) -> None:
    shared.configure(tags={"gpu-train": 2})
    assert shared.try_acquire(["gpu-train"]) == 0.0
    assert shared.try_acquire(["gpu-train", "other"]) == 0.0
    assert shared.try_acquire(["gpu-train"]) == math.inf
    shared.release(["gpu-train"])
    assert shared.try_acquire(["gpu-train"]) == 0.0


def test_several_tags_are_taken_all_or_nothing(clock: Clock, shared: Limits) -> None:
    shared.configure(tags={"a": 1, "b": 1}, rates={"r": "1/min"})
    assert shared.try_acquire(["a"]) == 0.0
    assert shared.try_acquire(["a", "b", "r"]) == math.inf
    assert shared.try_acquire(["b", "r"]) == 0.0  # neither b nor r's token was taken above
    shared.release(["a", "b"])
    assert shared.try_acquire(["a", "r"]) == pytest.approx(60.0)
    assert shared.try_acquire(["a"]) == 0.0  # waiting for r's token took no unit of a


def test_a_tag_listed_twice_counts_once(shared: Limits) -> None:
    shared.configure(tags={"a": 1}, rates={"r": "1/min"})
    assert shared.try_acquire(["a", "a", "r", "r"]) == 0.0
    shared.release(["a", "a"])
    assert shared.try_acquire(["a"]) == 0.0


def test_unlimited_tags_are_always_acquired(shared: Limits) -> None:
    assert not shared.limited(["x", "y"])
    assert all(shared.try_acquire(["x", "y"]) == 0.0 for _ in range(100))
    shared.configure(tags={"y": 1})
    assert shared.limited(["x", "y"])
    assert not shared.limited(["x"])
    assert not shared.limited([])


def test_configure_merges_and_none_removes_a_limit(shared: Limits) -> None:
    shared.configure(tags={"a": 1}, rates={"r": "60/min"})
    shared.configure(tags={"b": 2})
    assert set(shared.describe()) == {"a", "b", "r"}
    shared.configure(tags={"a": None}, rates={"r": None})
    assert set(shared.describe()) == {"b"}
    assert not shared.limited(["a", "r"])


@pytest.mark.parametrize(
    ("tags", "rates", "says"),
    [
        ({"a": 1, "b": 0}, None, "tag 'b': a concurrency limit is a whole number >= 1"),
        ({"a": 1, "b": 1.5}, None, "tag 'b'"),
        ({"a": 1, "b": True}, None, "tag 'b'"),
        ({"a": 1, "": 1}, None, "a tag is a non-empty string"),
        ({"a": 1}, {"r": "60/fortnight"}, "tag 'r': must be COUNT/UNIT"),
    ],
)
def test_an_invalid_limit_is_refused_and_changes_nothing(
    shared: Limits, tags: dict[str, int], rates: dict[str, str] | None, says: str
) -> None:
    with pytest.raises(OptionError, match=says):
        shared.configure(tags=tags, rates=rates)
    assert shared.describe() == {}


# -- display and subscribers -------------------------------------------------------------------


def test_limits_describe_themselves_for_display(clock: Clock, shared: Limits) -> None:
    shared.configure(tags={"gpu-train": 1, "openai": 4}, rates={"openai": "60/min"})
    assert shared.try_acquire(["gpu-train"]) == 0.0
    for _ in range(18):
        assert shared.try_acquire(["openai"]) == 0.0
        shared.release(["openai"])
    assert shared.describe() == {
        "gpu-train": "1 at a time (1 in use)",
        "openai": "4 at a time (0 in use); 60/min (42 tokens)",
    }


def test_a_release_calls_every_subscriber_outside_the_lock(shared: Limits) -> None:
    shared.configure(tags={"a": 1})
    calls: list[str] = []

    def first() -> None:
        calls.append(f"first: {shared.describe()['a']}")  # would deadlock inside the lock

    def second() -> None:
        calls.append("second")

    shared.subscribe(first)
    shared.subscribe(second)
    assert shared.try_acquire(["a"]) == 0.0
    shared.release(["a"])
    assert calls == ["first: 1 at a time (0 in use)", "second"]
    shared.unsubscribe(first)
    shared.unsubscribe(first)  # not subscribed any more: nothing happens
    shared.release(["a"])
    assert calls[2:] == ["second"]


def test_reconfiguring_calls_subscribers(shared: Limits) -> None:
    calls: list[bool] = []
    shared.subscribe(lambda: calls.append(True))
    shared.configure(tags={"a": 2})
    assert calls == [True]


def test_a_failing_subscriber_is_logged_and_others_still_called(
    shared: Limits, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    shared.subscribe(broken)
    shared.subscribe(lambda: calls.append("called"))
    shared.release(["a"])
    assert calls == ["called"]
    assert "limits subscriber" in caplog.text


# -- threads -------------------------------------------------------------------------------------


def test_concurrency_holds_across_threads(shared: Limits) -> None:
    shared.configure(tags={"t": 2})
    inside = 0
    most = 0
    count = threading.Lock()

    def worker() -> None:
        nonlocal inside, most
        for _ in range(2000):
            if shared.try_acquire(["t"]) == 0.0:
                with count:
                    inside += 1
                    most = max(most, inside)
                with count:
                    inside -= 1
                shared.release(["t"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= most <= 2
    assert shared.describe() == {"t": "2 at a time (0 in use)"}


def test_a_rate_hands_out_exactly_its_tokens_across_threads(shared: Limits) -> None:
    shared.configure(rates={"openai": "50/min"})  # the fake clock stands still: 50 tokens
    granted = []

    def worker() -> None:
        granted.append(sum(shared.try_acquire(["openai"]) == 0.0 for _ in range(20)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 50


# -- the process's shared limits -----------------------------------------------------------------


def test_limits_configures_the_process_wide_instance() -> None:
    try:
        assert limits(tags={"test-limits": 1}) is LIMITS is limits_module.LIMITS
        assert LIMITS.describe()["test-limits"] == "1 at a time (0 in use)"
    finally:
        limits(tags={"test-limits": None})
    assert "test-limits" not in LIMITS.describe()


def test_an_attempt_gives_back_only_the_limit_units_it_took() -> None:
    """A limit set while attempts run applies to those that start afterwards; an attempt
    that started before it gives nothing back to it."""
    from types import SimpleNamespace

    from podium.engine.admission import Admission
    from podium.engine.resources import Capacity

    shared = Limits(clock=Clock())
    gate = Admission(Capacity(slots=4, amounts={"cpu": 2}), shared, clock=lambda: 0.0)
    task = SimpleNamespace(tags=("db",), isolation="thread", resources={})
    before = gate.try_admit("a", task, 0.0)
    assert before is not None and before.limited_tags == ()
    shared.configure(tags={"db": 1})
    after = gate.try_admit("b", task, 0.0)
    assert after is not None and after.limited_tags == ("db",)
    gate.release(before)
    assert gate.try_admit("c", task, 0.0) is None  # b still holds the only unit
    gate.release(after)
    assert gate.try_admit("c", task, 0.0) is not None
