"""The archetype base classes: ``Node``, ``Edge``, ``Walker`` and the graph's ``Root``."""

from __future__ import annotations

from typing import Any


class Node:
    """Base of every ``node`` archetype; its edges live in the instance ``__dict__``."""

    __slots__ = ()


class Edge:
    """Base of every ``edge`` archetype; its ends are set when it is connected."""

    __slots__ = ()


class GenericEdge(Edge):
    """The edge ``a ++> b`` creates when no edge type is given."""


class Walker:
    """Base of every ``walker`` archetype; ``reports`` collects what its abilities ``report``."""

    __slots__ = ()

    @property
    def reports(self) -> list[Any]:
        """The values reported during this walker's walks, in order."""
        raise NotImplementedError


class Root(Node):
    """The root node of the running program's graph."""
