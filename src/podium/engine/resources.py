"""The resource pool: whether a task's request fits in what the machine has, and where.

A ``Capacity`` says what the machine has: ``slots`` (max_workers), amounts of ``cpu``,
``memory_mb`` and custom resources, and GPU device ids. A ``ResourcePool`` hands out
``Grant``s: every grant takes one slot plus its request, and nothing is ever oversubscribed,
neither a resource nor a single GPU device (the shares on a device add up to at most 1).

GPU placement. A whole number ``n`` takes ``n`` devices that are entirely free, lowest ids
first. A fraction takes a share of the device with the least free share that still fits it
(best fit: fractions pack together and whole devices stay free), ties going to the lowest
id. Two ``gpu: 0.5`` grants share device "0"; a third goes to device "1", or waits.

Arithmetic is exact. Every amount is taken as the closest fraction with a denominator up
to 10**6 (``0.1`` is 1/10, ``1/3`` is 1/3) and sums are Fractions, so ten grants of 0.1
fill a device exactly, where floats would add up to 0.9999999999999999 or more than 1.

Starvation. A big request could wait forever behind a stream of small ones that each fit.
So when ``try_acquire`` refuses a request that has waited more than ``starvation_bound``
seconds and no reservation exists, that request becomes the reservation (the first such
refusal wins; the engine tries ready tasks by priority, then oldest first). While it holds,
any other request is granted only if it leaves room for the reserved one: it takes nothing
of a resource the reserved request is short of right now (slots count; for GPUs, "short"
means it cannot be placed), and after it, what is free of every other resource still covers
the reserved request (for GPUs: the reserved request could still be placed). The reservation
ends when its key is granted or forgotten. A resource the reserved request is short of is
then taken by nobody else, and one it is not short of stays covered, so the reserved request
starts as soon as the attempts that were running when it was reserved have released enough:
at the latest when all of them have ended, however many small requests keep arriving. A
request that can never fit here (see ``shortfall``) is refused and never reserved.

Pure Python and single-threaded: the engine calls it from its event loop thread. An empty
request with no reservation is a few attribute and dict operations.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

logger = logging.getLogger(__name__)

DENOMINATOR = 10**6
"""Amounts are exact fractions with denominators up to this."""
_ZERO = Fraction(0)
_ONE = Fraction(1)


@lru_cache(maxsize=4096)
def _exact(amount: float) -> Fraction:
    """``amount`` as the fraction it stands for: 0.1 -> 1/10, 0.3333333333333333 -> 1/3."""
    return Fraction(amount).limit_denominator(DENOMINATOR)


def _device_order(device: str) -> tuple[int, int, str]:
    return (0, int(device), device) if device.isdigit() else (1, 0, device)


@dataclass(frozen=True)
class Capacity:
    """What one machine offers. ``slots``: attempts at once (max_workers, >= 1).

    ``amounts``: ``cpu``, ``memory_mb`` and custom resources (finite, >= 0). ``gpus``: GPU
    device ids, each holding one whole device. Raises ValueError on a slot count below 1,
    a negative or infinite amount, an amount named ``gpu`` or ``slots`` (GPUs are
    ``gpus``), or a repeated device id.
    """

    slots: int
    amounts: Mapping[str, float]
    gpus: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.slots, int) or isinstance(self.slots, bool) or self.slots < 1:
            raise ValueError(f"slots must be a whole number >= 1 (got {self.slots!r})")
        amounts = {name: float(amount) for name, amount in self.amounts.items()}
        for name, amount in amounts.items():
            if name in ("gpu", "slots"):
                raise ValueError(f"{name!r} is not an amount: use gpus= and slots=")
            if not 0 <= amount < float("inf"):
                raise ValueError(f"{name} must be a finite number >= 0 (got {amount!r})")
        gpus = tuple(str(device) for device in self.gpus)
        if len(set(gpus)) != len(gpus):
            raise ValueError(f"GPU device ids must be unique (got {gpus!r})")
        object.__setattr__(self, "amounts", amounts)  # frozen: normalize in place, once
        object.__setattr__(self, "gpus", gpus)

    def of(self, resource: str) -> float:
        """How much of ``resource`` there is: ``gpu`` counts devices, ``slots`` slots; an
        undeclared custom resource is 0."""
        if resource == "gpu":
            return float(len(self.gpus))
        if resource == "slots":
            return float(self.slots)
        return self.amounts.get(resource, 0.0)


@dataclass(frozen=True)
class Grant:
    """What one attempt holds: its ``request`` and, for GPUs, ``(device id, share)`` pairs
    (a whole-number request holds share 1.0 on each of its devices)."""

    request: Mapping[str, float]
    gpus: tuple[tuple[str, float], ...] = ()

    @property
    def gpu_ids(self) -> tuple[str, ...]:
        """The device ids to make visible to the attempt (CUDA_VISIBLE_DEVICES)."""
        gpus = self.gpus
        return tuple([device for device, _ in gpus]) if gpus else ()


NO_GRANT = Grant({})
"""What an attempt holds from the pool when it asks for nothing but its slot."""


@dataclass(frozen=True)
class _Reservation:
    key: str
    request: Mapping[str, float]


class ResourcePool:
    """Grants requests against a ``Capacity``, never oversubscribing, without starvation.

    ``starvation_bound``: seconds a refused request waits before it may reserve (see the
    module docstring). ``clock``: the time source ``waiting_since`` values come from.
    """

    def __init__(
        self,
        capacity: Capacity,
        *,
        starvation_bound: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self._bound = starvation_bound
        self._clock = clock
        self._free_slots = capacity.slots
        self._total = {name: _exact(amount) for name, amount in capacity.amounts.items()}
        self._free = dict(self._total)
        self._devices = {device: _ONE for device in sorted(capacity.gpus, key=_device_order)}
        self._reserved: _Reservation | None = None

    @property
    def reserved_for(self) -> str | None:
        """The key of the request holding the reservation, or None."""
        return None if self._reserved is None else self._reserved.key

    def shortfall(self, request: Mapping[str, float]) -> tuple[str, float, float] | None:
        """``(resource, asked, capacity)`` for the first resource of ``request`` that this
        machine could never give, even idle (more than it has, a GPU where there are no
        devices, a custom resource it does not declare); None when the request can fit."""
        for name, amount in request.items():
            have = self.capacity.of(name)
            if amount > have:
                return name, amount, have
        return None

    def try_slot(self) -> bool:
        """Take a slot alone (an empty request) if one is free and no reservation holds:
        ``try_acquire``'s fast path, for callers that know their request is empty. On
        False, ask ``try_acquire`` (it decides about reservations)."""
        if self._reserved is None and self._free_slots:
            self._free_slots -= 1
            return True
        return False

    def try_acquire(
        self, key: str, request: Mapping[str, float], waiting_since: float
    ) -> Grant | None:
        """A grant of ``request`` (as ``make_request`` returns it) for the waiting task
        ``key``, or None without waiting: it does not fit now, or it would delay the
        reserved request. ``waiting_since``: when ``key`` started waiting, on ``clock``'s
        scale; a refused request that waited past the bound may become the reservation."""
        reserved = self._reserved
        if not request and reserved is None and self._free_slots:
            self._free_slots -= 1  # the hot path: a slot and nothing else
            return NO_GRANT
        grant = self._fit(request)
        if grant is not None and reserved is not None and reserved.key != key:
            if not self._leaves_room(grant, reserved.request):
                grant = None
        if grant is None:
            if reserved is None and self._clock() - waiting_since > self._bound:
                self._reserve(key, request)
            return None
        self._take(grant)
        if reserved is not None and reserved.key == key:
            self._reserved = None
            logger.debug("reserved request of %s granted", key)
        return grant

    def release(self, grant: Grant) -> None:
        """Give back what ``grant`` holds. Raises ValueError if that would free more than
        the capacity (a grant released twice, or one from another pool)."""
        if self._free_slots >= self.capacity.slots:
            raise ValueError("release(): no grant is outstanding")
        if grant.request:
            free, devices = self._free, self._devices
            back = {name: _exact(amount) for name, amount in grant.request.items()}
            back.pop("gpu", None)
            shares = [(device, _exact(share)) for device, share in grant.gpus]
            if not all(
                free.get(name, _ZERO) + amount <= self._total.get(name, _ZERO)
                for name, amount in back.items()
            ) or not all(devices.get(device, _ONE) + share <= _ONE for device, share in shares):
                raise ValueError(f"release(): {grant!r} frees more than was taken")
            for name, amount in back.items():
                free[name] += amount
            for device, share in shares:
                devices[device] += share
        self._free_slots += 1

    def forget(self, key: str) -> None:
        """The waiting task ``key`` stopped waiting (cancelled): drop its reservation, if it
        holds one."""
        if self._reserved is not None and self._reserved.key == key:
            self._reserved = None
            logger.debug("reservation of %s dropped", key)

    def used(self) -> dict[str, float]:
        """What outstanding grants hold: ``slots``, ``gpu`` (the sum of device shares) and
        every declared amount."""
        used = {
            "slots": float(self.capacity.slots - self._free_slots),
            "gpu": float(sum(_ONE - free for free in self._devices.values())),
        }
        for name, total in self._total.items():
            used[name] = float(total - self._free[name])
        return used

    # -- internals ---------------------------------------------------------------------------

    def _fit(self, request: Mapping[str, float]) -> Grant | None:
        """The grant ``request`` would get now, ignoring the reservation; not taken."""
        if not self._free_slots:
            return None
        if not request:
            return NO_GRANT
        free = self._free
        for name, amount in request.items():
            if name != "gpu" and free.get(name, _ZERO) < _exact(amount):
                return None
        if "gpu" not in request:
            return Grant(request)
        placed = _place(self._devices, request["gpu"])
        return None if placed is None else Grant(request, placed)

    def _leaves_room(self, grant: Grant, reserved: Mapping[str, float]) -> bool:
        """Whether taking ``grant`` keeps every resource the reserved request needs either
        untouched (if it is short of it) or still enough for it (if not)."""
        if self._free_slots < 2:  # the grant takes a slot; the reserved request needs one
            return False
        request, free = grant.request, self._free
        for name, need in reserved.items():
            take = request.get(name)
            if name == "gpu" or not take:
                continue
            if free[name] - _exact(take) < _exact(need):
                return False
        if "gpu" in reserved and grant.gpus:
            devices = dict(self._devices)
            for device, share in grant.gpus:
                devices[device] -= _exact(share)
            if _place(devices, reserved["gpu"]) is None:
                return False
        return True

    def _take(self, grant: Grant) -> None:
        self._free_slots -= 1
        free = self._free
        for name, amount in grant.request.items():
            if name != "gpu":
                free[name] -= _exact(amount)
        for device, share in grant.gpus:
            self._devices[device] -= _exact(share)

    def _reserve(self, key: str, request: Mapping[str, float]) -> None:
        if self.shortfall(request) is not None:
            return  # it can never fit: reserving would block everything for nothing
        self._reserved = _Reservation(key, request)
        logger.debug("%s has waited more than %gs: resources reserved for it", key, self._bound)


def _place(devices: Mapping[str, Fraction], amount: float) -> tuple[tuple[str, float], ...] | None:
    """Where ``amount`` of GPU goes on ``devices`` (device id -> free share, lowest id first):
    whole devices for a whole number, best fit for a fraction; None if it cannot go now."""
    if amount > 1:
        wanted = int(amount)
        idle = [device for device, free in devices.items() if free == _ONE]
        if len(idle) < wanted:
            return None
        return tuple((device, 1.0) for device in idle[:wanted])
    share = _exact(amount)
    best: str | None = None
    for device, free in devices.items():
        if free >= share and (best is None or free < devices[best]):
            best = device
    return None if best is None else ((best, amount),)
