"""``visit <candidates> by llm()``: the model chooses which of the candidate nodes the walker visits next.

The compiler turns ``visit [-->] by llm();`` into
``visit(llm_visit(llm(), [-->]))``. :func:`llm_visit` asks the model through the
ordinary ``by llm()`` path (``jaclang.runtimelib.machine.call_llm``, so byllm's
plugins, test overrides and mock models all apply) by calling the bodiless
function :func:`choose_next_nodes` with the walker, its location and the
candidates; the typed reply is the list of chosen positions, and the chosen
nodes (or edges) go back to ``visit`` in the model's order. An empty choice
visits nothing, so ``visit ... by llm() else { }`` runs its ``else`` block.
"""

from __future__ import annotations

from typing import Any

from jaclang.runtimelib.machine import call_llm
from jaclang.runtimelib.osp.archetypes import Edge, Node
from jaclang.runtimelib.osp.walking import here, visitor

__all__ = ["choose_next_nodes", "llm_visit"]


def choose_next_nodes(walker: Any, location: Any, candidates: list[Any]) -> list[int]:
    """Choose the next nodes to visit.

    The walker is at the location and may go on to any of the candidates (the
    location's neighbours). Answer with the 0-based positions, in the candidates
    list, of the nodes the walker should visit next, best first; an empty list
    means visit none of them.
    """
    # No body: like every by-llm function, this one is answered by the model (see llm_visit).


def llm_visit(model: Any, targets: Any) -> list[Any]:
    """The candidates in ``targets`` (a node, an edge or a list of them) that the model chooses to visit."""
    candidates = _as_candidates(targets)
    if not candidates:
        return []  # nothing to choose from: no call to the model
    arguments: dict[str | int, object] = {
        "walker": visitor(),
        "location": here(),
        "candidates": candidates,
    }
    positions = call_llm(model, choose_next_nodes, arguments)
    return _chosen(candidates, positions)


def _as_candidates(targets: Any) -> list[Any]:
    if targets is None:
        return []
    if isinstance(targets, (Node, Edge)):
        return [targets]
    return list(targets)


def _chosen(candidates: list[Any], positions: Any) -> list[Any]:
    """The candidates at ``positions``, each once, in the model's order; a position out of range is an error."""
    if isinstance(positions, int) and not isinstance(positions, bool):
        positions = [positions]
    if not isinstance(positions, (list, tuple)):
        raise TypeError(
            f"visit ... by llm(): the model's answer must be a list of candidate positions, got {positions!r}"
        )
    chosen: list[Any] = []
    seen: set[int] = set()
    for position in positions:
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < len(candidates):
            raise ValueError(
                f"visit ... by llm(): the model chose candidate {position!r}, but the candidates are "
                f"positions 0 to {len(candidates) - 1}; check the model's output"
            )
        if position not in seen:
            seen.add(position)
            chosen.append(candidates[position])
    return chosen
