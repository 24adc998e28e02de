"""A real (non-mock) provider for plugin tests, served through the ``llm_provider`` hook."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any, AsyncIterator, Callable, Iterator

from jaclang.runtimelib.machine import hookimpl
from byllm.providers.base import CompletionReply, CompletionRequest, StreamChunk, Usage

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
    """Answers every request with ``answer(request)`` (a text or a whole reply), counts calls; streams too."""

    name = "testprovider"

    def __init__(self, answer: Callable[[CompletionRequest], str | CompletionReply] = echo_answer,
                 usage: tuple[int, int] = (100, 20)) -> None:
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
        answer = self.answer(request)
        if isinstance(answer, CompletionReply):
            return answer
        return CompletionReply(text=answer, usage=Usage(*self.usage), model=request.model)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Async form."""
        return self.complete(request)

    def stream(self, request: CompletionRequest) -> Iterator[StreamChunk]:
        """The answer word by word, usage on the last chunk."""
        reply = self.complete(request)
        words = reply.text.split(" ")
        for index, word in enumerate(words):
            last = index == len(words) - 1
            yield StreamChunk(word if index == 0 else " " + word, reply.usage if last else None)

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """Async form of :meth:`stream`."""
        for chunk in self.stream(request):
            yield chunk


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
