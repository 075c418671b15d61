"""Building a graph by calling tasks inside a workflow function.

While a workflow function runs, a GraphBuilder is current; task calls add nodes to it and
return handles. When the function returns, names are made final and dependencies resolved.
"""

from __future__ import annotations

from collections import defaultdict
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from podium.errors import OptionError
from podium.model.graph import Graph, Node
from podium.model.handles import Handle
from podium.model.values import find_handles

if TYPE_CHECKING:
    from podium.model.taskdef import TaskDef

_current_builder: ContextVar[GraphBuilder | None] = ContextVar("podium_builder", default=None)


def current_builder() -> GraphBuilder | None:
    """The builder of the workflow function being run, or None outside one."""
    return _current_builder.get()


class GraphBuilder:
    """Collects the nodes created while one workflow function runs."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        self._nodes: list[Node] = []
        self._children: dict[int, list[Node]] = {}

    def __enter__(self) -> GraphBuilder:
        self._token = _current_builder.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _current_builder.reset(self._token)

    def add_call(
        self, task: TaskDef, args: tuple[Any, ...], kwargs: dict[str, Any], name: str | None
    ) -> Handle:
        """One call of ``task``: a node that runs it once."""
        node = Node(task, "call", args, kwargs)
        self._name(node, name)
        self._nodes.append(node)
        return Handle(node)

    def add_map(
        self, task: TaskDef, over: Any, constants: dict[str, Any], name: str | None
    ) -> Handle:
        """A fan-out of ``task`` over ``over`` (a literal iterable, or a handle)."""
        if isinstance(over, Handle):
            node = Node(task=task, kind="map", args=(over,), kwargs=constants)
            self._name(node, name)
            self._nodes.append(node)
            return Handle(node)
        gather = Node(task=task, kind="gather")
        self._name(gather, name)
        children = [
            Node(task=task, kind="call", args=(item,), kwargs=dict(constants), map_index=index)
            for index, item in enumerate(over)
        ]
        self._children[id(gather)] = children
        self._nodes.extend(children)
        self._nodes.append(gather)
        gather.args = tuple(Handle(child) for child in children)
        return Handle(gather)

    def _name(self, node: Node, name: str | None) -> None:
        if name is None:
            return
        if not isinstance(name, str) or not name.strip() or "[" in name or "]" in name:
            raise OptionError(
                "name",
                name,
                f"task {node.task_name!r}: a name given at the call must be a "
                "non-empty string without brackets (brackets number repeated calls and map "
                "elements)",
            )
        node.name = name
        node.explicit_name = True

    def finish(self, output: Any) -> Graph:
        """Give every node its final name, resolve dependencies, validate; return the graph."""
        self._assign_names()
        graph = Graph(output=output, workflow=self.workflow)
        added = graph.nodes
        # Handles exist only once their node does, so a node's dependencies were added
        # before it and no cycle is possible, as long as every handle is of a node of this
        # graph: a handle of another workflow's node (kept from an earlier build) may name
        # a later node, or none; then the graph is validated in full.
        foreign = False
        for node in self._nodes:
            args = node.args
            plain = bool(args) and _all_handles(args)  # the common call: f(a, b), handles
            handles = list(args) if plain else find_handles(args) if args else []
            if node.kwargs and (in_kwargs := find_handles(node.kwargs)):
                handles += in_kwargs
                plain = False
            if handles:
                node.has_handles = True
                names = [handle.node.name for handle in handles]
                if plain:
                    node.handle_args = tuple(names)
                node.deps = list(dict.fromkeys(names)) if len(names) > 1 else names
                if not foreign:
                    for handle in handles:
                        if added.get(handle.node.name) is not handle.node:
                            foreign = True
                            break
            graph.add(node)
        graph.validate(acyclic=not foreign)
        return graph

    def _assign_names(self) -> None:
        top_level = [node for node in self._nodes if node.map_index is None]
        unnamed: dict[str, list[Node]] = defaultdict(list)
        for node in top_level:
            if not node.explicit_name:
                unnamed[node.task_name].append(node)
        for base, nodes in unnamed.items():
            if len(nodes) == 1:
                nodes[0].name = base
            else:
                for index, node in enumerate(nodes):
                    node.name = f"{base}[{index}]"
        for node in top_level:
            for child in self._children.get(id(node), ()):
                child.name = f"{node.name}[{child.map_index}]"


def _all_handles(values: tuple[Any, ...]) -> bool:
    for value in values:
        if type(value) is not Handle:
            return False
    return True


def build_graph(workflow: str, function: Any, params: dict[str, Any]) -> Graph:
    """Run ``function(**params)`` with a builder current and return the validated graph."""
    with GraphBuilder(workflow) as builder:
        output = function(**params)
    return builder.finish(output)
