"""The shared rate limit: requests and tokens per minute per provider and key, across every worker.

A built-in plugin (``byllm-ratelimit``) on the completion seam. Before a
completion goes to a provider it reserves budget and waits for its turn; after
the reply it corrects the token reservation with the real usage; when a
provider answers 429 with a ``Retry-After``, it publishes a pause that every
worker sharing the provider and key honours (one 429 slows all of them).

The budget is a GCRA ("generic cell rate algorithm") schedule per bucket (the
provider's name, base URL and a fingerprint of the key). A completion is
admitted only when it conforms *at the moment it is sent*; otherwise the store
says how long to wait and the caller asks again then. (Handing out future slots
instead would let callers whose wake-up is late, behind a busy event loop or a
slow import, send together: a burst the provider counts.) Stores:

* ``memory``: the limit holds in this process (threads and tasks share it);
* ``redis://...``: one schedule for every process and machine, kept by small
  Lua scripts on the Redis server's clock (one round trip per completion).

Configured like the cache (``jac.toml`` ``[byllm]`` or the environment)::

    rate_limit = "redis://localhost:6379/0"   # or "memory"; BYLLM_RATE_LIMIT
    rate_limit_rpm = 600                      # BYLLM_RATE_LIMIT_RPM
    rate_limit_tpm = 150000                   # BYLLM_RATE_LIMIT_TPM

Requests are paced one at a time (no burst); tokens may burst by one second's
worth. Cache hits and mock models use no budget. A Redis server that fails is
replaced by the in-process schedule (one warning) until it answers again.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Generator, Protocol

from jaclang.runtimelib.machine import hookimpl
from byllm.plugins.activation import rate_limit_wanted
from byllm.plugins.entry import RateLimitPlugin  # noqa: F401  (the entry point, for registering by hand)
from byllm.settings import get_settings

if TYPE_CHECKING:
    from byllm.llm import Model
    from byllm.providers.base import CompletionReply, CompletionRequest
    from byllm.settings import Settings

logger = logging.getLogger(__name__)

CHARACTERS_PER_TOKEN = 4  # a conservative estimate of a request's input tokens before it is sent
REDIS_RETRY_SECONDS = 30.0  # after a Redis failure, the in-process schedule is used this long
# A request admitted a little after its slot may make up this share of an interval, so the wake-up
# and round-trip delay of each admission does not pile up into a rate below the limit.
CATCH_UP = 0.5


# -- limits and buckets ---------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Requests and tokens per minute for one bucket (``None``: not limited)."""

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None

    @property
    def request_interval(self) -> float:
        """Seconds between two requests (0 when requests are not limited)."""
        return 60.0 / self.requests_per_minute if self.requests_per_minute else 0.0

    @property
    def token_interval(self) -> float:
        """Seconds one token of budget stands for (0 when tokens are not limited)."""
        return 60.0 / self.tokens_per_minute if self.tokens_per_minute else 0.0

    @property
    def token_burst(self) -> float:
        """Tokens that may go at once: one second's worth."""
        return self.tokens_per_minute / 60.0 if self.tokens_per_minute else 0.0


@dataclass
class Ticket:
    """One completion's reservation: its bucket, limits and the tokens reserved."""

    bucket: str
    limits: Limits
    tokens: int
    store: LimitStore = field(repr=False)
    first: int = 0  # the first completion of its bucket: -1 in this process, else id() of its event loop


class LimitStore(Protocol):
    """Where the schedules live: this process, or Redis."""

    def acquire(self, bucket: str, limits: Limits, tokens: int) -> float:
        """Admit one request of ``tokens`` tokens now (0), or say how many seconds to wait before asking again."""

    def settle(self, bucket: str, limits: Limits, extra_tokens: int) -> None:
        """Correct the token schedule by ``extra_tokens`` (negative gives budget back)."""

    def pause(self, bucket: str, seconds: float) -> None:
        """Nobody sends on ``bucket`` for ``seconds`` (a server's ``Retry-After``)."""

    def paused_for(self, bucket: str) -> float:
        """Seconds left of the bucket's pause (0 when not paused)."""


# -- the in-process store -----------------------------------------------------------
class MemoryStore:
    """GCRA schedules in this process, shared by its threads and event loops."""

    kind = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._request_tat: dict[str, float] = {}
        self._token_tat: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}

    def acquire(self, bucket: str, limits: Limits, tokens: int) -> float:
        """See :meth:`LimitStore.acquire`."""
        with self._lock:
            now = time.monotonic()
            wait = self._paused_until.get(bucket, 0.0) - now
            request_tat = max(self._request_tat.get(bucket, 0.0), now - limits.request_interval * CATCH_UP)
            if limits.request_interval:
                wait = max(wait, request_tat - now)
            token_tat = max(self._token_tat.get(bucket, 0.0), now) + tokens * limits.token_interval
            if limits.token_interval:
                wait = max(wait, token_tat - now - max(limits.token_burst, tokens) * limits.token_interval)
            if wait > 0:
                return wait
            if limits.request_interval:
                self._request_tat[bucket] = request_tat + limits.request_interval
            if limits.token_interval:
                self._token_tat[bucket] = token_tat
            return 0.0

    def settle(self, bucket: str, limits: Limits, extra_tokens: int) -> None:
        """See :meth:`LimitStore.settle`."""
        if limits.token_interval and extra_tokens:
            with self._lock:
                if bucket in self._token_tat:
                    self._token_tat[bucket] += extra_tokens * limits.token_interval

    def pause(self, bucket: str, seconds: float) -> None:
        """See :meth:`LimitStore.pause`."""
        with self._lock:
            until = time.monotonic() + seconds
            self._paused_until[bucket] = max(self._paused_until.get(bucket, 0.0), until)

    def paused_for(self, bucket: str) -> float:
        """See :meth:`LimitStore.paused_for`."""
        return max(self._paused_until.get(bucket, 0.0) - time.monotonic(), 0.0)


# -- the Redis store ----------------------------------------------------------------
# Times are microseconds on the Redis server's clock, so every machine shares one clock.
# KEYS: request schedule, token schedule, pause. ARGV: request interval, token interval (µs per token),
# token burst (tokens), tokens of this request, catch-up (intervals). Returns 0 (admitted) or µs to wait.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local request_interval = tonumber(ARGV[1])
local token_interval = tonumber(ARGV[2])
local tokens = tonumber(ARGV[4])
local wait = tonumber(redis.call('GET', KEYS[3]) or '0') - now
local request_tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now - request_interval * tonumber(ARGV[5]))
if request_interval > 0 then
  wait = math.max(wait, request_tat - now)
end
local token_tat = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now) + tokens * token_interval
if token_interval > 0 then
  wait = math.max(wait, token_tat - now - math.max(tonumber(ARGV[3]), tokens) * token_interval)
end
if wait > 0 then
  return math.ceil(wait)
end
if request_interval > 0 then
  local next_tat = request_tat + request_interval
  redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 60000)
end
if token_interval > 0 then
  redis.call('SET', KEYS[2], string.format('%.0f', token_tat), 'PX', math.floor((token_tat - now) / 1000) + 60000)
end
return 0
"""

# KEYS: token schedule. ARGV: microseconds to add (negative gives budget back).
_SETTLE = """
local current = redis.call('GET', KEYS[1])
if current then
  redis.call('SET', KEYS[1], string.format('%.0f', tonumber(current) + tonumber(ARGV[1])), 'KEEPTTL')
end
return 0
"""

# KEYS: pause. ARGV: microseconds of pause (0: only read). Returns the microseconds of pause left.
_PAUSE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local until_time = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = now + tonumber(ARGV[1])
if tonumber(ARGV[1]) > 0 and wanted > until_time then
  redis.call('SET', KEYS[1], string.format('%.0f', wanted), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
  until_time = wanted
end
return math.max(until_time - now, 0)
"""


class RedisStore:
    """GCRA schedules in Redis: one limit for every process and machine using the same server."""

    kind = "redis"

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._settle = self.client.register_script(_SETTLE)
        self._pause = self.client.register_script(_PAUSE)

    @staticmethod
    def _keys(bucket: str) -> tuple[str, str, str]:
        tag = f"byllm:ratelimit:{{{bucket}}}"  # one hash slot per bucket (Redis Cluster)
        return f"{tag}:requests", f"{tag}:tokens", f"{tag}:pause"

    def acquire(self, bucket: str, limits: Limits, tokens: int) -> float:
        """See :meth:`LimitStore.acquire`."""
        waited = self._acquire(keys=self._keys(bucket), args=[
            round(limits.request_interval * 1e6), limits.token_interval * 1e6, limits.token_burst, tokens, CATCH_UP])
        return int(waited) / 1e6

    def settle(self, bucket: str, limits: Limits, extra_tokens: int) -> None:
        """See :meth:`LimitStore.settle`."""
        if limits.token_interval and extra_tokens:
            self._settle(keys=[self._keys(bucket)[1]], args=[round(extra_tokens * limits.token_interval * 1e6)])

    def pause(self, bucket: str, seconds: float) -> None:
        """See :meth:`LimitStore.pause`."""
        self._pause(keys=[self._keys(bucket)[2]], args=[max(round(seconds * 1e6), 1)])

    def paused_for(self, bucket: str) -> float:
        """See :meth:`LimitStore.paused_for`."""
        return int(self._pause(keys=[self._keys(bucket)[2]], args=[0])) / 1e6


class FallbackStore:
    """A Redis store that falls back to the in-process schedule while Redis fails (warned once per outage)."""

    def __init__(self, primary: RedisStore, fallback: MemoryStore) -> None:
        self.primary = primary
        self.fallback = fallback
        self._down_until = 0.0

    def _run(self, operation: str, *arguments: Any) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                return getattr(self.primary, operation)(*arguments)
            except Exception as error:  # noqa: BLE001  (any Redis failure: the limit must not fail the call)
                from byllm.redact import redact_url

                self._down_until = time.monotonic() + REDIS_RETRY_SECONDS
                logger.warning("byllm rate limit: Redis %s failed (%s: %s); limiting per process for %.0f s",
                               redact_url(self.primary.url), type(error).__name__, error, REDIS_RETRY_SECONDS)
        return getattr(self.fallback, operation)(*arguments)

    def acquire(self, bucket: str, limits: Limits, tokens: int) -> float:
        """See :meth:`LimitStore.acquire`."""
        return self._run("acquire", bucket, limits, tokens)

    def settle(self, bucket: str, limits: Limits, extra_tokens: int) -> None:
        """See :meth:`LimitStore.settle`."""
        self._run("settle", bucket, limits, extra_tokens)

    def pause(self, bucket: str, seconds: float) -> None:
        """See :meth:`LimitStore.pause`."""
        self._run("pause", bucket, seconds)

    def paused_for(self, bucket: str) -> float:
        """See :meth:`LimitStore.paused_for`."""
        return self._run("paused_for", bucket)


_stores: dict[str, LimitStore] = {}
_stores_lock = threading.Lock()


def open_store(target: str) -> LimitStore:
    """The store for a ``rate_limit`` setting (``memory`` or a Redis URL), opened once per process."""
    with _stores_lock:
        store = _stores.get(target)
        if store is None:
            memory = _stores.setdefault("memory", MemoryStore())
            store = memory if target == "memory" else FallbackStore(RedisStore(target), memory)
            _stores[target] = store
    return store


def forget_stores() -> None:
    """Drop every store (tests; a changed configuration)."""
    with _stores_lock:
        _stores.clear()
    with _first_calls_lock:
        _first_calls.clear()


# -- what one completion reserves --------------------------------------------------------
def bucket_of(model: Model) -> str | None:
    """``provider|base URL|key fingerprint`` for a model sent to a server; ``None`` for mocks and in-process models."""
    from byllm.providers.provider import RemoteProvider

    provider = model.provider
    if not isinstance(provider, RemoteProvider):
        return None
    from byllm.providers.clients import key_fingerprint

    try:
        key = provider.api_key()
    except Exception:  # noqa: BLE001  (no key: the provider reports it when it sends)
        return None
    return f"{provider.name}|{provider.base_url or ''}|{key_fingerprint(key)}"


def estimate_tokens(request: CompletionRequest) -> int:
    """Tokens a request may use before it is sent: its text (about 4 characters a token) and ``max_tokens``."""
    import json

    size = sum(len(json.dumps(message.get("content"), default=str)) for message in request.messages)
    if request.output_schema is not None:
        size += len(json.dumps(request.output_schema))
    return size // CHARACTERS_PER_TOKEN + 1 + int(request.params.get("max_tokens") or 0)


def configured(settings: Settings | None = None) -> tuple[LimitStore, Limits] | None:
    """The store and limits the settings ask for, or ``None`` when the rate limit is off."""
    settings = get_settings() if settings is None else settings
    if not rate_limit_wanted(settings):
        return None
    limits = Limits(settings.rate_limit_rpm, settings.rate_limit_tpm)
    return open_store(settings.rate_limit or "memory"), limits


def ticket_for(model: Model, request: CompletionRequest) -> Ticket | None:
    """What one completion asks of the budget, or ``None`` when it is not limited (off, a mock, no key)."""
    setup = configured()
    if setup is None:
        return None
    bucket = bucket_of(model)
    if bucket is None:
        return None
    store, limits = setup
    tokens = estimate_tokens(request) if limits.tokens_per_minute else 0
    _observe_transport_retries()
    return Ticket(bucket, limits, tokens, store)


# The first completion of a bucket in a process (and on each event loop: async clients are per loop) goes
# alone: it imports the SDK and builds the client, which can take a second; completions admitted meanwhile
# would all be sent together when it is done.
FIRST_CALL_TIMEOUT = 30.0
FIRST_CALL_POLL = 0.005
_first_calls: dict[tuple[str, int], threading.Event] = {}
_first_calls_lock = threading.Lock()


def first_call_pending(ticket: Ticket, loop: int = 0) -> threading.Event | None:
    """The event to wait for while the bucket's first completion is on its way; claims it if none was sent yet.

    ``loop`` is ``id()`` of the running event loop for async completions (0 for synchronous ones).
    """
    with _first_calls_lock:
        done = _first_calls.get((ticket.bucket, loop))
        if done is None:
            _first_calls[(ticket.bucket, loop)] = threading.Event()
            ticket.first = loop or -1
            return None
    return None if done.is_set() else done


def warm_up(model: Model) -> None:
    """Import the provider's SDK and build a client once, before the first admission of a bucket.

    Importing ``openai`` takes seconds; done after admission, it would hold back
    the first completion while the others admitted meanwhile go out together.
    """
    provider = model.provider
    transport = getattr(provider, "transport", None)
    package = getattr(transport, "package", None)
    if not isinstance(package, str):
        return
    import functools
    import importlib

    try:
        module = importlib.import_module(package)
        for class_name in (transport.client_class, "Async" + transport.client_class):
            client = getattr(module, class_name)(api_key="warm-up", base_url=provider.base_url, max_retries=0)
            functools.reduce(getattr, transport.method.split("."), client)
    except Exception as error:  # noqa: BLE001  (warming is an optimisation; the real call reports problems)
        logger.debug("byllm rate limit: warming %s failed: %s", package, error)


def first_call_finished(ticket: Ticket | None) -> None:
    """The bucket's first completion is done (or failed): the others may go."""
    if ticket is not None and ticket.first:
        _first_calls[(ticket.bucket, max(ticket.first, 0))].set()


def _acquire(ticket: Ticket) -> float:
    return ticket.store.acquire(ticket.bucket, ticket.limits, ticket.tokens)


def settle(ticket: Ticket, reply: Any) -> None:
    """Give back (or take) the difference between the tokens reserved and those the reply used.

    A streamed reply is settled once its last chunk has been read (its usage comes with it).
    """
    from byllm.providers.base import StreamingReply

    if isinstance(reply, StreamingReply) and not reply.done:
        reply.add_done_callback(lambda done: settle(ticket, done))
        return
    usage = getattr(reply, "usage", None)
    if ticket.tokens and usage is not None:
        ticket.store.settle(ticket.bucket, ticket.limits, usage.total_tokens - ticket.tokens)


def publish_pause(bucket: str, seconds: float) -> None:
    """Tell every worker sharing ``bucket`` to wait ``seconds`` (a server's ``Retry-After``)."""
    setup = configured()
    if setup is not None and seconds > 0:
        logger.info("byllm rate limit: pausing %s for %.3f s (Retry-After)", bucket.split("|")[0], seconds)
        setup[0].pause(bucket, seconds)


def _retry_after(error: BaseException) -> float | None:
    """The wait a rate-limit error carries, if any."""
    seconds = getattr(error, "retry_after", None)
    return float(seconds) if isinstance(seconds, (int, float)) and seconds > 0 else None


# The bucket of the completion being sent in this thread or task (transport retries read it).
current_bucket: contextvars.ContextVar[str | None] = contextvars.ContextVar("byllm_ratelimit_bucket", default=None)


@dataclass
class _Passage:
    """Whether a completion got past the cache and other answering plugins to the provider."""

    ticket: Ticket | None = None
    reached: bool = False


_passage: contextvars.ContextVar[_Passage | None] = contextvars.ContextVar("byllm_ratelimit_passage", default=None)


def wait_for_budget(model: Model, request: CompletionRequest) -> Ticket | None:
    """Sleep until the completion is admitted (pauses included); its ticket, or ``None`` when not limited."""
    ticket = ticket_for(model, request)
    if ticket is not None:
        pending = first_call_pending(ticket)
        if pending is not None:
            pending.wait(FIRST_CALL_TIMEOUT)
        elif ticket.first:
            warm_up(model)
        while (wait := _acquire(ticket)) > 0:
            time.sleep(wait)
    return ticket


async def await_budget(model: Model, request: CompletionRequest) -> Ticket | None:
    """Async form of :func:`wait_for_budget` (a Redis round trip runs in a worker thread)."""
    import asyncio

    ticket = ticket_for(model, request)
    if ticket is not None:
        pending = first_call_pending(ticket, id(asyncio.get_running_loop()))
        if pending is not None:  # polled: worker threads may be what the first call itself needs
            deadline = time.monotonic() + FIRST_CALL_TIMEOUT
            while not pending.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(FIRST_CALL_POLL)
        elif ticket.first:
            await asyncio.to_thread(warm_up, model)
        in_process = isinstance(ticket.store, MemoryStore)
        while (wait := _acquire(ticket) if in_process else await asyncio.to_thread(_acquire, ticket)) > 0:
            await asyncio.sleep(wait)
    return ticket


# -- the plugin ---------------------------------------------------------------------
class RateLimitGate:
    """Runs after the cache (``tryfirst``) and before the provider: a completion reaching it spends budget."""

    @staticmethod
    @hookimpl
    def llm_complete(model: Model, request: CompletionRequest) -> None:
        """Wait for budget (sync calls), then let the provider answer."""
        passage = _passage.get()
        if passage is not None:
            passage.reached = True
            passage.ticket = wait_for_budget(model, request)
            if passage.ticket is not None:
                current_bucket.set(passage.ticket.bucket)
        return None

    @staticmethod
    @hookimpl
    def llm_acomplete(model: Model, request: CompletionRequest) -> None:
        """Mark the completion as going to the provider; the wrapper waits for budget asynchronously."""
        passage = _passage.get()
        if passage is not None:
            passage.reached = True
        return None


class RateLimitWrapper:
    """Around every completion: correct the token budget after it, publish a pause after a 429."""

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_complete(model: Model, request: CompletionRequest) -> Generator[None, Any, CompletionReply]:
        """Settle tokens after a sync completion; a rate-limit error with ``Retry-After`` pauses everyone."""
        passage = _Passage()
        token = _passage.set(passage)
        bucket_token = current_bucket.set(None)
        try:
            reply = yield
        except Exception as error:
            _after_failure(passage.ticket, error)
            raise
        finally:
            first_call_finished(passage.ticket)
            current_bucket.reset(bucket_token)
            _passage.reset(token)
        if passage.ticket is not None:
            settle(passage.ticket, reply)
        return reply

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Generator[None, Any, Any]:
        """Wrap the provider's awaitable: wait for budget before it runs, settle after."""
        passage = _Passage()
        token = _passage.set(passage)
        try:
            pending = yield
        finally:
            _passage.reset(token)
        if not passage.reached or pending is None:
            return pending
        return _limited(model, request, pending)


async def _limited(model: Model, request: CompletionRequest, pending: Awaitable[CompletionReply]) -> CompletionReply:
    ticket = await await_budget(model, request)
    bucket_token = current_bucket.set(ticket.bucket if ticket else None)
    try:
        reply = await pending
    except Exception as error:
        _after_failure(ticket, error)
        raise
    finally:
        first_call_finished(ticket)
        current_bucket.reset(bucket_token)
    if ticket is not None:
        settle(ticket, reply)
    return reply


def _after_failure(ticket: Ticket | None, error: BaseException) -> None:
    from byllm.errors import RateLimitError

    seconds = _retry_after(error)
    if ticket is not None and isinstance(error, RateLimitError) and seconds:
        publish_pause(ticket.bucket, seconds)


def share_retry_after(error: BaseException, retry_after: float | None, wait: float) -> float:
    """Before a provider retries: publish a 429's ``Retry-After`` to every worker, and honour theirs.

    A transport retry observer (``byllm.providers.transport.retry_observers``);
    it acts only inside a rate-limited completion (``current_bucket`` is set).
    """
    bucket = current_bucket.get()
    setup = configured() if bucket is not None else None
    if bucket is None or setup is None:
        return wait
    from byllm.errors import RateLimitError

    if isinstance(error, RateLimitError) and retry_after:
        publish_pause(bucket, retry_after)
    return max(wait, setup[0].paused_for(bucket))


def _observe_transport_retries() -> None:
    """Make providers' retries share and honour pauses (from the first limited completion on)."""
    global _observing
    if not _observing:
        from byllm.providers import transport

        if share_retry_after not in transport.retry_observers:
            transport.retry_observers.append(share_retry_after)
        _observing = True


_observing = False
