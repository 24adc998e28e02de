"""What the built-in plugins store: request keys, replies as JSON, secrets removed."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any

from byllm.plugins.marks import CACHE_HIT, function_name, is_cache_hit, mark_cache_hit
from byllm.providers.base import CompletionReply, CompletionRequest, ToolCall, Usage
from byllm.providers.mock import MOCK_MODEL_NAMES, MockProvider

__all__ = [
    "CACHE_HIT",
    "KEY_VERSION",
    "NotStorable",
    "canonical_json",
    "function_name",
    "is_cache_hit",
    "is_mock_model",
    "mark_cache_hit",
    "reply_from_data",
    "reply_to_data",
    "request_data",
    "request_key",
    "scrub_secrets",
    "to_json_value",
]

if TYPE_CHECKING:
    from byllm.llm import Model

KEY_VERSION = 1

# Parameter names whose values are credentials; never stored or logged.
SECRET_NAME = re.compile(r"(api[_-]?key|authorization|secret|password|access[_-]?token|bearer|cookie)", re.I)
REDACTED = "[redacted]"


class NotStorable(TypeError):
    """A request or reply holds a value with no faithful JSON form."""


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses, Pydantic models, bytes, sets, enums)."""
    from pydantic_core import PydanticSerializationError, to_jsonable_python

    try:
        return to_jsonable_python(value, bytes_mode="base64")
    except PydanticSerializationError as error:
        raise NotStorable(str(error)) from None


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return to_json_value(value)


def canonical_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, so equal data hashes equally."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def request_data(model_name: str, request: CompletionRequest) -> dict[str, Any]:
    """The parts of a request that decide the reply: model, parameters, messages, schema, tools."""
    return {
        "model": model_name,
        "provider_model": request.model,
        "params": scrub_secrets(request.params),
        "messages": request.messages,
        "output_schema": request.output_schema,
        "output_name": request.output_name,
        "tools": [dataclasses.asdict(tool) for tool in request.tools],
    }


def request_key(model_name: str, request: CompletionRequest) -> str:
    """A SHA-256 key of the exact request; raises :class:`NotStorable` for non-JSON content."""
    import hashlib
    try:
        text = canonical_json({"v": KEY_VERSION, **request_data(model_name, request)})
    except (TypeError, ValueError) as error:
        raise NotStorable(f"the request cannot be keyed: {error}") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reply_to_data(reply: CompletionReply) -> dict[str, Any]:
    """A reply as JSON data (the raw provider response is left out)."""
    data: dict[str, Any] = {
        "text": reply.text,
        "tool_calls": [
            {"id": call.id, "name": call.name, "arguments": to_json_value(call.arguments)} for call in reply.tool_calls
        ],
        "usage": None
        if reply.usage is None
        else {"input_tokens": reply.usage.input_tokens, "output_tokens": reply.usage.output_tokens},
        "model": reply.model,
        "has_value": reply.has_value,
    }
    if reply.has_value:
        data["value"] = to_json_value(reply.value)
    return data


def reply_from_data(data: dict[str, Any], raw: Any = None) -> CompletionReply:
    """The reply :func:`reply_to_data` stored."""
    usage = data.get("usage")
    return CompletionReply(
        text=data.get("text", ""),
        tool_calls=[ToolCall(id=call["id"], name=call["name"], arguments=call["arguments"]) for call in data.get("tool_calls", [])],
        usage=None if usage is None else Usage(usage["input_tokens"], usage["output_tokens"]),
        model=data.get("model", ""),
        raw=raw,
        value=data.get("value"),
        has_value=bool(data.get("has_value")),
    )


def scrub_secrets(data: Any) -> Any:
    """A copy of ``data`` with every credential-like entry replaced by ``[redacted]``."""
    if isinstance(data, dict):
        return {
            key: REDACTED if isinstance(key, str) and SECRET_NAME.search(key) else scrub_secrets(value)
            for key, value in data.items()
        }
    if isinstance(data, (list, tuple)):
        return [scrub_secrets(item) for item in data]
    return data


def is_mock_model(model: Model) -> bool:
    """Whether ``model`` is byllm's scripted mock (its outputs are consumed in order)."""
    if model.model_name in MOCK_MODEL_NAMES:
        return True
    try:
        return isinstance(model.provider, MockProvider)
    except Exception:  # a provider that cannot even be built is not the mock
        return False
