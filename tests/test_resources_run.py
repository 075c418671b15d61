"""Resources and limits in real runs: requests bound concurrency, GPU attempts get device
ids (exported as CUDA_VISIBLE_DEVICES to process and shell attempts; tested here with a
declared, fake device list), impossible requests fall back or are refused before the run,
and process-wide tag limits and rates apply before dispatch."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_support import podium, query
from podium import ResourceUnavailableError, current_context, limits, shell, task, workflow
from podium.errors import SettingsError
from podium.runner.session import open_store


class Overlap:
    """Counts how many calls are inside ``during()`` at once, at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def during(self, seconds: float) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(seconds)
        with self.lock:
            self.now -= 1


OVERLAP = Overlap()


@pytest.fixture(autouse=True)
def _fresh_overlap() -> Iterator[None]:
    global OVERLAP
    OVERLAP = Overlap()
    yield


@task(resources={"memory_mb": 400})
def hungry(index: int) -> int:
    OVERLAP.during(0.05)
    return index


def test_requests_never_run_wider_than_the_capacity(home: Path) -> None:
    @workflow
    def many() -> Any:
        return hungry.map(range(8))

    result = many.run(home=home, resources={"memory_mb": 1000}, max_workers=8)
    assert result.state == "succeeded" and result.result == list(range(8))
    assert OVERLAP.most == 2  # 2 x 400 fit in 1000, 3 do not


@task(resources={"licenses": 1})
def licensed(index: int) -> int:
    OVERLAP.during(0.02)
    return index


def test_a_custom_resource_declared_once_serializes_its_tasks(home: Path) -> None:
    @workflow
    def serial() -> Any:
        return licensed.map(range(4))

    assert serial.run(home=home, resources={"licenses": 1}).state == "succeeded"
    assert OVERLAP.most == 1


# -- GPUs -------------------------------------------------------------------------------------


@task(isolation="process", resources={"gpu": 0.5})
def half_gpu(index: int) -> tuple[str | None, tuple[str, ...]]:
    time.sleep(0.3)
    return os.environ.get("CUDA_VISIBLE_DEVICES"), current_context().gpus


@task(isolation="process", resources={"gpu": 2})
def two_gpus() -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def test_gpu_attempts_get_device_ids_and_fractions_share_a_device(home: Path) -> None:
    @workflow
    def gpus() -> Any:
        return half_gpu.map(range(4)), two_gpus()

    result = gpus.run(home=home, resources={"gpu": 2, "cpu": 8}, max_workers=8)
    assert result.state == "succeeded"
    halves, both = result.result
    assert both == "0,1"
    for visible, granted in halves:
        assert visible in ("0", "1") and granted == (visible,)
    assert sorted(visible for visible, _ in halves) == ["0", "0", "1", "1"]
    store = open_store(home)
    try:  # the whole-device request never ran beside a half-device one
        spans = {
            a.task_name: (a.started_at, a.ended_at) for a in store.load_attempts(result.run_id)
        }
    finally:
        store.close()
    whole = spans["two_gpus"]
    for name, (start, end) in spans.items():
        if name.startswith("half_gpu"):
            assert end <= whole[0] or start >= whole[1]


def test_shell_commands_see_their_devices(home: Path) -> None:
    @workflow
    def command() -> Any:
        return shell("echo $CUDA_VISIBLE_DEVICES", resources={"gpu": 1})

    result = command.run(home=home, resources={"gpu": 1})
    assert result.result == "0\n"


# -- requests that can never be met ------------------------------------------------------------


@task
def train_on_cpu(epochs: int) -> str:
    return f"cpu x{epochs}"


@task(resources={"gpu": 1}, fallback=train_on_cpu)
def train_on_gpu(epochs: int) -> str:
    raise AssertionError("never called on a machine without GPUs")


@task(resources={"gpu": 1})
def gpu_only() -> str:
    return "gpu"


def test_a_task_that_cannot_fit_goes_straight_to_its_fallback(home: Path) -> None:
    @workflow
    def training() -> Any:
        return train_on_gpu(3)

    result = training.run(home=home, resources={"gpu": 0})
    assert result.state == "succeeded" and result.result == "cpu x3"
    assert result["train_on_gpu"].state == "fell_back"
    store = open_store(home)
    try:
        events = [e for _, e in store.load_events(result.run_id) if e.kind == "fallback_started"]
        attempts = store.load_attempts(result.run_id)
    finally:
        store.close()
    assert [e.detail for e in events] == [
        "train_on_cpu (without trying: it asks for gpu=1; this machine has gpu=0)"
    ]
    assert [(a.task_name, a.attempt, a.state) for a in attempts] == [
        ("train_on_gpu", 1, "succeeded")  # the fallback's attempt
    ]


def test_a_task_that_cannot_fit_without_fallback_is_refused_before_the_run(home: Path) -> None:
    @workflow
    def impossible() -> Any:
        return gpu_only()

    with pytest.raises(ResourceUnavailableError) as caught:
        impossible.run(home=home, resources={"gpu": 0})
    assert caught.value.task == "gpu_only" and caught.value.resource == "gpu"
    assert "gpu=1" in str(caught.value) and "gpu=0" in str(caught.value)
    assert query(home, "SELECT count(*) FROM runs") == [(0,)]


def test_bad_resource_overrides_are_refused(home: Path) -> None:
    @workflow
    def anything() -> Any:
        return train_on_cpu(1)

    with pytest.raises(SettingsError, match="gpu"):
        anything.run(home=home, resources={"gpu": 1.5})
    with pytest.raises(SettingsError, match="memory_mb"):
        anything.run(home=home, resources={"memory_mb": "lots"})


GPU_FLOW = """
from podium import task, workflow

@task
def cpu_version() -> str:
    return "cpu"

@task(resources={"gpu": 1}, fallback=cpu_version)
def with_fallback() -> str:
    return "gpu"

@task(resources={"gpu": 1})
def without_fallback() -> str:
    return "gpu"

@workflow
def soft():
    return with_fallback()

@workflow
def hard():
    return without_fallback()

@task(resources={"gpu": 1})
def on_a_thread() -> str:
    return "thread"

@workflow
def threaded():
    return on_a_thread()
"""


def test_the_cli_warns_refuses_and_takes_declared_devices(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "gpu_flow.py"
    flow.write_text(GPU_FLOW)
    none = ["--resources", "gpu=0"]
    soft = podium("validate", f"{flow}:soft", *none, home=home)
    assert soft.returncode == 0 and "will run its fallback 'cpu_version'" in soft.stderr
    hard = podium("validate", f"{flow}:hard", *none, home=home)
    assert hard.returncode == 2 and "'without_fallback' asks for gpu=1" in hard.stderr
    threaded = podium("validate", f"{flow}:threaded", "--resources", "gpu=1", home=home)
    assert threaded.returncode == 0 and "use isolation='process'" in threaded.stderr
    fell_back = podium("run", f"{flow}:soft", *none, home=home)
    assert fell_back.returncode == 0
    assert "with_fallback: cpu_version (without trying: it asks for gpu=1" in fell_back.stderr
    refused = podium("run", f"{flow}:hard", *none, home=home)
    assert refused.returncode == 2 and "gpu=0" in refused.stderr
    assert query(home, "SELECT count(*) FROM runs") == [(1,)]  # only the soft run
    declared = podium("run", f"{flow}:hard", "--resources", "gpu=1", "--json", home=home)
    assert declared.returncode == 0, declared.stderr
    assert json.loads(declared.stdout)["tasks"][0]["state"] == "succeeded"
    bad = podium("run", f"{flow}:hard", "--resources", "gpu=two", home=home)
    assert bad.returncode == 2 and "gpu" in bad.stderr
    (home / "settings.toml").write_text("[resources]\ngpu = 1\n")
    from_settings = podium("run", f"{flow}:hard", home=home)
    assert from_settings.returncode == 0, from_settings.stderr
    (home / "settings.toml").write_text("[resources]\ngpus = 1\n[limit]\n")
    broken = podium("run", f"{flow}:hard", home=home)
    assert broken.returncode == 2 and "settings.toml" in broken.stderr


# -- limits shared by the process ---------------------------------------------------------------


@task(tags=["database"])
def query_database(index: int) -> int:
    OVERLAP.during(0.02)
    return index


@pytest.fixture
def database_limit() -> Iterator[None]:
    limits(tags={"database": 1})
    yield
    limits(tags={"database": None})


def test_a_tag_limit_holds_across_runs_in_one_process(home: Path, database_limit: None) -> None:
    @workflow
    def reads(n: int) -> Any:
        return query_database.map(range(n))

    results: list[Any] = []
    runs = [
        threading.Thread(target=lambda: results.append(reads.run({"n": 4}, home=home)))
        for _ in range(2)
    ]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    assert [result.state for result in results] == ["succeeded", "succeeded"]
    assert OVERLAP.most == 1


@task(tags=["api"])
def call_api(index: int) -> float:
    return time.monotonic()


@pytest.fixture
def api_rate() -> Iterator[None]:
    limits(rates={"api": "5/s"})
    yield
    limits(rates={"api": None})


def test_a_rate_limit_spaces_calls_after_its_burst(home: Path, api_rate: None) -> None:
    @workflow
    def calls() -> Any:
        return call_api.map(range(7))

    started = time.monotonic()
    result = calls.run(home=home)
    assert result.state == "succeeded"
    times = sorted(result.result)
    # a full bucket lets 5 through at once; the 6th and 7th wait for tokens (one per 0.2 s)
    assert times[5] - started >= 0.15 and times[6] - started >= 0.35


@task(resources={"gpu": 1})
def gpu_rescue() -> str:
    return "rescued"


@task(fallback=gpu_rescue)
def fails_with_gpu_fallback() -> str:
    raise RuntimeError("broken")


def test_a_fallback_that_cannot_fit_is_skipped_and_the_task_fails(home: Path) -> None:
    @workflow
    def rescue() -> Any:
        return fails_with_gpu_fallback()

    result = rescue.run(home=home, resources={"gpu": 0})
    assert result.state == "failed"
    assert result["fails_with_gpu_fallback"].state == "failed"
    store = open_store(home)
    try:
        skipped = [
            e.detail for _, e in store.load_events(result.run_id) if e.kind == "fallback_skipped"
        ]
    finally:
        store.close()
    assert skipped == ["gpu_rescue cannot run here: it asks for gpu=1; this machine has gpu=0"]


# -- no starvation ------------------------------------------------------------------------------

STARTED: dict[str, float] = {}


@task(resources={"cpu": 1})
def small(label: str, *after: Any) -> str:
    STARTED[label] = time.monotonic()
    time.sleep(0.05)
    return label


@task(resources={"cpu": 2})
def big() -> str:
    STARTED["big"] = time.monotonic()
    return "big"


def test_a_big_request_is_not_starved_by_a_stream_of_small_ones(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chains of small tasks keep both CPUs busy for about a second, each link becoming
    ready as the one before ends; the big task, ready from the start, needs both CPUs at
    once. Once it has waited past the bound, the pool reserves for it: the next links wait,
    and it starts as soon as the links then running have ended, not after both chains."""
    monkeypatch.setattr("podium.engine.admission.STARVATION_BOUND", 0.2)
    STARTED.clear()

    @workflow
    def stream() -> Any:
        ends = []
        for chain in "ab":
            link = small(f"{chain}0", name=f"{chain}0")
            for index in range(1, 20):
                link = small(f"{chain}{index}", link, name=f"{chain}{index}")
            ends.append(link)
        return ends, big()

    result = stream.run(home=home, resources={"cpu": 2}, max_workers=8)
    assert result.state == "succeeded"
    later = [name for name, at in STARTED.items() if name != "big" and at > STARTED["big"]]
    assert len(later) >= 10  # without the reservation it would start after all 40 links
