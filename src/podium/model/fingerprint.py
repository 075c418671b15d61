"""Content fingerprints: the hashes behind task result caching (``@task(cache=True)``).

``fingerprint(value)`` is the sha256 of a canonical encoding of a value's content, streamed
into one hasher. Every piece is type-tagged and length-prefixed, so ``1``, ``1.0``, ``True``,
``"1"`` and ``b"1"`` differ, as do ``[1, 2]`` and ``(1, 2)``, ``["ab"]`` and ``["a", "b"]``.
Nothing process-specific is hashed (no ``hash()``, ``id()`` or ``repr()``; dict and set
order do not count), so the same content gives the same hex digest in every process and
interpreter. ``fingerprint_arguments`` gives one per argument, so a cache miss can name the
argument that changed; ``code_fingerprint`` stands for a function's code.

What counts as a value's content:

* builtins: None, bool, int, float (``float.hex``, one NaN), complex, str, bytes, bytearray,
  memoryview, list, tuple, dict (text keys in sorted order, other entries by sorted digest),
  set and frozenset (sorted element digests), range, slice, Ellipsis; a subclass adds its
  class and its ``__dict__``;
* the standard library: Enum, datetime, date, time (with their time zone), timedelta,
  Decimal, Fraction, UUID, pathlib paths, OrderedDict (in order), deque, re.Pattern;
* numpy arrays (dtype, shape, raw bytes; object arrays element by element) and scalars,
  pandas DataFrame, Series and Index (class, labels, dtypes and values), pydantic models
  (class and ``model_dump()``);
* code and every other object: classes by module and qualified name; functions also by
  ``code_fingerprint``, defaults and closure (not the globals they read); dataclass instances
  by class and fields; exceptions by class, ``args`` and attributes; any other object by its
  ``__podium_fingerprint__()`` (bytes or str) when it has one, else its class and its
  ``__getstate__()`` or its ``__dict__`` and ``__slots__`` attributes.

Generators, coroutines, files, sockets, locks, threads and modules have no content, and a
container that contains itself has no finite one: both raise CacheKeyError naming where the
input is inside the arguments (``args[0]['x'][2]``, ``config.model``).

This module holds the public functions, the walk, and the encoders of builtins and the
standard library, dispatched by exact type. podium.model.fingerprint_data holds the numpy,
pandas and pydantic encoders; podium.model.fingerprint_objects those of code and of any
other object, with the order of the rules it applies. Both import this module, so it imports
them at first use. numpy, pandas and pydantic are never imported: a value of theirs exists
only once they are, so they are looked up in ``sys.modules``.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import functools
import hashlib
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

from podium.errors import CacheKeyError

__all__ = ["code_fingerprint", "fingerprint", "fingerprint_arguments"]

_Update = Callable[[bytes | bytearray | memoryview], None]
_Feed = Callable[[Any, _Update, set[int]], None]

_LENGTH = struct.Struct(">Q").pack
_CYCLE = "it contains itself (a container inside itself has no finite content)"
_MAX_WRAPPERS = 100
_TEXT = frozenset((str,))


def fingerprint(value: Any, *, task: str = "?") -> str:
    """Hex sha256 of a canonical, type-tagged encoding of ``value``'s content.

    Equal content gives the same digest in any process (see the module docstring for what
    counts as content). Raises CacheKeyError (for ``task``, with the path inside ``value``)
    when part of it has no content or contains itself.
    """
    return _digest(value, task, "value")


def fingerprint_arguments(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], *, task: str = "?"
) -> dict[str, str]:
    """One fingerprint per argument, keyed ``"args[0]"``, ``"args[1]"``, ... and by keyword
    name, so a cache miss can say which argument changed. Raises CacheKeyError naming the
    first input that cannot be fingerprinted (``args[0]['x'][2]``, ``config.model``)."""
    fingerprints = {}
    for index, arg in enumerate(args):
        root = f"args[{index}]"
        fingerprints[root] = _digest(arg, task, root)
    for name, arg in kwargs.items():
        fingerprints[name] = _digest(arg, task, name)
    return fingerprints


def code_fingerprint(fn: Callable[..., Any]) -> str:
    """Hex sha256 standing for ``fn``'s code: its source (``inspect.getsource``, dedented);
    where there is none, its code object (bytecode, constants including nested code, names),
    which is stable across processes of one Python version.

    ``functools.partial`` layers are unwrapped, their arguments' fingerprints included;
    ``__wrapped__`` chains are followed to the innermost function. A lambda's source is the
    whole line it is on, so its code object is added. A callable object stands for its
    class's code; a builtin for its name. Raises CacheKeyError (task ``"?"``) when a
    partial's argument cannot be fingerprinted.
    """
    hasher = hashlib.sha256()
    for _ in range(_MAX_WRAPPERS):
        if isinstance(fn, functools.partial):
            try:
                _feed_part(".args", fn.args, hasher.update, set())
                _feed_part(".keywords", fn.keywords, hasher.update, set())
            except _NoContent as error:
                raise CacheKeyError("?", "partial" + error.path(), error.reason) from None
            fn = fn.func
            continue
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is None:
            break
        fn = wrapped
    from podium.model.fingerprint_objects import code_digest  # it imports this module

    hasher.update(code_digest(fn))
    return hasher.hexdigest()


# -- the walk ------------------------------------------------------------------------------


class _NoContent(Exception):
    """Part of a value cannot be fingerprinted; ``segments`` is its path, innermost first."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.segments: list[str] = []

    def path(self) -> str:
        return "".join(reversed(self.segments))


def _digest(value: Any, task: str, root: str) -> str:
    hasher = hashlib.sha256()
    try:
        _feed(value, hasher.update, set())
    except _NoContent as error:
        raise CacheKeyError(task, root + error.path(), error.reason) from error.__cause__
    except RecursionError:
        reason = "it is nested deeper than Python's recursion limit"
        raise CacheKeyError(task, root, reason) from None
    return hasher.hexdigest()


def _feed(value: Any, update: _Update, active: set[int]) -> None:
    """Write ``value``'s encoding. ``active`` holds the ids of the containers being walked
    (only to catch cycles; ids are never hashed)."""
    _HANDLERS.get(type(value), _feed_other)(value, update, active)


def _sub_digest(value: Any, active: set[int]) -> bytes:
    hasher = hashlib.sha256()
    _feed(value, hasher.update, active)
    return hasher.digest()


def _enter(value: Any, active: set[int]) -> int:
    key = id(value)
    if key in active:
        raise _NoContent(_CYCLE)
    active.add(key)
    return key


def _feed_part(segment: str, value: Any, update: _Update, active: set[int]) -> None:
    try:
        _feed(value, update, active)
    except _NoContent as error:
        error.segments.append(segment)
        raise


def _feed_text(tag: bytes, text: str, update: _Update) -> None:
    data = text.encode("utf-8", "surrogatepass")
    update(tag + _LENGTH(len(data)) + data)


def _qualified(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "?")
    return f"{getattr(obj, '__module__', None)}.{name}"


def _label(key: Any) -> str:
    """A short label of a dict key or set element, for error paths only."""
    if key is None or type(key) in (str, int, float, bool, bytes):
        text = repr(key)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"<{type(key).__qualname__}>"


# -- builtins and the standard library ----------------------------------------------------


def _constant(tag: bytes) -> _Feed:
    """A handler for a type with a single value (None, Ellipsis)."""

    def feed(value: Any, update: _Update, active: set[int]) -> None:
        update(tag)

    return feed


def _text_form(tag: bytes, form: Callable[[Any], str]) -> _Feed:
    """A handler writing ``tag`` and ``form(value)``, a text that says all of the value."""

    def feed(value: Any, update: _Update, active: set[int]) -> None:
        _feed_text(tag, form(value), update)

    return feed


def _buffer(tag: bytes) -> _Feed:
    """A handler for bytes-like values: ``tag``, the length, then the bytes (not copied)."""

    def feed(value: Any, update: _Update, active: set[int]) -> None:
        update(tag + _LENGTH(len(value)))
        update(value)

    return feed


def _sequence(tag: bytes) -> _Feed:
    """A handler for ordered containers: ``tag``, the count, then each item."""

    def feed(value: Any, update: _Update, active: set[int]) -> None:
        key = _enter(value, active)
        update(tag + _LENGTH(len(value)))
        index = -1
        try:
            for item in value:
                index += 1
                _feed(item, update, active)
        except _NoContent as error:
            error.segments.append(f"[{index}]")
            raise
        finally:
            active.discard(key)

    return feed


def _unordered(tag: bytes) -> _Feed:
    """A handler for sets: ``tag``, the count, then the sorted digests of the elements."""

    def feed(value: Any, update: _Update, active: set[int]) -> None:
        key = _enter(value, active)
        try:
            digests = []
            for item in value:
                try:
                    digests.append(_sub_digest(item, active))
                except _NoContent as error:
                    error.segments.append(f"{{{_label(item)}}}")
                    raise
        finally:
            active.discard(key)
        digests.sort()
        update(tag + _LENGTH(len(digests)) + b"".join(digests))

    return feed


def _feed_bool(value: bool, update: _Update, active: set[int]) -> None:
    update(b"T" if value else b"F")


def _feed_int(value: int, update: _Update, active: set[int]) -> None:
    data = int.to_bytes(value, (int.bit_length(value) + 8) // 8, "big", signed=True)
    update(b"i" + _LENGTH(len(data)) + data)


def _float_bytes(value: float) -> bytes:
    text = b"nan" if value != value else float.hex(value).encode("ascii")
    return bytes((len(text),)) + text


def _feed_float(value: float, update: _Update, active: set[int]) -> None:
    update(b"f" + _float_bytes(value))


def _feed_complex(value: complex, update: _Update, active: set[int]) -> None:
    update(b"c" + _float_bytes(value.real) + _float_bytes(value.imag))


def _feed_str(value: str, update: _Update, active: set[int]) -> None:
    data = str.encode(value, "utf-8", "surrogatepass")
    update(b"s" + _LENGTH(len(data)) + data)


def _feed_memoryview(value: memoryview, update: _Update, active: set[int]) -> None:
    _feed_text(b"m", value.format, update)
    _feed_tuple(value.shape or (), update, active)
    update(_LENGTH(value.nbytes))
    update(value if value.c_contiguous else value.tobytes())


def _feed_range(value: range, update: _Update, active: set[int]) -> None:
    update(b"r")
    for part in (value.start, value.stop, value.step):
        _feed_int(part, update, active)


def _feed_slice(value: slice, update: _Update, active: set[int]) -> None:
    update(b"/")
    _feed_tuple((value.start, value.stop, value.step), update, active)


def _feed_fields(
    tag: bytes, pairs: list[tuple[str, Any]], update: _Update, active: set[int], segment: str
) -> None:
    """``tag``, the count, then each (text name, value) of ``pairs`` in the order given;
    ``segment`` formats a name into the error path."""
    update(tag + _LENGTH(len(pairs)))
    for name, item in pairs:
        data = name.encode("utf-8", "surrogatepass")
        update(b"s" + _LENGTH(len(data)) + data)
        try:
            _feed(item, update, active)
        except _NoContent as error:
            error.segments.append(segment.format(name))
            raise


def _feed_named_fields(
    tag: bytes, value: Any, pairs: list[tuple[str, Any]], update: _Update, active: set[int]
) -> None:
    """``tag``, the class, then (name, value) pairs with ``.name`` error paths."""
    key = _enter(value, active)
    try:
        _feed_text(tag, _qualified(type(value)), update)
        _feed_fields(b"d", pairs, update, active, ".{}")
    finally:
        active.discard(key)


def _feed_dict(value: dict[Any, Any], update: _Update, active: set[int]) -> None:
    """Text keys (the common case): entries sorted by key. Other keys: the sorted digests of
    the entries. Either way insertion order does not count."""
    key = _enter(value, active)
    try:
        if _TEXT.issuperset(map(type, value)):
            _feed_fields(b"d", sorted(dict.items(value)), update, active, "[{!r}]")
            return
        entries = []
        for name, item in dict.items(value):
            try:
                entries.append(_sub_digest(name, active) + _sub_digest(item, active))
            except _NoContent as error:
                error.segments.append(f"[{_label(name)}]")
                raise
        entries.sort()
        update(b"g" + _LENGTH(len(entries)) + b"".join(entries))
    finally:
        active.discard(key)


def _feed_ordered_dict(value: Any, update: _Update, active: set[int]) -> None:
    """An OrderedDict's order is part of its value (two orders compare unequal)."""
    key = _enter(value, active)
    try:
        update(b"O")
        _feed_list(list(value.items()), update, active)
    finally:
        active.discard(key)


def _feed_deque(value: collections.deque[Any], update: _Update, active: set[int]) -> None:
    _feed(value.maxlen, update, active)
    _feed_deque_items(value, update, active)


def _feed_enum(value: enum.Enum, update: _Update, active: set[int]) -> None:
    _feed_text(b"E", _qualified(type(value)), update)
    _feed_part(".value", value.value, update, active)


def _feed_pattern(value: re.Pattern[Any], update: _Update, active: set[int]) -> None:
    update(b"R")
    _feed(value.pattern, update, active)
    _feed_int(value.flags, update, active)


def _zone(tzinfo: dt.tzinfo | None, moment: dt.datetime | None) -> str:
    """A time zone by name where it has one (zoneinfo, pytz), else by offset and name."""
    if tzinfo is None:
        return ""
    key = getattr(tzinfo, "key", None) or getattr(tzinfo, "zone", None)
    if isinstance(key, str):
        return f"{_qualified(type(tzinfo))}:{key}"
    return f"{_qualified(type(tzinfo))}:{tzinfo.utcoffset(moment)}:{tzinfo.tzname(moment)}"


def _with_class(value: Any) -> str:
    return f"{_qualified(type(value))}|{value}"


def _fraction_form(value: Any) -> str:  # in hex: decimal text of a huge int is refused
    return f"{_qualified(type(value))}|{value.numerator:x}/{value.denominator:x}"


_feed_none = _constant(b"N")
_feed_list = _sequence(b"l")
_feed_tuple = _sequence(b"t")
_feed_deque_items = _sequence(b"k")
_feed_bytes = _buffer(b"b")

_LAZY_TYPES: tuple[tuple[str, str, _Feed], ...] = (
    ("pathlib", "PurePath", _text_form(b"p", _with_class)),
    ("decimal", "Decimal", _text_form(b"q", _with_class)),
    ("fractions", "Fraction", _text_form(b"Q", _fraction_form)),
    ("uuid", "UUID", _text_form(b"u", lambda v: f"{_qualified(type(v))}|{v.hex}")),
)
"""Standard types whose modules podium does not import: (module, class, handler)."""


# -- dispatch ------------------------------------------------------------------------------


def _feed_other(value: Any, update: _Update, active: set[int]) -> None:
    """Any type not in _HANDLERS: code and other objects, in podium.model.fingerprint_objects
    (imported at first use, as it imports this module)."""
    from podium.model.fingerprint_objects import feed_other  # it imports this module

    feed_other(value, update, active)


_SUBCLASSABLE: tuple[tuple[type, _Feed], ...] = (
    (int, _feed_int),
    (float, _feed_float),
    (complex, _feed_complex),
    (str, _feed_str),
    (bytes, _feed_bytes),
    (bytearray, _buffer(b"B")),
    (list, _feed_list),
    (tuple, _feed_tuple),
    (collections.OrderedDict, _feed_ordered_dict),
    (dict, _feed_dict),
    (frozenset, _unordered(b"z")),
    (set, _unordered(b"e")),
    (collections.deque, _feed_deque),
    (dt.datetime, _text_form(b"D", lambda v: f"{v.isoformat()}|{v.fold}|{_zone(v.tzinfo, v)}")),
    (dt.date, _text_form(b"J", lambda v: v.isoformat())),
    (dt.time, _text_form(b"H", lambda v: f"{v.isoformat()}|{v.fold}|{_zone(v.tzinfo, None)}")),
    (  # pandas.Timedelta adds nanoseconds
        dt.timedelta,
        _text_form(
            b"X",
            lambda v: f"{v.days}|{v.seconds}|{v.microseconds}|{getattr(v, 'nanoseconds', 0)}",
        ),
    ),
)
"""The builtin bases a subclass is encoded as (after its class), most derived first."""

_HANDLERS: dict[type, _Feed] = {
    **{base: handler for base, handler in _SUBCLASSABLE},
    type(None): _feed_none,
    bool: _feed_bool,
    memoryview: _feed_memoryview,
    range: _feed_range,
    slice: _feed_slice,
    type(...): _constant(b"."),
    re.Pattern: _feed_pattern,
}
"""The handler of each exact type; any other type goes through ``_feed_other``."""
