"""Settings read from the environment (and, through plugins, configuration files)."""

from __future__ import annotations

import os

FALLBACK_MODEL = "gpt-4o-mini"


def default_model_name() -> str:
    """The model used when ``Model()`` is given no name (``BYLLM_DEFAULT_MODEL``)."""
    return os.environ.get("BYLLM_DEFAULT_MODEL") or FALLBACK_MODEL


def default_retries(fallback: int) -> int:
    """How many times a reply that does not fit is asked for again (``BYLLM_RETRIES``)."""
    raw = os.environ.get("BYLLM_RETRIES")
    return int(raw) if raw else fallback
