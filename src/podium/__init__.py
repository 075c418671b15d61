"""podium: orchestrate AI workflows and AI agents from Python.

from podium import task, workflow

@task
def load() -> list[int]: ...

@workflow
def pipeline(n: int = 3):
    return load()

pipeline.run({"n": 5})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.engine.limits import Limits, Rate, limits
    from podium.errors import (
        CacheKeyError,
        CycleError,
        DefinitionError,
        DuplicateTaskError,
        Fail,
        GraphChangedError,
        HandleMisuseError,
        OptionError,
        OutsideTaskError,
        ParameterError,
        PodiumError,
        ResourceUnavailableError,
        Retry,
        RunError,
        RunFailedError,
        RunNotFoundError,
        RunNotResumableError,
        RunOwnedError,
        SettingsError,
        ShellCommandError,
        StoreError,
        TaskFailure,
        TimedOut,
        UnknownDependencyError,
        WorkerLostError,
        WorkflowLoadError,
        WorkflowNotFoundError,
    )
    from podium.model.context import TaskContext, current_context
    from podium.model.handles import Handle
    from podium.model.policy import Policy
    from podium.model.run_result import RunResult, TaskResult
    from podium.model.shell import shell
    from podium.model.taskdef import TaskDef, task
    from podium.runner.workflow import Workflow, workflow
    from podium.seed import Orchestrator, Task

__version__ = "0.1.0"

# Exports are imported on first use, so `import podium` (and every worker process) stays
# fast: the engine, the store and the executors load only when a run needs them.
_EXPORTS: dict[str, str] = {
    "CacheKeyError": "podium.errors",
    "CycleError": "podium.errors",
    "DefinitionError": "podium.errors",
    "DuplicateTaskError": "podium.errors",
    "Fail": "podium.errors",
    "GraphChangedError": "podium.errors",
    "HandleMisuseError": "podium.errors",
    "OptionError": "podium.errors",
    "OutsideTaskError": "podium.errors",
    "ParameterError": "podium.errors",
    "PodiumError": "podium.errors",
    "ResourceUnavailableError": "podium.errors",
    "Retry": "podium.errors",
    "RunError": "podium.errors",
    "RunFailedError": "podium.errors",
    "RunNotFoundError": "podium.errors",
    "RunNotResumableError": "podium.errors",
    "RunOwnedError": "podium.errors",
    "SettingsError": "podium.errors",
    "ShellCommandError": "podium.errors",
    "StoreError": "podium.errors",
    "TaskFailure": "podium.errors",
    "TimedOut": "podium.errors",
    "UnknownDependencyError": "podium.errors",
    "WorkerLostError": "podium.errors",
    "WorkflowLoadError": "podium.errors",
    "WorkflowNotFoundError": "podium.errors",
    "TaskContext": "podium.model.context",
    "current_context": "podium.model.context",
    "Handle": "podium.model.handles",
    "Policy": "podium.model.policy",
    "RunResult": "podium.model.run_result",
    "TaskResult": "podium.model.run_result",
    "shell": "podium.model.shell",
    "TaskDef": "podium.model.taskdef",
    "task": "podium.model.taskdef",
    "Workflow": "podium.runner.workflow",
    "workflow": "podium.runner.workflow",
    "Limits": "podium.engine.limits",
    "Rate": "podium.engine.limits",
    "limits": "podium.engine.limits",
    "Orchestrator": "podium.seed",
    "Task": "podium.seed",
}

__all__ = [
    "CacheKeyError",
    "CycleError",
    "DefinitionError",
    "DuplicateTaskError",
    "Fail",
    "GraphChangedError",
    "Handle",
    "HandleMisuseError",
    "Limits",
    "OptionError",
    "Orchestrator",
    "OutsideTaskError",
    "ParameterError",
    "PodiumError",
    "Policy",
    "Rate",
    "ResourceUnavailableError",
    "Retry",
    "RunError",
    "RunFailedError",
    "RunNotFoundError",
    "RunNotResumableError",
    "RunOwnedError",
    "RunResult",
    "SettingsError",
    "ShellCommandError",
    "StoreError",
    "Task",
    "TaskContext",
    "TaskDef",
    "TaskFailure",
    "TaskResult",
    "TimedOut",
    "UnknownDependencyError",
    "WorkerLostError",
    "Workflow",
    "WorkflowLoadError",
    "WorkflowNotFoundError",
    "__version__",
    "current_context",
    "limits",
    "shell",
    "task",
    "workflow",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'podium' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
