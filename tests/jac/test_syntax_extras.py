"""The rest of upstream Jac's syntax: switch, atomic pipes, abs/override, generics, ::py::,
module docstrings, annex files, and compiler errors that always carry a location."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from jaclang.compiler import compile_jac, jac_to_python
from jaclang.compiler.errors import JacSyntaxError
from jaclang.runtimelib.importer import run_jac_file


def syntax_error(source: str) -> JacSyntaxError:
    with pytest.raises(JacSyntaxError) as caught:
        compile_jac(source, "prog.jac")
    return caught.value


def test_switch_runs_the_matching_case_or_default(run_jac: Callable[..., str]) -> None:
    source = """
with entry {
    for v in [1, 2, 9] {
        switch v {
            case 1: print("one");
            case 2 | 3: print("two or three");
            default: print("other", v);
        }
    }
}
"""
    assert run_jac(source) == "one\ntwo or three\nother 9\n"


def test_switch_without_cases_is_a_syntax_error() -> None:
    assert "unexpected" in syntax_error("with entry { switch 1 { } }").message


def test_atomic_pipes_call_with_the_value(run_jac: Callable[..., str]) -> None:
    source = "def twice(x: int) -> int { return 2 * x; }\nwith entry { print(3 :> twice, twice <: 4, [3, 1] :> sorted :> len, 1 + 2 :> twice); }"
    assert run_jac(source) == "6 8 2 5\n"


def test_abstract_method_raises_and_override_replaces_it(run_jac: Callable[..., str]) -> None:
    source = """
obj Shape { def area() -> float abs; }
obj Square(Shape) { has side: float = 2.0; override def area() -> float { return self.side ** 2; } }
with entry {
    print(Square().area(), Shape.area.__isabstractmethod__);
    try { Shape().area(); } except NotImplementedError as e { print(e); }
}
"""
    assert run_jac(source) == "4.0 True\nShape.area is abstract\n"


def test_abs_needs_a_semicolon_not_a_body() -> None:
    assert syntax_error("obj A { def f() abs { } }").line == 1


def test_generic_functions_and_archetypes(run_jac: Callable[..., str]) -> None:
    source = """
obj Box[T] { has item: T; def get() -> T { return self.item; } }
def first[T](xs: list[T]) -> T { return xs[0]; }
def pair[K, V](k: K, v: V) -> dict[K, V] { return {k: v}; }
with entry { print(first([7, 8]), Box[int](item=3).get(), pair("a", 1)); }
"""
    assert run_jac(source) == "7 3 {'a': 1}\n"


def test_generic_parameters_need_names() -> None:
    assert syntax_error("def f[](x: int) { }").line == 1


def test_inline_python_runs_at_its_place(run_jac: Callable[..., str]) -> None:
    source = 'glob n = 2;\n::py::\ndef twice(x):\n    return x * n\n::py::\nwith entry {\n    ::py::\nprint("py", twice(5))\n::py::\n}\n'
    assert run_jac(source) == "py 10\n"


def test_invalid_inline_python_is_reported_at_its_jac_line() -> None:
    error = syntax_error("glob a = 1;\n::py::\ndef broken(:\n::py::\n")
    assert error.line == 3 and "inline Python" in error.message


def test_module_docstring_sets_doc_and_not_the_first_archetype(run_jac: Callable[..., str]) -> None:
    source = '"""The module."""\n\nobj A { has x: int = 1; }\nwith entry { print(__doc__, A.__doc__ == "The module."); }'
    assert run_jac(source) == "The module. False\n"


def test_unclosed_brace_names_where_it_was_opened() -> None:
    error = syntax_error("def f() -> int {\n    return 1;\n\nwith entry {\n    print(f());\n}\n")
    assert str(error) == "prog.jac:1:16: '{' opened at 1:16 was never closed"


def test_unclosed_parenthesis_at_end_of_file() -> None:
    error = syntax_error("with entry {\n    print((1 + 2);\n}\n")
    assert error.message == "'(' opened at 2:10 was never closed"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("with entry { x = " + "9" * 4301 + "; }", "integer literal too long (4301 digits)"),
        ("with entry { x = 1_; }", "invalid number literal 1_"),
        ("obj A { def f(); }\nimpl A.f { }\nimpl A.f { }\n", "A.f is implemented twice (first at line 2)"),
    ],
)
def test_compiler_failures_are_located_syntax_errors(source: str, message: str) -> None:
    error = syntax_error(source)
    assert error.message == message and error.line >= 1 and error.column >= 1


def test_annex_files_supply_impl_bodies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "impl").mkdir()
    (tmp_path / "shop.impl").mkdir()
    (tmp_path / "shop.jac").write_text(
        "obj Inventory {\n    has items: list[str] = [];\n    def add(item: str) -> int;\n    def count() -> int;\n    def clear();\n}\n"
        'with entry { inv = Inventory(); inv.add("a"); print(inv.add("b"), inv.count()); inv.clear(); print(inv.count()); }\n'
    )
    (tmp_path / "shop.impl.jac").write_text("impl Inventory.add(item: str) -> int { self.items.append(item); return len(self.items); }\n")
    (tmp_path / "shop.impl" / "count.impl.jac").write_text("impl Inventory.count() -> int { return len(self.items); }\n")
    (tmp_path / "impl" / "shop.impl.jac").write_text("impl Inventory.clear() { self.items = []; }\n")
    run_jac_file(str(tmp_path / "shop.jac"), "jac_annex_case")
    assert capsys.readouterr().out == "2 2\n0\n"


def test_a_syntax_error_in_an_annex_names_the_annex_file(tmp_path: Path) -> None:
    (tmp_path / "m.jac").write_text("obj A { def f(); }\n")
    (tmp_path / "m.impl.jac").write_text("impl A.f { return 1 }\n")
    with pytest.raises(JacSyntaxError) as caught:
        run_jac_file(str(tmp_path / "m.jac"), "jac_annex_bad")
    assert str(caught.value).startswith(str(tmp_path / "m.impl.jac") + ":1:")


def test_jac_py_shows_the_generated_generic_base() -> None:
    assert "__jac__.Generic[__jac__.TypeVar('T')]" in jac_to_python("obj Box[T] { has item: T; }")


def test_a_runtime_error_in_an_annex_is_reported_at_the_annex_file_and_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "impl").mkdir()
    (tmp_path / "shop.jac").write_text(
        "obj Shop {\n    has items: list[str] = [];\n    def add(item: str) -> int;\n    def total() -> float;\n}\n\n"
        'with entry {\n    s = Shop();\n    s.add("pear");\n    print(s.total());\n}\n'
    )
    (tmp_path / "shop.impl.jac").write_text(
        "# annex\n\nimpl Shop.add(item: str) -> int {\n    self.items.append(item);\n    return len(self.items);\n}\n"
    )
    (tmp_path / "impl" / "shop.impl.jac").write_text(
        "\n\nimpl Shop.total() -> float {\n    count = len(self.items);\n    return count / 0;\n}\n"
    )
    for _ in range(2):  # compiled, then from the compiled-module cache
        result = subprocess.run(
            [sys.executable, "-m", "jaclang.cli", "run", "shop.jac"], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 1
        assert f'File "{tmp_path / "shop.jac"}", line 10, in <module>' in result.stderr
        assert f'File "{tmp_path / "impl" / "shop.impl.jac"}", line 5, in total' in result.stderr
        assert "    return count / 0;" in result.stderr
        assert "ZeroDivisionError: division by zero" in result.stderr


def test_a_generation_error_in_an_annex_names_the_annex_line() -> None:
    with pytest.raises(JacSyntaxError) as caught:
        compile_jac("obj A { def f(); }\n", "m.jac", [("m.impl.jac", "\n\nimpl A.f { }\nimpl A.f { }\n")])
    assert (caught.value.filename, caught.value.line) == ("m.impl.jac", 4)
    assert caught.value.message == "A.f is implemented twice (first at line 3)"


def test_a_decorator_failing_on_an_annex_function_is_reported_at_the_impl(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "shop.jac").write_text(
        'def boom(f: object) -> object { raise ValueError("bad decorator"); }\n\n'
        "obj Shop {\n    @boom\n    def total() -> int;\n}\n\nwith entry {\n    print(Shop().total());\n}\n"
    )
    (tmp_path / "shop.impl.jac").write_text("\n\nimpl Shop.total() -> int {\n    return 1;\n}\n")
    result = subprocess.run(
        [sys.executable, "-m", "jaclang.cli", "run", "shop.jac"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert f'File "{tmp_path / "shop.impl.jac"}", line 3, in Shop' in result.stderr
    assert "1000003" not in result.stderr
    assert "ValueError: bad decorator" in result.stderr
