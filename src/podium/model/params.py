"""Workflow parameters: checked against the workflow function's signature and type hints."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from podium.errors import ParameterError


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a workflow: its name, type hint and default."""

    name: str
    annotation: Any
    default: Any

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


def parameters_of(function: Callable[..., Any]) -> list[Parameter]:
    """The parameters of ``function``, with resolved type hints (Any where none is given)."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # an unresolvable forward reference: fall back to no hints
        hints = {}
    result = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        result.append(Parameter(parameter.name, hints.get(parameter.name, Any), parameter.default))
    return result


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["n=3", "name=x"]`` -> ``{"n": "3", "name": "x"}``; raises ParameterError."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(pair, pair, "expected KEY=VALUE")
        values[key.strip()] = value
    return values


def bind_parameters(
    declared: list[Parameter], given: Mapping[str, Any] | None, *, from_text: bool = False
) -> dict[str, Any]:
    """Check ``given`` against ``declared`` and return all values, defaults filled in.

    With ``from_text`` (values typed on a command line), a value is read as JSON when its
    parameter is not a plain ``str``, so ``-p n=3`` gives the int 3 and ``-p xs=[1,2]`` a list.
    Raises ParameterError naming the parameter and the value.
    """
    given = dict(given or {})
    by_name = {parameter.name: parameter for parameter in declared}
    for name in given:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise ParameterError(name, given[name], f"unknown parameter (parameters: {known})")
    bound: dict[str, Any] = {}
    for parameter in declared:
        if parameter.name not in given:
            if parameter.required:
                raise ParameterError(parameter.name, None, "missing required parameter")
            bound[parameter.name] = parameter.default
            continue
        bound[parameter.name] = _coerce(parameter, given[parameter.name], from_text)
    return bound


def _coerce(parameter: Parameter, value: Any, from_text: bool) -> Any:
    """``value`` checked against the parameter's hint. Text from a command line is tried as
    it is first, then as JSON (so ``-p xs=[1,2]`` gives a list and ``-p label=12`` for
    ``label: str | None`` stays the text "12")."""
    if parameter.annotation is Any:
        return _from_text(value) if from_text else value
    from pydantic import PydanticSchemaGenerationError, TypeAdapter, ValidationError

    try:
        adapter = TypeAdapter(parameter.annotation)
    except PydanticSchemaGenerationError:  # a type pydantic cannot check: accept as given
        return value
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        failure = error
    decoded = _from_text(value) if from_text else value
    if decoded is not value:
        try:
            return adapter.validate_python(decoded)
        except ValidationError:
            pass
    reason = failure.errors()[0].get("msg", "invalid value")
    type_name = _type_name(parameter.annotation)
    raise ParameterError(parameter.name, value, f"expected {type_name}: {reason}") from None


def _type_name(annotation: Any) -> str:
    """``int`` for classes; ``Literal['a', 'b']`` or ``list[int]`` for other hints."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _from_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
