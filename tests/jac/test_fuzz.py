"""Fuzzing the compiler: any input gives a code object or a JacSyntaxError, never another exception.

Two kinds: Hypothesis strategies (a few hundred inputs each, shrunk on failure),
and seeded generators that run 20,000 mutated programs per suite run (issue 11:
no Python traceback from mutated Jac programs, every error located as
``file:line:col``), plus a sample of them through the real ``jac check``.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from types import CodeType
from typing import Callable, Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest

from jaclang.compiler import compile_jac, jac_to_python
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


# ---------------------------------------------------------------- seeded mutation generators
MUTANTS_PER_RUN = 20_000
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\w+|\S')
_EXTRA_FRAGMENTS = [
    "0b2", "0o9", "1e", "1j", "f'{", "f'{}'", "f'{x!z}'", "f'{x:{y}}'", "\\", "del", "async", "static", "init",
    "postinit", "<>x", "*args", "**kw", ":pub", "global", "nonlocal", "assert", "raise", "while", "elif",
    "finally", "in", "not", "is", "and", "or", "True", "None", "...", "impl x.y", "visit [-->] by llm()",
    "visit :0:", ":-1:", "-a ++> b",
]


def _top_level_chunks(text: str) -> list[str]:
    """Split a program into its top-level items (brace-balanced runs of lines)."""
    chunks: list[str] = []
    current: list[str] = []
    depth = 0
    for line in text.splitlines():
        current.append(line)
        depth += line.count("{") - line.count("}")
        stripped = line.rstrip()
        if depth <= 0 and stripped.endswith(("}", ";")):
            chunks.append("\n".join(current))
            current, depth = [], 0
    if current:
        chunks.append("\n".join(current))
    return [chunk for chunk in chunks if chunk.strip()]


# Small programs (one to three top-level items of the examples): mutations of a
# 100-line file and of its items find the same crashes, and small ones are cheap.
CHUNKS = [chunk for source in CORPUS for chunk in _top_level_chunks(source)]


def _huge_literal(rng: random.Random) -> str:
    return rng.choice([
        "9" * rng.randint(4_000, 6_000), "1" + "_0" * 3_000, "1e" + "9" * 400, "0x" + "f" * 5_000,
        '"' + "a" * 20_000 + '"', "1." + "0" * 5_000, "9" * 5_000 + "j", "0b" + "1" * 20_000, "1_", "0x_",
        "1__0", "1e999999", "'\\N{nope}'", "b'\\xff\\u1234'", "'\\x1'", 'f"{' + "x" * 10_000 + '}"',
    ])


def _deep_nesting(rng: random.Random) -> str:
    # Mostly moderate depths (past Python's recursion limit is 1,000); rarely very deep (they cost 0.3 s).
    depth = rng.choice([30, 100, 300, 1_200]) if rng.random() < 0.99 else rng.choice([3_000, 6_000])
    opener, closer = rng.choice([("(", ")"), ("[", "]"), ("{", "}"), ("f(", ")"), ("-", ""), ("not ", ""),
                                 ("lambda: ", ""), ("[x for x in ", "]"), ("{1: ", "}"), ("a if b else ", "")])
    return opener * depth + "1" + closer * depth


def _deep_blocks(rng: random.Random) -> str:
    depth = rng.choice([20, 60, 200]) if rng.random() < 0.99 else rng.choice([400, 1_500])
    statement = rng.choice(["if x {", "while y {", "for i in z {", "with a as b {", "try {"])
    return "with entry {" + statement * depth + "x = 1;" + "}" * depth + "}"


def _token_spans(source: str, keep: Callable[[str], bool] = lambda text: True) -> list[tuple[int, int]]:
    return [match.span() for match in _TOKEN.finditer(source) if keep(match.group())]


def _mutate_once(rng: random.Random, source: str) -> str:
    """One random damage: characters, tokens, brackets, truncation, huge literals or deep nesting."""
    position = rng.randrange(len(source) + 1)
    operation = rng.randrange(13)
    if operation == 0:  # delete characters
        return source[:position] + source[position + rng.randint(1, 20):]
    if operation == 1:  # insert a fragment
        return source[:position] + rng.choice(FRAGMENTS + _EXTRA_FRAGMENTS) + source[position:]
    if operation == 2 and len(source) > 2:  # swap two characters
        index = min(position, len(source) - 2)
        return source[:index] + source[index + 1] + source[index] + source[index + 2:]
    if operation == 3:  # truncate
        return source[:position]
    if operation == 10:  # an odd character
        character = chr(rng.choice([0, 9, 13, 0x2028, 0xFEFF, 0xD800, rng.randint(32, 0x10FFFF)]))
        return source[:position] + character + source[position:]
    if operation == 11:
        return source[:position] + _deep_blocks(rng) + source[position:]
    if operation == 7:  # bracket damage
        brackets = [index for index, character in enumerate(source) if character in "()[]{}"]
        if brackets:
            index = rng.choice(brackets)
            return source[:index] + rng.choice(["", "(", ")", "[", "]", "{", "}", "(?", "?["]) + source[index + 1:]
        return source + rng.choice("([{")
    if operation == 8:  # a huge or malformed literal
        spans = _token_spans(source, lambda text: text[0].isdigit() or text[0] in "\"'")
        start, end = rng.choice(spans) if spans else (position, position)
        return source[:start] + _huge_literal(rng) + source[end:]
    if operation == 9:  # deep nesting in place of a name
        spans = _token_spans(source, str.isidentifier)
        start, end = rng.choice(spans) if spans else (position, position)
        return source[:start] + _deep_nesting(rng) + source[end:]
    spans = _token_spans(source)
    if not spans:
        return source + rng.choice(FRAGMENTS)
    index = rng.randrange(len(spans))
    start, end = spans[index]
    if operation == 4:  # delete a token
        return source[:start] + source[end:]
    if operation == 5 and index + 1 < len(spans):  # swap two neighbouring tokens
        (next_start, next_end) = spans[index + 1]
        return source[:start] + source[next_start:next_end] + source[end:next_start] + source[start:end] + source[next_end:]
    if operation == 6:  # duplicate a token
        return source[:end] + " " + source[start:end] + source[end:]
    return source[:start] + rng.choice(FRAGMENTS + _EXTRA_FRAGMENTS) + source[end:]  # replace a token


def mutants(seed: int, count: int) -> Iterator[str]:
    """``count`` mutated programs, the same ones for the same ``seed``."""
    rng = random.Random(seed)
    for _ in range(count):
        source = "\n".join(rng.sample(CHUNKS, rng.randint(1, 3)))
        for _ in range(rng.choice([1, 1, 1, 2, 3, 4])):
            source = _mutate_once(rng, source)
        yield source


def compile_failure(source: str) -> str | None:
    """``None`` when ``source`` compiles or is reported as a located JacSyntaxError; else what went wrong."""
    try:
        compile_jac(source, "fuzz.jac")
    except JacSyntaxError as error:
        if error.filename != "fuzz.jac" or error.line < 1 or error.column < 1:
            return f"badly located error {error!s}"
        if not error.format().startswith(f"fuzz.jac:{error.line}:{error.column}: "):
            return f"badly formatted error {error.format()!r}"
    except Exception as error:  # the point of the test: anything else is a crash
        return f"{type(error).__name__}: {error}"
    return None


def test_twenty_thousand_mutated_programs_compile_or_report_a_located_syntax_error() -> None:
    import warnings

    crashes: list[tuple[str, str]] = []
    with warnings.catch_warnings():
        # Python's own warnings on the generated code ("is" with a literal, invalid escapes).
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        for source in mutants(seed=20_260_111, count=MUTANTS_PER_RUN):
            failure = compile_failure(source)
            if failure is not None:
                crashes.append((failure, source[:300]))
    assert crashes == [], f"{len(crashes)} of {MUTANTS_PER_RUN} mutated programs crashed the compiler: {crashes[:3]}"


@pytest.mark.parametrize(
    "expression", ["[" * 300 + "1" + "]" * 300, "1" + " + 1" * 800, "(" * 2_000 + "1" + ")" * 2_000]
)
def test_jac_py_of_deeply_nested_code_is_a_located_error_or_python(expression: str) -> None:
    try:
        python = jac_to_python(f"with entry {{ x = {expression}; }}", "deep.jac")
    except JacSyntaxError as error:
        assert str(error).startswith("deep.jac:1:1: program is nested too deeply")
    else:
        assert python.startswith("x = ")


def test_mutated_programs_through_jac_check_print_no_traceback(tmp_path: Path) -> None:
    """The real command on a sample: errors as file:line:col, never a Python traceback."""
    paths = []
    for index, source in enumerate(mutants(seed=11, count=50)):
        path = tmp_path / f"mutant_{index}.jac"
        path.write_text(source, encoding="utf-8", errors="surrogatepass")
        paths.append(str(path))
    jac = Path(sys.executable).with_name("jac")
    command = [str(jac)] if jac.exists() else [sys.executable, "-m", "jaclang.cli"]
    result = subprocess.run(
        [*command, "check", *paths],
        capture_output=True, text=True, errors="replace", timeout=300, cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    located = re.findall(r"mutant_\d+\.jac:\d+:\d+: ", output)
    assert located, output[-3000:]
