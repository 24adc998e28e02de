"""Jac ``match``/``case`` patterns to Python ``ast`` pattern nodes."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from lark import Token, Tree

from jaclang.compiler.expressions import place, token_text

if TYPE_CHECKING:
    from jaclang.compiler.expressions import ExpressionGenerator


def build_pattern(generator: "ExpressionGenerator", tree: Tree | Token) -> ast.pattern:
    """Translate one pattern subtree."""
    kind = str(tree.data)
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise generator.error(f"unsupported pattern ({kind})", tree)
    return place(handler(generator, tree), tree)


def _dotted(generator: "ExpressionGenerator", tree: Tree) -> ast.expr:
    names = [token_text(part) for part in tree.children]
    node: ast.expr = place(ast.Name(id=names[0], ctx=ast.Load()), tree)
    for name in names[1:]:
        node = place(ast.Attribute(value=node, attr=name, ctx=ast.Load()), tree)
    return node


def _literal_value(generator: "ExpressionGenerator", tree: Tree) -> ast.expr:
    """The value expression of a literal pattern (numbers, strings, signed/complex numbers)."""
    child = tree.children[0]
    if child.data == "signed_number":
        parts = child.children
        node: ast.expr | None = None
        sign = ""
        for part in parts:
            if part is None:
                continue
            if isinstance(part, Token):
                sign = str(part)
                continue
            value = generator.expr(part)
            if node is None:
                node = ast.UnaryOp(op=ast.USub(), operand=value) if sign == "-" else value
            else:
                node = ast.BinOp(left=node, op=ast.Add() if sign == "+" else ast.Sub(), right=value)
            sign = ""
        assert node is not None
        return place(node, child)
    return generator.expr(child)


def _literal(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    return ast.MatchValue(value=_literal_value(generator, tree))


def _singleton(value: object):
    def handler(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
        return ast.MatchSingleton(value=value)

    return handler


def _name(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    dotted = tree.children[0]
    if len(dotted.children) == 1:
        name = token_text(dotted.children[0])
        return ast.MatchAs(pattern=None, name=None if name == "_" else name)
    return ast.MatchValue(value=_dotted(generator, dotted))


def _class(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    dotted, arguments = tree.children
    patterns: list[ast.pattern] = []
    keyword_names: list[str] = []
    keyword_patterns: list[ast.pattern] = []
    for argument in (arguments.children if arguments is not None else []):
        if argument is None:
            continue
        if argument.data == "pattern_kwarg":
            name, pattern = argument.children
            keyword_names.append(token_text(name))
            keyword_patterns.append(build_pattern(generator, pattern))
        else:
            if keyword_names:
                raise generator.error("positional pattern follows keyword pattern", argument)
            patterns.append(build_pattern(generator, argument.children[0]))
    return ast.MatchClass(
        cls=_dotted(generator, dotted), patterns=patterns, kwd_attrs=keyword_names, kwd_patterns=keyword_patterns
    )


def _sequence(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    return ast.MatchSequence(patterns=[build_pattern(generator, child) for child in tree.children if child is not None])


def _star(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    name = token_text(tree.children[0])
    return ast.MatchStar(name=None if name == "_" else name)


def _as(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    pattern, name = tree.children
    return ast.MatchAs(pattern=build_pattern(generator, pattern), name=token_text(name))


def _or(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    return ast.MatchOr(patterns=[build_pattern(generator, child) for child in tree.children])


def _mapping(generator: "ExpressionGenerator", tree: Tree) -> ast.pattern:
    keys: list[ast.expr] = []
    patterns: list[ast.pattern] = []
    rest: str | None = None
    items = tree.children[0].children if tree.children and tree.children[0] is not None else []
    for item in items:
        if item is None:
            continue
        if item.data == "mapping_rest":
            rest = token_text(item.children[0])
            continue
        key, pattern = item.children
        if key.data == "dotted_name":
            keys.append(_dotted(generator, key))
        else:
            keys.append(_literal_value(generator, key))
        patterns.append(build_pattern(generator, pattern))
    return ast.MatchMapping(keys=keys, patterns=patterns, rest=rest)


_HANDLERS = {
    "literal_pattern": _literal,
    "none_pat": _singleton(None),
    "true_pat": _singleton(True),
    "false_pat": _singleton(False),
    "pattern_name": _name,
    "pattern_class": _class,
    "pattern_tuple": _sequence,
    "pattern_list": _sequence,
    "pattern_open_seq": _sequence,
    "pattern_star": _star,
    "pattern_as": _as,
    "or_pattern": _or,
    "pattern_mapping": _mapping,
}
