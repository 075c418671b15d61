"""Full garbage collections skip what existed before a run, while it runs (runner/heap.py)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from podium import task, workflow
from podium.runner.heap import frozen_heap


@task
def freeze_count() -> int:
    return gc.get_freeze_count()


@workflow
def report_freeze() -> Any:
    return freeze_count()


def test_objects_older_than_a_run_are_frozen_while_it_runs_and_given_back_after(
    home: Path,
) -> None:
    assert gc.get_freeze_count() == 0
    result = report_freeze.run(home=home)
    assert result.result > 0  # the modules, the graph: out of the full passes meanwhile
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_itself_keeps_them_frozen(home: Path) -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        result = report_freeze.run(home=home)
        # podium froze nothing more (frozen objects may still die: counts only go down)
        assert 0 < result.result <= before
        assert 0 < gc.get_freeze_count() <= before  # and unfroze nothing
    finally:
        gc.unfreeze()


def test_nested_holders_unfreeze_when_the_last_one_ends() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        with frozen_heap():
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0  # the outer holder still holds
    assert gc.get_freeze_count() == 0
