"""Secrets never show: byllm.redact on names, URLs and text, and in every provider repr and error."""

from __future__ import annotations

import pytest

from byllm.lib import AuthenticationError, Model, ProviderError, by
from byllm.providers.registry import builtin_provider
from byllm.redact import MASK, is_secret_name, redact, redact_mapping, redact_url
from fake_server import FakeLLMServer, error, malformed

KEY = "sk-redact-0123456789abcdef"


@pytest.mark.parametrize("name", [
    "Authorization", "api-key", "x-api-key", "X-Goog-Api-Key", "authorization_token", "apiKey", "access_token",
    "client_secret", "password", "Proxy-Authorization", "x-auth-token", "Cookie", "key", "AWS_SECRET_ACCESS_KEY",
])
def test_credential_names_are_recognised(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["max_tokens", "temperature", "top_k", "X-Team", "openai-organization", "seed",
                                  "stop", "tokens", "monkey", "keyboard_layout"])
def test_ordinary_names_are_left_alone(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(("url", "shown"), [
    ("http://user:KEY123@host:8000/v1", "http://user:***@host:8000/v1"),
    ("https://gateway/v1?key=abc123&team=search", "https://gateway/v1?key=***&team=search"),
    ("https://ghp_0123456789abcdefghij@host/v1", "https://***@host/v1"),
    ("http://localhost:11434/v1", "http://localhost:11434/v1"),
])
def test_urls_keep_everything_but_the_credential(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_mappings_mask_credential_values_at_any_depth() -> None:
    config = {"api-key": "azure-secret", "headers": {"Authorization": "Bearer abcdefghijkl", "X-Team": "search"},
              "base_url": "http://u:pw123456@h/v1", "temperature": 0.2, "empty_token": None}
    assert redact_mapping(config) == {"api-key": MASK, "headers": {"Authorization": MASK, "X-Team": "search"},
                                      "base_url": "http://u:***@h/v1", "temperature": 0.2, "empty_token": None}


def test_text_loses_bearer_tokens_key_shapes_and_named_secrets_with_their_tails() -> None:
    text = (f"bad key {KEY}, echoed as sk-re...{KEY[-8:]}; header Authorization: Bearer abc.def-123456 "
            "and sk-proj-ABCDEFGHIJKLMNOPQRST seen")
    shown = redact(text, [KEY])
    assert KEY not in shown and KEY[-8:] not in shown
    assert "abc.def-123456" not in shown and "ABCDEFGHIJKLMNOPQRST" not in shown
    assert shown.startswith("bad key ***")


def test_repr_of_a_provider_shows_no_credential_anywhere() -> None:
    provider = builtin_provider("house-model", {
        "base_url": f"http://svc:{KEY}@gateway:8000/v1?key={KEY}",
        "api_key": KEY,
        "headers": {"api-key": "azure-0123456789", "X-Team": "search"},
        "extra_params": {"authorization_token": "tok-0123456789", "top_k": 5},
    })
    shown = repr(provider)
    for secret in (KEY, "azure-0123456789", "tok-0123456789"):
        assert secret not in shown
    assert "X-Team" in shown and "'top_k': 5" in shown and "gateway:8000" in shown


def test_model_repr_shows_no_key() -> None:
    llm = Model("gpt-4o-mini", api_key=KEY, base_url=f"http://u:{KEY}@h/v1")
    assert KEY not in repr(llm) and KEY not in repr(llm.provider)


def test_errors_echoing_header_and_url_credentials_are_masked(fake_server: FakeLLMServer) -> None:
    url_secret = "url-pass-0123456789"
    base_url = fake_server.openai_url.replace("http://", f"http://svc:{url_secret}@")
    llm = Model("gpt-4o-mini", base_url=base_url, api_key=KEY, max_retries=0,
                headers={"api-key": "azure-0123456789"})

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    fake_server.script(error(401, f"bad api-key azure-0123456789 for {KEY} at {base_url}"))
    with pytest.raises(AuthenticationError) as raised:
        echo("x")
    for secret in (KEY, "azure-0123456789", url_secret):
        assert secret not in str(raised.value)


def test_a_malformed_body_quoting_the_key_is_masked_in_the_error(fake_server: FakeLLMServer) -> None:
    provider = builtin_provider("gpt-4o-mini", {"base_url": fake_server.openai_url, "api_key": KEY,
                                                "max_retries": 0})
    fake_server.script(malformed(f"<html>proxy saw Authorization: Bearer {KEY}</html>"))
    from byllm.providers.base import CompletionRequest

    with pytest.raises(ProviderError, match="not a chat completion") as raised:
        provider.complete(CompletionRequest(model="m", messages=[{"role": "user", "content": "x"}]))
    assert KEY not in str(raised.value)
