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
    """``value`` with each handle replaced by ``resolve(handle)``.

    Containers holding no handle are returned as they are (not copied); those holding one
    are rebuilt with their own type where it allows (OrderedDict, a namedtuple, a subclass).
    """
    kind = type(value)
    if kind is Handle:
        return resolve(value)
    if kind is tuple:  # the common case: positional arguments
        items = [resolve(item) if type(item) is Handle else substitute(item, resolve)
                 for item in value]  # fmt: skip
        return tuple(items) if any(n is not o for n, o in zip(items, value, strict=True)) else value
    if isinstance(value, Handle):
        return resolve(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [substitute(item, resolve) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*items)
        return _rebuild(value, items)
    if isinstance(value, dict):
        pairs = {key: substitute(item, resolve) for key, item in value.items()}
        if all(pairs[key] is item for key, item in value.items()):
            return value
        copy = value.copy()
        copy.update(pairs)
        return copy
    return value


def _rebuild(value: Any, items: list[Any]) -> Any:
    try:
        return type(value)(items)
    except TypeError:  # a subclass whose constructor takes other arguments
        for base in (list, tuple, set, frozenset):
            if isinstance(value, base):
                return base(items)
        raise


def resolve_by_name(results: Mapping[str, Any]) -> Callable[[Handle], Any]:
    """A resolver looking each handle's node name up in ``results``."""
    return lambda handle: results[handle.node.name]
