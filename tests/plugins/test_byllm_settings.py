"""Configuration: config file discovery, environment variables, and the documented precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from byllm.errors import ConfigurationError
from byllm.lib import Model, by
from byllm.plugins.cache import cache_policy
from byllm.plugins.calllog import log_path
from byllm.settings import Settings
from byllm.settings import (
    FALLBACK_MODEL,
    default_model_name,
    default_retries,
    get_settings,
    reload_settings,
)


def write_jac_toml(folder: Path, body: str) -> Path:
    path = folder / "jac.toml"
    path.write_text(body, encoding="utf-8")
    reload_settings()
    return path


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    settings = get_settings()
    assert settings.default_model == FALLBACK_MODEL
    assert settings.retries is None
    assert default_retries(2) == 2
    assert settings.cache is None
    assert settings.log is None
    assert settings.tracing == "auto"
    assert settings.config_file is None


def test_jac_toml_is_found_from_a_subdirectory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "work"
    config = write_jac_toml(
        project,
        """
[byllm]
default_model = "test/from-file"
retries = 5
cache = "cache/replies.db"
cache_ttl = 60
log = true
tracing = "off"

[byllm.params]
temperature = 0.3

[byllm.prices]
"test/priced" = { input = 1.5, output = 3.0 }
""",
    )
    nested = project / "src" / "pkg"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    settings = reload_settings()
    assert settings.config_file == config
    assert default_model_name() == "test/from-file"
    assert default_retries(2) == 5
    # Relative paths in the file are relative to the file, not to the current directory.
    assert settings.cache == f"sqlite:///{project / 'cache' / 'replies.db'}"
    assert settings.cache_ttl == 60
    assert settings.log == tmp_path / "xdg-data" / "byllm" / "logs.db"
    assert settings.tracing == "off"
    assert settings.params == {"temperature": 0.3}
    assert settings.prices == {"test/priced": (1.5, 3.0)}


def test_pyproject_tool_byllm_section_is_read(tmp_path: Path) -> None:
    (tmp_path / "work" / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.byllm]\ndefault_model = "test/pyproject"\n', encoding="utf-8"
    )
    assert reload_settings().default_model == "test/pyproject"


def test_jac_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "work" / "pyproject.toml").write_text('[tool.byllm]\ndefault_model = "test/pyproject"\n')
    write_jac_toml(tmp_path / "work", '[byllm]\ndefault_model = "test/jac"\n')
    assert get_settings().default_model == "test/jac"


def test_byllm_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text('[byllm]\nretries = 7\n')
    monkeypatch.setenv("BYLLM_CONFIG", str(elsewhere))
    reload_settings()  # settings are read once; a changed variable needs a reload
    assert default_retries(2) == 7


def test_environment_overrides_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jac_toml(
        tmp_path / "work",
        '[byllm]\ndefault_model = "test/file"\nretries = 5\ncache = "file.db"\nlog = "file-log.db"\n[byllm.params]\ntemperature = 0.3\n',
    )
    monkeypatch.setenv("BYLLM_DEFAULT_MODEL", "test/env")
    monkeypatch.setenv("BYLLM_RETRIES", "1")
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    monkeypatch.setenv("BYLLM_LOG", "off")
    monkeypatch.setenv("BYLLM_PARAMS", '{"temperature": 0.9}')
    reload_settings()  # settings are read once; a changed variable needs a reload
    settings = get_settings()
    assert settings.default_model == "test/env"
    assert default_retries(2) == 1
    assert settings.cache == f"sqlite:///{tmp_path}/env.db"
    assert settings.log is None
    assert settings.params == {"temperature": 0.9}


def test_model_config_overrides_environment_and_call_parameters_override_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_jac_toml(tmp_path / "work", "[byllm]\nretries = 5\n[byllm.params]\ntemperature = 0.1\nseed = 7\n")
    monkeypatch.setenv("BYLLM_RETRIES", "4")
    monkeypatch.setenv("BYLLM_PARAMS", '{"temperature": 0.2, "top_p": 0.5}')
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()  # settings are read once; a changed variable needs a reload

    plain = Model("test/m")
    assert plain.retries == 4  # env over file
    assert plain.sampling_params() == {"temperature": 0.2, "top_p": 0.5}  # env replaces the file's table

    configured = Model("test/m", retries=1, temperature=0.6, cache=False)
    assert configured.retries == 1
    assert configured.sampling_params() == {"temperature": 0.6, "top_p": 0.5}
    assert cache_policy(configured) is None

    per_call = configured(retries=0, temperature=1.0, cache=f"sqlite:///{tmp_path}/call.db")
    assert per_call.retries == 0
    assert per_call.sampling_params() == {"temperature": 1.0, "top_p": 0.5}
    policy = cache_policy(per_call)
    assert policy is not None and policy.url == f"sqlite:///{tmp_path}/call.db"


def test_defaults_reach_a_real_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, provider) -> None:
    write_jac_toml(tmp_path / "work", '[byllm]\ndefault_model = "test/default"\n[byllm.params]\ntemperature = 0.25\n')
    llm = Model()

    @by(llm)
    def shout(word: str) -> str:
        """Shout the word."""

    assert shout("hi") == "echo HI"
    assert provider.requests[-1].model == "default"
    assert provider.requests[-1].params == {"temperature": 0.25}


def test_log_location_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jac_toml(tmp_path / "work", '[byllm]\nlog = "from-file.db"\n')
    assert log_path(Model("test/m")) == tmp_path / "work" / "from-file.db"
    monkeypatch.setenv("BYLLM_LOG", str(tmp_path / "from-env.db"))
    reload_settings()  # settings are read once; a changed variable needs a reload
    assert log_path(Model("test/m")) == tmp_path / "from-env.db"
    assert log_path(Model("test/m", log=str(tmp_path / "model.db"))) == tmp_path / "model.db"
    assert log_path(Model("test/m", log=str(tmp_path / "model.db"))(log=False)) is None


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BYLLM_RETRIES", "many", "BYLLM_RETRIES: retries must be a whole number"),
        ("BYLLM_RETRIES", "-1", "cannot be negative"),
        ("BYLLM_CACHE", "ftp://host/x", "unknown cache backend"),
        ("BYLLM_CACHE_TTL", "soon", "BYLLM_CACHE_TTL: expected a number of seconds"),
        ("BYLLM_LOG", "redis://localhost", "the call log is a SQLite file"),
        ("BYLLM_TRACING", "sometimes", "tracing must be auto, on or off"),
        ("BYLLM_VERBOSE", "loud", "BYLLM_VERBOSE: expected true or false"),
        ("BYLLM_PARAMS", "[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_environment_values_raise_clear_errors(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        reload_settings()


def test_unknown_key_in_config_file_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "work" / "jac.toml"
    path.write_text('[byllm]\ndefualt_model = "typo"\n')
    with pytest.raises(ConfigurationError, match=r"jac.toml: unknown byllm setting\(s\) \['defualt_model'\]"):
        reload_settings()


def test_settings_are_a_frozen_dataclass() -> None:
    import dataclasses

    settings = get_settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.retries = 3  # type: ignore[misc]
    assert settings == Settings() and dataclasses.replace(settings, retries=3).retries == 3


def test_byllm_model_replaces_every_model_of_the_run(monkeypatch: pytest.MonkeyPatch, provider) -> None:
    monkeypatch.setenv("BYLLM_MODEL", "test/override")
    reload_settings()
    assert Model("gpt-4o").model_name == "test/override"
    assert Model().model_name == "test/override"

    @by(Model("gpt-4o"))
    def shout(word: str) -> str:
        """Shout the word."""

    assert shout("a") == "echo A" and provider.requests[-1].model == "override"


def test_byllm_verbose_prints_every_call(monkeypatch: pytest.MonkeyPatch, capsys, provider) -> None:
    (Path.cwd() / "jac.toml").write_text("[byllm]\nverbose = true\n")
    assert reload_settings().verbose is True
    monkeypatch.setenv("BYLLM_VERBOSE", "0")
    assert reload_settings().verbose is False
    monkeypatch.setenv("BYLLM_VERBOSE", "1")
    reload_settings()

    @by(Model("test/m"))
    def shout(word: str) -> str:
        """Shout the word."""

    shout("a")
    assert "[byllm]" in capsys.readouterr().err


def test_environment_changes_apply_after_reload(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_model_name() == FALLBACK_MODEL
    monkeypatch.setenv("BYLLM_DEFAULT_MODEL", "test/changed")
    assert default_model_name() == FALLBACK_MODEL  # read once: no environment look-up per call
    reload_settings()
    assert default_model_name() == "test/changed"
    assert Model().model_name == "test/changed"


def test_a_cache_mapping_sets_the_ttl_and_otherwise_reads_like_a_cache_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()
    configured = cache_policy(Model("test/m", cache={"ttl": 60}))  # no url: the configured cache
    assert configured is not None and (configured.url, configured.ttl) == (f"sqlite:///{tmp_path}/env.db", 60)
    elsewhere = cache_policy(Model("test/m", cache={"url": f"sqlite:///{tmp_path}/own.db"}))
    assert elsewhere is not None and (elsewhere.url, elsewhere.ttl) == (f"sqlite:///{tmp_path}/own.db", None)
    assert cache_policy(Model("test/m", cache={"url": False, "ttl": 60})) is None
