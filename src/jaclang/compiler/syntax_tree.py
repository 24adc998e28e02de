"""The typed Jac syntax tree: one dataclass per construct, with named fields.

:mod:`tree_builder` builds these while Lark parses; code generation reads
``node.name``, ``node.body`` and never a child position. Leaves are Lark
``Token`` objects (names, strings, numbers, operators), which carry their own
positions. Every node has ``line``/``column``/``end_line``/``end_column``
(1-based, end exclusive, as Lark counts), or ``None`` when it covers no token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional, Union

from lark import Token


class Node:
    """Base of every Jac syntax node: a source span, set by the tree builder."""

    line: Optional[int] = None
    column: Optional[int] = None
    end_line: Optional[int] = None
    end_column: Optional[int] = None
    # Whether the builder passes the children as one list (``Cls(children)``) rather than
    # spreading them over the fields (``Cls(*children)``).
    collects: ClassVar[bool] = False


Item = Union[Node, Token]
Expr = Union[Node, Token]
_node = dataclass(eq=False, repr=False)


# ---------------------------------------------------------------- atoms and collections
@_node
class Name(Node):
    """A name used as an expression: ``x``, ``<>node``."""

    token: Token


@_node
class TypeRef(Node):
    """Upstream's backtick type reference: `` `root `` (the Root type), `` `Any ``, `` `City ``."""

    token: Token


@_node
class Number(Node):
    """A number literal."""

    token: Token


@_node
class Strings(Node):
    """One or more adjacent string / f-string literals."""

    tokens: list[Token]
    collects: ClassVar[bool] = True


@_node
class Constant(Node):
    """``None``, ``True``, ``False`` or ``...``."""

    token: Token


@_node
class TupleExpr(Node):
    """``(a, b)``, ``()``, ``a, b``."""

    items: list[Expr]
    collects: ClassVar[bool] = True


@_node
class ListExpr(Node):
    """``[a, b]``."""

    items: list[Expr]
    collects: ClassVar[bool] = True


@_node
class SetExpr(Node):
    """``{a, b}``."""

    items: list[Expr]
    collects: ClassVar[bool] = True


@_node
class DictExpr(Node):
    """``{k: v, **rest}``."""

    items: list[Union["DictItem", "DictUnpack"]]
    collects: ClassVar[bool] = True


@_node
class DictItem(Node):
    """``key: value`` in a dict literal."""

    key: Expr
    value: Expr


@_node
class DictUnpack(Node):
    """``**mapping`` in a dict literal."""

    value: Expr


@_node
class StarExpr(Node):
    """``*value`` (unpacking)."""

    value: Expr


@_node
class CompFor(Node):
    """``for target in iterable if c1 if c2`` of a comprehension."""

    target: "ExprList"
    iterable: Expr
    conditions: list[Expr] = field(default_factory=list)


@_node
class Comprehension(Node):
    """``[x for ...]`` (``kind`` list), ``{x for ...}`` (set), ``(x for ...)`` (generator)."""

    kind: str
    element: Expr
    clauses: list[CompFor]


@_node
class DictComp(Node):
    """``{k: v for ...}``."""

    key: Expr
    value: Expr
    clauses: list[CompFor]


@_node
class ExprList(Node):
    """Targets of ``for``/``del``: ``a, b`` (``trailing_comma`` makes one item a tuple)."""

    items: list[Expr]
    trailing_comma: bool = False


# ---------------------------------------------------------------- operators
@_node
class BinaryChain(Node):
    """A flat ``a op b op c`` list; code generation applies Python's precedence."""

    operands: list[Expr]
    operators: list[str]


@_node
class Unary(Node):
    """``-x``, ``+x``, ``~x``."""

    operator: str
    operand: Expr


@_node
class Not(Node):
    """``not x``."""

    operand: Expr


@_node
class Power(Node):
    """``base ** exponent`` (``awaited``: ``await base ** exponent``)."""

    base: Expr
    exponent: Expr
    awaited: bool = False


@_node
class Await(Node):
    """``await value``."""

    value: Expr


@_node
class IfExp(Node):
    """``body if test else orelse``."""

    body: Expr
    test: Expr
    orelse: Expr


@_node
class ByCall(Node):
    """``call by model``: the model answers one call."""

    call: Expr
    model: Expr


@_node
class Concurrent(Node):
    """Upstream's ``flow expr`` (run in a worker thread: a future) and ``wait future`` (its result)."""

    word: str
    value: Expr


@_node
class Walrus(Node):
    """``name := value``."""

    name: Token
    value: Expr


@_node
class Lambda(Node):
    """``lambda params: body`` (typed or not)."""

    params: list["Param"]
    body: Expr


# ---------------------------------------------------------------- postfix
@_node
class Attribute(Node):
    """``value.name`` (``safe``: ``value?.name``)."""

    value: Expr
    name: Token
    safe: bool = False


@_node
class Call(Node):
    """``func(arguments)``."""

    func: Expr
    arguments: list[Expr]


@_node
class Subscript(Node):
    """``value[index]`` (``safe``: ``value?[index]``)."""

    value: Expr
    index: list[Expr]
    safe: bool = False


@_node
class Keyword(Node):
    """``name=value`` in a call."""

    name: Token
    value: Expr


@_node
class StarArg(Node):
    """``*value`` (``double``: ``**value``) in a call."""

    value: Expr
    double: bool = False


@_node
class Slice(Node):
    """``lower:upper:step``."""

    lower: Optional[Expr]
    upper: Optional[Expr]
    step: Optional[Expr]


@_node
class Yield(Node):
    """``yield value`` (``delegate``: ``yield from value``)."""

    value: Optional[Expr]
    delegate: bool = False


# ---------------------------------------------------------------- statements
@_node
class Block(Node):
    """``{ statements }``."""

    statements: list[Node]
    collects: ClassVar[bool] = True


@_node
class ExprStmt(Node):
    """An expression used as a statement."""

    value: Expr


@_node
class Assign(Node):
    """``a = b = value``."""

    targets: list[Expr]
    value: Expr


@_node
class AnnAssign(Node):
    """``target: type = value``."""

    target: Expr
    type: Expr
    value: Optional[Expr]


@_node
class AugAssign(Node):
    """``target += value``."""

    target: Expr
    operator: Token
    value: Expr


@_node
class Return(Node):
    """``return value``."""

    value: Optional[Expr]


@_node
class Raise(Node):
    """``raise exception from cause``."""

    exception: Optional[Expr]
    cause: Optional[Expr]


@_node
class Assert(Node):
    """``assert test, message``."""

    test: Expr
    message: Optional[Expr]


@_node
class Check(Node):
    """Upstream's ``check a == b;``: an assertion with a unittest-style message."""

    test: Expr


@_node
class Ignore(Node):
    """Upstream's ``ignore nodes;``: later visits of the walk pass over these nodes."""

    targets: Expr


@_node
class Delete(Node):
    """``del targets``."""

    targets: ExprList


@_node
class Global(Node):
    """``global a, b`` (``nonlocal``: ``nonlocal a, b``)."""

    names: list[Token]
    nonlocal_: bool = False


@_node
class WordStatement(Node):
    """A one-word statement: ``break``, ``continue``, ``pass``."""

    word: Token


@_node
class If(Node):
    """``if test { } elif ... else { }`` (``elifs`` are ``If`` nodes without else)."""

    test: Expr
    body: Block
    elifs: list["If"]
    orelse: Optional[Block]


@_node
class While(Node):
    """``while test { } else { }``."""

    test: Expr
    body: Block
    orelse: Optional[Block]


@_node
class For(Node):
    """``for target in iterable { } else { }``."""

    is_async: Optional[Token]
    target: ExprList
    iterable: Expr
    body: Block
    orelse: Optional[Block]


@_node
class ForTo(Node):
    """``for i = start to condition by step { }``."""

    target: ExprList
    start: Expr
    keyword: Token
    condition: Expr
    step: Node
    body: Block


@_node
class ExceptClause(Node):
    """``except type as name { }`` (``type`` a dotted name or a tuple)."""

    type: Optional[Expr]
    name: Optional[Token]
    body: Block


@_node
class Try(Node):
    """``try { } except ... else { } finally { }``."""

    body: Block
    handlers: list[ExceptClause]
    orelse: Optional[Block]
    final: Optional[Block]


@_node
class WithItem(Node):
    """``context as target``."""

    context: Expr
    target: Optional[Expr]


@_node
class With(Node):
    """``with a as b, c { }``."""

    is_async: Optional[Token]
    items: list[WithItem]
    body: Block


@_node
class Case(Node):
    """``case pattern if guard: statements``."""

    pattern: Node
    guard: Optional[Expr]
    body: list[Node]


@_node
class Match(Node):
    """``match subject { case ... }``."""

    subject: Expr
    cases: list[Case]


# ---------------------------------------------------------------- imports
@_node
class DottedName(Node):
    """``a.b.c`` (the parts are name tokens)."""

    parts: list[Token]
    collects: ClassVar[bool] = True


@_node
class ModulePath(Node):
    """A module path: ``level`` leading dots, then an optional dotted name."""

    level: int
    name: Optional[str]


@_node
class ImportName(Node):
    """``name as alias`` in ``import from m { ... }``."""

    name: Token
    alias: Optional[Token]


@_node
class ImportFrom(Node):
    """``import from m { a, b as c }`` (``include m;`` imports ``*``)."""

    path: ModulePath
    names: list[ImportName]


@_node
class ModuleAlias(Node):
    """``a.b as c`` in ``import a.b as c;``."""

    name: DottedName
    alias: Optional[Token]


@_node
class Import(Node):
    """``import a, b.c as d;``."""

    modules: list[ModuleAlias]


# ---------------------------------------------------------------- declarations
@_node
class Param(Node):
    """One parameter; ``kind`` is plain, varargs, kwargs, star (``*``) or slash (``/``)."""

    kind: str
    name: Optional[Token] = None
    type: Optional[Expr] = None
    default: Optional[Expr] = None
    sem: Optional[Token] = None


@_node
class Signature(Node):
    """``(params) -> returns`` (either part may be absent)."""

    params: list[Param]
    returns: Optional[Expr] = None
    return_sem: Optional[Token] = None


@_node
class EventClause(Node):
    """``with T entry`` / ``with exit`` on an ability (``types`` absent: any)."""

    types: Optional[Expr]
    kind: Token


@_node
class ByModel(Node):
    """An ability body ``by model;``."""

    model: Expr


@_node
class Abstract(Node):
    """An ability body ``;`` (implemented elsewhere), or ``abs;`` (an abstract method)."""

    marker: Optional[Token] = None

@_node
class Ability(Node):
    """``override static def`` name[T](signature) { body } (``can name with T entry`` for abilities)."""

    is_async: Optional[Token]
    is_override: Optional[Token]
    is_static: Optional[Token]
    sem: Optional[Token]
    name: Token
    type_params: Optional[list[Token]]
    signature: Optional[Signature]
    event: Optional[EventClause]
    body: Union[Block, ByModel, Abstract]


@_node
class Inherit(Node):
    """Base classes: ``(A, B)`` arguments, or legacy ``:A:B:`` names."""

    arguments: list[Expr]
    legacy_names: list[Token] = field(default_factory=list)


@_node
class HasVar(Node):
    """``name: type = default`` (``by_word``: ``by postinit``) in a ``has`` statement."""

    name: Token
    sem: Optional[Token]
    type: Expr
    default: Optional[Expr] = None
    by_word: Optional[Token] = None


@_node
class Has(Node):
    """``has a: T, b: U;`` (``static has`` makes class attributes)."""

    docstring: Optional[Strings]
    is_static: Optional[Token]
    variables: list[HasVar]


@_node
class Archetype(Node):
    """``obj``/``class``/``node``/``edge``/``walker`` Name(bases) { members }."""

    kind: Token
    sem: Optional[Token]
    name: Token
    type_params: Optional[list[Token]]
    inherit: Optional[Inherit]
    members: list[Node]
    is_async: bool = False  # upstream's `async walker W { }`: spawning it gives a coroutine


@_node
class EnumMember(Node):
    """``NAME: 'sem' = value`` in an enum."""

    name: Token
    sem: Optional[Token]
    value: Optional[Expr]


@_node
class Enum(Node):
    """``enum Name: type (bases) { members; methods }``."""

    sem: Optional[Token]
    name: Token
    type: Optional[Expr]
    inherit: Optional[Inherit]
    values: list[EnumMember]
    members: list[Node]


@_node
class Declaration(Node):
    """A declaration with its decorators and leading docstring."""

    decorators: list[Expr]
    docstring: Optional[Strings]
    decl: Union[Ability, Archetype, Enum]


@_node
class Impl(Node):
    """``impl A.b(sig) { }`` or legacy ``:obj:A:def:b { }``: the body of a declared ability."""

    target: list[Token]
    signature: Optional[Signature]
    event: Optional[EventClause]
    body: Union[Block, ByModel, Abstract]
    # `impl Color { RED = 1, GREEN = 2 }`: the members of a declared enum (its body's other items are in `body`).
    enum_values: Optional[list["EnumMember"]] = None


@_node
class SemStmt(Node):
    """``sem a.b = "text";``."""

    target: DottedName
    text: Strings


# ---------------------------------------------------------------- module items
@_node
class ModuleDoc(Node):
    """A string standing alone among module items."""

    text: Strings


@_node
class GlobVar(Node):
    """``name: type = value`` of a ``glob``."""

    name: Token
    sem: Optional[Token]
    type: Optional[Expr]
    value: Optional[Expr]
    # `glob (a, b) = value;`: the names unpacked from the value (`name` is the first of them).
    unpacked: Optional[list[Token]] = None


@_node
class Glob(Node):
    """``glob a = 1, b: int = 2;``."""

    variables: list[GlobVar]
    collects: ClassVar[bool] = True


@_node
class EntryBlock(Node):
    """``with entry { }`` (``module_name``: ``with entry:__main__ { }``)."""

    module_name: Optional[Token]
    body: Block


@_node
class TestBlock(Node):
    """``test "name" { }``."""

    name: Optional[Token]
    body: Block


@_node
class Module(Node):
    """A whole Jac source: its items in order."""

    items: list[Node]
    collects: ClassVar[bool] = True


# ---------------------------------------------------------------- patterns
@_node
class PatternValue(Node):
    """A literal or dotted-name value pattern (``value`` is an expression node)."""

    value: Expr


@_node
class PatternSingleton(Node):
    """``None``/``True``/``False`` in a pattern."""

    token: Token


@_node
class PatternCapture(Node):
    """A bare name: captures (``_`` is the wildcard)."""

    name: Token


@_node
class PatternClass(Node):
    """``Cls(p, key=p)`` (``cls`` a name or attribute expression)."""

    cls: Expr
    arguments: list[Node]


@_node
class PatternKeyword(Node):
    """``key=pattern`` in a class pattern."""

    name: Token
    pattern: Node


@_node
class PatternSequence(Node):
    """``[a, b]``, ``(a, b)``, ``a, b``."""

    items: list[Node]
    collects: ClassVar[bool] = True


@_node
class PatternStar(Node):
    """``*rest``."""

    name: Token


@_node
class PatternAs(Node):
    """``pattern as name``."""

    pattern: Node
    name: Token


@_node
class PatternOr(Node):
    """``a | b``."""

    items: list[Node]
    collects: ClassVar[bool] = True


@_node
class MappingItem(Node):
    """``key: pattern`` in a mapping pattern."""

    key: Node
    pattern: Node


@_node
class PatternMapping(Node):
    """``{key: pattern, **rest}``."""

    items: list[MappingItem]
    rest: Optional[Token]


# ---------------------------------------------------------------- inline Python
@_node
class PyInline(Node):
    """``::py:: python code ::py::``."""

    token: Token


# ---------------------------------------------------------------- object-spatial
@_node
class ConnectOp(Node):
    """``++>``, ``<++``, ``<++>``, ``+>: Edge : k=v :+>`` (``disconnect``: ``del -->``)."""

    direction: str
    edge: Optional[Expr] = None
    arguments: list[Expr] = field(default_factory=list)
    disconnect: Optional["EdgeOp"] = None


@_node
class EdgeOp(Node):
    """``-->``, ``<--``, ``<-->``, ``->:Road:km > 2:->``: direction, edge type, conditions."""

    direction: str
    edge_type: Optional[Expr] = None
    conditions: list[Expr] = field(default_factory=list)


@_node
class Filter(Node):
    """``(?:City, pop > 100)``: node types and attribute conditions."""

    types: list[Expr]
    conditions: list[Expr]


@_node
class EdgeHop(Node):
    """One hop of an edge reference, with an optional node filter."""

    op: EdgeOp
    filter: Optional[Filter]


@_node
class EdgeRef(Node):
    """``[source --> ->:E:-> ...]`` (``edges``: ``[edge -->]`` gives edges, not nodes)."""

    edges: bool
    source: Optional[Expr]
    hops: list[EdgeHop]


@_node
class FilterCall(Node):
    """``items(?:City)``: a filter applied to a list of nodes."""

    value: Expr
    filter: Filter


@_node
class AssignCompr(Node):
    """Upstream's ``items(=a=1, b=2)``: set these attributes on every item; the value is ``items``."""

    value: Expr
    assignments: list[Expr]


@_node
class Report(Node):
    """``report value;``."""

    value: Expr


@_node
class Visit(Node):
    """``visit targets;``, ``visit targets else { }``, ``visit :index: targets;`` (queued at ``index``)."""

    target: Expr
    orelse: Optional[Block]
    index: Optional[Expr] = None


@_node
class Disconnect(Node):
    """``del left --> right;``."""

    left: Expr
    op: EdgeOp
    right: Expr


@_node
class Switch(Node):
    """``switch subject { case p: ... default: ... }``."""

    subject: Expr
    cases: list[Case]
