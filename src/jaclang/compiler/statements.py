"""Jac statement nodes (blocks, control flow, imports) to Python ``ast`` statements."""

from __future__ import annotations

import ast

from jaclang.compiler import syntax_tree as st
from jaclang.compiler.astbuild import Scope, SemText
from jaclang.compiler.expressions import AUGMENTED_OPERATORS, ExpressionGenerator, place, runtime, token_text
from jaclang.compiler.patterns import build_pattern


# The comparisons ``check`` reports with both operands (the others are checked for truth).
_CHECK_OPERATORS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"}


class _ContinueWithStep(ast.NodeTransformer):
    """Run a ``for i = a to cond by step`` loop's step before each ``continue`` of its body."""

    def __init__(self, step: list[ast.stmt]) -> None:
        self.step = step

    def visit_Continue(self, node: ast.Continue) -> list[ast.stmt]:
        """``continue`` becomes ``<step>; continue``."""
        return [*(_copy_located(stmt, node) for stmt in self.step), node]

    def _stop(self, node: ast.AST) -> ast.AST:
        return node

    visit_For = visit_While = visit_AsyncFor = _stop
    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _stop


def _copy_located(node: ast.stmt, where: ast.AST) -> ast.stmt:
    import copy

    duplicate = copy.deepcopy(node)
    for child in ast.walk(duplicate):
        if hasattr(child, "lineno"):
            ast.copy_location(child, where)
    return duplicate


class StatementGenerator(ExpressionGenerator):
    """Builds Python statements; declarations inside blocks are delegated to :meth:`declaration`."""

    # How many `continue` statements have been generated (a for-to body without one needs no rewrite).
    continues_generated = 0

    def declaration(self, node: st.Declaration, scope: Scope) -> tuple[ast.stmt, list[SemText]]:
        """A declaration and its sem texts (provided by :class:`DeclarationGenerator`)."""
        raise NotImplementedError

    def sem_call(self, sem: SemText, prefix: tuple[str, ...]) -> ast.stmt:
        """A statement attaching a sem text (provided by :class:`DeclarationGenerator`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ statements
    def block(self, node: st.Block, scope: Scope) -> list[ast.stmt]:
        """The statements of a ``{ }`` block (``pass`` when empty)."""
        statements: list[ast.stmt] = []
        for child in node.statements:
            statements.extend(self.statement(child, scope))
        return statements or [place(ast.Pass(), node)]

    def statement(self, node: st.Node, scope: Scope) -> list[ast.stmt]:
        """One statement; declarations may expand to several (the definition, then its sems)."""
        if isinstance(node, st.Declaration):
            definition, sems = self.declaration(node, scope)
            return [definition, *(self.sem_call(sem, ()) for sem in sems)]
        handler = getattr(self, "_stmt_" + type(node).__name__, None)
        if handler is None:
            raise self.error(f"unsupported statement ({type(node).__name__})", node)
        result = handler(node, scope)
        statements = result if isinstance(result, list) else [result]
        return [place(statement, node) for statement in statements]

    def _stmt_ExprStmt(self, node: st.ExprStmt, scope: Scope) -> ast.stmt:
        return ast.Expr(value=self.expr(node.value))

    def _stmt_Assign(self, node: st.Assign, scope: Scope) -> ast.stmt:
        return ast.Assign(targets=[self.target(target) for target in node.targets], value=self.expr(node.value))

    def _stmt_AnnAssign(self, node: st.AnnAssign, scope: Scope) -> ast.stmt:
        target = self.target(node.target)
        if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
            raise self.error("only a single target can be annotated", node)
        return ast.AnnAssign(
            target=target,
            annotation=self.expr(node.type),
            value=self.expr(node.value) if node.value is not None else None,
            simple=int(isinstance(target, ast.Name)),
        )

    def _stmt_AugAssign(self, node: st.AugAssign, scope: Scope) -> ast.stmt:
        target = self.target(node.target)
        if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
            raise self.error("illegal target for augmented assignment", node)
        return ast.AugAssign(target=target, op=AUGMENTED_OPERATORS[str(node.operator)](), value=self.expr(node.value))

    def _stmt_Return(self, node: st.Return, scope: Scope) -> ast.stmt:
        return ast.Return(value=self.expr(node.value) if node.value is not None else None)

    def _stmt_Raise(self, node: st.Raise, scope: Scope) -> ast.stmt:
        return ast.Raise(
            exc=self.expr(node.exception) if node.exception is not None else None,
            cause=self.expr(node.cause) if node.cause is not None else None,
        )

    def _stmt_Assert(self, node: st.Assert, scope: Scope) -> ast.stmt:
        return ast.Assert(test=self.expr(node.test), msg=self.expr(node.message) if node.message is not None else None)

    def _stmt_Has(self, node: st.Has, scope: Scope) -> ast.stmt:
        raise self.error("'has' declares fields: it belongs in an archetype or in its 'impl' block", node)

    def _stmt_Check(self, node: st.Check, scope: Scope) -> ast.stmt:
        """``check a == b;`` is ``__jac__.check("==", a, b)``: an assertion whose message shows the operands.

        As upstream (which calls unittest's ``assertEqual`` and friends): one
        comparison checks its two operands, ``x is None`` / ``isinstance(x, T)`` /
        ``almostEqual(a, b)`` their own way, anything else its truth.
        """
        test = node.test
        if isinstance(test, st.BinaryChain) and len(test.operators) == 1 and str(test.operators[0]) in _CHECK_OPERATORS:
            operator = str(test.operators[0])
            left, right = test.operands
            if operator in ("is", "is not") and isinstance(right, st.Constant) and str(right.token) == "None":
                kind, operands = operator + " None", [left]
            else:
                kind, operands = operator, [left, right]
        elif (
            isinstance(test, st.Call) and isinstance(test.func, st.Name)
            and str(test.func.token) in ("almostEqual", "isinstance")
            and len(test.arguments) == 2
            and not any(isinstance(argument, (st.Keyword, st.StarArg)) for argument in test.arguments)
        ):
            kind, operands = str(test.func.token), list(test.arguments)
        else:
            kind, operands = "true", [test]
        arguments = [ast.Constant(value=kind), *(self.expr(operand) for operand in operands)]
        return ast.Expr(value=ast.Call(func=runtime("check"), args=arguments, keywords=[]))

    def _stmt_Delete(self, node: st.Delete, scope: Scope) -> ast.stmt:
        return ast.Delete(targets=[self.target(child, ast.Del()) for child in node.targets.items])

    def _stmt_Global(self, node: st.Global, scope: Scope) -> ast.stmt:
        names = [token_text(name) for name in node.names]
        return ast.Nonlocal(names=names) if node.nonlocal_ else ast.Global(names=names)

    def _stmt_WordStatement(self, node: st.WordStatement, scope: Scope) -> ast.stmt:
        word = str(node.word)
        if word == "continue":
            self.continues_generated += 1
        return _WORD_STATEMENTS[word]()

    def _else(self, block: st.Block | None, scope: Scope) -> list[ast.stmt]:
        return self.block(block, scope) if block is not None else []

    def _stmt_If(self, node: st.If, scope: Scope) -> ast.stmt:
        orelse = self._else(node.orelse, scope)
        for clause in reversed(node.elifs):
            orelse = [place(ast.If(test=self.expr(clause.test), body=self.block(clause.body, scope), orelse=orelse), clause)]
        return ast.If(test=self.expr(node.test), body=self.block(node.body, scope), orelse=orelse)

    def _stmt_While(self, node: st.While, scope: Scope) -> ast.stmt:
        return ast.While(test=self.expr(node.test), body=self.block(node.body, scope), orelse=self._else(node.orelse, scope))

    def _stmt_For(self, node: st.For, scope: Scope) -> ast.stmt:
        node_class = ast.AsyncFor if node.is_async is not None else ast.For
        return node_class(
            target=self.exprlist_target(node.target),
            iter=self.expr(node.iterable),
            body=self.block(node.body, scope),
            orelse=self._else(node.orelse, scope),
        )

    def _stmt_ForTo(self, node: st.ForTo, scope: Scope) -> list[ast.stmt]:
        """``for i = a to cond by step { }``: assignment, then a ``while`` running the step after each pass."""
        if str(node.keyword) != "to":
            raise self.error(f"expected 'to' in a counting for loop, found {node.keyword!s}", node.keyword)
        initial = place(ast.Assign(targets=[self.exprlist_target(node.target)], value=self.expr(node.start)), node)
        step = [place(self.statement(node.step, Scope("function"))[0], node.step)]
        continues_before = self.continues_generated
        body: list = self.block(node.body, scope)
        if self.continues_generated != continues_before:  # only then is the body worth rewriting
            body = [_ContinueWithStep(step).visit(statement) for statement in body]
        flat: list[ast.stmt] = []
        for statement in body:
            flat.extend(statement if isinstance(statement, list) else [statement])
        return [initial, ast.While(test=self.expr(node.condition), body=flat + step, orelse=[])]

    def _stmt_Try(self, node: st.Try, scope: Scope) -> ast.stmt:
        handlers: list[ast.excepthandler] = [
            place(
                ast.ExceptHandler(
                    type=self.expr(clause.type) if clause.type is not None else None,
                    name=token_text(clause.name) if clause.name is not None else None,
                    body=self.block(clause.body, scope),
                ),
                clause,
            )
            for clause in node.handlers
        ]
        orelse = self._else(node.orelse, scope)
        final = self._else(node.final, scope)
        if not handlers and not final:
            raise self.error("'try' needs at least one 'except' or a 'finally'", node)
        if orelse and not handlers:
            raise self.error("'else' after 'try' needs an 'except'", node)
        return ast.Try(body=self.block(node.body, scope), handlers=handlers, orelse=orelse, finalbody=final)

    def _stmt_With(self, node: st.With, scope: Scope) -> ast.stmt:
        with_items = [
            ast.withitem(
                context_expr=self.expr(item.context),
                optional_vars=self.target(item.target) if item.target is not None else None,
            )
            for item in node.items
        ]
        node_class = ast.AsyncWith if node.is_async is not None else ast.With
        return node_class(items=with_items, body=self.block(node.body, scope))

    def _stmt_Match(self, node: st.Match, scope: Scope) -> ast.stmt:
        match_cases = []
        for case in node.cases:
            body: list[ast.stmt] = []
            for statement in case.body:
                body.extend(self.statement(statement, scope))
            match_cases.append(
                ast.match_case(
                    pattern=build_pattern(self, case.pattern),
                    guard=self.expr(case.guard) if case.guard is not None else None,
                    body=body or [place(ast.Pass(), case)],
                )
            )
        return ast.Match(subject=self.expr(node.subject), cases=match_cases)

    # ------------------------------------------------------------------ imports
    def _stmt_ImportFrom(self, node: st.ImportFrom, scope: Scope) -> ast.stmt:
        aliases = [
            place(ast.alias(name=token_text(name.name), asname=token_text(name.alias) if name.alias is not None else None), name)
            for name in node.names
        ]
        return ast.ImportFrom(module=node.path.name, names=aliases, level=node.path.level)

    def _stmt_Import(self, node: st.Import, scope: Scope) -> ast.stmt:
        aliases = [
            place(
                ast.alias(
                    name=".".join(token_text(part) for part in module.name.parts),
                    asname=token_text(module.alias) if module.alias is not None else None,
                ),
                module,
            )
            for module in node.modules
        ]
        return ast.Import(names=aliases)


_WORD_STATEMENTS: dict[str, type[ast.stmt]] = {"break": ast.Break, "continue": ast.Continue, "pass": ast.Pass}
