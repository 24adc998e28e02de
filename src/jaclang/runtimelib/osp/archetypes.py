"""The archetype base classes: ``Node``, ``Edge``, ``Walker`` and the graph's ``Root``.

Generated archetypes subclass these and are made ``dataclass(eq=False)`` by the
compiler, so the bases have no ``__init__`` and no fields: graph state lives in
instance attributes named ``_jac_*``, set on first use, and the class attributes
below are their defaults. That keeps building a node as cheap as building a
plain dataclass instance. The runtime sets them as plain attributes, never
through ``__dict__``, which would make Python give up its compact instance
layout (and make the cyclic garbage collector track one more object each).
"""

from __future__ import annotations

from typing import Any


class Node:
    """Base of every ``node`` archetype.

    ``_jac_edges`` lists the node's edges, in and out together, in the order they
    were connected (the order edge references return them in, as upstream).
    """

    __slots__ = ()
    _jac_edges: Any = ()  # replaced by a list on the first connect
    _jac_id: Any = None  # the stored id once the node is persisted
    _jac_mark: Any = None  # the token of the latest commit that kept the node


class Edge:
    """Base of every ``edge`` archetype; ``connect`` sets its ends."""

    __slots__ = ()
    _jac_source: Any = None
    _jac_target: Any = None
    _jac_undirected: bool = False  # ``a <++> b``: one edge, traversable both ways
    _jac_seq: int = 0  # connection order (new edges are stored in it)
    _jac_id: Any = None
    _jac_mark: Any = None


class GenericEdge(Edge):
    """The edge ``a ++> b`` creates when no edge type is given."""

    def __repr__(self) -> str:
        return "GenericEdge()"


class Walker:
    """Base of every ``walker`` archetype; ``reports`` holds what its last walk reported."""

    __slots__ = ()

    @property
    def reports(self) -> list[Any]:
        """The values reported during this walker's latest walk, in order."""
        reports = self.__dict__.get("_jac_reports")
        if reports is None:
            reports = self.__dict__["_jac_reports"] = []
        return reports

    @reports.setter
    def reports(self, value: list[Any]) -> None:
        self.__dict__["_jac_reports"] = value


class Root(Node):
    """The root node of the running program's graph (persisted by ``jac run``)."""

    def __repr__(self) -> str:
        return "Root()"


def edge_source(edge: Edge) -> Node | None:
    """The node an edge starts at (either end, for an undirected edge)."""
    return edge._jac_source


def edge_target(edge: Edge) -> Node | None:
    """The node an edge ends at."""
    return edge._jac_target


def far_end(edge: Edge, near: Any) -> Node | None:
    """The end of ``edge`` that is not ``near`` (its target when ``near`` is neither end)."""
    return edge._jac_source if edge._jac_target is near and edge._jac_source is not near else edge._jac_target
