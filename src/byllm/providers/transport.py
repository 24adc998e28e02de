"""How a request reaches a server and comes back: transports, retries and typed errors.

A *transport* is the swappable part of a provider: it sends the JSON-shaped wire
body a provider built over a :class:`Connection` (base URL, key, timeout,
headers) and returns the wire response, or an iterable of events for a stream.
:class:`SDKTransport` uses an official SDK; an own HTTP client only has to offer
the same two methods (byllm's own, for the OpenAI Chat Completions protocol, is
:mod:`byllm.providers.chat_completions`), raising :class:`WireFailure`\\ s.

Retries are byllm's, the same for every transport: exponential backoff with full
jitter on 429, 5xx, timeouts, dropped connections and malformed or empty
replies, honouring ``Retry-After`` / ``retry-after-ms``. Failures become
:mod:`byllm.errors` types whose messages never contain a credential.

Modules only some paths need (asyncio, email's date parser, random, inspect,
byllm.redact) are imported where they are used: a program's first synchronous call does not
wait for them.
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Hashable, Mapping, Protocol, Sequence, TypeVar

from byllm.errors import (
    AuthenticationError,
    ByLLMError,
    ConfigurationError,
    MalformedReplyError,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
)
from byllm.logs import logger
from byllm.providers.base import setting
from byllm.providers.clients import cached_async_client, cached_client, key_identity


Result = TypeVar("Result")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 20.0
# A server asking us to wait longer than this gets an error at once:
# blocking a program for minutes is worse than telling the caller.
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
# Exceptions from these packages are transport or API failures; anything else
# (a bug, a bad argument) is re-raised untouched instead of becoming a ProviderError.
SDK_PACKAGES = frozenset({"openai", "anthropic", "litellm", "httpx", "httpx2", "httpcore", "httpcore2", "h11"})


@dataclass(frozen=True)
class RetryPolicy:
    """How a provider retries: attempts, backoff base and per-request timeout."""

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    timeout: float | None = DEFAULT_TIMEOUT

    @classmethod
    def from_config(cls, config: Any) -> RetryPolicy:
        """The policy a model's configuration asks for (``max_retries``, ``retry_backoff``, ``timeout``)."""
        has_timeout = "timeout" in config if isinstance(config, Mapping) else hasattr(config, "timeout")
        timeout = setting(config, "timeout") if has_timeout else DEFAULT_TIMEOUT
        policy = cls(
            max_retries=int(setting(config, "max_retries", DEFAULT_MAX_RETRIES)),
            backoff=float(setting(config, "retry_backoff", DEFAULT_BACKOFF)),
            timeout=None if timeout is None else float(timeout),
        )
        if policy.max_retries < 0 or policy.backoff < 0 or (policy.timeout is not None and policy.timeout <= 0):
            raise ConfigurationError(
                f"invalid transport settings max_retries={policy.max_retries}, "
                f"retry_backoff={policy.backoff}, timeout={policy.timeout}: "
                "use max_retries >= 0, retry_backoff >= 0 and timeout > 0 (or None)"
            )
        return policy

    def backoff_delay(self, attempt: int) -> float:
        """The jittered wait before retry number ``attempt`` (1-based)."""
        import random

        ceiling = min(MAX_BACKOFF, self.backoff * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Connection:
    """Where and how a transport sends one request: base URL, key, timeout and extra headers."""

    base_url: str | None
    api_key: str | None
    timeout: float | None
    headers: Mapping[str, str] = field(default_factory=dict)


class TransientError(Exception):
    """A failure worth retrying; ``error`` is the byllm error to raise when retries run out."""

    def __init__(self, error: ProviderError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


Classifier = Callable[[BaseException], "ByLLMError | TransientError | None"]


class WireFailure(Exception):
    """A failure an own HTTP transport reports, mapped by :func:`classify_error` like an SDK's errors.

    Subclasses say what happened; the message must not contain a credential
    (it is redacted again when mapped).
    """


class HTTPStatusFailure(WireFailure):
    """The server answered with an error status (``None``: an error event mid-stream); ``body`` is its decoded JSON or text."""

    def __init__(self, status_code: int | None, body: Any, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status_code}" if status_code else "the server reported an error")
        self.status_code = status_code
        self.body = body
        self.headers = headers


class ConnectionFailure(WireFailure):
    """No answer: the connection could not be opened, or was dropped or reset (retried)."""


class TimeoutFailure(WireFailure):
    """No answer within the timeout (retried)."""


class Transport(Protocol):
    """Carries a wire body to a server and brings back its response: the swappable part of a provider.

    Failures are raised as byllm errors (a :class:`TransientError` when worth
    retrying) or as the SDK's own exceptions, which :func:`classify_error` maps.
    """

    def send(self, body: dict[str, Any], connection: Connection) -> Any:
        """The wire response to ``body`` (an iterable of events when ``body["stream"]`` is true)."""

    async def asend(self, body: dict[str, Any], connection: Connection) -> Any:
        """The wire response without blocking the event loop (an async iterable of events for streams)."""


# -- the SDK transport ---------------------------------------------------------------
@dataclass(frozen=True)
class SDKTransport:
    """Sends through an official SDK (``openai``, ``anthropic``) with the SDK's own retries off.

    One client per base URL and key, shared by every call and thread (async
    clients: one per event loop). Body members the SDK method does not name
    travel in ``extra_body``, so server-specific parameters arrive unchanged.
    """

    package: str  # the SDK's import name
    client_class: str  # the synchronous client; the async one is "Async" + this name
    method: str  # the client's method, e.g. "chat.completions.create"

    def send(self, body: dict[str, Any], connection: Connection) -> Any:
        """Call the SDK method on the cached synchronous client."""
        return self._call(cached_client(*self._client(self.client_class, connection)), body, connection)

    async def asend(self, body: dict[str, Any], connection: Connection) -> Any:
        """Call the SDK method on the event loop's cached async client."""
        client = cached_async_client(*self._client("Async" + self.client_class, connection))
        return await self._call(client, body, connection)

    def _client(self, name: str, connection: Connection) -> tuple[Hashable, Callable[[], Any]]:
        """A client's cache key, and how to build it."""
        def build() -> Any:
            import importlib

            try:
                sdk = importlib.import_module(self.package)
            except ImportError:
                raise ConfigurationError(f"this provider sends through the {self.package} SDK, which is not "
                                         f"installed: pip install \"jaclang[{self.package}]\" (or pip install {self.package})"
                                         ) from None
            return getattr(sdk, name)(api_key=connection.api_key, base_url=connection.base_url, max_retries=0)

        return (self.package, name, connection.base_url, key_identity(connection.api_key)), build

    def _call(self, client: Any, body: dict[str, Any], connection: Connection) -> Any:
        method = functools.reduce(getattr, self.method.split("."), client)
        known = _sdk_parameters.get(self)
        if known is None:  # read once per SDK method
            import inspect

            known = _sdk_parameters[self] = frozenset(inspect.signature(method).parameters) - {"extra_body"}
        arguments = {key: value for key, value in body.items() if key in known}
        if len(arguments) < len(body):
            arguments["extra_body"] = {key: value for key, value in body.items() if key not in known}
        if connection.timeout is not None:
            arguments["timeout"] = connection.timeout
        if connection.headers:
            arguments["extra_headers"] = dict(connection.headers)
        return method(**arguments)


_sdk_parameters: dict[SDKTransport, frozenset[str]] = {}


# -- errors --------------------------------------------------------------------------
def classify_error(error: BaseException, provider: str, secrets: Sequence[str] = ()) -> ByLLMError | TransientError | None:
    """The byllm error an exception raised while sending stands for.

    A :class:`TransientError` is retried. Undecodable bodies (a 200 cut short,
    HTML where JSON was promised) become retried :class:`MalformedReplyError`\\ s
    without the body in the message. SDK errors share one shape across OpenAI,
    Anthropic and LiteLLM (``status_code``, ``response``, ``body``), so duck
    typing covers them. ``None`` means "not a transport failure": re-raise it.
    """
    if isinstance(error, TransientError):
        return error
    if isinstance(error, MalformedReplyError):
        return TransientError(error)
    if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError, RecursionError)):
        reason = getattr(error, "msg", None) or getattr(error, "reason", None) or "nested too deeply"
        return TransientError(MalformedReplyError(
            f"{provider}: the reply body is not valid JSON (truncated or malformed: {reason})", provider=provider))
    if not isinstance(error, WireFailure) and type(error).__module__.split(".")[0] not in SDK_PACKAGES:
        return None
    from byllm.redact import redact  # error paths only: its patterns are compiled on import

    status = getattr(error, "status_code", None)
    message = redact(_provider_message(error), secrets)
    kind = type(error).__name__
    if "Timeout" in kind:  # client-side timeouts, and LiteLLM's Timeout (which carries status 408)
        return TransientError(ProviderTimeout(
            f"{provider}: no answer within the timeout ({message}); raise `timeout` in the model's "
            "configuration if the model is slow",
            provider=provider, status=status if isinstance(status, int) else None))
    if not isinstance(status, int):
        if "Connection" in kind:
            cause = error.__cause__ or error.__context__
            detail = f"{message} ({type(cause).__name__}: {redact(str(cause), secrets)})" if cause else message
            return TransientError(ProviderError(f"{provider}: connection failed: {detail}", provider=provider))
        return ProviderError(f"{provider}: {message}", provider=provider)
    headers = getattr(error, "headers", None) if isinstance(error, WireFailure) else None
    headers = headers or getattr(getattr(error, "response", None), "headers", None)
    if status in (401, 403):
        hint = "check the API key (api_key=... or the provider's environment variable)"
        return AuthenticationError(f"{provider} rejected the credentials (HTTP {status}): {message}; {hint}",
                                   provider=provider, status=status)
    if status == 429:
        failure: ProviderError = RateLimitError(f"{provider} rate limit (HTTP 429): {message}",
                                                provider=provider, status=status)
        return TransientError(failure, retry_after_seconds(headers))
    failure = ProviderError(f"{provider} error (HTTP {status}): {message}", provider=provider, status=status)
    if status in RETRYABLE_STATUSES or status >= 500:
        return TransientError(failure, retry_after_seconds(headers))
    return failure


def _provider_message(error: BaseException) -> str:
    """The provider's own error text, taken from the JSON body when there is one."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    if isinstance(error, HTTPStatusFailure) and isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return getattr(error, "message", None) or str(error) or type(error).__name__


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a response asks for: ``retry-after-ms``, else ``Retry-After`` in seconds or as an HTTP date.

    Unusable values (``nan``, garbage, an unparsable date) count as absent, so
    the normal backoff applies; negative waits and dates in the past are 0;
    ``inf`` and huge values stay huge (and end the retries, see ``MAX_RETRY_AFTER``).
    """
    if not headers:
        return None
    milliseconds = _seconds(headers.get("retry-after-ms"), 1000.0)
    if milliseconds is not None:
        return milliseconds
    value = headers.get("retry-after")
    seconds = _seconds(value, 1.0)
    if seconds is not None or not value:
        return seconds
    import email.utils

    try:
        moment = email.utils.parsedate_to_datetime(value)
        return max(moment.timestamp() - time.time(), 0.0)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _seconds(text: str | None, per_second: float) -> float | None:
    try:
        value = float(text) / per_second  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else max(value, 0.0)


# -- the retry loop ------------------------------------------------------------------
# Called before each retry with (the error, the server's Retry-After or None, the wait chosen); each returns
# the wait to use. byllm.ratelimit adds one: a Retry-After pauses every worker sharing the key, and a pause
# another worker published is honoured here too.
retry_observers: list[Callable[[ProviderError, "float | None", float], float]] = []
def _next_step(error: Exception, classify: Classifier, policy: RetryPolicy, failures: int, provider: str) -> float | Exception:
    """Seconds to wait before the next attempt after ``error``, or the error to give up with.

    Errors that are not transport failures come back unchanged; permanent ones
    at once; transient ones are retried until ``max_retries`` or a ``Retry-After``
    beyond ``MAX_RETRY_AFTER``, and then say how many attempts were made.
    """
    permanent = isinstance(error, ByLLMError) and not isinstance(error, MalformedReplyError)
    mapped = error if permanent else classify(error)
    if mapped is None:
        return error
    if not isinstance(mapped, TransientError):
        if isinstance(mapped, ProviderError):
            mapped.attempts = failures
        return mapped
    if mapped.retry_after is not None:
        mapped.error.retry_after = mapped.retry_after  # type: ignore[attr-defined]  (read by byllm.ratelimit)
    if mapped.retry_after is not None and mapped.retry_after > MAX_RETRY_AFTER:
        return _gave_up(mapped.error, failures, f"the server asked to wait {mapped.retry_after:.0f} s, longer than "
                        f"byllm waits ({MAX_RETRY_AFTER:.0f} s)")
    if failures > policy.max_retries:
        return _gave_up(mapped.error, failures, f"max_retries={policy.max_retries}")
    wait = policy.backoff_delay(failures) if mapped.retry_after is None else mapped.retry_after
    for observe in retry_observers:
        wait = observe(mapped.error, mapped.retry_after, wait)
    logger(__name__).info("%s: retry %d/%d in %.3fs after: %s", provider, failures, policy.max_retries, wait, mapped.error)
    return wait


def _gave_up(error: ProviderError, attempts: int, reason: str) -> ProviderError:
    """``error`` with the number of attempts made recorded on it and in its message."""
    error.attempts = attempts
    plural = "s" if attempts != 1 else ""
    error.args = (f"{error.args[0] if error.args else error} (gave up after {attempts} attempt{plural}; {reason})",)
    return error


# The error is raised outside the ``except`` block, so a typed error does not carry
# the raw one as its context (a JSONDecodeError's ``doc`` is the whole reply body).
def call_with_retries(attempt: Callable[[], Result], policy: RetryPolicy, classify: Classifier, provider: str) -> Result:
    """Run ``attempt`` until it succeeds, retrying transient failures per ``policy``."""
    failures = 0
    while True:
        try:
            return attempt()
        except Exception as error:
            failures += 1
            step = _next_step(error, classify, policy, failures, provider)
        if isinstance(step, Exception):
            raise step
        time.sleep(step)


async def acall_with_retries(attempt: Callable[[], Awaitable[Result]], policy: RetryPolicy, classify: Classifier,
                             provider: str) -> Result:
    """Async form of :func:`call_with_retries`."""
    import asyncio  # loaded: the caller runs on an event loop

    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as error:
            failures += 1
            step = _next_step(error, classify, policy, failures, provider)
        if isinstance(step, Exception):
            raise step
        await asyncio.sleep(step)
