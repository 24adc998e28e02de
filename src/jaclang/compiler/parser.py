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
    "TYPE_REF": "a backtick type reference",
    "LET": "'let'",
    "CHECK": "'check'",
    "IGNORE": "'ignore'",
    "FLOW": "'flow'",
    "WAIT": "'wait'",
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
    """Retag, in place, typed lambdas (``TYPED_LAMBDA``) and upstream's soft keywords (:func:`retag_soft_keywords`)."""
    soft = False
    for index, token in enumerate(tokens):
        kind = token.type
        if kind == "LAMBDA":
            if _is_typed_lambda(tokens, index):
                tokens[index] = Token.new_borrow_pos("TYPED_LAMBDA", token.value, token)
        elif (kind == "NAME" and token.value in _SOFT_WORDS) or kind in ("GLOBAL", "NONLOCAL"):
            soft = True
        elif kind == "IMPL":
            _retag_enum_impl_body(tokens, index)
    if soft:
        retag_soft_keywords(tokens)


_MEMBER_STARTS = {"WITH", "DEF", "CAN", "HAS", "STATIC", "OBJ", "CLASS", "NODE", "EDGE", "WALKER", "ENUM", "IMPL",
                  "ASYNC", "OVERRIDE", "AT", "PYNLINE", "SEM"}


def _retag_enum_impl_body(tokens: list[Token], start: int) -> None:
    """Retag the ``{`` of ``impl Color { RED = 1, GREEN = 2 }`` as ``ENUM_BODY_OPEN``.

    ``impl X { ... }`` is a code block unless its first item is a list of enum
    members: names, each alone or with ``= value``, separated by commas and
    ended by ``}``, a member such as ``with entry``, or (two or more of them)
    by ``;``. Like upstream, ``impl f { x = 5; }`` stays a code block.
    """
    index = start + 1
    if index >= len(tokens) or tokens[index].type != "NAME":
        return
    index += 1
    while index + 1 < len(tokens) and tokens[index].type == "DOT" and tokens[index + 1].type == "NAME":
        index += 2
    if index >= len(tokens) or tokens[index].type != "LBRACE":
        return
    brace = index
    items: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[brace + 1:]:
        kind = token.type
        if depth == 0 and (kind in ("RBRACE", "SEMICOLON") or kind in _MEMBER_STARTS):
            ended_by_semicolon = kind == "SEMICOLON"
            break
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth -= 1
        if depth == 0 and kind == "COMMA":
            items.append([])
        else:
            items[-1].append(token)
    else:
        return
    if not items[-1]:
        items.pop()  # a trailing comma
    if not items or (ended_by_semicolon and len(items) < 2):
        return
    valued = [len(item) > 2 and item[1].type == "EQUAL" for item in items]
    plain = [len(item) == 1 for item in items]
    if not all(item[0].type == "NAME" for item in items) or not (all(valued) or all(plain)):
        return
    tokens[brace] = Token.new_borrow_pos("ENUM_BODY_OPEN", tokens[brace].value, tokens[brace])


# Upstream keywords that stay ordinary names here unless they are used as upstream uses them:
# `let`/`check`/`ignore` (and `:g:`/`:nl:`) start a statement, `flow`/`wait` prefix an expression.
_STATEMENT_WORDS = {"let": "LET", "check": "CHECK", "ignore": "IGNORE"}
_PREFIX_WORDS = {"flow": "FLOW", "wait": "WAIT"}
_ACCESS_WORDS = {"pub", "priv", "protect"}
_SOFT_WORDS = {*_STATEMENT_WORDS, *_PREFIX_WORDS, *_ACCESS_WORDS, "g", "nl"}
# Keywords an access tag may follow: `has : protect a: int;`, `def : pub f()` (`has :priv a` is lexed whole).
_TAGGED_KEYWORDS = {"HAS", "DEF", "CAN", "OBJ", "CLASS", "NODE", "EDGE", "WALKER", "ENUM", "GLOB", "LET", "STATIC"}
_GLOBAL_WORDS = {"g": "GLOBAL", "global": "GLOBAL", "nl": "NONLOCAL", "nonlocal": "NONLOCAL"}
_STATEMENT_BOUNDARIES = {"SEMICOLON", "LBRACE", "RBRACE"}
# Tokens that begin an operand: a soft keyword followed by one of these is the keyword.
_OPERAND_STARTS = {
    "NAME", "KWESC_NAME", "TYPE_REF", "STRING", "FSTRING", "DEC_NUMBER", "HEX_NUMBER", "OCT_NUMBER",
    "BIN_NUMBER", "FLOAT_NUMBER", "IMAG_NUMBER", "NONE", "TRUE", "FALSE", "NOT", "AWAIT", "LAMBDA",
}
# Tokens after which a name is a declaration's or attribute's name, never a prefix keyword.
_NAMING_TOKENS = {"DOT", "_SAFE_DOT", "DEF", "CAN", "OBJ", "CLASS", "NODE", "EDGE", "WALKER", "ENUM", "IMPL", "AS"}


def _starts_operand(word: Token, following: Token) -> bool:
    """Whether ``following`` begins an operand of the soft keyword ``word``.

    A bracket right after the word (``check(x)``, ``wait[0]``) is a call or a
    subscript of a name; after a space (``ignore [-->][0]``) it starts the operand.
    """
    if following.type in _OPERAND_STARTS:
        return True
    if following.type in ("LPAR", "LSQB"):
        return (following.start_pos or 0) > (word.end_pos or 0)
    return False


def retag_soft_keywords(tokens: list[Token]) -> None:
    """Retag, in place, the names that act as upstream keywords here (see ``_STATEMENT_WORDS``).

    A program that uses ``check``, ``wait`` or ``let`` as an ordinary name keeps
    working: only a use in the keyword's own position is retagged. ``:g: x;`` and
    ``:nl: x;`` (also ``:global:``/``:nonlocal:``) become ``global``/``nonlocal``.
    """
    index = 0
    while index < len(tokens) - 1:
        token = tokens[index]
        previous = tokens[index - 1] if index else None
        at_statement_start = previous is None or previous.type in _STATEMENT_BOUNDARIES
        following = tokens[index + 1]
        if token.type == "COLON" and at_statement_start and index + 3 < len(tokens):
            word, closer = following, tokens[index + 2]
            keyword = _GLOBAL_WORDS.get(str(word.value))
            if keyword and closer.type == "COLON" and tokens[index + 3].type == "NAME":
                tokens[index: index + 3] = [Token.new_borrow_pos(keyword, word.value, token)]
        elif token.type == "COLON" and previous is not None and previous.type in _TAGGED_KEYWORDS:
            if following.type == "NAME" and following.value in _ACCESS_WORDS:
                del tokens[index: index + 2]  # an access tag written with a space: no effect, as `:pub`
                continue
        elif token.type == "NAME":
            value = token.value
            if value in _STATEMENT_WORDS:
                if (at_statement_start or previous.type == "COLON") and _starts_operand(token, following):
                    tokens[index] = Token.new_borrow_pos(_STATEMENT_WORDS[value], value, token)
            elif value in _PREFIX_WORDS:
                if (previous is None or previous.type not in _NAMING_TOKENS) and _starts_operand(token, following):
                    tokens[index] = Token.new_borrow_pos(_PREFIX_WORDS[value], value, token)
        index += 1


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
            opener = _opener_char(unclosed)
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
    closer = {"(": "')'", "[": "']'", "{": "'}'"}[_opener_char(unclosed)]
    return closer in _expected(parser, _acceptable(error))  # type: ignore[arg-type]


_BRACKET_PAIRS = {")": ("(", "(?", "(`?"), "]": ("[", "?["), "}": ("{",)}
_OPENING_BRACKETS = {"(", "[", "{", "?[", "(?", "(`?"}


def _opener_char(bracket: Token) -> str:
    """The bracket character of an opening token: ``(`` for ``(?`` and ``(`?``, ``[`` for ``?[``."""
    text = str(bracket)
    return "(" if text.startswith("(") else text[-1]


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
