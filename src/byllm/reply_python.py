"""Read a reply written as a Python literal (``{'a': 1}``, ``Color.RED``, ``Person(name='Ada', age=36)``) as data.

Small models often answer in Python's notation instead of JSON: single-quoted
strings, ``True``/``None``, tuples, an enum written with its class, an object
written as its constructor call. This module turns such text into plain data
(dicts, lists, strings, numbers) for :mod:`byllm.output` to validate against the
return type. It reads the syntax tree and never evaluates anything: a name
stands for its own text, ``Class.MEMBER`` for ``"MEMBER"``, a call with keyword
arguments for the dict of them. Anything else (operators, positional arguments,
comprehensions, ...) is not a literal, and :func:`python_value` returns
:data:`NOT_A_LITERAL`.
"""

from __future__ import annotations

import ast
import warnings
from typing import Any

MAX_CHARS = 100_000  # longer replies are not read as Python (the JSON readers have their own limits)
MAX_DEPTH = 64  # nesting beyond this is not a literal (the walk is recursive)
NOT_A_LITERAL = object()


class _NotLiteral(Exception):
    """Raised inside the walk for any node that is not part of a literal."""


def python_value(text: str) -> Any:
    """``text`` (one Python expression) as plain data, or :data:`NOT_A_LITERAL`."""
    text = text.strip()
    if not text or len(text) > MAX_CHARS:
        return NOT_A_LITERAL
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" in a reply is the model's, not the program's
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
        return _data(tree.body, MAX_DEPTH)
    except (_NotLiteral, SyntaxError, ValueError, RecursionError, MemoryError):
        return NOT_A_LITERAL


def _data(node: ast.AST, depth: int) -> Any:
    if depth <= 0:
        raise _NotLiteral
    depth -= 1
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (str, int, float, bool)) or node.value is None:
            return node.value
        raise _NotLiteral  # bytes, complex numbers, Ellipsis
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_data(item, depth) for item in node.elts]
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):  # {**other}
            raise _NotLiteral
        return {_key(key, depth): _data(value, depth) for key, value in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        number = _data(node.operand, depth)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise _NotLiteral
        return -number if isinstance(node.op, ast.USub) else number
    if isinstance(node, ast.Name):
        return node.id  # an unquoted word: INTROVERT, Ada
    if isinstance(node, ast.Attribute) and _is_dotted_name(node.value):
        return node.attr  # Personality.INTROVERT -> "INTROVERT"
    if isinstance(node, ast.Call) and _is_dotted_name(node.func) and not node.args:
        if any(keyword.arg is None for keyword in node.keywords):  # Person(**fields)
            raise _NotLiteral
        return {keyword.arg: _data(keyword.value, depth) for keyword in node.keywords}
    raise _NotLiteral


def _key(node: ast.AST, depth: int) -> Any:
    key = _data(node, depth)
    if isinstance(key, (dict, list)):  # not hashable: no dict key
        raise _NotLiteral
    return key


def _is_dotted_name(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)
