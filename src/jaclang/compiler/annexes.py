"""Annex files: ``impl`` blocks of ``main.jac`` kept in ``main.impl.jac`` and its sibling folders.

Looked for, in this order: ``main.impl.jac`` beside ``main.jac``, every ``*.impl.jac``
in a ``main.impl/`` folder beside it, and ``impl/main.impl.jac``. Their items are
compiled into ``main``'s module after its own, so their ``impl`` blocks supply the
bodies of abilities ``main`` declares.
"""

from __future__ import annotations

import os

ANNEX_SUFFIX = ".impl.jac"


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
