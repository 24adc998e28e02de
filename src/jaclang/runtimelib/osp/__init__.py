"""Object-Spatial Programming runtime: nodes, edges, walkers, abilities and the persisted graph.

Generated Jac code calls these names as ``__jac__.<name>`` (``builtins.py``
re-exports them). Semantics are upstream jaclang 0.16.7's, checked by running
programs on it; see docs/osp.md for the evidence and the few deliberate differences.

Archetypes
    ``Node``, ``Edge``, ``Walker``, ``Root(Node)``: bases of ``node`` / ``edge`` /
    ``walker`` archetypes, which the compiler makes ``dataclass(eq=False)``
    (identity equality and hashing). The bases have no ``__init__``; graph state
    lives in instance attributes named ``_jac_*``. ``GenericEdge`` is
    the edge of an untyped connect. ``Walker.reports`` lists what the walker's
    latest walk reported (reset by each ``spawn``).

Graph
    ``root()``: the program's root node (under ``jac run``, loaded from and saved to
    ``.jac/data/<program>.db``). ``connect(left, right, direction, edge)``: every
    left to every right (``out``: left->right, ``in``: right->left, ``both``: one
    undirected edge); ``edge`` is None, an Edge class or an Edge instance; the value
    is the list of nodes the edges point to (``a ++> b`` -> ``[b]``, ``a <++ b`` ->
    ``[a]``), so connects chain. ``disconnect(...) -> bool``. ``edge_ref(...)``: nodes
    (or edges, ``edges=True``) one hop away, each once, in connection order.
    ``filter_nodes(items, types, condition)``. ``destroy(items)``: detach edges, or
    nodes from all their edges.

Walking
    ``spawn(walker, node) -> walker`` runs the walk to completion (either argument
    order). One queue per walk; ``visit(targets) -> bool`` appends to it (edges are
    queued with their far end). Entries run in queue (breadth-first) order, exits
    only once the queue is empty, last-entered first. At each location: the walker's
    abilities typed for it, the location's untyped abilities, the location's
    abilities typed for the walker; exits in the reverse phase order. A walker's
    untyped ``with entry`` runs once at the spawn location, its untyped ``with
    exit`` once at the end. ``ignore(targets)`` keeps later visits of the walk off those nodes. ``skip()`` ends the running ability; ``disengage()`` ends
    it and the walk (no exit abilities). ``report(value)`` prints the value and
    appends it to the walker's ``reports``. ``here()`` / ``visitor()``: the current
    location / walker. ``on_entry(*types)`` / ``on_exit(*types)`` mark abilities.
"""

from __future__ import annotations

from jaclang.runtimelib.osp.abilities import on_entry, on_exit
from jaclang.runtimelib.osp.archetypes import Edge, GenericEdge, Node, Root, Walker
from jaclang.runtimelib.osp.context import root
from jaclang.runtimelib.osp.graph import connect, destroy, disconnect, edge_ref, filter_nodes
from jaclang.runtimelib.osp.walking import disengage, here, ignore, report, skip, spawn, visit, visitor

__all__ = [
    "Edge",
    "GenericEdge",
    "Node",
    "Root",
    "Walker",
    "connect",
    "destroy",
    "disconnect",
    "disengage",
    "edge_ref",
    "filter_nodes",
    "here",
    "ignore",
    "on_entry",
    "on_exit",
    "report",
    "root",
    "skip",
    "spawn",
    "visit",
    "visitor",
]
