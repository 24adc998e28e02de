"""Fixtures for the scale-out tests: the loopback fake server, seen by worker processes through the environment."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).parent
PROVIDERS = HERE.parent / "providers"
sys.path[:0] = [str(HERE), str(PROVIDERS)]

from fake_server import FakeLLMServer, RecordedRequest, Scripted, error, openai_text  # noqa: E402

# Worker processes import the test functions by module name: spawned ones (process pools, Dask)
# inherit sys.path; Ray's get WORKER_PYTHONPATH through their runtime environment.
WORKER_PYTHONPATH = os.pathsep.join([str(HERE), str(PROVIDERS)])

_INPUT = re.compile(r'- word = "([^"]*)"')
_FUNCTION = re.compile(r"Function: (\w+)\(")


def word_responder(request: RecordedRequest) -> Scripted:
    """Answer the test functions: ``shout`` upper-cases the word, ``judge*`` judges it; 'poison' gets a 400."""
    prompt = request.body["messages"][-1]["content"]
    word = _INPUT.search(prompt).group(1)
    function = _FUNCTION.search(prompt).group(1)
    if word == "poison":
        return error(400, "cannot answer poison")
    if function.startswith("judge"):
        loudness = "loud" if word.isupper() else "quiet"
        return openai_text(f'{{"word": "{word}", "loudness": "{loudness}"}}')
    if word == "unparsable" and function.startswith("count"):
        return openai_text("many")
    return openai_text(word.upper())


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
