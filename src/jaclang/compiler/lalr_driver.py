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

On a character no terminal matches, or a token the table rejects, it raises the
exceptions Lark's own parser raises (``UnexpectedCharacters``, and
``UnexpectedToken`` with the terminals the parser would accept, as Lark's
``accepts()`` computes them), so error reporting has one input whichever path
parsed. ``tests/jac/test_parser_paths.py`` checks that both paths build the same
tree for valid programs and the same error for damaged ones.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Optional

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders, ExpandSingleChild
from lark.parsers.lalr_analysis import Shift


_SHIFT = -1


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
        """Every token of ``text`` with Lark's positions; ``UnexpectedCharacters`` where no terminal matches."""
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
        stop = self._skip_pattern.match(text, position).end()
        if stop != len(text):
            line += count("\n", position, stop)
            line_start = rfind("\n", 0, stop) + 1
            raise UnexpectedCharacters(text, stop, line, stop - line_start + 1)
        return tokens

    # ------------------------------------------------------------------ parsing
    def parse(self, text: str, start: str) -> Any:
        """The tree for ``text`` from the start rule ``start``; Lark's ``UnexpectedInput`` errors otherwise."""
        return self.run(self.tokens(text), start)

    def tokens(self, text: str) -> list[Token]:
        """The tokens the parser reads: :meth:`tokenize`, with typed lambdas and soft keywords retagged."""
        tokens = self.tokenize(text)
        self._retag(tokens)
        return tokens

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
                if action is None or (action[0] == _SHIFT and kind == "$END"):
                    raise UnexpectedToken(token, self.acceptable(state_stack, end_state))
                size, origin, keep, build = action
                if size == _SHIFT:
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
        raise UnexpectedToken(end, self.acceptable(state_stack, end_state))

    def acceptable(self, state_stack: list[int], end_state: int) -> set[str]:
        """The terminals that would be shifted after the reductions they cause (Lark's ``accepts()``).

        Where the end of file would complete the program, Lark's ``accepts()`` fails
        (its next step asserts the parse is not at its end) and the error report falls back to every terminal the state
        lists; that is reproduced here so both paths report the same expectations.
        """
        actions = self._actions
        choices = [terminal for terminal in actions[state_stack[-1]] if terminal.isupper()]
        accepted: set[str] = set()
        for terminal in choices:
            stack = list(state_stack)
            while True:
                action = actions[stack[-1]].get(terminal)
                if action is None:
                    break
                size, origin, _keep, _build = action
                if size == _SHIFT:
                    accepted.add(terminal)
                    break
                if size:
                    del stack[-size:]
                stack.append(actions[stack[-1]][origin])
                if stack[-1] == end_state:
                    return set(choices)
        return accepted


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
