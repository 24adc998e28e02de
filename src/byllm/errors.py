"""The byllm error hierarchy: every failure a ``by llm()`` call can raise."""

from __future__ import annotations

from typing import Any


class ByLLMError(Exception):
    """Base class of every error byllm raises."""


class ConfigurationError(ByLLMError):
    """A model, call parameter or setting is missing or invalid."""


class ProviderError(ByLLMError):
    """The model provider failed to answer (after any transport retries).

    ``status`` is the HTTP status when there was one; ``provider`` names the
    provider; ``attempts`` counts the requests made before giving up. The
    message is the provider's own, with no credentials in it.
    """

    def __init__(self, message: str, *, provider: str = "", status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.attempts = attempts


class AuthenticationError(ProviderError):
    """The provider rejected the credentials (HTTP 401/403)."""


class RateLimitError(ProviderError):
    """The provider kept answering 429 Too Many Requests."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time."""


class MalformedReplyError(ProviderError):
    """The provider answered, but the body was truncated, not JSON, or not shaped like a completion.

    Transport faults of this kind are retried like a 5xx before this is raised.
    """


class EmptyReplyError(MalformedReplyError):
    """The provider returned no content: no choices, or a null message without tool calls."""


class ResponseFormatRejected(ProviderError):
    """The server refused ``response_format`` (JSON-schema mode): the call is asked again with the schema in the prompt.

    Not retried by the transport: :mod:`byllm.call` catches it, rebuilds the
    prompt and sends again; the provider remembers the server for the process.
    """


class OutputConversionError(ByLLMError):
    """The model's reply could not be turned into the declared return type.

    Raised after the configured retries; ``raw_output`` is the last reply as the
    model sent it, ``expected_type`` the type it had to fit and ``attempts``
    every reply received.
    """

    def __init__(
        self,
        message: str,
        *,
        raw_output: Any,
        expected_type: Any,
        attempts: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.raw_output = raw_output
        self.expected_type = expected_type
        self.attempts = list(attempts or [raw_output])


class MockExhaustedError(ByLLMError):
    """A mock model was called more times than it has scripted outputs."""


class ToolError(ByLLMError):
    """A tool call could not be carried out (unknown tool, bad arguments, loop limit)."""


class MaxIterationsError(ToolError):
    """The tool loop reached ``max_iterations`` without the model finishing."""
