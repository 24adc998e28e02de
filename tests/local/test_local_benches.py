"""The local-model benchmarks stay in step with the providers they measure (no generation here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from byllm.providers.registry import LOCAL_SERVERS
from loopback_openai import LoopbackOpenAI

BENCH_DIRECTORY = Path(__file__).resolve().parents[2] / "bench"


def bench_module(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` (the bench folder is not a package)."""
    specification = importlib.util.spec_from_file_location(f"bench_{name}", BENCH_DIRECTORY / f"{name}.py")
    assert specification is not None and specification.loader is not None
    module = importlib.util.module_from_spec(specification)
    sys.modules[specification.name] = module  # dataclasses look their module up while being defined
    specification.loader.exec_module(module)
    return module


def test_typed_task_bench_runs_every_local_server_preset_with_and_without_constrained_decoding() -> None:
    typed_tasks = bench_module("typed_tasks")
    configurations = typed_tasks.all_configurations()
    for kind in LOCAL_SERVERS:
        modes = {configuration.constrained for configuration in configurations
                 if configuration.model_name.startswith(f"{kind}/")}
        assert modes == {True, False}, kind
    defaults = [configuration for configuration in configurations if configuration.constrained]
    assert all(configuration.settings == {} for configuration in defaults)


def test_typed_task_answers_are_checked_leniently_only_where_the_type_allows() -> None:
    typed_tasks = bench_module("typed_tasks")
    assert typed_tasks.correct(" Paris.", "Paris")
    assert typed_tasks.correct(1.505, 1.5)
    assert not typed_tasks.correct(2, 3)
    assert not typed_tasks.correct("5", 5)


def test_direct_client_posts_the_body_as_sent_and_decodes_the_reply(loopback: LoopbackOpenAI) -> None:
    bench_local = bench_module("bench_local")
    client = bench_local.DirectClient(loopback.url)
    body = {"model": "m", "messages": [{"role": "user", "content": "héllo"}], "temperature": 0.0}
    try:
        reply = client.send(body)
    finally:
        client.close()
    assert "choices" in reply
    assert loopback.bodies[-1] == body
