"""Critical-path arithmetic: history keys, expected durations, remaining paths, the heaviest
chain, the ETA of a run under way, and the chain that decided when a finished run ended.

Graphs are written as ``{name: [dependency names]}`` and turned into ``downstream`` by the
model's own ``Graph.dependents()``, as the engine does:

    DIAMOND              top -> (left, right) -> bottom
    CHAIN_BESIDE_FAN     chain[0] -> chain[1] -> chain[2], beside
                         spread -> branch[0..3] -> collect
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium.engine.critical import (
    actual_critical_path,
    critical_path,
    critical_weights,
    eta_seconds,
    expected_durations,
    history_key,
    remaining_paths,
)
from podium.errors import CycleError
from podium.model.graph import Graph, Node

Spec = dict[str, list[str]]

DIAMOND: Spec = {"top": [], "left": ["top"], "right": ["top"], "bottom": ["left", "right"]}
DIAMOND_SECONDS = {"top": 1.0, "left": 2.0, "right": 5.0, "bottom": 1.0}

BRANCHES = [f"branch[{i}]" for i in range(4)]
CHAIN_BESIDE_FAN: Spec = {
    "spread": [],
    **{name: ["spread"] for name in BRANCHES},
    "collect": list(BRANCHES),
    "chain[0]": [],
    "chain[1]": ["chain[0]"],
    "chain[2]": ["chain[1]"],
}
CHAIN_BESIDE_FAN_SECONDS = {
    "spread": 1.0,
    **dict.fromkeys(BRANCHES, 1.0),
    "collect": 1.0,
    **dict.fromkeys(["chain[0]", "chain[1]", "chain[2]"], 2.0),
}


def downstream_of(spec: Spec) -> dict[str, list[str]]:
    """``spec`` as the engine sees it: every node mapped to the nodes that depend on it."""
    graph = Graph(workflow="critical")
    for name, deps in spec.items():
        graph.add(Node(task=None, name=name, deps=list(deps)))
    return graph.dependents()


# -- history keys and expected durations --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("train", "train"),
        ("train[3]", "train"),
        ("score[0][2]", "score"),
        ("increment[10]", "increment"),
        ("fetch_page[12][0][7]", "fetch_page"),
        ("odd[x]", "odd[x]"),  # not an index: kept
        ("mid[1]dle", "mid[1]dle"),  # indexes only count at the end
    ],
)
def test_history_key_drops_trailing_map_indexes(name: str, key: str) -> None:
    assert history_key(name) == key


def test_expected_durations_come_from_the_history_of_each_key() -> None:
    history = {"load": 3.0, "train": 40.0}
    names = ["load", "train[0]", "train[1]"]
    assert expected_durations(names, history) == {"load": 3.0, "train[0]": 40.0, "train[1]": 40.0}


def test_unknown_tasks_count_as_the_median_of_the_known_keys_among_the_names() -> None:
    # train appears twice but is one key; score has a history but is not in this graph
    history = {"load": 1.0, "train": 4.0, "score": 100.0}
    names = ["load", "train[0]", "train[1]", "report", "publish[0]"]
    durations = expected_durations(names, history)
    assert durations["report"] == durations["publish[0]"] == 2.5
    assert durations["train[1]"] == 4.0


def test_every_task_counts_one_second_when_nothing_is_known() -> None:
    assert expected_durations(["a", "b[0]", "b[1]"], {"other": 9.0}) == {
        "a": 1.0,
        "b[0]": 1.0,
        "b[1]": 1.0,
    }
    assert expected_durations([], {"other": 9.0}) == {}


# -- remaining paths and the critical path ------------------------------------------------------


def test_remaining_paths_on_the_diamond() -> None:
    remaining = remaining_paths(downstream_of(DIAMOND), DIAMOND_SECONDS)
    assert remaining == {"top": 7.0, "left": 3.0, "right": 6.0, "bottom": 1.0}


def test_remaining_paths_on_a_chain_beside_a_fan() -> None:
    remaining = remaining_paths(downstream_of(CHAIN_BESIDE_FAN), CHAIN_BESIDE_FAN_SECONDS)
    assert remaining["chain[0]"] == 6.0
    assert remaining["chain[2]"] == 2.0
    assert remaining["spread"] == 3.0
    assert all(remaining[name] == 2.0 for name in BRANCHES)
    assert remaining["collect"] == 1.0


def test_without_history_the_remaining_path_counts_the_tasks_left() -> None:
    durations = expected_durations(CHAIN_BESIDE_FAN, {})
    remaining = remaining_paths(downstream_of(CHAIN_BESIDE_FAN), durations)
    assert remaining["spread"] == remaining["chain[0]"] == 3.0
    assert remaining["chain[1]"] == remaining["branch[0]"] == 2.0


def test_the_critical_path_follows_the_slow_chain() -> None:
    downstream = downstream_of(CHAIN_BESIDE_FAN)
    assert critical_path(downstream, CHAIN_BESIDE_FAN_SECONDS) == [
        "chain[0]",
        "chain[1]",
        "chain[2]",
    ]
    assert critical_path(downstream_of(DIAMOND), DIAMOND_SECONDS) == ["top", "right", "bottom"]


def test_critical_path_ties_go_to_the_first_in_mapping_order() -> None:
    downstream = downstream_of(CHAIN_BESIDE_FAN)
    ones = dict.fromkeys(downstream, 1.0)
    assert critical_path(downstream, ones) == ["spread", "branch[0]", "collect"]


def test_critical_path_from_given_roots() -> None:
    downstream = downstream_of(CHAIN_BESIDE_FAN)
    path = critical_path(downstream, CHAIN_BESIDE_FAN_SECONDS, roots=["spread"])
    assert path == ["spread", "branch[0]", "collect"]
    assert critical_path(downstream, CHAIN_BESIDE_FAN_SECONDS, roots=[]) == []
    assert critical_path({}, {}) == []


def test_a_cycle_or_an_unknown_dependent_is_refused() -> None:
    ring = {"alpha": ["beta"], "beta": ["gamma"], "gamma": ["alpha"]}
    with pytest.raises(CycleError) as caught:
        remaining_paths(ring, dict.fromkeys(ring, 1.0))
    assert caught.value.cycle == ["alpha", "beta", "gamma", "alpha"]
    with pytest.raises(KeyError, match="ghost"):
        remaining_paths({"alpha": ["ghost"]}, {"alpha": 1.0})


def test_long_chains_need_no_recursion() -> None:
    size = 20_000
    names = [f"step[{i}]" for i in range(size)]
    downstream = {name: names[i + 1 : i + 2] for i, name in enumerate(names)}
    durations = dict.fromkeys(names, 1.0)
    assert remaining_paths(downstream, durations)[names[0]] == size
    assert critical_path(downstream, durations) == names
    spans = {name: (float(i), float(i + 1)) for i, name in enumerate(names)}
    assert actual_critical_path(downstream, spans) == names


# -- the ETA of a run under way -----------------------------------------------------------------


def test_eta_counts_what_is_left_of_running_nodes_and_nothing_for_finished_ones() -> None:
    downstream = downstream_of(CHAIN_BESIDE_FAN)
    now = 11.5  # a fake clock: chain[0] started 1.5 s ago, branch[1] 0.5 s ago
    finished = {"spread", "branch[0]"}
    running = {"chain[0]": 10.0, "branch[1]": 11.0}
    eta = eta_seconds(downstream, CHAIN_BESIDE_FAN_SECONDS, finished, running, now)
    assert eta == 0.5 + 2.0 + 2.0  # the chain; the fan needs 2.0 (branch[2], then collect)


def test_eta_once_the_slow_chain_is_done_is_the_fan() -> None:
    downstream = downstream_of(CHAIN_BESIDE_FAN)
    finished = {"spread", "chain[0]", "chain[1]", "chain[2]"}
    eta = eta_seconds(downstream, CHAIN_BESIDE_FAN_SECONDS, finished, {}, now=0.0)
    assert eta == 2.0


def test_a_node_running_past_its_expected_duration_counts_zero() -> None:
    downstream = downstream_of(DIAMOND)
    eta = eta_seconds(downstream, DIAMOND_SECONDS, {"top", "left"}, {"right": 0.0}, now=60.0)
    assert eta == 1.0  # only bottom is left


def test_eta_of_a_finished_or_empty_run_is_zero() -> None:
    downstream = downstream_of(DIAMOND)
    assert eta_seconds(downstream, DIAMOND_SECONDS, set(DIAMOND), {}, now=5.0) == 0.0
    assert eta_seconds({}, {}, (), {}, now=5.0) == 0.0


# -- the chain that decided a finished run ------------------------------------------------------


def test_actual_critical_path_walks_back_through_the_dependency_that_ended_last() -> None:
    spans = {
        "top": (0.0, 1.0),
        "left": (1.0, 2.0),
        "right": (1.0, 4.5),
        "bottom": (4.5, 5.0),
    }
    assert actual_critical_path(downstream_of(DIAMOND), spans) == ["top", "right", "bottom"]


def test_actual_critical_path_starts_from_the_node_that_ended_last() -> None:
    # the fan ran late (it waited for workers): it, not the slow chain, decided the end
    spans = {
        "chain[0]": (0.0, 2.0),
        "chain[1]": (2.0, 4.0),
        "chain[2]": (4.0, 6.0),
        "spread": (0.0, 1.0),
        "branch[0]": (1.0, 2.0),
        "branch[1]": (2.0, 3.0),
        "branch[2]": (6.0, 7.0),
        "branch[3]": (3.0, 4.0),
        "collect": (7.0, 7.5),
    }
    downstream = downstream_of(CHAIN_BESIDE_FAN)
    assert actual_critical_path(downstream, spans) == ["spread", "branch[2]", "collect"]


def test_actual_critical_path_passes_over_nodes_that_did_not_run() -> None:
    spans = {"top": (0.0, 1.0), "left": (1.0, 2.0), "bottom": (2.0, 3.0)}  # right skipped
    assert actual_critical_path(downstream_of(DIAMOND), spans) == ["top", "left", "bottom"]
    assert actual_critical_path(downstream_of(DIAMOND), {}) == []


# -- properties over random DAGs ----------------------------------------------------------------


@st.composite
def weighted_dags(draw: Any, max_nodes: int = 15) -> tuple[dict[str, list[str]], dict[str, float]]:
    """A random DAG as ``(downstream, durations)``: edges only go from a lower to a higher
    index; durations are whole seconds, so sums are exact whatever their order."""
    count = draw(st.integers(min_value=1, max_value=max_nodes))
    names = [f"t{i}" for i in range(count)]
    downstream = {
        name: sorted(set(draw(st.lists(st.sampled_from(names[i + 1 :]), max_size=4))))
        if i + 1 < count
        else []
        for i, name in enumerate(names)
    }
    seconds = st.integers(min_value=0, max_value=100).map(float)
    durations = {name: draw(seconds) for name in names}
    return downstream, durations


@given(weighted_dags())
def test_remaining_paths_are_the_longest_chains(
    case: tuple[dict[str, list[str]], dict[str, float]],
) -> None:
    downstream, durations = case
    remaining = remaining_paths(downstream, durations)
    assert set(remaining) == set(downstream)
    for name, children in downstream.items():
        through = [durations[name] + remaining[child] for child in children]
        assert all(remaining[name] >= value for value in through)
        assert remaining[name] == max(through, default=durations[name])

    path = critical_path(downstream, durations)
    pointed = {child for children in downstream.values() for child in children}
    roots = [name for name in downstream if name not in pointed]
    assert path[0] in roots
    assert all(child in downstream[parent] for parent, child in pairwise(path))
    assert downstream[path[-1]] == []
    assert sum(durations[name] for name in path) == max(remaining[name] for name in roots)
    assert eta_seconds(downstream, durations, (), {}, now=0.0) == remaining[path[0]]


def test_critical_weights_are_the_remaining_paths_in_any_declaration_order() -> None:
    def graph(order: list[str]) -> Graph:
        deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
        built = Graph()
        for name in order:
            built.add(Node(task=None, name=name, deps=deps[name]))
        return built

    history = {"a": [1.0], "b": [3.0, 5.0, 4.0], "c": [1.0], "d": [2.0]}
    expected = {"a": 7.0, "b": 6.0, "c": 3.0, "d": 2.0}
    assert critical_weights(graph(["a", "b", "c", "d"]), history) == expected
    assert critical_weights(graph(["d", "c", "b", "a"]), history) == expected  # seed API order
    assert critical_weights(graph(["a", "b", "c", "d"]), {}) == {
        "a": 3.0, "b": 2.0, "c": 2.0, "d": 1.0
    }  # fmt: skip
