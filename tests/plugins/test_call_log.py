"""The call log: one SQLite row per call, `jac logs`, and no credentials on disk."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from jaclang.cli import main as jac
from jaclang.runtimelib.machine import hookimpl
from byllm.errors import OutputConversionError
from byllm.lib import Model, by
from byllm.plugins.calllog import open_log
from byllm.settings import reload_settings

HERE = Path(__file__).parent


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "logs.db"
    monkeypatch.setenv("BYLLM_LOG", str(path))
    reload_settings()  # settings are read once; a changed variable needs a reload
    return path


def test_log_is_off_by_default(tmp_path: Path, provider, shout_with) -> None:
    shout_with(Model("test/m"))("a")
    assert not any(tmp_path.rglob("*.db"))


def test_each_call_is_logged_with_prompt_replies_value_tokens_cost_and_retries(log_file: Path, provider) -> None:
    answers = iter(["not a number", "42"])
    provider.answer = lambda request: next(answers)

    @by(Model("test/gpt-4o-mini", temperature=0.2))
    def count_letters(word: str) -> int:
        """Count the letters."""

    assert count_letters("banana") == 42
    (call,) = open_log(log_file).recent()
    assert call.function.endswith("count_letters")
    assert (call.model, call.params) == ("test/gpt-4o-mini", {"temperature": 0.2})
    assert call.value == 42 and call.error is None
    assert (call.retries, call.completions, call.streamed) == (1, 2, False)
    assert [reply["text"] for reply in call.replies] == ["not a number", "42"]
    # The messages are exactly what was sent last: prompt, bad reply, correction request.
    assert [message["role"] for message in call.messages] == ["system", "user", "assistant", "user"]
    assert '"banana"' in call.messages[1]["content"]
    assert (call.input_tokens, call.output_tokens) == (200, 40)
    assert call.cost == pytest.approx((200 * 0.15 + 40 * 0.60) / 1_000_000)
    assert call.latency_ms > 0


def test_failed_call_is_logged_with_its_error(log_file: Path, provider) -> None:
    provider.answer = lambda request: "never a number"

    @by(Model("test/m", retries=1))
    def count_letters(word: str) -> int:
        """Count the letters."""

    with pytest.raises(OutputConversionError):
        count_letters("banana")
    (call,) = open_log(log_file).recent()
    assert call.error.startswith("OutputConversionError: ")
    assert (call.value, call.completions) == (None, 2)


def test_async_calls_are_logged_when_they_finish(log_file: Path, provider, shout_with) -> None:
    shout = shout_with(Model("test/m"), is_async=True)

    async def main() -> list[str]:
        return list(await asyncio.gather(shout("a"), shout("b")))

    assert asyncio.run(main()) == ["echo A", "echo B"]
    calls = open_log(log_file).recent()
    assert sorted(call.value for call in calls) == ["echo A", "echo B"]
    assert all(call.completions == 1 for call in calls)


def test_api_keys_and_auth_headers_are_never_stored(log_file: Path, provider, shout_with) -> None:
    secret = "sk-test-SECRET-1234567890"
    llm = Model("test/m", api_key=secret, headers={"Authorization": f"Bearer {secret}"},
                extra_params={"extra_headers": {"X-Api-Key": secret}, "authorization_token": secret}, temperature=0.1)
    shout_with(llm)("a")
    (call,) = open_log(log_file).recent()
    assert call.params["temperature"] == 0.1
    assert call.params["extra_headers"] == {"X-Api-Key": "***"}
    assert call.params["authorization_token"] == "***"
    raw = b"".join(path.read_bytes() for path in log_file.parent.glob("logs.db*"))
    assert secret.encode() not in raw


def test_jac_logs_lists_shows_and_prints_json(log_file: Path, provider, shout_with, capsys) -> None:
    shout = shout_with(Model("test/m"))
    shout("first")
    shout("second")
    assert jac(["logs"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ID", "TIME", "FUNCTION", "MODEL", "TOKENS", "COST", "LATENCY", "RETRIES", "STATUS"]
    assert table[1].split()[0] == "2" and "test/m" in table[1] and table[1].endswith("ok")
    assert jac(["logs", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "=== messages ===" in shown and '"first"' in shown
    assert 'value: "echo FIRST"' in shown
    assert jac(["logs", "--json", "-n", "1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["id"] == 2 and row["value"] == "echo SECOND"
    assert jac(["logs", "show", "99"]) == 1
    assert "no call 99" in capsys.readouterr().err


def test_jac_logs_show_escapes_terminal_control_sequences(log_file: Path, provider, shout_with, capsys) -> None:
    provider.answer = lambda request: "\x1b]52;c;cGF5bG9hZA==\x07\x1b[2J done"
    shout_with(Model("test/m"))("a")
    assert jac(["logs", "show", "1"]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b]52;c;cGF5bG9hZA==\\x07\\x1b[2J done" in shown


def test_a_lone_surrogate_reply_is_logged(log_file: Path, provider, shout_with) -> None:
    provider.answer = lambda request: "half \ud800 a pair"
    shout_with(Model("test/m"))("a")
    (call,) = open_log(log_file).recent()
    assert call.value == "half \ud800 a pair"


def test_jac_logs_says_where_it_looked_and_how_to_switch_the_log_on(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert jac(["logs"]) == 0
    err = capsys.readouterr().err
    assert "BYLLM_LOG" in err and str(tmp_path / "byllm" / "logs.db") in err


def test_a_model_can_switch_the_log_on_or_off(tmp_path: Path, log_file: Path, provider, shout_with) -> None:
    shout_with(Model("test/quiet", log=False))("a")
    shout_with(Model("test/elsewhere", log=str(tmp_path / "other.db")))("b")
    assert not log_file.exists() or open_log(log_file).recent() == []
    (call,) = open_log(tmp_path / "other.db").recent()
    assert call.model == "test/elsewhere"


def test_four_processes_log_into_one_file(tmp_path: Path) -> None:
    log = tmp_path / "shared-log.db"
    script = (
        "import sys; sys.path.insert(0, {here!r})\n"
        "from jaclang.runtimelib.machine import plugin_manager\n"
        "from byllm.lib import Model, by\n"
        "from plugin_support import CountingProvider, CountingProviderPlugin\n"
        "plugin_manager.register(CountingProviderPlugin(CountingProvider()))\n"
        "@by(Model('test/m', log={log!r}))\n"
        "def shout(word: str) -> str:\n"
        "    'Shout the word.'\n"
        "for index in range(25):\n"
        "    shout(f'{{sys.argv[1]}}-{{index}}')\n"
    ).format(here=str(HERE), log=str(log))
    workers = [subprocess.Popen([sys.executable, "-c", script, str(worker)], stderr=subprocess.PIPE, text=True)
               for worker in range(4)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    calls = open_log(log).recent(limit=1000)
    assert len(calls) == 100
    assert len({call.value for call in calls}) == 100


def test_a_nested_call_is_logged_as_its_own_row(log_file: Path, provider, plugin_manager, shout_with) -> None:
    inner = shout_with(Model("test/inner"))

    class Relay:
        """Calls another by llm() function from inside a plugin, as a tool would."""

        @staticmethod
        @hookimpl(wrapper=True)
        def llm_complete(model, request):
            if model.model_name == "test/outer":
                inner("nested")
            return (yield)

    plugin_manager.register(Relay, name="relay")
    assert shout_with(Model("test/outer"))("a") == "echo A"
    inner_row, outer_row = sorted(open_log(log_file).recent(), key=lambda call: call.id)
    assert (inner_row.model, inner_row.value) == ("test/inner", "echo NESTED")
    assert (outer_row.model, outer_row.completions, outer_row.value) == ("test/outer", 1, "echo A")
