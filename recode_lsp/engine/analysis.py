"""Name resolution over a Python module with :mod:`ast`: what does each name refer to?

The detector asks two questions of every expression: which qualified name does it denote
(``np.float_`` -> ``numpy.float_``) and, for receivers of method calls, which class is it
an instance of (``df = pd.read_csv(...)`` -> ``pandas.DataFrame``). Both are answered from
the module's own imports, assignments, annotations and class definitions, with Python's
scoping rules: a parameter or local assignment shadows a module import, class bodies do
not leak into methods, and a name re-bound to an alias (``xp = np``) keeps resolving.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from recode_lsp.engine.facts import ReturnType, type_facts

# Which factories return which class (``pd.read_csv`` -> ``pandas.DataFrame``), class aliases,
# self-returning methods and library class bases are data: ``type_facts()`` merges the
# ``data/<library>.facts.json`` files (and users' facts files), so no library is named here.

UNKNOWN = None


def _is_class_name(qname: str, classes: Mapping[str, object]) -> bool:
    return qname in classes or qname.rsplit(".", 1)[-1][:1].isupper()


def _returned(
    call: ast.Call,
    qname_of: Callable[[ast.AST], str | None],
    type_of: Callable[[ast.AST], str | None],
    classes: Mapping[str, object],
) -> ReturnType | None:
    """What a call returns, when known: a class, or a tuple of classes (``plt.subplots()``)."""
    facts = type_facts()
    func = call.func
    qname = qname_of(func)
    if qname is not None:
        qname = facts.canonical(qname)
        if qname in facts.factories:
            return facts.factories[qname]
        if _is_class_name(qname, classes):
            return qname  # a class call constructs an instance of that class
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr in facts.constructors:
        owner = qname_of(func.value)
        if owner is not None and _is_class_name(owner, classes):
            return facts.canonical(owner)
    if func.attr not in facts.method_names and func.attr not in facts.returns_self:
        return None
    receiver = type_of(func.value)
    if receiver is None:
        return None
    lineage = facts.lineage(facts.canonical(receiver))
    if func.attr in facts.method_names:
        # ``fig.add_subplot()``: the method may be declared on a base of the receiver's class.
        for owner in lineage:
            returned = facts.methods.get(f"{owner}.{func.attr}")
            if returned is not None:
                return returned
    if func.attr in facts.returns_self and not facts.returns_self_except.intersection(lineage):
        # ``df.copy()``; not ``df.groupby(k).fillna(0)``, which returns a DataFrame, not a GroupBy.
        return receiver
    return None


def attribute_type(
    node: ast.Attribute, type_of: Callable[[ast.AST], str | None], lineage: Callable[[str], list[str]]
) -> str | None:
    """Class of ``receiver.attr`` when the facts type that attribute (``s.dt``, ``self.crawler.engine``
    in a ``Spider`` subclass: ``lineage`` gives the receiver's class and its bases, local ones too)."""
    facts = type_facts()
    if node.attr not in facts.attribute_names:
        return None
    receiver = type_of(node.value)
    if receiver is None:
        return None
    for owner in lineage(receiver):
        found = facts.attributes.get(f"{owner}.{node.attr}")
        if found is not None:
            return facts.canonical(found)
    return None


def item_type(
    node: ast.Subscript, type_of: Callable[[ast.AST], str | None], lineage: Callable[[str], list[str]]
) -> str | None:
    """Class of ``receiver["name"]`` when the facts type it (``df["price"]`` is a ``Series``)."""
    facts = type_facts()
    if not facts.items or not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
        return None
    receiver = type_of(node.value)
    if receiver is None:
        return None
    for owner in lineage(receiver):
        found = facts.items.get(owner)
        if found is not None:
            return facts.canonical(found)
    return None


def call_type(
    call: ast.Call,
    qname_of: Callable[[ast.AST], str | None],
    type_of: Callable[[ast.AST], str | None],
    classes: Mapping[str, object],
) -> str | None:
    """Class of the value a call returns, when known: a constructor, a factory such as
    ``pd.read_csv``, a method returning its receiver's class, or ``Model.parse_obj``.

    ``qname_of`` and ``type_of`` resolve sub-expressions; the collector (during its pass)
    and the finished analysis resolve names differently, and both ask here.
    """
    returned = _returned(call, qname_of, type_of, classes)
    return returned if isinstance(returned, str) else None


def call_element_types(
    call: ast.Call,
    qname_of: Callable[[ast.AST], str | None],
    type_of: Callable[[ast.AST], str | None],
    classes: Mapping[str, object],
) -> tuple[str, ...] | None:
    """Classes of the items of the tuple a call returns (``fig, ax = plt.subplots()``), if known."""
    returned = _returned(call, qname_of, type_of, classes)
    return returned if isinstance(returned, tuple) else None


@dataclass
class Binding:
    """One binding of a name in one scope."""

    name: str
    #: Qualified name the binding refers to, or None when it is something else.
    qname: str | None
    #: "import", "import_from", "assign", "class", "def", "param", "other".
    kind: str
    #: Offset of the binding in the source (bindings apply from here on).
    offset: int
    #: Class of the value, when known (instances: ``df = pd.DataFrame()``).
    type_qname: str | None = None
    node: ast.AST | None = None
    statement: ast.stmt | None = None
    #: Offset of ``node`` when the binding stands for one of another analysis (an
    #: :class:`Environment`'s): its node's positions may be stale, this offset is not.
    node_offset: int | None = None


@dataclass
class ScopeInfo:
    kind: str  # "module", "function", "class", "comprehension"
    node: ast.AST
    parent: ScopeInfo | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    #: Names declared ``global`` (resolved in the module scope).
    globals: set[str] = field(default_factory=set)
    #: For class scopes: the class's own qualified key.
    class_key: str | None = None
    #: For comprehensions: the span of the first iterable, which Python evaluates in the
    #: enclosing scope (in a class body it sees the class's names).
    outer_span: tuple[int, int] | None = None

    def add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)


@dataclass
class LocalClass:
    #: ``<local>.[Outer.]Name#n``: the n-th class of that dotted name in the module, counted in
    #: source order (position-independent, so a class keeps its key when lines move above it).
    key: str
    name: str
    #: Qualified names of every known base, transitively (including local classes' bases).
    bases: list[str]
    node: ast.ClassDef


class ClassTable(dict[str, LocalClass]):
    """The module's classes by key, with the classes of an :class:`Environment` as a fallback.

    Lookups (``in``, ``get``, ``[]``) see both; iteration sees only the classes the analysed
    tree defines, so code that walks every class (the code rules) works on that tree alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fallback: dict[str, LocalClass] = {}

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.fallback

    def __getitem__(self, key: str) -> LocalClass:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        return self.fallback[key]

    def get(self, key: str, default: LocalClass | None = None) -> LocalClass | None:  # type: ignore[override]
        value = dict.get(self, key)
        return value if value is not None else self.fallback.get(key, default)


@dataclass
class Environment:
    """The module-level names and classes around a chunk of a module (its other statements).

    Analysing a chunk (some top-level statements, parsed alone at their lines) with the
    environment of the rest of the module gives what analysing the whole module gives for
    those statements: while the chunk is walked, names and classes bound before it are
    visible (as in the one pass over the whole module, which has not reached the later ones
    yet); afterwards, for the detector's lookups, the later ones are too.
    """

    #: Module-scope bindings of the statements before the chunk, by name, in source order.
    before: dict[str, list[Binding]] = field(default_factory=dict)
    #: ... and of the statements after it.
    after: dict[str, list[Binding]] = field(default_factory=dict)
    classes_before: dict[str, LocalClass] = field(default_factory=dict)
    classes_after: dict[str, LocalClass] = field(default_factory=dict)
    #: How many classes of each dotted name come before the chunk (for their keys).
    class_counts: Counter[str] = field(default_factory=Counter)


def class_key_name(key: str) -> str:
    """The dotted name in a local class key (``<local>.Outer.Name#2`` -> ``Outer.Name``)."""
    return key[len("<local>.") :].rpartition("#")[0]


_NEWLINE = re.compile("\n")


class LineIndex:
    """Convert ast (line, UTF-8 byte column) positions to offsets and character columns."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.line_starts = [0]
        self.line_starts += [match.end() for match in _NEWLINE.finditer(source)]  # a find() loop cost 1.6x
        self._ascii = source.isascii()

    def offset(self, line: int, byte_column: int) -> int:
        """Offset into the source string of ast's 1-based line and byte column."""
        start = self.line_starts[line - 1] if line - 1 < len(self.line_starts) else len(self.source)
        if self._ascii:
            return start + byte_column
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.source)
        text = self.source[start:end]
        return start + len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))

    def position(self, offset: int) -> tuple[int, int]:
        """0-based line and character column of an offset."""
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line, offset - self.line_starts[line]

    def node_span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end


def dotted_parts(node: ast.AST) -> list[str] | None:
    """``a.b.c`` -> ["a", "b", "c"]; None when the chain is not names and attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _resolve_relative(module: str | None, level: int, current: str | None) -> str | None:
    if level == 0:
        return module
    if not current:
        return None
    package = current.split(".")
    if len(package) < level:
        return None
    base = ".".join(package[: len(package) - level])
    if module:
        return f"{base}.{module}" if base else module
    return base or None


class ModuleAnalysis:
    """Scopes, bindings and local classes of one parsed module."""

    def __init__(
        self,
        tree: ast.Module,
        source: str,
        module_name: str | None = None,
        *,
        environment: Environment | None = None,
        lines: LineIndex | None = None,
    ) -> None:
        """Analyse ``tree``, parsed from ``source``.

        With an ``environment``, ``tree`` is a chunk of ``source`` (some of its top-level
        statements, parsed at their own lines) and the environment holds what the rest of the
        module binds; ``lines`` may share an index of ``source`` already built.
        """
        self.tree = tree
        self.source = source
        self.module_name = module_name
        self.lines = lines if lines is not None and lines.source is source else LineIndex(source)
        self.module_scope = ScopeInfo("module", tree, None)
        self.scope_of: dict[int, ScopeInfo] = {}
        self.classes = ClassTable()
        #: Classes seen so far by dotted name (for their keys).
        self.class_counts: Counter[str] = Counter()
        if environment is not None:
            self.module_scope.bindings = {name: list(found) for name, found in environment.before.items()}
            self.classes.fallback = dict(environment.classes_before)
            self.class_counts.update(environment.class_counts)
        #: (start offset, end offset, scope) of every nested scope's body, by start.
        self._scope_spans: list[tuple[int, int, ScopeInfo]] = []
        self._parents: dict[int, ast.AST] | None = None
        #: Every Attribute, Name and Call node, and every import statement (for the detector).
        self.expressions: list[ast.expr] = []
        self.imports: list[ast.Import | ast.ImportFrom] = []
        _BindingCollector(self).run()
        if environment is not None:
            for name, found in environment.after.items():
                self.module_scope.bindings.setdefault(name, []).extend(found)
            self.classes.fallback.update(environment.classes_after)
        self._scope_spans.sort(key=lambda item: item[0])
        self._scope_starts = [start for start, _, _ in self._scope_spans]
        # For each span, the nearest earlier span that ends later (-1: none): ``scope_at`` jumps
        # there past spans that end no later, which cannot contain an offset this one does not.
        # Walking every earlier span made each module-level lookup linear (issue 11).
        self._scope_jump: list[int] = []
        ending_later: list[int] = []
        for index, (_, end, _) in enumerate(self._scope_spans):
            while ending_later and self._scope_spans[ending_later[-1]][1] <= end:
                ending_later.pop()
            self._scope_jump.append(ending_later[-1] if ending_later else -1)
            ending_later.append(index)

    def scopes(self) -> list[ScopeInfo]:
        """The module's scope and every nested one (functions, classes, comprehensions)."""
        return [self.module_scope, *(scope for _, _, scope in self._scope_spans)]

    # --- resolution -----------------------------------------------------------------

    @property
    def parents(self) -> dict[int, ast.AST]:
        """Parent of every node, built on first use (the fixer asks; detection does not)."""
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            for parent in ast.walk(self.tree):
                for child in ast.iter_child_nodes(parent):
                    parents[id(child)] = parent
            self._parents = parents
        return self._parents

    def scope_at(self, node: ast.AST) -> ScopeInfo:
        """The innermost scope whose body contains ``node``.

        Scopes are found by position: a function's scope covers its body, so its decorators,
        default values and annotations belong to the enclosing scope, as in Python.
        """
        offset = self.lines.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        index = bisect.bisect_right(self._scope_starts, offset) - 1
        while index >= 0:
            start, end, scope = self._scope_spans[index]
            outer = scope.outer_span
            if start <= offset < end and not (outer is not None and outer[0] <= offset < outer[1]):
                return scope
            # Past its end: so is every span back to the jump target (same answer, fewer steps).
            index = self._scope_jump[index] if end <= offset else index - 1
        return self.module_scope

    def lookup(self, name: str, scope: ScopeInfo, offset: int) -> Binding | None:
        """The binding a load of ``name`` at ``offset`` in ``scope`` sees, if known."""
        first = True
        current: ScopeInfo | None = scope
        while current is not None:
            if name in current.globals:
                current = self.module_scope
            if current.kind == "class" and not first:
                current = current.parent
                continue
            bindings = current.bindings.get(name)
            if bindings:
                if current.kind == "module" and not first:
                    # Used from inside a function: the module's final state counts.
                    meaningful = [b for b in bindings if b.kind != "none"]
                    return meaningful[-1] if meaningful else None
                # ``x = None`` is skipped as a placeholder (a later assignment gives the type),
                # except in a class body, which runs once, top to bottom: there ``np = None``
                # followed by ``np.float_`` is None, not the module.
                keep_none = first and current.kind == "class"
                before = [b for b in bindings if b.offset <= offset and (keep_none or b.kind != "none")]
                if before:
                    return before[-1]
                if current.kind in ("function", "comprehension"):
                    return None  # local name used before assignment (loop): unknown
                if current.kind == "module":
                    return None
            first = False
            current = current.parent
        return None

    def qualified_name(self, node: ast.AST) -> str | None:
        """Qualified name denoted by a Name/Attribute chain, or None."""
        parts = dotted_parts(node)
        if parts is None:
            return None
        base = node
        while isinstance(base, ast.Attribute):
            base = base.value
        assert isinstance(base, ast.Name)
        binding = self.lookup(parts[0], self.scope_at(base), self.lines.offset(base.lineno, base.col_offset))
        if binding is None or binding.qname is None:
            return None
        return ".".join([binding.qname, *parts[1:]])

    def binding_of(self, name_node: ast.Name) -> Binding | None:
        return self.lookup(
            name_node.id, self.scope_at(name_node), self.lines.offset(name_node.lineno, name_node.col_offset)
        )

    def expression_type(self, node: ast.AST, depth: int = 0) -> str | None:
        """Class of the value of ``node`` when it can be known statically."""
        if depth > 8:
            return None
        if isinstance(node, ast.Name):
            binding = self.binding_of(node)
            return binding.type_qname if binding else None
        if isinstance(node, ast.Call):
            return call_type(
                node, self.qualified_name, lambda value: self.expression_type(value, depth + 1), self.classes
            )
        if isinstance(node, ast.Attribute):
            return attribute_type(node, lambda value: self.expression_type(value, depth + 1), self.class_lineage)
        if isinstance(node, ast.Subscript):
            return item_type(node, lambda value: self.expression_type(value, depth + 1), self.class_lineage)
        return None

    def class_lineage(self, qname: str) -> list[str]:
        """``qname`` followed by every base known for it (local classes only)."""
        facts = type_facts()
        qname = facts.canonical(qname)
        local = self.classes.get(qname)
        known = [qname] if local is None else [qname, *local.bases]
        # Library classes' own bases (``LogisticRegression`` -> ``BaseEstimator``) come from facts.
        lineage: list[str] = []
        for name in known:
            for ancestor in facts.lineage(name):
                if ancestor not in lineage:
                    lineage.append(ancestor)
        return lineage

    def is_callee(self, node: ast.AST) -> ast.Call | None:
        """The call whose callee ``node`` is, if any."""
        return self._callees().get(id(node))

    def _callees(self) -> dict[int, ast.Call]:
        callees = getattr(self, "_callee_map", None)
        if callees is None:
            callees = {id(n.func): n for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
            self._callee_map = callees
        return callees

    def register_callees(self, calls: dict[int, ast.Call]) -> None:
        """Let a walk that already saw every call fill the callee map (saves a walk)."""
        self._callee_map = calls

    def walk(self) -> Iterator[ast.AST]:
        return ast.walk(self.tree)


#: Fields that hold only contexts and operators (``Load``, ``Add``, ``Eq``: nodes without fields).
#: A quarter of a tree's nodes are such leaves; the walk does not even look at them.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
#: Node type -> the fields the walk visits, in the order of ``_fields`` (filled on first use).
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in getattr(kind, "_fields", ()) if f not in _LEAF_FIELDS)
    return fields


def _leaf(collector: _BindingCollector, node: ast.AST) -> None:
    return None


def _node_classes(base: type) -> Iterator[type]:
    """Every subclass of ``base``, at any depth."""
    subclasses: list[type] = base.__subclasses__()
    for kind in subclasses:
        yield kind
        yield from _node_classes(kind)


class _BindingCollector:
    """The one pass over the tree: bindings in every scope, and the nodes the detector checks.

    A run visits about a million nodes, so the walk is a dispatch table by node type
    (:data:`_DISPATCH`, plain functions: no bound methods, no cycle through the collector) and
    a walk of each type's fields that skips contexts and operators; the attribute, name and
    call nodes are recorded on the way (``visit_Name``...) instead of by a second walk.
    Handlers see nodes in the order ``ast.NodeVisitor`` visits them.
    """

    def __init__(self, analysis: ModuleAnalysis) -> None:
        self.analysis = analysis
        self.scope = analysis.module_scope
        self.class_stack: list[str] = []
        self.expressions: list[ast.expr] = []
        self.calls: dict[int, ast.Call] = {}

    def run(self) -> None:
        self.visit(self.analysis.tree)
        self.analysis.expressions = self.expressions
        self.analysis.register_callees(self.calls)

    def visit(self, node: ast.AST) -> None:
        handler = _DISPATCH.get(type(node))
        if handler is not None:
            handler(self, node)
        else:
            self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        kind = type(node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _child_fields(kind)
        dispatch = _DISPATCH
        for name in fields:
            value = getattr(node, name, None)
            for item in value if type(value) is list else (value,):
                handler = dispatch.get(type(item))
                if handler is None:
                    if isinstance(item, ast.AST):
                        self.generic_visit(item)
                elif handler is not _leaf:
                    handler(self, item)

    # --- the expressions the detector checks ----------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        self.expressions.append(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.expressions.append(node)
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        self.calls[id(func)] = node
        self.expressions.append(node)
        self.visit(func)
        dispatch = _DISPATCH
        for argument in (*node.args, *[keyword.value for keyword in node.keywords]):
            handler = dispatch.get(type(argument))
            if handler is None:
                self.generic_visit(argument)
            elif handler is not _leaf:
                handler(self, argument)

    # --- helpers ---------------------------------------------------------------------

    def _offset(self, node: ast.AST) -> int:
        return self.analysis.lines.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def _end_offset(self, node: ast.AST) -> int:
        return self.analysis.lines.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def _bind(self, name: str, binding: Binding, scope: ScopeInfo | None = None) -> None:
        target = scope or self.scope
        if name in target.globals:
            target = self.analysis.module_scope
        target.add(binding)

    def _push(self, kind: str, node: ast.AST, class_key: str | None = None) -> ScopeInfo:
        scope = ScopeInfo(kind, node, self.scope, class_key=class_key)
        self.analysis.scope_of[id(node)] = scope
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else body if isinstance(body, ast.AST) else node
        if kind == "comprehension":
            first = node
        start = self._offset(first)
        end = self._end_offset(node)
        self.analysis._scope_spans.append((start, end, scope))
        return scope

    # --- statements that bind --------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        self.analysis.imports.append(node)
        for alias in node.names:
            if alias.asname:
                self._bind(
                    alias.asname,
                    Binding(alias.asname, alias.name, "import", self._end_offset(node), node=alias, statement=node),
                )
            else:
                top = alias.name.split(".", 1)[0]
                self._bind(top, Binding(top, top, "import", self._end_offset(node), node=alias, statement=node))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.analysis.imports.append(node)
        module = _resolve_relative(node.module, node.level, self.analysis.module_name)
        for alias in node.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name
            qname = f"{module}.{alias.name}" if module else None
            self._bind(local, Binding(local, qname, "import_from", self._end_offset(node), node=alias, statement=node))

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        return None

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        value_qname, value_type, is_none = self._value_facts(node.value)
        items = None
        if isinstance(node.value, ast.Call) and any(isinstance(t, (ast.Tuple, ast.List)) for t in node.targets):
            items = call_element_types(node.value, self._qname_now, self._type_now, self.analysis.classes)
        for target in node.targets:
            self._bind_target(target, node, value_qname, value_type, is_none, items)
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.annotation)
        value_qname, value_type = None, None
        if node.value is not None:
            value_qname, value_type, _ = self._value_facts(node.value)
        annotated = self._annotation_type(node.annotation)
        if isinstance(node.target, ast.Name):
            if node.value is None and self.scope.kind == "class":
                return  # a bare annotation in a class body (a field) does not bind at runtime
            self._bind(
                node.target.id,
                Binding(
                    node.target.id, value_qname, "assign", self._end_offset(node), annotated or value_type, node, node
                ),
            )
        else:
            self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.generic_visit(node)
        if isinstance(node.target, ast.Name):
            self._bind(node.target.id, Binding(node.target.id, None, "other", self._end_offset(node), node=node))

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        value_qname, value_type, _ = self._value_facts(node.value)
        scope = self.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        self._bind(
            node.target.id,
            Binding(node.target.id, value_qname, "assign", self._end_offset(node), value_type, node),
            scope,
        )

    def _value_facts(self, value: ast.AST) -> tuple[str | None, str | None, bool]:
        if isinstance(value, ast.Constant) and value.value is None:
            return None, None, True
        qname = None
        if isinstance(value, (ast.Name, ast.Attribute)):
            qname = self._qname_now(value)
        value_type = self._type_now(value)
        return qname, value_type, False

    def _qname_now(self, node: ast.AST) -> str | None:
        parts = dotted_parts(node)
        if not parts:
            return None
        binding = self.analysis.lookup(parts[0], self.scope, self._offset(node))
        if binding is None or binding.qname is None:
            return None
        return ".".join([binding.qname, *parts[1:]])

    def _type_now(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            binding = self.analysis.lookup(node.id, self.scope, self._offset(node))
            return binding.type_qname if binding else None
        if isinstance(node, ast.Call):
            return call_type(node, self._qname_now, self._type_now, self.analysis.classes)
        if isinstance(node, ast.Attribute):
            return attribute_type(node, self._type_now, self.analysis.class_lineage)
        if isinstance(node, ast.Subscript):
            return item_type(node, self._type_now, self.analysis.class_lineage)
        return None

    def _annotation_type(self, annotation: ast.AST) -> str | None:
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
            parts = dotted_parts(annotation)
            if not parts:
                return None
            binding = self.analysis.lookup(parts[0], self.scope, len(self.analysis.source))
            if binding is None or binding.qname is None:
                return None
            return type_facts().canonical(".".join([binding.qname, *parts[1:]]))
        qname = self._qname_now(annotation)
        return type_facts().canonical(qname) if qname else None

    def _bind_target(
        self,
        target: ast.AST,
        statement: ast.stmt,
        qname: str | None,
        value_type: str | None,
        is_none: bool,
        items: tuple[str, ...] | None = None,
    ) -> None:
        if isinstance(target, ast.Name):
            kind = "none" if is_none else "assign"
            self._bind(
                target.id, Binding(target.id, qname, kind, self._end_offset(statement), value_type, target, statement)
            )
        elif isinstance(target, (ast.Tuple, ast.List)):
            # ``fig, ax = plt.subplots()``: item types only when the shapes match (no starred target).
            typed = items is not None and len(items) == len(target.elts)
            for index, element in enumerate(target.elts):
                item_type = items[index] if typed and items is not None else None
                self._bind_target(element, statement, None, item_type, False)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, statement, None, None, False)

    def _bind_plain(self, target: ast.AST, offset: int) -> None:
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self._bind(node.id, Binding(node.id, None, "other", offset, node=node))

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._bind_plain(node.target, self._offset(node))
        for child in (*node.body, *node.orelse):
            self.visit(child)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                value_type = self._type_now(item.context_expr)
                if isinstance(item.optional_vars, ast.Name) and value_type is not None:
                    name = item.optional_vars.id
                    self._bind(name, Binding(name, None, "assign", self._offset(node), None, item.optional_vars))
                else:
                    self._bind_plain(item.optional_vars, self._offset(node))
        for child in node.body:
            self.visit(child)

    visit_AsyncWith = visit_With

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name, Binding(node.name, None, "other", self._offset(node), node=node))
        for child in node.body:
            self.visit(child)

    def visit_match_capture(self, name: str | None, node: ast.AST) -> None:
        if name:
            self._bind(name, Binding(name, None, "other", self._offset(node), node=node))

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.generic_visit(node)
        self.visit_match_capture(node.name, node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self.visit_match_capture(node.name, node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        self.visit_match_capture(node.rest, node)

    # --- scopes ----------------------------------------------------------------------

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        for default in (*args.defaults, *[d for d in args.kw_defaults if d is not None]):
            self.visit(default)
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None and arg.annotation is not None:
                    self.visit(arg.annotation)
            if node.returns is not None:
                self.visit(node.returns)
            self._bind(node.name, Binding(node.name, None, "def", self._offset(node), node=node, statement=node))
        outer = self.scope
        scope = self._push("function", node)
        all_args = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            all_args.append(args.vararg)
        if args.kwarg:
            all_args.append(args.kwarg)
        self.scope = scope
        for index, arg in enumerate(all_args):
            arg_type = self._annotation_type(arg.annotation) if arg.annotation is not None else None
            if (
                index == 0
                and outer.kind == "class"
                and outer.class_key
                and arg in (*args.posonlyargs, *args.args)
                and not self._is_static(node)
            ):
                arg_type = outer.class_key  # self / cls
            scope.add(Binding(arg.arg, None, "param", self._offset(node), arg_type, arg))
        body = [node.body] if isinstance(node, ast.Lambda) else node.body
        for statement in body:
            self.visit(statement)
        self.scope = outer

    @staticmethod
    def _is_static(node: ast.AST) -> bool:
        decorators = getattr(node, "decorator_list", [])
        return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in decorators)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_function(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        bases: list[str] = []
        for base in node.bases:
            self.visit(base)
            qname = self._qname_now(base)
            if qname is None and isinstance(base, ast.Subscript):
                qname = self._qname_now(base.value)  # Generic[T], BaseModel subclasses with params
            if qname is not None:
                qname = type_facts().canonical(qname)
                bases.append(qname)
                local = self.analysis.classes.get(qname)
                if local is not None:
                    bases.extend(local.bases)
        for keyword in node.keywords:
            self.visit(keyword.value)
        prefix = ".".join(self.class_stack)
        dotted = f"{prefix}.{node.name}" if prefix else node.name
        self.analysis.class_counts[dotted] += 1
        key = f"<local>.{dotted}#{self.analysis.class_counts[dotted]}"
        self.analysis.classes[key] = LocalClass(key, node.name, bases, node)
        self._bind(node.name, Binding(node.name, key, "class", self._offset(node), None, node, node))
        outer = self.scope
        self.scope = self._push("class", node, class_key=key)
        self.class_stack.append(node.name)
        for statement in node.body:
            self.visit(statement)
        self.class_stack.pop()
        self.scope = outer

    def _visit_comprehension(self, node: ast.AST, elements: list[ast.AST]) -> None:
        generators: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        self.visit(generators[0].iter)  # the first iterable is evaluated in the outer scope
        outer = self.scope
        self.scope = self._push("comprehension", node)
        self.scope.outer_span = (self._offset(generators[0].iter), self._end_offset(generators[0].iter))
        for index, generator in enumerate(generators):
            if index:
                self.visit(generator.iter)
            self._bind_plain(generator.target, self._offset(node))
            for condition in generator.ifs:
                self.visit(condition)
        for element in elements:
            self.visit(element)
        self.scope = outer

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._visit_comprehension(node, [node.elt])

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._visit_comprehension(node, [node.elt])

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._visit_comprehension(node, [node.elt])

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._visit_comprehension(node, [node.key, node.value])


def _dispatch_table() -> dict[type, Callable[[_BindingCollector, Any], None]]:
    """Node type -> its handler: a ``visit_<Type>`` method, :func:`_leaf`, or the generic walk."""
    table: dict[type, Callable[[_BindingCollector, Any], None]] = {}
    for kind in _node_classes(ast.AST):
        table[kind] = _BindingCollector.generic_visit
    for name, handler in vars(_BindingCollector).items():
        handled = getattr(ast, name[6:], None) if name.startswith("visit_") else None
        if isinstance(handled, type) and issubclass(handled, ast.AST):
            table[handled] = handler
    table[ast.Constant] = _leaf  # no children
    # Contexts and operators (``Load`` alone is a quarter of the nodes) have no fields; nor do
    # the plain values of other fields (names, levels, absent children).
    for family in (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop):
        for leaf in _node_classes(family):
            table[leaf] = _leaf
    for plain in (str, int, type(None)):
        table[plain] = _leaf
    return table


_DISPATCH = _dispatch_table()
