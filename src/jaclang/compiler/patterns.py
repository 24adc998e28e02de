"""Jac ``match``/``case`` pattern nodes to Python ``ast`` pattern nodes."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Callable

from jaclang.compiler import syntax_tree as st
from jaclang.compiler.expressions import place, token_text

if TYPE_CHECKING:
    from jaclang.compiler.expressions import ExpressionGenerator


def build_pattern(generator: "ExpressionGenerator", node: st.Node) -> ast.pattern:
    """Translate one pattern node."""
    handler = _HANDLERS.get(type(node))
    if handler is None:
        raise generator.error(f"unsupported pattern ({type(node).__name__})", node)
    return place(handler(generator, node), node)


def _value(generator: "ExpressionGenerator", node: st.PatternValue) -> ast.pattern:
    return ast.MatchValue(value=generator.expr(node.value))


def _singleton(generator: "ExpressionGenerator", node: st.PatternSingleton) -> ast.pattern:
    return ast.MatchSingleton(value={"None": None, "True": True, "False": False}[str(node.token)])


def _capture(generator: "ExpressionGenerator", node: st.PatternCapture) -> ast.pattern:
    name = token_text(node.name)
    return ast.MatchAs(pattern=None, name=None if name == "_" else name)


def _class(generator: "ExpressionGenerator", node: st.PatternClass) -> ast.pattern:
    patterns: list[ast.pattern] = []
    keyword_names: list[str] = []
    keyword_patterns: list[ast.pattern] = []
    for argument in node.arguments:
        if isinstance(argument, st.PatternKeyword):
            keyword_names.append(token_text(argument.name))
            keyword_patterns.append(build_pattern(generator, argument.pattern))
        else:
            if keyword_names:
                raise generator.error("positional pattern follows keyword pattern", argument)
            patterns.append(build_pattern(generator, argument))
    cls = generator.expr(node.cls)
    return ast.MatchClass(cls=cls, patterns=patterns, kwd_attrs=keyword_names, kwd_patterns=keyword_patterns)


def _sequence(generator: "ExpressionGenerator", node: st.PatternSequence) -> ast.pattern:
    return ast.MatchSequence(patterns=[build_pattern(generator, child) for child in node.items])


def _star(generator: "ExpressionGenerator", node: st.PatternStar) -> ast.pattern:
    name = token_text(node.name)
    return ast.MatchStar(name=None if name == "_" else name)


def _as(generator: "ExpressionGenerator", node: st.PatternAs) -> ast.pattern:
    return ast.MatchAs(pattern=build_pattern(generator, node.pattern), name=token_text(node.name))


def _or(generator: "ExpressionGenerator", node: st.PatternOr) -> ast.pattern:
    return ast.MatchOr(patterns=[build_pattern(generator, child) for child in node.items])


def _mapping(generator: "ExpressionGenerator", node: st.PatternMapping) -> ast.pattern:
    keys = [generator.expr(item.key) for item in node.items]
    patterns = [build_pattern(generator, item.pattern) for item in node.items]
    rest = token_text(node.rest) if node.rest is not None else None
    return ast.MatchMapping(keys=keys, patterns=patterns, rest=rest)


_HANDLERS: dict[type, Callable[..., ast.pattern]] = {
    st.PatternValue: _value,
    st.PatternSingleton: _singleton,
    st.PatternCapture: _capture,
    st.PatternClass: _class,
    st.PatternSequence: _sequence,
    st.PatternStar: _star,
    st.PatternAs: _as,
    st.PatternOr: _or,
    st.PatternMapping: _mapping,
}
