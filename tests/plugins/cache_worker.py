"""A separate process using the cache, for the multi-process tests.

``python cache_worker.py fill URL WORKER COUNT``: answer COUNT distinct calls
through the cache (plus COUNT calls shared by every worker), print how many
reached the provider. ``python cache_worker.py hammer PATH``: write big
entries to a SQLite cache until killed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def fill(url: str, worker: int, count: int) -> None:
    from jaclang.runtimelib.machine import plugin_manager
    from byllm.lib import Model, by
    from plugin_support import CountingProvider, CountingProviderPlugin

    provider = CountingProvider()
    plugin_manager.register(CountingProviderPlugin(provider), name="test-provider")
    llm = Model("test/worker", cache=url)

    @by(llm)
    def shout(word: str) -> str:
        """Shout the word."""

    for index in range(count):
        assert shout(f"w{worker}-{index}") == f"echo W{worker}-{index}".upper().replace("ECHO", "echo")
        shout(f"shared-{index}")
    print(provider.calls)


def hammer(path: str) -> None:
    from byllm.plugins.cache.backends import SqliteCache

    cache = SqliteCache(Path(path))
    payload = "x" * 200_000  # big enough that a write spans many pages
    index = 0
    while True:
        cache.set(f"key-{os.getpid()}-{index}", f"{index}:{payload}")
        index += 1


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "fill":
        fill(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "hammer":
        hammer(sys.argv[2])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
