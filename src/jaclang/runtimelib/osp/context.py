"""The running program's graph context: its root node (and, under ``jac run``, its store)."""

from __future__ import annotations

from jaclang.runtimelib.osp.archetypes import Root

_current_root: Root | None = None


def root() -> Root:
    """The running program's root node (a fresh in-memory one outside ``jac run``)."""
    global _current_root
    if _current_root is None:
        _current_root = Root()
    return _current_root
