"""Resource requests: what a task asks to hold while one of its attempts runs.

A task's ``resources=`` option, e.g. ``{"cpu": 2, "memory_mb": 4000, "gpu": 0.5}``, checked
and normalized once by ``make_request``. The standard resources are ``cpu``, ``memory_mb``
and ``gpu``; any other name is a custom resource (``licenses``, ``openai_rpm``) that the
machine must declare. A GPU request is a fraction of one device (``0.25``: shares it) or a
whole number of devices (``2``: two devices of its own). The engine's ``ResourcePool`` places
requests; this module only says whether a request is well formed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from numbers import Real
from typing import Any

from podium.errors import OptionError

STANDARD_RESOURCES = ("cpu", "memory_mb", "gpu")
"""The resources every machine has (a machine without GPUs has ``gpu`` 0)."""
RESOURCE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
"""What a resource name looks like (match it whole, with ``fullmatch``)."""
RESERVED_NAMES = ("slots",)
"""Names that are not resources: every attempt takes one of ``max_workers`` slots."""


def make_request(value: Mapping[str, Any] | None, *, task: str) -> dict[str, float]:
    """The resource request ``value`` of task ``task``, checked: ``{name: amount}``.

    None gives ``{}``. Names match ``RESOURCE_NAME``; amounts are finite numbers >= 0 (not
    bools) and come back as floats; zero amounts are dropped. ``gpu`` is a fraction in
    (0, 1] or a whole number. Raises OptionError("resources", value, reason), the reason
    naming the task and the offending key.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OptionError(
            "resources",
            value,
            f"task {task!r}: must be a mapping of resource names to amounts, "
            f"e.g. {{'cpu': 2, 'gpu': 1}}",
        )
    request: dict[str, float] = {}
    for name, amount in value.items():
        _check_name(name, value, task)
        number = _amount(name, amount, value, task)
        if number:
            request[name] = number
    return request


def describe_request(request: Mapping[str, float]) -> str:
    """``request`` for people: ``"cpu=2, gpu=0.5, memory_mb=4000"`` (names sorted)."""
    return ", ".join(f"{name}={format_amount(request[name])}" for name in sorted(request))


def format_amount(amount: float) -> str:
    """An amount as people write it: ``2``, ``0.5``, ``16000`` (no exponent below 1e12)."""
    return f"{amount:.12g}"


def _check_name(name: Any, value: Mapping[str, Any], task: str) -> None:
    if not isinstance(name, str) or not RESOURCE_NAME.fullmatch(name):
        raise OptionError(
            "resources",
            value,
            f"task {task!r}: {name!r} is not a resource name (a letter or '_' first, "
            f"then letters, digits, '_', '.' or '-')",
        )
    if name in RESERVED_NAMES:
        raise OptionError(
            "resources",
            value,
            f"task {task!r}: {name!r} is not a resource: every attempt takes one of "
            f"max_workers slots",
        )


def _amount(name: str, amount: Any, value: Mapping[str, Any], task: str) -> float:
    if not isinstance(amount, Real) or isinstance(amount, bool):
        raise OptionError(
            "resources", value, f"task {task!r}: {name} must be a number (got {amount!r})"
        )
    number = float(amount)
    if not math.isfinite(number) or number < 0:
        raise OptionError(
            "resources",
            value,
            f"task {task!r}: {name} must be a finite number >= 0 (got {amount!r})",
        )
    if name == "gpu" and number > 1 and not number.is_integer():
        raise OptionError(
            "resources",
            value,
            f"task {task!r}: gpu={number:g}: a GPU request is a fraction of one device "
            f"or a whole number of devices",
        )
    return number
