"""Secrets out of sight: one place that knows what a credential looks like.

Every error message, ``repr`` and log line that may show configuration or a
provider's text goes through :func:`redact` (or its two specialised forms), so
that keys never leave the process by accident. It knows three shapes:

* names: a header or parameter whose name looks like a credential
  (``Authorization``, ``api-key``, ``x-api-key``, ``authorization_token``,
  ``apiKey``, ``password``, ...) has its value masked;
* URLs: the password in ``http://user:KEY@host`` and credential-named query
  parameters (``?key=...``) are masked;
* text: ``Bearer <token>``, well-known key shapes (``sk-...``) and any secret
  the caller names are masked wherever they appear.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

MASK = "***"

# A name is split into words (``x-api-key`` -> x, api, key; ``apiKey`` -> api, key); it is a
# credential when one word, or two adjacent words, is in this list. Whole words only, so
# ``max_tokens`` (tokens) and ``top_k`` stay visible.
_SECRET_WORDS = frozenset({
    "key", "apikey", "token", "secret", "password", "passwd", "pwd", "passphrase", "auth", "authorization",
    "bearer", "credential", "credentials", "cookie", "signature", "accesskey", "privatekey", "secretkey",
    "sessionid",
})
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SEPARATOR = re.compile(r"[^a-z0-9]+")
_URL_PASSWORD = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s/:@]*):(?P<password>[^\s/@]+)@")
_URL_USER_ONLY = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s/:@]{16,})@")
_QUERY_PARAMETER = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&#\s]+)=(?P<value>[^&#\s]*)")
_BEARER = re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})")
# Shapes of real provider keys (OpenAI, Anthropic, Groq, Google, GitHub, Slack, AWS access key ids).
_KEY_SHAPES = re.compile(
    r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|gsk_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{30,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b"
)
# A masked secret's tail is masked too: servers echo keys as ``sk-ab***wxyz12345``.
_SECRET_TAIL = 8
_MIN_SECRET = 4


def is_secret_name(name: object) -> bool:
    """Whether a header or parameter called ``name`` holds a credential (``api-key``, ``authorization_token``)."""
    if not isinstance(name, str) or not name:
        return False
    words = [word for word in _WORD_SEPARATOR.split(_CAMEL_BOUNDARY.sub("_", name).lower()) if word]
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(first + second in _SECRET_WORDS for first, second in zip(words, words[1:]))


def redact_url(url: str) -> str:
    """``url`` with the password of ``user:password@`` and credential-named query values masked."""
    if not isinstance(url, str):
        return url
    text = _URL_PASSWORD.sub(lambda match: f"{match['scheme']}{match['user']}:{MASK}@", url)
    text = _URL_USER_ONLY.sub(lambda match: f"{match['scheme']}{MASK}@", text)
    return _QUERY_PARAMETER.sub(_mask_query_parameter, text)


def _mask_query_parameter(match: re.Match[str]) -> str:
    if is_secret_name(match["name"]) and match["value"]:
        return f"{match['lead']}{match['name']}={MASK}"
    return match[0]


def redact_mapping(mapping: Mapping[Any, Any], secrets: Iterable[str | None] = ()) -> dict[Any, Any]:
    """A copy of ``mapping`` (headers, parameters, configuration) with every credential masked.

    Values under credential-like names are replaced by ``***``; other values are
    redacted by :func:`redact` (nested mappings, lists, URLs and text).
    """
    known = _usable_secrets(secrets)
    return {
        key: (MASK if value not in (None, "") else value) if is_secret_name(key) else _redact(value, known)
        for key, value in mapping.items()
    }


def redact(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """``value`` with credentials masked: text, URLs, mappings and lists of them; other values unchanged.

    ``secrets`` are exact strings to mask wherever they appear (the API key in
    use, a header's value), together with their last characters.
    """
    return _redact(value, _usable_secrets(secrets))


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return _redact_text(value, secrets)
    if isinstance(value, Mapping):
        return redact_mapping(value, secrets)
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(item, secrets) for item in value)
    return value


def _redact_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
        if len(secret) >= 2 * _SECRET_TAIL and secret[-_SECRET_TAIL:] in text:
            text = text.replace(secret[-_SECRET_TAIL:], MASK)
    if "://" in text or "?" in text:
        text = redact_url(text)
    text = _BEARER.sub(lambda match: f"{match['scheme']} {MASK}", text)
    return _KEY_SHAPES.sub(MASK, text)


def _usable_secrets(secrets: Iterable[str | None]) -> tuple[str, ...]:
    """The secrets long enough to mask without mangling ordinary text, longest first."""
    usable = {secret for secret in secrets if isinstance(secret, str) and len(secret) >= _MIN_SECRET}
    return tuple(sorted(usable, key=len, reverse=True))
