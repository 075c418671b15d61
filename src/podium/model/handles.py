"""Handles: what calling a task inside a workflow function returns.

A handle stands for a result that exists only at run time. Passing it to another task makes
a dependency; using it as a value while the graph is being built raises HandleMisuseError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from podium.errors import HandleMisuseError

if TYPE_CHECKING:
    from podium.model.graph import Node


class Handle:
    """The future result of one node of a workflow graph."""

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def name(self) -> str:
        """The node's final name (known once the workflow function has returned)."""
        return self.node.name

    def __repr__(self) -> str:
        return f"<Handle {self.node.name or self.node.task_name}>"

    def _misuse(self, usage: str) -> NoReturn:
        raise HandleMisuseError(self.node.name or self.node.task_name, usage)

    def __bool__(self) -> bool:
        self._misuse("as a truth value, e.g. `if handle:`")

    def __len__(self) -> int:
        self._misuse("len()")

    def __iter__(self) -> NoReturn:
        self._misuse("iteration; use task.map(handle) to fan out over it at run time")

    def __contains__(self, item: object) -> bool:
        self._misuse("`in`")

    def __getitem__(self, key: object) -> NoReturn:
        self._misuse("indexing")

    def __str__(self) -> str:
        self._misuse("str(); pass the handle as an argument instead")

    def __format__(self, spec: str) -> str:
        self._misuse("string formatting; pass the handle as an argument instead")

    def __int__(self) -> int:
        self._misuse("int()")

    def __float__(self) -> float:
        self._misuse("float()")

    def __index__(self) -> int:
        self._misuse("an index")

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self._misuse(f"attribute access .{attribute}")


def _binary(symbol: str) -> Any:
    def method(self: Handle, other: object) -> NoReturn:
        self._misuse(f"arithmetic or comparison `{symbol}`")

    return method


for _dunder, _symbol in {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "truediv": "/",
    "floordiv": "//",
    "mod": "%",
    "pow": "**",
    "matmul": "@",
    "and": "&",
    "or": "|",
    "xor": "^",
    "lshift": "<<",
    "rshift": ">>",
}.items():
    setattr(Handle, f"__{_dunder}__", _binary(_symbol))
    setattr(Handle, f"__r{_dunder}__", _binary(_symbol))
for _dunder, _symbol in {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}.items():
    setattr(Handle, f"__{_dunder}__", _binary(_symbol))
for _dunder in ("neg", "pos", "abs", "invert"):
    setattr(Handle, f"__{_dunder}__", lambda self, _d=_dunder: self._misuse(f"unary {_d}"))
