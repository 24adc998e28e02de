"""Record the requests upstream byllm sends for the bench's five functions (bench/data/upstream_prompts.json).

Run it with a separate interpreter where upstream is installed, never this project's:

    python3.12 -m venv /tmp/upstream
    /tmp/upstream/bin/pip install byllm==0.6.19 jaclang
    /tmp/upstream/bin/python bench/data/record_upstream_prompts.py

A small OpenAI-compatible server on 127.0.0.1 answers each chat completion with
the bench's scripted reply and keeps the request body; the Jac program
``upstream_prompt_functions.jac`` (the five functions in upstream's syntax)
calls it through upstream's ``Model("gpt-4o-mini")`` and its default LiteLLM path
(``OPENAI_BASE_URL`` points LiteLLM at the server). The bodies are written as they arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ["translate", "famous_scientist", "judge_personality", "largest_cities", "Student.average_mark"]
# One reply per function, shaped as upstream asks: a value that is not an object is wrapped in its
# response_format's "schema_object_wrapper" member.
REPLIES = [
    "Bonjour",
    '{"name": "Marie Curie", "born": 1867, "field_of_work": "radioactivity"}',
    '{"schema_object_wrapper": "Introvert"}',
    '{"schema_object_wrapper": [{"name": "Tokyo", "population": 37000000}, {"name": "Osaka", "population": 19000000}, '
    '{"name": "Nagoya", "population": 9000000}]}',
    '{"schema_object_wrapper": 82.67}',
]


class Recorder(BaseHTTPRequestHandler):
    """Answers POST /v1/chat/completions with the next scripted reply and keeps the body."""

    bodies: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        Recorder.bodies.append(body)
        text = REPLIES[min(len(Recorder.bodies), len(REPLIES)) - 1]
        reply = {"id": "rec", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": text}}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environment = {**os.environ, "OPENAI_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
                   "OPENAI_API_KEY": "sk-bench", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    jac = Path(sys.executable).with_name("jac")
    run = subprocess.run([str(jac), "run", str(HERE / "upstream_prompt_functions.jac")], env=environment,
                         capture_output=True, text=True, timeout=300)
    server.shutdown()
    print(run.stdout, run.stderr[-2000:], sep="\n")
    if len(Recorder.bodies) != len(NAMES):
        raise SystemExit(f"expected {len(NAMES)} requests, got {len(Recorder.bodies)}")
    record = {
        "recorded_with": {"byllm": version("byllm"), "jaclang": version("jaclang"), "litellm": version("litellm")},
        "requests": dict(zip(NAMES, Recorder.bodies)),
    }
    (HERE / "upstream_prompts.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {HERE / 'upstream_prompts.json'}")


if __name__ == "__main__":
    main()
