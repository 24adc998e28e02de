"""Shared helpers of the Jac language tests (a module of its own: every test folder has a conftest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jaclang.runtimelib.machine import hookimpl

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@dataclass
class RecordingPlugin:
    """A ``call_llm`` plugin answering from a function and recording every call."""

    answer: Callable[[Any, Callable, dict], Any] = lambda model, caller, args: "answer"
    calls: list[tuple[Any, Callable, dict]] = field(default_factory=list)

    @hookimpl
    def call_llm(self, model: Any, caller: Callable, args: dict[str | int, object]) -> object:
        """Record the call and answer it."""
        self.calls.append((model, caller, dict(args)))
        return self.answer(model, caller, args)
