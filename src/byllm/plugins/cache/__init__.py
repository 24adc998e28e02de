"""The persistent cache plugin: identical completions answered from SQLite or Redis.

Off unless configured; the mock model only when asked for. The cache never
fails a call: a bad entry is asked again (and overwritten), an unusable SQLite
file turns the cache off with one warning, a failing Redis server is skipped.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Generator, Mapping

from jaclang.runtimelib.machine import hookimpl
from byllm.errors import ConfigurationError
from byllm.plugins import describe_error
from byllm.plugins.entry import CachePlugin  # noqa: F401  (the entry point, for registering by hand)
from byllm.redact import redact_url
from byllm.settings import default_cache_url, get_settings, parse_cache_target, parse_seconds, sqlite_path

# The keys, the backends and the reply types are imported by the code that uses them.
if TYPE_CHECKING:
    from byllm.llm import Model
    from byllm.plugins.cache.backends import CacheBackend
    from byllm.providers.base import CompletionReply, CompletionRequest

logger = logging.getLogger(__name__)


@dataclass
class CacheCounters:
    """This process's cache activity (:func:`counters`)."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    errors: int = 0
    bad_entries: int = 0


@dataclass(frozen=True)
class CachePolicy:
    """Where one model's completions are cached, and for how long."""

    url: str
    ttl: float | None


_counters = CacheCounters()
_unusable: set[str] = set()  # SQLite caches turned off for this process, each warned about once


def counters() -> CacheCounters:
    """Hits, misses, stores, backend errors and dropped bad entries so far in this process."""
    return _counters


def reset_counters() -> None:
    """Start counting from zero."""
    global _counters
    _counters = CacheCounters()


@functools.cache
def open_backend(url: str) -> CacheBackend:
    """The backend for a cache URL, opened once per process and reused."""
    if url.startswith("sqlite:"):
        from byllm.plugins.cache.backends import SqliteCache

        return SqliteCache(sqlite_path(url))
    if url.startswith(("redis://", "rediss://", "unix://")):
        from byllm.plugins.cache.backends import RedisCache

        return RedisCache(url)
    raise ConfigurationError(f"unknown cache backend {redact_url(url)!r}; use sqlite:///path or redis://host:port/db")


def close_backends() -> None:
    """Forget every open backend (their connections close with them) and every unusable one."""
    open_backend.cache_clear()
    _unusable.clear()


@functools.lru_cache(maxsize=64)
def _parsed_url(setting: str) -> str | None:
    return parse_cache_target(setting, "cache=")


def cache_policy(model: Model) -> CachePolicy | None:
    """Whether and where ``model``'s completions are cached (call > model > environment > file)."""
    settings = get_settings()
    setting = model.param("cache")
    ttl = settings.cache_ttl
    if isinstance(setting, Mapping):  # {'url': ..., 'ttl': ...}: no url is the configured (or default) cache
        if "ttl" in setting:
            ttl = parse_seconds(setting["ttl"], "cache ttl")
        setting = True if setting.get("url") is None else setting["url"]
    if setting is None:
        url = settings.cache
        if url is not None and not settings.cache_mock:
            from byllm.providers.mock import is_mock_model

            url = None if is_mock_model(model) else url
    elif setting is False:
        return None
    elif setting is True:
        url = settings.cache or default_cache_url()
    elif isinstance(setting, str):
        url = _parsed_url(setting)
    else:
        raise ConfigurationError(
            f"cache={setting!r}: use True, False, a URL such as 'sqlite:///cache.db', or {{'url': ..., 'ttl': seconds}}"
        )
    return None if url is None or url in _unusable else CachePolicy(url, ttl)


def _backend_failed(policy: CachePolicy, error: Exception, doing: str) -> None:
    """Count a backend error; an unusable SQLite cache is turned off for the process with one warning."""
    import sqlite3

    from byllm.plugins.cache.backends import CacheUnavailable

    _counters.errors += 1
    transient = "locked" in str(error) or "busy" in str(error)
    if isinstance(error, (sqlite3.Error, OSError)) and not transient:
        if policy.url not in _unusable:
            _unusable.add(policy.url)
            logger.warning("byllm cache %s is unusable (%s); caching is off for this run",
                           redact_url(policy.url), describe_error(error))
    elif not isinstance(error, CacheUnavailable):  # an open circuit was reported when it opened
        logger.warning("byllm cache %s unavailable while %s (%s); asking the model",
                       redact_url(policy.url), doing, describe_error(error))


def lookup(model: Model, request: CompletionRequest) -> CompletionReply | None:
    """The stored reply to ``request`` (marked ``cached``; its chunks again for a stream), or ``None``."""
    policy = cache_policy(model)
    if policy is None:
        return None
    from byllm.plugins.cache.keys import BadEntry, NotStorable, cache_key, decode_entry

    try:
        stored = open_backend(policy.url).get(cache_key(model, request))
        if stored is None:
            _counters.misses += 1
            return None
        reply = decode_entry(stored, request.stream)
    except (NotStorable, ConfigurationError) as error:
        logger.debug("not caching %s: %s", model.model_name, error)
        return None
    except BadEntry as error:  # asked again; the fresh reply overwrites it
        _counters.bad_entries += 1
        logger.warning("byllm cache %s: dropped a bad entry (%s)", redact_url(policy.url), error)
        return None
    except Exception as error:  # the cache is an optimisation: an outage must not fail the call
        _backend_failed(policy, error, "reading")
        return None
    _counters.hits += 1
    return reply


def store(model: Model, request: CompletionRequest, reply: CompletionReply) -> None:
    """Keep ``reply`` for later identical requests (not hits, not a script's answer for a real model)."""
    from byllm.plugins.cache.keys import NotStorable, cache_key, encode_entry
    from byllm.providers.base import CompletionReply, StreamingReply
    from byllm.providers.mock import MOCK_MODEL_NAMES, is_mock_model

    if reply.cached or not isinstance(reply, CompletionReply):
        return
    if isinstance(reply, StreamingReply) and not reply.done:  # stored once the whole stream has been read
        reply.add_done_callback(lambda finished: store(model, request, finished))
        return
    policy = cache_policy(model)
    if policy is None or (reply.model in MOCK_MODEL_NAMES and not is_mock_model(model)):
        return
    try:
        open_backend(policy.url).set(cache_key(model, request), encode_entry(reply), policy.ttl)
    except (NotStorable, ConfigurationError) as error:
        logger.debug("not caching a reply of %s: %s", model.model_name, error)
        return
    except Exception as error:  # an outage must not fail the call
        _backend_failed(policy, error, "storing")
        return
    _counters.stores += 1


async def _ready(reply: CompletionReply) -> CompletionReply:
    return reply


async def _store_when_ready(model: Model, request: CompletionRequest, pending: Awaitable[CompletionReply]) -> CompletionReply:
    reply = await pending
    store(model, request, reply)
    return reply


class CacheHooks:
    """The cache's working hooks: answering is ``tryfirst`` (a wrapper cannot skip the call it wraps),
    storing is a wrapper, so it sees whichever plugin answered."""

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
    def store_completion(model: Model, request: CompletionRequest) -> Generator[None, CompletionReply, CompletionReply]:
        """Store the reply, whoever produced it."""
        reply = yield
        store(model, request, reply)
        return reply

    @staticmethod
    @hookimpl(wrapper=True, trylast=True, specname="llm_acomplete")
    def store_async_completion(model: Model, request: CompletionRequest) -> Generator[None, Any, Any]:
        """Store the async reply once it has arrived."""
        pending = yield
        return _store_when_ready(model, request, pending)

