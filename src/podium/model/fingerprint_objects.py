"""Content encoders for code and for objects of any other class, used by
podium.model.fingerprint.

The walk in podium.model.fingerprint encodes builtins and the standard library by exact type;
every other value comes to ``feed_other``, which applies the first rule that fits:

* functions by module and qualified name, ``code_digest``, defaults and closure (the values
  in its cells, not the globals it reads); bound methods by function and ``__self__``;
  builtins by name (and the object a builtin method is bound to); partials by function,
  args and keywords; code objects by bytecode, constants, names and argument counts;
* an object whose class has ``__podium_fingerprint__()``: the bytes or str it returns;
* numpy, pandas and pydantic values: podium.model.fingerprint_data;
* enum members by class and value; classes by module and qualified name;
* generators, coroutines, files, sockets, locks, threads, modules, frames and tracebacks have
  no content: CacheKeyError;
* pathlib paths, Decimal, Fraction and UUID (their modules looked up in ``sys.modules``);
* dataclass instances by class and fields; exceptions by class, ``args`` and attributes;
* a subclass of a builtin by its class and ``__dict__``, then the builtin's encoding;
* any other object by its class and its ``__getstate__()`` if the class defines one, else
  its ``__dict__`` and ``__slots__`` attributes sorted by name; an object with none of them
  raises CacheKeyError asking for a ``__podium_fingerprint__()`` method.

``code_digest`` stands for a function's code: its dedented source (a lambda's also its code
object, as its source is the whole line it is on); where there is no source, its code object;
a callable object stands for its class's code, a builtin for its name.

This module imports podium.model.fingerprint at its top; podium.model.fingerprint imports it
at first use.
"""

from __future__ import annotations

import _thread
import dataclasses
import enum
import functools
import hashlib
import inspect
import io
import sys
import textwrap
import types
from typing import Any

from podium.model.fingerprint import (
    _LAZY_TYPES,
    _SUBCLASSABLE,
    _enter,
    _Feed,
    _feed_bytes,
    _feed_enum,
    _feed_int,
    _feed_named_fields,
    _feed_part,
    _feed_text,
    _feed_tuple,
    _NoContent,
    _qualified,
    _Update,
)
from podium.model.fingerprint_data import data_handler

__all__ = ["code_digest", "feed_other"]


# -- code ----------------------------------------------------------------------------------


def _feed_type(value: type, update: _Update, active: set[int]) -> None:
    _feed_text(b"Y", _qualified(value), update)


def _feed_function(value: types.FunctionType, update: _Update, active: set[int]) -> None:
    """Name, code, defaults and closure: a closure's cells change what the function does."""
    key = _enter(value, active)
    try:
        _feed_text(b"n", _qualified(value), update)
        update(code_digest(value))
        _feed_part(".__defaults__", value.__defaults__, update, active)
        _feed_part(".__kwdefaults__", value.__kwdefaults__, update, active)
        cells = value.__closure__ or ()
        for name, cell in zip(value.__code__.co_freevars, cells, strict=True):
            try:
                content = cell.cell_contents
            except ValueError:  # not assigned yet
                update(b"-")
                continue
            if isinstance(content, types.FunctionType) and id(content) in active:
                _feed_text(b"@", _qualified(content), update)  # recursion, not a cycle
            else:
                _feed_part(f".<closure {name}>", content, update, active)
    finally:
        active.discard(key)


def _feed_method(value: types.MethodType, update: _Update, active: set[int]) -> None:
    update(b"M")
    _feed_part(".__func__", value.__func__, update, active)
    _feed_part(".__self__", value.__self__, update, active)


def _feed_builtin(value: Any, update: _Update, active: set[int]) -> None:
    """A builtin function by name; a builtin method also by the object it is bound to."""
    owner = getattr(value, "__objclass__", None)
    module = getattr(value, "__module__", None) or getattr(owner, "__module__", None)
    _feed_text(b"j", f"{module}.{value.__qualname__}", update)
    bound = getattr(value, "__self__", None)
    if bound is not None and not isinstance(bound, types.ModuleType):
        _feed_part(".__self__", bound, update, active)


def _feed_partial(value: functools.partial[Any], update: _Update, active: set[int]) -> None:
    update(b"~")
    _feed_part(".func", value.func, update, active)
    _feed_part(".args", value.args, update, active)
    _feed_part(".keywords", value.keywords, update, active)


def _feed_code(value: types.CodeType, update: _Update, active: set[int]) -> None:
    """Bytecode, constants (nested code objects recursively), names and argument counts."""
    update(b"K")
    _feed_bytes(value.co_code, update, active)
    for part in (value.co_consts, value.co_names, value.co_varnames):
        _feed_tuple(part, update, active)
    for count in (value.co_argcount, value.co_posonlyargcount, value.co_kwonlyargcount):
        _feed_int(count, update, active)


def code_digest(fn: Any) -> bytes:
    """The sha256 digest standing for ``fn``'s code (module docstring); ``fn`` is already
    unwrapped of partials and ``__wrapped__`` chains."""
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    if not isinstance(fn, type | types.FunctionType | types.BuiltinFunctionType):
        fn = type(fn)  # a callable object: its class's code
    hasher = hashlib.sha256()
    code = getattr(fn, "__code__", None)
    try:
        source: str | None = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        source = None
    if source is not None:
        _feed_text(b"C", source, hasher.update)
        if code is not None and fn.__name__ == "<lambda>":
            _feed_code(code, hasher.update, set())
    elif code is not None:
        _feed_code(code, hasher.update, set())
    else:
        _feed_text(b"Y", _qualified(fn), hasher.update)
    return hasher.digest()


_CODE_HANDLERS: dict[type, _Feed] = {
    type: _feed_type,
    types.FunctionType: _feed_function,
    types.MethodType: _feed_method,
    types.BuiltinFunctionType: _feed_builtin,
    types.MethodDescriptorType: _feed_builtin,
    types.WrapperDescriptorType: _feed_builtin,
    types.ClassMethodDescriptorType: _feed_builtin,
    functools.partial: _feed_partial,
    types.CodeType: _feed_code,
}
"""The handler of each exact type of code (subclasses go through the other rules)."""


# -- everything else -----------------------------------------------------------------------


def _feed_custom(value: Any, update: _Update, active: set[int]) -> None:
    data = value.__podium_fingerprint__()
    label = _qualified(type(value))
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    elif not isinstance(data, bytes):
        kind = type(data).__qualname__
        raise _NoContent(f"{label}.__podium_fingerprint__() returned {kind}, not bytes or str")
    _feed_text(b"P", label, update)
    _feed_bytes(data, update, active)


def _attributes(value: Any) -> list[tuple[str, Any]] | None:
    """An object's ``__dict__`` and ``__slots__`` attributes, sorted by name; None when it
    has neither (whatever content it has is hidden in C)."""
    found = getattr(value, "__dict__", None)
    attributes = dict(found) if isinstance(found, dict) else None
    for klass in type(value).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"
            attributes = {} if attributes is None else attributes
            try:
                attributes[name] = getattr(value, name)
            except AttributeError:  # an unset slot
                continue
    if attributes is None:
        return None
    if not all(type(name) is str for name in attributes):
        raise _NoContent(f"a {_qualified(type(value))} object has non-text attribute names")
    return sorted(attributes.items())


def _feed_object(value: Any, update: _Update, active: set[int]) -> None:
    """Class, then the state its class gives (``__getstate__``) or its attributes."""
    cls = type(value)
    label = _qualified(cls)
    if cls.__getstate__ is object.__getstate__:
        attributes = _attributes(value)
        if attributes is None:
            raise _NoContent(
                f"a {label} object has no content podium can read (no __dict__, __slots__ "
                f"or __getstate__); give its class a __podium_fingerprint__() method"
            )
        return _feed_named_fields(b"o", value, attributes, update, active)
    key = _enter(value, active)
    try:
        try:
            state = value.__getstate__()
        except TypeError as error:
            raise _NoContent(f"a {label} object gives no state: {error}") from error
        _feed_text(b"G", label, update)
        _feed_part(".__getstate__()", state, update, active)
    finally:
        active.discard(key)


def _feed_subclass(value: Any, handler: _Feed, update: _Update, active: set[int]) -> None:
    """A subclass of a builtin: its class and ``__dict__``, then the builtin's encoding."""
    attributes = getattr(value, "__dict__", None) or {}
    _feed_named_fields(b"S", value, sorted(attributes.items()), update, active)
    handler(value, update, active)


def _no_content(value: Any) -> str | None:
    """What ``value`` is when it is a thing without content (a generator, a file, ...)."""
    what = _NO_CONTENT.get(type(value))
    if what is not None:
        return what
    if isinstance(value, io.IOBase):
        return "an open file or stream"
    threading = sys.modules.get("threading")
    if threading is not None and isinstance(value, threading.Thread):
        return "a thread"
    socket = sys.modules.get("socket")
    if socket is not None and isinstance(value, socket.socket):
        return "a socket"
    return None


def feed_other(value: Any, update: _Update, active: set[int]) -> None:
    """Write the encoding of a value whose exact type the walk has no handler for, by the
    first rule that applies (module docstring). Raises _NoContent where it has none."""
    cls = type(value)
    code_handler = _CODE_HANDLERS.get(cls)
    if code_handler is not None:
        return code_handler(value, update, active)
    if hasattr(cls, "__podium_fingerprint__"):
        return _feed_custom(value, update, active)
    handler = data_handler(value)  # numpy, pandas, pydantic
    if handler is not None:
        return handler(value, update, active)
    if isinstance(value, enum.Enum):
        return _feed_enum(value, update, active)
    if isinstance(value, type):
        return _feed_type(value, update, active)
    what = _no_content(value)
    if what is not None:
        raise _NoContent(f"{what} ({_qualified(cls)}) has no content to fingerprint")
    for module, name, handler in _LAZY_TYPES:
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(value, getattr(loaded, name)):
            return handler(value, update, active)
    if dataclasses.is_dataclass(value):
        pairs = [(field.name, getattr(value, field.name)) for field in dataclasses.fields(value)]
        return _feed_named_fields(b"a", value, pairs, update, active)
    if isinstance(value, BaseException):  # its args live outside its __dict__
        pairs = [("args", value.args), *(_attributes(value) or ())]
        return _feed_named_fields(b"x", value, pairs, update, active)
    for base, handler in _SUBCLASSABLE:
        if isinstance(value, base):
            return _feed_subclass(value, handler, update, active)
    return _feed_object(value, update, active)


_NO_CONTENT: dict[type, str] = {
    types.GeneratorType: "a generator",
    types.CoroutineType: "a coroutine",
    types.AsyncGeneratorType: "an async generator",
    types.ModuleType: "a module",
    types.FrameType: "a frame",
    types.TracebackType: "a traceback",
    _thread.LockType: "a lock",
    _thread.RLock: "a lock",
}
"""Types whose objects have no content to fingerprint, with what to call them."""
