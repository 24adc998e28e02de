"""``check`` statements: assertions with unittest-style messages (upstream compiles them to ``assertEqual`` and friends)."""

from __future__ import annotations

import operator
from typing import Any, Callable

# kind -> (test on the operands, message when it fails); the messages are unittest's.
_CHECKS: dict[str, tuple[Callable[..., Any], str]] = {
    "==": (operator.eq, "{0!r} != {1!r}"),
    "!=": (operator.ne, "{0!r} == {1!r}"),
    "<": (operator.lt, "{0!r} not less than {1!r}"),
    "<=": (operator.le, "{0!r} not less than or equal to {1!r}"),
    ">": (operator.gt, "{0!r} not greater than {1!r}"),
    ">=": (operator.ge, "{0!r} not greater than or equal to {1!r}"),
    "in": (lambda item, container: item in container, "{0!r} not found in {1!r}"),
    "not in": (lambda item, container: item not in container, "{0!r} unexpectedly found in {1!r}"),
    "is": (operator.is_, "{0!r} is not {1!r}"),
    "is not": (operator.is_not, "unexpectedly identical: {0!r}"),
    "is None": (lambda value: value is None, "{0!r} is not None"),
    "is not None": (lambda value: value is not None, "unexpectedly None"),
    "isinstance": (isinstance, "{0!r} is not an instance of {1!r}"),
    "true": (bool, "{0!r} is not true"),
}


def check(kind: str, *operands: Any) -> None:
    """Raise ``AssertionError`` unless the ``kind`` test holds for ``operands`` (``check("==", a, b)``)."""
    if kind == "almostEqual":
        first, second = operands
        if first == second:
            return
        difference = abs(first - second)
        if round(difference, 7) == 0:
            return
        raise AssertionError(f"{first!r} != {second!r} within 7 places ({difference!r} difference)")
    test, message = _CHECKS[kind]
    if not test(*operands):
        raise AssertionError(message.format(*operands))
