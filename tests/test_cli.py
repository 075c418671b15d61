"""The ``podium`` command, run for real in a subprocess against a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import FLOWS, only_run_id, podium, query, task_states
from podium.model.records import EventRecord
from podium.store.sqlite import SQLiteStore

REPO = Path(__file__).parent.parent


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / ".podium"


def test_run_succeeds_with_exit_code_0_and_a_summary(home: Path) -> None:
    done = podium("run", str(FLOWS / "basic.py"), "-p", "n=4", home=home)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    for name in ("load", "square[3]", "total", "echo"):
        assert name in done.stdout
    states = dict(query(home, "SELECT name, state FROM task_instances"))
    assert set(states.values()) == {"succeeded"}
    assert len(states) == 1 + 4 + 1 + 1 + 1  # load, square[0..3], square, total, echo


def test_run_json_prints_the_run_and_its_tasks(home: Path) -> None:
    done = podium("run", str(FLOWS / "basic.py"), "--json", home=home)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["state"] == "succeeded"
    assert report["params"] == {"n": 3}
    assert {task["name"] for task in report["tasks"]} >= {"load", "total", "echo"}


def test_plain_progress_lines_when_not_a_tty(home: Path) -> None:
    done = podium("run", str(FLOWS / "basic.py"), home=home)
    assert "running         load (attempt 1)" in done.stderr
    assert "succeeded       total" in done.stderr


def test_a_failed_run_exits_1_and_keeps_the_traceback(home: Path) -> None:
    done = podium("run", str(FLOWS / "failing.py"), home=home)
    assert done.returncode == 1
    run_id = query(home, "SELECT run_id FROM runs")[0][0]
    states = dict(query(home, "SELECT name, state FROM task_instances"))
    assert states == {
        "start": "succeeded",
        "explode": "failed",
        "after": "upstream_failed",
        "independent": "succeeded",
    }
    logs = podium("logs", run_id, "explode", home=home)
    assert logs.returncode == 0
    assert "about to fail" in logs.stdout
    assert "ValueError: boom 1" in logs.stdout
    assert "Traceback (most recent call last)" in logs.stdout


@pytest.mark.parametrize(
    ("target", "params", "message"),
    [
        ("invalid.py:cycle", [], "cycle: alpha -> beta -> gamma -> alpha"),
        ("invalid.py:unknown", [], "'alpha' depends on 'missing_step'"),
        ("invalid.py:duplicated", [], "two tasks are named 'same'"),
        ("invalid.py:nothing", [], "available: typed, duplicated, cycle, unknown"),
        ("invalid.py", [], "several workflows found"),
        ("invalid.py:typed", ["-p", "n=abc"], "parameter 'n'"),
        ("invalid.py:typed", ["-p", "nn=1"], "unknown parameter"),
        ("invalid.py:typed", ["--max-workers", "0"], "option 'max_workers'"),
        ("does_not_exist.py", [], "no such file"),
    ],
)
def test_bad_input_exits_2_names_the_culprit_and_writes_nothing(
    home: Path, target: str, params: list[str], message: str
) -> None:
    path = target if target.startswith("does_not") else str(FLOWS / target)
    done = podium("run", path, *params, home=home)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert query(home, "SELECT count(*) FROM runs") in ([], [(0,)])


def test_an_import_error_is_reported_briefly(home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import json\n\nundefined_name + 1\n")
    done = podium("run", str(broken), home=home)
    assert done.returncode == 2
    assert "NameError: name 'undefined_name' is not defined (line 3)" in done.stderr
    assert "Traceback" not in done.stderr


def test_validate_and_graph_do_not_run_anything(home: Path) -> None:
    ok = podium("validate", str(FLOWS / "basic.py"), home=None)
    assert ok.returncode == 0
    assert "has 4 tasks" in ok.stdout and "1 dynamic map" in ok.stdout
    bad = podium("validate", str(FLOWS / "invalid.py:cycle"), home=None)
    assert bad.returncode == 2
    text = podium("graph", str(FLOWS / "basic.py"), home=None)
    assert text.stdout.splitlines()[0] == "load [thread]"
    assert "    square [inline] (map: elements created at run time)" in text.stdout
    mermaid = podium("graph", str(FLOWS / "basic.py"), "--format", "mermaid", home=None)
    assert mermaid.stdout.startswith("flowchart TD") and "n0 --> n1" in mermaid.stdout
    dot = podium("graph", str(FLOWS / "basic.py"), "--format", "dot", home=None)
    assert '"load" -> "square";' in dot.stdout
    assert not home.exists()


def test_runs_list_show_and_logs(home: Path) -> None:
    podium("run", str(FLOWS / "basic.py"), home=home)
    listed = json.loads(podium("runs", "list", "--json", home=home).stdout)
    assert [run["state"] for run in listed] == ["succeeded"]
    run_id = listed[0]["run_id"]
    shown = podium("runs", "show", run_id, home=home)
    assert shown.returncode == 0 and "square[2]" in shown.stdout
    detail = json.loads(podium("runs", "show", run_id, "--json", home=home).stdout)
    assert {a["task_name"] for a in detail["attempts"]} >= {"load", "total", "echo"}
    assert detail["created_at"].endswith("Z")
    logs = podium("logs", run_id, home=home)
    assert "loading 3 items" in logs.stdout
    assert "total=5" in logs.stdout  # the shell task's stdout is in its log


def test_unknown_runs_and_tasks_are_bad_input(home: Path) -> None:
    podium("run", str(FLOWS / "basic.py"), home=home)
    run_id = query(home, "SELECT run_id FROM runs")[0][0]
    for args in (
        ("runs", "show", "nope"),
        ("logs", "nope"),
        ("resume", "nope"),
        ("cancel", "nope"),
        ("logs", run_id, "no_such_task"),
    ):
        done = podium(*args, home=home)
        assert done.returncode == 2, args
        assert "error:" in done.stderr


def test_resume_refuses_a_run_that_already_succeeded(home: Path) -> None:
    podium("run", str(FLOWS / "basic.py"), home=home)
    run_id = query(home, "SELECT run_id FROM runs")[0][0]
    done = podium("resume", run_id, home=home)
    assert done.returncode == 2
    assert "already ended (succeeded)" in done.stderr


def test_podium_home_comes_from_the_environment(tmp_path: Path) -> None:
    home = tmp_path / "elsewhere"
    done = podium(
        "run", str(FLOWS / "basic.py"), home=None, cwd=tmp_path, env={"PODIUM_HOME": str(home)}
    )
    assert done.returncode == 0, done.stderr
    assert (home / "podium.db").exists()
    assert not (tmp_path / ".podium").exists()


def test_the_seed_example_runs_in_dependency_order(home: Path) -> None:
    done = podium("run", str(REPO / "examples" / "seed_example.py"), home=home)
    assert done.returncode == 0, done.stderr
    order = [name for (name,) in query(home, "SELECT task_name FROM attempts ORDER BY started_at")]
    assert order == ["Data Ingestion", "Data Preparation", "Model Training", "Model Deployment"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["resume"],
        ["cancel"],
        ["validate"],
        ["graph"],
        ["runs"],
        ["runs", "list"],
        ["runs", "show"],
        ["logs"],
    ],
)
def test_every_command_has_help_with_examples(command: list[str]) -> None:
    done = podium(*command, "--help", home=None)
    assert done.returncode == 0
    assert "Example" in done.stdout


def test_the_summary_lists_map_elements_just_before_their_map(home: Path) -> None:
    done = podium("run", str(FLOWS / "basic.py"), home=home)
    tasks_table = done.stdout.split("└")[0]  # then come the usage and bottlenecks tables
    rows = [line.split("│")[1].strip() for line in tasks_table.splitlines() if line[:1] == "│"]
    assert rows == ["load", "square[0]", "square[1]", "square[2]", "square", "total", "echo"]
    assert "usage (latest attempt)" in done.stdout and "bottlenecks" in done.stdout


def test_the_demo_pipeline_retries_falls_back_to_the_cpu_caches_and_deploys_a_model(
    home: Path, tmp_path: Path
) -> None:
    demo, models = str(REPO / "examples" / "ml_pipeline.py"), tmp_path / "models"
    first = podium("run", demo, "-p", f"output_dir={models}", home=home, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "retrying        ingest: FlakySourceError" in first.stderr
    run_id = only_run_id(home)
    attempts = query(home, "SELECT attempt, state FROM attempts WHERE task_name = 'ingest'")
    assert sorted(attempts) == [(1, "failed"), (2, "succeeded")]
    # No GPU here: every training element runs its CPU fallback without trying the GPU.
    training = [f"train_on_gpu[{i}]" for i in range(6)]
    states = task_states(home, run_id)
    assert {states[name] for name in training} == {"fell_back"}
    fallbacks = {
        e.task_name: e.detail for e in events(home, run_id) if e.kind == "fallback_started"
    }
    assert sorted(fallbacks) == training
    for detail in fallbacks.values():
        assert detail.startswith("train (without trying: ") and "gpu" in detail, detail
    card = json.loads((models / "model_card.json").read_text())
    assert (card["run_id"], card["trained_on"]) == (run_id, "cpu")
    assert (models / "model.joblib").exists()

    second = podium("run", demo, "-p", f"output_dir={models}", "--json", home=home, timeout=300)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    states = {task["name"]: task["state"] for task in report["tasks"]}
    assert report["state"] == "succeeded"
    assert (states["prepare"], states["deploy"]) == ("cached", "succeeded")
    assert json.loads((models / "model_card.json").read_text())["run_id"] == report["run_id"]


def events(home: Path, run_id: str) -> list[EventRecord]:
    """The events of run ``run_id``, from the store under ``home``."""
    store = SQLiteStore(home / "podium.db")
    try:
        return [event for _, event in store.load_events(run_id)]
    finally:
        store.close()


PRINTING_FLOW = """
from podium import task, workflow

@task
def chatty() -> int:
    print("hello from a thread task")
    return 1

@workflow
def printing():
    return chatty()
"""


def test_json_output_stays_json_when_tasks_print(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "printing.py"
    flow.write_text(PRINTING_FLOW)
    done = podium("run", str(flow), "--json", home=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "succeeded"
    assert "hello from a thread task" in done.stderr
