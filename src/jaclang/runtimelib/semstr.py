"""Semantic strings (``sem``): plain-language meaning attached to code objects.

A ``sem`` text describes a function, one of its parameters, a field of an object
or a member of an enum. Texts live in a ``__jac_sem__`` dict on the owner: the
key ``""`` holds the owner's own meaning, other keys name its parts.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any

SEM_ATTRIBUTE = "__jac_sem__"

_version = 0  # bumped by every set_sem, so caches of meanings know when to rebuild


def sem_version() -> int:
    """A number that changes whenever a ``sem`` text is set anywhere."""
    return _version


def _owner_table(owner: Any, create: bool) -> dict[str, str] | None:
    """The sem table stored on ``owner`` itself (never one inherited from a base)."""
    target = owner.__func__ if inspect.ismethod(owner) else owner
    if isinstance(target, (staticmethod, classmethod)):
        target = target.__func__
    if inspect.isfunction(target):  # a `by llm` wrapper: the meaning lives on the function it wraps
        target = inspect.unwrap(target)
    holder = vars(target) if hasattr(target, "__dict__") else {}
    table = holder.get(SEM_ATTRIBUTE)
    if table is None and create:
        table = {}
        if isinstance(target, enum.EnumMeta):
            type.__setattr__(target, SEM_ATTRIBUTE, table)
        else:
            setattr(target, SEM_ATTRIBUTE, table)
    return table


def set_sem(owner: Any, part: str, text: str) -> None:
    """Attach ``text`` to ``owner`` (``part=""``) or to one of its parts."""
    global _version
    table = _owner_table(owner, create=True)
    assert table is not None
    table[part] = text
    _version += 1


def get_sem(owner: Any, part: str = "") -> str | None:
    """The sem text of ``owner`` or of one of its parts, looking through base classes."""
    candidates = [owner]
    if inspect.isclass(owner):
        candidates = list(owner.__mro__)
    for candidate in candidates:
        try:
            table = _owner_table(candidate, create=False)
        except TypeError:
            table = None
        if table and part in table:
            return table[part]
    return None
