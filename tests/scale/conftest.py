"""Fixtures for the scale-out tests: the loopback fake server, seen by worker processes through the environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scale_support import word_responder  # noqa: E402
from fake_server import FakeLLMServer  # noqa: E402


@pytest.fixture(scope="session")
def scale_server() -> Iterator[FakeLLMServer]:
    """One fake OpenAI-compatible server for the session; workers find it through ``BYLLM_SCALE_TEST_URL``."""
    server = FakeLLMServer(responder=word_responder, record=False).start()
    previous = os.environ.get("BYLLM_SCALE_TEST_URL")
    os.environ["BYLLM_SCALE_TEST_URL"] = server.openai_url
    try:
        yield server
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("BYLLM_SCALE_TEST_URL", None)
        else:
            os.environ["BYLLM_SCALE_TEST_URL"] = previous


@pytest.fixture(scope="session")
def functions(scale_server: FakeLLMServer):
    """The module of test by-llm functions, imported once the server's URL is known."""
    import jaclang  # noqa: F401

    import scale_functions

    assert scale_functions.URL == scale_server.openai_url, "scale_functions was imported before the server started"
    return scale_functions
