"""Jac statements (blocks, control flow, imports) to Python ``ast`` statements."""

from __future__ import annotations

import ast

from lark import Tree

from jaclang.compiler.astbuild import Scope, SemText, dotted_expression, present_children
from jaclang.compiler.expressions import AUGMENTED_OPERATORS, ExpressionGenerator, place, token_text
from jaclang.compiler.patterns import build_pattern


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

    def declaration(self, tree: Tree, scope: Scope) -> tuple[ast.stmt, list[SemText]]:
        """A declaration and its sem texts (provided by :class:`DeclarationGenerator`)."""
        raise NotImplementedError

    def sem_call(self, sem: SemText, prefix: tuple[str, ...]) -> ast.stmt:
        """A statement attaching a sem text (provided by :class:`DeclarationGenerator`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ statements
    def block(self, tree: Tree, scope: Scope) -> list[ast.stmt]:
        """The statements of a ``{ }`` block (``pass`` when empty)."""
        statements: list[ast.stmt] = []
        for child in tree.children:
            statements.extend(self.statement(child, scope))
        return statements or [place(ast.Pass(), tree)]

    def statement(self, item: Tree, scope: Scope) -> list[ast.stmt]:
        """One statement; declarations may expand to several (the definition, then its sems)."""
        kind = str(item.data)
        if kind == "declaration":
            node, sems = self.declaration(item, scope)
            return [node, *(self.sem_call(sem, ()) for sem in sems)]
        handler = getattr(self, "_stmt_" + kind, None)
        if handler is None:
            raise self.error(f"unsupported statement ({kind})", item)
        result = handler(item, scope)
        statements = result if isinstance(result, list) else [result]
        return [place(statement, item) for statement in statements]

    def _stmt_expr_only(self, tree: Tree, scope: Scope) -> ast.stmt:
        return ast.Expr(value=self.expr(tree.children[0]))

    def _stmt_assign(self, tree: Tree, scope: Scope) -> ast.stmt:
        *targets, value = tree.children
        return ast.Assign(targets=[self.target(target) for target in targets], value=self.expr(value))

    def _stmt_annassign(self, tree: Tree, scope: Scope) -> ast.stmt:
        target_tree, type_tree, value_tree = tree.children
        target = self.target(target_tree)
        if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
            raise self.error("only a single target can be annotated", tree)
        return ast.AnnAssign(
            target=target,
            annotation=self.expr(type_tree),
            value=self.expr(value_tree) if value_tree is not None else None,
            simple=int(isinstance(target, ast.Name)),
        )

    def _stmt_augassign(self, tree: Tree, scope: Scope) -> ast.stmt:
        target_tree, operator, value = tree.children
        target = self.target(target_tree)
        if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
            raise self.error("illegal target for augmented assignment", tree)
        return ast.AugAssign(target=target, op=AUGMENTED_OPERATORS[str(operator)](), value=self.expr(value))

    def _stmt_return_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        value = tree.children[0]
        return ast.Return(value=self.expr(value) if value is not None else None)

    def _stmt_raise_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        exception, cause = tree.children
        return ast.Raise(
            exc=self.expr(exception) if exception is not None else None,
            cause=self.expr(cause) if cause is not None else None,
        )

    def _stmt_assert_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        test, message = tree.children
        return ast.Assert(test=self.expr(test), msg=self.expr(message) if message is not None else None)

    def _stmt_del_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        targets = [self.target(child, ast.Del()) for child in present_children(tree.children[0])]
        return ast.Delete(targets=targets)

    def _stmt_global_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        return ast.Global(names=[token_text(name) for name in tree.children])

    def _stmt_nonlocal_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        return ast.Nonlocal(names=[token_text(name) for name in tree.children])

    def _stmt_yield_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        return ast.Expr(value=self.expr(tree.children[0]))

    def _stmt_break_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        return ast.Break()

    def _stmt_continue_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        return ast.Continue()

    def _stmt_pass_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        return ast.Pass()

    def _else(self, clause: Tree | None, scope: Scope) -> list[ast.stmt]:
        return self.block(clause.children[0], scope) if clause is not None else []

    def _stmt_if_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        test, block, *rest = tree.children
        else_clause = rest.pop() if rest else None
        orelse = self._else(else_clause, scope)
        for clause in reversed(rest):
            clause_test, clause_block = clause.children
            orelse = [place(ast.If(test=self.expr(clause_test), body=self.block(clause_block, scope), orelse=orelse), clause)]
        return ast.If(test=self.expr(test), body=self.block(block, scope), orelse=orelse)

    def _stmt_while_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        test, block, else_clause = tree.children
        return ast.While(test=self.expr(test), body=self.block(block, scope), orelse=self._else(else_clause, scope))

    def _stmt_for_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        is_async, targets, iterable, block, else_clause = tree.children
        node_class = ast.AsyncFor if is_async is not None else ast.For
        return node_class(
            target=self.exprlist_target(targets),
            iter=self.expr(iterable),
            body=self.block(block, scope),
            orelse=self._else(else_clause, scope),
        )

    def _stmt_for_to_stmt(self, tree: Tree, scope: Scope) -> list[ast.stmt]:
        """``for i = a to cond by step { }``: assignment, then a ``while`` running the step after each pass."""
        targets, start, keyword, condition, step_tree, block = tree.children
        if str(keyword) != "to":
            raise self.error(f"expected 'to' in a counting for loop, found {keyword!s}", keyword)
        initial = place(ast.Assign(targets=[self.exprlist_target(targets)], value=self.expr(start)), tree)
        step = [place(self.step(step_tree), step_tree)]
        body = [_ContinueWithStep(step).visit(statement) for statement in self.block(block, scope)]
        flat: list[ast.stmt] = []
        for statement in body:
            flat.extend(statement if isinstance(statement, list) else [statement])
        return [initial, ast.While(test=self.expr(condition), body=flat + step, orelse=[])]

    def step(self, tree: Tree) -> ast.stmt:
        """The ``by`` step of a counting ``for`` loop."""
        if tree.data == "step_aug":
            return self._stmt_augassign(tree, Scope("function"))
        return self._stmt_assign(tree, Scope("function"))

    def _stmt_try_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        block, *clauses = tree.children
        handlers: list[ast.excepthandler] = []
        orelse: list[ast.stmt] = []
        final: list[ast.stmt] = []
        for clause in clauses:
            if clause is None:
                continue
            if clause.data == "except_clause":
                kind_tree, name, handler_block = clause.children
                handlers.append(
                    place(
                        ast.ExceptHandler(
                            type=self.except_type(kind_tree) if kind_tree is not None else None,
                            name=token_text(name) if name is not None else None,
                            body=self.block(handler_block, scope),
                        ),
                        clause,
                    )
                )
            elif clause.data == "else_clause":
                orelse = self._else(clause, scope)
            else:
                final = self.block(clause.children[0], scope)
        if not handlers and not final:
            raise self.error("'try' needs at least one 'except' or a 'finally'", tree)
        if orelse and not handlers:
            raise self.error("'else' after 'try' needs an 'except'", tree)
        return ast.Try(body=self.block(block, scope), handlers=handlers, orelse=orelse, finalbody=final)

    def except_type(self, tree: Tree) -> ast.expr:
        """The exception class (or tuple of classes) an ``except`` clause catches."""
        if tree.data == "except_name":
            return dotted_expression([token_text(part) for part in tree.children[0].children], tree)
        return place(ast.Tuple(elts=[self.expr(child) for child in present_children(tree)], ctx=ast.Load()), tree)

    def _stmt_with_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        is_async, *items, block = tree.children
        with_items = []
        for item in items:
            context, target = item.children
            with_items.append(
                ast.withitem(context_expr=self.expr(context), optional_vars=self.target(target) if target is not None else None)
            )
        node_class = ast.AsyncWith if is_async is not None else ast.With
        return node_class(items=with_items, body=self.block(block, scope))

    def _stmt_match_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        subject, *cases = tree.children
        match_cases = []
        for case in cases:
            pattern, guard, *statements = case.children
            body: list[ast.stmt] = []
            for statement in statements:
                body.extend(self.statement(statement, scope))
            match_cases.append(
                ast.match_case(
                    pattern=build_pattern(self, pattern),
                    guard=self.expr(guard) if guard is not None else None,
                    body=body or [place(ast.Pass(), case)],
                )
            )
        return ast.Match(subject=self.expr(subject), cases=match_cases)

    # ------------------------------------------------------------------ imports
    def module_path(self, tree: Tree) -> tuple[str | None, int]:
        """``(module name, relative level)`` of a module path."""
        level = 0
        name: str | None = None
        for child in tree.children:
            if child.data == "dots":
                level = sum(len(str(token)) for token in child.children)
            else:
                name = ".".join(token_text(part) for part in child.children)
        return name, level

    def import_aliases(self, tree: Tree) -> list[ast.alias]:
        """``a, b as c`` of an import."""
        aliases = []
        for item in present_children(tree):
            if not isinstance(item, Tree):
                continue
            name, alias = item.children
            aliases.append(place(ast.alias(name=token_text(name), asname=token_text(alias) if alias is not None else None), item))
        return aliases

    def _stmt_import_from(self, tree: Tree, scope: Scope) -> ast.stmt:
        _language, path, names = tree.children
        module, level = self.module_path(path)
        return ast.ImportFrom(module=module, names=self.import_aliases(names), level=level)

    def _stmt_import_from_py(self, tree: Tree, scope: Scope) -> ast.stmt:
        path, names = tree.children
        module, level = self.module_path(path)
        return ast.ImportFrom(module=module, names=self.import_aliases(names), level=level)

    def _stmt_import_modules(self, tree: Tree, scope: Scope) -> ast.stmt:
        _language, *modules = tree.children
        aliases = []
        for module in modules:
            dotted, alias = module.children
            name = ".".join(token_text(part) for part in dotted.children)
            aliases.append(place(ast.alias(name=name, asname=token_text(alias) if alias is not None else None), module))
        return ast.Import(names=aliases)

    def _stmt_include_stmt(self, tree: Tree, scope: Scope) -> ast.stmt:
        _language, path = tree.children
        module, level = self.module_path(path)
        return ast.ImportFrom(module=module, names=[ast.alias(name="*")], level=level)
