"""Anthropic's Messages API, through the ``anthropic`` SDK by default.

byllm's messages are OpenAI-shaped; this module converts them (system prompt,
image parts, tool calls and tool results) to the Messages format. Structured
output uses tool use: a forced tool whose ``input_schema`` is the return type's
schema, so the reply arrives as JSON the API already checked against it.
"""

from __future__ import annotations

import json
from typing import Any

from byllm.errors import ConfigurationError, EmptyReplyError, MalformedReplyError
from byllm.providers.base import CompletionReply, CompletionRequest, Message, ToolCall, Usage
from byllm.providers.openai_provider import object_schema, parse_arguments, schema_name, usage_of
from byllm.providers.provider import RemoteProvider, wire_field
from byllm.providers.transport import SDKTransport, Transport

DEFAULT_MAX_TOKENS = 4096
OUTPUT_TOOL_DESCRIPTION = "Return the final output. Its input is the output value itself."
ANTHROPIC_SDK = SDKTransport("anthropic", "Anthropic", "messages.create")


class AnthropicProvider(RemoteProvider):
    """A provider for Claude models (``anthropic/claude-...``, ``claude-...``)."""

    name = "anthropic"
    prefix = "anthropic/"
    api_key_env = "ANTHROPIC_API_KEY"
    transport: Transport = ANTHROPIC_SDK

    def output_tool(self, request: CompletionRequest, *, stream: bool = False) -> str | None:
        """The forced tool carrying a structured reply, or ``None`` (text, ordinary tools, streams)."""
        if request.output_schema is None or request.tools or stream:
            return None
        return schema_name(request.output_name)

    def wire_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        """The Messages body: system prompt apart, tools, the forced output tool, parameters, extras."""
        system, messages = convert_messages(request.messages)
        params = dict(request.params)
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": params.pop("max_tokens", DEFAULT_MAX_TOKENS),
        }
        if system:
            body["system"] = system
        tools = [{"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
                 for tool in request.tools]
        output_tool = self.output_tool(request, stream=stream)
        if output_tool is not None:
            schema, _ = object_schema(request.output_schema or {})
            tools.append({"name": output_tool, "description": OUTPUT_TOOL_DESCRIPTION, "input_schema": schema})
            body["tool_choice"] = {"type": "tool", "name": output_tool}
        if tools:
            body["tools"] = tools
        if "stop" in params:  # the OpenAI spelling, so one configuration works for both providers
            stop = params.pop("stop")
            params.setdefault("stop_sequences", [stop] if isinstance(stop, str) else list(stop))
        body.update(params)
        body.update(self.extra_params)
        if stream:
            body["stream"] = True
        return body

    def reply_from_wire(self, response: Any, request: CompletionRequest) -> CompletionReply:
        """A :class:`CompletionReply` from a Messages API message (an SDK object or a dict)."""
        content = wire_field(response, "content")
        if not isinstance(content, (list, tuple)):
            raise MalformedReplyError(f"{self.name}: the server's reply is not a Messages API message "
                                      f"(got {type(response).__name__})", provider=self.name)
        output_tool = self.output_tool(request)
        texts: list[str] = []
        tool_calls: list[ToolCall] = []
        output_text: str | None = None
        for block in content:
            kind = wire_field(block, "type")
            if kind == "text":
                texts.append(wire_field(block, "text") or "")
            elif kind == "tool_use":
                arguments = wire_field(block, "input")
                arguments = arguments if isinstance(arguments, dict) else {}
                name = str(wire_field(block, "name") or "")
                if output_tool is not None and name == output_tool:
                    wrapped = object_schema(request.output_schema or {})[1]
                    value = arguments.get("value") if wrapped and set(arguments) == {"value"} else arguments
                    output_text = json.dumps(value, ensure_ascii=False)
                else:
                    tool_calls.append(ToolCall(id=str(wire_field(block, "id") or ""), name=name, arguments=arguments))
        if output_text is None and not texts and not tool_calls:
            raise EmptyReplyError(f"{self.name}: the provider returned no content (no text or tool_use blocks)",
                                  provider=self.name)
        text = output_text if output_text is not None else "".join(texts)
        usage = usage_of(wire_field(response, "usage"), "input_tokens", "output_tokens")
        return CompletionReply(text=text, tool_calls=tool_calls, usage=usage, model=wire_field(response, "model") or "",
                               raw=response)

    def stream_delta(self, event: Any, usage: Usage) -> str:
        """Text from ``content_block_delta`` events; token counts from ``message_start`` and ``message_delta``.

        ``message_delta`` counts are cumulative, so each one replaces the earlier.
        """
        kind = wire_field(event, "type")
        if kind == "content_block_delta":
            delta = wire_field(event, "delta")
            return (wire_field(delta, "text") or "") if wire_field(delta, "type") == "text_delta" else ""
        if kind in ("message_start", "message_delta"):
            reported = wire_field(wire_field(event, "message") if kind == "message_start" else event, "usage")
            usage.input_tokens = wire_field(reported, "input_tokens") or usage.input_tokens
            usage.output_tokens = wire_field(reported, "output_tokens") or usage.output_tokens
        return ""


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
                arguments = parse_arguments(function.get("arguments"))
                arguments.pop("__unparsed_arguments__", None)
                blocks.append({"type": "tool_use", "id": call.get("id", ""), "name": function.get("name", ""),
                               "input": arguments})
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
