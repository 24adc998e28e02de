"""The fast parse path: one regular expression for the tokens, and a tight LALR loop over Lark's table.

Lark's own lexer and parser loop spend most of a compile on per-token Python
overhead (a line counter fed every token, a generator per layer, a method call
per shift). :class:`FastParser` reuses what Lark computed from ``jac.lark`` (the
terminals, the LALR table and the tree-building callbacks) and only replaces
the two loops:

* :meth:`FastParser.tokenize` matches every token with one compiled pattern
  whose prefix skips whitespace, comments and access tags, resolves keywords
  with a dictionary, and computes line and column from the distance to the last
  newline instead of feeding a counter.
* :meth:`FastParser.run` shifts and reduces with Lark's table and callbacks;
  reductions of a ``?rule`` that only wrap their single child (about half of
  all reductions in ordinary code) change the state and leave the value alone.

Anything unusual (a character no terminal matches, a token the table rejects)
stops the fast path: the caller re-parses with Lark's own machinery, which
raises the exception the error reporting is built on. So the fast path has no
error handling to get wrong, and on valid input the two paths build the same
tree (``tests/jac/test_parser_paths.py`` compares them).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Optional

from lark import Lark, Token
from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders, ExpandSingleChild
from lark.parsers.lalr_analysis import Shift


_SHIFT = -1


class FastPathRejected(Exception):
    """The fast path cannot handle this input; Lark's parser will produce the real error."""


def _sort_key(terminal: Any) -> tuple:
    """Lark's own order of alternatives: priority, then the longest possible match first."""
    pattern = terminal.pattern
    return (-terminal.priority, -pattern.max_width, -len(pattern.value), terminal.name)


class FastParser:
    """Tokenizer and LALR loop built from an already constructed Lark LALR parser."""

    def __init__(self, lark: Lark, retag: Callable[[list[Token]], None]) -> None:
        self._retag = retag
        self._build_tokenizer(lark.terminals, set(lark.lexer_conf.ignore))
        frontend = lark.parser
        table_parser = frontend.parser.parser
        table = table_parser.parse_table
        self._start_states = table.start_states
        self._end_states = table.end_states
        self._token_callbacks = {
            name: callback for name, callback in table_parser.callbacks.items() if isinstance(name, str)
        }
        plans = {rule: _reduction_plan(rule, callback) for rule, callback in table_parser.callbacks.items()}
        # One dict per state: terminal -> a reduction plan, or (SHIFT, target, ...); nonterminal -> goto state.
        # (Lark's table keys reductions by Rule objects, whose hash is computed in Python.)
        self._actions: dict[int, dict[str, Any]] = {}
        for state, entries in table.states.items():
            actions: dict[str, Any] = {}
            for symbol, (operation, argument) in entries.items():
                if operation is Shift:
                    actions[symbol] = (_SHIFT, argument, None, None) if symbol.isupper() or symbol == "$END" else argument
                else:
                    actions[symbol] = plans[argument]
            self._actions[state] = actions

    # ------------------------------------------------------------------ tokens
    def _build_tokenizer(self, terminals: Iterable[Any], ignored: set[str]) -> None:
        terminals = sorted(terminals, key=_sort_key)
        strings = [t for t in terminals if t.pattern.type == "str"]
        self._keywords: dict[str, dict[str, str]] = {}
        folded: set[str] = set()
        for regex_terminal in terminals:
            if regex_terminal.pattern.type != "re" or regex_terminal.name in ignored:
                continue
            compiled = re.compile(regex_terminal.pattern.to_regexp())
            for string_terminal in strings:
                text = string_terminal.pattern.value
                if string_terminal.priority == regex_terminal.priority and compiled.fullmatch(text):
                    self._keywords.setdefault(regex_terminal.name, {})[text] = string_terminal.name
                    folded.add(string_terminal.name)
        skip = "|".join(t.pattern.to_regexp() for t in terminals if t.name in ignored)
        alternatives = "|".join(
            f"(?P<{t.name}>{t.pattern.to_regexp()})"
            for t in terminals
            if t.name not in ignored and t.name not in folded
        )
        # The skip loop is possessive: no backtracking into comments when no token follows.
        self._token_pattern = re.compile(f"(?:{skip})*+(?:{alternatives})")
        self._skip_pattern = re.compile(f"(?:{skip})*+")

    def tokenize(self, text: str) -> list[Token]:
        """Every token of ``text`` with Lark's positions; :class:`FastPathRejected` on an unknown character."""
        match = self._token_pattern.match
        keywords = self._keywords
        count = text.count
        rfind = text.rfind
        make = Token._future_new
        tokens: list[Token] = []
        append = tokens.append
        position = 0
        line = 1
        line_start = 0
        while True:
            found = match(text, position)
            if found is None:
                break
            kind = found.lastgroup
            start = found.start(kind)
            newlines = count("\n", position, start)
            if newlines:
                line += newlines
                line_start = rfind("\n", position, start) + 1
            value = found.group(kind)
            end = found.end()
            names = keywords.get(kind)
            if names is not None:
                kind = names.get(value, kind)
            column = start - line_start + 1
            inner = count("\n", start, end)
            if inner:
                token_line = line
                line += inner
                line_start = rfind("\n", start, end) + 1
                append(make(kind, value, start, token_line, column, line, end - line_start + 1, end))
            else:
                append(make(kind, value, start, line, column, line, column + end - start, end))
            position = end
        if self._skip_pattern.match(text, position).end() != len(text):
            raise FastPathRejected(position)
        return tokens

    # ------------------------------------------------------------------ parsing
    def parse(self, text: str, start: str) -> Any:
        """The tree for ``text`` from the start rule ``start``, or :class:`FastPathRejected`."""
        tokens = self.tokenize(text)
        if any(token.type == "LAMBDA" for token in tokens):
            self._retag(tokens)
        return self.run(tokens, start)

    def run(self, tokens: list[Token], start: str) -> Any:
        """Shift and reduce ``tokens`` (then the end marker) with Lark's table and callbacks."""
        actions = self._actions
        token_callbacks = self._token_callbacks
        end_state = self._end_states[start]
        state_stack = [self._start_states[start]]
        value_stack: list[Any] = []
        push_state = state_stack.append
        push_value = value_stack.append
        last = tokens[-1] if tokens else None
        end = Token.new_borrow_pos("$END", "", last) if last is not None else Token("$END", "", 0, 1, 1)
        for token in (*tokens, end):
            kind = token.type
            while True:
                action = actions[state_stack[-1]].get(kind)
                if action is None:
                    raise FastPathRejected(token)
                size, origin, keep, build = action
                if size == _SHIFT:
                    if kind == "$END":
                        raise FastPathRejected(token)
                    push_state(origin)
                    push_value(token_callbacks[kind](token) if kind in token_callbacks else token)
                    break
                if keep is not None:
                    # A wrapper rule: its value is one of its children, already on the stack.
                    value = value_stack[keep - size]
                    del state_stack[-size:]
                    del value_stack[-size:]
                    push_value(value)
                elif size:
                    children = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                    push_value(build(children))
                else:
                    push_value(build([]))
                push_state(actions[state_stack[-1]][origin])
                if kind == "$END" and state_stack[-1] == end_state:
                    return value_stack[-1]
        raise FastPathRejected(end)


def _reduction_plan(rule: Any, callback: Callable) -> tuple[int, str, Optional[int], Callable]:
    """``(size, origin, keep, build)`` for one rule: ``keep`` is the index of the child that is the
    value when the rule merely wraps it (a ``?rule`` whose other symbols are filtered tokens)."""
    size = len(rule.expansion)
    keep: Optional[int] = None
    # Lark wraps a rule's callback as child filter -> single-child expansion -> transformer method.
    child_filter = callback if isinstance(callback, (ChildFilterLALR, ChildFilterLALR_NoPlaceholders)) else None
    inner = child_filter.node_builder if child_filter is not None else callback
    if isinstance(inner, ExpandSingleChild):
        if child_filter is None:
            keep = 0 if size == 1 else None
        elif isinstance(child_filter, ChildFilterLALR):
            included = child_filter.to_include
            if len(included) == 1 and not child_filter.append_none and not included[0][1] and not included[0][2]:
                keep = included[0][0]
        elif len(child_filter.to_include) == 1 and not child_filter.to_include[0][1]:
            keep = child_filter.to_include[0][0]
    return size, rule.origin.name, keep, callback
