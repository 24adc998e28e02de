"""By-llm functions the scale-out tests send to worker processes (importable there by module name).

The model reads the fake server's URL from ``BYLLM_SCALE_TEST_URL`` when this
module is imported, so each worker builds its own model and provider.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum

from byllm.lib import Model, by

URL = os.environ.get("BYLLM_SCALE_TEST_URL", "http://127.0.0.1:9/v1")
KEY = os.environ.get("BYLLM_SCALE_TEST_KEY", "sk-scale-test-key")

llm = Model("gpt-4o-mini", base_url=URL, api_key=KEY, max_retries=0, retries=0)


class Loudness(Enum):
    """How loud a word is."""

    QUIET = "quiet"
    LOUD = "loud"


@dataclass
class Verdict:
    """A word and how it was judged."""

    word: str
    loudness: Loudness


@by(llm)
def shout(word: str) -> str:
    """Shout the word."""


@by(llm)
def judge(word: str) -> Verdict:
    """Judge how loud the word is."""


@by(llm)
async def ashout(word: str) -> str:
    """Shout the word."""


@by(llm)
def count(word: str) -> int:
    """Count the letters of the word."""
