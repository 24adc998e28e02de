"""What the cache stores: a key that covers everything that can change an answer, and replies as JSON.

The key is the exact request (model, parameters, messages, schema, tools) and
who answers it (the provider, its base URL, its headers, its credentials), so
two servers serving the same model name never share answers. Credentials enter
a key only as a salted SHA-256 fingerprint: never stored, never blanked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Mapping

from pydantic import BaseModel, ConfigDict, Field

from byllm.providers.base import CompletionReply, CompletionRequest, StreamingReply, ToolCall, Usage
from byllm.redact import is_secret_name, redact_url

if TYPE_CHECKING:
    from byllm.llm import Model

KEY_VERSION = 2


class NotStorable(TypeError):
    """A request or reply holds a value with no faithful JSON form."""


class BadEntry(ValueError):
    """A stored value that is not a reply this module wrote (corrupt, foreign or from an old version)."""


def fingerprint(secret: str) -> str:
    """A non-reversible stand-in for a credential: equal secrets give equal fingerprints."""
    return "fp:" + hashlib.sha256(b"byllm-credential\0" + secret.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def fingerprinted(data: Any) -> Any:
    """``data`` with the value under every credential-like name replaced by its :func:`fingerprint`."""
    if isinstance(data, Mapping):
        return {
            key: fingerprint(str(value)) if is_secret_name(key) and value not in (None, "") else fingerprinted(value)
            for key, value in data.items()
        }
    if isinstance(data, (list, tuple)):
        return [fingerprinted(item) for item in data]
    return data


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON data (dataclasses, Pydantic models, bytes, sets, enums)."""
    from pydantic_core import PydanticSerializationError, to_jsonable_python

    try:
        return to_jsonable_python(value, bytes_mode="base64")
    except PydanticSerializationError as error:
        raise NotStorable(str(error)) from None


def model_identity(model: Model) -> dict[str, Any]:
    """Who answers ``model``'s completions: provider, base URL, headers, credential fingerprints."""
    provider = model.provider
    settings = model.settings
    base_url = settings.get("base_url") or getattr(provider, "base_url", None)
    headers = {**(getattr(provider, "headers", None) or {}), **(settings.get("headers") or {})}
    secrets = {str(settings["api_key"])} if settings.get("api_key") else set()
    provider_secrets = getattr(provider, "secrets", None)
    if callable(provider_secrets):
        secrets.update(str(secret) for secret in provider_secrets() if secret)
    return {
        "provider": f"{type(provider).__module__}.{type(provider).__qualname__}:{getattr(provider, 'name', '')}",
        "base_url": redact_url(base_url) if isinstance(base_url, str) else base_url,
        "headers": fingerprinted(headers),
        "credentials": sorted(fingerprint(secret) for secret in secrets),
    }


def cache_key(model: Model, request: CompletionRequest) -> str:
    """SHA-256 of the exact request and of who answers it; :class:`NotStorable` for content with no JSON form."""
    data = {
        "v": KEY_VERSION,
        "model": model.model_name,
        "provider_model": request.model,
        "params": fingerprinted(request.params),
        "messages": request.messages,
        "output_schema": request.output_schema,
        "output_name": request.output_name,
        "tools": [asdict(tool) for tool in request.tools],
        "identity": model_identity(model),
    }
    try:  # sorted keys, no spaces, ASCII: equal data hashes equally
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=to_json_value)
    except (TypeError, ValueError) as error:
        raise NotStorable(f"the request cannot be keyed: {error}") from None
    return hashlib.sha256(text.encode()).hexdigest()


class StoredToolCall(BaseModel):
    """A tool call as the cache stores it."""

    model_config = ConfigDict(strict=True)
    id: str
    name: str
    arguments: dict[str, Any]


class StoredReply(BaseModel):
    """A reply as the cache (and a test cassette) stores it: the raw provider response left out, a stream's chunks kept."""

    model_config = ConfigDict(strict=True)
    text: str
    tool_calls: list[StoredToolCall] = []
    usage: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=2, max_length=2)] | None = None
    model: str = ""
    has_value: bool = False
    value: Any = None
    chunks: list[str] | None = None


def reply_data(reply: CompletionReply) -> dict[str, Any]:
    """A reply as plain JSON data (:class:`StoredReply`'s fields); :class:`NotStorable` when it has no JSON form."""
    data: dict[str, Any] = {
        "text": reply.text,
        "tool_calls": [asdict(call) for call in reply.tool_calls],
        "usage": None if reply.usage is None else [reply.usage.input_tokens, reply.usage.output_tokens],
        "model": reply.model,
        "has_value": reply.has_value,
    }
    if reply.has_value:
        data["value"] = reply.value
    if isinstance(reply, StreamingReply):
        data["chunks"] = list(reply.chunks)
    return to_json_value(data)


def encode_entry(reply: CompletionReply) -> str:
    """A reply as the text the cache stores (ASCII JSON: lone surrogates survive)."""
    return json.dumps(reply_data(reply), separators=(",", ":"))


def decode_entry(stored: str | bytes | Mapping[str, Any], stream: bool = False) -> CompletionReply:
    """A stored entry (:func:`encode_entry`'s text, or a cassette's :func:`reply_data`) as a reply marked ``cached``
    (a stream replays its chunks); :class:`BadEntry` when it is not one."""
    try:  # Pydantic's JSON parser refuses lone surrogates, so the standard one reads
        entry = StoredReply.model_validate(json.loads(stored) if isinstance(stored, (str, bytes)) else stored)
    except (ValueError, RecursionError) as error:  # a ValidationError is a ValueError
        raise BadEntry(f"not a stored reply ({type(error).__name__})") from None
    usage = None if entry.usage is None else Usage(*entry.usage)
    if stream:
        reply: CompletionReply = StreamingReply.replay(entry.chunks or [entry.text], usage, entry.model)
    else:
        tool_calls = [ToolCall(call.id, call.name, call.arguments) for call in entry.tool_calls]
        reply = CompletionReply(entry.text, tool_calls, usage, entry.model, value=entry.value, has_value=entry.has_value)
    reply.cached = True  # not from the provider: nothing is billed, no cache stores it again
    return reply
