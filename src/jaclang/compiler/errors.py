"""Errors the Jac compiler reports: one hierarchy rooted at :class:`JacError`."""

from __future__ import annotations


class JacError(Exception):
    """Base class of every error raised by the Jac compiler."""


class JacSyntaxError(JacError):
    """A Jac source that cannot be compiled, with its location and what was expected.

    ``line`` and ``column`` are 1-based. ``expected`` lists readable token names
    the parser would have accepted at that point (empty when not applicable).
    """

    def __init__(
        self,
        message: str,
        filename: str = "<jac>",
        line: int = 1,
        column: int = 1,
        source_line: str = "",
        expected: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        self.source_line = source_line
        self.expected = expected

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}: {self.message}"

    def format(self) -> str:
        """The full report: location and message, the source line, a caret, what was expected."""
        lines = [str(self)]
        if self.source_line:
            text = self.source_line.rstrip("\n").expandtabs(1)
            lines.append(f"    {text}")
            lines.append("    " + " " * max(self.column - 1, 0) + "^")
        if self.expected:
            shown = ", ".join(self.expected[:10])
            more = "" if len(self.expected) <= 10 else f" (and {len(self.expected) - 10} more)"
            lines.append(f"expected one of: {shown}{more}")
        return "\n".join(lines)


def source_line_at(source: str, line: int) -> str:
    """The text of 1-based ``line`` in ``source`` (empty when out of range)."""
    # Only "\n" ends a line for the lexer; str.splitlines would also split at \x0c, \u2028, ...
    lines = source.split("\n")
    if 1 <= line <= len(lines):
        return lines[line - 1].rstrip("\r")
    return ""
