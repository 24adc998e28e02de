"""On-disk cache of compiled Jac modules, like ``.pyc`` files.

A cache entry is the marshalled code object behind a header that identifies what
it was compiled from: the compiler's files and the Python version, the source's
path, and the source text itself. An entry is used only when that header matches
byte for byte (no hash: nothing to collide, and no hashing library to load).
Entries live in ``__jac_gen__/`` next to the source, or in ``$JAC_CACHE_DIR``;
when the source directory is read-only they go to the user cache directory.
``JAC_NO_CACHE=1`` turns caching off. This module never imports the parser.
"""

from __future__ import annotations

import marshal
import os
import sys
from types import CodeType

TYPE_CHECKING = False  # typing's own constant, without importing typing at every start
if TYPE_CHECKING:
    from collections.abc import Iterator

CACHE_DIR_ENV = "JAC_CACHE_DIR"
NO_CACHE_ENV = "JAC_NO_CACHE"
GENERATED_DIR = "__jac_gen__"
MAGIC = b"JACC\x00\x02"

_fingerprint: bytes | None = None


def caching_enabled() -> bool:
    """Whether ``JAC_NO_CACHE`` leaves the cache on."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() in ("", "0", "false", "no")


def compiler_fingerprint() -> bytes:
    """Identifies this compiler build: version, Python version, and its files' sizes and times."""
    global _fingerprint
    if _fingerprint is None:
        from jaclang.compiler import COMPILER_VERSION

        parts = [COMPILER_VERSION, sys.implementation.cache_tag or "", sys.version]
        directory = os.path.dirname(os.path.abspath(__file__))
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:
            entries = []
        for entry in entries:
            if entry.name.endswith((".py", ".lark")):
                stat = entry.stat()
                parts.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
        _fingerprint = "|".join(parts).encode()
    return _fingerprint


def cache_key(source: bytes, source_path: str) -> bytes:
    """The header a cache entry must carry to be valid for ``source`` at ``source_path``.

    It holds the compiler's fingerprint, the absolute path and the source, behind
    their total length, so that where the marshalled code starts is known.
    """
    identity = b"\0".join((compiler_fingerprint(), os.path.abspath(source_path).encode(errors="surrogateescape"), source))
    return len(identity).to_bytes(8, "little") + identity


def user_cache_dir() -> str:
    """The per-user cache directory (``$XDG_CACHE_HOME/jac`` or ``~/.cache/jac``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jac")


def _central_name(source_path: str) -> str:
    from hashlib import blake2b  # only for entries outside the source's directory

    absolute = os.path.abspath(source_path)
    tag = blake2b(absolute.encode(errors="surrogateescape"), digest_size=8).hexdigest()
    return f"{os.path.basename(absolute)}.{tag}.jacc"


def cache_paths(source_path: str) -> Iterator[str]:
    """Where the entry for ``source_path`` may live, most preferred first (each named when it is reached)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        yield os.path.join(override, _central_name(source_path))
        return
    directory = os.path.dirname(os.path.abspath(source_path))
    yield os.path.join(directory, GENERATED_DIR, os.path.basename(source_path) + "c")
    yield os.path.join(user_cache_dir(), _central_name(source_path))


def load(source_path: str, key: bytes) -> CodeType | None:
    """The cached code object for ``source_path`` if an entry with ``key`` exists."""
    for path in cache_paths(source_path):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        header = MAGIC + key
        if not data.startswith(header):
            continue
        try:
            code = marshal.loads(data[len(header):])
        except (EOFError, ValueError, TypeError):
            continue
        if isinstance(code, CodeType):
            return code
    return None


def store(source_path: str, key: bytes, code: CodeType) -> str | None:
    """Write the entry for ``source_path``; return where, or ``None`` when no location is writable."""
    payload = MAGIC + key + marshal.dumps(code)
    for path in cache_paths(source_path):
        temporary = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(temporary, "wb") as handle:
                handle.write(payload)
            os.replace(temporary, path)
            return path
        except OSError as error:
            import logging  # only on this rare path: logging costs start-up time

            logging.getLogger(__name__).debug("cannot write Jac cache %s: %s", path, error)
            try:
                os.unlink(temporary)
            except OSError:
                pass
    return None


def load_code(source_path: str) -> CodeType:
    """The code object for a ``.jac`` file: from the cache, or compiled (and then cached).

    Raises :class:`~jaclang.compiler.errors.JacSyntaxError` for invalid sources
    and ``OSError`` when the file cannot be read.
    """
    from jaclang.compiler.annexes import read_annexes

    with open(source_path, "rb") as handle:
        source = handle.read()
    annexes = read_annexes(source_path)
    use_cache = caching_enabled()
    keyed_source = source + b"".join(b"\0" + path.encode(errors="surrogateescape") + b"\0" + text for path, text in annexes)
    key = cache_key(keyed_source, source_path) if use_cache else b""
    if use_cache:
        code = load(source_path, key)
        if code is not None:
            return code
    from jaclang.compiler import compile_jac

    text = _decode(source, source_path)
    annex_texts = [(path, _decode(contents, path)) for path, contents in annexes]
    code = compile_jac(text, os.path.abspath(source_path), annex_texts)
    if use_cache:
        store(source_path, key, code)
    return code


def _decode(source: bytes, path: str) -> str:
    """The text of a ``.jac`` file; invalid UTF-8 is a :class:`JacSyntaxError`."""
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        from jaclang.compiler.errors import JacSyntaxError

        raise JacSyntaxError(f"source is not valid UTF-8 ({error.reason})", path) from None
