"""The Jac compiler: Jac source to a Python AST and code object.

Importing this package is cheap; the parser (and Lark) load only when a source
has to be compiled, so running a cached program never imports them.
"""

from __future__ import annotations

from jaclang.compiler.errors import JacError, JacSyntaxError

TYPE_CHECKING = False  # typing's own constant, without importing typing at every start
if TYPE_CHECKING:
    import ast
    from collections.abc import Sequence
    from types import CodeType

COMPILER_VERSION = "3"

__all__ = [
    "COMPILER_VERSION",
    "JacError",
    "JacSyntaxError",
    "compile_jac",
    "jac_to_ast",
    "jac_to_python",
]


def jac_to_ast(source: str, filename: str = "<jac>", annexes: Sequence[tuple[str, str]] = ()) -> ast.Module:
    """Parse and translate Jac ``source`` (plus its annex sources) into a Python module AST.

    ``annexes`` are ``(filename, source)`` pairs, such as ``main.impl.jac``: their items
    follow the module's own (their ``impl`` blocks fill in its declared abilities).
    """
    from jaclang.compiler.annexes import ANNEX_LINE_STRIDE, annex_of_line
    from jaclang.compiler.codegen import generate
    from jaclang.compiler.errors import source_line_at
    from jaclang.compiler.parser import parse

    try:
        tree = parse(source, filename)
        for index, (annex_filename, annex_source) in enumerate(annexes, 1):
            tree.items.extend(parse(annex_source, annex_filename, line_offset=index * ANNEX_LINE_STRIDE).items)
        return generate(tree, source, filename)
    except RecursionError:
        raise JacSyntaxError("program is nested too deeply to compile", filename) from None
    except JacSyntaxError as error:
        located = annex_of_line(error.line, [name for name, _ in annexes])
        if located is None:
            raise
        annex_filename, line = located
        annex_source = dict(annexes)[annex_filename]
        raise JacSyntaxError(
            error.message, annex_filename, line, error.column, source_line_at(annex_source, line), error.expected
        ) from None


def compile_jac(source: str, filename: str = "<jac>", annexes: Sequence[tuple[str, str]] = ()) -> CodeType:
    """Compile Jac ``source`` to a code object; every failure is a :class:`JacSyntaxError`."""
    import ast

    from jaclang.compiler.annexes import relocate_annex_code

    module = jac_to_ast(source, filename, annexes)
    try:
        try:
            code = compile(module, filename, "exec", dont_inherit=True)
        except TypeError as error:
            if "lineno" not in str(error) and "col_offset" not in str(error):
                raise
            # A generated node escaped `place` (a compiler bug): locate it from its parent and go on.
            ast.fix_missing_locations(module)
            code = compile(module, filename, "exec", dont_inherit=True)
        return relocate_annex_code(code, [name for name, _ in annexes]) if annexes else code
    except SyntaxError as error:
        from jaclang.compiler.errors import source_line_at

        line = error.lineno or 1
        raise JacSyntaxError(
            error.msg, filename, line, error.offset or 1, source_line_at(source, line)
        ) from None
    except (ValueError, TypeError, RecursionError, MemoryError) as error:
        raise JacSyntaxError(f"cannot compile this program: {error}", filename) from None


def jac_to_python(source: str, filename: str = "<jac>") -> str:
    """The Python source the compiler generates for Jac ``source`` (for ``jac py``)."""
    import ast

    module = jac_to_ast(source, filename)
    try:
        return ast.unparse(module)
    except RecursionError:
        raise JacSyntaxError("program is nested too deeply to show as Python", filename) from None
