"""``visit <candidates> by llm()``: the model chooses which candidate nodes the walker visits next."""

from __future__ import annotations

from typing import Callable

import pytest

from jaclang.compiler import jac_to_python
from jaclang.runtimelib.osp.llm_visit import choose_next_nodes

from jac_support import RecordingPlugin

GRAPH = """
import from byllm.lib { Model }
glob llm = Model(model_name="chooser");

node Room { has name: str; }

walker Scout {
    has goal: str = "the attic";
    can look with Room entry {
        print("in", here.name);
        visit [-->] by llm() else { print("stop at", here.name); }
    }
}

with entry {
    hall = Room(name="hall");
    cellar = Room(name="cellar");
    attic = Room(name="attic");
    study = Room(name="study");
    hall ++> cellar;
    hall ++> attic;
    hall ++> study;
    Scout() spawn hall;
}
"""


def test_visit_by_llm_compiles_to_a_runtime_choice_among_the_candidates() -> None:
    python = jac_to_python("walker W { can go with entry { visit [-->] by llm(temperature=0); } }")
    assert "__jac__.visit(__jac__.llm_visit(llm(temperature=0), __jac__.edge_ref(" in python


def test_the_model_sees_walker_location_and_candidates_and_its_choice_is_visited_in_order(
    run_jac: Callable[..., str], llm_plugin: RecordingPlugin
) -> None:
    llm_plugin.answer = lambda model, caller, args: [2, 0] if args["location"].name == "hall" else []
    output = run_jac(GRAPH)
    assert output == "in hall\nin study\nstop at study\nin cellar\nstop at cellar\n"
    model, caller, args = llm_plugin.calls[0]
    assert model.model_name == "chooser"
    assert caller is choose_next_nodes
    assert args["walker"].goal == "the attic"
    assert [room.name for room in args["candidates"]] == ["cellar", "attic", "study"]


def test_a_place_without_candidates_asks_nothing_and_runs_the_else_block(
    run_jac: Callable[..., str], llm_plugin: RecordingPlugin
) -> None:
    llm_plugin.answer = lambda model, caller, args: [1]
    output = run_jac(GRAPH)
    assert output == "in hall\nin attic\nstop at attic\n"
    assert len(llm_plugin.calls) == 1  # the attic has no neighbours: no second call


def test_a_choice_outside_the_candidates_is_a_clear_error(
    run_jac: Callable[..., str], llm_plugin: RecordingPlugin
) -> None:
    llm_plugin.answer = lambda model, caller, args: [5]
    with pytest.raises(ValueError, match=r"chose candidate 5, but the candidates are positions 0 to 2"):
        run_jac(GRAPH)


def test_the_chooser_describes_its_job_and_returns_positions() -> None:
    assert "Choose the next nodes to visit" in (choose_next_nodes.__doc__ or "")
    assert choose_next_nodes.__annotations__["return"] in ("list[int]", list[int])
