"""Where ``jac run`` keeps the running program's graph: chosen before the program starts.

Kept apart from the OSP runtime (:mod:`jaclang.runtimelib.osp`), which reads it
when the program first asks for ``root``: a program that never touches the graph
imports neither the runtime nor SQLite, and creates no file.
"""

from __future__ import annotations

import os

_pending: str | None = None  # the graph file of this run, until the OSP runtime takes it


def file_for(program_path: str) -> str:
    """Where ``jac run`` keeps a program's graph: ``.jac/data/<name>.db`` beside it (or in ``$JAC_DATA_DIR``)."""
    directory = os.environ.get("JAC_DATA_DIR") or os.path.join(os.path.dirname(os.path.abspath(program_path)), ".jac", "data")
    name = os.path.splitext(os.path.basename(program_path))[0]
    return os.path.join(directory, f"{name}.db")


def discard(path: str) -> None:
    """Delete a stored graph (``jac run --fresh``)."""
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


def persist_to(path: str | None) -> None:
    """Make ``path`` the graph file of this run (``None``: keep the graph in memory only)."""
    global _pending
    _pending = path


def take() -> str | None:
    """The graph file chosen for this run, handed over once (to the OSP runtime)."""
    global _pending
    path, _pending = _pending, None
    return path
