"""Small marks the built-in plugins put on and read from replies and calls.

Kept apart from :mod:`byllm.plugins.records` (JSON, hashing, secrets) because
the usage plugin needs them at every ``jac`` start-up and nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from byllm.providers.base import CompletionReply

CACHE_HIT = "byllm-cache-hit"


def mark_cache_hit(reply: CompletionReply, source: str) -> CompletionReply:
    """Mark a reply as served from a cache (so usage counts no cost for it)."""
    reply.raw = {CACHE_HIT: source}
    return reply


def is_cache_hit(reply: Any) -> bool:
    """Whether a reply was served from a cache rather than by the provider."""
    raw = getattr(reply, "raw", None)
    return isinstance(raw, dict) and CACHE_HIT in raw


def function_name(caller: Any) -> str:
    """A readable name for the function a call answers."""
    function = getattr(caller, "__func__", caller)
    return getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or repr(caller)
