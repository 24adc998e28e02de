"""Transport reliability shared by every HTTP provider: timeouts, retries, typed errors.

The SDKs' own retries are switched off (``max_retries=0``) so that every provider
retries the same way: exponential backoff with full jitter on 429, 5xx and
connection failures, honouring ``Retry-After`` / ``retry-after-ms``. SDK errors
become :mod:`byllm.errors` types carrying the provider's message, with the API
key scrubbed out of it.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, TypeVar

from byllm.errors import (
    AuthenticationError,
    ByLLMError,
    ConfigurationError,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
)

logger = logging.getLogger(__name__)

Result = TypeVar("Result")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 20.0
# A server asking us to wait longer than this gets a RateLimitError at once:
# blocking a program for minutes is worse than telling the caller.
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class RetryPolicy:
    """How a provider retries: attempts, backoff base and per-request timeout."""

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    timeout: float | None = DEFAULT_TIMEOUT

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        """The policy a model's configuration asks for (``max_retries``, ``retry_backoff``, ``timeout``)."""
        max_retries = config.get("max_retries")
        backoff = config.get("retry_backoff")
        timeout = config.get("timeout", DEFAULT_TIMEOUT)
        policy = cls(
            max_retries=DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries),
            backoff=DEFAULT_BACKOFF if backoff is None else float(backoff),
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
        ceiling = min(MAX_BACKOFF, self.backoff * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


class TransientError(Exception):
    """A failure worth retrying; ``error`` is the byllm error to raise when retries run out."""

    def __init__(self, error: ProviderError, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a response asks for (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    if not headers:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` (and its long tail) masked."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
        # Some servers echo a partially masked key (``sk-ab***wxyz``); its tail alone must not leak either.
        if len(secret) >= 12:
            text = text.replace(secret[-8:], "***")
    return text


def classify_sdk_error(error: BaseException, provider: str, api_key: str | None) -> ByLLMError | TransientError:
    """Turn an OpenAI / Anthropic SDK exception into a byllm error (or a transient failure).

    Both SDKs share the same shapes (``APIStatusError`` with ``status_code`` and
    ``response``, ``APIConnectionError``, ``APITimeoutError``), so duck typing
    covers them and any OpenAI-compatible client built the same way.
    """
    status = getattr(error, "status_code", None)
    message = scrub(_provider_message(error), api_key)
    kind = type(error).__name__
    if "Timeout" in kind:  # client-side timeouts, and LiteLLM's Timeout (which carries status 408)
        failure: ProviderError = ProviderTimeout(
            f"{provider}: no answer within the timeout ({message}); raise `timeout` in the model's "
            "configuration if the model is slow",
            provider=provider,
            status=status if isinstance(status, int) else None,
        )
        return TransientError(failure, None)
    if not isinstance(status, int):
        if "Connection" in kind:
            cause = error.__cause__ or error.__context__
            detail = f"{message} ({type(cause).__name__}: {scrub(str(cause), api_key)})" if cause else message
            return TransientError(
                ProviderError(f"{provider}: connection failed: {detail}", provider=provider), None
            )
        return ProviderError(f"{provider}: {message}", provider=provider)
    headers = getattr(getattr(error, "response", None), "headers", None)
    if status in (401, 403):
        hint = "check the API key (api_key=... or the provider's environment variable)"
        return AuthenticationError(f"{provider} rejected the credentials (HTTP {status}): {message}; {hint}",
                                   provider=provider, status=status)
    if status == 429:
        failure = RateLimitError(f"{provider} rate limit (HTTP 429): {message}", provider=provider, status=status)
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
    return getattr(error, "message", None) or str(error) or type(error).__name__


# Exceptions from these packages are transport or API failures; anything else
# (a bug, a bad argument) is re-raised untouched instead of becoming a ProviderError.
SDK_PACKAGES = frozenset({"openai", "anthropic", "litellm", "httpx", "httpx2", "httpcore", "httpcore2", "h11"})


def is_sdk_error(error: BaseException) -> bool:
    """Whether an exception comes from a provider SDK or its HTTP stack."""
    return type(error).__module__.split(".")[0] in SDK_PACKAGES


def _next_wait(policy: RetryPolicy, attempt: int, failure: TransientError) -> float | None:
    """Seconds to wait before retry ``attempt``, or ``None`` when it is time to give up."""
    if attempt > policy.max_retries:
        return None
    if failure.retry_after is not None:
        if failure.retry_after > MAX_RETRY_AFTER:
            return None
        return failure.retry_after
    return policy.backoff_delay(attempt)


def _wait_before_retry(
    error: Exception,
    classify: Callable[[BaseException], ByLLMError | TransientError],
    policy: RetryPolicy,
    attempt: int,
    provider: str,
) -> float:
    """Seconds to wait before retry ``attempt`` after ``error``; raises when it is not retried.

    Errors from outside the provider SDKs propagate unchanged; permanent SDK
    failures and exhausted retries raise the matching byllm error.
    """
    if not is_sdk_error(error):
        raise error
    mapped = classify(error)
    if not isinstance(mapped, TransientError):
        raise mapped from None
    wait = _next_wait(policy, attempt, mapped)
    if wait is None:
        raise mapped.error from None
    logger.info("%s: retry %d/%d in %.3fs after: %s", provider, attempt, policy.max_retries, wait, mapped.error)
    return wait


def call_with_retries(
    send: Callable[[], Result],
    policy: RetryPolicy,
    classify: Callable[[BaseException], ByLLMError | TransientError],
    provider: str,
) -> Result:
    """Run ``send`` until it succeeds, retrying transient failures per ``policy``."""
    attempt = 0
    while True:
        try:
            return send()
        except ByLLMError:
            raise
        except Exception as error:
            attempt += 1
            wait = _wait_before_retry(error, classify, policy, attempt, provider)
        time.sleep(wait)


async def acall_with_retries(
    send: Callable[[], Awaitable[Result]],
    policy: RetryPolicy,
    classify: Callable[[BaseException], ByLLMError | TransientError],
    provider: str,
) -> Result:
    """Async form of :func:`call_with_retries`."""
    attempt = 0
    while True:
        try:
            return await send()
        except ByLLMError:
            raise
        except Exception as error:
            attempt += 1
            wait = _wait_before_retry(error, classify, policy, attempt, provider)
        await asyncio.sleep(wait)


def final_error(failure: ByLLMError | TransientError) -> ByLLMError:
    """The error to raise for a failure that will not be retried."""
    return failure.error if isinstance(failure, TransientError) else failure


def stream_text(
    stream: Iterable[Any],
    text_of: Callable[[Any], str | None],
    classify: Callable[[BaseException], ByLLMError | TransientError],
) -> Iterator[str]:
    """Yield the text of each streamed item; an SDK failure mid-stream becomes a byllm error.

    Nothing is retried once text has flowed: the caller has already seen it.
    """
    try:
        for item in stream:
            text = text_of(item)
            if text:
                yield text
    except Exception as error:
        if not is_sdk_error(error):
            raise
        raise final_error(classify(error)) from None


async def astream_text(
    stream: AsyncIterable[Any],
    text_of: Callable[[Any], str | None],
    classify: Callable[[BaseException], ByLLMError | TransientError],
) -> AsyncIterator[str]:
    """Async form of :func:`stream_text`."""
    try:
        async for item in stream:
            text = text_of(item)
            if text:
                yield text
    except Exception as error:
        if not is_sdk_error(error):
            raise
        raise final_error(classify(error)) from None
