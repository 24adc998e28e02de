"""Upstream Jac's keyword tuples: ``(x=3, y=4)`` is a tuple whose keyword items are also attributes and string indexes."""

from __future__ import annotations

from typing import Any


class KeywordTuple(tuple):
    """``("header", version=2)``: the values in order; ``t.version`` and ``t["version"]`` read a keyword item."""

    def __new__(cls, positional: tuple, named: dict[str, Any]) -> "KeywordTuple":
        """A tuple of the positional values followed by the named ones."""
        instance = super().__new__(cls, (*positional, *named.values()))
        instance.__dict__["_jac_names"] = dict(named)
        return instance

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_jac_names"][name]
        except KeyError:
            raise AttributeError(f"keyword tuple has no item {name!r}") from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.__dict__["_jac_names"][key]
        return super().__getitem__(key)

    def __repr__(self) -> str:
        named = self.__dict__["_jac_names"]
        positional = self[: len(self) - len(named)]
        parts = [repr(value) for value in positional] + [f"{name}={value!r}" for name, value in named.items()]
        return "(" + ", ".join(parts) + ")"
