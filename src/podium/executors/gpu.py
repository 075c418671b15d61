"""GPU devices and the GPU memory of a process, through NVML when ``pynvml`` (nvidia-ml-py)
is importable.

podium does not depend on it: without it, or without an NVIDIA driver, every answer is None,
and the first failure is remembered so later calls cost nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection
from typing import Any

MB = 1_000_000

_lock = threading.Lock()
_nvml: Any = None
_state = "untried"  # "untried", "ready" or "unavailable"


def _init() -> Any:
    """The initialised ``pynvml`` module, or None when NVML cannot be used here."""
    global _nvml, _state
    with _lock:
        if _state == "untried":
            try:
                import pynvml

                pynvml.nvmlInit()
            except Exception:  # not installed, no driver, no device: no GPU accounting
                _state = "unavailable"
            else:
                _nvml, _state = pynvml, "ready"
        return _nvml


def gpu_memory_mb(pids: Collection[int] | None = None) -> float | None:
    """MB of GPU memory used by the processes ``pids`` (this one by default) over every
    device; None when NVML is unavailable or cannot tell. (NVML names processes by their pid
    on the host: inside a container with its own pid namespace the answer may be 0.)"""
    if _state == "unavailable":
        return None
    nvml = _init()
    if nvml is None:
        return None
    wanted = {os.getpid()} if pids is None else set(pids)
    try:
        used = 0
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            for process in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if process.pid in wanted and process.usedGpuMemory is not None:
                    used += process.usedGpuMemory
    except Exception:
        return None
    return used / MB


def gpu_devices() -> list[str] | None:
    """The ids of the GPU devices this process may use: "0" to "n-1" as NVML counts them,
    narrowed by CUDA_VISIBLE_DEVICES when it is set (see ``visible_devices``); None when
    NVML is unavailable."""
    if _state == "unavailable":
        return None
    nvml = _init()
    if nvml is None:
        return None
    try:
        count = nvml.nvmlDeviceGetCount()
    except Exception:
        return None
    return visible_devices(count, os.environ.get("CUDA_VISIBLE_DEVICES"))


def visible_devices(count: int, cuda_visible_devices: str | None) -> list[str]:
    """Which of ``count`` devices a ``CUDA_VISIBLE_DEVICES`` value leaves visible, in its
    order. None (unset) leaves all; ``""`` none. As CUDA does, the list ends at the first
    index that is not a device (so ``-1`` hides every GPU); a repeated index is dropped;
    UUID and MIG forms (``GPU-...``, ``MIG-...``) are kept as given."""
    if cuda_visible_devices is None:
        return [str(index) for index in range(count)]
    devices: list[str] = []
    for entry in cuda_visible_devices.split(","):
        entry = entry.strip()
        if entry.isdigit():
            if int(entry) >= count:
                break
            entry = str(int(entry))
        elif not entry or entry.startswith(("-", "+")):
            break
        if entry not in devices:
            devices.append(entry)
    return devices
