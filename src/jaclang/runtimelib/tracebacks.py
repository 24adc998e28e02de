"""Tracebacks for Jac programs: the user's frames (``.jac`` lines), without jaclang internals.

Frames of the compiler, runtime, CLI, import machinery and pluggy are left out.
Frames inside byllm are left out too when the error is one of byllm's own
(its messages say what to do); other errors keep them. ``JAC_DEBUG=1`` shows
every frame.
"""

from __future__ import annotations

import os
import traceback

import jaclang
from jaclang.runtimelib.machine import debug_enabled


def _package_dir(module_file: str | None) -> str | None:
    return os.path.dirname(os.path.abspath(module_file)) + os.sep if module_file else None


_JACLANG_DIR = _package_dir(jaclang.__file__)


def _installed_package_dir(name: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return _package_dir(spec.origin) if spec is not None and spec.origin else None


def is_internal_frame(filename: str, hide_byllm: bool = False) -> bool:
    """Whether a frame belongs to jaclang, the import machinery or pluggy (or byllm, if asked)."""
    if filename.startswith("<frozen importlib"):
        return True
    if filename.startswith("<"):
        return False
    absolute = os.path.abspath(filename)
    hidden = [_JACLANG_DIR, _installed_package_dir("pluggy")]
    if hide_byllm:
        hidden.append(_installed_package_dir("byllm"))
    return any(directory and absolute.startswith(directory) for directory in hidden)


def _filter(exception: traceback.TracebackException, seen: set[int], hide_byllm: bool) -> None:
    if id(exception) in seen:
        return
    seen.add(id(exception))
    frames = [
        _annex_frame(frame) for frame in exception.stack if not is_internal_frame(frame.filename, hide_byllm)
    ]
    exception.stack = traceback.StackSummary.from_list(frames)
    for chained in (exception.__cause__, exception.__context__):
        if chained is not None:
            _filter(chained, seen, hide_byllm)


def _annex_frame(frame: traceback.FrameSummary) -> traceback.FrameSummary:
    """A frame of a ``.jac`` module at a line from one of its annex files, moved to that file and line.

    Functions supplied by an annex already carry its name (see
    ``jaclang.compiler.annexes``); this covers the module's own code running an
    annex line, such as a decorator of such a function.
    """
    from jaclang.compiler.annexes import ANNEX_LINE_STRIDE, annex_of_line, annex_paths

    if (frame.lineno or 0) < ANNEX_LINE_STRIDE or not frame.filename.endswith(".jac"):
        return frame
    located = annex_of_line(frame.lineno or 0, annex_paths(frame.filename))
    if located is None:
        return frame
    filename, line = located
    return traceback.FrameSummary(filename, line, frame.name)


def format_user_traceback(error: BaseException) -> str:
    """The traceback of ``error`` as Python prints it, minus internal frames (all frames with ``JAC_DEBUG``)."""
    summary = traceback.TracebackException.from_exception(error)
    if not debug_enabled():
        _filter(summary, set(), hide_byllm=type(error).__module__.startswith("byllm"))
    return "".join(summary.format())
