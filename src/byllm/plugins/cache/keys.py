"""What the cache stores: keys that cover everything that can change an answer, and replies as JSON.

Two keys. :func:`request_key` is the exact request (model, parameters,
messages, schema, tools): the pytest plugin's cassettes use it, so they replay
without credentials. :func:`cache_key` adds who answers: the provider, its base
URL, its headers and a fingerprint of its credentials, so two servers serving
the same model name never share answers. Credentials (the API key, a
credential-named header or parameter) enter a key only as a salted SHA-256
fingerprint, never as themselves, and are never blanked: two keys give two
entries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Mapping

from byllm.providers.base import CompletionReply, CompletionRequest, StreamingReply, ToolCall, Usage
from byllm.providers.mock import is_mock_model
from byllm.redact import is_secret_name, redact, redact_mapping, redact_url

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


def canonical_json(data: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, non-ASCII escaped), so equal data hashes equally."""
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=to_json_value)
    except (TypeError, ValueError) as error:
        raise NotStorable(f"the request cannot be keyed: {error}") from None


def _request_parts(model_name: str, request: CompletionRequest, params: Any) -> dict[str, Any]:
    return {
        "model": model_name,
        "provider_model": request.model,
        "params": params,
        "messages": request.messages,
        "output_schema": request.output_schema,
        "output_name": request.output_name,
        "tools": [asdict(tool) for tool in request.tools],
    }


def request_data(model_name: str, request: CompletionRequest) -> dict[str, Any]:
    """The request as readable JSON data, credentials masked (stored beside cassette replies)."""
    return to_json_value(_request_parts(model_name, request, redact_mapping(request.params)))


def request_key(model_name: str, request: CompletionRequest) -> str:
    """SHA-256 of the exact request; raises :class:`NotStorable` for content with no JSON form."""
    parts = _request_parts(model_name, request, fingerprinted(request.params))
    return _digest({"v": KEY_VERSION, **parts})


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
    """SHA-256 of the exact request and of who answers it (see the module docstring)."""
    parts = _request_parts(model.model_name, request, fingerprinted(request.params))
    return _digest({"v": KEY_VERSION, **parts, "identity": model_identity(model)})


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8", "surrogatepass")).hexdigest()


# -- replies -------------------------------------------------------------------------
def reply_to_data(reply: CompletionReply) -> dict[str, Any]:
    """A reply as JSON data (the raw provider response left out; a stream's chunks kept)."""
    data: dict[str, Any] = {
        "text": reply.text,
        "tool_calls": [
            {"id": call.id, "name": call.name, "arguments": to_json_value(call.arguments)} for call in reply.tool_calls
        ],
        "usage": None if reply.usage is None else [reply.usage.input_tokens, reply.usage.output_tokens],
        "model": reply.model,
        "has_value": reply.has_value,
    }
    if reply.has_value:
        data["value"] = to_json_value(reply.value)
    if isinstance(reply, StreamingReply):
        data["chunks"] = list(reply.chunks)
    return data


def reply_from_data(data: Any) -> CompletionReply:
    """The reply :func:`reply_to_data` stored; :class:`BadEntry` for anything else."""
    try:
        text, model, has_value = data["text"], data.get("model", ""), data.get("has_value", False)
        tool_calls = [ToolCall(id=call["id"], name=call["name"], arguments=call["arguments"]) for call in data["tool_calls"]]
        usage = data.get("usage")
        chunks = data.get("chunks")
    except (TypeError, KeyError, AttributeError) as error:
        raise BadEntry(f"not a stored reply ({type(error).__name__}: {error})") from None
    well_formed = (
        isinstance(text, str)
        and isinstance(model, str)
        and isinstance(has_value, bool)
        and all(isinstance(call.id, str) and isinstance(call.name, str) and isinstance(call.arguments, dict) for call in tool_calls)
        and (usage is None or (isinstance(usage, list) and len(usage) == 2 and all(type(n) is int and n >= 0 for n in usage)))
        and (chunks is None or (isinstance(chunks, list) and all(isinstance(chunk, str) for chunk in chunks)))
    )
    if not well_formed:
        raise BadEntry("a stored reply with fields of the wrong type")
    reply = CompletionReply(
        text=text,
        tool_calls=tool_calls,
        usage=None if usage is None else Usage(*usage),
        model=model,
        value=data.get("value"),
        has_value=has_value,
        cached=True,
    )
    reply.raw = {"chunks": chunks} if chunks is not None else None
    return reply


def decode_entry(stored: str | bytes) -> CompletionReply:
    """A stored entry as a reply; :class:`BadEntry` when it is not valid JSON or not a reply."""
    try:
        data = json.loads(stored)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadEntry(f"not JSON ({type(error).__name__})") from None
    return reply_from_data(data)


def encode_entry(reply: CompletionReply) -> str:
    """A reply as the text the cache stores (ASCII JSON: lone surrogates survive)."""
    try:
        return json.dumps(reply_to_data(reply), separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise NotStorable(f"the reply cannot be stored: {error}") from None


def describe_error(error: BaseException) -> str:
    """``Type: message`` with credentials masked, for warnings and ``jac cache``."""
    return redact(f"{type(error).__name__}: {error}")
