"""What to do next: the actionable sentence added to an error a user can fix themselves.

Two cases live here, so their wording is in one place:

- a model name no provider serves (``Model("gpt4o")``): :func:`unknown_model_message`
  suggests the closest known name or prefix;
- a server that does not answer (Ollama not started, a wrong ``base_url``):
  :func:`with_connection_hint` rewrites the transport's connection error so it
  names the URL and says how to start the server or where to point byllm.

Nothing here imports a provider SDK, and what only an error needs (difflib,
socket, urllib.parse, byllm.redact) is imported when there is one: the registry imports this
module at every start.
"""

from __future__ import annotations

import errno
from typing import Any, Iterable

from byllm.errors import ProviderError

# How each local server is started, by provider name (the model-name prefix).
START_COMMANDS: dict[str, str] = {
    "ollama": "start it with `ollama serve` (and `ollama pull <model>` once)",
    "vllm": "start it with `vllm serve <model> --port 8000`",
    "llamacpp": "start it with `llama-server -m model.gguf --port 8080`",
    "lmstudio": "start it in LM Studio (Developer tab -> Start server)",
}

# Model names worth suggesting for a misspelling (prefix forms end in "/").
KNOWN_MODEL_NAMES: tuple[str, ...] = (
    "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4-turbo", "gpt-3.5-turbo",
    "o1", "o1-mini", "o3", "o3-mini", "o4-mini",
    "claude-3-5-haiku-latest", "claude-3-5-sonnet-latest", "claude-3-7-sonnet-latest", "claude-sonnet-4-0",
    "claude-opus-4-0", "mockllm",
)
# Clients' names for "no connection could be made" (httpx / httpcore, aiohttp, urllib3), as opposed to a
# connection dropped mid-reply, which is a different failure with its own message.
_CONNECT_ERROR_NAMES = ("ConnectError", "ClientConnectorError", "ClientConnectorDNSError", "NewConnectionError")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


# -- unknown model names ---------------------------------------------------------------
def closest_name(model_name: str, names: Iterable[str], prefixes: Iterable[str]) -> str | None:
    """The known name or ``prefix/...`` form closest to ``model_name``, or ``None`` when none is close."""
    import difflib

    head, slash, rest = model_name.partition("/")
    if slash:  # a misspelt prefix: "olama/llama3.2" -> "ollama/llama3.2"
        close = difflib.get_close_matches(head.lower(), list(prefixes), n=1, cutoff=0.6)
        return f"{close[0]}/{rest}" if close else None
    close = difflib.get_close_matches(model_name.lower(), list(names), n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_model_message(model_name: str, names: Iterable[str], prefixes: Iterable[str]) -> str:
    """What to say about a model name nothing serves: the closest known name, else what works."""
    suggestion = closest_name(model_name, names, prefixes)
    lead = f"no provider serves the model {model_name!r}"
    if suggestion is not None:
        return (f"{lead}: did you mean {suggestion!r}? (`jac models` lists the names and prefixes that work; "
                "any other name needs base_url=... or a plugin that provides it)")
    return (f"{lead}: use a name such as 'gpt-4o-mini', 'anthropic/claude-3-5-haiku-latest', 'ollama/llama3.2' "
            "or 'mockllm', pass base_url=... for an OpenAI-compatible server, or install a plugin that provides it "
            "(`jac models` lists the names and prefixes that work)")


# -- servers that do not answer -----------------------------------------------------------
def connection_failure(error: BaseException | None) -> str | None:
    """Why a connection could not be made (``"connection refused"``, ...), or ``None`` for another failure.

    Looks through the exception and its causes, so it works whichever client
    (an SDK over httpx, aiohttp, urllib) raised it.
    """
    import socket

    seen = 0
    generic = None
    while error is not None and seen < 10:
        if isinstance(error, ConnectionRefusedError) or getattr(error, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(error, socket.gaierror):
            return "host name not found"
        if generic is None and type(error).__name__.endswith(_CONNECT_ERROR_NAMES):
            generic = "could not connect"
        error = error.__cause__ or error.__context__
        seen += 1
    return generic


def server_hint(provider: str, base_url: str | None) -> str:
    """The one thing to do when nothing answers at ``base_url`` for ``provider``."""
    variable = f"{provider.upper()}_BASE_URL"
    if provider in START_COMMANDS:
        return (f"is the {provider} server running? {START_COMMANDS[provider]}, or point byllm at it with "
                f"{variable} or Model(..., base_url=...)")
    from urllib.parse import urlsplit

    host = urlsplit(base_url or "").hostname or ""
    if host in _LOCAL_HOSTS:
        return "is the server running? start it, or fix base_url=... to where it listens"
    if base_url:
        return "check the network, and that base_url=... (or the provider's *_BASE_URL variable) is right"
    return "check the network connection"


def with_connection_hint(mapped: Any, error: BaseException, provider: str, base_url: str | None) -> Any:
    """``mapped`` (a classified transport error), reworded when ``error`` is a failed connection.

    The new message names the URL and says what to do; anything else comes back
    untouched. ``mapped`` may be a :class:`ProviderError` or a retryable wrapper
    holding one in ``.error``.
    """
    target = getattr(mapped, "error", mapped)
    if type(target) is not ProviderError or target.status is not None:  # timeouts, HTTP errors: not this
        return mapped
    reason = connection_failure(error)
    if reason is None:
        return mapped
    from byllm.redact import redact_url

    where = redact_url(base_url) if base_url else "the provider's default URL"
    target.args = (f"{provider}: cannot connect to {where} ({reason}): {server_hint(provider, base_url)}",)
    return mapped
