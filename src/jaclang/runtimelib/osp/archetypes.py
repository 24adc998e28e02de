"""The archetype base classes: ``Node``, ``Edge``, ``Walker`` and the graph's ``Root``.

Generated archetypes subclass these and are made ``dataclass(eq=False)`` by the
compiler, so the bases have no ``__init__`` and no fields: graph state lives in
instance attributes named ``_jac_*``, set on first use, and the class attributes
below are their defaults. That keeps building a node as cheap as building a
plain dataclass instance. The runtime sets them as plain attributes, never
through ``__dict__``, which would make Python give up its compact instance
layout (and make the cyclic garbage collector track one more object each).

The compact layout has a second trap: CPython (3.11 to 3.13) gives every class
one table of attribute names shared by its instances, and shrinks the room left
in it as instances are made, so a name first set after many instances exist (the
``_jac_id`` a commit gives 100,000 nodes) no longer fits and every instance
gets a dict of its own (about 270 bytes and 1.3 µs each). So each archetype
class enters its fields and graph attributes in its table when it is made
(:func:`reserve_attribute_names`).
"""

from __future__ import annotations

import itertools
from typing import Any

NODE_ATTRIBUTES = ("_jac_edges", "_jac_mark", "_jac_id")
EDGE_ATTRIBUTES = ("_jac_source", "_jac_target", "_jac_seq", "_jac_undirected", "_jac_mark", "_jac_id")


def reserve_attribute_names(cls: type, graph_attributes: tuple[str, ...]) -> None:
    """Enter ``cls``'s annotated fields and ``graph_attributes`` in its instances' shared name table.

    Done by setting them on one throwaway instance made without ``__init__``. A class
    whose ``__del__`` would see that instance, one ``object.__new__`` cannot make
    (abstract) and one without instance dicts are left alone, as is a name held by
    a data descriptor: the table only saves time and memory.
    """
    if getattr(cls, "__del__", None) is not None or cls.__dictoffset__ == 0:
        return
    annotated = (name for klass in reversed(cls.__mro__) for name in klass.__dict__.get("__annotations__", {}))
    names = dict.fromkeys(itertools.chain(annotated, graph_attributes))
    try:
        instance = object.__new__(cls)
    except TypeError:  # an abstract class, or one object.__new__ cannot make
        return
    for name in names:
        if name.startswith("__") or hasattr(type(getattr(cls, name, None)), "__set__"):
            continue
        object.__setattr__(instance, name, None)


class Node:
    """Base of every ``node`` archetype.

    ``_jac_edges`` lists the node's edges, in and out together, in the order they
    were connected (the order edge references return them in, as upstream).
    """

    __slots__ = ()
    _jac_edges: Any = ()  # replaced by a list on the first connect
    _jac_id: Any = None  # the stored id once the node is persisted
    _jac_mark: Any = None  # the token of the latest commit that kept the node

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        reserve_attribute_names(cls, NODE_ATTRIBUTES)


class Edge:
    """Base of every ``edge`` archetype; ``connect`` sets its ends."""

    __slots__ = ()
    _jac_source: Any = None
    _jac_target: Any = None
    _jac_undirected: bool = False  # ``a <++> b``: one edge, traversable both ways
    _jac_seq: int = 0  # connection order (new edges are stored in it)
    _jac_id: Any = None
    _jac_mark: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        reserve_attribute_names(cls, EDGE_ATTRIBUTES)


class GenericEdge(Edge):
    """The edge ``a ++> b`` creates when no edge type is given."""

    def __repr__(self) -> str:
        return "GenericEdge()"


class Walker:
    """Base of every ``walker`` archetype; ``reports`` holds what its last walk reported."""

    __slots__ = ()
    _jac_async = False  # `async walker`: spawning gives a coroutine that runs the walk

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
