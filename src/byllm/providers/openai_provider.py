"""OpenAI and every OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio, ...) via the ``openai`` SDK.

The SDK is imported on the first real call; clients come from the shared cache
in :mod:`byllm.providers.clients`. Transport retries are byllm's own
(:mod:`byllm.providers.transport`), so the SDK's are switched off.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
from typing import Any, AsyncIterator, Iterator

from byllm.errors import ConfigurationError, ProviderError
from byllm.providers.base import CompletionReply, CompletionRequest, ToolCall, ToolSpec, Usage
from byllm.providers.clients import cached_async_client, cached_client, key_fingerprint
from byllm.providers.transport import (
    RetryPolicy,
    acall_with_retries,
    astream_text,
    call_with_retries,
    classify_sdk_error,
    stream_text,
)

logger = logging.getLogger(__name__)

# Local servers ignore the key, but the SDK refuses to build a client without one.
PLACEHOLDER_KEY = "not-needed"
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
_create_parameters: frozenset[str] | None = None


class OpenAICompatibleProvider:
    """A provider speaking the OpenAI Chat Completions API.

    ``prefix`` is stripped from model names (``openai/``, ``ollama/``); the key
    comes from ``api_key`` or the ``api_key_env`` variable, and servers that need
    none (``key_required=False``) get a placeholder;
    ``json_mode`` chooses structured output: ``True`` sends the return type's
    schema as ``response_format`` (``"strict"`` adds ``strict: true``), ``False``
    relies on the schema described in the prompt.
    """

    def __init__(
        self,
        *,
        name: str = "openai",
        prefix: str = "",
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        key_required: bool = True,
        json_mode: bool | str = True,
        policy: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.prefix = prefix
        self.base_url = base_url
        self._api_key = api_key
        self._api_key_env = api_key_env
        self.key_required = key_required
        self.json_mode = json_mode
        self.policy = policy or RetryPolicy()
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(name={self.name!r}, base_url={self.base_url!r})"

    def model_id(self, model_name: str) -> str:
        """The model name the server knows (prefix removed)."""
        if self.prefix and model_name.startswith(self.prefix):
            return model_name[len(self.prefix):]
        return model_name

    # -- clients ---------------------------------------------------------
    def api_key(self) -> str:
        """The key to send, read from the configuration or the environment at call time."""
        key = self._api_key or (os.environ.get(self._api_key_env) if self._api_key_env else None)
        if key:
            return key
        if not self.key_required:
            return PLACEHOLDER_KEY
        raise ConfigurationError(
            f"{self.name}: no API key: set the {self._api_key_env} environment variable "
            "or pass api_key=... to Model(...)"
        )

    def _client_key(self, kind: str, api_key: str) -> tuple[str, str | None, str]:
        return (kind, self.base_url, key_fingerprint(api_key))

    def client(self) -> Any:
        """The cached ``openai.OpenAI`` client for this base URL and key."""
        api_key = self.api_key()

        def build() -> Any:
            import openai

            return openai.OpenAI(api_key=api_key, base_url=self.base_url, max_retries=0)

        return cached_client(self._client_key("openai", api_key), build)

    def async_client(self) -> Any:
        """The cached ``openai.AsyncOpenAI`` client for this base URL and key on this loop."""
        api_key = self.api_key()

        def build() -> Any:
            import openai

            return openai.AsyncOpenAI(api_key=api_key, base_url=self.base_url, max_retries=0)

        return cached_async_client(self._client_key("async-openai", api_key), build)

    def classify(self, error: BaseException) -> Any:
        """Map an SDK exception to a byllm error (with the key scrubbed)."""
        return classify_sdk_error(error, self.name, self._api_key or _env_key(self._api_key_env))

    # -- requests --------------------------------------------------------
    def request_arguments(self, request: CompletionRequest, *, stream: bool = False) -> tuple[dict[str, Any], bool]:
        """Keyword arguments for ``chat.completions.create`` and whether the schema was wrapped."""
        arguments: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if self.policy.timeout is not None:
            arguments["timeout"] = self.policy.timeout
        if request.tools:
            arguments["tools"] = [tool_definition(tool) for tool in request.tools]
        wrapped = False
        if request.output_schema is not None and self.json_mode and not stream:
            schema, wrapped = object_schema(request.output_schema)
            if self.json_mode == "strict":
                schema = strict_schema(schema)
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name(request.output_name),
                    "schema": schema,
                    "strict": self.json_mode == "strict",
                },
            }
        known = create_parameters()
        extra_body = {}
        for key, value in request.params.items():
            if key in known:
                arguments[key] = value
            else:
                extra_body[key] = value
        if extra_body:
            arguments["extra_body"] = extra_body
        if self.headers:
            arguments["extra_headers"] = self.headers
        if stream:
            arguments["stream"] = True
        return arguments, wrapped

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request through the synchronous client."""
        arguments, wrapped = self.request_arguments(request)
        client = self.client()
        response = call_with_retries(
            lambda: client.chat.completions.create(**arguments), self.policy, self.classify, self.name
        )
        return reply_from_response(response, wrapped)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request through the async client."""
        arguments, wrapped = self.request_arguments(request)
        client = self.async_client()
        response = await acall_with_retries(
            lambda: client.chat.completions.create(**arguments), self.policy, self.classify, self.name
        )
        return reply_from_response(response, wrapped)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        """Yield the reply text as the server streams it (retries only before the first chunk)."""
        arguments, _ = self.request_arguments(request, stream=True)
        client = self.client()
        chunks = call_with_retries(
            lambda: client.chat.completions.create(**arguments), self.policy, self.classify, self.name
        )
        try:
            yield from stream_text(chunks, chunk_text, self.classify)
        finally:
            chunks.close()

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        """Async form of :meth:`stream`."""
        arguments, _ = self.request_arguments(request, stream=True)
        client = self.async_client()
        chunks = await acall_with_retries(
            lambda: client.chat.completions.create(**arguments), self.policy, self.classify, self.name
        )
        try:
            async for text in astream_text(chunks, chunk_text, self.classify):
                yield text
        finally:
            await chunks.close()


def _env_key(name: str | None) -> str | None:
    return os.environ.get(name) if name else None


def create_parameters() -> frozenset[str]:
    """Keyword names ``chat.completions.create`` accepts; others travel in ``extra_body``."""
    global _create_parameters
    if _create_parameters is None:
        from openai.resources.chat.completions import Completions

        _create_parameters = frozenset(inspect.signature(Completions.create).parameters) - {"self"}
    return _create_parameters


def tool_definition(tool: ToolSpec) -> dict[str, Any]:
    """A tool in the Chat Completions ``tools`` format."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def schema_name(output_name: str) -> str:
    """A ``response_format`` schema name the API accepts (``[A-Za-z0-9_-]{1,64}``)."""
    return _SCHEMA_NAME.sub("_", output_name)[:64] or "output"


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


def unwrap_value_text(text: str) -> str:
    """The ``value`` member of a wrapped structured reply as JSON text (or the text unchanged)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and set(data) == {"value"}:
        return json.dumps(data["value"], ensure_ascii=False)
    return text


def parse_arguments(raw: str | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; text that is not a JSON object is kept for the error message."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"__unparsed_arguments__": raw}
    return data if isinstance(data, dict) else {"__unparsed_arguments__": raw}


def reply_from_response(response: Any, wrapped: bool) -> CompletionReply:
    """A :class:`CompletionReply` from a ``ChatCompletion``."""
    if not hasattr(response, "choices"):
        raise ProviderError(
            f"the server's reply is not a chat completion (got {type(response).__name__}: {str(response)[:200]!r}); "
            "check that base_url points at an OpenAI-compatible /v1 endpoint"
        )
    if not response.choices:
        return CompletionReply(text="", model=getattr(response, "model", "") or "", raw=response)
    message = response.choices[0].message
    text = message.content or ""
    if wrapped and text:
        text = unwrap_value_text(text)
    tool_calls = [
        ToolCall(id=call.id, name=call.function.name, arguments=parse_arguments(call.function.arguments))
        for call in (message.tool_calls or [])
        if getattr(call, "function", None) is not None
    ]
    usage = None
    if response.usage is not None:
        usage = Usage(
            input_tokens=response.usage.prompt_tokens or 0,
            output_tokens=response.usage.completion_tokens or 0,
        )
    return CompletionReply(text=text, tool_calls=tool_calls, usage=usage, model=response.model or "", raw=response)


def chunk_text(chunk: Any) -> str:
    """The text delta of one streamed chunk (empty for role-only or usage chunks)."""
    if not chunk.choices:
        return ""
    delta = chunk.choices[0].delta
    return (delta.content or "") if delta is not None else ""
