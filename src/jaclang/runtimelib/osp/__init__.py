"""Object-Spatial Programming runtime: nodes, edges, walkers, abilities and the persisted graph.

Generated Jac code calls these names as ``__jac__.<name>`` (``builtins.py`` re-exports them).
The contract, with upstream jaclang's semantics, is filled in below as it is verified.
"""

from __future__ import annotations

from jaclang.runtimelib.osp.archetypes import Edge, GenericEdge, Node, Root, Walker
from jaclang.runtimelib.osp.graph import (
    connect,
    destroy,
    disconnect,
    edge_ref,
    filter_nodes,
)
from jaclang.runtimelib.osp.walking import (
    disengage,
    here,
    on_entry,
    on_exit,
    report,
    skip,
    spawn,
    visit,
    visitor,
)
from jaclang.runtimelib.osp.context import root

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
    "on_entry",
    "on_exit",
    "report",
    "root",
    "skip",
    "spawn",
    "visit",
    "visitor",
]
