"""Walking: ``spawn``, ``visit``, ``skip``, ``disengage``, ``report`` and ability decorators."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from jaclang.runtimelib.osp.archetypes import Node, Walker

FunctionT = TypeVar("FunctionT", bound=Callable[..., Any])


def on_entry(*types: type) -> Callable[[FunctionT], FunctionT]:
    """Mark a method as an entry ability (``can act with City | Town entry``)."""
    raise NotImplementedError


def on_exit(*types: type) -> Callable[[FunctionT], FunctionT]:
    """Mark a method as an exit ability (``can act with City exit``)."""
    raise NotImplementedError


def spawn(walker: Walker, node: Node) -> Walker:
    """Run ``walker`` from ``node`` until its queue is empty or it disengages; return it."""
    raise NotImplementedError


def visit(targets: Any) -> bool:
    """Queue node(s), or the nodes behind edges, on the current walker; False if none."""
    raise NotImplementedError


def skip() -> None:
    """Stop processing the current node and move on to the next one."""
    raise NotImplementedError


def disengage() -> None:
    """Stop the current walk."""
    raise NotImplementedError


def report(value: Any) -> None:
    """Append ``value`` to the current walker's ``reports``."""
    raise NotImplementedError


def here() -> Node | None:
    """The node the current walker is on."""
    raise NotImplementedError


def visitor() -> Walker | None:
    """The walker visiting the current node (inside node abilities)."""
    raise NotImplementedError
