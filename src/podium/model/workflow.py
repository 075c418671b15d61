"""Workflow definitions: a function whose task calls describe a graph."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podium.errors import OptionError
from podium.model.building import build_graph
from podium.model.graph import Graph
from podium.model.params import Parameter, bind_parameters, parameters_of


class WorkflowDef:
    """A named workflow: calling its function with parameters builds the task graph."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None) -> None:
        if not callable(fn):
            raise OptionError("workflow", fn, "a workflow must wrap a callable")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", "workflow"))
        self.parameters: list[Parameter] = parameters_of(fn)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<workflow {self.name}>"

    def bind(self, params: Mapping[str, Any] | None, *, from_text: bool = False) -> dict[str, Any]:
        """Checked parameter values with defaults filled in (raises ParameterError)."""
        return bind_parameters(self.parameters, params, from_text=from_text)

    def build(self, params: Mapping[str, Any] | None = None, *, from_text: bool = False) -> Graph:
        """The validated graph for these parameters (raises a DefinitionError if invalid)."""
        return build_graph(self.name, self.fn, self.bind(params, from_text=from_text))
