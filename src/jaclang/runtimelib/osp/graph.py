"""Graph operations: connect, disconnect, edge references, node filters, deletion.

Semantics follow upstream jaclang 0.16.7 (``JacBasics.connect`` / ``disconnect``
and ``JacNode.edges_to_nodes`` / ``get_edges``): a node's edges are kept in one
list in connection order; an edge reference walks that list for each source in
turn and returns each node (or edge) once, in order of first appearance; an
undirected edge (``<++>``) is traversed by ``-->``, ``<--`` and ``<-->`` from
either end.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterable

from jaclang.runtimelib.osp.archetypes import Edge, GenericEdge, Node

DIRECTIONS = ("out", "in", "both")

# Connection order of edges: persistence gives new edges row ids in this order, which
# reproduces every node's edge order on load.
_edge_sequence = itertools.count()


def as_node_list(value: Any) -> list[Any]:
    """A node (or edge) on its own as a one-item list; a list or other iterable as a list."""
    if isinstance(value, (Node, Edge)):
        return [value]
    if value is None:
        return []
    return list(value)


def check_direction(direction: str) -> None:
    """Reject a direction other than ``out``, ``in`` or ``both``."""
    if direction not in DIRECTIONS:
        raise ValueError(f"edge direction must be one of {DIRECTIONS}, not {direction!r}")


def attach(edge: Edge, source: Node, target: Node, undirected: bool = False) -> Edge:
    """Make ``edge`` join ``source`` to ``target`` and add it to both nodes' edge lists."""
    edge._jac_source = source
    edge._jac_target = target
    edge._jac_seq = next(_edge_sequence)
    if undirected:
        edge._jac_undirected = True
    edges = source._jac_edges
    if edges.__class__ is tuple:  # the class default: no edges yet
        edges = source._jac_edges = []
    edges.append(edge)
    if target is not source:  # a self-loop is listed once
        edges = target._jac_edges
        if edges.__class__ is tuple:
            edges = target._jac_edges = []
        edges.append(edge)
    return edge


def detach(edge: Edge) -> None:
    """Remove ``edge`` from both its nodes; it keeps no ends afterwards."""
    for node in (edge._jac_source, edge._jac_target):
        if node is not None:
            edges = node._jac_edges
            for index, listed in enumerate(edges):
                if listed is edge:
                    del edges[index]
                    break
    edge._jac_source = None
    edge._jac_target = None


def _edge_factory(edge: Any) -> Callable[[], Edge]:
    """What builds each new edge of a connect: a class, or the given instance then copies of it."""
    if edge is None:
        return GenericEdge
    if isinstance(edge, type):
        if not issubclass(edge, Edge):
            raise TypeError(f"connect: {edge.__name__} is not an edge archetype")
        return edge
    if not isinstance(edge, Edge):
        raise TypeError(f"connect: {type(edge).__name__} object is not an edge")
    used = [edge._jac_source is not None]

    def next_edge() -> Edge:
        # One instance cannot be two edges: the first pair gets it, later pairs a copy.
        if not used[0]:
            used[0] = True
            return edge
        duplicate = copy.copy(edge)
        for name in ("_jac_source", "_jac_target", "_jac_undirected", "_jac_id", "_jac_seq", "_jac_mark"):
            duplicate.__dict__.pop(name, None)
        return duplicate

    return next_edge


def connect(left: Node | list[Node], right: Node | list[Node], direction: str = "out", edge: Any = None) -> list[Node]:
    """Connect every left node to every right node; the value is the nodes the edges point to.

    ``a ++> b`` (``out``) and ``a <++> b`` (``both``) give ``[b]``; ``a <++ b`` (``in``,
    edges from b to a) gives ``[a]``, so chains like ``a ++> b ++> c`` connect a->b->c.
    """
    check_direction(direction)
    lefts, rights = as_node_list(left), as_node_list(right)
    sources, targets = (rights, lefts) if direction == "in" else (lefts, rights)
    make_edge = _edge_factory(edge)
    undirected = direction == "both"
    for source in sources:
        for target in targets:
            attach(make_edge(), source, target, undirected)
    return list(targets)


def _matches(item: Any, types: tuple[type, ...], condition: Callable[[Any], Any] | None) -> bool:
    if types and not isinstance(item, types):
        return False
    return condition is None or bool(condition(item))


def disconnect(
    left: Node | list[Node],
    right: Node | list[Node],
    direction: str = "out",
    edge_types: tuple[type, ...] = (),
    edge_condition: Callable[[Edge], Any] | None = None,
) -> bool:
    """Delete the matching edges between left and right nodes (``a del --> b``); True if any was."""
    check_direction(direction)
    rights = {id(node) for node in as_node_list(right)}
    removed = False
    for node in as_node_list(left):
        for edge in list(node._jac_edges):
            if not _matches(edge, edge_types, edge_condition):
                continue
            source, target = edge._jac_source, edge._jac_target
            either_way = direction == "both" or edge._jac_undirected
            forward = (direction == "out" or either_way) and source is node and id(target) in rights
            backward = (direction == "in" or either_way) and target is node and id(source) in rights
            if forward or backward:
                detach(edge)
                removed = True
    return removed


def edge_ref(
    sources: Node | list[Node],
    direction: str = "out",
    edge_types: tuple[type, ...] = (),
    edge_condition: Callable[[Edge], Any] | None = None,
    node_types: tuple[type, ...] = (),
    node_condition: Callable[[Node], Any] | None = None,
    edges: bool = False,
) -> list[Any]:
    """The nodes (or, with ``edges=True``, the edges) one hop from the sources, each once."""
    if direction == "out" and not (edge_types or edge_condition or node_types or node_condition or edges) and isinstance(sources, Node):
        return _out_neighbours(sources)
    check_direction(direction)
    want_out = direction != "in"
    want_in = direction != "out"
    found: dict[int, Any] = {}
    for node in as_node_list(sources):
        for edge in node._jac_edges:
            if edge_types and not isinstance(edge, edge_types):
                continue
            if edge_condition is not None and not edge_condition(edge):
                continue
            source, target = edge._jac_source, edge._jac_target
            both_ways = edge._jac_undirected
            for near, far, wanted in ((source, target, want_out), (target, source, want_in)):
                if near is node and (wanted or both_ways) and _matches(far, node_types, node_condition):
                    found[id(edge) if edges else id(far)] = edge if edges else far
    return list(found.values())


def _out_neighbours(node: Node) -> list[Node]:
    """``[node -->]`` without filters: the fast path walkers take at every step."""
    found: dict[int, Node] = {}
    for edge in node._jac_edges:
        if edge._jac_source is node:
            far = edge._jac_target
        elif edge._jac_undirected:
            far = edge._jac_source
        else:
            continue
        found[id(far)] = far
    return list(found.values())


def filter_nodes(items: Iterable[Any], types: tuple[type, ...] = (), condition: Callable[[Any], Any] | None = None) -> list[Any]:
    """The items of the given types that satisfy the condition (``(?:City)``, ``(?pop > 100)``)."""
    return [item for item in as_node_list(items) if _matches(item, types, condition)]


def destroy(items: Any) -> None:
    """Delete the given edges, or nodes with all their edges (``del [a -->]``)."""
    for item in as_node_list(items):
        if isinstance(item, Edge):
            detach(item)
        elif isinstance(item, Node):
            for edge in list(item._jac_edges):
                detach(edge)
        else:
            raise TypeError(f"destroy: {type(item).__name__} object is not a node or an edge")
