"""Annex files: ``impl`` blocks of ``main.jac`` kept in ``main.impl.jac`` and its sibling folders.

Looked for, in this order: ``main.impl.jac`` beside ``main.jac``, every ``*.impl.jac``
in a ``main.impl/`` folder beside it, and ``impl/main.impl.jac``. Their items are
compiled into ``main``'s module after its own, so their ``impl`` blocks supply the
bodies of abilities ``main`` declares.
"""

from __future__ import annotations

import os
from types import CodeType

ANNEX_SUFFIX = ".impl.jac"

# The k-th annex (1-based) is compiled with its line numbers raised by k * ANNEX_LINE_STRIDE,
# so a position in the module's one code object still tells which file it comes from;
# `relocate_annex_code` then gives the annex's functions its file name and true lines.
ANNEX_LINE_STRIDE = 1_000_000


def annex_of_line(line: int, annex_filenames: list[str]) -> tuple[str, int] | None:
    """``(annex filename, line in it)`` for a raised line number, or None for the module's own lines."""
    index = line // ANNEX_LINE_STRIDE
    if 1 <= index <= len(annex_filenames):
        return annex_filenames[index - 1], line - index * ANNEX_LINE_STRIDE
    return None


def relocate_annex_code(code: CodeType, annex_filenames: list[str]) -> CodeType:
    """``code`` with every code object whose lines all come from one annex renamed to that annex.

    Those are the functions whose bodies an annex's ``impl`` supplies (and what they
    nest), so tracebacks, ``linecache`` and debuggers show the annex file and its lines.
    """
    constants = tuple(
        relocate_annex_code(constant, annex_filenames) if isinstance(constant, CodeType) else constant
        for constant in code.co_consts
    )
    lines = {line for _start, _end, line in code.co_lines() if line is not None}
    lines.add(code.co_firstlineno)
    strides = {line // ANNEX_LINE_STRIDE for line in lines}
    if len(strides) == 1:
        index = strides.pop()
        if 1 <= index <= len(annex_filenames):
            return code.replace(
                co_consts=constants,
                co_filename=annex_filenames[index - 1],
                co_firstlineno=code.co_firstlineno - index * ANNEX_LINE_STRIDE,
            )
    return code.replace(co_consts=constants)


def annex_paths(source_path: str) -> list[str]:
    """The annex files of the ``.jac`` file at ``source_path`` that exist, in load order."""
    if source_path.endswith(ANNEX_SUFFIX) or not source_path.endswith(".jac"):
        return []
    directory, filename = os.path.split(os.path.abspath(source_path))
    stem = filename[: -len(".jac")]
    found: list[str] = []
    beside = os.path.join(directory, stem + ANNEX_SUFFIX)
    if os.path.isfile(beside):
        found.append(beside)
    folder = os.path.join(directory, stem + ".impl")
    if os.path.isdir(folder):
        found.extend(
            os.path.join(folder, name) for name in sorted(os.listdir(folder)) if name.endswith(ANNEX_SUFFIX)
        )
    in_impl_folder = os.path.join(directory, "impl", stem + ANNEX_SUFFIX)
    if os.path.isfile(in_impl_folder):
        found.append(in_impl_folder)
    return found


def read_annexes(source_path: str) -> list[tuple[str, bytes]]:
    """``(path, contents)`` of each annex file of ``source_path``."""
    annexes = []
    for path in annex_paths(source_path):
        with open(path, "rb") as handle:
            annexes.append((path, handle.read()))
    return annexes
