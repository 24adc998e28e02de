"""Fixtures for the built-in plugin tests: a fresh plugin manager, clean settings, a counting provider, Redis."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from jaclang.runtimelib import machine
from byllm.plugin import ByllmMachine
from byllm.plugins import activation, cache, calllog, entry, tracing, usage
from byllm.settings import ENVIRONMENT_VARIABLES, forget_settings, reload_settings

sys.path.insert(0, str(Path(__file__).parent))

from plugin_support import CountingProvider, CountingProviderPlugin, free_port  # noqa: E402

HERE = Path(__file__).parent

# byllm's plugins as the entry points register them (pyproject.toml, group "jac").
BUILT_INS = {
    "byllm": ByllmMachine,
    "byllm-cache": entry.CachePlugin,
    "byllm-log": entry.CallLogPlugin,
    "byllm-usage": entry.UsagePlugin,
    "byllm-tracing": entry.TracingPlugin,
}


@pytest.fixture(autouse=True)
def plugin_manager(monkeypatch: pytest.MonkeyPatch) -> machine.JacPluginManager:
    """A fresh plugin manager holding byllm's plugins, in place of the process-wide one."""
    manager = machine.new_plugin_manager()
    for name, plugin in BUILT_INS.items():
        manager.register(plugin, name=name)
    monkeypatch.setattr(machine, "plugin_manager", manager)
    return manager


@pytest.fixture(autouse=True)
def isolated_settings(plugin_manager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No BYLLM_* variables, no config file, user dirs inside tmp_path: nothing leaks out."""
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("JAC_DISABLED_PLUGINS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    reload_settings()  # also matches the plugins' hooks to the clean settings
    usage.reset_usage()
    cache.reset_counters()
    yield tmp_path
    cache.close_backends()
    calllog.open_log.cache_clear()
    forget_settings()
    monkeypatch.undo()  # the variables a test set (maybe invalid ones), before the plugins are matched again
    tracing.use_tracer_provider(None)
    activation.forget_requests()


@pytest.fixture
def provider(plugin_manager) -> CountingProvider:
    """A real (non-mock) provider for ``test/...`` models, counting the completions it serves."""
    counting = CountingProvider()
    plugin_manager.register(CountingProviderPlugin(counting), name="test-provider")
    return counting


def start_redis_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server on a free loopback port, answering pings; ``(process, url)``."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); the Redis cache tests need it")
    import redis

    port = free_port()
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
    return process, url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the session."""
    process, url = start_redis_server(tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """A redis-server for one test (which may stop or pause it)."""
    process, url = start_redis_server(tmp_path)
    try:
        yield process, url
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def shout_with() -> Callable:
    """``shout_with(model)``: a ``by llm()`` function echoing its word, bound to ``model``."""
    from byllm.lib import by

    def make(model, *, is_async: bool = False):
        if is_async:

            @by(model)
            async def shout(word: str) -> str:
                """Shout the word."""

            return shout

        @by(model)
        def shout(word: str) -> str:
            """Shout the word."""

        return shout

    return make
