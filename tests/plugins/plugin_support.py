"""A real (non-mock) provider for plugin tests, served through the ``llm_provider`` hook."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any, Callable

from jaclang.runtimelib.machine import hookimpl
from byllm.providers.base import CompletionReply, CompletionRequest, Usage

PREFIX = "test/"


def echo_answer(request: CompletionRequest) -> str:
    """A deterministic reply: the first input value the prompt shows, upper-cased."""
    user = request.messages[-1]["content"]
    text = user if isinstance(user, str) else json.dumps(user)
    for line in text.splitlines():
        if line.startswith("- ") and " = " in line:
            value = line.split(" = ", 1)[1].strip()
            if request.output_schema is None:
                return f"echo {value.strip(chr(34)).upper()}"
            return value
    return "echo"


class CountingProvider:
    """Answers every request with ``answer(request)``, reports fixed usage and counts calls."""

    name = "testprovider"

    def __init__(self, answer: Callable[[CompletionRequest], str] = echo_answer, usage: tuple[int, int] = (100, 20)) -> None:
        self.answer = answer
        self.usage = usage
        self.requests: list[CompletionRequest] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        """How many completions reached this provider."""
        return len(self.requests)

    def model_id(self, model_name: str) -> str:
        """The name without the ``test/`` prefix."""
        return model_name[len(PREFIX) :]

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request."""
        with self._lock:
            self.requests.append(request)
        return CompletionReply(text=self.answer(request), usage=Usage(*self.usage), model=request.model)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Async form."""
        return self.complete(request)


class CountingProviderPlugin:
    """Serves ``test/<name>`` models with one shared :class:`CountingProvider`."""

    def __init__(self, provider: CountingProvider) -> None:
        self.provider = provider

    @hookimpl
    def llm_provider(self, model_name: str, config: dict[str, Any]) -> Any:
        """The counting provider for ``test/...`` names."""
        return self.provider if model_name.startswith(PREFIX) else None


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
