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
from jaclang.compiler.errors import JacSyntaxError

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


def fast_parse(source: str) -> Any:
    return jac_parser.parse(source, "case.jac")


def assert_paths_agree(source: str) -> None:
    """Both paths give the same tree, or the same located error report."""
    try:
        reference = jac_parser.parse_with_lark(source, "case.jac")
    except JacSyntaxError as error:
        with pytest.raises(JacSyntaxError) as fast_error:
            fast_parse(source)
        assert fast_error.value.format() == error.format()
        return
    assert_same_tree(fast_parse(source), reference)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda path: str(path.relative_to(REPO)))
def test_fast_path_builds_larks_tree_for_every_program_in_the_repository(path: Path) -> None:
    assert_paths_agree(path.read_text(encoding="utf-8"))


def test_fast_path_builds_larks_tree_for_the_benchmark_program() -> None:
    assert_paths_agree(generate_program(300))


def test_fast_path_reports_larks_error_for_damaged_programs() -> None:
    """Deletions, insertions and truncations: the same tree or the same error report from both paths."""
    corpus = [path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.jac"))]
    generator = random.Random(7)
    fragments = ["{", "}", "(", ")", "[", ";", "lambda x: int :", "->", "$", "'", "#*", "\n", "-->", "(?"]
    for _ in range(400):
        source = generator.choice(corpus)
        position = generator.randrange(len(source))
        action = generator.randrange(3)
        if action == 0:
            source = source[:position] + source[position + generator.randint(1, 8):]
        elif action == 1:
            source = source[:position] + generator.choice(fragments) + source[position:]
        else:
            source = source[:position]
        assert_paths_agree(source)


def test_positions_survive_whitespace_comments_and_multiline_strings() -> None:
    source = '#* block\ncomment *#\nwith entry {\n    x = """a\nb""";  # trailing\n    y = :pub 1;\n}\n'
    assert_paths_agree(source)


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
