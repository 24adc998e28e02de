"""The mock provider: scripted outputs, recorded requests, no network."""

from __future__ import annotations

import threading
from typing import Any, AsyncIterator, Iterator

from byllm.errors import MockExhaustedError
from byllm.providers.base import CompletionReply, CompletionRequest, StreamChunk, ToolCall, Usage

MOCK_MODEL_NAMES = ("mockllm", "mock")
# Requests kept per mock (the latest ones), so a long-running program on the mock does not
# grow without bound, nor give the garbage collector an ever larger heap to walk.
REQUEST_LIMIT = 100


class MockProvider:
    """Answers each request with the next scripted output.

    A string output is a reply text, parsed like a real model's; any other
    output is a ready value, checked against the return type. The latest
    :data:`REQUEST_LIMIT` (100) requests are kept in :attr:`requests` so
    tests can see the exact messages sent.
    """

    name = "mock"

    def __init__(self, outputs: list[Any] | tuple[Any, ...] | None = None) -> None:
        self.outputs: list[Any] = list(outputs or [])
        self.requests: list[CompletionRequest] = []
        self._next = 0
        self._next_call_id = 1
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """How many scripted outputs are left."""
        return len(self.outputs) - self._next

    def _take(self, request: CompletionRequest) -> Any:
        with self._lock:
            requests = self.requests
            requests.append(request)
            if len(requests) > REQUEST_LIMIT:
                del requests[0]
            if self._next >= len(self.outputs):
                raise MockExhaustedError(
                    f"the mock model has no output left for call {self._next + 1}: it was given "
                    f"{len(self.outputs)} output(s); add more to Model('mockllm', outputs=[...])"
                )
            output = self.outputs[self._next]
            self._next += 1
        return output

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer with the next scripted output."""
        return self.reply_for(self._take(request))

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Async form of :meth:`complete`."""
        return self.complete(request)

    def stream(self, request: CompletionRequest) -> Iterator[StreamChunk]:
        """Stream the next output word by word, usage (zero tokens) on the last chunk."""
        output = self._take(request)
        text = output if isinstance(output, str) else str(output)
        first, *rest = text.split(" ")
        pieces = [first, *[" " + word for word in rest]]
        yield from pieces[:-1]
        yield StreamChunk(pieces[-1], Usage())

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """Async form of :meth:`stream`."""
        for chunk in self.stream(request):
            yield chunk

    def reply_for(self, output: Any) -> CompletionReply:
        """The reply a scripted output stands for."""
        usage = Usage()
        if isinstance(output, str):
            return CompletionReply(text=output, usage=usage, model="mockllm")
        from byllm.tools import mock_tool_calls

        scripted_calls = mock_tool_calls(output)
        if scripted_calls is not None:
            # A MockToolCall (or a list of them) stands for a reply asking for those tool calls.
            with self._lock:
                first = self._next_call_id
                self._next_call_id += len(scripted_calls)
            calls = [
                ToolCall(id=f"mock_call_{first + index}", name=call.name, arguments=dict(call.args))
                for index, call in enumerate(scripted_calls)
            ]
            return CompletionReply(text="", tool_calls=calls, usage=usage, model="mockllm")
        return CompletionReply(text=repr(output), usage=usage, model="mockllm", value=output, has_value=True)


def is_mock_model(model: Any) -> bool:
    """Whether ``model`` is byllm's offline mock (``Model("mockllm", outputs=[...])``)."""
    if model.model_name in MOCK_MODEL_NAMES:
        return True
    try:
        return isinstance(model.provider, MockProvider)
    except Exception:  # a provider that cannot even be built is not the mock
        return False
