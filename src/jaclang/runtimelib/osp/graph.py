"""Graph operations: connect, disconnect, edge references, node filters, deletion."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from jaclang.runtimelib.osp.archetypes import Edge, Node


def connect(left: Node | list[Node], right: Node | list[Node], direction: str = "out", edge: Any = None) -> Any:
    """Connect every left node to every right node (``a ++> b``, ``a <++ b``, ``a <++> b``)."""
    raise NotImplementedError


def disconnect(
    left: Node | list[Node],
    right: Node | list[Node],
    direction: str = "out",
    edge_types: tuple[type, ...] = (),
    edge_condition: Callable[[Edge], Any] | None = None,
) -> bool:
    """Delete the matching edges between left and right nodes (``del a --> b``)."""
    raise NotImplementedError


def edge_ref(
    sources: Node | list[Node],
    direction: str = "out",
    edge_types: tuple[type, ...] = (),
    edge_condition: Callable[[Edge], Any] | None = None,
    node_types: tuple[type, ...] = (),
    node_condition: Callable[[Node], Any] | None = None,
    edges: bool = False,
) -> list[Any]:
    """The nodes (or edges) one hop away from the sources (``[-->]``, ``[->:Road:km > 2:->]``)."""
    raise NotImplementedError


def filter_nodes(items: Iterable[Any], types: tuple[type, ...] = (), condition: Callable[[Any], Any] | None = None) -> list[Any]:
    """The items of the given types that satisfy the condition (``(?:City)``, ``(?pop > 100)``)."""
    raise NotImplementedError


def destroy(items: Any) -> None:
    """Delete the given edges, or nodes with all their edges (``del [a -->]``)."""
    raise NotImplementedError
