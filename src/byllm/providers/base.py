"""What passes between byllm and a provider: requests, replies, usage, tool calls.

Messages use the OpenAI chat shape (``{"role": ..., "content": str | [parts]}``);
each provider converts them to its own wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterator, Protocol, runtime_checkable

Message = dict[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """One tool call requested by the model."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Usage:
    """Token counts the provider reported for one completion."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass
class CompletionRequest:
    """Everything a provider needs for one completion.

    ``model`` is the provider's own model name (``gpt-4o-mini``, prefix removed);
    ``output_schema`` is the JSON schema of the return type, ``None`` for text;
    ``params`` holds sampling parameters (temperature, max_tokens, ...).
    """

    model: str
    messages: list[Message]
    output_schema: dict[str, Any] | None = None
    output_name: str = "output"
    tools: list[ToolSpec] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False


@dataclass
class CompletionReply:
    """A provider's answer: text and/or tool calls, usage, and the raw response."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    model: str = ""
    raw: Any = None
    value: Any = None
    has_value: bool = False


@runtime_checkable
class Provider(Protocol):
    """A model backend. ``complete`` is required; async and streaming are optional."""

    name: str

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request."""
        ...


@runtime_checkable
class AsyncProvider(Protocol):
    """A provider with a native async client."""

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request without blocking the event loop."""
        ...


@runtime_checkable
class StreamingProvider(Protocol):
    """A provider that can stream text chunks."""

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        """Yield the reply text in chunks."""
        ...

    def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        """Yield the reply text in chunks, asynchronously."""
        ...
