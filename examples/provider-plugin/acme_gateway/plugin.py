"""The plugin: answers byllm's ``llm_provider`` hook for model names starting with ``acme/``.

The gateway speaks the OpenAI Chat Completions API, so the provider is byllm's
OpenAI-compatible one, configured from the gateway's own environment variables
(``ACME_GATEWAY_URL``, ``ACME_API_KEY``, ``ACME_TEAM``). Tools, streaming,
async calls, structured output and byllm's retries all work unchanged.
"""

from __future__ import annotations

import os
from typing import Any

from jaclang.runtimelib.machine import hookimpl

PREFIX = "acme/"


class AcmeGatewayMachine:
    """Serves ``acme/<model>`` names; every other name is left to other providers."""

    @staticmethod
    @hookimpl
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        """A provider for ``acme/...`` models, or ``None`` for any other name."""
        if not model_name.startswith(PREFIX):
            return None
        # Imported here so that loading the plugin costs nothing for other models.
        from byllm.errors import ConfigurationError
        from byllm.providers.openai_provider import OpenAICompatibleProvider
        from byllm.providers.transport import RetryPolicy

        base_url = config.get("base_url") or os.environ.get("ACME_GATEWAY_URL")
        if not base_url:
            raise ConfigurationError(
                f"{model_name}: set ACME_GATEWAY_URL (or pass base_url=...) to reach the ACME gateway"
            )
        headers = {"X-Acme-Team": os.environ.get("ACME_TEAM", "unknown"), **(config.get("headers") or {})}
        return OpenAICompatibleProvider(
            name="acme",
            prefix=PREFIX,
            base_url=base_url,
            api_key=config.get("api_key"),
            api_key_env="ACME_API_KEY",
            key_required=True,
            json_mode=config.get("json_mode", True),  # the gateway supports response_format
            policy=RetryPolicy.from_config(config),
            headers=headers,
        )
