"""Keeping the cyclic garbage collector's full passes off a run's path.

A full collection walks every object the process tracks: the modules and functions loaded
at start-up, the workflow's graph, every record the run keeps. A run allocates steadily
(a few containers per task instance), so CPython starts one every few tens of thousands of
survivors: on a 10,000-task fan-out that is one or two passes of 8-22 ms each, several
percent of the run. While a run is in progress, ``frozen_heap`` keeps the objects that
existed when the first run started out of those passes (``gc.freeze``): the passes then
walk only what runs allocate. When the last run in the process ends, everything goes back
to the collector (``gc.unfreeze``).

Garbage cycles made of objects older than the run are collected after it, not during it.
A process that froze objects itself (``gc.get_freeze_count() > 0`` when the first run
starts, e.g. a server before forking) is left alone: podium freezes and unfreezes only
what it froze itself.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0  # runs (and workflow calls building one) in progress in this process
_frozen = False  # whether podium froze the heap (and so must unfreeze it)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects older than the runs in progress out of full collections (nests:
    ``Workflow.run`` holds it over the graph's building, ``Runner`` over the run)."""
    global _holders, _frozen
    with _lock:
        if _holders == 0 and gc.get_freeze_count() == 0:
            gc.freeze()
            _frozen = True
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _frozen:
                gc.unfreeze()
                _frozen = False
