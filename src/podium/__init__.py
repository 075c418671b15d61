"""podium: orchestrate AI workflows and AI agents from Python.

from podium import task, workflow

@task
def load() -> list[int]: ...

@workflow
def pipeline(n: int = 3):
    return load()

pipeline.run({"n": 5})
"""

from podium.errors import (
    CycleError,
    DefinitionError,
    DuplicateTaskError,
    GraphChangedError,
    HandleMisuseError,
    OptionError,
    OutsideTaskError,
    ParameterError,
    PodiumError,
    RunError,
    RunFailedError,
    RunNotFoundError,
    RunNotResumableError,
    RunOwnedError,
    ShellCommandError,
    StoreError,
    TaskFailure,
    UnknownDependencyError,
    WorkerLostError,
    WorkflowLoadError,
    WorkflowNotFoundError,
)
from podium.model.context import TaskContext, current_context
from podium.model.handles import Handle
from podium.model.run_result import RunResult, TaskResult
from podium.model.shell import shell
from podium.model.taskdef import TaskDef, task
from podium.runner.workflow import Workflow, workflow
from podium.seed import Orchestrator, Task

__version__ = "0.1.0"

__all__ = [
    "CycleError",
    "DefinitionError",
    "DuplicateTaskError",
    "GraphChangedError",
    "Handle",
    "HandleMisuseError",
    "OptionError",
    "Orchestrator",
    "OutsideTaskError",
    "ParameterError",
    "PodiumError",
    "RunError",
    "RunFailedError",
    "RunNotFoundError",
    "RunNotResumableError",
    "RunOwnedError",
    "RunResult",
    "ShellCommandError",
    "StoreError",
    "Task",
    "TaskContext",
    "TaskDef",
    "TaskFailure",
    "TaskResult",
    "UnknownDependencyError",
    "WorkerLostError",
    "Workflow",
    "WorkflowLoadError",
    "WorkflowNotFoundError",
    "__version__",
    "current_context",
    "shell",
    "task",
    "workflow",
]
