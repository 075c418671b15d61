"""Result caching: a task's cache options, the key of one call, and why a key missed.

A cache key covers three parts, kept apart so a miss can say which one changed:

* ``identity``: the task's name and its function's qualified name;
* ``code``: a hash of the function's source (or ``cache_version`` when the user gives one,
  so cosmetic edits do not invalidate and deliberate ones do);
* ``inputs``: one content fingerprint per argument (model/fingerprint.py), stable across
  processes and interpreters.

The key itself is the sha256 of the three. The store keeps one entry per key, pointing at
the run and task instance whose result it is.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from podium.errors import OptionError


@dataclass(frozen=True, slots=True)
class Caching:
    """A task's cache options: ``enabled`` (``cache=True``), ``ttl`` seconds an entry
    stays usable (None: for ever) and ``version`` (stands for the code when given)."""

    enabled: bool = False
    ttl: float | None = None
    version: str | None = None

    @classmethod
    def create(cls, cache: Any, cache_ttl: Any, cache_version: Any, *, task: str) -> Caching:
        """Validated options; raises OptionError naming the option and the task."""
        if not isinstance(cache, bool):
            raise OptionError("cache", cache, f"task {task!r}: must be True or False")
        ttl = cache_ttl.total_seconds() if isinstance(cache_ttl, timedelta) else cache_ttl
        if ttl is not None and (
            isinstance(ttl, bool)
            or not isinstance(ttl, int | float)
            or not math.isfinite(ttl)
            or ttl <= 0
        ):
            raise OptionError(
                "cache_ttl", cache_ttl, f"task {task!r}: must be positive seconds or a timedelta"
            )
        if cache_version is not None and (
            not isinstance(cache_version, str | int) or isinstance(cache_version, bool)
        ):
            raise OptionError(
                "cache_version", cache_version, f"task {task!r}: must be a string or an integer"
            )
        version = None if cache_version is None else str(cache_version)
        return cls(cache, None if ttl is None else float(ttl), version)


NO_CACHING = Caching()


@dataclass(frozen=True, slots=True)
class CacheKey:
    """The key of one call of a cached task, with its parts (see the module docstring)."""

    key: str
    identity: str
    code: str
    inputs: dict[str, str]


def task_identity(task: Any) -> str:
    """``name:module.qualname`` of a task (a shell task: ``name:shell``)."""
    fn = getattr(task, "fn", None)
    if getattr(task, "isolation", None) == "shell" or fn is None:
        return f"{task.name}:shell"
    qualname = getattr(fn, "__qualname__", getattr(fn, "__name__", "?"))
    return f"{task.name}:{getattr(fn, '__module__', '?')}.{qualname}"


def code_part(task: Any) -> str:
    """What stands for the task's code: ``version:<cache_version>``, or a hash of its
    source (a shell task: of its command, environment and folder)."""
    from podium.model.fingerprint import code_fingerprint, fingerprint  # first use only

    caching: Caching = getattr(task, "caching", NO_CACHING)
    if caching.version is not None:
        return f"version:{caching.version}"
    if getattr(task, "isolation", None) == "shell":
        return "command:" + fingerprint((task.command, task.env, task.cwd), task=task.name)
    return "source:" + code_fingerprint(task.fn)


def cache_key(
    task: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], code: str | None = None
) -> CacheKey:
    """The key of calling ``task`` with these (resolved) arguments. ``code`` is
    ``code_part(task)`` when the caller keeps it. Raises CacheKeyError for an input that
    cannot be fingerprinted."""
    from podium.model.fingerprint import fingerprint_arguments  # first use only

    identity = task_identity(task)
    code = code if code is not None else code_part(task)
    inputs = fingerprint_arguments(args, kwargs, task=task.name)
    digest = hashlib.sha256()
    for part in (identity, code, json.dumps(inputs, sort_keys=True)):
        digest.update(part.encode())
        digest.update(b"\0")
    return CacheKey(digest.hexdigest(), identity, code, inputs)


def explain_miss(key: CacheKey, previous: CacheKey | None) -> str:
    """Why ``key`` found no usable entry, given the latest entry of the same task
    (``previous``, expired or not)."""
    if previous is None:
        return "no earlier result of this task"
    if previous.key == key.key:
        return "the cached result expired (cache_ttl)"
    reasons = []
    if previous.code != key.code:
        what = "cache_version" if key.code.startswith("version:") else "code"
        reasons.append(f"{what} changed")
    changed = sorted(
        name
        for name in key.inputs.keys() | previous.inputs.keys()
        if key.inputs.get(name) != previous.inputs.get(name)
    )
    if changed:
        reasons.append("inputs changed: " + ", ".join(changed))
    return "; ".join(reasons) or "the key changed"
