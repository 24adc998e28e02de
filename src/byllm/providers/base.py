"""What passes between byllm and a provider: requests, replies, usage, tool calls.

Messages use the OpenAI chat shape (``{"role": ..., "content": str | [parts]}``);
each provider converts them to its own wire format.
"""

from __future__ import annotations

from collections import abc
from dataclasses import dataclass, field
from typing import Any, AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, runtime_checkable

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


@dataclass(slots=True)
class Usage:
    """Token counts the provider reported for one completion."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(slots=True)
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
    tools: Sequence[ToolSpec] = ()  # a list when the call has tools; the empty default is shared
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False


@dataclass(slots=True)
class CompletionReply:
    """A provider's answer: text and/or tool calls, usage, and the raw response.

    ``value``/``has_value`` carry a ready value (the mock's non-string outputs, a
    cached structured reply) that is checked against the return type instead of parsed.
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage | None = None
    model: str = ""
    raw: Any = None
    value: Any = None
    has_value: bool = False
    cached: bool = False  # answered from a cache, not by the provider


@dataclass(frozen=True)
class StreamChunk:
    """One piece of a streamed reply: a text delta, and on the last piece the usage."""

    text: str = ""
    usage: Usage | None = None


class StreamingReply(CompletionReply):
    """The reply to a ``stream=True`` request: iterate it (sync or async) for text chunks.

    It is a :class:`CompletionReply` whose ``text``, ``usage`` and ``chunks`` fill
    in as the chunks are read. Whoever answers a streamed completion (a provider,
    the mock, a cache replaying a stored stream) returns one; whoever wants the
    finished reply (a cache storing it, the call record) registers
    :meth:`add_done_callback`, which runs once the last chunk has been read.
    A stream can be read once.
    """

    def __init__(
        self,
        source: Iterable[StreamChunk | str] | AsyncIterable[StreamChunk | str],
        model: str = "",
        raw: Any = None,
    ) -> None:
        super().__init__(text="", model=model, raw=raw)
        self.chunks: list[str] = []
        self.done = False
        self._source = source
        self._callbacks: list[Callable[[StreamingReply], None]] = []
        self._started = False

    @classmethod
    def replay(cls, chunks: list[str], usage: Usage | None = None, model: str = "") -> StreamingReply:
        """A stream that yields ``chunks`` again (cached or scripted replies), usage on the last."""
        pieces: list[StreamChunk | str] = [*chunks[:-1], StreamChunk(chunks[-1] if chunks else "", usage)]
        return cls(pieces, model=model)

    def add_done_callback(self, callback: Callable[[StreamingReply], None]) -> None:
        """Run ``callback(self)`` once the whole stream has been read (at once if it already has)."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _take(self, piece: StreamChunk | str) -> str:
        """One piece's text, kept; a piece's usage, noted."""
        if piece.__class__ is str:
            text = piece
        else:
            text = piece.text  # type: ignore[union-attr]
            if piece.usage is not None:  # type: ignore[union-attr]
                self.usage = piece.usage  # type: ignore[union-attr]
        if text:
            self.chunks.append(text)  # type: ignore[arg-type]
        return text  # type: ignore[return-value]

    def _claim(self) -> None:
        if self._started:
            raise RuntimeError("a streamed reply can be read only once")
        self._started = True

    def _finish(self) -> None:
        self.text = "".join(self.chunks)
        self.done = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def __iter__(self) -> Iterator[str]:
        """The text chunks, as they arrive."""
        self._claim()
        source = self._source
        if not isinstance(source, abc.Iterable):  # collections.abc's: typing's aliases check far slower
            raise TypeError("this streamed reply is asynchronous: read it with `async for`")
        chunks = self.chunks
        for piece in source:  # _take, inlined: this loop runs once per chunk
            if piece.__class__ is str:
                text = piece
            else:
                text = piece.text
                if piece.usage is not None:
                    self.usage = piece.usage
            if text:
                chunks.append(text)
                yield text
        self._finish()

    async def __aiter__(self) -> AsyncIterator[str]:
        """The text chunks, as they arrive (a sync source is read in turn, without blocking on I/O)."""
        self._claim()
        source = self._source
        if isinstance(source, abc.AsyncIterable):
            async for piece in source:
                text = self._take(piece)
                if text:
                    yield text
        else:
            for piece in source:
                text = self._take(piece)
                if text:
                    yield text
        self._finish()


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
    """A provider that can stream: chunks of text, the last one carrying the usage."""

    def stream(self, request: CompletionRequest) -> Iterator[StreamChunk | str]:
        """Yield the reply in chunks."""
        ...

    def astream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk | str]:
        """Yield the reply in chunks, asynchronously."""
        ...


def setting(config: Any, name: str, default: Any = None) -> Any:
    """One provider setting from a model's configuration (a mapping or an object with attributes)."""
    value = config.get(name) if isinstance(config, Mapping) else getattr(config, name, None)
    return default if value is None else value
