"""Turn findings into edits: renames, module moves, keyword renames, templates, code rules.

Fixing happens in two phases on text:

1. every selected finding becomes edits at its own site (a reference, a keyword, a call,
   the aliases of an import statement), all computed against the original source;
2. the result is parsed again, imports the new names need are added (reusing an existing
   ``from M import ...`` statement or the module's alias), and imports that the fix left
   unused are dropped.

The validator then checks the result; a fix that fails is dropped, never written.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from recode_lsp.engine.analysis import Binding, LineIndex, ModuleAnalysis, ScopeInfo, dotted_parts
from recode_lsp.engine.changes import ApiChange, ChangeKind, FixSafety, TemplateOn
from recode_lsp.engine.imports import (
    add_import_from,
    alias_text,
    apply_edits,
    bound_names,
    comment_spans,
    guarded_roots,
    import_edits,
    keeping_comments,
    referenced_outside_code,
    remove_aliases,
    render_import_from,
    unused_import_edits,
)
from recode_lsp.engine.model import Finding, Site, TextEdit
from recode_lsp.engine.rules import rule_by_code

_PLACEHOLDER = re.compile(r"\{(q:[A-Za-z_][\w.]*|arg[0-9]|recv)\}")
#: A self-documenting f-string field (``{x=}``, ``{x = !r}``, ``{x=:>4}``): its source text is
#: printed, so an edit inside it changes the output. Conservative: a literal ``=}`` also matches.
_FSTRING_DEBUG = re.compile(r"(?<![=!<>])=\s*(?:\}|![rsa]|:)")
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set)
_SAFE_PARENTS = (
    ast.Assign,
    ast.AnnAssign,
    ast.Return,
    ast.Expr,
    ast.keyword,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.Yield,
)


_KEPT_REASON = (
    "the name is still used by a string annotation, `__all__` or a `# type:` comment, so its import"
    " stays: fix those by hand"
)


class FixError(Exception):
    """A site cannot be fixed mechanically; the message says why."""


@dataclass
class FixOutcome:
    """The new source and what happened to every finding that was asked for."""

    source: str
    applied: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, str]] = field(default_factory=list)
    #: ``source`` parsed with :mod:`ast`, when the fixer parsed it last (the validator then does
    #: not parse it again).
    tree: ast.Module | None = field(default=None, repr=False, compare=False)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def wanted(finding: Finding, unsafe: bool) -> bool:
    """Whether ``finding``'s fix is applied under the given safety setting."""
    if finding.safety is FixSafety.SAFE:
        return True
    return unsafe and finding.safety is FixSafety.UNSAFE


def one_site(finding: Finding) -> Finding | None:
    """``finding`` as a fix of its own site alone (no group), when one use of an imported name can
    be fixed without touching its import; None when the import and its uses go together.

    That is a use of ``from M import old`` whose new name is a builtin (``List[int]`` ->
    ``list[int]``, as ruff's UP006 does) and whose old name is never removed (``typing.List``:
    the import that stays keeps working; for ``from numpy import float``, removed, the import
    must go too). The fix writes the builtin at the site, refused where the builtin is shadowed,
    and drops the import when that was its last use. A quick fix asks for this: a group is
    every use in the module, so its result was validated on the whole module (about a second on
    a finding-dense one), where a fix of one site is validated on an excerpt of it. Fix-all and
    ``recode-migrate`` still fix the group.
    """
    if finding.site is not Site.IMPORTED_NAME or finding.group is None or not by_site(finding.change):
        return None
    return dataclasses.replace(finding, group=None)


def by_site(change: ApiChange) -> bool:
    """Whether a use of ``from M import old`` is fixed at its site alone (see :func:`one_site`):
    a rename to a builtin of a name that is never removed."""
    return (
        change.rule is None
        and change.template is None
        and change.kind in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE)
        and change.removed_in is None
        and _is_builtin_name(change.new)
    )


def _is_builtin_name(name: str | None) -> bool:
    return name is not None and "." not in name and hasattr(builtins, name)


def expand_groups(selected: Sequence[Finding], every: Sequence[Finding]) -> list[Finding]:
    """Add the other members of each selected finding's group (an import and its uses)."""
    groups = {f.group for f in selected if f.group}
    if not groups:
        return list(selected)
    # ``f not in selected`` on a list was quadratic on finding-dense modules (issue 11): compare
    # by identity, then by value only with the selected findings at the same place.
    taken = {id(f) for f in selected}
    at_place: dict[tuple[str, int, int], list[Finding]] = defaultdict(list)
    for f in selected:
        at_place[(f.code, f.start_offset, f.end_offset)].append(f)

    def already_selected(f: Finding) -> bool:
        return id(f) in taken or f in at_place.get((f.code, f.start_offset, f.end_offset), ())

    extra = [f for f in every if f.group in groups and not already_selected(f)]
    return [*selected, *extra]


@dataclass
class _StatementPlan:
    """Alias changes of one import statement, rendered as one edit."""

    statement: ast.Import | ast.ImportFrom
    renamed: dict[int, str] = field(default_factory=dict)  # id(alias) -> new imported name
    removed: set[int] = field(default_factory=set)
    #: ``(module, name, asname)`` imported in the statement's place: a guarded or nested
    #: import is rewritten where it stands, never moved out of its block.
    added: list[tuple[str, str, str | None]] = field(default_factory=list)


class _Phase1:
    """Site edits against the original source."""

    def __init__(self, analysis: ModuleAnalysis) -> None:
        self.analysis = analysis
        self.source = analysis.source
        self.tree = analysis.tree
        self.lines: LineIndex = analysis.lines
        self.edits: list[TextEdit] = []
        self.statements: dict[int, _StatementPlan] = {}
        #: (module, name, asname) the new code needs.
        self.needed: list[tuple[str, str, str | None]] = []
        #: Names whose imports may have become unused.
        self.maybe_unused: set[str] = set()
        self._taken: set[str] | None = None
        self._module_bindings = analysis.module_scope.bindings
        #: For the expression being fixed: qualified prefixes it spells -> their text there.
        self.site_prefixes: dict[str, str] = {}
        self._spans: dict[tuple[int, int], ast.AST] | None = None
        #: The node being fixed: names the fix writes must mean at that point what it intends.
        self.site: ast.AST | None = None
        #: Packages a new module-level import must not pull out of a guard or a lazy import.
        self._guarded_roots = guarded_roots(self.tree)
        self._debug_fstrings: list[tuple[int, int]] | None = None
        self._outside: set[str] | None = None
        #: The import statement the site's name was reached through when it is not an
        #: unconditional module-level one (a function or class body, a guard): an import the
        #: fix needs goes next to it, in the same scope, or the fix is refused.
        self.anchor: ast.stmt | None = None
        #: Names this phase imports next to an anchor: name -> (id(anchor), module).
        self._local_names: dict[str, tuple[int, str]] = {}
        self._stored: set[str] | None = None

    @property
    def taken(self) -> set[str]:
        """Every name bound or used in the module (a new import must not collide), built when a
        fix first writes a name (most quick fixes write none: a walk of the module saved)."""
        if self._taken is None:
            self._taken = bound_names(self.tree)
        return self._taken

    # --- what a name means at the site ------------------------------------------------

    def _site_scopes(self) -> list[ScopeInfo]:
        """Scopes a load at the site looks in, innermost first, the module last.

        A class body is seen only by code directly in it (and the first iterable of a
        comprehension there), not by its methods or comprehension bodies, as in Python.
        """
        if self.site is None or not hasattr(self.site, "lineno"):
            return [self.analysis.module_scope]
        scopes: list[ScopeInfo] = []
        scope: ScopeInfo | None = self.analysis.scope_at(self.site)
        first = True
        while scope is not None:
            if scope.kind != "class" or first:
                scopes.append(scope)
            first = False
            scope = scope.parent
        return scopes

    def _require_builtin(self, name: str) -> None:
        """Refuse when ``name`` (a builtin the fix writes) is bound where it is written."""
        for scope in self._site_scopes():
            if name in scope.bindings:
                where = "this module" if scope.kind == "module" else f"the enclosing {scope.kind}"
                raise FixError(f"the builtin `{name}` is shadowed in {where}; fix by hand")

    def _require_module_name(self, name: str) -> None:
        """Refuse when the module-level ``name`` the fix writes is hidden by a local binding."""
        for scope in self._site_scopes()[:-1]:
            if name in scope.bindings:
                raise FixError(f"`{name}` is shadowed by a local name here; fix by hand")

    def _require_unguarded(self, module: str) -> None:
        """Refuse a module-level import of a package the module imports only under a guard."""
        root = module.split(".", 1)[0]
        if root in self._guarded_roots:
            raise FixError(
                f"`{root}` is imported only conditionally (an import guard) or inside a function here;"
                " a module-level import would defeat that: fix by hand"
            )

    def check_edits(self, edits: Sequence[TextEdit]) -> None:
        """Refuse edits that would change printed f-string text or drop a comment."""
        for edit in edits:
            for start, end in self._debug_fstring_spans():
                if edit.start < end and start < edit.end:
                    raise FixError("inside an f-string with a self-documenting `=` field, whose text is printed")
            if "#" in self.source[edit.start : edit.end]:
                for start, end in comment_spans(self.source):
                    if edit.start <= start < edit.end and self.source[start:end] not in edit.text:
                        raise FixError("the replaced code contains a comment; fix by hand to keep it")

    def _debug_fstring_spans(self) -> list[tuple[int, int]]:
        if self._debug_fstrings is None:
            spans: list[tuple[int, int]] = []
            # No match in the whole text: none in an f-string (a walk of the module saved).
            if "{" in self.source and _FSTRING_DEBUG.search(self.source) is not None:
                for node in ast.walk(self.tree):
                    if isinstance(node, ast.JoinedStr):
                        start, end = self.lines.node_span(node)
                        if _FSTRING_DEBUG.search(self.source, start, end):
                            spans.append((start, end))
            self._debug_fstrings = spans
        return self._debug_fstrings

    # --- references to qualified names ---------------------------------------------

    def reference(self, qname: str) -> str:
        """Text that denotes ``qname`` at module level, planning an import when needed."""
        if "." not in qname and hasattr(builtins, qname):
            self._require_builtin(qname)
            return qname
        if "." not in qname:
            # A top-level module (``{q:math}``): reuse its import or add ``import math``.
            visible = self._visible_import(qname, qname)
            if visible is not None:
                return visible
            for name, bindings in self._module_bindings.items():
                if bindings[-1].qname == qname and bindings[-1].kind == "import":
                    self._require_module_name(name)
                    return name
            if self.anchor is not None:
                return self._import_next_to_anchor(qname, "")
            if qname in self.taken and not any(m == qname and a == "" for m, a, _ in self.needed):
                raise FixError(f"`{qname}` is already a name in this module; import it by hand")
            if not any(m == qname and a == "" for m, a, _ in self.needed):
                self._require_unguarded(qname)
                self.needed.append((qname, "", None))
            self.taken.add(qname)
            return qname
        module, _, attr = qname.rpartition(".")
        # The expression being fixed names its module already (``np.product`` -> ``np.prod``):
        # that name is visible at the site, even when it was imported inside a function.
        if qname in self.site_prefixes:
            return self.site_prefixes[qname]
        if module in self.site_prefixes:
            return f"{self.site_prefixes[module]}.{attr}"
        visible = self._visible_import(qname, module)
        if visible is not None:
            return visible
        for name, bindings in self._module_bindings.items():
            last = bindings[-1]
            if last.qname == qname and last.kind in ("import", "import_from"):
                self._require_module_name(name)
                return name
        for name, bindings in self._module_bindings.items():
            last = bindings[-1]
            if last.qname == module and last.kind in ("import", "import_from"):
                self._require_module_name(name)
                return f"{name}.{attr}"
        if self.anchor is not None:
            return self._import_next_to_anchor(module, attr)
        if any((m, a) == (module, attr) for m, a, _ in self.needed):
            return attr
        if attr not in self.taken and not hasattr(builtins, attr):
            self._require_unguarded(module)
            self.needed.append((module, attr, None))
            self.taken.add(attr)
            return attr
        # ``from numpy import all`` would shadow a builtin or another name: ``import numpy``.
        root = module.split(".", 1)[0]
        root_binding = self._module_bindings.get(root)
        root_is_module = bool(root_binding) and root_binding[-1].qname == root  # type: ignore[index]
        if root in self.taken and not root_is_module:
            raise FixError(f"`{attr}` and `{root}` are already names in this module; import `{qname}` by hand")
        if root_is_module:
            self._require_module_name(root)
        if not any(m == module and a == "" for m, a, _ in self.needed):
            self._require_unguarded(module)
            self.needed.append((module, "", None))
        self.taken.add(root)
        return qname

    def render(
        self, template: str, args: Sequence[tuple[int, int]] = (), receiver: tuple[int, int] | None = None
    ) -> str:
        for name in _template_names(template):
            if hasattr(builtins, name):
                self._require_builtin(name)  # ``list({recv})``, ``dtype=float``

        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            following = template[match.end() : match.end() + 1]
            if key.startswith("q:"):
                return self.reference(key[2:])
            if key == "recv":
                if receiver is None:
                    raise FixError("the template needs a receiver")
                return self._operand(receiver, following)
            index = int(key[3:])
            if index >= len(args):
                raise FixError("the call has too few arguments for the template")
            return self._operand(args[index], following)

        return _PLACEHOLDER.sub(substitute, template)

    def _operand(self, span: tuple[int, int], following: str) -> str:
        text = self.source[span[0] : span[1]]
        node = self._node_at(span)
        if following in (".", "[", "(") and node is not None and not isinstance(node, _ATOMS):
            return f"({text})"
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and following == ".":
            return f"({text})"
        return text

    def _node_at(self, span: tuple[int, int]) -> ast.AST | None:
        """The outermost expression at exactly ``span`` (an index built on first use)."""
        if self._spans is None:
            self._spans = {}
            for node in ast.walk(self.tree):  # breadth first: outer expressions come first
                if isinstance(node, ast.expr):
                    self._spans.setdefault(self.lines.node_span(node), node)
        return self._spans.get(span)

    # --- sites ------------------------------------------------------------------------

    def qualified(self, finding: Finding) -> None:
        span = (finding.start_offset, finding.end_offset)
        node = self._node_at(span)
        if not isinstance(node, (ast.Name, ast.Attribute)):
            raise FixError("the flagged expression was not found where expected")
        parts = dotted_parts(node)
        written = re.sub(r"\s+", "", self.source[span[0] : span[1]])
        if parts is None or written != ".".join(parts):
            raise FixError("the expression spans comments or line breaks; fix it by hand")
        self._refuse_stored(node)
        self.site_prefixes = self._prefixes(node, parts)
        self.site = node
        self.anchor = self._anchor_of(node)
        try:
            self._qualified(finding, node, span)
        finally:
            self.site_prefixes = {}
            self.site = None
            self.anchor = None
        self.maybe_unused.add(parts[0])

    def _refuse_stored(self, node: ast.AST) -> None:
        """Refuse a name the module assigns or deletes as an attribute (``np.float_ = ...``,
        ``for np.float_ in ...``): a load then reads that value, and a store target is never
        rewritten, so every use of it is left alone alike."""
        if self._stored is None:
            self._stored = set()
            for other in ast.walk(self.tree):
                if isinstance(other, ast.Attribute) and isinstance(other.ctx, (ast.Store, ast.Del)):
                    qname = self.analysis.qualified_name(other)
                    if qname is not None:
                        self._stored.add(qname)
        if not self._stored:
            return
        qname = self.analysis.qualified_name(node)
        if qname is None:
            return
        parts = qname.split(".")
        for length in range(2, len(parts) + 1):
            if ".".join(parts[:length]) in self._stored:
                raise FixError(
                    f"`{'.'.join(parts[:length])}` is assigned or deleted as an attribute in this module; fix by hand"
                )

    def _anchor_of(self, node: ast.AST | None) -> ast.stmt | None:
        """The import binding the root name of ``node``, when it is not an unconditional
        module-level statement (then a new import belongs next to it, not at the top)."""
        while isinstance(node, ast.Attribute):
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        binding = self.analysis.binding_of(node)
        if binding is None or binding.kind not in ("import", "import_from") or binding.statement is None:
            return None
        return None if binding.statement in self.tree.body else binding.statement

    def _visible_import(self, qname: str, module: str) -> str | None:
        """Text for ``qname`` through an import in a function or class scope visible at the site."""
        if self.site is None or not hasattr(self.site, "lineno"):
            return None
        scope = self.analysis.scope_at(self.site)
        offset = self.lines.offset(self.site.lineno, self.site.col_offset)  # type: ignore[attr-defined]
        for outer in self._site_scopes()[:-1]:
            for name, bindings in outer.bindings.items():
                for binding in bindings:
                    if binding.kind not in ("import", "import_from") or binding.qname not in (qname, module):
                        continue
                    if self.analysis.lookup(name, scope, offset) is binding:
                        return name if binding.qname == qname else f"{name}.{qname.rpartition('.')[2]}"
        return None

    def _import_next_to_anchor(self, module: str, name: str) -> str:
        """Import ``name`` from ``module`` (``import module`` when ``name`` is empty) on the line
        after the anchor, at its indentation; returns the text that denotes it there."""
        anchor = self.anchor
        assert anchor is not None
        parent = self.analysis.parents.get(id(anchor))
        in_body = isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and anchor in parent.body
        if not in_body:
            raise FixError(
                "the name is imported conditionally here (an import guard); a new import next to it or at module"
                " level would change when it runs: fix by hand"
            )
        bound = name or module.split(".", 1)[0]
        planned = self._local_names.get(bound)
        if planned != (id(anchor), module):
            if planned is not None or bound in self.taken or hasattr(builtins, bound):
                raise FixError(f"`{bound}` is already a name in this module; import it by hand")
            self._local_names[bound] = (id(anchor), module)
            self.taken.add(bound)
        text = f"from {module} import {name}" if name else f"import {module}"
        start, end = self.lines.node_span(anchor)
        line_start = self.lines.line_starts[anchor.lineno - 1]
        newline = self.source.find("\n", end)
        rest = self.source[end : newline if newline != -1 else len(self.source)].strip()
        own_line = not self.source[line_start:start].strip()
        if own_line and (not rest or rest.startswith("#")):
            indent = self.source[line_start:start]
            if newline == -1:
                edit = TextEdit(len(self.source), len(self.source), f"\n{indent}{text}")
            else:
                ending = "\r\n" if self.source[newline - 1 : newline] == "\r" else "\n"
                edit = TextEdit(newline + 1, newline + 1, f"{indent}{text}{ending}")
        else:  # ``def f(): import asyncio; ...``
            edit = TextEdit(end, end, f"; {text}")
        self.edits.append(edit)
        return name or module

    def _prefixes(self, node: ast.AST, parts: list[str]) -> dict[str, str]:
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        binding = self.analysis.binding_of(root) if isinstance(root, ast.Name) else None
        if binding is None or binding.qname is None or binding.kind not in ("import", "import_from", "assign"):
            return {}
        prefixes = {}
        qualified = binding.qname
        for index in range(len(parts) - 1):
            if index:
                qualified = f"{qualified}.{parts[index]}"
            prefixes[qualified] = ".".join(parts[: index + 1])
        return prefixes

    def _qualified(self, finding: Finding, node: ast.AST, span: tuple[int, int]) -> None:
        change = finding.change
        if change.template is not None:
            if change.template_on is TemplateOn.CALL:
                call_span = finding.details.call
                if call_span is None:
                    raise FixError("the template applies to calls only")
                text = self.render(change.template, finding.details.args)
                self.edits.append(TextEdit(call_span[0], call_span[1], text))
            else:
                text = self.render(change.template)
                self.edits.append(TextEdit(span[0], span[1], self._parenthesise(node, text)))
        elif change.kind in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE) and change.new:
            self.edits.append(TextEdit(span[0], span[1], self.reference(change.new)))
        else:
            raise FixError("no mechanical fix for this change")

    def _parenthesise(self, node: ast.AST, text: str) -> str:
        try:
            expression = ast.parse(text, mode="eval").body
        except SyntaxError as exc:
            raise FixError(f"the template renders invalid code: {exc.msg}") from None
        parent = self.analysis.parents.get(id(node))
        if isinstance(expression, _ATOMS) and not (
            isinstance(expression, ast.Constant)
            and isinstance(expression.value, (int, float))
            and isinstance(parent, ast.Attribute)
        ):
            return text
        if isinstance(parent, _SAFE_PARENTS) or (isinstance(parent, ast.Call) and node is not parent.func):
            return text
        return f"({text})"

    def imported_binding(self, findings: list[Finding]) -> tuple[int, bool]:
        """Fix ``from M import old`` and every use of its binding.

        Returns the statement's key and whether the old import stays (it is still named in a
        string annotation, ``__all__`` or a type comment; then only the uses were fixed).
        """
        first = findings[0]
        change = first.change
        if change.kind not in (ChangeKind.RENAME, ChangeKind.MODULE_MOVE) or not change.new:
            raise FixError("no mechanical fix for this change")
        offset = first.details.binding
        found = self._alias_at(offset) if offset is not None else None
        if found is None:
            raise FixError("the import of this name was not found")
        statement, alias = found
        binding = self._binding_for(alias)
        old_module = statement.module or ""
        new_module, _, new_name = change.new.rpartition(".")
        plan = self.statements.setdefault(id(statement), _StatementPlan(statement))
        local = alias.asname or alias.name
        uses = self._uses_of(binding, local) if binding is not None else []
        # An import in a guard or a function is replaced where it stands, never moved out.
        in_place = statement not in self.tree.body
        # ``'List[int]'``, ``__all__ = ['List']`` and ``# type: List[int]`` name the binding
        # where no ``ast.Name`` shows it: the import stays, the uses in code are still fixed.
        # Only when the fix would unbind the name: a move that keeps it (``from collections.abc
        # import Mapping``) or an alias (``as L``) leaves the text meaning what it did.
        keep = not alias.asname and (not new_module or new_name != local) and local in self._outside_code()
        if keep and not uses:
            raise FixError(_KEPT_REASON)
        if new_module and new_module != old_module and not in_place:
            self._require_unguarded(new_module)
        if not new_module and change.kind is ChangeKind.MODULE_MOVE and not hasattr(builtins, new_name):
            # ``from sklearn.externals import joblib`` -> ``import joblib``: a top-level module.
            if local != new_name:
                raise FixError(f"`{local}` would have to become `{new_name}`: import `{new_name}` by hand")
            # Where the old import stood: the binding keeps its place and its guard, if any.
            plan.removed.add(id(alias))
            plan.added.append((new_name, "", None))
            return id(statement), False
        if alias.asname:
            if not new_module:
                raise FixError(f"cannot import the builtin `{new_name}` under an alias")
            if new_module == old_module:
                plan.renamed[id(alias)] = new_name
            else:
                plan.removed.add(id(alias))
                if in_place:
                    plan.added.append((new_module, new_name, alias.asname))
                else:
                    self.needed.append((new_module, new_name, alias.asname))
            return id(statement), False
        if not new_module:
            if new_name in self._module_bindings and new_name != local:
                raise FixError(f"the builtin `{new_name}` is shadowed in this module")
            if not keep:
                plan.removed.add(id(alias))
        elif new_module == old_module and new_name != local:
            already = self._module_bindings.get(new_name)
            if already and already[-1].qname == change.new:
                if not keep:
                    plan.removed.add(id(alias))
            elif new_name in self.taken:
                raise FixError(f"`{new_name}` is already a name in this module")
            elif keep:  # ``from m import old, new``
                if in_place:
                    plan.added.append((new_module, new_name, None))
                else:
                    self.needed.append((new_module, new_name, None))
            else:
                plan.renamed[id(alias)] = new_name
        else:
            if not (keep and new_name != local):
                plan.removed.add(id(alias))
            already = self._module_bindings.get(new_name)
            if not (already and already[-1].qname == change.new):
                if new_name != local and new_name in self.taken:
                    raise FixError(f"`{new_name}` is already a name in this module")
                if in_place:
                    plan.added.append((new_module, new_name, None))
                else:
                    self.needed.append((new_module, new_name, None))
        if new_name != local and new_module and hasattr(builtins, new_name):
            raise FixError(f"`from {new_module} import {new_name}` would shadow the builtin `{new_name}`; fix by hand")
        if new_name != local:
            for use in uses:
                self.site = use
                try:
                    # The new name must mean, at every use, what the fix intends.
                    if new_module:
                        self._require_module_name(new_name)
                    else:
                        self._require_builtin(new_name)
                finally:
                    self.site = None
                start, end = self.lines.node_span(use)
                self.edits.append(TextEdit(start, end, new_name))
            self.taken.add(new_name)
        return id(statement), keep

    def imported_site(self, finding: Finding) -> None:
        """One use of ``from M import old`` becomes the builtin its change names (see :func:`one_site`);
        the import stays while anything still uses it."""
        new_name = finding.change.new or ""
        if not _is_builtin_name(new_name):
            raise FixError("only a builtin can replace one use of an imported name")
        node = self._node_at((finding.start_offset, finding.end_offset))
        if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
            raise FixError("the flagged name was not found where expected")
        binding = self.analysis.binding_of(node)
        alias = binding.node if binding is not None else None
        if binding is None or binding.kind != "import_from" or not isinstance(alias, ast.alias):
            raise FixError("the import of this name was not found")
        self.site = node
        try:
            self._require_builtin(new_name)
        finally:
            self.site = None
        start, end = self.lines.node_span(node)
        self.edits.append(TextEdit(start, end, new_name))
        self.maybe_unused.add(alias.asname or alias.name)

    def _outside_code(self) -> set[str]:
        """Names referred to by string annotations, ``__all__`` and type comments (built once)."""
        if self._outside is None:
            self._outside = referenced_outside_code(self.tree, self.source)
        return self._outside

    def _alias_at(self, offset: int) -> tuple[ast.ImportFrom, ast.alias] | None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if self.lines.node_span(alias)[0] == offset:
                        return node, alias
        return None

    def _binding_for(self, alias: ast.alias) -> Binding | None:
        for scope in [self.analysis.module_scope, *self.analysis.scope_of.values()]:
            for bindings in scope.bindings.values():
                for binding in bindings:
                    if binding.node is alias:
                        return binding
        return None

    def _uses_of(self, binding: Binding, name: str) -> list[ast.Name]:
        uses = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and node.id == name:
                seen = self.analysis.binding_of(node) if not isinstance(node.ctx, ast.Store) else None
                if seen is binding:
                    uses.append(node)
        return uses

    def member(self, finding: Finding) -> None:
        self.site = self._node_at((finding.start_offset, finding.end_offset)) or _position_node(
            self.lines, finding.start_offset
        )
        receiver = finding.details.receiver
        if receiver is not None:
            self.anchor = self._anchor_of(self._node_at(receiver))
        try:
            self._member(finding)
        finally:
            self.site = None
            self.anchor = None

    def _member(self, finding: Finding) -> None:
        change = finding.change
        if change.template is not None:
            receiver = finding.details.receiver
            if change.template_on is TemplateOn.CALL:
                call_span = finding.details.call
                if call_span is None:
                    raise FixError("the template applies to calls only")
                text = self.render(change.template, finding.details.args, receiver)
                self.edits.append(TextEdit(call_span[0], call_span[1], text))
            else:
                expression = finding.details.expression
                if expression is None:
                    raise FixError("the flagged expression was not found where expected")
                node = self._node_at(expression)
                text = self.render(change.template, (), receiver)
                self.edits.append(
                    TextEdit(expression[0], expression[1], self._parenthesise(node, text) if node else text)
                )
            return
        if change.kind is ChangeKind.RENAME and change.new:
            self.edits.append(TextEdit(finding.start_offset, finding.end_offset, change.new.rpartition(".")[2]))
            return
        raise FixError("no mechanical fix for this change")

    def keyword(self, finding: Finding) -> None:
        change = finding.change
        if change.old_value is not None:
            # The site is the whole ``keyword=value``.
            if change.new_value is None:
                raise FixError("no mechanical fix for this value")
            keyword = change.new_keyword or change.old_keyword
            self.edits.append(TextEdit(finding.start_offset, finding.end_offset, f"{keyword}={change.new_value}"))
            return
        if change.kind is not ChangeKind.KEYWORD_RENAME or not change.new_keyword:
            raise FixError("no mechanical fix for this change")
        self.edits.append(TextEdit(finding.start_offset, finding.end_offset, change.new_keyword))

    def statement_edit(self, plan: _StatementPlan) -> TextEdit:
        """One edit that renders ``plan``'s statement with its aliases renamed or removed."""
        statement = plan.statement
        everything = plan.removed and not plan.renamed and all(id(a) in plan.removed for a in statement.names)
        if everything and not plan.added:
            return remove_aliases(self.tree, self.source, self.lines, statement, statement.names)
        names = []
        for alias in statement.names:
            if id(alias) in plan.removed:
                continue
            new = plan.renamed.get(id(alias))
            if new is None:
                names.append(alias_text(alias))
            else:
                names.append(f"{new} as {alias.asname}" if alias.asname else new)
        # Drop duplicates that a rename can create (``from m import a, a``).
        unique = list(dict.fromkeys(names))
        start, end = self.lines.node_span(statement)
        indent = _indent(self.source, statement)
        rendered: list[str] = []
        if unique:
            if isinstance(statement, ast.ImportFrom):
                rendered.append(render_import_from(statement.module or "", statement.level, unique, indent))
            else:
                rendered.append("import " + ", ".join(unique))
        by_module: dict[str, list[str]] = {}
        for module, name, asname in plan.added:
            if not name:  # a whole module: ``import joblib``
                rendered.append(f"import {module}")
                continue
            by_module.setdefault(module, []).append(f"{name} as {asname}" if asname else name)
        rendered.extend(
            render_import_from(module, 0, list(dict.fromkeys(n)), indent) for module, n in by_module.items()
        )
        line_start = self.lines.line_starts[statement.lineno - 1]
        # On a line of its own, one statement a line; after other code (``try: from m import a``), ``;``.
        own_line = not self.source[line_start:start].strip()
        text = (f"\n{self.source[line_start:start]}" if own_line else "; ").join(rendered)
        return TextEdit(start, end, keeping_comments(self.source, self.lines, statement, start, end, text))


def _position_node(lines: LineIndex, offset: int) -> ast.AST:
    """A node standing for a position (``scope_at`` needs ``lineno`` and ``col_offset``)."""
    line, _ = lines.position(offset)
    column = len(lines.source[lines.line_starts[line] : offset].encode("utf-8"))
    return ast.Pass(lineno=line + 1, col_offset=column, end_lineno=line + 1, end_col_offset=column)


def _template_names(template: str) -> set[str]:
    """Names a template writes itself (not its placeholders): ``list({recv})`` -> {"list"}."""
    text = _PLACEHOLDER.sub(lambda match: f"__recode_{abs(hash(match.group(1)))}__", template)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not node.id.startswith("__recode_")}


def _indent(source: str, statement: ast.stmt) -> str:
    return " " * statement.col_offset if source.isascii() else ""


def _conflicts(a: TextEdit, b: TextEdit) -> bool:
    """Whether two edits cannot both be applied (insertions at one point can)."""
    if a.start == a.end and b.start == b.end:
        return False
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


@dataclass
class _Unit:
    """Findings that are fixed together, with every edit and import their fix needs."""

    findings: list[Finding]
    edits: list[TextEdit]
    needed: list[tuple[str, str, str | None]] = field(default_factory=list)


def _accept(units: Sequence[_Unit]) -> tuple[list[_Unit], list[_Unit]]:
    """Units whose edits do not collide, in order; a colliding unit is dropped whole."""
    accepted: list[_Unit] = []
    rejected: list[_Unit] = []
    kept = _KeptEdits([edit for unit in units for edit in unit.edits])
    for unit in units:
        fresh = [edit for edit in unit.edits if edit not in kept.edits]
        if any(kept.conflicts(edit) for edit in fresh):
            rejected.append(unit)
            continue
        for edit in fresh:
            kept.add(edit)
        unit.edits = fresh
        accepted.append(unit)
    return accepted, rejected


class _KeptEdits:
    """Accepted edits, answering :func:`_conflicts` against all of them in logarithmic time.

    Comparing each new edit with every kept one was quadratic on modules with thousands of
    fixes (issue 11). Two Fenwick trees over the edits' offsets answer the same question: a
    range ``[s, e)`` conflicts with a kept range ``[a, b)`` when some ``a < e`` has ``b > s``
    (the largest ``b`` among starts before ``e``), with a kept insertion at ``p`` when
    ``s < p < e`` (a count); an insertion at ``p`` with a kept range when some ``a < p`` has
    ``b > p``. Exactly :func:`_conflicts`, for any set of kept edits.
    """

    def __init__(self, candidates: Sequence[TextEdit]) -> None:
        self.edits: set[TextEdit] = set()
        self._points = sorted({edit.start for edit in candidates} | {edit.end for edit in candidates})
        self._max_end = [-1] * (len(self._points) + 1)  # prefix maximum of range ends, by start
        self._inserts = [0] * (len(self._points) + 1)  # count of insertions, by point

    def _index(self, offset: int) -> int:
        """1-based Fenwick index of a known offset."""
        return bisect.bisect_left(self._points, offset) + 1

    def add(self, edit: TextEdit) -> None:
        self.edits.add(edit)
        i = self._index(edit.start)
        if edit.start == edit.end:
            while i < len(self._inserts):
                self._inserts[i] += 1
                i += i & -i
        else:
            while i < len(self._max_end):
                self._max_end[i] = max(self._max_end[i], edit.end)
                i += i & -i

    def _max_end_before(self, offset: int) -> int:
        """The largest end of a kept range starting before ``offset`` (-1: none)."""
        i, best = bisect.bisect_left(self._points, offset), -1
        while i > 0:
            best = max(best, self._max_end[i])
            i -= i & -i
        return best

    def _inserts_up_to(self, offset: int) -> int:
        """Kept insertions at points ``<= offset``."""
        i, total = bisect.bisect_right(self._points, offset), 0
        while i > 0:
            total += self._inserts[i]
            i -= i & -i
        return total

    def conflicts(self, edit: TextEdit) -> bool:
        """``any(_conflicts(edit, kept) for kept in the kept edits)``."""
        if edit.start == edit.end:
            return self._max_end_before(edit.start) > edit.start
        if self._max_end_before(edit.end) > edit.start:
            return True
        return self._inserts_up_to(edit.end - 1) - self._inserts_up_to(edit.start) > 0


def add_needed_imports(source: str, needed: Iterable[tuple[str, str, str | None]]) -> str:
    """Second phase: make every needed ``from M import name`` available."""
    needed = list(needed)
    if not needed:
        return source
    tree = ast.parse(source)
    return apply_edits(source, import_edits(tree, source, LineIndex(source), needed))


def fix_findings(analysis: ModuleAnalysis, findings: Sequence[Finding]) -> FixOutcome:
    """Apply the fixes of ``findings`` (already selected) to the analysed source.

    The result is not validated here; :func:`recode_lsp.engine.validator.fix_and_validate`
    does that and drops what fails. A fix whose edits collide with an earlier one is left
    out whole (never half-applied) and reported as skipped.
    """
    phase = _Phase1(analysis)
    outcome = FixOutcome(analysis.source)
    units: list[_Unit] = []
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.site in (Site.IMPORT_FROM, Site.IMPORTED_NAME) and finding.group:
            groups[finding.group].append(finding)
            continue
        before, needed_before = len(phase.edits), len(phase.needed)
        try:
            if finding.change.rule is not None:
                phase.edits.extend(_rule_edits(finding, analysis))
            elif finding.site is Site.QUALIFIED:
                phase.qualified(finding)
            elif finding.site is Site.MEMBER:
                phase.member(finding)
            elif finding.site is Site.KEYWORD:
                phase.keyword(finding)
            elif finding.site is Site.IMPORTED_NAME:
                phase.imported_site(finding)  # one use alone (a group is fixed above)
            else:
                raise FixError("no mechanical fix for this site")
            phase.check_edits(phase.edits[before:])
        except FixError as exc:
            del phase.edits[before:]
            del phase.needed[needed_before:]
            outcome.skipped.append((finding, str(exc)))
            continue
        units.append(_Unit([finding], phase.edits[before:], phase.needed[needed_before:]))
    # Import groups that touch one statement are one unit with that statement's edit.
    by_statement: dict[int, _Unit] = {}
    for members in groups.values():
        before, needed_before = len(phase.edits), len(phase.needed)
        saved_plans = {key: (dict(p.renamed), set(p.removed), list(p.added)) for key, p in phase.statements.items()}
        try:
            statement_key, kept = phase.imported_binding(members)
            phase.check_edits(phase.edits[before:])
        except FixError as exc:
            del phase.edits[before:]
            del phase.needed[needed_before:]
            for key in list(phase.statements):
                if key in saved_plans:
                    plan = phase.statements[key]
                    plan.renamed, plan.removed, plan.added = saved_plans[key]
                else:
                    del phase.statements[key]
            outcome.skipped.extend((f, str(exc)) for f in members)
            continue
        unit = by_statement.setdefault(statement_key, _Unit([], []))
        if kept:
            # The import stays, so its own finding is not fixed (the validator counts it).
            imports = [f for f in members if f.site is Site.IMPORT_FROM]
            members = [f for f in members if f.site is not Site.IMPORT_FROM]
            outcome.skipped.extend((f, f"{_KEPT_REASON}; its uses were fixed") for f in imports)
        unit.findings.extend(members)
        unit.edits.extend(phase.edits[before:])
        unit.needed.extend(phase.needed[needed_before:])
    for key, unit in by_statement.items():
        unit.edits.append(phase.statement_edit(phase.statements[key]))
    accepted, rejected = _accept([*by_statement.values(), *units])
    for unit in rejected:
        outcome.skipped.extend((f, "overlaps another fix; run again to fix it") for f in unit.findings)
    if not accepted:
        return outcome
    new_source = apply_edits(analysis.source, [edit for unit in accepted for edit in unit.edits])
    try:
        new_source = add_needed_imports(new_source, [item for unit in accepted for item in unit.needed])
        tree = ast.parse(new_source)
        unused = unused_import_edits(tree, new_source, LineIndex(new_source), phase.maybe_unused)
        new_source = apply_edits(new_source, unused)
    except SyntaxError as exc:
        for unit in accepted:
            outcome.skipped.extend((f, f"the fixed code does not parse ({exc.msg})") for f in unit.findings)
        return outcome
    outcome.source = new_source
    outcome.tree = None if unused else tree
    outcome.applied = [f for unit in accepted for f in unit.findings]
    return outcome


def _rule_edits(finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit]:
    code = finding.change.rule or ""
    rule = rule_by_code(code)
    if rule is None:
        raise FixError(f"rule {code} is not installed")
    try:
        edits = rule.fix(finding, analysis)
    except FixError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken rule must not stop the run
        raise FixError(f"{code} failed: {type(exc).__name__}: {exc}") from None
    if not edits:
        raise FixError(f"{code} does not handle this form; migrate it by hand")
    return edits


def describe_fix(change: ApiChange) -> str:
    """The ``fix_title``: what the quick fix does, in words."""
    if change.kind is ChangeKind.KEYWORD_RENAME:
        return f"Rename keyword `{change.old_keyword}` to `{change.new_keyword}`"
    if change.template is not None:
        return f"Replace with `{change.replacement or change.template}`"
    if change.new:
        return f"Replace with `{change.new}`"
    return f"Migrate `{change.old}`"


__all__ = [
    "FixError",
    "FixOutcome",
    "FixSafety",
    "add_import_from",
    "by_site",
    "describe_fix",
    "expand_groups",
    "fix_findings",
    "one_site",
    "wanted",
]
