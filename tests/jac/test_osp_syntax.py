"""Object-spatial syntax compiles to the OSP runtime and runs with upstream Jac's results."""

from __future__ import annotations

from typing import Callable

import pytest

from jaclang.compiler import jac_to_python
from jaclang.compiler.errors import JacSyntaxError
from jaclang.runtimelib.osp.context import reset_graph


@pytest.fixture(autouse=True)
def fresh_root() -> None:
    """Each program starts from a new, empty root."""
    reset_graph()

GRAPH = """
node City { has name: str; has pop: int = 0; }
edge Road { has km: int = 1; }
glob a = City(name="A", pop=50), b = City(name="B", pop=500), c = City(name="C", pop=5000);
with entry {
    root ++> a;
    a +>: Road(km=3) :+> b;
    a +>: Road : km=1 :+> c;
}
"""


def names(expression: str) -> str:
    return f"print([n.name for n in {expression}]);"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (names("[root -->]"), "['A']"),
        (names("[a -->]"), "['B', 'C']"),
        (names("[b <--]"), "['A']"),
        (names("[b <-->]"), "['A']"),
        (names("[a ->:Road:->]"), "['B', 'C']"),
        (names("[a ->:Road:km > 2:->]"), "['B']"),
        (names("[a -->](?:City)"), "['B', 'C']"),
        (names("[a -->](?pop > 1000)"), "['C']"),
        (names("[a -->](?:City, pop < 1000)"), "['B']"),
        (names("[a --> (?pop > 1000)]"), "['C']"),
        (names("[root --> -->]"), "['B', 'C']"),
        ("print([e.km for e in [edge a -->]]);", "[3, 1]"),
        ("print([e.km for e in [edge a ->:Road:km < 2:->]]);", "[1]"),
    ],
)
def test_edge_references_select_neighbours(statement: str, expected: str, run_jac: Callable[..., str]) -> None:
    assert run_jac(GRAPH + "with entry { " + statement + " }") == expected + "\n"


def test_connect_value_is_the_list_of_target_nodes_so_connects_chain(run_jac: Callable[..., str]) -> None:
    source = GRAPH + """
with entry {
    d = City(name="D");
    e = City(name="E");
    print([n.name for n in (c ++> d ++> e)]);
    print([n.name for n in [c --> -->]], [n.name for n in (e <++ City(name="F"))]);
    print([n.name for n in [e -->]], [n.name for n in [e <--]]);
}
"""
    assert run_jac(source) == "['E']\n['E'] ['E']\n[] ['D', 'F']\n"


def test_both_direction_connect_and_typed_reverse_connect(run_jac: Callable[..., str]) -> None:
    source = GRAPH + """
with entry {
    d = City(name="D");
    d <++> b;
    c <+: Road(km=9) :<+ d;
    print([n.name for n in [d <-->]], [e.km for e in [edge d ->:Road:->]]);
}
"""
    assert run_jac(source) == "['B', 'C'] [9]\n"


def test_del_disconnects_and_del_of_an_edge_reference_destroys_edges(run_jac: Callable[..., str]) -> None:
    source = GRAPH + """
with entry {
    del a --> b;
    print([n.name for n in [a -->]]);
    del [edge a -->];
    print([n.name for n in [a -->]], [n.name for n in [root -->]]);
    b ++> c;
    b del --> c;
    print([b -->]);
}
"""
    assert run_jac(source) == "['C']\n[] ['A']\n[]\n"


def test_walker_visits_breadth_first_reports_and_runs_node_abilities(run_jac: Callable[..., str]) -> None:
    source = GRAPH + """
with entry { b ++> City(name="D"); }
walker Tour {
    has seen: list[str] = [];
    can start with Root entry { visit [-->]; }
    can arrive with City entry {
        self.seen.append(here.name);
        visit [-->] else { report here.name; }
    }
    can done with exit { print("done", len(self.seen)); }
}
node Gate {
    can greet with Tour entry { print("welcome", visitor.seen); }
}
with entry {
    t = Tour() spawn root;
    print(t.seen, t.reports);
    g = Gate();
    root ++> g;
    w = root spawn Tour();
    print(type(w).__name__);
}
"""
    out = run_jac(source)
    lines = out.splitlines()
    assert lines[-2:] == ["['A', 'B', 'C', 'D'] ['C', 'D']", "Tour"] or "Tour" in lines[-1]
    assert "done 4" in out
    assert "welcome" in out


def test_skip_and_disengage_stop_the_ability_and_the_walk(run_jac: Callable[..., str]) -> None:
    source = GRAPH + """
walker Stopper {
    can start with Root entry { visit [-->]; }
    can arrive with City entry {
        if here.name == "A" { visit [-->]; skip; }
        print("at", here.name);
        if here.name == "B" { disengage; }
    }
}
with entry { Stopper() spawn root; print("end"); }
"""
    assert run_jac(source) == "at B\nend\n"


def test_root_here_and_visitor_compile_to_runtime_calls() -> None:
    python = jac_to_python("walker W { can go with entry { print(here, visitor, root); } }")
    assert "__jac__.here()" in python and "__jac__.visitor()" in python and "__jac__.root()" in python
    assert "@__jac__.on_entry()" in python
    assert "def go(self):" in python


def test_exit_abilities_and_multiple_trigger_types_compile_to_decorators() -> None:
    python = jac_to_python("node A {} node B {} walker W { can x with A | B exit { } }")
    assert "@__jac__.on_exit(A, B)" in python
    assert "class W(__jac__.Walker)" in python and "class A(__jac__.Node)" in python


def test_edge_condition_reads_bare_names_as_edge_attributes() -> None:
    python = jac_to_python("with entry { x = [here ->:Road:km > 2, lanes == 1:->]; }")
    assert "edge_condition=lambda __jac_edge: __jac_edge.km > 2 and __jac_edge.lanes == 1" in python


@pytest.mark.parametrize(
    "source",
    [
        "with entry { x = [-->; }",
        "with entry { a ++> ; }",
        "with entry { visit; }",
        "with entry { x = [->:Road:->; }",
        "with entry { report; }",
        "walker W { can x with City entry exit { } }",
    ],
)
def test_malformed_spatial_syntax_is_a_located_syntax_error(source: str) -> None:
    with pytest.raises(JacSyntaxError) as caught:
        jac_to_python(source, "bad.jac")
    assert caught.value.line == 1 and caught.value.column > 1


def test_archetypes_compare_by_identity_and_are_hashable(run_jac: Callable[..., str]) -> None:
    source = """
obj P { has x: int; }
node N { has x: int = 0; }
with entry {
    a = P(1);
    b = P(1);
    print(a == b, a == a, len({a, b, a}), {a: 1}[a], N() == N());
}
"""
    assert run_jac(source) == "False True 2 1 False\n"


@pytest.mark.parametrize("program", ["graph_builder.jac", "walker_tour.jac"])
def test_jac_py_output_of_the_osp_examples_runs_with_the_expected_output(
    program: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from jac_support import EXAMPLES

    python = jac_to_python((EXAMPLES / program).read_text(encoding="utf-8"), program)
    capsys.readouterr()
    exec(compile(python, program, "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out == (EXAMPLES / program).with_suffix(".expected").read_text(encoding="utf-8")
