"""A logging plugin that wraps every ``by llm()`` call instead of answering it."""

from __future__ import annotations

from typing import Callable, Generator

from jaclang.runtimelib.machine import hookimpl
from byllm.llm import Model


class LoggingWrapper:
    """Print each call, then its result or error, around whatever answers the call."""

    @staticmethod
    @hookimpl(wrapper=True, tryfirst=True)
    def call_llm(
        model: Model, caller: Callable, args: dict[str | int, object]
    ) -> Generator[None, object, object]:
        """Log the call on the way in and its outcome on the way out."""
        # tryfirst makes this the outermost wrapper, so it also sees cache hits.
        print(f"[log] {caller.__name__}({args}) with {model.model_name}")
        try:
            result = yield
        except Exception as error:
            print(f"[log] {caller.__name__} failed: {type(error).__name__}: {error}")
            raise
        print(f"[log] {caller.__name__} -> {result!r}")
        return result
