"""The persistent cache: keys, switches, the SQLite file across processes and crashes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from byllm.lib import Model, by
from byllm.settings import reload_settings
from byllm.plugins import cache
from byllm.plugins.cache_backend import open_backend
from byllm.plugins.cache_sqlite import SqliteCache
from byllm.providers.base import ToolSpec
from byllm.plugins.records import request_key
from byllm.providers.base import CompletionRequest

HERE = Path(__file__).parent


def shout_with(llm: Model):
    @by(llm)
    def shout(word: str) -> str:
        """Shout the word."""

    return shout


def test_identical_call_is_answered_from_the_cache(tmp_path: Path, provider) -> None:
    shout = shout_with(Model("test/m", cache=f"sqlite:///{tmp_path}/c.db"))
    assert shout("hello") == "echo HELLO"
    assert shout("hello") == "echo HELLO"
    assert provider.calls == 1
    assert cache.counters().hits == 1 and cache.counters().stores == 1
    assert shout("other") == "echo OTHER"
    assert provider.calls == 2


def test_cache_survives_a_new_process(tmp_path: Path, provider) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    shout_with(Model("test/worker", cache=url))("w0-0")
    assert provider.calls == 1
    result = subprocess.run(
        [sys.executable, str(HERE / "cache_worker.py"), "fill", url, "0", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    # The worker asks "w0-0" (cached by this process) and "shared-0" (new).
    assert result.stdout.strip() == "1"


def test_key_covers_model_parameters_messages_schema_and_tools() -> None:
    base = CompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], output_schema={"type": "string"})
    variants = [
        CompletionRequest(model="m", messages=[{"role": "user", "content": "hi!"}], output_schema={"type": "string"}),
        CompletionRequest(model="m", messages=base.messages, output_schema={"type": "integer"}),
        CompletionRequest(model="m", messages=base.messages, output_schema={"type": "string"}, params={"temperature": 0.1}),
        CompletionRequest(
            model="m",
            messages=base.messages,
            output_schema={"type": "string"},
            tools=[ToolSpec("search", "Search the web.", {"type": "object"})],
        ),
        CompletionRequest(model="m2", messages=base.messages, output_schema={"type": "string"}),
    ]
    key = request_key("test/m", base)
    assert key == request_key("test/m", CompletionRequest(model="m", messages=[{"content": "hi", "role": "user"}], output_schema={"type": "string"}))
    assert request_key("other/m", base) != key
    assert len({request_key("test/m", variant) for variant in variants} | {key}) == len(variants) + 1


def test_different_sampling_parameters_do_not_share_entries(tmp_path: Path, provider) -> None:
    llm = Model("test/m", cache=f"sqlite:///{tmp_path}/c.db")
    shout_with(llm(temperature=0.0))("a")
    shout_with(llm(temperature=0.9))("a")
    shout_with(llm(temperature=0.0))("a")
    assert provider.calls == 2


def test_cache_is_off_by_default_and_switched_on_by_environment(tmp_path: Path, monkeypatch, provider) -> None:
    shout = shout_with(Model("test/m"))
    shout("a")
    shout("a")
    assert provider.calls == 2
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()  # settings are read once; a changed variable needs a reload
    shout("a")
    shout("a")
    assert provider.calls == 3
    assert (tmp_path / "env.db").exists()


def test_cache_true_uses_the_user_cache_dir(tmp_path: Path, monkeypatch, provider) -> None:
    monkeypatch.setenv("BYLLM_CACHE", "on")
    reload_settings()  # settings are read once; a changed variable needs a reload
    shout_with(Model("test/m"))("a")
    assert (tmp_path / "xdg-cache" / "byllm" / "cache.db").exists()


def test_cache_can_be_switched_off_per_call(tmp_path: Path, monkeypatch, provider) -> None:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()  # settings are read once; a changed variable needs a reload
    llm = Model("test/m")
    shout_with(llm)("a")
    shout_with(llm(cache=False))("a")
    assert provider.calls == 2
    shout_with(llm)("a")
    assert provider.calls == 2


def test_mock_calls_are_not_cached_unless_asked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()  # settings are read once; a changed variable needs a reload
    scripted = shout_with(Model("mockllm", outputs=["first", "second"]))
    assert [scripted("a"), scripted("a")] == ["first", "second"]
    explicit = shout_with(Model("mockllm", outputs=["only", "unused"], cache=True))
    assert [explicit("a"), explicit("a")] == ["only", "only"]


def test_ttl_expires_entries(tmp_path: Path, monkeypatch, provider) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr("byllm.plugins.cache_sqlite.time.time", lambda: clock[0])
    shout = shout_with(Model("test/m", cache={"url": f"sqlite:///{tmp_path}/c.db", "ttl": 60}))
    shout("a")
    clock[0] += 59
    shout("a")
    assert provider.calls == 1
    clock[0] += 2
    shout("a")
    assert provider.calls == 2
    stats = open_backend(f"sqlite:///{tmp_path}/c.db").stats()
    assert (stats.entries, stats.expired) == (1, 0)
    clock[0] += 61
    assert open_backend(f"sqlite:///{tmp_path}/c.db").stats().expired == 1
    from jaclang.cli import main as jac

    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/c.db")
    reload_settings()  # settings are read once; a changed variable needs a reload
    assert jac(["cache", "clear", "--expired"]) == 0
    stats = open_backend(f"sqlite:///{tmp_path}/c.db").stats()
    assert (stats.entries, stats.expired) == (0, 0)


def test_async_calls_use_the_cache(tmp_path: Path, provider) -> None:
    llm = Model("test/m", cache=f"sqlite:///{tmp_path}/c.db")

    @by(llm)
    async def shout(word: str) -> str:
        """Shout the word."""

    async def main() -> list[str]:
        return [await shout("a"), await shout("a")]

    assert asyncio.run(main()) == ["echo A", "echo A"]
    assert provider.calls == 1


def test_typed_values_round_trip_through_the_cache(tmp_path: Path, provider) -> None:
    provider.answer = lambda request: '{"x": 1, "y": 2}'
    llm = Model("test/m", cache=f"sqlite:///{tmp_path}/c.db")

    @by(llm)
    def point(name: str) -> dict[str, int]:
        """A point."""

    assert point("p") == {"x": 1, "y": 2}
    assert point("p") == {"x": 1, "y": 2}
    assert provider.calls == 1


def test_a_file_that_is_not_a_database_is_a_clear_configuration_error(tmp_path: Path, provider) -> None:
    from byllm.errors import ConfigurationError

    target = tmp_path / "not-a-db"
    target.write_bytes(b"this is not sqlite" * 100)
    shout = shout_with(Model("test/m", cache=f"sqlite:///{target}"))
    with pytest.raises(ConfigurationError, match="cannot open the SQLite cache .*not-a-db.*file is not a database"):
        shout("a")


def test_bad_cache_parameter_is_a_clear_configuration_error(provider) -> None:
    from byllm.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="cache=42: use True, False, a URL"):
        shout_with(Model("test/m", cache=42))("a")


def test_four_processes_writing_one_sqlite_cache_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    count = 40
    workers = [
        subprocess.Popen(
            [sys.executable, str(HERE / "cache_worker.py"), "fill", url, str(worker), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(4)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    connection = sqlite3.connect(tmp_path / "shared.db")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # 4 x 40 distinct calls plus 40 shared ones, each stored once.
    assert connection.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 4 * count + count
    for (value,) in connection.execute("SELECT value FROM entries"):
        assert json.loads(value)["text"].startswith("echo ")
    connection.close()


def test_sigkill_mid_write_leaves_a_cache_that_opens_and_serves(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    SqliteCache(path).set("before", "kept")
    writer = subprocess.Popen([sys.executable, str(HERE / "cache_worker.py"), "hammer", str(path)])
    try:
        reader = sqlite3.connect(path, timeout=30)
        deadline = time.monotonic() + 60
        while reader.execute("SELECT COUNT(*) FROM entries WHERE key != 'before'").fetchone()[0] < 20:
            assert writer.poll() is None, "the writer stopped on its own"
            assert time.monotonic() < deadline, "the writer made no progress"
        reader.close()
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    survivor = SqliteCache(path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    written = connection.execute("SELECT key, value FROM entries WHERE key != 'before'").fetchall()
    connection.close()
    assert len(written) >= 20
    for key, value in written:
        index = int(key.rsplit("-", 1)[1])
        assert value.startswith(f"{index}:") and len(value) == len(f"{index}:") + 200_000
    assert survivor.get("before") == "kept"
    survivor.set("after", "works")
    assert survivor.get("after") == "works"


def test_jac_cache_stats_and_clear(tmp_path: Path, monkeypatch, provider, capsys) -> None:
    from jaclang.cli import main as jac

    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/c.db")
    reload_settings()  # settings are read once; a changed variable needs a reload
    shout = shout_with(Model("test/m"))
    shout("a")
    shout("b")
    assert jac(["cache", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["backend"], stats["location"], stats["entries"]) == ("sqlite", str(tmp_path / "c.db"), 2)
    assert stats["size_bytes"] > 0
    assert jac(["cache", "clear"]) == 0
    assert capsys.readouterr().out.strip() == f"removed 2 cached replies from sqlite:///{tmp_path}/c.db"
    shout("a")
    assert provider.calls == 3


def test_jac_cache_says_how_to_switch_the_cache_on(capsys) -> None:
    from jaclang.cli import main as jac

    assert jac(["cache", "stats"]) == 1
    assert "BYLLM_CACHE" in capsys.readouterr().err


def test_jac_cache_stats_does_not_create_a_missing_file(tmp_path: Path, monkeypatch, capsys) -> None:
    from jaclang.cli import main as jac

    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/never.db")
    reload_settings()  # settings are read once; a changed variable needs a reload
    assert jac(["cache", "stats"]) == 0
    assert "entries    0" in capsys.readouterr().out
    assert jac(["cache", "clear"]) == 0
    assert "nothing to clear" in capsys.readouterr().out
    assert not (tmp_path / "never.db").exists()
