"""The running program's graph: its root node and, under ``jac run``, the file it persists to.

``jac run`` calls ``use_graph_file(path)`` before the program starts and
``finish_run()`` after it ends. The file is opened only when the program first
asks for ``root``, so a program that never touches the graph never creates it.
"""

from __future__ import annotations

import os

from jaclang.runtimelib.osp.archetypes import Root
from jaclang.runtimelib.osp.persistence import GraphStore

_current_root: Root | None = None
_store: GraphStore | None = None


def root() -> Root:
    """The running program's root node (loaded from its graph file under ``jac run``)."""
    global _current_root
    if _current_root is None:
        _current_root = _store.load() if _store is not None else Root()
    return _current_root


def use_graph_file(path: str, fresh: bool = False) -> None:
    """Persist the root's graph to ``path`` for this run; ``fresh`` discards what is stored there."""
    global _store, _current_root
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(path + suffix)
            except FileNotFoundError:
                pass
    _store = GraphStore(path)
    _current_root = None


def finish_run() -> None:
    """Commit the graph under root, if the program used it, and stop persisting."""
    global _store, _current_root
    store, loaded_root = _store, _current_root
    _store = None
    _current_root = None
    if store is not None and loaded_root is not None:
        store.commit(loaded_root)


def abandon_run() -> None:
    """Stop persisting without writing anything: the stored graph stays as it was."""
    global _store, _current_root
    _store = None
    _current_root = None


def reset_graph() -> None:
    """Forget the current root (the next ``root()`` is a new one); for tests and embedders."""
    abandon_run()


def graph_file_for(program_path: str) -> str:
    """Where ``jac run`` keeps a program's graph: ``.jac/data/<name>.db`` beside it
    (or in ``$JAC_DATA_DIR``)."""
    directory = os.environ.get("JAC_DATA_DIR") or os.path.join(os.path.dirname(os.path.abspath(program_path)), ".jac", "data")
    name = os.path.splitext(os.path.basename(program_path))[0]
    return os.path.join(directory, f"{name}.db")
