"""The model: building graphs from workflow functions, naming, validation and errors.

Nothing here runs a workflow; graphs are built with ``Workflow.build`` (or the seed API's
``Orchestrator.graph``) and inspected.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import graphs
from podium import (
    CycleError,
    DefinitionError,
    DuplicateTaskError,
    HandleMisuseError,
    OptionError,
    Orchestrator,
    ParameterError,
    PodiumError,
    Task,
    shell,
    task,
    workflow,
)
from podium.errors import (
    RunFailedError,
    RunNotFoundError,
    RunNotResumableError,
    RunOwnedError,
    SchemaVersionError,
    ShellCommandError,
    UnknownDependencyError,
    WorkerLostError,
    WorkflowLoadError,
    WorkflowNotFoundError,
)
from podium.model.graph import Graph


@task
def load() -> list[int]:
    return [1, 2, 3]


@task
def train(data: Any, size: int = 1) -> str:
    return f"model-{size}"


@task
def combine(*parts: Any, **named: Any) -> list[Any]:
    return [*parts, named]


@task
def score(item: int, factor: int = 1) -> int:
    return item * factor


def deps_of(graph: Graph) -> dict[str, list[str]]:
    return {node.name: node.deps for node in graph}


# -- naming ---------------------------------------------------------------------------------


def test_a_task_called_once_is_named_after_its_function() -> None:
    @workflow
    def pipeline() -> Any:
        return train(load())

    assert deps_of(pipeline.build()) == {"load": [], "train": ["load"]}


def test_a_task_called_twice_is_numbered_in_call_order() -> None:
    @workflow
    def pipeline() -> Any:
        data = load()
        return train(data, size=1), train(data, size=2)

    graph = pipeline.build()

    assert list(graph.nodes) == ["load", "train[0]", "train[1]"]
    assert graph.nodes["train[0]"].kwargs == {"size": 1}
    assert graph.nodes["train[1]"].kwargs == {"size": 2}


def test_an_explicit_name_is_kept_and_the_other_calls_are_numbered_among_themselves() -> None:
    @workflow
    def pipeline() -> Any:
        data = load()
        return train(data, name="small"), train(data, size=2), train(data, size=3)

    assert list(pipeline.build().nodes) == ["load", "small", "train[0]", "train[1]"]


def test_the_task_decorator_can_rename_the_task() -> None:
    @task(name="fit")
    def fit_model() -> None: ...

    @workflow
    def pipeline() -> Any:
        return fit_model()

    assert list(pipeline.build().nodes) == ["fit"]


def test_a_function_with_a_name_parameter_receives_name_as_its_argument() -> None:
    @task
    def greet(name: str) -> str:
        return f"hello {name}"

    @workflow
    def pipeline() -> Any:
        return greet(name="ada")

    graph = pipeline.build()

    assert list(graph.nodes) == ["greet"]
    assert graph.nodes["greet"].kwargs == {"name": "ada"}


def test_chain_numbers_its_links_and_each_needs_the_one_before() -> None:
    assert deps_of(graphs.chain(3).build()) == {
        "increment[0]": [],
        "increment[1]": ["increment[0]"],
        "increment[2]": ["increment[1]"],
    }


def test_diamond_joins_two_branches_of_one_root() -> None:
    assert deps_of(graphs.diamond().build()) == {
        "top": [],
        "left": ["top"],
        "right": ["top"],
        "bottom": ["left", "right"],
    }


def test_the_workflow_name_defaults_to_the_function_name() -> None:
    @workflow
    def nightly() -> None: ...

    @workflow(name="weekly")
    def other() -> None: ...

    assert (nightly.name, other.name) == ("nightly", "weekly")
    assert nightly.build().workflow == "nightly"


# -- dependencies ---------------------------------------------------------------------------


def test_handles_inside_lists_tuples_dicts_and_sets_become_dependencies() -> None:
    @workflow
    def pipeline() -> Any:
        a, b, c, d, e = (load(name=n) for n in "abcde")
        return combine([a, [b]], (c,), {e}, named={"d": d})

    graph = pipeline.build()

    assert graph.nodes["combine"].deps == ["a", "b", "c", "e", "d"]
    assert graph.nodes["combine"].has_handles


def test_a_handle_passed_twice_is_one_dependency() -> None:
    @workflow
    def pipeline() -> Any:
        data = load()
        return combine(data, [data], named=data)

    assert pipeline.build().nodes["combine"].deps == ["load"]


def test_constant_arguments_are_not_dependencies() -> None:
    @workflow
    def pipeline() -> Any:
        return combine(1, [2, 3], named={"k": "v"})

    node = pipeline.build().nodes["combine"]

    assert node.deps == []
    assert not node.has_handles
    assert node.args == (1, [2, 3])


def test_fan_out_joins_the_branches_through_a_list_of_handles() -> None:
    graph = graphs.fan_out(3).build()

    assert graph.nodes["collect"].deps == ["branch[0]", "branch[1]", "branch[2]"]
    assert all(graph.nodes[f"branch[{i}]"].deps == ["spread"] for i in range(3))


# -- maps -----------------------------------------------------------------------------------


def test_a_static_map_makes_one_numbered_node_per_element_and_gathers_them() -> None:
    @workflow
    def pipeline() -> Any:
        return score.map([10, 20, 30])

    graph = pipeline.build()

    assert list(graph.nodes) == ["score[0]", "score[1]", "score[2]", "score"]
    assert [graph.nodes[f"score[{i}]"].args for i in range(3)] == [(10,), (20,), (30,)]
    assert [graph.nodes[f"score[{i}]"].map_index for i in range(3)] == [0, 1, 2]
    assert graph.nodes["score"].kind == "gather"
    assert graph.nodes["score"].deps == ["score[0]", "score[1]", "score[2]"]


def test_a_static_map_passes_its_constants_to_every_element_and_can_be_named() -> None:
    @workflow
    def pipeline() -> Any:
        return score.map([1, 2], factor=10, name="scaled")

    graph = pipeline.build()

    assert list(graph.nodes) == ["scaled[0]", "scaled[1]", "scaled"]
    assert graph.nodes["scaled[0]"].kwargs == {"factor": 10}
    assert graph.nodes["scaled[1]"].kwargs == {"factor": 10}


def test_a_static_map_over_handles_depends_on_each_element_handle() -> None:
    @workflow
    def pipeline() -> Any:
        return score.map([load(name="a"), load(name="b")])

    graph = pipeline.build()

    assert graph.nodes["score[0]"].deps == ["a"]
    assert graph.nodes["score[1]"].deps == ["b"]


def test_a_map_over_a_handle_is_one_dynamic_node_expanded_at_run_time() -> None:
    @workflow
    def pipeline() -> Any:
        return score.map(load(), factor=2)

    graph = pipeline.build()

    assert list(graph.nodes) == ["load", "score"]
    assert graph.nodes["score"].kind == "map"
    assert graph.nodes["score"].deps == ["load"]
    assert graph.nodes["score"].kwargs == {"factor": 2}


def test_an_explicit_name_taken_by_a_static_map_element_is_refused() -> None:
    @workflow
    def pipeline() -> Any:
        return score.map([1, 2]), load(name="score[0]")

    with pytest.raises(DefinitionError, match=r"score\[0\]"):
        pipeline.build()


def test_a_map_over_something_not_iterable_is_refused() -> None:
    @workflow
    def pipeline() -> Any:
        return score.map(42)  # type: ignore[arg-type]

    with pytest.raises(OptionError, match="map needs an iterable or handle") as raised:
        pipeline.build()
    assert raised.value.option == "map"


# -- handles are not values -----------------------------------------------------------------


MISUSES = {
    "truth value": lambda h: bool(h),
    "addition": lambda h: h + 1,
    "reflected addition": lambda h: 1 + h,
    "multiplication": lambda h: h * 2,
    "comparison": lambda h: h < 3,
    "iteration": lambda h: [x for x in h],
    "f-string": lambda h: f"data: {h}",
    "len": lambda h: len(h),
    "indexing": lambda h: h[0],
    "attribute": lambda h: h.shape,
    "int": lambda h: int(h),
    "negation": lambda h: -h,
    "membership": lambda h: 3 in h,
}


@pytest.mark.parametrize("misuse", MISUSES.values(), ids=MISUSES.keys())
def test_using_a_handle_as_a_value_while_building_is_refused(misuse: Any) -> None:
    @workflow
    def pipeline() -> Any:
        return misuse(load())

    with pytest.raises(HandleMisuseError) as raised:
        pipeline.build()
    assert raised.value.task == "load"
    assert "'load'" in str(raised.value)
    assert isinstance(raised.value, TypeError)
    assert isinstance(raised.value, DefinitionError)


def test_branching_on_a_handle_says_what_to_do_instead() -> None:
    @workflow
    def pipeline() -> Any:
        data = load()
        if data:
            return train(data)
        return None

    with pytest.raises(HandleMisuseError, match="truth value") as raised:
        pipeline.build()
    assert "pass the handle to another task" in str(raised.value)


@pytest.mark.parametrize(
    "misuse",
    [str, lambda h: "data: %s" % h],  # noqa: UP031
    ids=["str", "percent"],
)
def test_turning_a_handle_into_text_is_refused_like_an_f_string(misuse: Any) -> None:
    @workflow
    def pipeline() -> Any:
        return shell("echo " + misuse(load()))

    with pytest.raises(HandleMisuseError):
        pipeline.build()


# -- outside a workflow, tasks are plain functions --------------------------------------------


def test_calling_a_task_outside_a_workflow_runs_the_function() -> None:
    assert train([1], size=7) == "model-7"
    assert load() == [1, 2, 3]


def test_mapping_outside_a_workflow_runs_the_function_on_each_element() -> None:
    assert score.map([1, 2, 3], factor=3) == [3, 6, 9]


def test_a_shell_task_outside_a_workflow_runs_the_command_here() -> None:
    assert shell("echo {word}", word="two words") == "two words\n"
    with pytest.raises(ShellCommandError) as raised:
        shell("exit 4")
    assert raised.value.returncode == 4


def test_a_shell_task_outside_a_workflow_adds_env_to_the_environment_like_in_a_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PODIUM_TEST_INHERITED", "inherited")

    output = shell('echo "$GREETING $PODIUM_TEST_INHERITED"', env={"GREETING": "hi"})

    assert output == "hi inherited\n"


# -- task options ---------------------------------------------------------------------------


def test_isolation_defaults_to_thread_for_functions_and_async_for_coroutines() -> None:
    @task
    def sync_step() -> None: ...

    @task
    async def async_step() -> None: ...

    assert (sync_step.isolation, async_step.isolation) == ("thread", "async")
    assert graphs.square_in_process.isolation == "process"


@pytest.mark.parametrize(
    ("is_async", "isolation"),
    [(False, "gpu"), (False, "async"), (True, "thread"), (True, "process")],
)
def test_an_isolation_that_cannot_run_the_function_is_refused(
    is_async: bool, isolation: str
) -> None:
    async def coroutine() -> None: ...

    def function() -> None: ...

    with pytest.raises(OptionError) as raised:
        task(isolation=isolation)(coroutine if is_async else function)  # type: ignore[call-overload]
    assert raised.value.option == "isolation"
    assert raised.value.value == isolation


def test_tags_given_as_one_string_are_refused() -> None:
    with pytest.raises(OptionError, match="tags must be a list"):
        task(tags="gpu")(lambda: None)


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "4"])
def test_max_workers_must_be_a_positive_integer(value: Any) -> None:
    with pytest.raises(OptionError) as raised:
        Orchestrator(max_workers=value)
    assert (raised.value.option, raised.value.value) == ("max_workers", value)


# -- validation -----------------------------------------------------------------------------


def test_a_cycle_is_refused_with_the_cycle_spelled_out() -> None:
    with pytest.raises(CycleError) as raised:
        graphs.cycle().graph()

    assert str(raised.value) == "the graph has a cycle: alpha -> beta -> gamma -> alpha"
    assert raised.value.cycle == ["alpha", "beta", "gamma", "alpha"]


def test_a_cycle_names_only_the_tasks_on_it() -> None:
    orchestrator = graphs.cycle()
    orchestrator.add_task(Task("start"))
    orchestrator.add_task(Task("report", ["start", "gamma"]))

    with pytest.raises(CycleError) as raised:
        orchestrator.graph()
    assert raised.value.cycle == ["alpha", "beta", "gamma", "alpha"]


def test_a_task_that_needs_itself_is_a_cycle() -> None:
    orchestrator = Orchestrator()
    orchestrator.add_task(Task("loop", ["loop"]))

    with pytest.raises(CycleError, match="loop -> loop"):
        orchestrator.graph()


def test_an_unknown_dependency_names_the_task_and_the_missing_name() -> None:
    orchestrator = Orchestrator()
    orchestrator.add_task(Task("Model Training", ["Data Preparation"]))

    with pytest.raises(UnknownDependencyError) as raised:
        orchestrator.graph()

    assert raised.value.task == "Model Training"
    assert raised.value.missing == "Data Preparation"
    assert "'Model Training' depends on 'Data Preparation'" in str(raised.value)


def test_a_handle_from_another_workflow_is_an_unknown_dependency() -> None:
    leaked: list[Any] = []

    @workflow
    def first() -> Any:
        leaked.append(load(name="elsewhere"))

    @workflow
    def second() -> Any:
        return train(leaked[0])

    first.build()
    with pytest.raises(UnknownDependencyError) as raised:
        second.build()
    assert (raised.value.task, raised.value.missing) == ("train", "elsewhere")


def test_two_tasks_with_one_explicit_name_are_refused() -> None:
    @workflow
    def pipeline() -> Any:
        return load(name="data"), train(1, name="data")

    with pytest.raises(DuplicateTaskError) as raised:
        pipeline.build()
    assert raised.value.name == "data"
    assert "'data'" in str(raised.value)


def test_adding_a_second_seed_task_with_a_taken_name_is_refused() -> None:
    orchestrator = Orchestrator()
    orchestrator.add_task(Task("train"))

    with pytest.raises(DuplicateTaskError):
        orchestrator.add_task(Task("train"))


def test_seed_dependencies_must_be_a_list_of_names() -> None:
    with pytest.raises(OptionError) as raised:
        Task("Model Training", "Data Preparation")
    assert raised.value.option == "dependencies"


# -- parameters -----------------------------------------------------------------------------


@workflow
def parametrised(n: int, label: str = "run", sizes: list[int] | None = None) -> None:
    return None


def test_parameters_typed_on_a_command_line_are_read_as_json_unless_declared_str() -> None:
    bound = parametrised.bind({"n": "3", "label": "7", "sizes": "[1, 2]"}, from_text=True)

    assert bound == {"n": 3, "label": "7", "sizes": [1, 2]}


def test_a_parameter_that_fails_its_type_hint_names_the_parameter_and_the_value() -> None:
    with pytest.raises(ParameterError) as raised:
        parametrised.build({"n": "abc"}, from_text=True)

    assert (raised.value.param, raised.value.value) == ("n", "abc")
    assert "'n'" in str(raised.value)
    assert "'abc'" in str(raised.value)
    assert "expected int" in str(raised.value)


def test_an_unknown_parameter_is_refused_and_the_known_ones_are_listed() -> None:
    with pytest.raises(ParameterError, match="unknown parameter") as raised:
        parametrised.bind({"n": 1, "m": 2})

    assert raised.value.param == "m"
    assert "n, label, sizes" in str(raised.value)


def test_a_missing_required_parameter_is_refused() -> None:
    with pytest.raises(ParameterError, match="missing required parameter") as raised:
        parametrised.bind({})
    assert raised.value.param == "n"


def test_defaults_fill_in_the_parameters_not_given() -> None:
    assert parametrised.bind({"n": 1}) == {"n": 1, "label": "run", "sizes": None}


# -- the error tree -------------------------------------------------------------------------


ERRORS = [
    CycleError(["alpha", "beta", "alpha"]),
    UnknownDependencyError("train", "prepare", ["train"]),
    DuplicateTaskError("train"),
    WorkflowNotFoundError("flow.py", "nightly", ["weekly"]),
    WorkflowLoadError("flow.py", "SyntaxError"),
    ParameterError("n", "abc", "expected int"),
    OptionError("max_workers", 0, "must be a positive integer"),
    HandleMisuseError("load", "iteration"),
    RunNotFoundError("run-1"),
    RunOwnedError("run-1", "pid 1 on host", 0.5),
    RunNotResumableError("run-1", "succeeded"),
    RunFailedError("run-1", "failed", ["train"]),
    ShellCommandError("exit 3", 3),
    WorkerLostError("exit code -9"),
    SchemaVersionError("podium.db", 9, 1),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_survives_pickling_with_its_message_and_fields(error: PodiumError) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.message == error.message
    assert vars(copy) == vars(error)


def test_definition_errors_are_told_apart_from_run_errors() -> None:
    definition = [
        CycleError,
        UnknownDependencyError,
        DuplicateTaskError,
        ParameterError,
        OptionError,
        HandleMisuseError,
        WorkflowLoadError,
        WorkflowNotFoundError,
    ]

    assert all(issubclass(kind, DefinitionError) for kind in definition)
    assert not issubclass(RunFailedError, DefinitionError)
    assert all(issubclass(type(error), PodiumError) for error in ERRORS)


# -- refused at definition time ------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "a[0]", "b]", 3])
def test_a_name_given_at_the_call_must_be_text_without_brackets(name: Any) -> None:
    @workflow
    def pipeline() -> Any:
        return load(name=name)

    with pytest.raises(OptionError, match="without brackets"):
        pipeline.build()


def test_a_shell_field_without_a_value_is_refused_when_the_graph_is_built() -> None:
    @workflow
    def pipeline() -> Any:
        return shell("wc -l {path} {other}", path="x")

    with pytest.raises(OptionError, match=r"no value given for field\(s\) other"):
        pipeline.build()


def test_a_seed_task_given_a_function_as_dependencies_says_to_use_fn() -> None:
    with pytest.raises(OptionError, match="pass the function as fn="):
        Task("Model Training", lambda: None)  # type: ignore[arg-type]


def test_command_line_text_is_checked_as_text_before_json() -> None:
    @workflow
    def pipeline(label: str | None = None, sizes: list[int] | None = None) -> Any:
        return load()

    bound = pipeline.bind({"label": "12", "sizes": "[1,2]"}, from_text=True)
    assert bound == {"label": "12", "sizes": [1, 2]}


def test_a_handle_from_another_workflow_naming_a_later_node_cannot_make_a_cycle() -> None:
    leaked: list[Any] = []

    @workflow
    def first() -> Any:
        leaked.append(load(name="late"))

    @workflow
    def second() -> Any:
        early = train(leaked[0], name="early")  # depends on "late", by name...
        return load(early, name="late")  # ...which depends on "early"

    first.build()
    with pytest.raises(CycleError, match="early -> late -> early"):
        second.build()
