"""The fast parse path (own tokenizer and LALR loop) builds exactly Lark's tree, and generated code is fully located."""

from __future__ import annotations

import ast
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from lark import Token

from jaclang.compiler import jac_to_ast
from jaclang.compiler import parser as jac_parser
from jaclang.compiler.lalr_driver import FastPathRejected

from jac_support import EXAMPLES, REPO

sys.path.insert(0, str(REPO / "bench"))
from jac_compile import generate_program  # noqa: E402

PROGRAMS = sorted(EXAMPLES.glob("*.jac")) + sorted((REPO / "tests").rglob("*.jac"))


def assert_same_tree(fast: Any, reference: Any, path: str = "tree") -> None:
    """Structural equality, tokens compared with every position attribute."""
    if isinstance(fast, Token) or isinstance(reference, Token):
        assert isinstance(fast, Token) and isinstance(reference, Token), path
        fields = ("type", "value", "start_pos", "end_pos", "line", "column", "end_line", "end_column")
        assert [getattr(fast, name) for name in fields] == [getattr(reference, name) for name in fields], path
        return
    assert type(fast) is type(reference), path
    if isinstance(fast, (list, tuple)):
        assert len(fast) == len(reference), path
        for index, (left, right) in enumerate(zip(fast, reference)):
            assert_same_tree(left, right, f"{path}[{index}]")
    elif hasattr(fast, "__dict__"):
        assert vars(fast).keys() == vars(reference).keys(), path
        for name in vars(fast):
            assert_same_tree(getattr(fast, name), getattr(reference, name), f"{path}.{name}")
    else:
        assert fast == reference, path


def fast_parse(source: str, start: str = "start") -> Any:
    jac_parser.get_parser()
    assert jac_parser._fast_parser is not None
    return jac_parser._fast_parser.parse(source, start)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda path: str(path.relative_to(REPO)))
def test_fast_path_builds_larks_tree_for_every_program_in_the_repository(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    try:
        reference = jac_parser.parse_with_lark(source)
    except Exception:
        with pytest.raises(FastPathRejected):
            fast_parse(source)
        return
    assert_same_tree(fast_parse(source), reference)


def test_fast_path_builds_larks_tree_for_the_benchmark_program() -> None:
    source = generate_program(300)
    assert_same_tree(fast_parse(source), jac_parser.parse_with_lark(source))


def test_fast_path_agrees_with_lark_on_damaged_programs() -> None:
    """Either both paths accept a mutated program with the same tree, or both reject it."""
    corpus = [path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.jac"))]
    generator = random.Random(7)
    for _ in range(300):
        source = generator.choice(corpus)
        position = generator.randrange(len(source))
        source = source[:position] + source[position + generator.randint(1, 8):]
        try:
            reference = jac_parser.parse_with_lark(source)
        except Exception:
            with pytest.raises(FastPathRejected):
                fast_parse(source)
            continue
        assert_same_tree(fast_parse(source), reference)


def test_positions_survive_whitespace_comments_and_multiline_strings() -> None:
    source = '#* block\ncomment *#\nwith entry {\n    x = """a\nb""";  # trailing\n    y = :pub 1;\n}\n'
    assert_same_tree(fast_parse(source), jac_parser.parse_with_lark(source))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.jac")), ids=lambda path: path.name)
def test_every_generated_node_has_a_source_position(path: Path) -> None:
    """Code generation places whole subtrees itself (no fix_missing_locations pass)."""
    module = jac_to_ast(path.read_text(encoding="utf-8"), str(path))
    unplaced = [
        ast.dump(node)[:80]
        for node in ast.walk(module)
        if "lineno" in node._attributes and getattr(node, "lineno", None) is None
    ]
    assert unplaced == []
