"""Fixtures for the built-in plugin tests: clean settings, a counting provider, a real Redis."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from jaclang.runtimelib.machine import plugin_manager
from byllm.plugins import cache, calllog, switches, tracing, usage
from byllm.plugins.cache_backend import close_backends
from byllm.settings import ENVIRONMENT_VARIABLES, forget_settings, reload_settings

sys.path.insert(0, str(Path(__file__).parent))

from plugin_support import CountingProvider, CountingProviderPlugin, free_port  # noqa: E402

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No BYLLM_* variables, no config file, user dirs inside tmp_path: nothing leaks out."""
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("JAC_DISABLED_PLUGINS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    reload_settings()
    usage.reset_usage()
    cache.reset_counters()
    yield tmp_path
    close_backends()
    calllog.close_logs()
    tracing.use_tracer_provider(None)
    forget_settings()
    monkeypatch.undo()  # the variables this fixture changed, before the plugins are matched to them again
    switches.forget_requests()


@pytest.fixture
def provider() -> Iterator[CountingProvider]:
    """A real (non-mock) provider for ``test/...`` models, counting the completions it serves."""
    counting = CountingProvider()
    plugin = CountingProviderPlugin(counting)
    plugin_manager.register(plugin, name=f"test-provider-{id(plugin)}")
    try:
        yield counting
    finally:
        plugin_manager.unregister(plugin)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port for the session."""
    executable = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if executable is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); the Redis cache tests need it")
    import redis

    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.02)  # polling with a deadline, not waiting blind
    client.close()
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
