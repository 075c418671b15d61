"""Loading ``FILE[:NAME]``: import a workflow file and find the workflow or Orchestrator."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle

from podium.errors import WorkflowLoadError, WorkflowNotFoundError
from podium.model.graph import Graph
from podium.model.loading import loading
from podium.runner.workflow import Workflow
from podium.seed import Orchestrator


@dataclass
class Target:
    """A workflow (or seed Orchestrator) found in a file."""

    path: Path
    name: str
    definition: Workflow | Orchestrator

    @property
    def source(self) -> str:
        """``FILE:NAME`` with an absolute path, as stored in the run record."""
        return f"{self.path}:{self.name}"

    @property
    def workflow_name(self) -> str:
        return self.definition.name

    def bind(self, params: dict[str, Any], *, from_text: bool) -> dict[str, Any]:
        """Checked parameters (an Orchestrator takes none)."""
        if isinstance(self.definition, Orchestrator):
            if params:
                from podium.errors import ParameterError

                name = next(iter(params))
                raise ParameterError(name, params[name], "an Orchestrator takes no parameters")
            return {}
        return self.definition.bind(params, from_text=from_text)

    def build(self, bound: dict[str, Any]) -> Graph:
        """The validated graph for checked parameters."""
        if isinstance(self.definition, Orchestrator):
            return self.definition.graph()
        return self.definition.build(bound)


def split_target(target: str) -> tuple[str, str | None]:
    """``"flow.py:train"`` -> ``("flow.py", "train")``; ``"flow.py"`` -> ``("flow.py", None)``."""
    path, sep, name = target.rpartition(":")
    if not sep or not path or "/" in name or name.endswith(".py"):
        return target, None
    return path, name or None


def load_target(target: str) -> Target:
    """Import the file of ``target`` and return the workflow it names (or its only one).

    Raises WorkflowLoadError (missing file, import error) or WorkflowNotFoundError.
    """
    file_text, name = split_target(target)
    path = Path(file_text).expanduser().resolve()
    if not path.is_file():
        raise WorkflowLoadError(file_text, "no such file")
    module = _import(path, file_text)
    found: dict[str, Workflow | Orchestrator] = {}
    for attribute, value in vars(module).items():
        if isinstance(value, (Workflow, Orchestrator)) and not attribute.startswith("_"):
            if all(value is not seen for seen in found.values()):
                found[attribute] = value
    if name is not None:
        for attribute, value in found.items():
            if name in (attribute, value.name):
                return Target(path, attribute, value)
        raise WorkflowNotFoundError(file_text, name, list(found))
    if len(found) != 1:
        raise WorkflowNotFoundError(file_text, None, list(found))
    attribute, value = next(iter(found.items()))
    return Target(path, attribute, value)


def _import(path: Path, shown: str) -> Any:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f"podium_workflow_{path.stem}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise WorkflowLoadError(shown, "not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        with loading():
            spec.loader.exec_module(module)
    except BaseException as error:
        del sys.modules[module_name]
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        raise WorkflowLoadError(shown, _brief(error, path)) from None
    cloudpickle.register_pickle_by_value(module)
    return module


def _brief(error: BaseException, path: Path) -> str:
    """``NameError: name 'x' is not defined (line 12)``: the error and where in the file."""
    line = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if Path(frame.filename).resolve() == path:
            line = f" (line {frame.lineno})"
            break
    if isinstance(error, SyntaxError) and error.lineno:
        line = f" (line {error.lineno})"
    message = str(error.msg if isinstance(error, SyntaxError) else error)
    return f"{type(error).__name__}: {message}{line}"
