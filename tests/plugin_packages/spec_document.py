"""The byLLM plugin spec and its fenced code blocks.

The repository vendors a copy at ``docs/spec/byllm-plugins.md``; when the
team's shared copy (``../shared/spec/byllm-plugins.md`` next to the repository)
exists, it is checked too; :func:`spec_copies` lists the copies present.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from plugin_packages.venvs import REPO_ROOT

SPEC_NAME = "byllm-plugins.md"
VENDORED_SPEC = REPO_ROOT / "docs" / "spec" / SPEC_NAME
SHARED_SPEC = REPO_ROOT.parent / "shared" / "spec" / SPEC_NAME

# A fence may be indented (inside a list item); the closing fence matches its indent.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<language>[\w+-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.S | re.M)


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its language tag, dedented code, and the line it starts on."""

    language: str
    code: str
    line: int
    heading: str

    @property
    def label(self) -> str:
        """A short name for test ids: the section heading and line."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")
        return f"line{self.line}-{slug}"


def code_blocks(text: str, language: str | None = None) -> list[CodeBlock]:
    """Every fenced block of ``text`` (only ``language`` ones if given), in order."""
    blocks = []
    for match in _FENCE.finditer(text):
        if language is not None and match["language"] != language:
            continue
        line = text.count("\n", 0, match.start()) + 1
        prose_before = _FENCE.sub("", text[: match.start()])  # code comments are not headings
        headings = re.findall(r"^#+ +(.+)$", prose_before, re.M)
        blocks.append(
            CodeBlock(
                language=match["language"],
                code=textwrap.dedent(match["body"]),
                line=line,
                heading=headings[-1] if headings else "",
            )
        )
    return blocks


def spec_test_program(model_expression: str) -> str:
    """The spec's ``test.jac`` (step 4) with its model swapped for one that runs offline."""
    (program,) = [block.code for block in code_blocks(VENDORED_SPEC.read_text(), "jaclang")]
    original = 'Model(model_name="gpt-3.5-turbo")'
    if original not in program:
        raise AssertionError(f"the spec's test program no longer uses {original}:\n{program}")
    return program.replace(original, model_expression)


def spec_copies() -> list[Path]:
    """The spec files to test: the vendored copy (always there), and the shared one when present.

    Tests parametrize over this list, so a fresh clone without the shared copy
    runs them on the vendored copy only, and nothing skips.
    """
    return [path for path in (VENDORED_SPEC, SHARED_SPEC) if path.is_file()]


def spec_copy_id(path: Path) -> str:
    """A test id for a spec copy: ``vendored`` or ``shared``."""
    return "vendored" if path == VENDORED_SPEC else "shared"
