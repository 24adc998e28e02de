"""The compiled-module cache: reuse, invalidation, opt-out, unwritable locations, no Lark when warm."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import jaclang.compiler
from jaclang.compiler import cache


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "prog.jac"
    path.parent.mkdir()
    path.write_text('with entry { print("cached"); }\n')
    return path


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(directory))
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    return directory


def forbid_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(jaclang.compiler, "compile_jac", refuse)


def test_second_load_comes_from_the_cache(program: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = cache.load_code(str(program))
    assert len(list(cache_dir.iterdir())) == 1
    forbid_compiling(monkeypatch)
    second = cache.load_code(str(program))
    assert second == first
    assert second.co_filename == str(program)


def test_editing_the_source_invalidates_the_entry(program: Path, cache_dir: Path) -> None:
    cache.load_code(str(program))
    program.write_text('with entry { print("edited"); }\n')
    code = cache.load_code(str(program))
    assert "edited" in code.co_consts


def test_an_edit_of_the_same_size_at_once_invalidates_the_entry(program: Path, cache_dir: Path) -> None:
    # The entry is checked against the source itself, not its size or modification time.
    program.write_text('with entry { print("aaaa"); }\n')
    cache.load_code(str(program))
    program.write_text('with entry { print("bbbb"); }\n')
    assert "bbbb" in cache.load_code(str(program)).co_consts


def test_an_entry_for_another_path_with_the_same_source_is_not_used(tmp_path: Path, cache_dir: Path) -> None:
    first, second = tmp_path / "a.jac", tmp_path / "b.jac"
    for path in (first, second):
        path.write_text('with entry { print("same"); }\n')
    assert cache.load_code(str(first)).co_filename == str(first)
    assert cache.load_code(str(second)).co_filename == str(second)


def test_no_cache_env_skips_reading_and_writing(program: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    cache.load_code(str(program))
    assert not cache_dir.exists()


def test_default_location_is_jac_gen_next_to_the_source(program: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cache.CACHE_DIR_ENV, raising=False)
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    cache.load_code(str(program))
    assert (program.parent / "__jac_gen__" / "prog.jacc").is_file()


def test_unwritable_source_directory_falls_back_to_the_user_cache(
    program: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cache.CACHE_DIR_ENV, raising=False)
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    (program.parent / "__jac_gen__").write_text("a file where the cache directory would go")
    cache.load_code(str(program))
    entries = list((tmp_path / "xdg" / "jac").iterdir())
    assert [entry.name.split(".")[:2] for entry in entries] == [["prog", "jac"]]
    forbid_compiling(monkeypatch)
    cache.load_code(str(program))


def test_corrupt_entry_is_ignored_and_rewritten(program: Path, cache_dir: Path) -> None:
    cache.load_code(str(program))
    (entry,) = cache_dir.iterdir()
    entry.write_bytes(cache.MAGIC + b"garbage")
    code = cache.load_code(str(program))
    assert "cached" in code.co_consts
    assert entry.read_bytes() != cache.MAGIC + b"garbage"


def test_warm_run_does_not_import_the_parser(program: Path, cache_dir: Path) -> None:
    script = (
        "import sys, jaclang\n"
        "from jaclang.runtimelib.importer import run_jac_file\n"
        "run_jac_file(sys.argv[1], 'prog')\n"
        "print('lark' in sys.modules, 'jaclang.compiler.parser' in sys.modules)\n"
    )
    env = {**os.environ, cache.CACHE_DIR_ENV: str(cache_dir)}
    outputs = [
        subprocess.run([sys.executable, "-c", script, str(program)], capture_output=True, text=True, env=env).stdout
        for _ in range(2)
    ]
    assert outputs == ["cached\nTrue True\n", "cached\nFalse False\n"]


def test_a_warm_run_next_to_the_source_loads_no_hashing_library(program: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = (
        "import sys\n"
        "from jaclang.runtimelib.importer import run_jac_file\n"
        "run_jac_file(sys.argv[1], 'prog')\n"
        "print('hashlib' in sys.modules, '_hashlib' in sys.modules)\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in (cache.CACHE_DIR_ENV, cache.NO_CACHE_ENV)}
    outputs = [
        subprocess.run([sys.executable, "-c", script, str(program)], capture_output=True, text=True, env=env).stdout
        for _ in range(2)
    ]
    assert outputs[1] == "cached\nFalse False\n"
