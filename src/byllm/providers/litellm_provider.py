"""Any provider LiteLLM supports, for ``litellm/<provider>/<model>`` names (optional extra).

Install with ``pip install "jaclang[litellm]"``. LiteLLM speaks the OpenAI
format on both sides, so this is the OpenAI-compatible provider with LiteLLM as
its transport; LiteLLM's own retries are switched off in favour of byllm's.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from byllm.errors import ConfigurationError
from byllm.providers.base import CompletionRequest
from byllm.providers.openai_provider import OpenAICompatibleProvider
from byllm.providers.transport import Connection, Transport

PREFIX = "litellm/"
# LiteLLM downloads its model cost map from GitHub when it is imported (about 15 s offline before it
# gives up) unless this is "True"; byllm prices calls itself, so the copy inside the package does.
LOCAL_COST_MAP_VARIABLE = "LITELLM_LOCAL_MODEL_COST_MAP"


def _litellm() -> Any:
    """The ``litellm`` module, or a clear error saying how to install it.

    LiteLLM's bundled cost map is used unless the user set the variable
    themselves (``LITELLM_LOCAL_MODEL_COST_MAP=False`` fetches the remote one).
    """
    os.environ.setdefault(LOCAL_COST_MAP_VARIABLE, "True")
    try:
        import litellm
    except ImportError:
        raise ConfigurationError(
            'litellm/... models need LiteLLM: install the extra with pip install "jaclang[litellm]"'
        ) from None
    return litellm


class LiteLLMTransport:
    """Sends a Chat Completions body through ``litellm.completion`` / ``acompletion``."""

    def send(self, body: dict[str, Any], connection: Connection) -> Any:
        """One ``litellm.completion`` call."""
        return _litellm().completion(**self._arguments(body, connection))

    async def asend(self, body: dict[str, Any], connection: Connection) -> Any:
        """One ``litellm.acompletion`` call."""
        return await _litellm().acompletion(**self._arguments(body, connection))

    @staticmethod
    def _arguments(body: dict[str, Any], connection: Connection) -> dict[str, Any]:
        arguments = {**body, "num_retries": 0}
        if connection.timeout is not None:
            arguments["timeout"] = connection.timeout
        if connection.api_key:
            arguments["api_key"] = connection.api_key
        base_url = connection.base_url or os.environ.get("LITELLM_BASE_URL")
        if base_url:
            arguments["api_base"] = base_url
        if connection.headers:
            arguments["extra_headers"] = dict(connection.headers)
        return arguments


class LiteLLMProvider(OpenAICompatibleProvider):
    """A provider that hands requests to LiteLLM; keys come from ``api_key=`` or LiteLLM's own variables."""

    placeholder_key = None
    transport: Transport = LiteLLMTransport()

    def __init__(self, *, json_mode: bool | str | None = None, **settings: Any) -> None:
        """``settings`` are :class:`RemoteProvider`'s; ``json_mode=None`` asks LiteLLM whether the model takes a schema."""
        super().__init__(name="litellm", prefix=PREFIX, api_key_env=None, key_required=False, **settings)
        self.json_mode = json_mode

    def model_id(self, model_name: str) -> str:
        """LiteLLM's own model name: ``litellm/openai/gpt-4o`` -> ``openai/gpt-4o``."""
        model = super().model_id(model_name)
        if "/" not in model:
            raise ConfigurationError(
                f"LiteLLM model names look like 'litellm/<provider>/<model>' (e.g. litellm/openai/gpt-4o-mini), "
                f"got {model_name!r}"
            )
        return model

    def wants_schema(self, request: CompletionRequest) -> bool:
        """The ``json_mode`` setting, else whether LiteLLM says the model supports response schemas."""
        return bool(self.json_mode) if self.json_mode is not None else supports_response_schema(request.model)


@functools.lru_cache(maxsize=256)
def supports_response_schema(model: str) -> bool:
    """Whether LiteLLM knows ``model`` to take a ``response_format`` JSON schema (asked once per model)."""
    litellm = _litellm()
    try:
        return bool(litellm.supports_response_schema(model=model))
    except Exception:  # unknown models: describe the schema in the prompt only
        return False
