"""Fuzzing the compiler: any input gives a code object or a JacSyntaxError, never another exception."""

from __future__ import annotations

from types import CodeType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaclang.compiler import compile_jac
from jaclang.compiler.errors import JacSyntaxError

from jac_support import EXAMPLES

CORPUS = [path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.jac"))]
FRAGMENTS = [
    "{", "}", "(", ")", "[", "]", ";", ",", ":", ".", "?.", "|>", "<|", "=", ":=", "->", "by", "llm()",
    "lambda", "def", "can", "obj", "enum", "has", "sem", "impl", "with entry", "glob", "test", "import",
    "from", "match", "case", "for", "to", "if", "else", "try", "except", "yield", "await", "return",
    "f\"{x}\"", "'s'", "0x", "1.5e", "*", "**", "@", "#*", "*#", "\"\"\"", "self.", "super.", "\n", " ",
    "-->", "<--", "<-->", "++>", "<++", "+>:", ":+>", "->:", ":->", "(?", "(?:", "spawn", "visit", "report",
    "skip", "disengage", "here", "root", "node", "edge", "walker", "with exit", "switch", "default", ":>", "<:",
    "abs", "override", "::py::", "9" * 5000, "1_",
]
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compiles_or_reports(source: str) -> None:
    try:
        result = compile_jac(source, "fuzz.jac")
    except JacSyntaxError as error:
        assert error.line >= 1 and error.column >= 1
        assert error.format().startswith("fuzz.jac:")
    else:
        assert isinstance(result, CodeType)


@st.composite
def mutated_programs(draw: st.DrawFn) -> str:
    source = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        start = draw(st.integers(min_value=0, max_value=len(source)))
        end = draw(st.integers(min_value=start, max_value=min(len(source), start + 40)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate", "replace"]))
        if action == "delete":
            source = source[:start] + source[end:]
        elif action == "insert":
            source = source[:start] + draw(st.sampled_from(FRAGMENTS)) + source[start:]
        elif action == "duplicate":
            source = source[:end] + source[start:end] + source[end:]
        else:
            source = source[:start] + draw(st.text(max_size=5)) + source[end:]
    return source


@SETTINGS
@given(mutated_programs())
def test_mutated_examples_compile_or_raise_jac_syntax_error(source: str) -> None:
    compiles_or_reports(source)


@SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS + ["x", "1", "print", "(x)"]), max_size=30).map(" ".join))
def test_token_soup_compiles_or_raises_jac_syntax_error(source: str) -> None:
    compiles_or_reports(source)


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text_compiles_or_raises_jac_syntax_error(source: str) -> None:
    compiles_or_reports(source)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    compiles_or_reports("with entry { x = " + "(" * 5000 + "1" + ")" * 5000 + "; }")
    compiles_or_reports("with entry { x = " + "-" * 20000 + "1; }")
