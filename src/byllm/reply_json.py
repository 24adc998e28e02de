"""Find JSON values in text a model wrote, with bounded work and no recursion.

Models wrap JSON in prose, in ```` ``` ```` fences, or send it bare. This module
finds the candidate values in such text; it does not know about return types
(``byllm.output`` validates the candidates). Everything here is safe for any
input: the work is linear in the text's length, nesting is bounded, and the only
error raised is :class:`ReplyJSONError` (a ``ValueError``).

Limits (module constants; each function takes them as keyword arguments):

- :data:`MAX_REPLY_CHARS`: longer text is refused before any parsing.
- :data:`MAX_DEPTH`: JSON nested deeper is refused. It is the limit of the JSON
  parser used (Pydantic's ``jiter``), which counts its own depth, so no Python
  recursion limit is ever reached.
- :data:`MAX_CANDIDATES` and :data:`MAX_SCAN_STEPS`: how many embedded values are
  decoded, and how many brackets the search through prose may visit, before it
  gives up.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

MAX_REPLY_CHARS = 64 * 1024 * 1024
MAX_DEPTH = 201  # what Pydantic's JSON parser (jiter) reads; checked by the tests
MAX_CANDIDATES = 1000
MAX_SCAN_STEPS = 100_000

__all__ = [
    "MAX_CANDIDATES",
    "MAX_DEPTH",
    "MAX_REPLY_CHARS",
    "MAX_SCAN_STEPS",
    "ReplyJSONError",
    "fenced_blocks",
    "json_values",
    "loads",
]


class ReplyJSONError(ValueError):
    """Text is not JSON, or is too large or too deeply nested to read; the message says which."""


def check_size(text: str, max_chars: int = MAX_REPLY_CHARS) -> None:
    """Raise :class:`ReplyJSONError` when ``text`` is longer than ``max_chars``."""
    if len(text) > max_chars:
        raise ReplyJSONError(
            f"the text is {len(text):,} characters long; at most {max_chars:,} are read "
            "(send the value alone, without surrounding text)"
        )


def loads(text: str, *, max_chars: int = MAX_REPLY_CHARS) -> Any:
    """Decode one JSON document (surrounding whitespace allowed), within the limits.

    Unlike ``json.loads`` it never raises ``RecursionError``, refuses ``NaN`` and
    ``Infinity`` and lone surrogates, and caps the size. Raises :class:`ReplyJSONError`.
    """
    from pydantic_core import from_json  # imported by the first typed reply, not by every program

    check_size(text, max_chars)
    try:
        return from_json(text, allow_inf_nan=False)
    except ValueError as error:
        message = str(error)
        if message.startswith("recursion limit exceeded"):
            message = f"nested deeper than {MAX_DEPTH} levels ({message})"
        raise ReplyJSONError(f"not valid JSON: {message}") from None
    except TypeError:
        # pydantic_core cannot encode a str holding a lone surrogate to UTF-8.
        raise ReplyJSONError("not valid JSON: the text holds a lone surrogate character") from None


_FENCE_MARK = "```"
# What may follow an opening fence before the content: a language tag and a line break.
_FENCE_INFO = re.compile(r"[ \t]*[A-Za-z0-9_+-]*[ \t]*\n?")


def fenced_blocks(text: str) -> Iterator[str]:
    """The contents of each closed ```` ``` ```` fence, in order (language tag removed)."""
    opening = text.find(_FENCE_MARK)
    while opening != -1:
        content_start = _FENCE_INFO.match(text, opening + len(_FENCE_MARK)).end()  # type: ignore[union-attr]
        closing = text.find(_FENCE_MARK, content_start)
        if closing == -1:
            return
        yield text[content_start:closing]
        opening = text.find(_FENCE_MARK, closing + len(_FENCE_MARK))


# The bracket search. Inside a structure, one regular-expression match skips plain
# text, whole strings and whole small bracket groups (nested up to _GROUP_DEPTH),
# so Python only steps through the brackets of deeper nesting. Every repetition is
# possessive: no backtracking, so each match is linear.
_GROUP_DEPTH = 3
_PLAIN = r'[^"\[\]{}]++'
_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'


@functools.cache
def _inside_pattern(with_strings: bool) -> re.Pattern[str]:
    """The pattern one match of the bracket search takes; ``with_strings=False`` once a string never closes.

    Compiled on first use: Python's regular-expression compiler takes milliseconds
    over these nested groups, and a program whose replies are text never needs them.
    """
    atoms = [_PLAIN, _STRING] if with_strings else [_PLAIN]
    group = ""
    for _ in range(_GROUP_DEPTH):
        body = "(?:" + "|".join(atoms + ([group] if group else [])) + ")*+"
        group = rf"\[{body}\]|\{{{body}\}}"
    return re.compile("(?:" + "|".join([*atoms, group]) + ")*+", re.DOTALL)


_CLOSER_OF = {"[": "]", "{": "}"}
# A structure left open at the end is searched inside only when it is this short:
# a stray bracket in prose, not a huge truncated value.
_RESCAN_LIMIT = 1024 * 1024
# A short quoted word or phrase in prose (an enum name, a literal): one line, no escapes.
# The look-behind skips escaped quotes; a failed start reads at most 201 characters.
_QUOTED = re.compile(r'"(?<!\\")[^"\\\n]{0,200}+"')


class _OpenerFinder:
    """Finds the next ``[`` or ``{`` at or after a position (two ``str.find`` scans, each linear overall)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.next_square = -2  # -2: not looked up yet; -1: none left
        self.next_curly = -2

    def __call__(self, position: int) -> int:
        if self.next_square != -1 and self.next_square < position:
            self.next_square = self.text.find("[", position)
        if self.next_curly != -1 and self.next_curly < position:
            self.next_curly = self.text.find("{", position)
        found = [index for index in (self.next_square, self.next_curly) if index != -1]
        return min(found) if found else -1


def _bracket_structures(text: str, *, max_depth: int, max_steps: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each outermost balanced ``[...]`` / ``{...}`` in ``text``, left to right.

    Brackets inside strings do not count. A structure that meets the wrong closing
    bracket, a string that never closes, or the end of the text is dropped, and the
    search resumes just after its innermost open bracket, so balanced structures
    inside it are still found; each character is read a bounded number of times.
    """
    length = len(text)
    unterminated_from = length  # position of a string that never closes, once seen
    read_budget = 4 * length + 10_000  # characters the matches may read, rereads included
    ran_to_end = False  # one structure left open at the end is searched inside, not a second
    steps = 0
    position = 0
    next_opener = _OpenerFinder(text)
    while True:
        start = next_opener(position)
        if start == -1:
            return
        if start < unterminated_from:
            # A string may close on the quote at unterminated_from, never after it.
            inside, limit = _inside_pattern(with_strings=True), min(length, unterminated_from + 1)
        else:  # every later quote starts a string that never closes
            inside, limit = _inside_pattern(with_strings=False), length
        open_brackets = [text[start]]
        open_positions = [start]
        position = start + 1
        while True:
            steps += 1
            if steps > max_steps:
                raise ReplyJSONError(
                    f"the text has too many brackets to search (more than {max_steps:,}); "
                    "send the JSON value alone or in one ``` fence"
                )
            matched_to = inside.match(text, position, limit).end()  # type: ignore[union-attr]
            read_budget -= matched_to - position
            if read_budget < 0:
                raise ReplyJSONError("the text is too tangled to search; send the JSON value alone")
            position = matched_to
            if position >= limit:  # the end of the text, or of what may be read
                if position >= length:
                    if ran_to_end or length - open_positions[-1] > _RESCAN_LIMIT:
                        return
                    ran_to_end = True
                break
            char = text[position]
            if char == '"':  # a string that never closes: no later quote closes either
                unterminated_from = min(unterminated_from, position)
                break
            if char in "[{":
                if len(open_brackets) >= max_depth:
                    raise ReplyJSONError(f"brackets are nested deeper than {max_depth} levels")
                open_brackets.append(char)
                open_positions.append(position)
                position += 1
                continue
            if _CLOSER_OF[open_brackets[-1]] != char:
                break  # the wrong closing bracket
            open_brackets.pop()
            open_positions.pop()
            position += 1
            if not open_brackets:
                yield start, position
                break
        if open_brackets:
            position = open_positions[-1] + 1


def json_values(
    text: str,
    *,
    max_chars: int = MAX_REPLY_CHARS,
    max_depth: int = MAX_DEPTH,
    max_candidates: int = MAX_CANDIDATES,
    max_steps: int = MAX_SCAN_STEPS,
) -> Iterator[Any]:
    """The JSON values a model's reply may hold, most likely first.

    In order: the whole text (when it is JSON, nothing else); each fenced block;
    the span from the first opening bracket to the last closing one; each outermost
    balanced bracket structure in the prose; each quoted word (one line, no escapes,
    at most 200 characters). Candidates that are not valid JSON are skipped. Lazy: stop iterating once a value fits. Raises :class:`ReplyJSONError`
    when the text is too large, or (after the values found so far) when the search
    meets nesting deeper than ``max_depth`` or more than ``max_steps`` brackets.
    """
    check_size(text, max_chars)
    stripped = text.strip()
    try:
        yield loads(stripped, max_chars=max_chars)
        return  # the whole reply is one JSON value: its parts are not separate answers
    except ReplyJSONError:
        pass
    budget = max_candidates
    for block in fenced_blocks(text):
        if budget <= 0:
            return
        budget -= 1
        try:
            yield loads(block, max_chars=max_chars)
        except ReplyJSONError:
            pass
    # JSON wrapped in prose, decoded in one pass: first opening to last closing bracket.
    outer = _outermost_span(stripped)
    if outer is not None:
        budget -= 1
        try:
            yield loads(stripped[outer[0] : outer[1]], max_chars=max_chars)
        except ReplyJSONError:
            pass
    for span in _bracket_structures(stripped, max_depth=max_depth, max_steps=max_steps):
        if span == outer:
            continue  # already tried
        if budget <= 0:
            return
        budget -= 1
        try:
            yield loads(stripped[span[0] : span[1]], max_chars=max_chars)
        except ReplyJSONError:
            pass
    for quoted in _QUOTED.finditer(stripped):
        if budget <= 0:
            return
        budget -= 1
        try:
            yield loads(quoted.group(), max_chars=max_chars)
        except ReplyJSONError:
            pass


def _outermost_span(text: str) -> tuple[int, int] | None:
    """From the first ``[``/``{`` to the last bracket that would close it, if any."""
    start = _OpenerFinder(text)(0)
    if start == -1:
        return None
    end = text.rfind(_CLOSER_OF[text[start]])
    return (start, end + 1) if end > start else None
