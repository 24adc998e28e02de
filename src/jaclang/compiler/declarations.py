"""Jac declarations (abilities, archetypes, enums, impls, sem texts) to Python definitions."""

from __future__ import annotations

import ast

from lark import Token, Tree

from jaclang.compiler.astbuild import (
    OBJECT_KINDS,
    Implementation,
    ModuleState,
    Scope,
    SemText,
    call_statement,
    class_def,
    dotted_expression,
    function_def,
    is_simple_constant,
    present_children,
)
from jaclang.compiler.expressions import SPECIAL_METHODS, place, runtime, token_text
from jaclang.compiler.fstrings import string_value
from jaclang.compiler.signatures import add_self_parameter, build_arguments
from jaclang.compiler.statements import StatementGenerator


class _SelfStripper(ast.NodeTransformer):
    """``self.Inner`` in a type inside an archetype means the nested archetype ``Inner``."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        """Replace ``self.X`` by ``X``."""
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            return ast.copy_location(ast.Name(id=node.attr, ctx=ast.Load()), node)
        return self.generic_visit(node)


class DeclarationGenerator(StatementGenerator):
    """Builds functions, classes and enums; impls and pending types come from the module state."""

    def __init__(self, source: str, filename: str) -> None:
        super().__init__(source, filename)
        self.state = ModuleState()
        # Archetypes declared at or after the module item being generated (forward references).
        self.pending_types: set[str] = set()

    def sem_call(self, sem: SemText, prefix: tuple[str, ...]) -> ast.stmt:
        """``__jac__.sem(owner, part, text)``."""
        owner = dotted_expression(prefix + sem.owner_path, sem.item)
        return call_statement(runtime("sem"), [owner, ast.Constant(value=sem.part), ast.Constant(value=sem.text)], sem.item)

    # ------------------------------------------------------------------ declarations
    def declaration(self, tree: Tree, scope: Scope) -> tuple[ast.stmt, list[SemText]]:
        """A function, archetype or enum with its decorators and docstring."""
        decorator_tree, docstring_tree, decl = tree.children
        decorators = [self.expr(child) for child in present_children(decorator_tree)]
        docstring = self.docstring(docstring_tree)
        if decl.data == "ability":
            node, sems = self.ability(decl, scope, decorators, docstring)
        elif decl.data == "archetype":
            node, sems = self.archetype(decl, scope, decorators, docstring)
        else:
            node, sems = self.enum(decl, scope, decorators, docstring)
        return place(node, tree), sems

    def docstring(self, tree: Tree | None) -> str | None:
        """The text of a docstring written before a declaration, if any."""
        if tree is None:
            return None
        value = self.expr(tree.children[0])
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
            raise self.error("a docstring must be a plain string", tree)
        return value.value

    def annotation_translator(self, scope: Scope):
        """Translate type expressions; inside archetypes ``self.X`` names the nested ``X``.

        A type naming an archetype that does not exist yet (the one being defined,
        or one declared further down the module) becomes a string forward
        reference, qualified so ``typing.get_type_hints`` resolves it from the
        module globals at call time.
        """
        stripper = _SelfStripper()
        qualified = {name: ".".join(scope.path[: index + 1]) for index, name in enumerate(scope.path)}
        if scope.kind != "archetype":
            qualified = {}

        def translate(tree: Tree) -> ast.expr:
            node = self.expr(tree)
            if scope.kind == "archetype":
                node = stripper.visit(node)
            names = {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}
            if not names & (self.pending_types | set(qualified)):
                return node
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and child.id in qualified:
                    child.id = qualified[child.id]
            return ast.copy_location(ast.Constant(value=ast.unparse(node)), node)

        return translate

    def ability(
        self, tree: Tree, scope: Scope, decorators: list[ast.expr], docstring: str | None,
        implementation: Implementation | None = None,
    ) -> tuple[ast.stmt, list[SemText]]:
        """``def``/``can``: a function or method; ``by <model>;`` makes it an LLM-backed function."""
        is_async, is_static, sem_tree, name_tree, signature, _event, body = tree.children
        name = token_text(name_tree)
        key = ".".join(scope.path + (name,))
        if implementation is None:
            implementation = self.state.implementations.get(key)
        if implementation is not None:
            signature = implementation.signature or signature
            body = implementation.body
        in_archetype = scope.kind == "archetype"
        python_name = SPECIAL_METHODS.get(name, name) if in_archetype else name
        semstrings: dict[str, str] = {}
        translate = self.annotation_translator(scope)
        params, return_hint = self._signature_parts(signature)
        arguments = build_arguments(self, params, annotation=translate, semstrings=semstrings)
        is_method = in_archetype and is_static is None
        if is_method:
            arguments = add_self_parameter(arguments)
        returns = None
        sems = [SemText((name,), part, text, tree) for part, text in semstrings.items()]
        if return_hint is not None:
            return_sem, return_type = return_hint.children
            returns = translate(return_type)
            if return_sem is not None:
                sems.append(SemText((name,), "return", str(string_value(self, return_sem.children[0])), tree))
        if sem_tree is not None:
            sems.insert(0, SemText((name,), "", str(string_value(self, sem_tree.children[0])), tree))
        statements, llm_decorator = self.ability_body(body, key, is_method)
        if docstring is not None:
            statements.insert(0, place(ast.Expr(value=ast.Constant(value=docstring)), tree))
        all_decorators = list(decorators)
        if is_static is not None and in_archetype:
            all_decorators.insert(0, place(ast.Name(id="staticmethod", ctx=ast.Load()), tree))
        if llm_decorator is not None:
            all_decorators.append(llm_decorator)
        node = function_def(python_name, arguments, statements, all_decorators, returns, is_async is not None)
        if python_name != name:
            sems = [SemText((python_name,), sem.part, sem.text, sem.item) for sem in sems]
        return place(node, tree), sems

    @staticmethod
    def _signature_parts(signature: Tree | None) -> tuple[list, Tree | None]:
        if signature is None:
            return [], None
        children = signature.children
        if len(children) == 1:  # `-> T` without parentheses
            return [], children[0]
        params, return_hint = children
        return present_children(params), return_hint

    def ability_body(self, body: Tree, key: str, is_method: bool) -> tuple[list[ast.stmt], ast.expr | None]:
        """The statements of an ability and, for ``by <model>;``, the decorator calling the model."""
        if body.data == "body_block":
            return self.block(body.children[0], Scope("function", tuple(key.split(".")))), None
        if body.data == "body_abstract":
            message = ast.Constant(value=f"{key} is declared but has no implementation")
            error = ast.Call(func=ast.Name(id="NotImplementedError", ctx=ast.Load()), args=[message], keywords=[])
            return [place(ast.Raise(exc=error, cause=None), body)], None
        model_tree = body.children[0]
        model = self.model_expression(model_tree)
        stub = [place(ast.Expr(value=ast.Constant(value=...)), body)]
        uses_self = is_method and any(isinstance(node, ast.Name) and node.id == "self" for node in ast.walk(model))
        if uses_self:
            thunk = ast.Lambda(args=build_arguments(self, []), body=model)
            thunk.args.args.append(ast.arg(arg="self"))
            decorator = ast.Call(func=runtime("llm_method"), args=[thunk], keywords=[])
        else:
            thunk = ast.Lambda(args=build_arguments(self, []), body=model)
            decorator = ast.Call(
                func=runtime("llm_function"), args=[thunk], keywords=[ast.keyword(arg="lazy", value=ast.Constant(value=True))]
            )
        return stub, place(decorator, model_tree)

    def unmatched_impl(self, tree: Tree) -> list[ast.stmt]:
        """An ``impl`` whose declaration is elsewhere: define it and attach it to its owner."""
        implementation = next(impl for impl in self.state.implementations.values() if impl.tree is tree)
        if implementation.key in self.state.declared_keys:
            return []
        names = implementation.key.split(".")
        owner, name = names[:-1], names[-1]
        fake = Tree("ability", [None, None, None, Token("NAME", name), implementation.signature, None, implementation.body], tree.meta)
        scope = Scope("archetype", tuple(owner)) if owner else Scope("module")
        node, sems = self.ability(fake, scope, [], None, implementation)
        if not owner:
            return [node]
        python_name = node.name  # type: ignore[attr-defined]
        temporary = f"__jac_impl_{python_name}"
        node.name = temporary  # type: ignore[attr-defined]
        attach = place(
            ast.Assign(
                targets=[ast.Attribute(value=dotted_expression(owner, tree), attr=python_name, ctx=ast.Store())],
                value=ast.Name(id=temporary, ctx=ast.Load()),
            ),
            tree,
        )
        return [node, attach, *(self.sem_call(sem, tuple(owner)) for sem in sems)]

    def bases(self, inherit: Tree | None) -> tuple[list[ast.expr], list[ast.keyword]]:
        """Base classes (and class keywords) from ``(A, B)`` or legacy ``:A:``."""
        if inherit is None:
            return [], []
        if inherit.data == "legacy_inherit":
            return [place(ast.Name(id=token_text(name), ctx=ast.Load()), name) for name in inherit.children], []
        return self.call_arguments(inherit.children[0])

    def archetype(
        self, tree: Tree, scope: Scope, decorators: list[ast.expr], docstring: str | None
    ) -> tuple[ast.stmt, list[SemText]]:
        """``obj``/``node``/``edge``/``walker``/``class``: a class, a dataclass when it has fields."""
        kind_tree, sem_tree, name_token, inherit, body_tree = tree.children
        kind = str(kind_tree.children[0])
        name = token_text(name_token)
        bases, keywords = self.bases(inherit)
        inner = Scope("archetype", scope.path + (name,))
        nested, fields, methods, sems, user_init = self.archetype_members(present_children(body_tree), inner)
        body: list[ast.stmt] = []
        if docstring is not None:
            body.append(place(ast.Expr(value=ast.Constant(value=docstring)), tree))
        body.extend(nested + fields + methods)
        all_decorators = list(decorators)
        if kind in OBJECT_KINDS or fields:
            flags = [ast.keyword(arg="user_init", value=ast.Constant(value=user_init))]
            all_decorators.append(place(ast.Call(func=runtime("jac_object"), args=[], keywords=flags), tree))
        result_sems = [SemText((name,) + sem.owner_path, sem.part, sem.text, sem.item) for sem in sems]
        if sem_tree is not None:
            result_sems.insert(0, SemText((name,), "", str(string_value(self, sem_tree.children[0])), tree))
        return place(class_def(name, bases, keywords, body, all_decorators), tree), result_sems

    def archetype_members(
        self, members: list, scope: Scope
    ) -> tuple[list[ast.stmt], list[ast.stmt], list[ast.stmt], list[SemText], bool]:
        """Nested types, fields, methods and sems of an archetype or enum body, in that order."""
        nested: list[ast.stmt] = []
        fields: list[ast.stmt] = []
        methods: list[ast.stmt] = []
        sems: list[SemText] = []
        user_init = False
        for member in members:
            kind = member.data
            if kind == "has_stmt":
                new_fields, new_sems = self.has_fields(member, scope)
                fields.extend(new_fields)
                sems.extend(new_sems)
            elif kind == "declaration":
                node, new_sems = self.declaration(member, scope)
                if isinstance(node, ast.ClassDef):
                    nested.append(node)
                else:
                    methods.append(node)
                    user_init = user_init or node.name == "__init__"  # type: ignore[attr-defined]
                sems.extend(SemText(sem.owner_path, sem.part, sem.text, sem.item) for sem in new_sems)
            elif kind in ("impl_decl", "legacy_impl"):
                if kind == "impl_decl":
                    dotted, signature, _event, body = member.children
                    name = token_text(dotted.children[-1])
                else:
                    parts = [child for child in member.children if isinstance(child, Tree) and child.data == "legacy_part"]
                    name = token_text(parts[-1].children[1])
                    signature, body = member.children[len(parts)], member.children[len(parts) + 1]
                fake = Tree("ability", [None, None, None, Token("NAME", name), signature, None, body], member.meta)
                node, new_sems = self.ability(fake, scope, [], None, Implementation(name, signature, body, member))
                methods.append(node)
                sems.extend(new_sems)
            elif kind == "sem_stmt":
                dotted, strings = member.children
                names = [token_text(part) for part in dotted.children]
                text = self.expr(strings)
                if not isinstance(text, ast.Constant) or not isinstance(text.value, str):
                    raise self.error("a sem text must be a plain string", strings)
                owner = tuple(names[:-1])
                sems.append(SemText(owner, names[-1], text.value, member))
            else:
                raise self.error(f"unsupported member ({kind})", member)
        return nested, fields, methods, sems, user_init

    def has_fields(self, tree: Tree, scope: Scope) -> tuple[list[ast.stmt], list[SemText]]:
        """``has a: T = v, b: U by postinit;`` fields (``static has``: class attributes)."""
        _docstring, is_static, *variables = tree.children
        translate = self.annotation_translator(scope)
        statements: list[ast.stmt] = []
        sems: list[SemText] = []
        for variable in variables:
            name_token, sem_tree, type_tree, default = variable.children
            name = token_text(name_token)
            target = place(ast.Name(id=name, ctx=ast.Store()), name_token)
            annotation = translate(type_tree)
            if sem_tree is not None:
                sems.append(SemText((), name, str(string_value(self, sem_tree.children[0])), variable))
            value: ast.expr | None = None
            if default is not None and default.data == "default_value":
                value = self.expr(default.children[0])
                if is_static is None and not is_simple_constant(value):
                    factory = ast.Lambda(args=build_arguments(self, []), body=value)
                    value = ast.Call(func=runtime("default_field"), args=[factory], keywords=[])
            elif default is not None:
                keyword = token_text(default.children[0])
                if keyword != "postinit":
                    raise self.error(f"expected 'postinit' after 'by' in a field, found {keyword!r}", default)
                value = ast.Call(func=runtime("postinit_field"), args=[], keywords=[])
            if is_static is not None:
                annotation = ast.Subscript(value=runtime("ClassVar"), slice=annotation, ctx=ast.Load())
            statements.append(place(ast.AnnAssign(target=target, annotation=annotation, value=value, simple=1), variable))
        return statements, sems

    def enum(
        self, tree: Tree, scope: Scope, decorators: list[ast.expr], docstring: str | None
    ) -> tuple[ast.stmt, list[SemText]]:
        """``enum E { A, B = 2 }``: an ``enum.Enum`` (``enum E: int {...}`` mixes in ``int``)."""
        sem_tree, name_token, type_tree, inherit, body_tree = tree.children
        name = token_text(name_token)
        bases, keywords = self.bases(inherit)
        if type_tree is not None:
            bases.insert(0, self.expr(type_tree))
        bases.append(runtime("Enum"))
        inner = Scope("archetype", scope.path + (name,))
        body: list[ast.stmt] = []
        if docstring is not None:
            body.append(place(ast.Expr(value=ast.Constant(value=docstring)), tree))
        sems: list[SemText] = []
        children = present_children(body_tree)
        if children and children[0].data == "enum_members":
            for member in present_children(children.pop(0)):
                member_name, sem_text, value_tree = member.children
                value = self.expr(value_tree) if value_tree is not None else ast.Call(func=runtime("auto"), args=[], keywords=[])
                body.append(place(ast.Assign(targets=[place(ast.Name(id=token_text(member_name), ctx=ast.Store()), member_name)], value=value), member))
                if sem_text is not None:
                    sems.append(SemText((name,), token_text(member_name), str(string_value(self, sem_text)), member))
        nested, fields, methods, member_sems, _init = self.archetype_members(children, inner)
        body.extend(nested + fields + methods)
        sems.extend(SemText((name,) + sem.owner_path, sem.part, sem.text, sem.item) for sem in member_sems)
        if sem_tree is not None:
            sems.insert(0, SemText((name,), "", str(string_value(self, sem_tree.children[0])), tree))
        return place(class_def(name, bases, keywords, body, decorators), tree), sems
