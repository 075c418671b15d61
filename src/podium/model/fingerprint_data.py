"""Content encoders for numpy, pandas and pydantic values, for podium.model.fingerprint's walk.

numpy arrays and scalars are encoded by dtype, shape and raw bytes (object arrays element by
element); pandas DataFrame, Series and Index by class, labels, dtypes and values; pydantic
models by class and ``model_dump()``. The module docstring of podium.model.fingerprint says
what counts as content; this module only adds these libraries' types to its walk.

numpy, pandas and pydantic are never imported here: a value of theirs exists only once they
are, so ``data_handler`` looks them up in ``sys.modules``. This module imports
podium.model.fingerprint at its top; podium.model.fingerprint_objects, where the walk asks
``data_handler`` about a value, imports it.
"""

from __future__ import annotations

import sys
from typing import Any

from podium.model.fingerprint import (
    _LENGTH,
    _enter,
    _Feed,
    _feed,
    _feed_bytes,
    _feed_list,
    _feed_named_fields,
    _feed_part,
    _feed_range,
    _feed_text,
    _feed_tuple,
    _label,
    _NoContent,
    _qualified,
    _text_form,
    _Update,
)

__all__ = ["data_handler"]


def _feed_ndarray(value: Any, update: _Update, active: set[int]) -> None:
    """dtype, shape, then the raw bytes of the C-contiguous data, streamed (copied only when
    the array is not contiguous). Object and variable-width string arrays: element by
    element. Subclasses add their class; masked arrays their mask."""
    numpy = sys.modules["numpy"]
    if type(value) is not numpy.ndarray:
        _feed_text(b"w", _qualified(type(value)), update)
        if isinstance(value, numpy.ma.MaskedArray):
            _feed_ndarray(numpy.ma.getmaskarray(value), update, active)
            value = value.data
    dtype = value.dtype
    _feed_text(b"A", dtype.str, update)
    if dtype.names is not None:
        _feed(dtype.descr, update, active)  # field names and types
    _feed_tuple(value.shape, update, active)
    if dtype.hasobject or dtype.kind == "T":
        key = _enter(value, active)
        try:
            _feed_list(value.ravel().tolist(), update, active)
        finally:
            active.discard(key)
        return
    array = value if value.flags.c_contiguous else numpy.ascontiguousarray(value)
    update(_LENGTH(array.nbytes))
    update(memoryview(array.reshape(-1).view(numpy.uint8)))


def _feed_numpy_scalar(value: Any, update: _Update, active: set[int]) -> None:
    dtype = value.dtype
    _feed_text(b"Z", dtype.str, update)
    if dtype.names is not None:
        _feed(dtype.descr, update, active)
    if dtype.hasobject:
        _feed_part(".item()", value.item(), update, active)
    else:
        _feed_bytes(value.tobytes(), update, active)


def _feed_pandas_values(values: Any, update: _Update, active: set[int]) -> None:
    """A Series' or Index's values: numpy dtypes by content (see _feed_ndarray); extension
    dtypes (strings, categories, nullable, tz-aware, arrow) by the dtype's name and pandas'
    own per-element hashes (``pandas.util.hash_array``)."""
    if isinstance(values.dtype, sys.modules["numpy"].dtype):
        _feed_ndarray(values.to_numpy(), update, active)
        return
    _feed_text(b"h", str(values.dtype), update)
    try:
        hashes = sys.modules["pandas"].util.hash_array(values.array)
    except TypeError as error:
        raise _NoContent(f"pandas cannot hash its values: {error}") from error
    _feed_ndarray(hashes, update, active)


def _feed_index(value: Any, update: _Update, active: set[int]) -> None:
    _feed_text(b"I", _qualified(type(value)), update)
    _feed_part(".names", list(value.names), update, active)
    if isinstance(value, sys.modules["pandas"].RangeIndex):
        _feed_range(range(value.start, value.stop, value.step), update, active)
    else:
        _feed_pandas_values(value, update, active)


def _feed_series(value: Any, update: _Update, active: set[int]) -> None:
    _feed_text(b"V", _qualified(type(value)), update)
    _feed_part(".name", value.name, update, active)
    _feed_part(".index", value.index, update, active)
    _feed_pandas_values(value, update, active)


def _feed_frame(value: Any, update: _Update, active: set[int]) -> None:
    """Class, column labels, row index, then each column's dtype and values."""
    _feed_text(b"W", _qualified(type(value)), update)
    _feed_part(".columns", value.columns, update, active)
    _feed_part(".index", value.index, update, active)
    for position in range(value.shape[1]):
        try:
            _feed_pandas_values(value.iloc[:, position], update, active)
        except _NoContent as error:
            error.segments.append(f"[{_label(value.columns[position])}]")
            raise


def _feed_pydantic(value: Any, update: _Update, active: set[int]) -> None:
    """Class, then the fields of ``model_dump()`` sorted by name."""
    pairs = sorted(value.model_dump().items())
    _feed_named_fields(b"y", value, pairs, update, active)


def data_handler(value: Any) -> _Feed | None:
    """The handler of a numpy, pandas or pydantic value, if ``value`` is one."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.ndarray):
            return _feed_ndarray
        if isinstance(value, numpy.generic):
            return _feed_numpy_scalar
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if isinstance(value, pandas.DataFrame):
            return _feed_frame
        if isinstance(value, pandas.Series):
            return _feed_series
        if isinstance(value, pandas.Index):
            return _feed_index
        if value is pandas.NaT or value is pandas.NA:
            return _text_form(b"U", lambda v: _qualified(type(v)))
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return _feed_pydantic
    return None
