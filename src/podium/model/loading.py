"""Whether a workflow file is being imported by ``podium run`` (and not run as a script).

While it is, ``Orchestrator.start()`` at module level does nothing: the CLI runs the
orchestrator itself once the file is imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_loading: ContextVar[bool] = ContextVar("podium_loading", default=False)


def is_loading() -> bool:
    """True while ``podium`` imports a workflow file."""
    return _loading.get()


@contextmanager
def loading() -> Iterator[None]:
    """Mark the block as the import of a workflow file."""
    token = _loading.set(True)
    try:
        yield
    finally:
        _loading.reset(token)
