"""Encoding results for the store: JSON when the value allows, cloudpickle otherwise.

Encoded results larger than ``spill_bytes`` are written to files named by their content hash
(so identical large results are kept once) and only the file name goes in the database.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle

SPILL_BYTES = 256 * 1024
_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class EncodedResult:
    """A result as stored: ``json`` or ``pickle``, inline (``data``) or in a file (``path``)."""

    encoding: str
    data: bytes | None
    path: str | None
    sha256: str | None
    size: int


NONE_RESULT = EncodedResult("json", b"null", None, None, 4)
"""None, which the store keeps without a row: a finished task instance without one
returned None."""


def is_plain_json(value: Any, depth: int = 0) -> bool:
    """True when JSON round-trips ``value`` exactly (no tuples, no non-str keys, no NaN)."""
    if type(value) in _JSON_SCALARS:
        return not (type(value) is float and value != value)  # NaN does not round-trip
    if depth > 50:
        return False
    if type(value) is list:
        return all(is_plain_json(item, depth + 1) for item in value)
    if type(value) is dict:
        return all(
            type(key) is str and is_plain_json(item, depth + 1) for key, item in value.items()
        )
    return False


def encode_result(value: Any, results_dir: Path, spill_bytes: int = SPILL_BYTES) -> EncodedResult:
    """Encode ``value``; spill to ``results_dir`` when large."""
    if value is None:
        return NONE_RESULT
    if is_plain_json(value):
        encoding, data = "json", json.dumps(value, separators=(",", ":")).encode()
    else:
        encoding, data = "pickle", cloudpickle.dumps(value)
    if len(data) <= spill_bytes:
        return EncodedResult(encoding, data, None, None, len(data))
    digest = hashlib.sha256(data).hexdigest()
    name = f"{digest}.{'json' if encoding == 'json' else 'pkl'}"
    path = results_dir / name
    if not path.exists():
        results_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        temporary.write_bytes(data)
        os.replace(temporary, path)
    return EncodedResult(encoding, None, name, digest, len(data))


def decode_result(encoding: str, data: bytes | None, path: str | None, results_dir: Path) -> Any:
    """The value of a stored result."""
    raw = (results_dir / path).read_bytes() if path else data
    if raw is None:
        return None
    if encoding == "json":
        return json.loads(raw)
    return cloudpickle.loads(raw)
