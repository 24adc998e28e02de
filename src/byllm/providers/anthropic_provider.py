"""Anthropic's Messages API via the ``anthropic`` SDK.

byllm's messages are OpenAI-shaped; this module converts them (system prompt,
image parts, tool calls and tool results) to the Messages format. Structured
output uses tool use: a forced tool whose ``input_schema`` is the return type's
schema, so the reply arrives as JSON the API already checked against it.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from typing import Any, AsyncIterator, Iterator

from byllm.errors import ConfigurationError
from byllm.providers.base import CompletionReply, CompletionRequest, Message, ToolCall, Usage
from byllm.providers.clients import cached_async_client, cached_client, key_fingerprint
from byllm.providers.openai_provider import object_schema, schema_name
from byllm.providers.transport import (
    RetryPolicy,
    acall_with_retries,
    astream_text,
    call_with_retries,
    classify_sdk_error,
    stream_text,
)

logger = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 4096
OUTPUT_TOOL_DESCRIPTION = "Return the final output. Its input is the output value itself."
_create_parameters: frozenset[str] | None = None


class AnthropicProvider:
    """A provider for Claude models (``anthropic/claude-...``, ``claude-...``)."""

    name = "anthropic"
    prefix = "anthropic/"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        policy: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.policy = policy or RetryPolicy()
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"AnthropicProvider(base_url={self.base_url!r})"

    def model_id(self, model_name: str) -> str:
        """The model name Anthropic knows (``anthropic/`` removed)."""
        return model_name[len(self.prefix):] if model_name.startswith(self.prefix) else model_name

    # -- clients ---------------------------------------------------------
    def api_key(self) -> str:
        """The key to send: ``api_key=...`` or ``ANTHROPIC_API_KEY``."""
        key = self._api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise ConfigurationError(
                "anthropic: no API key: set the ANTHROPIC_API_KEY environment variable or pass api_key=... to Model(...)"
            )
        return key

    def client(self) -> Any:
        """The cached ``anthropic.Anthropic`` client for this base URL and key."""
        api_key = self.api_key()

        def build() -> Any:
            import anthropic

            return anthropic.Anthropic(api_key=api_key, base_url=self.base_url, max_retries=0)

        return cached_client(("anthropic", self.base_url, key_fingerprint(api_key)), build)

    def async_client(self) -> Any:
        """The cached ``anthropic.AsyncAnthropic`` client for this base URL and key on this loop."""
        api_key = self.api_key()

        def build() -> Any:
            import anthropic

            return anthropic.AsyncAnthropic(api_key=api_key, base_url=self.base_url, max_retries=0)

        return cached_async_client(("async-anthropic", self.base_url, key_fingerprint(api_key)), build)

    def classify(self, error: BaseException) -> Any:
        """Map an SDK exception to a byllm error (with the key scrubbed)."""
        return classify_sdk_error(error, self.name, self._api_key or os.environ.get("ANTHROPIC_API_KEY"))

    # -- requests --------------------------------------------------------
    def request_arguments(self, request: CompletionRequest, *, stream: bool = False) -> tuple[dict[str, Any], str | None, bool]:
        """``messages.create`` arguments, the forced output tool's name (if any) and whether its schema was wrapped."""
        system, messages = convert_messages(request.messages)
        params = dict(request.params)
        arguments: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": params.pop("max_tokens", DEFAULT_MAX_TOKENS),
        }
        if system:
            arguments["system"] = system
        if self.policy.timeout is not None:
            arguments["timeout"] = self.policy.timeout
        tools = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in request.tools
        ]
        output_tool: str | None = None
        wrapped = False
        if request.output_schema is not None and not request.tools and not stream:
            schema, wrapped = object_schema(request.output_schema)
            output_tool = schema_name(request.output_name)
            tools.append({"name": output_tool, "description": OUTPUT_TOOL_DESCRIPTION, "input_schema": schema})
            arguments["tool_choice"] = {"type": "tool", "name": output_tool}
        if tools:
            arguments["tools"] = tools
        if "stop" in params:  # the OpenAI spelling, so one config works for both providers
            stop = params.pop("stop")
            params.setdefault("stop_sequences", [stop] if isinstance(stop, str) else list(stop))
        known = create_parameters()
        extra_body = {key: params.pop(key) for key in list(params) if key not in known}
        arguments.update(params)
        if extra_body:
            arguments["extra_body"] = extra_body
        if self.headers:
            arguments["extra_headers"] = self.headers
        if stream:
            arguments["stream"] = True
        return arguments, output_tool, wrapped

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request through the synchronous client."""
        arguments, output_tool, wrapped = self.request_arguments(request)
        client = self.client()
        message = call_with_retries(lambda: client.messages.create(**arguments), self.policy, self.classify, self.name)
        return reply_from_message(message, output_tool, wrapped)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request through the async client."""
        arguments, output_tool, wrapped = self.request_arguments(request)
        client = self.async_client()
        message = await acall_with_retries(
            lambda: client.messages.create(**arguments), self.policy, self.classify, self.name
        )
        return reply_from_message(message, output_tool, wrapped)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        """Yield the reply text as it streams (retries only before the first event)."""
        arguments, _, _ = self.request_arguments(request, stream=True)
        client = self.client()
        events = call_with_retries(lambda: client.messages.create(**arguments), self.policy, self.classify, self.name)
        try:
            yield from stream_text(events, event_text, self.classify)
        finally:
            events.close()

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        """Async form of :meth:`stream`."""
        arguments, _, _ = self.request_arguments(request, stream=True)
        client = self.async_client()
        events = await acall_with_retries(
            lambda: client.messages.create(**arguments), self.policy, self.classify, self.name
        )
        try:
            async for text in astream_text(events, event_text, self.classify):
                yield text
        finally:
            await events.close()


def create_parameters() -> frozenset[str]:
    """Keyword names ``messages.create`` accepts; others travel in ``extra_body``."""
    global _create_parameters
    if _create_parameters is None:
        from anthropic.resources.messages import Messages

        _create_parameters = frozenset(inspect.signature(Messages.create).parameters) - {"self"}
    return _create_parameters


# -- message conversion ----------------------------------------------------------
def convert_messages(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """OpenAI-shaped messages as Anthropic's ``(system, messages)``.

    Consecutive messages of one role are merged, since the Messages API wants
    user and assistant turns to alternate and all tool results of a turn in
    the next user message.
    """
    system_parts: list[str] = []
    converted: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            system_parts.append(_plain_text(message.get("content")))
            continue
        if role == "tool":
            blocks = [{
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id", ""),
                "content": _plain_text(message.get("content")),
            }]
            role = "user"
        elif role == "assistant":
            blocks = _content_blocks(message.get("content"))
            for call in message.get("tool_calls") or []:
                function = call.get("function", {})
                raw = function.get("arguments") or "{}"
                try:
                    arguments = json.loads(raw) if isinstance(raw, str) else raw
                except ValueError:
                    arguments = {}
                blocks.append({"type": "tool_use", "id": call.get("id", ""), "name": function.get("name", ""),
                               "input": arguments if isinstance(arguments, dict) else {}})
        else:
            role = "user"
            blocks = _content_blocks(message.get("content"))
        if not blocks:
            continue
        if converted and converted[-1]["role"] == role:
            converted[-1]["content"].extend(blocks)
        else:
            converted.append({"role": role, "content": blocks})
    return "\n\n".join(part for part in system_parts if part), converted


def _plain_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI content (a string or parts) as Anthropic content blocks."""
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            blocks.append(_image_block(part["image_url"]["url"]))
        else:
            raise ConfigurationError(f"anthropic: message parts of type {kind!r} are not supported")
    return blocks


def _image_block(url: str) -> dict[str, Any]:
    """An image block from a ``data:`` URL (base64) or a web URL."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[len("data:"):].split(";")[0]
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


# -- replies -------------------------------------------------------------------
def reply_from_message(message: Any, output_tool: str | None, wrapped: bool) -> CompletionReply:
    """A :class:`CompletionReply` from a Messages API ``Message``."""
    texts: list[str] = []
    tool_calls: list[ToolCall] = []
    output_text: str | None = None
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            arguments = block.input if isinstance(block.input, dict) else {}
            if output_tool is not None and block.name == output_tool:
                value = arguments.get("value") if wrapped and set(arguments) == {"value"} else arguments
                output_text = json.dumps(value, ensure_ascii=False)
            else:
                tool_calls.append(ToolCall(id=block.id, name=block.name, arguments=arguments))
    usage = None
    if getattr(message, "usage", None) is not None:
        usage = Usage(input_tokens=message.usage.input_tokens or 0, output_tokens=message.usage.output_tokens or 0)
    text = output_text if output_text is not None else "".join(texts)
    return CompletionReply(text=text, tool_calls=tool_calls, usage=usage, model=message.model or "", raw=message)


def event_text(event: Any) -> str:
    """The text delta of one streamed event (empty for every other event)."""
    if getattr(event, "type", None) != "content_block_delta":
        return ""
    delta = event.delta
    return getattr(delta, "text", "") if getattr(delta, "type", None) == "text_delta" else ""
