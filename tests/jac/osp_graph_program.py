"""A program for the persistence tests, run by ``jac run`` through a one-line .jac file.

``jac run prog.jac ACTION [ARGS]``; the archetypes live here so both runs of a
test import them from the same module.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jaclang.runtimelib import osp


@dataclass(eq=False)
class Item(osp.Node):
    """A node with a name, a run counter and a list that changes in place."""

    name: str
    runs: int = 0
    seen: list = field(default_factory=list)


@dataclass(eq=False)
class Link(osp.Edge):
    """A typed edge with a field."""

    weight: int = 1


def names() -> list[str]:
    """The names of root's items, in connection order."""
    return [item.name for item in osp.edge_ref(osp.root())]


def grow(name: str) -> None:
    """Show what the previous runs stored, touch it, and add one item."""
    print("found", names())
    for item in osp.edge_ref(osp.root()):
        item.runs += 1
        item.seen.append(name)
    print("runs", [item.runs for item in osp.edge_ref(osp.root())])
    osp.connect(osp.root(), Item(name), edge=Link(weight=len(name)))


def wait_for(directory: Path, count: int) -> None:
    """Poll (with a deadline) until ``count`` runs have announced themselves in ``directory``."""
    deadline = time.monotonic() + 60
    while len(list(directory.glob("*.loaded"))) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(directory.glob('*.loaded')))} of {count} runs started")
        time.sleep(0.01)


def main() -> None:
    """Dispatch on ``sys.argv[1]``."""
    action, args = sys.argv[1], sys.argv[2:]
    if action == "grow":
        grow(args[0])
    elif action == "show":
        print("found", names())
        print("weights", [edge.weight for edge in osp.edge_ref(osp.root(), edges=True)])
    elif action == "kill":  # change the graph, then die without any chance to commit
        grow(args[0])
        for item in osp.edge_ref(osp.root()):
            osp.disconnect(osp.root(), item)
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "raise":
        grow(args[0])
        raise ValueError("boom")
    elif action == "overlap":  # load, wait until every run has loaded, then add
        directory, count, name = Path(args[0]), int(args[1]), args[2]
        print("found", names())
        (directory / f"{name}.loaded").touch()
        wait_for(directory, count)
        osp.connect(osp.root(), Item(name))
    elif action == "drop":
        for item in osp.edge_ref(osp.root()):
            if item.name == args[0]:
                osp.destroy(item)
        print("found", names())
    else:
        raise SystemExit(f"unknown action {action}")
