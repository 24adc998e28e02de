"""Jac declarations (abilities, archetypes, enums, impls, sem texts) to Python definitions."""

from __future__ import annotations

import ast

from jaclang.compiler import syntax_tree as st
from jaclang.compiler.astbuild import (
    OBJECT_KINDS,
    ModuleState,
    Scope,
    SemText,
    call_statement,
    class_def,
    dotted_expression,
    function_def,
    is_simple_constant,
)
from jaclang.compiler.annexes import ANNEX_LINE_STRIDE
from jaclang.compiler.expressions import SPECIAL_METHODS, copy_position, place, runtime, token_text
from jaclang.compiler.fstrings import string_value
from jaclang.compiler.signatures import add_self_parameter, build_arguments
from jaclang.compiler.spatial import SpatialGenerator


class _SelfStripper(ast.NodeTransformer):
    """``self.Inner`` in a type inside an archetype means the nested archetype ``Inner``."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        """Replace ``self.X`` by ``X``."""
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            return copy_position(ast.Name(id=node.attr, ctx=ast.Load()), node)
        return self.generic_visit(node)


class DeclarationGenerator(SpatialGenerator):
    """Builds functions, classes and enums; impls and pending types come from the module state."""

    def __init__(self, source: str, filename: str) -> None:
        super().__init__(source, filename)
        self.state = ModuleState()
        # Archetypes declared at or after the module item being generated (forward references).
        self.pending_types: set[str] = set()
        # The index of each module-level declaration, in source order.
        self.declaration_order: dict[str, int] = {}

    def sem_call(self, sem: SemText, prefix: tuple[str, ...]) -> ast.stmt:
        """``__jac__.sem(owner, part, text)``."""
        owner = dotted_expression(prefix + sem.owner_path, sem.item)
        return call_statement(runtime("sem"), [owner, ast.Constant(value=sem.part), ast.Constant(value=sem.text)], sem.item)

    # ------------------------------------------------------------------ declarations
    def declaration(self, node: st.Declaration, scope: Scope) -> tuple[ast.stmt, list[SemText]]:
        """A function, archetype or enum with its decorators and docstring."""
        decorators = [self.expr(child) for child in node.decorators]
        docstring = self.docstring(node.docstring)
        decl = node.decl
        if isinstance(decl, st.Ability):
            result, sems = self.ability(decl, scope, decorators, docstring)
        elif isinstance(decl, st.Archetype):
            result, sems = self.archetype(decl, scope, decorators, docstring)
        else:
            result, sems = self.enum(decl, scope, decorators, docstring)
        return place(result, node), sems

    def docstring(self, strings: st.Strings | None) -> str | None:
        """The text of a docstring written before a declaration, if any."""
        if strings is None:
            return None
        value = self.expr(strings)
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
            raise self.error("a docstring must be a plain string", strings)
        return value.value

    def annotation_translator(self, scope: Scope, type_params: set[str] = frozenset()):  # type: ignore[assignment]
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

        def translate(type_node: st.Expr) -> ast.expr:
            node = self.expr(type_node)
            if scope.kind == "archetype":
                node = stripper.visit(node)
            names = {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}
            if not names & (self.pending_types | set(qualified) | type_params):
                return node
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and child.id in qualified:
                    child.id = qualified[child.id]
            return copy_position(ast.Constant(value=ast.unparse(node)), node)

        return translate

    def ability(
        self, node: st.Ability, scope: Scope, decorators: list[ast.expr], docstring: str | None,
        implementation: st.Impl | None = None,
    ) -> tuple[ast.stmt, list[SemText]]:
        """``def``/``can``: a function or method; ``by <model>;`` makes it an LLM-backed function."""
        name = token_text(node.name)
        key = ".".join(scope.path + (name,))
        if implementation is None:
            implementation = self.state.implementations.get(key)
        signature, body = node.signature, node.body
        if implementation is not None:
            signature = implementation.signature or signature
            body = implementation.body
        in_archetype = scope.kind == "archetype"
        python_name = SPECIAL_METHODS.get(name, name) if in_archetype else name
        semstrings: dict[str, str] = {}
        translate = self.annotation_translator(scope, _names(node.type_params))
        params = signature.params if signature is not None else []
        arguments = build_arguments(self, params, annotation=translate, semstrings=semstrings)
        is_method = in_archetype and node.is_static is None
        if is_method:
            arguments = add_self_parameter(arguments)
        returns = None
        sems = [SemText((name,), part, text, node) for part, text in semstrings.items()]
        if signature is not None and signature.returns is not None:
            returns = translate(signature.returns)
            if signature.return_sem is not None:
                sems.append(SemText((name,), "return", str(string_value(self, signature.return_sem)), node))
        if node.sem is not None:
            sems.insert(0, SemText((name,), "", str(string_value(self, node.sem)), node))
        statements, llm_decorator = self.ability_body(body, key, is_method)
        if docstring is not None:
            statements.insert(0, place(ast.Expr(value=ast.Constant(value=docstring)), node))
        all_decorators = list(decorators)
        if node.is_static is not None and in_archetype:
            all_decorators.insert(0, place(ast.Name(id="staticmethod", ctx=ast.Load()), node))
        if llm_decorator is not None:
            all_decorators.append(llm_decorator)
        event = implementation.event if implementation is not None and implementation.event is not None else node.event
        if event is not None:
            decorator = place(self.event_decorator(event), event)
            if not self.defer_forward_ability(decorator, scope, python_name, event):
                all_decorators.append(decorator)
        if isinstance(body, st.Abstract) and body.marker is not None:
            all_decorators.append(place(runtime("abstractmethod"), body))
        result = function_def(python_name, arguments, statements, all_decorators, returns, node.is_async is not None)
        if python_name != name:
            sems = [SemText((python_name,), sem.part, sem.text, sem.item) for sem in sems]
        if implementation is not None and (implementation.line or 0) >= ANNEX_LINE_STRIDE:
            # A body from an annex file: the function (and so its code object, whose first line is
            # that of its first decorator) lies wholly in the annex, which names it in tracebacks.
            for decorator in all_decorators:
                for child in ast.walk(decorator):
                    if "lineno" in child._attributes:
                        child.lineno = child.end_lineno = None
                place(decorator, implementation)
            return place(result, implementation), sems
        return place(result, node), sems

    def defer_forward_ability(self, decorator: ast.expr, scope: Scope, name: str, event: st.EventClause) -> bool:
        """Mark an ability of a module-level archetype whose trigger type is declared further down
        (``node Stop { can greet with Tourist entry {...} }`` before ``walker Tourist``) once that
        type exists: ``__jac__.on_entry(Tourist)(Stop.greet)`` right after its declaration."""
        if len(scope.path) != 1 or scope.kind != "archetype":
            return False
        later = {item.id for item in ast.walk(decorator) if isinstance(item, ast.Name)} & self.pending_types
        later.discard(scope.path[0])
        if not later:
            return False
        last = max(later, key=lambda type_name: self.declaration_order.get(type_name, -1))
        method = dotted_expression([scope.path[0], name], event)
        statement = place(ast.Expr(value=ast.Call(func=decorator, args=[method], keywords=[])), event)
        self.state.deferred_sems.setdefault(last, []).append(statement)
        return True

    def event_decorator(self, event: st.EventClause) -> ast.expr:
        """``with A | B entry`` -> ``__jac__.on_entry(A, B)`` (``with exit`` -> ``on_exit()``)."""
        types: list[ast.expr] = []
        if event.types is not None:
            union = self.expr(event.types)
            stack = [union]
            while stack:
                item = stack.pop()
                if isinstance(item, ast.BinOp) and isinstance(item.op, ast.BitOr):
                    stack.extend([item.right, item.left])
                else:
                    types.append(item)
        function = "on_entry" if str(event.kind) == "entry" else "on_exit"
        return ast.Call(func=runtime(function), args=types, keywords=[])

    def ability_body(
        self, body: st.Block | st.ByModel | st.Abstract, key: str, is_method: bool
    ) -> tuple[list[ast.stmt], ast.expr | None]:
        """The statements of an ability and, for ``by <model>;``, the decorator calling the model."""
        if isinstance(body, st.Block):
            return self.block(body, Scope("function", tuple(key.split(".")))), None
        if isinstance(body, st.Abstract):
            explanation = "is abstract" if body.marker is not None else "is declared but has no implementation"
            message = ast.Constant(value=f"{key} {explanation}")
            error = ast.Call(func=ast.Name(id="NotImplementedError", ctx=ast.Load()), args=[message], keywords=[])
            return [place(ast.Raise(exc=error, cause=None), body)], None
        model = self.model_expression(body.model)
        stub = [place(ast.Expr(value=ast.Constant(value=...)), body)]
        uses_self = is_method and any(isinstance(node, ast.Name) and node.id == "self" for node in ast.walk(model))
        thunk = ast.Lambda(args=build_arguments(self, []), body=model)
        if uses_self:
            thunk.args.args.append(ast.arg(arg="self"))
            decorator = ast.Call(func=runtime("llm_method"), args=[thunk], keywords=[])
        else:
            decorator = ast.Call(
                func=runtime("llm_function"), args=[thunk], keywords=[ast.keyword(arg="lazy", value=ast.Constant(value=True))]
            )
        return stub, place(decorator, body.model)

    def unmatched_impl(self, impl: st.Impl) -> list[ast.stmt]:
        """An ``impl`` whose declaration is elsewhere: define it and attach it to its owner."""
        key = ".".join(token_text(part) for part in impl.target)
        if key in self.state.declared_keys:
            return []
        names = key.split(".")
        owner = names[:-1]
        scope = Scope("archetype", tuple(owner)) if owner else Scope("module")
        node, sems = self.ability(impl_as_ability(impl), scope, [], None, impl)
        if not owner:
            return [node]
        python_name = node.name  # type: ignore[attr-defined]
        temporary = f"__jac_impl_{python_name}"
        node.name = temporary  # type: ignore[attr-defined]
        attach = place(
            ast.Assign(
                targets=[ast.Attribute(value=dotted_expression(owner, impl), attr=python_name, ctx=ast.Store())],
                value=ast.Name(id=temporary, ctx=ast.Load()),
            ),
            impl,
        )
        return [node, attach, *(self.sem_call(sem, tuple(owner)) for sem in sems)]

    def bases(self, inherit: st.Inherit | None) -> tuple[list[ast.expr], list[ast.keyword]]:
        """Base classes (and class keywords) from ``(A, B)`` or legacy ``:A:``."""
        if inherit is None:
            return [], []
        if inherit.legacy_names:
            return [place(ast.Name(id=token_text(name), ctx=ast.Load()), name) for name in inherit.legacy_names], []
        return self.call_arguments(inherit.arguments)

    def archetype(
        self, node: st.Archetype, scope: Scope, decorators: list[ast.expr], docstring: str | None
    ) -> tuple[ast.stmt, list[SemText]]:
        """``obj``/``node``/``edge``/``walker``/``class``: a class, a dataclass when it has fields."""
        kind = str(node.kind)
        name = token_text(node.name)
        bases, keywords = self.bases(node.inherit)
        if kind in SPATIAL_BASES:
            bases.append(place(runtime(SPATIAL_BASES[kind]), node.kind))
        if node.type_params:
            bases.append(place(self.generic_base(node.type_params), node.kind))
        inner = Scope("archetype", scope.path + (name,))
        saved_pending = self.pending_types
        self.pending_types = saved_pending | _names(node.type_params)
        members = node.members + self.body_implementation(inner.path)[1]
        try:
            nested, fields, methods, sems, user_init = self.archetype_members(members, inner)
        finally:
            self.pending_types = saved_pending
        body: list[ast.stmt] = []
        if docstring is not None:
            body.append(place(ast.Expr(value=ast.Constant(value=docstring)), node))
        body.extend(nested + fields + methods)
        if node.is_async:
            if kind != "walker":
                raise self.error(f"only a walker can be async, not {kind} {name}", node)
            body.append(place(ast.Assign(targets=[ast.Name(id="_jac_async", ctx=ast.Store())], value=ast.Constant(value=True)), node))
        all_decorators = list(decorators)
        if kind in OBJECT_KINDS or fields:
            flags = [ast.keyword(arg="user_init", value=ast.Constant(value=user_init))]
            all_decorators.append(place(ast.Call(func=runtime("jac_object"), args=[], keywords=flags), node))
        result_sems = [SemText((name,) + sem.owner_path, sem.part, sem.text, sem.item) for sem in sems]
        if node.sem is not None:
            result_sems.insert(0, SemText((name,), "", str(string_value(self, node.sem)), node))
        return place(class_def(name, bases, keywords, body, all_decorators), node), result_sems

    def body_implementation(self, path: tuple[str, ...]) -> tuple[list[st.EnumMember], list[st.Node]]:
        """The enum values and members an ``impl X { ... }`` block gives the archetype or enum ``X``."""
        implementation = self.state.implementations.get(".".join(path))
        if implementation is None or implementation.signature is not None or not isinstance(implementation.body, st.Block):
            return [], []
        return implementation.enum_values or [], implementation.body.statements

    def generic_base(self, type_params: list) -> ast.expr:
        """``Generic[TypeVar("T"), ...]`` so ``Box[int]`` works for ``obj Box[T]``."""
        variables = [ast.Call(func=runtime("TypeVar"), args=[ast.Constant(value=token_text(name))], keywords=[]) for name in type_params]
        index: ast.expr = variables[0] if len(variables) == 1 else ast.Tuple(elts=variables, ctx=ast.Load())
        return ast.Subscript(value=runtime("Generic"), slice=index, ctx=ast.Load())

    def archetype_members(
        self, members: list[st.Node], scope: Scope
    ) -> tuple[list[ast.stmt], list[ast.stmt], list[ast.stmt], list[SemText], bool]:
        """Nested types, fields, methods and sems of an archetype or enum body, in that order."""
        nested: list[ast.stmt] = []
        fields: list[ast.stmt] = []
        methods: list[ast.stmt] = []
        sems: list[SemText] = []
        user_init = False
        for member in members:
            if isinstance(member, st.Has):
                new_fields, new_sems = self.has_fields(member, scope)
                fields.extend(new_fields)
                sems.extend(new_sems)
            elif isinstance(member, st.Declaration):
                node, new_sems = self.declaration(member, scope)
                if isinstance(node, ast.ClassDef):
                    nested.append(node)
                else:
                    methods.append(node)
                    user_init = user_init or node.name == "__init__"  # type: ignore[attr-defined]
                sems.extend(new_sems)
            elif isinstance(member, st.Impl):
                node, new_sems = self.ability(impl_as_ability(member), scope, [], None, member)
                methods.append(node)
                sems.extend(new_sems)
            elif isinstance(member, st.SemStmt):
                names = [token_text(part) for part in member.target.parts]
                sems.append(SemText(tuple(names[:-1]), names[-1], self.sem_text(member), member))
            elif isinstance(member, st.EntryBlock):  # upstream's free code in a class body
                methods.extend(self.block(member.body, Scope("function", scope.path)))
            else:  # a statement of an `impl X { }` body: class-body code
                methods.extend(self.statement(member, Scope("function", scope.path)))
        return nested, fields, methods, sems, user_init

    def sem_text(self, node: st.SemStmt) -> str:
        """The text of a ``sem`` statement (a plain string)."""
        text = self.expr(node.text)
        if not isinstance(text, ast.Constant) or not isinstance(text.value, str):
            raise self.error("a sem text must be a plain string", node.text)
        return text.value

    def has_fields(self, node: st.Has, scope: Scope) -> tuple[list[ast.stmt], list[SemText]]:
        """``has a: T = v, b: U by postinit;`` fields (``static has``: class attributes)."""
        translate = self.annotation_translator(scope)
        statements: list[ast.stmt] = []
        sems: list[SemText] = []
        for variable in node.variables:
            name = token_text(variable.name)
            target = place(ast.Name(id=name, ctx=ast.Store()), variable.name)
            annotation = translate(variable.type)
            if variable.sem is not None:
                sems.append(SemText((), name, str(string_value(self, variable.sem)), variable))
            value: ast.expr | None = None
            if variable.default is not None:
                value = self.expr(variable.default)
                if node.is_static is None and not is_simple_constant(value):
                    factory = ast.Lambda(args=build_arguments(self, []), body=value)
                    value = ast.Call(func=runtime("default_field"), args=[factory], keywords=[])
            elif variable.by_word is not None:
                keyword = token_text(variable.by_word)
                if keyword != "postinit":
                    raise self.error(f"expected 'postinit' after 'by' in a field, found {keyword!r}", variable.by_word)
                value = ast.Call(func=runtime("postinit_field"), args=[], keywords=[])
            if node.is_static is not None:
                annotation = ast.Subscript(value=runtime("ClassVar"), slice=annotation, ctx=ast.Load())
            statements.append(place(ast.AnnAssign(target=target, annotation=annotation, value=value, simple=1), variable))
        return statements, sems

    def enum(
        self, node: st.Enum, scope: Scope, decorators: list[ast.expr], docstring: str | None
    ) -> tuple[ast.stmt, list[SemText]]:
        """``enum E { A, B = 2 }``: an ``enum.Enum`` (``enum E: int {...}`` mixes in ``int``)."""
        name = token_text(node.name)
        bases, keywords = self.bases(node.inherit)
        if node.type is not None:
            bases.insert(0, self.expr(node.type))
        bases.append(runtime("Enum"))
        inner = Scope("archetype", scope.path + (name,))
        body: list[ast.stmt] = []
        if docstring is not None:
            body.append(place(ast.Expr(value=ast.Constant(value=docstring)), node))
        sems: list[SemText] = []
        implemented_values, implemented_members = self.body_implementation(inner.path)
        for member in node.values + implemented_values:
            value = self.expr(member.value) if member.value is not None else ast.Call(func=runtime("auto"), args=[], keywords=[])
            target = place(ast.Name(id=token_text(member.name), ctx=ast.Store()), member.name)
            body.append(place(ast.Assign(targets=[target], value=value), member))
            if member.sem is not None:
                sems.append(SemText((name,), token_text(member.name), str(string_value(self, member.sem)), member))
        nested, fields, methods, member_sems, _init = self.archetype_members(node.members + implemented_members, inner)
        body.extend(nested + fields + methods)
        sems.extend(SemText((name,) + sem.owner_path, sem.part, sem.text, sem.item) for sem in member_sems)
        if node.sem is not None:
            sems.insert(0, SemText((name,), "", str(string_value(self, node.sem)), node))
        return place(class_def(name, bases, keywords, body, decorators), node), sems


# The runtime base class of each object-spatial archetype kind.
SPATIAL_BASES = {"node": "Node", "edge": "Edge", "walker": "Walker"}


def _names(tokens: list | None) -> set[str]:
    return {token_text(token) for token in tokens} if tokens else set()


def impl_as_ability(impl: st.Impl) -> st.Ability:
    """The ability an ``impl`` block defines when its declaration is not in the same body."""
    ability = st.Ability(
        is_async=None, is_override=None, is_static=None, sem=None, name=impl.target[-1], type_params=None,
        signature=impl.signature, event=impl.event, body=impl.body,
    )
    ability.line, ability.column, ability.end_line, ability.end_column = impl.line, impl.column, impl.end_line, impl.end_column
    return ability
