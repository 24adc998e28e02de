"""String literals and f-strings: literal values and ``{expression!r:spec}`` fields."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from lark import Token

from jaclang.compiler.errors import JacSyntaxError
from jaclang.compiler.expressions import place

if TYPE_CHECKING:
    from jaclang.compiler.expressions import ExpressionGenerator

_CONVERSIONS = {"r": ord("r"), "s": ord("s"), "a": ord("a")}
_QUOTES = ('"""', "'''", '"', "'")


def string_value(generator: "ExpressionGenerator", token: Token) -> str | bytes:
    """The value of a plain (non-f) string literal token."""
    text = str(token)
    if "\\" not in text and text[0] in "\"'" and not text.startswith(('"""', "'''")):
        return text[1:-1]
    try:
        return ast.literal_eval(str(token))
    except (SyntaxError, ValueError) as error:
        raise generator.error(f"invalid string literal: {error}", token) from None


def _split_literal(token: Token) -> tuple[str, str, str]:
    """``(prefix, quote, body)`` of an f-string token."""
    text = str(token)
    index = 0
    while text[index] not in "\"'":
        index += 1
    prefix = text[:index].lower()
    quote = next(q for q in _QUOTES if text.startswith(q, index))
    return prefix, quote, text[index + len(quote): len(text) - len(quote)]


def fstring_values(generator: "ExpressionGenerator", token: Token) -> list[ast.expr]:
    """The constant and formatted parts of an f-string token, ready for ``ast.JoinedStr``."""
    prefix, quote, body = _split_literal(token)
    return _parse_body(generator, token, body, quote, raw="r" in prefix)


def _literal(generator: "ExpressionGenerator", token: Token, text: str, quote: str, raw: bool) -> str:
    if raw or "\\" not in text:
        return text
    try:
        return ast.literal_eval(quote + text + quote)
    except (SyntaxError, ValueError) as error:
        raise generator.error(f"invalid escape in f-string: {error}", token) from None


def _parse_body(
    generator: "ExpressionGenerator", token: Token, body: str, quote: str, raw: bool
) -> list[ast.expr]:
    parts: list[ast.expr] = []
    literal: list[str] = []
    index = 0

    def flush() -> None:
        if literal:
            value = _literal(generator, token, "".join(literal), quote, raw)
            parts.append(place(ast.Constant(value=value), token))
            literal.clear()

    while index < len(body):
        char = body[index]
        if char == "{" and body.startswith("{{", index):
            literal.append("{")
            index += 2
        elif char == "}" and body.startswith("}}", index):
            literal.append("}")
            index += 2
        elif char == "}":
            raise generator.error("single '}' is not allowed in an f-string", token)
        elif char == "{":
            end = _field_end(body, index + 1)
            if end < 0:
                raise generator.error("f-string: expecting '}'", token)
            flush()
            parts.extend(_field(generator, token, body[index + 1: end], quote, raw))
            index = end + 1
        else:
            literal.append(char)
            index += 1
    flush()
    return parts


def _field_end(body: str, start: int) -> int:
    """Index of the ``}`` closing the replacement field that starts at ``start``."""
    depth = 0
    index = start
    string_quote = ""
    while index < len(body):
        char = body[index]
        if string_quote:
            if char == "\\":
                index += 1
            elif char == string_quote:
                string_quote = ""
        elif char in "\"'":
            string_quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return index if char == "}" else -1
            depth -= 1
        index += 1
    return -1


def _split_field(text: str) -> tuple[str, str | None, str | None]:
    """``(expression, conversion, format_spec)`` of a replacement field's text."""
    depth = 0
    string_quote = ""
    for index, char in enumerate(text):
        if string_quote:
            if char == string_quote:
                string_quote = ""
            continue
        if char in "\"'":
            string_quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char == "!" and not text.startswith("!=", index):
            rest = text[index + 1:]
            conversion, _, spec = rest.partition(":")
            return text[:index], conversion.strip(), (spec if ":" in rest else None)
        elif depth == 0 and char == ":":
            return text[:index], None, text[index + 1:]
    return text, None, None


def _field(generator: "ExpressionGenerator", token: Token, text: str, quote: str, raw: bool) -> list[ast.expr]:
    from jaclang.compiler.parser import parse

    expression_text, conversion, spec = _split_field(text)
    parts: list[ast.expr] = []
    debug = expression_text.rstrip().endswith("=") and not expression_text.rstrip().endswith(
        ("==", "!=", "<=", ">=")
    )
    if debug:
        parts.append(place(ast.Constant(value=expression_text), token))
        expression_text = expression_text.rstrip()[:-1]
        if conversion is None and spec is None:
            conversion = "r"
    if not expression_text.strip():
        raise generator.error("f-string: empty expression not allowed", token)
    try:
        tree = parse(expression_text.strip(), generator.filename, start="fexpr")
    except JacSyntaxError as error:
        raise generator.error(f"invalid expression in f-string: {error.message}", token) from None
    value = generator.expr(tree)
    for node in ast.walk(value):
        if hasattr(node, "lineno"):
            for attribute in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                if hasattr(node, attribute):
                    delattr(node, attribute)
            place(node, token)
    if conversion is not None and conversion not in _CONVERSIONS:
        raise generator.error(f"f-string: invalid conversion character {conversion!r}", token)
    format_spec = None
    if spec:
        format_spec = place(ast.JoinedStr(values=_parse_body(generator, token, spec, quote, raw)), token)
    parts.append(
        place(
            ast.FormattedValue(
                value=value,
                conversion=_CONVERSIONS[conversion] if conversion else -1,
                format_spec=format_spec,
            ),
            token,
        )
    )
    return parts
