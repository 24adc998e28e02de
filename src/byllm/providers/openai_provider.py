"""OpenAI and every OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio, ...).

This module converts requests to the Chat Completions protocol and replies back;
byllm's own transport carries them (:mod:`byllm.providers.chat_completions`: one
HTTP/1.1 layer on httptools for synchronous and async calls),
or the ``openai`` SDK with ``BYLLM_TRANSPORT=sdk`` (``pip install "jaclang[openai]"``),
or any other :class:`~byllm.providers.transport.Transport`.

JSON-schema mode falls back by itself: a server that answers HTTP 400 about
``response_format`` is remembered for the process (per base URL) and the call is
asked again with the schema described in the prompt
(:class:`~byllm.errors.ResponseFormatRejected`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

from byllm import reply_json
from byllm.errors import (
    ByLLMError,
    ConfigurationError,
    EmptyReplyError,
    MalformedReplyError,
    ProviderError,
    ResponseFormatRejected,
)
from byllm.providers.chat_completions import CHAT_COMPLETIONS, EncodedJSON
from byllm.providers.base import CompletionReply, CompletionRequest, ToolCall, ToolSpec, Usage
from byllm.providers.provider import RemoteProvider, wire_field
from byllm.providers.transport import RetryPolicy, SDKTransport, Transport, TransientError

# Local servers ignore the key, but some refuse a request without one.
PLACEHOLDER_KEY = "not-needed"
OPENAI_SDK = SDKTransport("openai", "OpenAI", "chat.completions.create")
TRANSPORT_VARIABLE = "BYLLM_TRANSPORT"
# "aiohttp" is the own transport's former name, still accepted so existing configurations keep working.
TRANSPORTS: dict[str, Transport] = {"byllm": CHAT_COMPLETIONS, "aiohttp": CHAT_COMPLETIONS, "sdk": OPENAI_SDK}
# A server refusing JSON-schema mode names it and says it does not take it; a complaint about the schema
# itself ("Invalid schema for response_format ...") is the caller's to fix, and is raised as it is.
# Patterns read only on errors (or once per schema) are compiled on first use, by re's own cache.
_RESPONSE_FORMAT_WORDS = r"response_format|json_schema|response format|json schema|structured output"
_REFUSAL_WORDS = (r"not supported|unsupported|unrecognized|unknown|not permitted|not allowed|unexpected|"
                  r"does not support|doesn't support|isn't supported|unavailable|not implemented|"
                  r"extra (?:inputs|fields)")
# Base URLs whose server refused response_format in this process: the schema goes in the prompt there.
_refuses_response_format: set[str] = set()
_refusals_lock = threading.Lock()
_SCHEMA_NAME = r"[^A-Za-z0-9_-]"
_NOT_JSON = object()


class OpenAICompatibleProvider(RemoteProvider):
    """A provider speaking the OpenAI Chat Completions API.

    ``prefix`` is stripped from model names (``openai/``, ``ollama/``); the key
    comes from ``api_key`` or the ``api_key_env`` variable, and servers that need
    none (``key_required=False``) get a placeholder; ``json_mode`` chooses
    structured output: ``True`` sends the return type's schema as
    ``response_format`` (``"strict"`` adds ``strict: true``), ``False`` relies on
    the schema described in the prompt.
    """

    placeholder_key = PLACEHOLDER_KEY
    transport: Transport = CHAT_COMPLETIONS

    def __init__(
        self,
        *,
        name: str = "openai",
        prefix: str = "",
        api_key_env: str | None = "OPENAI_API_KEY",
        key_required: bool = True,
        json_mode: bool | str = True,
        base_url: str | None = None,
        api_key: str | None = None,
        policy: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        extra_params: dict[str, Any] | None = None,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(base_url=base_url, api_key=api_key, policy=policy, headers=headers,
                         extra_params=extra_params, transport=transport)
        self.name, self.prefix, self.api_key_env = name, prefix, api_key_env
        self.key_required = key_required
        self.json_mode = json_mode
        if transport is None and type(self).transport is CHAT_COMPLETIONS:
            self.transport = chosen_transport()

    def wants_schema(self, request: CompletionRequest) -> bool:
        """Whether the return type's schema goes to the server as ``response_format``.

        Not for a server that refused it earlier in the process (see :meth:`classify`).
        """
        return bool(self.json_mode) and (not _refuses_response_format or self._server() not in _refuses_response_format)

    def _server(self) -> str:
        return self.base_url or "openai"

    def classify(self, error: BaseException) -> ByLLMError | TransientError | None:
        """As the base does; a 400 / 422 refusing ``response_format`` in JSON-schema mode is a :class:`ResponseFormatRejected`.

        The server is remembered, so this process's later calls to it describe
        the schema in the prompt instead.
        """
        mapped = super().classify(error)
        if (self.json_mode and type(mapped) is ProviderError and mapped.status in (400, 422)
                and re.search(_RESPONSE_FORMAT_WORDS, str(mapped), re.IGNORECASE)
                and re.search(_REFUSAL_WORDS, str(mapped), re.IGNORECASE)):
            from byllm.redact import redact_url

            with _refusals_lock:
                _refuses_response_format.add(self._server())
            return ResponseFormatRejected(
                f"{mapped} (the server at {redact_url(self.base_url) if self.base_url else 'api.openai.com'} does not take response_format; "
                "byllm describes the schema in the prompt for it from now on; json_mode=False skips the first try)",
                provider=self.name, status=mapped.status)
        return mapped

    def wire_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        """The Chat Completions body: messages, tools, ``response_format``, parameters, extras."""
        body: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if request.tools:
            body["tools"] = [tool_definition(tool) for tool in request.tools]
        if request.output_schema is not None and not stream and self.wants_schema(request):
            body["response_format"] = structured_output(request.output_schema, request.output_name,
                                                        self.json_mode == "strict")[0]
        if request.params:
            body.update(request.params)
        if self.extra_params:
            body.update(self.extra_params)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def reply_from_wire(self, response: Any, request: CompletionRequest) -> CompletionReply:
        """A :class:`CompletionReply` from a chat completion (an SDK object or a dict)."""
        choices = wire_field(response, "choices")
        if not isinstance(choices, (list, tuple)):
            raise MalformedReplyError(
                f"{self.name}: the server's reply is not a chat completion (got {type(response).__name__}: "
                f"{str(response)[:200]!r}); check that base_url points at an OpenAI-compatible /v1 endpoint",
                provider=self.name)
        if not choices:
            raise EmptyReplyError(f"{self.name}: the provider returned no content (no choices)", provider=self.name)
        message = wire_field(choices[0], "message")
        text = wire_field(message, "content")
        if text is None:
            text = wire_field(message, "refusal")
        wire_calls = wire_field(message, "tool_calls")
        tool_calls = [
            ToolCall(id=str(wire_field(call, "id") or ""), name=str(wire_field(function, "name") or ""),
                     arguments=parse_arguments(wire_field(function, "arguments")))
            for call in wire_calls
            if (function := wire_field(call, "function")) is not None
        ] if wire_calls else []
        if text is None and not tool_calls:
            raise EmptyReplyError(f"{self.name}: the provider returned no content (the message content is null "
                                  "and there are no tool calls)", provider=self.name)
        text = text or ""
        if text and request.output_schema is not None and self.wants_schema(request):
            if structured_output(request.output_schema, request.output_name, self.json_mode == "strict")[1]:
                text = unwrap_value_text(text)
        return CompletionReply(text=text, tool_calls=tool_calls, usage=usage_of(wire_field(response, "usage")),
                               model=wire_field(response, "model") or "", raw=response)

    def stream_delta(self, event: Any, usage: Usage) -> str:
        """The text of one streamed chunk; the last chunk (``include_usage``) carries the token counts."""
        if (reported := usage_of(wire_field(event, "usage"))) is not None:
            usage.input_tokens, usage.output_tokens = reported.input_tokens, reported.output_tokens
        choices = wire_field(event, "choices")
        if not choices:
            return ""
        return wire_field(wire_field(choices[0], "delta"), "content") or ""


def chosen_transport() -> Transport:
    """The transport ``BYLLM_TRANSPORT`` names: ``byllm`` (byllm's own, the default) or ``sdk`` (the openai SDK).

    ``aiohttp``, the own transport's former name, still names it.
    """
    choice = os.environ.get(TRANSPORT_VARIABLE, "").strip().lower() or "byllm"
    transport = TRANSPORTS.get(choice)
    if transport is None:
        raise ConfigurationError(f"{TRANSPORT_VARIABLE}={choice!r}: use 'byllm' (byllm's own HTTP client, the "
                                 "default) or 'sdk' (the openai SDK: pip install \"jaclang[openai]\")")
    return transport


def forget_response_format_refusals() -> None:
    """Try JSON-schema mode again on every server (tests, or after upgrading a server)."""
    with _refusals_lock:
        _refuses_response_format.clear()


def usage_of(reported: Any, input_name: str = "prompt_tokens", output_name: str = "completion_tokens") -> Usage | None:
    """Token counts from a ``usage`` member (``None`` when absent); Anthropic names them ``input/output_tokens``."""
    if reported is None:
        return None
    return Usage(input_tokens=wire_field(reported, input_name) or 0, output_tokens=wire_field(reported, output_name) or 0)


def tool_definition(tool: ToolSpec) -> dict[str, Any]:
    """A tool in the Chat Completions ``tools`` format."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


# Per return type: its response_format and whether its value was wrapped. Keyed by the schema's id, the
# schema kept in the entry (so the id stays its own): typed calls hand the same schema object every time.
_structured_outputs: dict[tuple[int, str, bool], tuple[dict[str, Any], dict[str, Any], bool]] = {}
MAX_STRUCTURED_OUTPUTS = 256


def structured_output(schema: dict[str, Any], output_name: str, strict: bool) -> tuple[dict[str, Any], bool]:
    """The ``response_format`` for a return type's schema, and whether its value is wrapped (see :func:`object_schema`).

    Built once per schema object, with its JSON text: the returned dict is shared, so it must not be changed.
    """
    key = (id(schema), output_name, strict)
    entry = _structured_outputs.get(key)
    if entry is not None and entry[0] is schema:
        return entry[1], entry[2]
    wire_schema, wrapped = object_schema(schema)
    response_format = EncodedJSON({
        "type": "json_schema",
        "json_schema": {"name": schema_name(output_name),
                        "schema": strict_schema(wire_schema) if strict else wire_schema, "strict": strict},
    })
    if len(_structured_outputs) >= MAX_STRUCTURED_OUTPUTS:
        _structured_outputs.clear()
    _structured_outputs[key] = (schema, response_format, wrapped)
    return response_format, wrapped


def schema_name(output_name: str) -> str:
    """A ``response_format`` schema name the API accepts (``[A-Za-z0-9_-]{1,64}``)."""
    return re.sub(_SCHEMA_NAME, "_", output_name)[:64] or "output"


def object_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A schema whose top level is an object, as structured-output APIs require.

    Non-object types (``int``, ``list[str]``, enums, unions) are wrapped as
    ``{"value": ...}``; the second item says whether that happened.
    """
    if schema.get("type") == "object" and "properties" in schema:
        return schema, False
    inner = {key: value for key, value in schema.items() if key != "$defs"}
    wrapper: dict[str, Any] = {
        "type": "object",
        "properties": {"value": inner},
        "required": ["value"],
        "additionalProperties": False,
    }
    if "$defs" in schema:
        wrapper["$defs"] = schema["$defs"]
    return wrapper, True


def strict_schema(schema: Any) -> Any:
    """A copy of ``schema`` meeting OpenAI's strict mode: closed objects, every property required.

    Optional fields become required (the model then sends their default or
    ``null``), and ``default`` keywords, which strict mode rejects, are dropped.
    """
    if isinstance(schema, list):
        return [strict_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict_schema(value) for key, value in schema.items() if key != "default"}
    if result.get("type") == "object" or "properties" in result:
        properties = result.get("properties", {})
        result["properties"] = properties
        result["required"] = list(properties)
        result["additionalProperties"] = False
    return result


def load_json(text: str) -> Any:
    """``text`` decoded as JSON (bounded size and depth: :func:`byllm.reply_json.loads`), or ``_NOT_JSON``."""
    try:
        return reply_json.loads(text)
    except reply_json.ReplyJSONError:
        return _NOT_JSON


def unwrap_value_text(text: str) -> str:
    """The ``value`` member of a wrapped structured reply as JSON text (or the text unchanged)."""
    data = load_json(text)
    if isinstance(data, dict) and set(data) == {"value"}:
        return json.dumps(data["value"], ensure_ascii=False)
    return text


def parse_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict; text that is not a JSON object is kept for the error message."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    data = load_json(str(raw))
    return data if isinstance(data, dict) else {"__unparsed_arguments__": raw}
