"""Forms of upstream Jac's language reference (jaclang 0.8.3) that the compiler accepts, with their documented meaning."""

from __future__ import annotations

from typing import Callable

import pytest

from jaclang.compiler import jac_to_python
from jaclang.compiler.errors import JacSyntaxError

RunJac = Callable[..., str]


# ---------------------------------------------------------------- backtick type references
def test_backtick_root_types_an_ability_and_a_filter_takes_a_backtick_type(run_jac: RunJac) -> None:
    source = """
node City { has name: str; }
node Town { has name: str; }
walker Tour {
    can start with `root entry {
        print("at root", type(here).__name__);
        visit [-->](`?City);
    }
    can see with City entry { print("city", here.name); }
}
with entry {
    del [root -->];  # in-process runs share one root
    root ++> City(name="Oslo");
    root ++> Town(name="Voss");
    root ++> City(name="Bergen");
    root spawn Tour();
    print([root -->](`?City: name != "Oslo"));
}
"""
    assert run_jac(source).splitlines() == [
        "at root Root",
        "city Oslo",
        "city Bergen",
        "[City(name='Bergen')]",
    ]


def test_backtick_names_a_typing_name_or_a_type_in_scope(run_jac: RunJac) -> None:
    source = """
obj Apple {}
def make(kind: `Type[Apple]) -> Apple { return kind(); }
with entry {
    print(`Any, `Apple is Apple, `root);
    print(type(make(Apple)).__name__);
}
"""
    out = run_jac(source).splitlines()
    assert out[0] == "typing.Any True <class 'jaclang.runtimelib.osp.archetypes.Root'>"
    assert out[1] == "Apple"


# ---------------------------------------------------------------- let, :g:, :nl:
def test_let_assigns_and_global_let_takes_an_access_tag(run_jac: RunJac) -> None:
    source = """
let:priv limit = 5;
with entry {
    let a = b = 2;
    let (c, d) = (3, 4);
    print(limit, a, b, c, d);
}
"""
    assert run_jac(source) == "5 2 2 3 4\n"


def test_colon_g_and_colon_nl_are_global_and_nonlocal(run_jac: RunJac) -> None:
    source = """
glob x = "module";
def outer -> None {
    :g: x;
    x = "changed";
    y = "outer";
    def inner -> None {
        :nl: y;
        y = "inner";
    }
    inner();
    print(y);
}
def other -> None {
    :global: x;
    x = x + "!";
}
with entry {
    outer();
    other();
    print(x);
}
"""
    assert run_jac(source) == "inner\nchanged!\n"


def test_soft_keywords_stay_usable_as_names(run_jac: RunJac) -> None:
    source = """
def check(value: int) -> int { return value + 1; }
def wait(seconds: int) -> str { return f"waited {seconds}"; }
with entry {
    let = 1;
    ignore = [let, 2];
    flow = {"g": 3};
    g = 4; nl = 5;
    print(check(let), wait(2), ignore[1], flow["g"], let - 1, g + nl);
    check = 10;
    print(check);
    x = [1, 2, 3];
    print(x[1:g:2]);
}
"""
    assert run_jac(source) == "2 waited 2 2 3 0 9\n10\n[2]\n"


# ---------------------------------------------------------------- check
def test_check_statements_raise_assertion_errors_with_unittest_messages(run_jac: RunJac) -> None:
    source = """
glob a = 5, b = 2;
def attempt(label: str, index: int) -> None {
    try {
        if index == 0 { check a - b == 3; }
        elif index == 1 { check a == b; }
        elif index == 2 { check a != 5; }
        elif index == 3 { check a < b; }
        elif index == 4 { check "d" in "abc"; }
        elif index == 5 { check a is None; }
        elif index == 6 { check almostEqual(4.99999999, 5); }
        elif index == 7 { check almostEqual(a, 6); }
        elif index == 8 { check isinstance(a, str); }
        else { check []; }
        print(label, "ok");
    } except AssertionError as error {
        print(label, error);
    }
}
with entry {
    for (index, label) in enumerate(["eq", "eq", "ne", "lt", "in", "none", "almost", "almost", "isinstance", "truth"]) {
        attempt(label, index);
    }
}
"""
    assert run_jac(source).splitlines() == [
        "eq ok",
        "eq 5 != 2",
        "ne 5 == 5",
        "lt 5 not less than 2",
        "in 'd' not found in 'abc'",
        "none 5 is not None",
        "almost ok",
        "almost 5 != 6 within 7 places (1 difference)",
        "isinstance 5 is not an instance of <class 'str'>",
        "truth [] is not true",
    ]


def test_check_in_a_test_block_fails_the_test(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from jaclang.cli import main

    program = tmp_path / "checks.jac"
    program.write_text('test passes { check 5 == 5; }\ntest fails { check "e" in "qwerty"; check 1 == 2; }\n')
    status = main(["test", str(program)])
    out = capsys.readouterr().out
    assert status == 1
    assert "checks.jac::passes PASSED" in out
    assert "checks.jac::fails FAILED" in out
    assert "AssertionError: 1 != 2" in out


# ---------------------------------------------------------------- ignore
def test_ignore_keeps_later_visits_off_the_ignored_nodes(run_jac: RunJac) -> None:
    source = """
node Item { has n: int; }
walker Visitor {
    can start with `root entry {
        ignore [-->][0];
        ignore [edge -->][2];
        visit [-->];
    }
    can see with Item entry { print("item", here.n); }
}
with entry {
    del [root -->];  # in-process runs share one root
    for i = 0 to i < 4 by i += 1 { root ++> Item(n=i); }
    root spawn Visitor();
}
"""
    assert run_jac(source) == "item 1\nitem 3\n"


# ---------------------------------------------------------------- flow / wait
def test_flow_runs_an_expression_in_a_thread_and_wait_returns_its_value(run_jac: RunJac) -> None:
    source = """
import threading;
def add(x: int, y: int) -> int { return x + y; }
def where -> str { return threading.current_thread().name.split("_")[0]; }
with entry {
    task1 = flow add(1, 10);
    task2 = flow where();
    print(type(task1).__name__);
    print(wait task1, wait task2, wait 7);
}
"""
    assert run_jac(source) == "Future\n11 jac-flow 7\n"


def test_wait_raises_what_the_flow_raised(run_jac: RunJac) -> None:
    source = """
def fail -> int { raise ValueError("no"); }
with entry {
    task = flow fail();
    try { wait task; } except ValueError as error { print("caught", error); }
}
"""
    assert run_jac(source) == "caught no\n"


# ---------------------------------------------------------------- enums and impl bodies
def test_enum_body_takes_a_last_member_without_semicolon_and_free_code(run_jac: RunJac) -> None:
    source = """
enum Role {
    ADMIN = 'admin',
    USER = 'user'

    with entry {
        print("building Role");
        def describe -> str { return "two roles"; }
    }
}
with entry {
    print(Role.USER.value, Role.describe(), [r.name for r in Role]);
}
"""
    assert run_jac(source) == "building Role\nuser two roles ['ADMIN', 'USER']\n"


def test_impl_blocks_give_a_declared_enum_its_members_and_an_archetype_its_fields(run_jac: RunJac) -> None:
    source = """
import from enum { unique }
@unique
enum Color;
enum Size;
obj Vehicle;
def describe -> str;

impl Color { RED = 1, GREEN = 2 }
impl Size { SMALL, LARGE, }
impl Vehicle {
    has name: str = "Car", wheels: int = 4;
    def label -> str { return f"{self.name}/{self.wheels}"; }
}
impl describe -> str { return "described"; }
impl other { x = 5; print("code block", x); }
def other -> None;

with entry {
    print(Color.GREEN.value, Size.LARGE.value, Vehicle().label(), Vehicle("Bus", 6).label(), describe());
    other();
}
"""
    assert run_jac(source) == "2 2 Car/4 Bus/6 described\ncode block 5\n"


def test_has_outside_an_archetype_is_a_located_error() -> None:
    with pytest.raises(JacSyntaxError) as caught:
        jac_to_python("def f -> None {\n    has x: int;\n}\n", "bad.jac")
    assert (caught.value.filename, caught.value.line) == ("bad.jac", 2)
    assert "belongs in an archetype" in str(caught.value)


# ---------------------------------------------------------------- tuples, pipes and special comprehensions
def test_a_written_out_tuple_piped_into_a_call_is_spread_and_keyword_tuples_name_arguments(run_jac: RunJac) -> None:
    source = """
def show(a: int, b: int = 0, *rest: int, **named: int) -> None { print(a, b, rest, named); }
with entry {
    (1, 2) |> show;
    show <| (3, 4);
    (second := (5, 6)) |> show;
    (b=8, a=7) |> show;
    (1, 2, 3, z=4) :> show;
    extra = {"b": 9};
    (8, **extra) |> show;
}
"""
    assert run_jac(source).splitlines() == [
        "1 2 () {}",
        "3 4 () {}",
        "(5, 6) 0 () {}",
        "7 8 () {}",
        "1 2 (3,) {'z': 4}",
        "8 9 () {}",
    ]


def test_a_keyword_tuple_value_reads_its_items_by_name(run_jac: RunJac) -> None:
    source = """
with entry {
    point = (x=3, y=4);
    print(point.x, point["y"], point, len(point), point[1]);
    mixed = ("header", version=2);
    print(mixed, mixed[0], mixed.version, isinstance(mixed, tuple));
}
"""
    assert run_jac(source) == "3 4 (x=3, y=4) 2 4\n('header', version=2) header 2 True\n"


def test_a_unary_pipe_calls_without_arguments(run_jac: RunJac) -> None:
    source = """
node Stop { has n: int = 1; }
walker Count {
    has seen: int = 0;
    can start with `root entry { visit [-->]; }
    can at with Stop entry { self.seen += here.n; }
}
with entry {
    del [root -->];  # in-process runs share one root
    root ++> Stop(n=2);
    print((root spawn :> Count).seen, (root spawn |> Count).seen, type(:> Stop).__name__);
}
"""
    assert run_jac(source) == "2 2 Stop\n"


def test_assign_and_filter_comprehensions_work_on_any_objects(run_jac: RunJac) -> None:
    source = """
obj Box { has a: int = 0, b: int = 0; }
with entry {
    boxes = [Box(), Box(a=3)];
    same = boxes(=a=5, b=7);
    print(same is boxes, boxes);
    boxes[1].a = 9;
    print(boxes(?a > 6), boxes(?a >= 5, b == 7) == boxes);
}
"""
    assert run_jac(source) == (
        "True [Box(a=5, b=7), Box(a=5, b=7)]\n"
        "[Box(a=9, b=7)] True\n"
    )


def test_glob_unpacks_a_tuple_into_names(run_jac: RunJac) -> None:
    source = """
glob (first, second) = ([1, 2, 3][2], {"name": "John"}["name"]), third = 3;
with entry { print(first, second, third); }
"""
    assert run_jac(source) == "3 John 3\n"


# ---------------------------------------------------------------- smaller upstream forms
def test_spaced_access_tags_empty_statements_global_word_and_unary_spawn(run_jac: RunJac) -> None:
    source = """
;
obj Account {
    has : protect balance: int = 10;
    def : pub total() -> int { return self.balance;;; }
}
glob fruits = ["apple"], age = 25;
def update() -> None {
    :global:fruits,age;
    age = 30;
    fruits = ["pear"];
    ;
}
with entry {
    update(); ;
    pub = {"priv": 1};
    print(age, fruits, Account().total(), spawn Account, pub["priv"], {"k": pub}["k"]);
}
"""
    assert run_jac(source) == "30 ['pear'] 10 Account(balance=10) 1 {'priv': 1}\n"


def test_spawning_an_async_walker_gives_a_coroutine_that_walks_and_awaits_abilities(run_jac: RunJac) -> None:
    source = """
import asyncio;
node A { has val: int; }
async def pause -> None { await asyncio.sleep(0); }
async walker W {
    has seen: list = [];
    async can step with A entry {
        await pause();
        self.seen.append(here.val);
        visit [here-->];
    }
    can done with exit { print("exit at", here.val); }
}
async def main(start: A) -> None {
    task = W() spawn start;
    print("coroutine", asyncio.iscoroutine(task));
    finished = await task;
    print(finished.seen);
}
with entry {
    a1 = A(1);
    a1 ++> [A(2), A(3)];
    asyncio.run(main(a1));
}
"""
    assert run_jac(source) == "coroutine True\nexit at 3\n[1, 2, 3]\n"


def test_only_a_walker_can_be_async() -> None:
    with pytest.raises(JacSyntaxError, match="only a walker can be async"):
        jac_to_python("async obj A {}\n")
