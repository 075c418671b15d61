"""Result caching: a cached task is not run again when its identity, code and inputs (by
content) match an earlier success; a miss says which part of the key changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from cli_support import podium
from podium import shell, task, workflow
from podium.errors import OptionError
from podium.model.caching import cache_key, code_part, explain_miss, task_identity
from podium.runner.session import open_store

CALLS: list[Any] = []


@task(cache=True)
def prepare(rows: int, scale: float = 1.0) -> list[float]:
    CALLS.append(("prepare", rows, scale))
    return [index * scale for index in range(rows)]


@task
def total(values: list[float]) -> float:
    return sum(values)


@workflow
def pipeline(rows: int = 3, scale: float = 1.0) -> Any:
    return total(prepare(rows, scale=scale))


def cache_events(home: Path, run_id: str) -> list[tuple[str, str | None, str | None]]:
    store = open_store(home)
    try:
        return [
            (event.kind, event.task_name, event.detail)
            for _, event in store.load_events(run_id)
            if event.kind.startswith("cache_")
        ]
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _forget_calls() -> None:
    CALLS.clear()


# -- the key ----------------------------------------------------------------------------------


def test_the_key_covers_identity_code_and_each_input() -> None:
    key = cache_key(prepare, (3,), {"scale": 1.0})
    assert key.identity == f"prepare:{__name__}.prepare"
    assert key.code.startswith("source:")
    assert set(key.inputs) == {"args[0]", "scale"}
    assert cache_key(prepare, (3,), {"scale": 1.0}) == key
    assert cache_key(prepare, (4,), {"scale": 1.0}).key != key.key
    renamed = prepare.with_options(name="prepare_v2")
    assert cache_key(renamed, (3,), {"scale": 1.0}).key != key.key


def test_cache_version_stands_for_the_code() -> None:
    v1 = prepare.with_options(cache_version="1")
    assert code_part(v1) == "version:1"
    key = cache_key(v1, (3,), {})
    assert cache_key(v1.with_options(cache_version="2"), (3,), {}).key != key.key
    assert explain_miss(cache_key(v1.with_options(cache_version="2"), (3,), {}), key) == (
        "cache_version changed"
    )


def test_a_miss_names_the_inputs_that_changed() -> None:
    before = cache_key(prepare, (3,), {"scale": 1.0})
    after = cache_key(prepare, (3,), {"scale": 2.0})
    assert explain_miss(after, before) == "inputs changed: scale"
    assert explain_miss(before, None) == "no earlier result of this task"
    assert explain_miss(before, before) == "the cached result expired (cache_ttl)"


def test_the_same_call_has_the_same_key_in_processes_with_other_hash_seeds() -> None:
    program = textwrap.dedent(
        """
        import sys
        sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
        from test_cache import prepare
        from podium.model.caching import cache_key
        print(cache_key(prepare, ({"b", "a", "c"},), {"scale": {"x": 1, "y": (2.0, "z")}}).key)
        """
    )
    root = str(Path(__file__).parent.parent)
    keys = {
        subprocess.run(
            [sys.executable, "-c", program, root],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_shell_tasks_are_identified_by_their_command() -> None:
    identity = task_identity(type("Spec", (), {"name": "wc", "isolation": "shell", "fn": None}))
    assert identity == "wc:shell"


@pytest.mark.parametrize(
    ("options", "culprit"),
    [
        ({"cache": "yes"}, "cache"),
        ({"cache_ttl": -1}, "cache_ttl"),
        ({"cache_version": 1.5}, "cache_version"),
    ],
)
def test_bad_cache_options_are_refused_at_decoration(options: dict[str, Any], culprit: str) -> None:
    with pytest.raises(OptionError) as caught:
        task(**options)(lambda: None)
    assert caught.value.option == culprit


# -- in runs ----------------------------------------------------------------------------------


def test_a_second_run_uses_the_cached_result_and_says_where_it_came_from(home: Path) -> None:
    first = pipeline.run(home=home)
    second = pipeline.run(home=home)
    assert first.result == second.result == 3.0
    assert CALLS == [("prepare", 3, 1.0)]
    assert first["prepare"].state == "succeeded" and second["prepare"].state == "cached"
    assert second["total"].state == "succeeded"
    assert cache_events(home, first.run_id) == [
        ("cache_miss", "prepare", "no earlier result of this task")
    ]
    assert cache_events(home, second.run_id) == [
        ("cache_hit", "prepare", f"run {first.run_id}, task prepare")
    ]
    store = open_store(home)
    try:
        states = {t.name: t.state for t in store.load_tasks(second.run_id)}
        assert states["prepare"] == "cached"
        assert store.load_results(second.run_id, ["prepare"]) == {"prepare": [0.0, 1.0, 2.0]}
    finally:
        store.close()


def test_changed_inputs_miss_and_say_which(home: Path) -> None:
    pipeline.run({"scale": 1.0}, home=home)
    second = pipeline.run({"scale": 2.0}, home=home)
    assert second["prepare"].state == "succeeded" and second.result == 6.0
    assert cache_events(home, second.run_id) == [("cache_miss", "prepare", "inputs changed: scale")]
    third = pipeline.run({"scale": 1.0}, home=home)  # the first entry is still there
    assert third["prepare"].state == "cached" and len(CALLS) == 2


def test_use_cache_false_runs_again_and_refreshes_the_entry(home: Path) -> None:
    pipeline.run(home=home)
    bypassed = pipeline.run(home=home, use_cache=False)
    assert bypassed["prepare"].state == "succeeded" and len(CALLS) == 2
    assert cache_events(home, bypassed.run_id)[0][2].startswith("--no-cache")
    after = pipeline.run(home=home)
    assert after["prepare"].state == "cached"
    assert cache_events(home, after.run_id) == [
        ("cache_hit", "prepare", f"run {bypassed.run_id}, task prepare")
    ]


@task(cache=True, cache_ttl=0.001)
def short_lived() -> int:
    CALLS.append("short_lived")
    return 7


def test_an_expired_entry_is_not_used(home: Path) -> None:
    @workflow
    def expiring() -> Any:
        return short_lived()

    expiring.run(home=home)
    second = expiring.run(home=home)
    assert second["short_lived"].state == "succeeded" and CALLS == ["short_lived"] * 2
    assert cache_events(home, second.run_id) == [
        ("cache_miss", "short_lived", "the cached result expired (cache_ttl)")
    ]


@task(cache=True)
def fails_once(marker: str) -> str:
    CALLS.append("fails_once")
    if not Path(marker).exists():
        Path(marker).write_text("x")
        raise RuntimeError("first call fails")
    return "fine"


def test_failures_are_not_cached(home: Path, tmp_path: Path) -> None:
    @workflow
    def failing(marker: str) -> Any:
        return fails_once(marker)

    marker = str(tmp_path / "marker")
    assert failing.run({"marker": marker}, home=home).state == "failed"
    assert failing.run({"marker": marker}, home=home)["fails_once"].state == "succeeded"
    assert failing.run({"marker": marker}, home=home)["fails_once"].state == "cached"


@task(cache=True)
def takes_anything(value: Any) -> str:
    CALLS.append("takes_anything")
    return "ran"


def test_an_input_without_content_runs_uncached_and_says_why(home: Path) -> None:
    @workflow
    def odd() -> Any:
        return takes_anything({"rows": [(n for n in range(3))]})

    first = odd.run(home=home)
    second = odd.run(home=home)
    assert first.state == second.state == "succeeded" and CALLS == ["takes_anything"] * 2
    [(kind, name, detail)] = cache_events(home, second.run_id)
    assert (kind, name) == ("cache_miss", "takes_anything")
    assert (
        detail is not None and detail.startswith("not cached:") and "args[0]['rows'][0]" in detail
    )


def test_cached_shell_commands_are_not_run_again(home: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"

    @workflow
    def commands() -> Any:
        return shell("echo run >> {ledger}; echo done", ledger=str(ledger), cache=True)

    commands.run(home=home)
    second = commands.run(home=home)
    assert second["shell"].state == "cached" and second.result == "done\n"
    assert ledger.read_text() == "run\n"


# -- through the CLI --------------------------------------------------------------------------

FLOW = """
from podium import task, workflow

@task(cache=True)
def prepare(n: int) -> list[int]:
    return [{body} for i in range(n)]

@task
def report(values: list[int]) -> int:
    return sum(values)

@workflow
def flow(n: int = 4):
    return report(prepare(n))
"""


def test_cache_across_podium_run_invocations(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(FLOW.format(body="i"))
    first = podium("run", str(flow), "--json", home=home)
    assert first.returncode == 0, first.stderr
    second = podium("run", str(flow), "--json", home=home)
    states = {t["name"]: t["state"] for t in json.loads(second.stdout)["tasks"]}
    assert states == {"prepare": "cached", "report": "succeeded"}

    listed = json.loads(podium("cache", "list", "--json", home=home).stdout)
    assert [(e["identity"].split(":")[0], list(e["inputs"])) for e in listed] == [
        ("prepare", ["args[0]"])
    ]

    flow.write_text(FLOW.format(body="i * 2"))  # the code changed
    third = podium("run", str(flow), home=home)
    assert third.returncode == 0
    assert "code changed" in third.stdout
    run_id = json.loads(podium("runs", "list", "--json", home=home).stdout)[0]["run_id"]
    shown = podium("runs", "show", run_id, home=home)
    assert "miss" in shown.stdout and "code changed" in shown.stdout
    assert "critical path" in shown.stdout

    no_cache = podium("run", str(flow), "--no-cache", "--json", home=home)
    assert {t["state"] for t in json.loads(no_cache.stdout)["tasks"]} == {"succeeded"}

    cleared = podium("cache", "clear", "prepare", home=home)
    assert cleared.returncode == 0 and "removed 2 cache entries" in cleared.stdout
    assert json.loads(podium("cache", "list", "--json", home=home).stdout) == []
    again = podium("run", str(flow), "--json", home=home)
    assert {t["state"] for t in json.loads(again.stdout)["tasks"]} == {"succeeded"}


def test_a_resumed_run_keeps_the_results_its_cached_tasks_got(home: Path) -> None:
    first = pipeline.run(home=home)
    second = pipeline.run(home=home)
    store = open_store(home)
    try:  # make the second run look interrupted after its cached task
        store._db.execute(
            "UPDATE task_instances SET state = 'pending' WHERE run_id = ? AND name = 'total'",
            (second.run_id,),
        )
        store._db.execute("UPDATE runs SET state = 'failed' WHERE run_id = ?", (second.run_id,))
        store._db.commit()
        store.clear_cache()  # a lookup now would miss and run prepare again
    finally:
        store.close()
    resumed = pipeline.resume(second.run_id, home=home)
    assert resumed.state == "succeeded" and resumed.result == 3.0
    assert resumed["prepare"].state in ("succeeded", "cached")
    assert CALLS == [("prepare", 3, 1.0)]
    assert first.run_id != second.run_id


EXPIRING_FLOW = """
from podium import task, workflow

@task(cache=True, cache_ttl=0.001)
def fetch() -> int:
    return 42

@workflow
def expiring():
    return fetch()
"""


def test_an_expired_entry_misses_across_podium_run_invocations(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "expiring.py"
    flow.write_text(EXPIRING_FLOW)
    assert podium("run", str(flow), home=home).returncode == 0
    second = podium("run", str(flow), "--json", home=home)
    assert json.loads(second.stdout)["tasks"][0]["state"] == "succeeded"
    run_id = json.loads(second.stdout)["run_id"]
    shown = podium("runs", "show", run_id, home=home)
    assert "the cached result expired (cache_ttl)" in shown.stdout
    listed = podium("cache", "list", home=home)
    assert "expired" in listed.stdout
    cleared = podium("cache", "clear", "--expired", home=home)
    assert "removed 1 expired cache entry" in cleared.stdout
