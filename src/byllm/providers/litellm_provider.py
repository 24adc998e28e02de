"""Any provider LiteLLM supports, for ``litellm/<provider>/<model>`` names (optional extra).

Install with ``pip install "jaclang[litellm]"``. LiteLLM speaks the
OpenAI format on both sides, so requests and replies map as for the OpenAI
provider; its own retries are switched off in favour of byllm's transport.
"""

from __future__ import annotations

import os
from typing import Any, AsyncIterator, Iterator

from byllm.errors import ConfigurationError
from byllm.providers.base import CompletionReply, CompletionRequest
from byllm.providers.openai_provider import (
    chunk_text,
    object_schema,
    reply_from_response,
    schema_name,
    tool_definition,
)
from byllm.providers.transport import (
    RetryPolicy,
    acall_with_retries,
    astream_text,
    call_with_retries,
    classify_sdk_error,
    stream_text,
)

PREFIX = "litellm/"


def _litellm() -> Any:
    """The ``litellm`` module, or a clear error saying how to install it."""
    try:
        import litellm
    except ImportError:
        raise ConfigurationError(
            'litellm/... models need LiteLLM: install the extra with pip install "jaclang[litellm]"'
        ) from None
    return litellm


class LiteLLMProvider:
    """A provider that hands requests to ``litellm.completion`` / ``acompletion``."""

    name = "litellm"

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        json_mode: bool | str | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._api_key = api_key
        self.base_url = base_url
        self.headers = dict(headers or {})
        self.json_mode = json_mode

    def __repr__(self) -> str:
        return f"LiteLLMProvider(base_url={self.base_url!r})"

    def model_id(self, model_name: str) -> str:
        """LiteLLM's own model name: ``litellm/openai/gpt-4o`` -> ``openai/gpt-4o``."""
        model = model_name[len(PREFIX):] if model_name.startswith(PREFIX) else model_name
        if "/" not in model:
            raise ConfigurationError(
                f"LiteLLM model names look like 'litellm/<provider>/<model>' (e.g. litellm/openai/gpt-4o-mini), "
                f"got {model_name!r}"
            )
        return model

    def classify(self, error: BaseException) -> Any:
        """Map a LiteLLM exception (OpenAI-shaped) to a byllm error."""
        return classify_sdk_error(error, self.name, self._api_key)

    def _wants_schema(self, litellm: Any, model: str) -> bool:
        if self.json_mode is not None:
            return bool(self.json_mode)
        try:
            return bool(litellm.supports_response_schema(model=model))
        except Exception:  # unknown models: describe the schema in the prompt only
            return False

    def request_arguments(self, litellm: Any, request: CompletionRequest, *, stream: bool = False) -> tuple[dict[str, Any], bool]:
        """Keyword arguments for ``litellm.completion`` and whether the schema was wrapped."""
        arguments: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            "num_retries": 0,
            **request.params,
        }
        if self.policy.timeout is not None:
            arguments["timeout"] = self.policy.timeout
        if self._api_key:
            arguments["api_key"] = self._api_key
        base_url = self.base_url or os.environ.get("LITELLM_BASE_URL")
        if base_url:
            arguments["api_base"] = base_url
        if self.headers:
            arguments["extra_headers"] = self.headers
        if request.tools:
            arguments["tools"] = [tool_definition(tool) for tool in request.tools]
        wrapped = False
        if request.output_schema is not None and not stream and self._wants_schema(litellm, request.model):
            schema, wrapped = object_schema(request.output_schema)
            arguments["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name(request.output_name), "schema": schema,
                                "strict": self.json_mode == "strict"},
            }
        if stream:
            arguments["stream"] = True
        return arguments, wrapped

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request with ``litellm.completion``."""
        litellm = _litellm()
        arguments, wrapped = self.request_arguments(litellm, request)
        response = call_with_retries(lambda: litellm.completion(**arguments), self.policy, self.classify, self.name)
        return reply_from_response(response, wrapped)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request with ``litellm.acompletion``."""
        litellm = _litellm()
        arguments, wrapped = self.request_arguments(litellm, request)
        response = await acall_with_retries(
            lambda: litellm.acompletion(**arguments), self.policy, self.classify, self.name
        )
        return reply_from_response(response, wrapped)

    def stream(self, request: CompletionRequest) -> Iterator[str]:
        """Yield the reply text as LiteLLM streams it."""
        litellm = _litellm()
        arguments, _ = self.request_arguments(litellm, request, stream=True)
        chunks = call_with_retries(lambda: litellm.completion(**arguments), self.policy, self.classify, self.name)
        yield from stream_text(chunks, chunk_text, self.classify)

    async def astream(self, request: CompletionRequest) -> AsyncIterator[str]:
        """Async form of :meth:`stream`."""
        litellm = _litellm()
        arguments, _ = self.request_arguments(litellm, request, stream=True)
        chunks = await acall_with_retries(
            lambda: litellm.acompletion(**arguments), self.policy, self.classify, self.name
        )
        async for text in astream_text(chunks, chunk_text, self.classify):
            yield text
