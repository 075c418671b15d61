"""The ready queue: by priority, then expected remaining path (weight), then age; a lane per
admission shape, a refused shape skipped for the rest of a pass."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from podium.engine.ready import ReadyQueue


def take_all(queue: ReadyQueue, refuse: frozenset[str] = frozenset()) -> list[str]:
    return list(queue.take(lambda name: name not in refuse))


def test_higher_priority_then_heavier_then_older_goes_first() -> None:
    queue = ReadyQueue()
    queue.push("old", "thread")
    queue.push("heavy", "thread", weight=5.0)
    queue.push("urgent", "thread", priority=1)
    queue.push("young", "thread")
    queue.push("urgent-light", "thread", priority=1, weight=-1.0)
    assert take_all(queue) == ["urgent", "urgent-light", "heavy", "old", "young"]
    assert len(queue) == 0


def test_a_refused_task_blocks_only_its_own_shape_for_the_pass() -> None:
    queue = ReadyQueue()
    queue.push("big", "cpu=4")
    queue.push("big-2", "cpu=4")
    queue.push("small", "thread")
    assert take_all(queue, refuse=frozenset({"big"})) == ["small"]
    assert len(queue) == 2
    assert take_all(queue) == ["big", "big-2"]


def test_discard_and_clear() -> None:
    queue = ReadyQueue()
    for name in ("a", "b", "c"):
        queue.push(name, "thread", weight=1.0 if name == "b" else 0.0)
    queue.discard("b")
    queue.discard("missing")
    assert len(queue) == 2
    assert take_all(queue) == ["a", "c"]
    queue.push("d", "process")
    assert queue.clear() == ["d"]
    assert take_all(queue) == []


entries = st.lists(
    st.tuples(st.integers(-2, 2), st.sampled_from([0.0, 1.0, 2.5]), st.sampled_from("xyz")),
    max_size=60,
)


@given(entries, st.data())
def test_takes_in_the_order_of_a_sort_by_priority_weight_and_age(
    pushed: list[tuple[int, float, str]], data: st.DataObject
) -> None:
    """Against the obvious reference: sort by (-priority, -weight, push order); pushes and
    takes interleaved."""
    queue = ReadyQueue()
    waiting: list[tuple[int, float, int, str]] = []
    taken: list[str] = []
    expected: list[str] = []
    for index, (priority, weight, shape) in enumerate(pushed):
        name = f"t{index}"
        queue.push(name, shape, priority, weight)
        waiting.append((-priority, -weight, index, name))
        if data.draw(st.booleans()):
            waiting.sort()
            expected.append(waiting.pop(0)[3])
            taken.extend(queue.take(lambda _name: len(taken) < len(expected)))
    expected.extend(entry[3] for entry in sorted(waiting))
    taken.extend(take_all(queue))
    assert taken == expected
