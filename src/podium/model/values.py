"""Finding handles inside arguments, and replacing them by results at run time.

Handles are looked for in lists, tuples, dicts (values) and sets; other objects are opaque.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podium.model.handles import Handle


def find_handles(value: Any, found: list[Handle] | None = None) -> list[Handle]:
    """Every handle inside ``value``, in order of appearance (duplicates kept)."""
    if found is None:
        found = []
    if isinstance(value, Handle):
        found.append(value)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            find_handles(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            find_handles(item, found)
    return found


def substitute(value: Any, resolve: Callable[[Handle], Any]) -> Any:
    """A copy of ``value`` with each handle replaced by ``resolve(handle)``."""
    if isinstance(value, Handle):
        return resolve(value)
    if isinstance(value, list):
        return [substitute(item, resolve) for item in value]
    if isinstance(value, tuple):
        items = [substitute(item, resolve) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        return {key: substitute(item, resolve) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(substitute(item, resolve) for item in value)
    return value


def resolve_by_name(results: Mapping[str, Any]) -> Callable[[Handle], Any]:
    """A resolver looking each handle's node name up in ``results``."""
    return lambda handle: results[handle.node.name]
