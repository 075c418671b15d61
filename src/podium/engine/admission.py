"""Admission: whether a ready task may start now, given what is already running.

This is the dispatch path's one gate. Thread, coroutine and shell attempts take one of
``max_workers`` slots and no CPU; process attempts take a slot and one CPU.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AdmissionStatistics:
    """A snapshot of what is reserved."""

    slots_used: int
    max_workers: int
    cpus_used: int
    cpus: int


class Admission:
    """Slots for every attempt and CPUs for process attempts; never oversubscribed."""

    def __init__(self, max_workers: int, cpus: int) -> None:
        self.max_workers = max_workers
        self.cpus = cpus
        self.slots_used = 0
        self.cpus_used = 0

    @staticmethod
    def shape(isolation: str) -> str:
        """Attempts of one shape need the same things: if one does not fit, none does."""
        return "process" if isolation == "process" else "slot"

    @property
    def full(self) -> bool:
        """True when no attempt of any shape can start."""
        return self.slots_used >= self.max_workers

    def try_acquire(self, isolation: str) -> bool:
        """Reserve what an attempt of this ``isolation`` needs and return True, or return
        False without waiting."""
        if self.slots_used >= self.max_workers:
            return False
        if isolation == "process":
            if self.cpus_used >= self.cpus:
                return False
            self.cpus_used += 1
        self.slots_used += 1
        return True

    def release(self, isolation: str) -> None:
        """Give back what ``try_acquire`` reserved for an attempt of this ``isolation``."""
        self.slots_used -= 1
        if isolation == "process":
            self.cpus_used -= 1

    def statistics(self) -> AdmissionStatistics:
        return AdmissionStatistics(self.slots_used, self.max_workers, self.cpus_used, self.cpus)
