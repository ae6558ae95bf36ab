"""Check a fix before anyone sees it (rule fixes here; model fixes use the same name checks).

A fixed module passes when:

* it parses, with libcst (the parser that preserves everything) and with :mod:`ast`;
* re-running the detector finds none of the fixed findings and nothing new;
* it binds no builtin at module level and uses no name the module did not have (compared
  with the module *before* the fix, a :class:`Baseline`: a name that was already undefined
  is not the fix's doing);
* applying the same fixes again changes nothing;
* every name the fix introduces exists in the target version, where that can be checked.

:func:`check_fix` is the one validation; :mod:`recode_lsp.engine.pipeline` (select -> fix ->
validate -> split into units) is the one caller for rule fixes, used by the CLI, the language
server and the data builder.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from recode_lsp.engine.analysis import ModuleAnalysis
from recode_lsp.engine.detector import SourceError, analyse, detect
from recode_lsp.engine.fixer import FixOutcome, fix_findings
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.model import Finding
from recode_lsp.engine.options import DetectOptions

#: ``(qualified name, library) -> True | False | None`` (None: cannot be checked).
NameChecker = Callable[[str, str], "bool | None"]

_QUALIFIED_IN_TEMPLATE = re.compile(r"\{q:([A-Za-z_][\w.]*)\}")


@dataclass
class Verdict:
    """The validator's answer; a passing verdict of :func:`check_fix` carries the new module's analysis."""

    ok: bool
    reason: str = ""
    #: The analysis and findings of the fixed module (set by :func:`check_fix` when it passes).
    analysis: ModuleAnalysis | None = field(default=None, repr=False, compare=False)
    findings: list[Finding] | None = field(default=None, repr=False, compare=False)


def parses(source: str) -> Verdict:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return Verdict(False, f"does not parse: {exc.msg} (line {exc.lineno})")
    return _libcst_parses(source)


def _libcst_parses(source: str) -> Verdict:
    import libcst

    try:
        libcst.parse_module(source)
    except libcst.ParserSyntaxError as exc:
        return Verdict(False, f"libcst cannot parse the result: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - libcst raises a few other errors on odd input
        return Verdict(False, f"libcst cannot parse the result: {exc}")
    return Verdict(True)


def parses_where_written(new_source: str, original_source: str, written: set[int] | None = None) -> Verdict:
    """Like :func:`parses`, with libcst reading only the top-level statements the fix wrote.

    The whole module is still parsed with :mod:`ast`; libcst (the slow, exact parser) sees
    the statements that contain a changed line, which is where a fix can break it.
    """
    return _parse_where_written(new_source, original_source, written)[0]


def _parse_where_written(
    new_source: str, original_source: str, written: set[int] | None = None, tree: ast.Module | None = None
) -> tuple[Verdict, ast.Module | None]:
    """:func:`parses_where_written` and the module's :mod:`ast` tree (parsed once, reused);
    ``tree``: ``new_source`` already parsed with :func:`ast.parse` (by the fixer)."""
    if tree is None:
        try:
            tree = ast.parse(new_source)
        except SyntaxError as exc:
            return Verdict(False, f"does not parse: {exc.msg} (line {exc.lineno})"), None
        except (ValueError, RecursionError, MemoryError) as exc:
            return Verdict(False, f"does not parse: {exc}"), None
    return _libcst_where_written(tree, new_source, original_source, written), tree


def _libcst_where_written(
    tree: ast.Module, new_source: str, original_source: str, written: set[int] | None
) -> Verdict:
    if written is None:
        written = _written_lines(original_source, new_source)
    if not written:
        return Verdict(True)
    lines = new_source.splitlines(keepends=True)
    # A bisection per statement: testing every written line per statement was quadratic.
    ordered = sorted(written)
    pieces = []
    for statement in tree.body:
        first, last = statement.lineno - 1, (statement.end_lineno or statement.lineno) - 1
        at = bisect.bisect_left(ordered, first)
        if at < len(ordered) and ordered[at] <= last:
            pieces.append("".join(lines[first : last + 1]))
    if not pieces:
        return Verdict(True)
    text = "".join(piece if piece.endswith("\n") else piece + "\n" for piece in pieces)
    # The whole module parsed with ast already; libcst reads what the fix wrote.
    return _libcst_parses(text)


def undefined_names(source: str, *, tree: ast.Module | None = None) -> set[str]:
    """Names loaded somewhere but bound nowhere in the module (nor builtins); ``tree``: its parse."""
    import builtins

    tree = tree if tree is not None else ast.parse(source)
    bound: set[str] = set(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__path__"}
    loaded: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else loaded).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".", 1)[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif (
            isinstance(node, ast.ExceptHandler)
            and node.name
            or isinstance(node, (ast.MatchAs, ast.MatchStar))
            and node.name
        ):
            bound.add(node.name)
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return set()  # a star import can bind anything
    return loaded - bound


def _written_lines(original: str, new: str) -> set[int]:
    """0-based lines of ``new`` that the fix inserted or replaced."""
    from recode_lsp.engine.line_diff import line_opcodes  # linear; difflib was quadratic here (issue 11)

    written: set[int] = set()
    for tag, _, _, start, end in line_opcodes(original.splitlines(), new.splitlines()):
        if tag != "equal":
            written.update(range(start, end))
    return written


def _module_bindings(source: str, tree: ast.Module | None = None) -> set[str]:
    names: set[str] = set()
    if not source:
        return names
    for statement in (tree if tree is not None else ast.parse(source)).body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".", 1)[0] for a in statement.names)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names


class Baseline:
    """The module before a fix: what the validator compares a fixed module with.

    Built once per analysed version (the language server keeps one per document version), so
    the names the module left undefined and the names it binds are computed once, not per fix.
    """

    def __init__(
        self,
        *,
        analysis: ModuleAnalysis,
        findings: Sequence[Finding],
        path: str = "<string>",
        module_name: str | None = None,
    ) -> None:
        self.analysis = analysis
        self.findings = list(findings)
        self.path = path
        self.module_name = module_name if module_name is not None else analysis.module_name
        self._undefined: set[str] | None = None
        self._bindings: set[str] | None = None

    @property
    def source(self) -> str:
        return self.analysis.source

    @property
    def undefined(self) -> set[str]:
        """Names the module loads and binds nowhere before any fix (not the fix's doing)."""
        if self._undefined is None:
            # The analysis's own tree: parsing the source again cost a parse per quick fix.
            self._undefined = undefined_names(self.source, tree=self.analysis.tree) if self.source else set()
        return self._undefined

    @property
    def bindings(self) -> set[str]:
        """Names bound by the module's top-level statements before any fix."""
        if self._bindings is None:
            self._bindings = _module_bindings(self.source, self.analysis.tree)
        return self._bindings


def check_names(*, baseline: Baseline, new_source: str, tree: ast.Module | None = None) -> Verdict:
    """The result binds no new builtin at module level and uses no name the module did not have.

    Shared by rule fixes (:func:`check_fix`) and model fixes (:mod:`recode_lsp.model_fix`);
    a reason reads after "the fix" or "the model's answer". ``tree``: ``new_source`` parsed,
    when the caller has it (a large module is then parsed once per validation).
    """
    import builtins

    if tree is None:
        tree = ast.parse(new_source)
    if baseline.source:
        added = _module_bindings(new_source, tree) - baseline.bindings
        if shadowed := {name for name in added if hasattr(builtins, name)}:
            return Verdict(False, f"would shadow the builtin(s) {', '.join(sorted(shadowed))}")
    # The module before the fix is walked only when the result leaves some name undefined
    # (rarely): a name undefined in neither is not the fix's doing either way.
    undefined = undefined_names(new_source, tree=tree)
    if undefined and (new_undefined := undefined - baseline.undefined):
        return Verdict(False, f"uses undefined name(s): {', '.join(sorted(new_undefined))}")
    return Verdict(True)


def introduced_names(findings: Sequence[Finding]) -> set[tuple[str, str]]:
    names: set[tuple[str, str]] = set()
    for finding in findings:
        change = finding.change
        if change.new and change.template is None:
            names.add((change.new, change.library))
        if change.template:
            names.update((q, change.library) for q in _QUALIFIED_IN_TEMPLATE.findall(change.template))
    return names


def check_fix(
    *,
    baseline: Baseline,
    fixed: Sequence[Finding],
    new_source: str,
    kb: KnowledgeBase,
    options: DetectOptions,
    name_exists: NameChecker | None = None,
    new_tree: ast.Module | None = None,
) -> Verdict:
    """Whether ``new_source`` is an acceptable result of fixing ``fixed`` in ``baseline``.

    The one validation of a rule fix: the CLI, the language server (on a whole module or an
    excerpt of it) and the data builder all reach it through :mod:`recode_lsp.engine.pipeline`.
    A passing verdict carries the analysis and findings of ``new_source``, where the next
    round of the pipeline starts. ``new_tree``: ``new_source`` parsed with :func:`ast.parse`,
    when the caller has it (:attr:`~recode_lsp.engine.fixer.FixOutcome.tree`); libcst still
    reads what the fix wrote.
    """
    original_source = baseline.source
    # The lines the fix wrote (a line diff: computed once, used twice).
    written = _written_lines(original_source, new_source) if original_source else None
    tree: ast.Module | None = None
    if original_source:
        # One ast parse of the result serves every check below (issue 11: a large module was
        # parsed five times per validation).
        verdict, tree = _parse_where_written(new_source, original_source, written, new_tree)
    else:
        verdict = parses(new_source)
    if not verdict.ok:
        return verdict
    try:
        # Detected as the baseline was (suppression comments move with their lines).
        if tree is not None:
            after_analysis = ModuleAnalysis(tree, new_source, baseline.module_name)
        else:
            after_analysis = analyse(new_source, baseline.path, baseline.module_name)
        after = detect(new_source, kb, options, baseline.path, baseline.module_name, analysis=after_analysis)
    except SourceError as exc:
        return Verdict(False, str(exc))
    except RecursionError:
        return Verdict(False, "the result is too deeply nested to analyse")
    names = check_names(baseline=baseline, new_source=new_source, tree=after_analysis.tree)
    if not names.ok:
        return Verdict(False, f"the fix {names.reason}")
    count_before = Counter(f.code for f in baseline.findings)
    count_fixed = Counter(f.code for f in fixed)
    count_after = Counter(f.code for f in after)
    for code, number in count_after.items():
        if code not in count_before:
            return Verdict(False, f"the fix introduces a new finding {code}")
        if number > count_before[code] - count_fixed.get(code, 0):
            return Verdict(False, f"{code} is still found after the fix")
    # Applying the fixes a second time must change nothing. A code whose every use was fixed
    # must not be fixable again in the lines the fix wrote; when only some uses were selected
    # (a quick fix), the others are not this fix's business.
    complete = {code for code, number in count_fixed.items() if number >= count_before[code]}
    again = [
        f
        for f in after
        if f.code in complete
        and f.fixable
        and (written is None or any(line in written for line in range(f.range.start.line, f.range.end.line + 1)))
    ]
    if again:
        second = fix_findings(after_analysis, again)
        if second.source != new_source:
            return Verdict(False, "applying the fix twice changes the code again")
    if name_exists is not None and (missing := missing_name(fixed, name_exists)) is not None:
        return Verdict(False, missing)
    return Verdict(True, analysis=after_analysis, findings=after)


def missing_name(fixed: Sequence[Finding], name_exists: NameChecker) -> str | None:
    """Why ``fixed`` is refused for a name it introduces that the target lacks (None: no such name).

    Part of :func:`check_fix`; it needs no source, so the pipeline also asks it per unit before
    looking for a failing unit by validating (issue 11).
    """
    for qname, library in sorted(introduced_names(fixed)):
        if name_exists(qname, library) is False:
            return f"`{qname}` does not exist in the target version of {library}"
    return None


def validate_fix(
    before: Sequence[Finding],
    fixed: Sequence[Finding],
    new_source: str,
    kb: KnowledgeBase,
    options: DetectOptions,
    path: str = "<string>",
    module_name: str | None = None,
    name_exists: NameChecker | None = None,
    original_source: str = "",
) -> Verdict:
    """:func:`check_fix` with the module before the fix given as text (the 0.1 signature).

    Without ``original_source`` nothing is known of the module before the fix: the whole result
    is parsed, and every undefined name counts as the fix's.
    """
    tree = ast.parse(original_source) if original_source else ast.Module(body=[], type_ignores=[])
    baseline = Baseline(
        analysis=ModuleAnalysis(tree, original_source, module_name),
        findings=before,
        path=path,
        module_name=module_name,
    )
    return check_fix(
        baseline=baseline, fixed=fixed, new_source=new_source, kb=kb, options=options, name_exists=name_exists
    )


def fix_and_validate(
    analysis: ModuleAnalysis,
    findings: Sequence[Finding],
    kb: KnowledgeBase,
    options: DetectOptions,
    unsafe: bool = False,
    path: str = "<string>",
    module_name: str | None = None,
    name_exists: NameChecker | None = None,
    selected: Sequence[Finding] | None = None,
) -> FixOutcome:
    """Fix the wanted findings (or ``selected``), keeping only what passes validation.

    A thin wrapper of :func:`recode_lsp.engine.pipeline.run_fix_pipeline` (the one fix
    pipeline, which the clients call) returning the fixer's :class:`FixOutcome`.
    """
    from recode_lsp.engine.pipeline import run_fix_pipeline

    result = run_fix_pipeline(
        analysis=analysis,
        findings=findings,
        kb=kb,
        options=options,
        unsafe=unsafe,
        selected=selected,
        name_exists=name_exists,
        path=path,
        module_name=module_name,
    )
    return result.outcome()
