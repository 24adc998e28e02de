"""Upstream forms: a sign over a connect chain (``-a ++> b`` is ``-(a ++> b)``) and ``visit :i: x``."""

from __future__ import annotations

from typing import Callable

import pytest

from jaclang.compiler import jac_to_python


@pytest.mark.parametrize(
    ("expression", "python"),
    [
        ("-a ++> b", "-__jac__.connect(a, b, 'out')"),
        ("1 + -a ++> b ++> c", "1 + -__jac__.connect(__jac__.connect(a, b, 'out'), c, 'out')"),
        ("~a spawn W()", "~__jac__.spawn(a, W())"),
        ("-a * b", "-a * b"),
        ("-x ** 2", "-x ** 2"),
    ],
)
def test_a_sign_applies_to_the_connect_chain_after_it_as_upstream(expression: str, python: str) -> None:
    assert jac_to_python(f"with entry {{ r = {expression}; }}").strip().endswith(f"r = {python}")


TREE = """
node N { has name: str; }
walker W {
    has order: list[str] = [];
    has at: int = 0;
    can go with N entry {
        self.order.append(here.name);
        visit :self.at: [-->];
    }
}
with entry {
    a = N(name="a"); b = N(name="b"); c = N(name="c"); d = N(name="d"); e = N(name="e");
    a ++> b; a ++> c; b ++> d; c ++> e;
    for at in [0, -1, -100, 1] {
        print(at, (W(at=at) spawn a).order);
    }
}
"""


def test_visit_with_an_index_queues_the_targets_at_that_position(run_jac: Callable[..., str]) -> None:
    assert run_jac(TREE).splitlines() == [
        "0 ['a', 'b', 'd', 'c', 'e']",  # at the front: depth-first
        "-1 ['a', 'b', 'c', 'd', 'e']",  # at the end: a plain visit, breadth-first
        "-100 ['a', 'b', 'd', 'c', 'e']",  # before the front: the front
        "1 ['a', 'b', 'c', 'd', 'e']",  # after the first waiting entry
    ]


def test_visit_index_form_compiles_to_visit_at_with_its_else_block() -> None:
    python = jac_to_python("walker W { can f with entry { visit :0: [-->] else { print(1); } } }")
    assert "if not __jac__.visit_at(0, __jac__.edge_ref(" in python
