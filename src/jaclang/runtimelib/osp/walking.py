"""Walking: ``spawn`` runs a walker over the graph; ``visit``, ``skip``, ``disengage``,
``report``, ``here`` and ``visitor`` act on the innermost running walk.

The walk order is upstream jaclang 0.16.7's (its ``osp_kernel``): one queue per
walk, ``visit`` appends to it; the walker takes the next queued location, runs
its entry abilities there, and only when the queue is empty does it run exit
abilities, last-entered location first. So entries happen in breadth-first
(queue) order and exits in the reverse order of entries. A walker's untyped
``with entry`` abilities run once, at the spawn location, before anything else;
its untyped ``with exit`` abilities run once at the end, at the last location
entered (not after a ``disengage``).
"""

from __future__ import annotations

import inspect
from collections import deque
from typing import Any, Callable

from jaclang.runtimelib.osp.abilities import dispatch_plan, untyped_abilities
from jaclang.runtimelib.osp.archetypes import Edge, Node, Walker, far_end
from jaclang.runtimelib.osp.graph import as_node_list


class SkipSignal(BaseException):
    """Raised by ``skip``: ends the running ability (a BaseException so ``except Exception`` misses it)."""


class DisengageSignal(BaseException):
    """Raised by ``disengage``: ends the running ability and the whole walk."""


class Walk:
    """One running ``spawn``: its walker, queue of locations to visit, and where it is."""

    __slots__ = ("walker", "queue", "location", "ignored")

    def __init__(self, walker: Walker, starts: list[Any]) -> None:
        self.walker = walker
        self.queue: deque[Any] = deque(starts)
        self.location: Any = starts[0] if starts else None
        self.ignored: set[int] | None = None  # ids of the nodes `ignore` excluded from this walk


_walks: list[Walk] = []  # innermost last: a walker may spawn another from an ability


def spawn(walker: Walker, location: Node | Edge) -> Walker:
    """Run ``walker`` from ``location`` until its queue is empty or it disengages; return it.

    ``W() spawn n`` and ``n spawn W()`` both come here (either argument order is
    accepted). Spawning on an edge visits the edge, then its target.
    """
    if isinstance(walker, (Node, Edge)) and isinstance(location, Walker):
        walker, location = location, walker
    if not isinstance(walker, Walker):
        raise TypeError(f"spawn: {type(walker).__name__} object is not a walker")
    if isinstance(location, Edge):
        starts = [location, location._jac_target]
    elif isinstance(location, Node):
        starts = [location]
    else:
        raise TypeError(f"spawn: a walker is spawned on a node or an edge, not on a {type(location).__name__} object")
    walker.__dict__["_jac_reports"] = []  # each spawn reports afresh, as upstream
    if walker._jac_async:
        return _spawn_async(walker, starts)  # type: ignore[return-value]
    walk = Walk(walker, starts)
    _walks.append(walk)
    try:
        _run(walk)
    finally:
        _walks.pop()
    return walker


def _run_abilities(steps: Any, walker: Walker, location: Any) -> bool:
    """Run dispatch steps at one location; False when the walk disengaged."""
    for function, on_walker in steps:
        try:
            function(walker if on_walker else location)
        except SkipSignal:
            pass
        except DisengageSignal:
            return False
    return True


def _run_untyped(functions: tuple[Callable[[Any], Any], ...], walker: Walker) -> bool:
    """Run a walker's untyped abilities; False when the walk disengaged."""
    return _run_abilities([(function, True) for function in functions], walker, None)


def _run(walk: Walk) -> None:
    """The walk loop: entries in queue order, exits last-entered first (see the module docstring)."""
    walker = walk.walker
    walker_cls = type(walker)
    queue = walk.queue
    if not _run_untyped(untyped_abilities(walker_cls, "entry"), walker):
        return
    plans: dict[type, Any] = {}
    entered_with_exits: list[Any] = []  # locations whose exit abilities are still to run
    last_entered = None
    while True:
        if queue:
            location = queue.popleft()
            walk.location = last_entered = location
            location_cls = type(location)
            plan = plans.get(location_cls)
            if plan is None:
                plan = plans[location_cls] = dispatch_plan(walker_cls, location_cls)
            if plan.entries and not _run_abilities(plan.entries, walker, location):
                return
            if plan.exits:
                entered_with_exits.append(location)
        elif entered_with_exits:
            location = walk.location = entered_with_exits.pop()
            if not _run_abilities(plans[type(location)].exits, walker, location):
                return
        else:
            break
    if last_entered is not None:
        walk.location = last_entered
        _run_untyped(untyped_abilities(walker_cls, "exit"), walker)


async def _spawn_async(walker: Walker, starts: list[Any]) -> Walker:
    """An ``async walker``'s walk: the same order as :func:`_run`, awaiting abilities that are coroutines.

    The walk is the innermost one only while it runs (between awaits other
    walks may run; each resumes as the innermost again).
    """
    walk = Walk(walker, starts)
    walker_cls = type(walker)

    async def run_abilities(steps: Any, location: Any) -> bool:
        for function, on_walker in steps:
            _walks.append(walk)
            try:
                result = function(walker if on_walker else location)
                if inspect.isawaitable(result):
                    await result
            except SkipSignal:
                pass
            except DisengageSignal:
                return False
            finally:
                _walks.remove(walk)
        return True

    if not await run_abilities([(function, True) for function in untyped_abilities(walker_cls, "entry")], None):
        return walker
    entered_with_exits: list[Any] = []
    last_entered = None
    while walk.queue or entered_with_exits:
        if walk.queue:
            location = walk.location = last_entered = walk.queue.popleft()
            plan = dispatch_plan(walker_cls, type(location))
            if not await run_abilities(plan.entries, location):
                return walker
            if plan.exits:
                entered_with_exits.append(location)
        else:
            location = walk.location = entered_with_exits.pop()
            if not await run_abilities(dispatch_plan(walker_cls, type(location)).exits, location):
                return walker
    if last_entered is not None:
        walk.location = last_entered
        await run_abilities([(function, True) for function in untyped_abilities(walker_cls, "exit")], None)
    return walker


def _current_walk(action: str) -> Walk:
    if not _walks:
        raise RuntimeError(f"'{action}' is only meaningful while a walker is walking (inside an ability)")
    return _walks[-1]


def visit(targets: Any) -> bool:
    """Queue node(s) on the current walker (after what is already queued); False if none.

    An edge is queued followed by its far end from ``here`` (upstream's
    ``visit [edge -->]``), so walker abilities typed for the edge fire on it first.
    """
    if not _walks:
        return False
    walk = _walks[-1]
    ignored = walk.ignored
    if isinstance(targets, Node):
        if ignored and id(targets) in ignored:
            return False
        walk.queue.append(targets)
        return True
    items = as_node_list(targets)
    for item in items:
        if not isinstance(item, Node):
            items = _with_far_ends(items, walk.location)
            break
    if ignored:
        items = [item for item in items if id(item) not in ignored]
    walk.queue.extend(items)
    return bool(items)


def ignore(targets: Any) -> bool:
    """``ignore x;``: later ``visit``s of this walk pass over the node(s) ``x`` (an edge means its target).

    As upstream, ignoring lasts until the walk ends and does not remove what is
    already queued; the value is True when a node was newly ignored.
    """
    walk = _current_walk("ignore")
    if walk.ignored is None:
        walk.ignored = set()
    before = len(walk.ignored)
    for item in [targets] if isinstance(targets, (Node, Edge)) else as_node_list(targets):
        if isinstance(item, Edge):
            item = item._jac_target
        if not isinstance(item, Node):
            raise TypeError(f"ignore: {type(item).__name__} object is not a node or an edge")
        walk.ignored.add(id(item))
    return len(walk.ignored) > before


def _with_far_ends(items: list[Any], here_location: Any) -> list[Any]:
    """Each edge followed by the node at its far end, each node behind an edge once."""
    expanded: list[Any] = []
    seen: set[int] = set()
    for item in items:
        if not isinstance(item, (Node, Edge)):
            raise TypeError(f"visit: {type(item).__name__} object is not a node or an edge")
        if id(item) in seen:
            continue
        seen.add(id(item))
        expanded.append(item)
        if isinstance(item, Edge):
            node = far_end(item, here_location)
            if node is not None and id(node) not in seen:
                seen.add(id(node))
                expanded.append(node)
    return expanded


def skip() -> None:
    """End the running ability (upstream compiles ``skip`` to a return); the walk goes on."""
    _current_walk("skip")
    raise SkipSignal


def disengage() -> None:
    """End the running ability and the walk: no further abilities, no exit abilities."""
    _current_walk("disengage")
    raise DisengageSignal


def report(value: Any) -> None:
    """Print ``value`` (as upstream's ``jac run`` does) and append it to the walker's ``reports``."""
    print(value)
    if _walks:
        _walks[-1].walker.reports.append(value)


def here() -> Node | Edge | None:
    """The node (or edge) the current walker is on; None outside a walk."""
    return _walks[-1].location if _walks else None


def visitor() -> Walker | None:
    """The walker of the innermost running walk (inside node abilities); None outside a walk."""
    return _walks[-1].walker if _walks else None
