"""Find uses of changed APIs in one module, for the versions the project moves to.

The detector parses with :mod:`ast` (fast, and enough to know positions and names), resolves
every name through :class:`~recode_lsp.engine.analysis.ModuleAnalysis`, and matches the
result against the knowledge base. Strings and comments are never looked at, and a local
name that shadows an import resolves to nothing.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Callable, Iterable

from recode_lsp.engine.analysis import ModuleAnalysis, ScopeInfo
from recode_lsp.engine.changes import ApiChange, ChangeKind, FixSafety, TemplateOn
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.model import Finding, Position, Range, Site, SiteDetails
from recode_lsp.engine.options import DetectOptions

_SUPPRESSION = re.compile(r"#\s*recode:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_TEMPLATE_ARG = re.compile(r"\{arg([0-9])\}")


class SourceError(Exception):
    """The source cannot be analysed: it does not decode or does not parse."""


def _chooses_new_default(change: ApiChange, call: ast.Call | None) -> bool:
    """A default that changed (a ``behaviour_change`` naming the keyword in ``new_keyword``) does
    not matter to a call that passes that keyword: ``stats.mode(a, keepdims=True)``."""
    if change.kind is not ChangeKind.BEHAVIOUR_CHANGE or not change.new_keyword or call is None:
        return False
    return any(keyword.arg == change.new_keyword for keyword in call.keywords)


def parse_source(source: str, path: str = "<string>") -> ast.Module:
    try:
        return ast.parse(source, filename=path, type_comments=False)
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise SourceError(f"syntax error at {where}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SourceError(f"cannot parse: {exc}") from None


def suppressions(source: str) -> dict[int, set[str] | None]:
    """0-based line -> suppressed ids (None: everything) from ``# recode: ignore`` comments."""
    found: dict[int, set[str] | None] = {}
    if "recode" not in source or _SUPPRESSION.search(source) is None:
        return found  # tokenizing is slow; a comment that suppresses matches in the whole text too
    import tokenize  # only for files that mention "recode": tokenize is slow to import
    from io import StringIO

    try:
        tokens = list(tokenize.generate_tokens(StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = _SUPPRESSION.search(token.string)
        if match is None:
            continue
        line = token.start[0] - 1
        codes = match.group("codes")
        if codes is None:
            found[line] = None
        else:
            previous = found.get(line, set())
            if previous is None:
                continue
            found[line] = previous | {c.strip().upper() for c in codes.split(",") if c.strip()}
    return found


class _Collector:
    """Build findings for one module."""

    def __init__(self, analysis: ModuleAnalysis, kb: KnowledgeBase, options: DetectOptions, path: str) -> None:
        self.analysis = analysis
        self.kb = kb
        self.options = options
        self.path = path
        self.findings: list[Finding] = []
        self._seen: set[tuple[int, int, str]] = set()
        self.member_names = kb.member_names

    # --- creating findings -------------------------------------------------------------

    def add(
        self,
        change: ApiChange,
        start: int,
        end: int,
        site: Site,
        safety: FixSafety | None = None,
        group: str | None = None,
        *,
        details: SiteDetails | None = None,
    ) -> None:
        severity = self.options.severity(change)
        if severity is None:
            return
        key = (start, end, change.id)
        if key in self._seen:
            return
        self._seen.add(key)
        lines = self.analysis.lines
        start_line, start_col = lines.position(start)
        end_line, end_col = lines.position(end)
        self.findings.append(
            Finding(
                path=self.path,
                range=Range(Position(start_line, start_col), Position(end_line, end_col)),
                change=change,
                severity=severity,
                site=site,
                start_offset=start,
                end_offset=end,
                group=group,
                safety=change.fix if safety is None else safety,
                details=details or SiteDetails(),
            )
        )

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.analysis.lines.node_span(node)

    # --- the walk ------------------------------------------------------------------------

    def run(self, check: Callable[[], None] | None = None) -> list[Finding]:
        analysis = self.analysis
        roots = self.kb.roots
        # Cheap tests before the name resolution (issue 15: most ``np.x``, most ``np`` and most
        # calls with keywords cannot match). :meth:`check_reference` needs the qualified name to
        # be an old one: an attribute's ends with the attribute itself, and a name's is that of
        # one of its bindings. A keyword finding needs the call to pass that keyword.
        old_names = self.kb.old_names
        old_attributes = self.kb.old_attributes
        chain_roots: set[str] = set()  # names bound to something in the libraries
        old_bound: set[str] = set()  # names bound to an old name itself
        for scope in _all_scopes(analysis):
            for name, bindings in scope.bindings.items():
                for binding in bindings:
                    if binding.qname and binding.qname.split(".", 1)[0] in roots:
                        chain_roots.add(name)
                        if binding.qname in old_names:
                            old_bound.add(name)
        old_keywords = self.kb.old_keywords
        member_names = self.member_names
        name_kind, attribute_kind, call_kind, load = ast.Name, ast.Attribute, ast.Call, ast.Load
        for index, node in enumerate(analysis.expressions):
            if check is not None and not index & 4095:
                check()
            kind = type(node)
            if kind is name_kind:
                if node.id in old_bound and type(node.ctx) is load:  # type: ignore[attr-defined]
                    self.check_reference(node)  # type: ignore[arg-type]
            elif kind is attribute_kind:
                attribute = node.attr  # type: ignore[attr-defined]
                if attribute in old_attributes:
                    base = node.value  # type: ignore[attr-defined]
                    while type(base) is attribute_kind:
                        base = base.value
                    if type(base) is name_kind and base.id in chain_roots:
                        self.check_reference(node)  # type: ignore[arg-type]
                if attribute in member_names:
                    self.check_member(node)  # type: ignore[arg-type]
            elif (
                kind is call_kind and old_keywords and any(keyword.arg in old_keywords for keyword in node.keywords)  # type: ignore[attr-defined]
            ):
                self.check_keywords(node)  # type: ignore[arg-type]
        for statement in analysis.imports:
            if isinstance(statement, ast.ImportFrom):
                self.check_import_from(statement)
            else:
                self.check_import(statement)
        for key in list(analysis.classes):
            self.check_overrides(key)
        return self.findings

    def check_overrides(self, class_key: str) -> None:
        """Methods of the module's subclass of a library class that override a changed member (Scrapy
        calls ``def start_requests`` of a Spider; it is deprecated for ``async def start``). Display only:
        moving a hook to its successor changes more than a name."""
        local = self.analysis.classes[class_key]
        methods = [
            s
            for s in local.node.body
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name in self.member_names
        ]
        if not methods:
            return
        library_bases = [b for b in self.analysis.class_lineage(class_key) if b not in self.analysis.classes]
        for method in methods:
            for base in library_bases:
                changes = [
                    c
                    for c in self.kb.by_member.get(base, {}).get(method.name, ())
                    if c.old_keyword is None
                    and c.kind not in (ChangeKind.BEHAVIOUR_CHANGE, ChangeKind.SIGNATURE_CHANGE)
                ]
                if not changes:
                    continue
                start = self.span(method)[0]
                name_at = self.analysis.source.find(f"def {method.name}", start) + len("def ")
                for change in changes:
                    self.add(change, name_at, name_at + len(method.name), Site.MEMBER, FixSafety.DISPLAY_ONLY)
                break

    def check_reference(self, node: ast.Name | ast.Attribute) -> None:
        if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
            return
        qname = self.analysis.qualified_name(node)
        if qname is None or qname.split(".", 1)[0] not in self.kb.roots:
            return
        changes = [c for c in self.kb.by_old.get(qname, ()) if c.old_keyword is None]
        if not changes:
            return
        start, end = self.span(node)
        binding = None
        site = Site.QUALIFIED
        if isinstance(node, ast.Name):
            binding = self.analysis.binding_of(node)
            if binding is None or binding.kind != "import_from":
                # ``xp = np.float_`` style aliases: flag, but a person must fix them.
                for change in changes:
                    self.add(change, start, end, Site.QUALIFIED, FixSafety.DISPLAY_ONLY)
                return
            site = Site.IMPORTED_NAME
        call = self.analysis.is_callee(node)
        for change in changes:
            if _chooses_new_default(change, call):
                continue
            safety, details = self._template_safety(change, call, None)
            if binding is not None and change.template is not None:
                safety = FixSafety.DISPLAY_ONLY  # a template cannot rewrite ``from m import old``
            group = None
            if binding is not None:
                offset = binding.node_offset
                if offset is None:
                    offset = self.analysis.lines.node_span(binding.node)[0]  # type: ignore[arg-type]
                group = f"import:{offset}"
                details = dataclasses.replace(details, binding=offset)
            self.add(change, start, end, site, safety, group, details=details)

    def _template_safety(
        self, change: ApiChange, call: ast.Call | None, receiver: ast.AST | None
    ) -> tuple[FixSafety | None, SiteDetails]:
        """Whether a template fix applies at this site, and the offsets it needs."""
        none = SiteDetails()
        if change.template is None or change.template_on is not TemplateOn.CALL:
            return None, none
        if call is None:
            return FixSafety.DISPLAY_ONLY, none
        wanted = {int(i) for i in _TEMPLATE_ARG.findall(change.template)}
        count = max(wanted) + 1 if wanted else 0
        if call.keywords or any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) != count:
            return FixSafety.DISPLAY_ONLY, none
        return None, SiteDetails(call=self.span(call), args=tuple(self.span(arg) for arg in call.args))

    def check_member(self, node: ast.Attribute) -> None:
        receiver = node.value
        #: A class of the module between the receiver and the library class defines the
        #: member itself (``def dict(self)``): the call reaches that override, so renaming it
        #: to the library's new name would bypass the override.
        overridden = False
        for owner in self._receiver_classes(receiver):
            members = self.kb.by_member.get(owner)
            if not members:
                overridden = overridden or _defines_member(self.analysis, owner, node.attr)
                continue
            changes = [change for change in members.get(node.attr, ()) if change.old_keyword is None]
            if not changes:
                # Entries of this class name other members: the member may be a base's (a deeper
                # class in the lineage) that changed.
                continue
            call = self.analysis.is_callee(node)
            for change in changes:
                if _chooses_new_default(change, call):
                    continue
                start, end = self.span(node)
                attr_start = end - len(node.attr)
                if self.analysis.source[attr_start:end] != node.attr:
                    attr_start = start  # attribute split over lines with comments: flag it all
                safety: FixSafety | None = None
                details = SiteDetails(
                    call=self.span(call) if call is not None else None,
                    receiver=self.span(receiver),
                    expression=(start, end),
                )
                if change.rule is not None:
                    pass  # the rule checks the shape of the call when it fixes
                elif change.template is None:
                    same_owner = change.new is not None and change.new.rpartition(".")[0] == change.owner_class
                    if change.kind is ChangeKind.RENAME and not same_owner:
                        safety = FixSafety.DISPLAY_ONLY
                elif change.template is not None:
                    safety, more = self._template_safety(change, call, receiver)
                    details = dataclasses.replace(details, call=more.call or details.call, args=more.args)
                    if change.template_on is TemplateOn.EXPR:
                        safety = None
                if overridden:
                    safety = FixSafety.DISPLAY_ONLY
                self.add(change, attr_start, end, Site.MEMBER, safety, None, details=details)
            return

    def _receiver_classes(self, receiver: ast.AST) -> list[str]:
        analysis = self.analysis
        classes: list[str] = []
        qname = analysis.qualified_name(receiver) if isinstance(receiver, (ast.Name, ast.Attribute)) else None
        if qname is not None and (qname in analysis.classes or qname in self.kb.by_member):
            classes.extend(analysis.class_lineage(qname))  # the class object itself
        value_type = analysis.expression_type(receiver)
        if value_type is not None:
            classes.extend(analysis.class_lineage(value_type))
        return classes

    def check_keywords(self, call: ast.Call) -> None:
        func = call.func
        changes: list[ApiChange] = []
        qname = self.analysis.qualified_name(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if qname is not None:
            changes.extend(c for c in self.kb.by_old.get(qname, ()) if c.old_keyword)
            for base in self._inherited_constructors(qname):
                changes.extend(c for c in self.kb.by_old.get(base, ()) if c.old_keyword)
        if isinstance(func, ast.Attribute):
            for owner in self._receiver_classes(func.value):
                changes.extend(c for c in self.kb.by_member.get(owner, {}).get(func.attr, ()) if c.old_keyword)
        if not changes:
            return
        present = {kw.arg for kw in call.keywords if kw.arg}
        for change in changes:
            if change.old_keyword not in present:
                continue
            keyword = next(kw for kw in call.keywords if kw.arg == change.old_keyword)
            start, end = self.span(keyword)
            safety = None
            if change.old_value is not None:
                # One value of the keyword changed (``loss='log'``): only that literal, the whole
                # ``keyword=value`` is the site (the fix rewrites both when the keyword is renamed too).
                if not _is_literal(keyword.value, change.old_value):
                    continue
                if change.new_keyword and change.new_keyword != change.old_keyword and change.new_keyword in present:
                    safety = FixSafety.DISPLAY_ONLY
                self.add(change, start, end, Site.KEYWORD, safety)
                continue
            if change.kind is ChangeKind.KEYWORD_RENAME and change.new_keyword in present:
                safety = FixSafety.DISPLAY_ONLY  # both spellings given: a person decides
            self.add(change, start, start + len(change.old_keyword or ""), Site.KEYWORD, safety)

    def _inherited_constructors(self, qname: str) -> list[str]:
        """Library classes whose ``__init__`` a call of the module's class ``qname`` reaches: its library
        bases, when neither it nor a local base defines ``__init__`` (``class MyBoost(AdaBoostClassifier):
        pass`` takes ``base_estimator=`` as AdaBoostClassifier does)."""
        local = self.analysis.classes.get(qname)
        if local is None:
            return []
        chain = [qname, *(base for base in local.bases if base in self.analysis.classes)]
        if any(_defines_member(self.analysis, key, "__init__") for key in chain):
            return []
        return [base for base in local.bases if base not in self.analysis.classes]

    def check_import_from(self, node: ast.ImportFrom) -> None:
        if node.level:
            return
        module = node.module or ""
        if module.split(".", 1)[0] not in self.kb.roots:
            return
        specific = False
        for alias in node.names:
            qname = f"{module}.{alias.name}"
            changes = [c for c in self.kb.by_old.get(qname, ()) if c.old_keyword is None]
            if not changes:
                continue
            specific = True
            start, end = self.span(alias)
            group = f"import:{start}"
            for change in changes:
                safety = FixSafety.DISPLAY_ONLY if change.template is not None else None
                self.add(change, start, end, Site.IMPORT_FROM, safety, group, details=SiteDetails(binding=start))
        if not specific:
            self._module_prefix(node, module)

    def check_import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".", 1)[0] not in self.kb.roots:
                continue
            changes = [c for c in self.kb.by_old.get(alias.name, ()) if c.old_keyword is None]
            if changes:
                start, end = self.span(alias)
                for change in changes:
                    self.add(change, start, end, Site.IMPORT, FixSafety.DISPLAY_ONLY)
            else:
                self._module_prefix(alias, alias.name)

    def _module_prefix(self, node: ast.AST, module: str) -> None:
        """``from distutils.util import x`` uses the removed module ``distutils``."""
        parts = module.split(".")
        for length in range(len(parts), 0, -1):
            prefix = ".".join(parts[:length])
            changes = [c for c in self.kb.by_old.get(prefix, ()) if c.old_keyword is None]
            if changes:
                start, end = self.span(node)
                for change in changes:
                    self.add(change, start, end, Site.IMPORT, FixSafety.DISPLAY_ONLY)
                return


def _is_literal(node: ast.expr, text: str) -> bool:
    """Whether ``node`` is the literal ``text`` spells (``'log'``; ``True`` is not ``1``)."""
    try:
        wanted = ast.literal_eval(text)
        found = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return type(found) is type(wanted) and found == wanted


def _defines_member(analysis: ModuleAnalysis, class_key: str, member: str) -> bool:
    """Whether the module's class ``class_key`` defines ``member`` in its own body."""
    local = analysis.classes.get(class_key)
    if local is None:
        return False
    for statement in local.node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if statement.name == member:
                return True
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(target, ast.Name) and target.id == member for target in targets):
                return True
    return False


def _all_scopes(analysis: ModuleAnalysis) -> Iterable[ScopeInfo]:
    yield analysis.module_scope
    yield from analysis.scope_of.values()


RuleFinder = Callable[[ModuleAnalysis, KnowledgeBase, Callable[..., None]], None]


def analyse(source: str, path: str = "<string>", module_name: str | None = None) -> ModuleAnalysis:
    return ModuleAnalysis(parse_source(source, path), source, module_name)


def detect(
    source: str,
    kb: KnowledgeBase,
    options: DetectOptions | None = None,
    path: str = "<string>",
    module_name: str | None = None,
    analysis: ModuleAnalysis | None = None,
    apply_suppressions: bool = True,
    check: Callable[[], None] | None = None,
) -> list[Finding]:
    """Every finding in ``source``, sorted by position. Raises :class:`SourceError`.

    ``check`` is called now and then during the walk; it may raise to stop the work.
    """
    analysis = analysis or analyse(source, path, module_name)
    findings = _collect(analysis, kb, options or DetectOptions(), path, check)
    if apply_suppressions:
        suppressed = suppressions(source)
        if suppressed:
            findings = [f for f in findings if not _is_suppressed(f, suppressed)]
    findings.sort(key=Finding.sort_key)
    return findings


def detect_chunk(
    analysis: ModuleAnalysis,
    kb: KnowledgeBase,
    options: DetectOptions,
    path: str,
    chunk: str,
    first_line: int,
) -> list[Finding]:
    """The findings of a chunk of a module (see :class:`~recode_lsp.engine.analysis.Environment`).

    ``analysis`` analysed the chunk's tree in the whole module's source; ``chunk`` is the
    chunk's text, whole lines from 0-based ``first_line`` on, where ``# recode: ignore``
    comments are read. Sorted by position, as :func:`detect` sorts the whole module's.
    """
    findings = _collect(analysis, kb, options, path, None)
    suppressed = suppressions(chunk)
    if suppressed:
        moved = {line + first_line: codes for line, codes in suppressed.items()}
        findings = [f for f in findings if not _is_suppressed(f, moved)]
    findings.sort(key=Finding.sort_key)
    return findings


def _collect(
    analysis: ModuleAnalysis, kb: KnowledgeBase, options: DetectOptions, path: str, check: Callable[[], None] | None
) -> list[Finding]:
    from recode_lsp.engine.rules import all_rules

    collector = _Collector(analysis, kb, options, path)
    collector.run(check)
    for rule in all_rules():
        rule.find(analysis, kb, collector.add)
    return _without_repeats(collector.findings)


def _without_repeats(findings: list[Finding]) -> list[Finding]:
    """Drop a display-only finding where a fixable finding of the same library starts too.

    A code rule (``@validator`` -> ``@field_validator``) and a name entry (``pydantic.validator``
    is deprecated) can both report one site; the user needs the one that fixes it, once.
    """
    fixable = {(f.change.library, f.start_offset) for f in findings if f.fixable}
    if not fixable:
        return findings
    return [f for f in findings if f.fixable or (f.change.library, f.start_offset) not in fixable]


def _is_suppressed(finding: Finding, suppressed: dict[int, set[str] | None]) -> bool:
    for line in {finding.range.start.line, finding.range.end.line}:
        if line in suppressed:
            codes = suppressed[line]
            if codes is None or finding.code in codes:
                return True
    return False
