"""Trigger rules: when a task runs, given how the tasks it needs ended; skips propagate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium import OptionError, task, workflow
from podium.engine.plan import decide

# (rule, succeeded, failed, skipped, pending) -> verdict
TABLE = [
    ("all_success", 2, 0, 0, 0, "run"),
    ("all_success", 1, 0, 0, 1, None),
    ("all_success", 1, 1, 0, 1, "upstream_failed"),  # decided at the first failure
    ("all_success", 1, 0, 1, 1, "skipped"),
    ("all_done", 0, 2, 1, 0, "run"),
    ("all_done", 2, 0, 0, 1, None),
    ("one_failed", 1, 1, 0, 0, "run"),
    ("one_failed", 1, 1, 0, 1, None),  # it runs only once its inputs exist
    ("one_failed", 2, 0, 1, 0, "skipped"),
    ("one_success", 1, 1, 0, 0, "run"),
    ("one_success", 0, 2, 0, 0, "upstream_failed"),
    ("one_success", 0, 0, 2, 0, "skipped"),
    ("none_failed", 1, 0, 1, 0, "run"),
    ("none_failed", 0, 1, 0, 1, "upstream_failed"),
    ("none_failed_min_one_success", 1, 0, 1, 0, "run"),
    ("none_failed_min_one_success", 0, 0, 2, 0, "skipped"),
    ("none_failed_min_one_success", 1, 1, 0, 1, "upstream_failed"),
]


@pytest.mark.parametrize(("rule", "ok", "failed", "skipped", "pending", "verdict"), TABLE)
def test_the_trigger_rule_table(
    rule: str, ok: int, failed: int, skipped: int, pending: int, verdict: str | None
) -> None:
    assert decide(rule, ok, failed, skipped, pending) == verdict


def test_an_unknown_trigger_rule_is_refused_when_the_task_is_defined() -> None:
    with pytest.raises(OptionError, match="trigger_rule"):

        @task(trigger_rule="sometimes")
        def never() -> None: ...


@task
def ok() -> int:
    return 1


@task
def boom() -> int:
    raise RuntimeError("the branch failed")


@task
def seen(*inputs: Any) -> list[Any]:
    return list(inputs)


def test_joins_after_a_failed_branch_follow_their_rules(home: Path) -> None:
    @workflow
    def branches() -> Any:
        good, bad = ok(), boom()
        return [
            seen(good, bad, name="all_success"),
            seen.with_options(trigger_rule="all_done")(good, bad, name="all_done"),
            seen.with_options(trigger_rule="one_failed")(good, bad, name="cleanup"),
            seen.with_options(trigger_rule="one_success")(good, bad, name="one_success"),
            seen.with_options(trigger_rule="none_failed")(good, bad, name="none_failed"),
        ]

    result = branches.run(home=home)
    states = {name: t.state for name, t in result.tasks.items()}
    assert states == {
        "ok": "succeeded",
        "boom": "failed",
        "all_success": "upstream_failed",
        "all_done": "succeeded",
        "cleanup": "succeeded",
        "one_success": "succeeded",
        "none_failed": "upstream_failed",
    }
    assert result["all_done"].value == [1, None]  # a failed input passes None
    assert result.state == "failed"  # a task failed


def test_skips_propagate_down_the_graph(home: Path) -> None:
    @workflow
    def nothing_failed() -> Any:
        good = ok()
        cleanup = seen.with_options(trigger_rule="one_failed")(good, name="cleanup")
        after_cleanup = seen(cleanup, name="after_cleanup")
        either = seen.with_options(trigger_rule="none_failed")(good, cleanup, name="either")
        only_skips = seen.with_options(trigger_rule="none_failed_min_one_success")(
            cleanup, after_cleanup, name="only_skips"
        )
        return [either, only_skips]

    result = nothing_failed.run(home=home)
    states = {name: t.state for name, t in result.tasks.items()}
    assert states == {
        "ok": "succeeded",
        "cleanup": "skipped",  # nothing failed
        "after_cleanup": "skipped",  # all_success with a skipped input
        "either": "succeeded",  # none failed
        "only_skips": "skipped",  # none failed, but none succeeded either
    }
    assert result.state == "succeeded"  # skips are not failures
