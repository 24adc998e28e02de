"""Jac source text to the typed syntax tree (:mod:`syntax_tree`); parse failures become :class:`JacSyntaxError`.

Lark is imported here and nowhere on the warm ``jac run`` path: the module is
only loaded when a source actually has to be compiled.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from jaclang.compiler.errors import JacSyntaxError, source_line_at
from jaclang.compiler.gc_pause import collector_paused
from jaclang.compiler.lalr_driver import FastParser
from jaclang.compiler.tree_builder import JacTreeBuilder

GRAMMAR_PATH = Path(__file__).with_name("jac.lark")

# Readable names for the named terminals of the grammar, used in "expected ..." lists.
TERMINAL_DESCRIPTIONS = {
    "NAME": "a name",
    "KWESC_NAME": "a name",
    "STRING": "a string",
    "FSTRING": "an f-string",
    "DEC_NUMBER": "a number",
    "HEX_NUMBER": "a number",
    "OCT_NUMBER": "a number",
    "BIN_NUMBER": "a number",
    "FLOAT_NUMBER": "a number",
    "IMAG_NUMBER": "a number",
    "AUGOP": "an augmented assignment ('+=', ...)",
    "$END": "end of file",
}

_CLOSERS = {"RPAR", "RSQB", "RBRACE"}
_OPENERS = {"LPAR", "LSQB", "LBRACE"}
# Tokens that cannot occur in the parameter types of a typed lambda.
_UNTYPED_LAMBDA_STOPS = {"SEMICOLON", "LAMBDA", "TYPED_LAMBDA", "FOR", "IF", "ELSE", "BY"}


def _is_typed_lambda(tokens: list[Token], start: int) -> bool:
    """Whether the ``lambda`` at ``tokens[start]`` is Jac's typed form ``lambda x: T : body``.

    ``lambda x: a`` and ``lambda x: T : b`` share a prefix that an LALR(1) parser
    cannot split, so the token stream is scanned ahead: a typed lambda has
    segments ``T, name`` separated by colons and ends with a colon after a
    segment without commas; a closing bracket, ``;`` or a nested lambda first
    means the plain Python form.
    """
    if start + 2 >= len(tokens):
        return False
    if tokens[start + 1].type != "NAME" or tokens[start + 2].type != "COLON":
        return False
    depth = 0
    segment: list[Token] = []
    for token in tokens[start + 3:]:
        kind = token.type
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth -= 1
            if depth < 0:
                return False
        if depth > 0 or kind in _OPENERS:
            segment.append(token)
            continue
        if kind in _UNTYPED_LAMBDA_STOPS:
            return False
        if kind == "COLON":
            commas = [i for i, item in enumerate(segment) if item.type == "COMMA"]
            if not commas:
                return bool(segment)
            last = commas[-1]
            if len(segment) - last != 2 or segment[-1].type != "NAME":
                return False
            segment = []
            continue
        segment.append(token)
    return False


class LambdaTagger:
    """Lark post-lexer that retags typed lambdas and remembers the tokens for error reports."""

    always_accept: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def tokens(self) -> list[Token]:
        """The tokens of the most recent parse on this thread."""
        return getattr(self._local, "tokens", [])

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        """Yield the tokens of ``stream``, with ``lambda`` retagged where it is typed."""
        tokens: list[Token] = []
        self._local.tokens = tokens
        tokens.extend(stream)
        retag_typed_lambdas(tokens)
        yield from tokens


def retag_typed_lambdas(tokens: list[Token]) -> None:
    """Retag, in place, each ``lambda`` token that starts a typed lambda as ``TYPED_LAMBDA``."""
    for index, token in enumerate(tokens):
        if token.type == "LAMBDA" and _is_typed_lambda(tokens, index):
            tokens[index] = Token.new_borrow_pos("TYPED_LAMBDA", token.value, token)


_parser: Lark | None = None
_fast_parser: FastParser | None = None
_tagger = LambdaTagger()
_parser_lock = threading.Lock()


def _grammar_cache_path() -> str | bool:
    """Where Lark keeps the analysed grammar (a file, or ``True`` for its default)."""
    directory = os.environ.get("JAC_CACHE_DIR")
    if directory:
        return os.path.join(directory, "jac-grammar.lark-cache")
    return True if os.access(tempfile.gettempdir(), os.W_OK) else False


def get_parser() -> Lark:
    """The shared LALR parser for Jac, built (or loaded from Lark's cache) on first use."""
    global _parser, _fast_parser
    with _parser_lock:
        if _parser is None:
            options = dict(
                parser="lalr",
                lexer="basic",
                start=["start", "fexpr"],
                maybe_placeholders=True,
                postlex=_tagger,
                transformer=JacTreeBuilder(),
            )
            try:
                _parser = Lark.open(str(GRAMMAR_PATH), cache=_grammar_cache_path(), **options)
            except OSError:
                _parser = Lark.open(str(GRAMMAR_PATH), **options)
            _fast_parser = FastParser(_parser, retag_typed_lambdas)
    return _parser


def parse_with_lark(source: str, filename: str = "<jac>", start: str = "start") -> Any:
    """Parse with Lark's own lexer and parser loop: the reference the fast path is tested against."""
    parser = get_parser()
    try:
        return parser.parse(source, start=start)
    except UnexpectedInput as error:
        raise _syntax_error(error, source, filename, parser, _tagger.tokens) from None


def parse(source: str, filename: str = "<jac>", start: str = "start", line_offset: int = 0) -> Any:
    """Parse Jac ``source`` into its syntax tree (a ``Module``, or an expression for ``fexpr``); raise :class:`JacSyntaxError` pointing at the offending token.

    ``line_offset`` is added to every line number in the tree (annex files, see
    :mod:`annexes`); errors are reported at the source's own lines.
    """
    parser = get_parser()
    assert _fast_parser is not None
    tokens: list[Token] = []
    try:
        with collector_paused():
            tokens = _fast_parser.tokens(source)
            if line_offset:
                for token in tokens:
                    token.line += line_offset
                    token.end_line += line_offset
            return _fast_parser.run(tokens, start)
    except UnexpectedInput as error:
        if line_offset:
            return parse(source, filename, start)  # raises the error at the source's own lines
        raise _syntax_error(error, source, filename, parser, tokens) from None


def describe_terminal(parser: Lark, name: str) -> str:
    """A readable name for terminal ``name``: its literal text, or a description."""
    if name in TERMINAL_DESCRIPTIONS:
        return TERMINAL_DESCRIPTIONS[name]
    try:
        terminal = parser.get_terminal(name)
    except KeyError:
        return name.lower()
    if terminal.pattern.type == "str":
        return repr(terminal.pattern.value)
    return name.lower()


def _expected(parser: Lark, names: set[str] | frozenset[str]) -> tuple[str, ...]:
    readable = {describe_terminal(parser, name) for name in names if name != "TYPED_LAMBDA"}
    return tuple(sorted(readable, key=lambda text: (not text.startswith("'"), text)))


def _acceptable(error: UnexpectedToken) -> set[str]:
    """The terminals the parser really accepts at the error (LALR's own list over-approximates)."""
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        try:
            return set(interactive.accepts())
        except Exception:  # fall back to Lark's list if probing the parser state fails
            pass
    return set(error.expected)


def _previous_token(token: Token, tokens: list[Token]) -> Token | None:
    for index, candidate in enumerate(tokens):
        if candidate.start_pos == token.start_pos and candidate.type == token.type:
            return tokens[index - 1] if index > 0 else None
    return tokens[-1] if tokens and token.type == "$END" else None


def _syntax_error(
    error: UnexpectedInput, source: str, filename: str, parser: Lark, tokens: list[Token]
) -> JacSyntaxError:
    """Turn a Lark parse failure into a located, readable :class:`JacSyntaxError`."""
    if isinstance(error, UnexpectedCharacters):
        char = source[error.pos_in_stream] if error.pos_in_stream < len(source) else ""
        if char in "\"'":
            message = "unterminated string literal"
        else:
            message = f"unexpected character {char!r}"
        return JacSyntaxError(message, filename, error.line, error.column, source_line_at(source, error.line))
    if isinstance(error, (UnexpectedToken, UnexpectedEOF)):
        unclosed = unclosed_bracket(tokens)
        if unclosed is not None and _blame_bracket(error, unclosed, parser):
            opener = str(unclosed)[-1] if str(unclosed) != "(?" else "("
            return JacSyntaxError(
                f"'{opener}' opened at {unclosed.line}:{unclosed.column} was never closed",
                filename, unclosed.line, unclosed.column, source_line_at(source, unclosed.line),
            )
    if isinstance(error, UnexpectedToken):
        token = error.token
        expected = _expected(parser, _acceptable(error))
        previous = _previous_token(token, tokens)
        if token.type == "$END":
            line = previous.end_line if previous else 1
            column = previous.end_column if previous else 1
            message = "unexpected end of file" + (" (a '}' is missing)" if "'}'" in expected else "")
        else:
            line, column = token.line, token.column
            message = f"unexpected {describe_token(token)}"
        if "';'" in expected and previous is not None and (
            token.type in ("$END", "RBRACE") or previous.end_line < line
        ):
            line, column = previous.end_line, previous.end_column
            message = f"missing ';' after {describe_token(previous)}"
            expected = ("';'",)
        return JacSyntaxError(message, filename, line, column, source_line_at(source, line), expected)
    if isinstance(error, UnexpectedEOF):
        lines = source.split("\n")
        return JacSyntaxError(
            "unexpected end of file", filename, len(lines), len(lines[-1]) + 1, lines[-1],
            _expected(parser, set(error.expected)),
        )
    line = getattr(error, "line", 1) or 1
    column = getattr(error, "column", 1) or 1
    return JacSyntaxError(str(error), filename, line, column, source_line_at(source, line))


def _blame_bracket(error: UnexpectedInput, unclosed: Token, parser: Lark) -> bool:
    """Whether the unclosed bracket, not the token, is the error: the parser gave up at the end of
    the file, on a later line, or where it would have accepted the bracket's closer."""
    token = getattr(error, "token", None)
    if token is None or token.type == "$END" or (token.line or 0) > (unclosed.line or 0):
        return True
    closer = {"(": "')'", "[": "']'", "{": "'}'"}[str(unclosed)[-1] if str(unclosed) != "(?" else "("]
    return closer in _expected(parser, _acceptable(error))  # type: ignore[arg-type]


_BRACKET_PAIRS = {")": ("(", "(?"), "]": ("[", "?["), "}": ("{",)}
_OPENING_BRACKETS = {"(", "[", "{", "?[", "(?"}


def unclosed_bracket(tokens: list[Token]) -> Token | None:
    """The innermost bracket left open: at the first closer that does not match it, or at the end."""
    stack: list[Token] = []
    for token in tokens:
        text = str(token)
        if token.type in ("STRING", "FSTRING"):
            continue
        if text in _OPENING_BRACKETS:
            stack.append(token)
        elif text in _BRACKET_PAIRS:
            if not stack:
                return None  # a stray closer: the parser's own message says more
            if str(stack[-1]) not in _BRACKET_PAIRS[text]:
                return stack[-1]
            stack.pop()
    return stack[-1] if stack else None


def describe_token(token: Token) -> str:
    """How a token reads in an error message: ``'foo'`` or ``name 'foo'``."""
    text = str(token.value)
    if len(text) > 30:
        text = text[:27] + "..."
    if token.type in ("NAME", "KWESC_NAME"):
        return f"name {text!r}"
    if token.type in ("STRING", "FSTRING"):
        return f"string {text}"
    if token.type.endswith("NUMBER"):
        return f"number {text}"
    return repr(text)
