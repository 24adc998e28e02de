"""By-llm functions the scale-out benchmark sends to Dask and Ray workers (imported there by module name)."""

from __future__ import annotations

import os

from byllm.lib import Model, by

llm = Model("gpt-4o-mini", base_url=os.environ.get("BYLLM_SCALE_BENCH_URL", "http://127.0.0.1:9/v1"),
            api_key="sk-bench-scale", max_retries=0)


@by(llm)
def shout(word: str) -> str:
    """Shout the word."""


@by(llm)
async def ashout(word: str) -> str:
    """Shout the word."""
