"""What this machine offers to tasks, and what the user declares instead.

``detect_capacity`` measures the machine (CPUs in this process's affinity mask, total
memory, the GPUs NVML sees). ``--resources gpu=2,licenses=3`` (``parse_resources``) and the
``[resources]`` table of ``settings.toml`` (``load_settings``) override it through
``with_overrides``; the settings file also holds the process-wide limits::

    [resources]
    gpu = 2
    memory_mb = 16000

    [limits.tags]
    gpu-train = 1

    [limits.rates]
    openai = "60/min"
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import psutil

from podium.engine.limits import LIMITS, Rate
from podium.engine.resources import Capacity
from podium.errors import OptionError, SettingsError
from podium.executors.gpu import gpu_devices
from podium.model.resources import RESERVED_NAMES, RESOURCE_NAME

SETTINGS_NAME = "settings.toml"
"""The settings file's name, under the store folder (``home``)."""


def available_cpus() -> int:
    """The CPUs this process may use (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def detect_capacity(max_workers: int) -> Capacity:
    """This machine: ``max_workers`` slots, ``cpu`` = ``available_cpus()``, ``memory_mb``
    = total memory (1 MB = 10**6 bytes), and the GPU devices NVML sees (none without it)."""
    return Capacity(
        slots=max_workers,
        amounts={
            "cpu": float(available_cpus()),
            "memory_mb": psutil.virtual_memory().total / 1e6,
        },
        gpus=tuple(gpu_devices() or ()),
    )


def parse_resources(text: str, *, source: str = "--resources") -> dict[str, float]:
    """``"gpu=2,memory_mb=16000,licenses=3"`` as ``{name: amount}``; ``""`` is ``{}``.

    Amounts are finite numbers >= 0; ``gpu`` is a whole number of devices. Raises
    SettingsError(source, reason) naming the first bad item.
    """
    resources: dict[str, float] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, equals, value = (part.strip() for part in item.partition("="))
        if not equals:
            raise SettingsError(source, f"{item!r} is not NAME=AMOUNT (e.g. gpu=2)")
        if name in resources:
            raise SettingsError(source, f"{name} is given twice")
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(source, f"{name}={value!r}: the amount is not a number") from None
        resources[name] = _amount(name, number, source)
    return resources


def resource_overrides(
    value: Mapping[str, Any] | None, *, source: str = "run option"
) -> dict[str, float]:
    """``resources=`` given to ``Workflow.run``, checked as the settings file's
    ``[resources]`` is; raises SettingsError naming the key."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsError(source, f"resources must be a mapping such as {{'gpu': 2}} "
                            f"(got {value!r})")  # fmt: skip
    return _resources(value, source)


def with_overrides(capacity: Capacity, overrides: Mapping[str, float]) -> Capacity:
    """``capacity`` with declared amounts: ``gpu=N`` makes the device list
    ``("0", ..., str(N-1))`` (declared devices need not exist); any other name sets that
    amount. Raises ValueError on a ``gpu`` that is not a whole number >= 0."""
    amounts = dict(capacity.amounts)
    gpus = capacity.gpus
    for name, amount in overrides.items():
        if name != "gpu":
            amounts[name] = amount
        elif amount < 0 or not float(amount).is_integer():
            raise ValueError(f"gpu must be a whole number of devices (got {amount!r})")
        else:
            gpus = tuple(str(index) for index in range(int(amount)))
    return dataclasses.replace(capacity, amounts=amounts, gpus=gpus)


def machine_capacity(
    home: Path, max_workers: int, overrides: Mapping[str, float] | None = None
) -> Capacity:
    """What runs under ``home`` may use: the machine as detected, with the settings
    file's ``[resources]`` over it, and ``overrides`` (``--resources``) over both. Also
    applies the settings file's limits to the process-wide LIMITS. Raises SettingsError."""
    settings = load_settings(home)
    if settings.tags or settings.rates:
        LIMITS.configure(tags=settings.tags, rates=settings.rates)
    capacity = with_overrides(detect_capacity(max_workers), settings.resources)
    return with_overrides(capacity, overrides or {})


@dataclass(frozen=True)
class Settings:
    """The settings file: ``resources`` overrides (see ``with_overrides``), concurrency
    limits per tag, and rates per tag (their text, checked by ``Rate.parse``)."""

    resources: dict[str, float] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    rates: dict[str, str] = field(default_factory=dict)


def load_settings(home: Path) -> Settings:
    """The settings in ``home / "settings.toml"``; empty Settings when there is no file.

    Raises SettingsError naming the file and the key for invalid TOML, an unknown table
    or key, or a bad value.
    """
    path = Path(home) / SETTINGS_NAME
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        return Settings()
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(str(path), f"not valid TOML: {error}") from None
    source = str(path)
    _only(document, ("resources", "limits"), "", source)
    limits = _table(document, "limits", source)
    _only(limits, ("tags", "rates"), "limits.", source)
    return Settings(
        resources=_resources(_table(document, "resources", source), source),
        tags=_tags(_table(limits, "tags", source, "limits."), source),
        rates=_rates(_table(limits, "rates", source, "limits."), source),
    )


# -- checks --------------------------------------------------------------------------------


def _amount(name: str, number: float, source: str, prefix: str = "") -> float:
    """``number`` if it is a valid amount of resource ``name``; ``prefix`` says where the
    name stands in the file (``resources.``)."""
    if not RESOURCE_NAME.fullmatch(name):
        raise SettingsError(
            source,
            f"{prefix}{name!r} is not a resource name (a letter or '_' first, then letters, "
            f"digits, '_', '.' or '-')",
        )
    if name in RESERVED_NAMES:
        raise SettingsError(source, f"{prefix}{name}: slots are max_workers, not a resource")
    if not math.isfinite(number) or number < 0:
        raise SettingsError(source, f"{prefix}{name}={number:g}: must be a finite number >= 0")
    if name == "gpu" and not number.is_integer():
        raise SettingsError(source, f"{prefix}gpu={number:g}: must be a whole number of devices")
    return number


def _only(table: Mapping[str, Any], known: tuple[str, ...], prefix: str, source: str) -> None:
    for key in table:
        if key not in known:
            choices = ", ".join(f"[{prefix}{name}]" for name in known)
            raise SettingsError(source, f"unknown key {prefix}{key} (known: {choices})")


def _table(
    document: Mapping[str, Any], key: str, source: str, prefix: str = ""
) -> Mapping[str, Any]:
    table = document.get(key, {})
    if not isinstance(table, dict):
        raise SettingsError(source, f"{prefix}{key} must be a table ([{prefix}{key}])")
    return table


def _resources(table: Mapping[str, Any], source: str) -> dict[str, float]:
    resources: dict[str, float] = {}
    for name, value in table.items():
        if not isinstance(value, Real) or isinstance(value, bool):
            raise SettingsError(source, f"resources.{name} must be a number (got {value!r})")
        resources[name] = _amount(name, float(value), source, "resources.")
    return resources


def _tags(table: Mapping[str, Any], source: str) -> dict[str, int]:
    for tag, count in table.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise SettingsError(
                source, f"limits.tags.{tag} must be a whole number >= 1 (got {count!r})"
            )
    return dict(table)


def _rates(table: Mapping[str, Any], source: str) -> dict[str, str]:
    for tag, text in table.items():
        if not isinstance(text, str):
            raise SettingsError(
                source, f'limits.rates.{tag} must be a rate like "60/min" (got {text!r})'
            )
        try:
            Rate.parse(text)
        except OptionError as error:
            raise SettingsError(source, f"limits.rates.{tag}: {error.reason}") from None
    return dict(table)
