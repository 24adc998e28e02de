"""The persistent cache's working parts: policy, look-up, store, counters and :class:`CacheHooks`.

Imported when the cache is first switched on (see :mod:`byllm.plugins.cache`,
the light ``byllm-cache`` entry point, which also re-exports every name here).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Mapping

from jaclang.runtimelib.machine import hookimpl
import byllm.hooks  # noqa: F401  (the llm_complete hook specs)
from byllm.errors import ConfigurationError
from byllm.plugins.cache_backend import CacheBackend, open_backend
from byllm.plugins.records import (
    NotStorable,
    is_cache_hit,
    is_mock_model,
    mark_cache_hit,
    reply_from_data,
    reply_to_data,
    request_key,
)
from byllm.providers.base import CompletionReply, CompletionRequest
from byllm.providers.mock import MOCK_MODEL_NAMES
from byllm.settings import default_cache_url, get_settings, parse_cache_target, parse_seconds

if TYPE_CHECKING:
    from collections.abc import Generator

    from byllm.llm import Model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachePolicy:
    """Where one completion is cached and for how long."""

    url: str
    ttl: float | None

    @property
    def backend(self) -> CacheBackend:
        """The backend serving this policy's URL."""
        return open_backend(self.url)


@dataclass
class CacheCounters:
    """This process's cache activity (``byllm.plugins.cache.counters()``)."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    errors: int = 0


_counters = CacheCounters()
_counter_lock = threading.Lock()


def counters() -> CacheCounters:
    """Hits, misses, stores and backend errors so far in this process."""
    return _counters


def reset_counters() -> None:
    """Start counting from zero."""
    global _counters
    with _counter_lock:
        _counters = CacheCounters()


def _count(name: str) -> None:
    with _counter_lock:
        setattr(_counters, name, getattr(_counters, name) + 1)


@functools.lru_cache(maxsize=64)
def _cache_url(setting: str) -> str | None:
    return parse_cache_target(setting, "cache=")


def cache_policy(model: Model) -> CachePolicy | None:
    """Whether and where ``model``'s completions are cached (call > model > env > file)."""
    settings = get_settings()
    setting = model.param("cache")
    ttl = settings.cache_ttl
    explicit = setting is not None
    if setting is None:
        url = settings.cache
    elif setting is False:
        return None
    elif setting is True:
        url = settings.cache or default_cache_url()
    elif isinstance(setting, str):
        url = _cache_url(setting)
    elif isinstance(setting, Mapping):
        if not setting.get("enabled", True):
            return None
        location = setting.get("url", setting.get("backend"))
        url = parse_cache_target(location, "cache=") if location is not None else settings.cache or default_cache_url()
        if "ttl" in setting:
            ttl = parse_seconds(setting["ttl"], "cache ttl")
    else:
        raise ConfigurationError(
            f"cache={setting!r}: use True, False, a URL such as 'sqlite:///cache.db', or {{'url': ..., 'ttl': seconds}}"
        )
    if url is None:
        return None
    if not explicit and not settings.cache_mock and is_mock_model(model):
        return None
    return CachePolicy(url=url, ttl=ttl)


def lookup(model: Model, request: CompletionRequest) -> CompletionReply | None:
    """The cached reply to ``request``, marked as a cache hit, or ``None``."""
    if request.stream:
        return None
    policy = cache_policy(model)
    if policy is None:
        return None
    try:
        key = request_key(model.model_name, request)
    except NotStorable as error:
        logger.debug("not caching a request: %s", error)
        return None
    try:
        stored = policy.backend.get(key)
    except ConfigurationError:
        raise
    except Exception as error:  # a cache outage must not fail the call
        _count("errors")
        logger.warning("byllm cache %s unavailable (%s); asking the model", policy.url, error)
        return None
    if stored is None:
        _count("misses")
        return None
    _count("hits")
    return mark_cache_hit(reply_from_data(json.loads(stored)), policy.url)


def store(model: Model, request: CompletionRequest, reply: CompletionReply) -> None:
    """Keep ``reply`` for later identical requests (not hits, not scripted mock replies)."""
    if request.stream or is_cache_hit(reply) or not isinstance(reply, CompletionReply):
        return
    policy = cache_policy(model)
    if policy is None:
        return
    if reply.model in MOCK_MODEL_NAMES and not is_mock_model(model):
        return  # a test script answered for a real model: not that model's reply
    try:
        key = request_key(model.model_name, request)
        value = json.dumps(reply_to_data(reply), ensure_ascii=False)
    except NotStorable as error:
        logger.debug("not caching a reply: %s", error)
        return
    try:
        policy.backend.set(key, value, policy.ttl)
    except ConfigurationError:
        raise
    except Exception as error:  # a cache outage must not fail the call
        _count("errors")
        logger.warning("byllm cache %s unavailable (%s); reply not cached", policy.url, error)
        return
    _count("stores")


async def _ready(reply: CompletionReply) -> CompletionReply:
    return reply


async def _store_after(model: Model, request: CompletionRequest, pending: Awaitable[CompletionReply]) -> CompletionReply:
    reply = await pending
    store(model, request, reply)
    return reply


class CacheHooks:
    """The cache's working hooks, registered only while a cache is configured or asked for.

    The look-up is a ``tryfirst`` hook (a Pluggy wrapper cannot skip the call it
    wraps); storing is a wrapper, so it sees whichever plugin answered.
    """

    @staticmethod
    @hookimpl(tryfirst=True)
    def llm_complete(model: Model, request: CompletionRequest) -> CompletionReply | None:
        """Answer from the cache when the same request was answered before."""
        return lookup(model, request)

    @staticmethod
    @hookimpl(tryfirst=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Awaitable[CompletionReply] | None:
        """Async form of the look-up."""
        reply = lookup(model, request)
        return None if reply is None else _ready(reply)

    @staticmethod
    @hookimpl(wrapper=True, trylast=True, specname="llm_complete")
    def llm_complete_store(model: Model, request: CompletionRequest) -> Generator[None, CompletionReply, CompletionReply]:
        """Store the reply whoever produced it."""
        reply = yield
        store(model, request, reply)
        return reply

    @staticmethod
    @hookimpl(wrapper=True, trylast=True, specname="llm_acomplete")
    def llm_acomplete_store(
        model: Model, request: CompletionRequest
    ) -> Generator[None, Awaitable[CompletionReply], Awaitable[CompletionReply]]:
        """Store the async reply once it arrives."""
        pending = yield
        return _store_after(model, request, pending)
