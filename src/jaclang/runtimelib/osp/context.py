"""The running program's graph: its root node and, under ``jac run``, the file it persists to.

``jac run`` chooses the graph file before the program starts
(:mod:`jaclang.runtimelib.graph_file`; embedders call ``use_graph_file(path)``) and
calls ``finish_run()`` after it ends. The file is opened, and the persistence module
(SQLite) imported, only when the program first asks for ``root``, so a program
that never touches the graph neither creates the file nor pays for the import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jaclang.runtimelib import graph_file
from jaclang.runtimelib.osp.archetypes import Root

if TYPE_CHECKING:
    from jaclang.runtimelib.osp.persistence import GraphStore

_current_root: Root | None = None
_graph_file: str | None = None  # where this run persists the graph (jac run), if anywhere
_store: GraphStore | None = None  # the graph file, once root() has loaded it


def root() -> Root:
    """The running program's root node (loaded from its graph file under ``jac run``)."""
    global _current_root, _store
    if _current_root is None:
        chosen = graph_file.take()  # chosen by `jac run` before the program started
        if chosen is not None:
            use_graph_file(chosen)
        if _graph_file is None:
            _current_root = Root()
        else:
            from jaclang.runtimelib.osp.persistence import GraphStore

            _store = GraphStore(_graph_file)
            _current_root = _store.load()
    return _current_root


def use_graph_file(path: str, fresh: bool = False) -> None:
    """Persist the root's graph to ``path`` for this run; ``fresh`` discards what is stored there."""
    global _graph_file, _store, _current_root
    if fresh:
        graph_file.discard(path)
    _graph_file = path
    _store = None
    _current_root = None


def finish_run() -> None:
    """Commit the graph under root, if the program used it, and stop persisting."""
    store, loaded_root = _store, _current_root
    abandon_run()
    if store is not None and loaded_root is not None:
        store.commit(loaded_root)


def abandon_run() -> None:
    """Stop persisting without writing anything: the stored graph stays as it was."""
    global _graph_file, _store, _current_root
    _graph_file = None
    _store = None
    _current_root = None


def reset_graph() -> None:
    """Forget the current root (the next ``root()`` is a new one); for tests and embedders."""
    abandon_run()


def graph_file_for(program_path: str) -> str:
    """Where ``jac run`` keeps a program's graph (see :func:`jaclang.runtimelib.graph_file.file_for`)."""
    return graph_file.file_for(program_path)
