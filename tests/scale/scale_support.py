"""What the scale-out tests and their worker processes share: paths, and the fake server's answers.

Worker processes (process pools, Dask, Ray) import test functions by module name,
so this module has a name of its own (never import ``conftest`` by name: in a full
run another folder's conftest may come first on ``sys.path``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
PROVIDERS = HERE.parent / "providers"
for _folder in (str(PROVIDERS), str(HERE)):
    if _folder not in sys.path:
        sys.path.insert(0, _folder)

from fake_server import RecordedRequest, Scripted, error, openai_text  # noqa: E402

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
