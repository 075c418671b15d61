"""Task policies: validation of every option, the backoff schedule, and the retry decision.

Pure: nothing here runs a workflow. The engine asks ``should_retry`` after a failed attempt
and, when the answer is yes and no ``Retry(after=...)`` overrides it, waits ``retry_delay``.
"""

from __future__ import annotations

import pickle
import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium import (
    Fail,
    OptionError,
    PodiumError,
    Policy,
    Retry,
    TaskFailure,
    TimedOut,
    shell,
    task,
    workflow,
)
from podium.errors import TaskControl
from podium.model.policy import POLICY_OPTIONS, make_policy, retry_delay, should_retry


@task
def train(data: Any) -> str:
    return f"model-{data}"


@task
async def fetch(url: str) -> str:
    return url


# -- defaults and accepted forms -----------------------------------------------------------


def test_the_default_policy_runs_once_without_timeout_at_priority_zero() -> None:
    policy = Policy()

    assert policy == make_policy() == Policy.create()
    assert (policy.retries, policy.timeout, policy.priority) == (0, None, 0)
    assert (policy.retry_delay, policy.backoff, policy.max_delay, policy.jitter) == (
        1.0,
        2.0,
        None,
        0.0,
    )
    assert policy.retry_on == (Exception,)


def test_durations_are_seconds_and_timedeltas_are_accepted() -> None:
    policy = make_policy(
        retry_delay=timedelta(milliseconds=500),
        max_delay=timedelta(minutes=1),
        timeout=timedelta(hours=1),
    )

    assert (policy.retry_delay, policy.max_delay, policy.timeout) == (0.5, 60.0, 3600.0)
    assert make_policy(retry_delay=2, timeout=1).retry_delay == 2.0
    assert isinstance(make_policy(retry_delay=2).retry_delay, float)


def test_retry_on_takes_one_class_or_any_iterable_of_classes() -> None:
    assert make_policy(retry_on=ValueError).retry_on == (ValueError,)
    assert make_policy(retry_on=[ValueError, OSError]).retry_on == (ValueError, OSError)
    assert make_policy(retry_on=iter({KeyError})).retry_on == (KeyError,)
    assert make_policy(retry_on=(OSError, OSError)).retry_on == (OSError,)


def test_a_policy_is_a_hashable_value() -> None:
    assert hash(make_policy(retries=2)) == hash(make_policy(retries=2))
    with pytest.raises(AttributeError):
        Policy().retries = 3  # type: ignore[misc]


# -- every option is validated, and the error names it -------------------------------------


INVALID = [
    ("retries", -1, "must be a non-negative integer"),
    ("retries", True, "must be a non-negative integer"),
    ("retries", 1.0, "must be a non-negative integer"),
    ("retries", "3", "must be a non-negative integer"),
    ("retry_delay", -0.1, "non-negative number of seconds"),
    ("retry_delay", timedelta(seconds=-1), "non-negative number of seconds"),
    ("retry_delay", float("nan"), "non-negative number of seconds"),
    ("retry_delay", "1s", "non-negative number of seconds"),
    ("retry_delay", False, "non-negative number of seconds"),
    ("backoff", 0.5, "must be a number >= 1"),
    ("backoff", float("inf"), "must be a number >= 1"),
    ("backoff", None, "must be a number >= 1"),
    ("max_delay", -1, "non-negative number of seconds"),
    ("max_delay", 0.5, "must be at least retry_delay"),
    ("jitter", 1.5, "fraction from 0 to 1"),
    ("jitter", -0.1, "fraction from 0 to 1"),
    ("jitter", True, "fraction from 0 to 1"),
    ("retry_on", "ValueError", "exception class"),
    ("retry_on", (), "at least one exception class"),
    ("retry_on", [ValueError, "OSError"], "'OSError' is not one"),
    ("retry_on", int, "int"),
    ("retry_on", ValueError("x"), "exception class"),
    ("timeout", 0, "positive number of seconds"),
    ("timeout", -5, "positive number of seconds"),
    ("timeout", timedelta(0), "positive number of seconds"),
    ("timeout", float("inf"), "positive number of seconds"),
    ("priority", 1.5, "must be an integer"),
    ("priority", True, "must be an integer"),
]


@pytest.mark.parametrize(
    ("option", "value", "reason"), INVALID, ids=[f"{o}={v!r}" for o, v, _ in INVALID]
)
def test_an_invalid_option_is_refused_naming_it(option: str, value: Any, reason: str) -> None:
    with pytest.raises(OptionError, match=reason) as raised:
        make_policy(**{option: value})

    assert raised.value.option == option
    assert raised.value.value is value
    assert repr(option) in str(raised.value)


def test_negative_retries_give_the_documented_error() -> None:
    with pytest.raises(OptionError) as raised:
        make_policy(retries=-1)

    error = raised.value
    assert (error.option, error.value, error.reason) == (
        "retries",
        -1,
        "must be a non-negative integer",
    )


def test_an_unknown_option_is_refused_naming_it() -> None:
    with pytest.raises(OptionError, match="not a task option") as raised:
        make_policy(retry=3)

    assert raised.value.option == "retry"
    assert "retries" in str(raised.value)


def test_constructing_a_policy_directly_validates_too() -> None:
    with pytest.raises(OptionError, match="'jitter'"):
        Policy(jitter=2.0)


def test_valid_edges_are_accepted() -> None:
    policy = make_policy(
        retries=0, retry_delay=0, backoff=1, max_delay=0, jitter=1, priority=-10, timeout=0.001
    )

    assert (policy.backoff, policy.jitter, policy.priority) == (1.0, 1.0, -10)
    assert make_policy(retry_on=BaseException).retry_on == (BaseException,)


# -- merged copies ---------------------------------------------------------------------------


def test_merged_changes_some_options_and_keeps_the_others() -> None:
    policy = make_policy(retries=2, timeout=10, priority=1)

    changed = policy.merged(retries=5)

    assert (changed.retries, changed.timeout, changed.priority) == (5, 10.0, 1)
    assert policy.retries == 2


def test_merged_validates_like_make_policy() -> None:
    with pytest.raises(OptionError) as raised:
        Policy().merged(timeout=0)
    assert raised.value.option == "timeout"

    with pytest.raises(OptionError, match="not a task option"):
        Policy().merged(tags=["x"])

    with pytest.raises(OptionError, match="at least retry_delay"):
        make_policy(max_delay=5).merged(retry_delay=10)


def test_options_round_trip_through_make_policy() -> None:
    policy = make_policy(retries=3, retry_on=[KeyError], jitter=0.25)

    assert make_policy(**policy.options()) == policy
    assert tuple(policy.options()) == POLICY_OPTIONS


# -- the backoff schedule --------------------------------------------------------------------


def _never_called() -> float:
    raise AssertionError("random() is used only when jitter > 0")


def delays(policy: Policy, attempts: int, draw: Any = _never_called) -> list[float]:
    return [retry_delay(policy, attempt, draw) for attempt in range(1, attempts + 1)]


def test_the_delay_doubles_after_each_failed_attempt() -> None:
    assert delays(make_policy(retry_delay=1, backoff=2), 4) == [1.0, 2.0, 4.0, 8.0]


def test_a_backoff_of_one_keeps_the_delay_constant() -> None:
    assert delays(make_policy(retry_delay=3, backoff=1), 3) == [3.0, 3.0, 3.0]


def test_max_delay_caps_the_growth() -> None:
    policy = make_policy(retry_delay=1, backoff=3, max_delay=10)

    assert delays(policy, 5) == [1.0, 3.0, 9.0, 10.0, 10.0]


def test_a_zero_delay_stays_zero() -> None:
    assert delays(make_policy(retry_delay=0, jitter=0.5), 3) == [0.0, 0.0, 0.0]


def test_a_huge_attempt_number_does_not_overflow() -> None:
    assert retry_delay(make_policy(max_delay=60), 100_000, _never_called) == 60.0
    assert retry_delay(make_policy(), 100_000, _never_called) == float("inf")


def test_jitter_is_deterministic_for_a_seeded_random() -> None:
    policy = make_policy(retry_delay=1, backoff=2, jitter=0.5)

    first = delays(policy, 5, random.Random(7).random)
    again = delays(policy, 5, random.Random(7).random)

    assert first == again
    assert first != [1.0, 2.0, 4.0, 8.0, 16.0]
    assert all(
        0.5 * base <= value <= 1.5 * base
        for value, base in zip(first, [1, 2, 4, 8, 16], strict=True)
    )


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        retry_delay(Policy(), 0, _never_called)


@given(
    delay=st.floats(min_value=0, max_value=1e6),
    backoff=st.floats(min_value=1, max_value=10),
    jitter=st.floats(min_value=0, max_value=1),
    attempt=st.integers(min_value=1, max_value=50),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
    cap=st.none() | st.floats(min_value=0, max_value=1e7),
)
def test_a_jittered_delay_stays_within_its_bounds(
    delay: float, backoff: float, jitter: float, attempt: int, draw: float, cap: float | None
) -> None:
    max_delay = None if cap is None else delay + cap
    policy = make_policy(retry_delay=delay, backoff=backoff, jitter=jitter, max_delay=max_delay)
    base = delay * backoff ** (attempt - 1)
    if max_delay is not None:
        base = min(base, max_delay)

    value = retry_delay(policy, attempt, lambda: draw)

    assert value >= 0
    assert base * (1 - jitter) * (1 - 1e-9) <= value <= base * (1 + jitter) * (1 + 1e-9)


# -- the retry decision ------------------------------------------------------------------------


class TransientError(ConnectionError):
    pass


SHOULD_RETRY = [
    # (policy options, error, failed attempt, expected)
    ({}, ValueError("x"), 1, (False, None)),  # no retries by default
    ({"retries": 2}, ValueError("x"), 1, (True, None)),
    ({"retries": 2}, ValueError("x"), 2, (True, None)),
    ({"retries": 2}, ValueError("x"), 3, (False, None)),  # attempts exhausted
    ({"retries": 2, "retry_on": OSError}, TransientError("x"), 1, (True, None)),  # subclass
    ({"retries": 2, "retry_on": OSError}, ValueError("x"), 1, (False, None)),
    ({"retries": 2, "retry_on": [KeyError, OSError]}, KeyError("x"), 1, (True, None)),
    ({"retries": 2}, KeyboardInterrupt(), 1, (False, None)),  # not an Exception
    ({"retries": 2, "retry_on": BaseException}, KeyboardInterrupt(), 1, (True, None)),
    ({"retries": 2}, TimedOut(5), 1, (True, None)),
    ({"retries": 2, "retry_on": OSError}, TimedOut(5), 1, (False, None)),
    ({"retries": 2, "retry_on": TimedOut}, TimedOut(5), 1, (True, None)),
    ({"retries": 5}, Fail("bad input"), 1, (False, None)),  # Fail never retries
    ({"retries": 5, "retry_on": Fail}, Fail("bad input"), 1, (False, None)),
    ({"retries": 2, "retry_on": OSError}, Retry(), 1, (True, None)),  # Retry ignores retry_on
    ({"retries": 2}, Retry(after=30), 2, (True, 30.0)),  # after overrides the delay
    ({"retries": 2}, Retry(after=timedelta(minutes=1)), 1, (True, 60.0)),
    ({"retries": 2}, Retry(after=30), 3, (False, None)),  # even Retry runs out
    ({}, Retry(), 1, (False, None)),
    ({"retries": 1}, None, 1, (True, None)),  # error lost in a worker: Exception covers it
    ({"retries": 1, "retry_on": BaseException}, None, 1, (True, None)),
    ({"retries": 1, "retry_on": OSError}, None, 1, (False, None)),
    ({"retries": 1}, None, 2, (False, None)),
]


@pytest.mark.parametrize(
    ("options", "error", "attempt", "expected"),
    SHOULD_RETRY,
    ids=[f"{opts}-{error!r}-attempt{attempt}" for opts, error, attempt, _ in SHOULD_RETRY],
)
def test_should_retry(
    options: dict[str, Any],
    error: BaseException | None,
    attempt: int,
    expected: tuple[bool, float | None],
) -> None:
    assert should_retry(make_policy(**options), error, attempt) == expected


# -- the task control errors -------------------------------------------------------------------


def test_retry_and_fail_are_task_control_not_failures() -> None:
    assert issubclass(Retry, TaskControl) and issubclass(Fail, TaskControl)
    assert issubclass(TaskControl, PodiumError) and not issubclass(TaskControl, TaskFailure)
    assert issubclass(TimedOut, TaskFailure)


def test_retry_after_is_seconds_or_none() -> None:
    assert Retry().after is None
    assert str(Retry()) == "retry requested"
    assert Retry("rate limited", after=2).after == 2.0
    assert Retry(after=timedelta(seconds=1.5)).after == 1.5
    with pytest.raises(OptionError, match="'after'"):
        Retry(after=-1)
    with pytest.raises(OptionError, match="'after'"):
        Retry(after="soon")  # type: ignore[arg-type]


def test_timed_out_says_how_long() -> None:
    assert str(TimedOut(5)) == "timed out after 5s"
    assert str(TimedOut(0.25)) == "timed out after 0.25s"
    assert TimedOut(5).seconds == 5


@pytest.mark.parametrize(
    "error",
    [Retry(), Retry("rate limited", after=2.5), Fail("bad input"), TimedOut(1.5)],
    ids=repr,
)
def test_control_errors_survive_pickling_with_their_fields(error: PodiumError) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_a_pickled_retry_keeps_after() -> None:
    copy = pickle.loads(pickle.dumps(Retry("later", after=timedelta(seconds=3))))

    assert (copy.message, copy.after) == ("later", 3.0)


# -- policies on tasks -------------------------------------------------------------------------


def test_task_options_make_its_policy() -> None:
    @task(retries=2, timeout=5)
    def flaky() -> None: ...

    assert flaky.policy == make_policy(retries=2, timeout=5)
    assert flaky.policy.timeout == 5.0


def test_a_plain_task_has_the_default_policy() -> None:
    assert train.policy == Policy()
    assert fetch.policy == Policy()


def test_invalid_task_options_are_refused_at_decoration_time() -> None:
    with pytest.raises(OptionError) as raised:

        @task(retries=-1)
        def flaky() -> None: ...

    assert raised.value.option == "retries"

    with pytest.raises(OptionError, match="'retry_on'"):
        task(retry_on="ValueError")  # type: ignore[arg-type]


def test_with_options_copies_the_task_with_some_options_changed() -> None:
    tagged = task(tags=["gpu"], isolation="process", timeout=60)(train.fn)

    copy = tagged.with_options(retries=3, priority=5)

    assert copy is not tagged
    assert copy.fn is tagged.fn
    assert (copy.name, copy.tags, copy.isolation) == ("train", ("gpu",), "process")
    assert copy.policy == make_policy(retries=3, priority=5, timeout=60)
    assert tagged.policy == make_policy(timeout=60)


def test_with_options_can_rename_retag_and_keeps_coroutines_async() -> None:
    copy = train.with_options(name="fit", tags=["cpu"], isolation="process")
    assert (copy.name, copy.tags, copy.isolation) == ("fit", ("cpu",), "process")
    assert fetch.with_options(retries=1).isolation == "async"


def test_with_options_validates_and_names_the_option() -> None:
    with pytest.raises(OptionError) as raised:
        train.with_options(jitter=1.5)
    assert raised.value.option == "jitter"

    with pytest.raises(OptionError, match="not a task option") as unknown:
        train.with_options(retires=3)
    assert unknown.value.option == "retires"


def test_copies_made_by_with_options_are_named_after_the_task_in_a_workflow() -> None:
    @workflow
    def pipeline() -> Any:
        return [train.with_options(retries=3)(1), train.with_options(retries=3)(2)]

    graph = pipeline.build()

    assert list(graph.nodes) == ["train[0]", "train[1]"]
    assert all(node.task is not None for node in graph)
    assert [node.task.policy.retries for node in graph if node.task] == [3, 3]


def test_a_shell_task_carries_its_policy_into_the_graph() -> None:
    @workflow
    def pipeline() -> Any:
        return shell("true", retries=1, timeout=timedelta(seconds=30), priority=2)

    (node,) = pipeline.build()

    assert node.task is not None
    assert node.task.policy == make_policy(retries=1, timeout=30, priority=2)
    assert node.kwargs == {}  # policy options are not template fields


def test_a_plain_shell_task_has_the_default_policy() -> None:
    @workflow
    def pipeline() -> Any:
        return shell("echo {word}", word="hi")

    (node,) = pipeline.build()

    assert node.task is not None and node.task.policy == Policy()
    assert node.kwargs == {"word": "hi"}


def test_an_invalid_shell_option_is_refused_naming_it() -> None:
    with pytest.raises(OptionError) as raised:
        shell("true", timeout=0)

    assert raised.value.option == "timeout"
