"""Check a fix before anyone sees it (rule fixes here, model fixes later use the same checks).

A fixed module passes when:

* it parses, with libcst (the parser that preserves everything) and with :mod:`ast`;
* re-running the detector finds none of the fixed findings and nothing new;
* applying the same fixes again changes nothing;
* every name the fix introduces exists in the target version, where that can be checked.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recode_lsp.engine.analysis import ModuleAnalysis
from recode_lsp.engine.detector import SourceError, analyse, detect
from recode_lsp.engine.fixer import FixOutcome, expand_groups, fix_findings, wanted
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.model import Finding
from recode_lsp.engine.options import DetectOptions

#: ``(qualified name, library) -> True | False | None`` (None: cannot be checked).
NameChecker = Callable[[str, str], "bool | None"]

_QUALIFIED_IN_TEMPLATE = re.compile(r"\{q:([A-Za-z_][\w.]*)\}")


@dataclass
class Verdict:
    ok: bool
    reason: str = ""


def parses(source: str) -> Verdict:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return Verdict(False, f"does not parse: {exc.msg} (line {exc.lineno})")
    import libcst

    try:
        libcst.parse_module(source)
    except libcst.ParserSyntaxError as exc:
        return Verdict(False, f"libcst cannot parse the result: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - libcst raises a few other errors on odd input
        return Verdict(False, f"libcst cannot parse the result: {exc}")
    return Verdict(True)


def parses_where_written(new_source: str, original_source: str) -> Verdict:
    """Like :func:`parses`, with libcst reading only the top-level statements the fix wrote.

    The whole module is still parsed with :mod:`ast`; libcst (the slow, exact parser) sees
    the statements that contain a changed line, which is where a fix can break it.
    """
    try:
        tree = ast.parse(new_source)
    except SyntaxError as exc:
        return Verdict(False, f"does not parse: {exc.msg} (line {exc.lineno})")
    written = _written_lines(original_source, new_source)
    if not written:
        return Verdict(True)
    lines = new_source.splitlines(keepends=True)
    pieces = []
    for statement in tree.body:
        first, last = statement.lineno - 1, (statement.end_lineno or statement.lineno) - 1
        if any(first <= line <= last for line in written):
            pieces.append("".join(lines[first : last + 1]))
    if not pieces:
        return Verdict(True)
    text = "".join(piece if piece.endswith("\n") else piece + "\n" for piece in pieces)
    return parses(text)


def undefined_names(source: str) -> set[str]:
    """Names loaded somewhere but bound nowhere in the module (nor builtins)."""
    import builtins

    tree = ast.parse(source)
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
    import difflib

    matcher = difflib.SequenceMatcher(None, original.splitlines(), new.splitlines(), autojunk=False)
    written: set[int] = set()
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag != "equal":
            written.update(range(start, end))
    return written


def _module_bindings(source: str) -> set[str]:
    names: set[str] = set()
    if not source:
        return names
    for statement in ast.parse(source).body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".", 1)[0] for a in statement.names)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names


def _new_builtin_shadows(original_source: str, new_source: str) -> set[str]:
    """Builtins that the fix binds at module level and the original did not (``from numpy import all``)."""
    import builtins

    if not original_source:
        return set()
    added = _module_bindings(new_source) - _module_bindings(original_source)
    return {name for name in added if hasattr(builtins, name)}


def introduced_names(findings: Sequence[Finding]) -> set[tuple[str, str]]:
    names: set[tuple[str, str]] = set()
    for finding in findings:
        change = finding.change
        if change.new and change.template is None:
            names.add((change.new, change.library))
        if change.template:
            names.update((q, change.library) for q in _QUALIFIED_IN_TEMPLATE.findall(change.template))
    return names


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
    """Whether ``new_source`` is an acceptable result of fixing ``fixed`` out of ``before``."""
    verdict = parses_where_written(new_source, original_source) if original_source else parses(new_source)
    if not verdict.ok:
        return verdict
    try:
        # Detected as ``before`` was (suppression comments move with their lines).
        after = detect(new_source, kb, options, path, module_name)
    except SourceError as exc:
        return Verdict(False, str(exc))
    if shadowed := _new_builtin_shadows(original_source, new_source):
        return Verdict(False, f"the fix would shadow the builtin(s) {', '.join(sorted(shadowed))}")
    if new_undefined := undefined_names(new_source) - undefined_names(original_source):
        return Verdict(False, f"the fix uses undefined name(s): {', '.join(sorted(new_undefined))}")
    count_before = Counter(f.code for f in before)
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
    written = _written_lines(original_source, new_source) if original_source else None
    again = [
        f
        for f in after
        if f.code in complete
        and f.fixable
        and (written is None or any(line in written for line in range(f.range.start.line, f.range.end.line + 1)))
    ]
    if again:
        second = fix_findings(analyse(new_source, path, module_name), again)
        if second.source != new_source:
            return Verdict(False, "applying the fix twice changes the code again")
    if name_exists is not None:
        for qname, library in sorted(introduced_names(fixed)):
            if name_exists(qname, library) is False:
                return Verdict(False, f"`{qname}` does not exist in the target version of {library}")
    return Verdict(True)


def _units(findings: Sequence[Finding]) -> list[list[Finding]]:
    """Findings that are fixed together: a group, or one finding alone."""
    units: dict[str, list[Finding]] = {}
    for index, finding in enumerate(findings):
        key = finding.group or f"#{index}"
        units.setdefault(key, []).append(finding)
    return list(units.values())


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
    """Fix the wanted findings (or ``selected``), keeping only what passes validation."""
    chosen = [f for f in (selected if selected is not None else findings) if wanted(f, unsafe)]
    chosen = expand_groups(chosen, findings)
    # A group is fixed whole or not at all.
    blocked = {f.group for f in chosen if f.group and not wanted(f, unsafe)}
    chosen = [f for f in chosen if f.group not in blocked]
    if not chosen:
        return FixOutcome(analysis.source)
    outcome = fix_findings(analysis, chosen)
    if not outcome.applied:
        return outcome
    verdict = validate_fix(
        findings, outcome.applied, outcome.source, kb, options, path, module_name, name_exists, analysis.source
    )
    if verdict.ok:
        return outcome
    # Something in the batch is wrong: keep the units that pass alone, then re-check together.
    passing: list[Finding] = []
    rejected: list[tuple[Finding, str]] = list(outcome.skipped)
    for unit in _units(outcome.applied):
        single = fix_findings(analysis, unit)
        if not single.applied:
            rejected.extend(single.skipped)
            continue
        alone = validate_fix(
            findings, single.applied, single.source, kb, options, path, module_name, name_exists, analysis.source
        )
        if alone.ok:
            passing.extend(unit)
        else:
            rejected.extend((f, f"fix rejected by the validator: {alone.reason}") for f in unit)
    if passing:
        combined = fix_findings(analysis, passing)
        verdict = validate_fix(
            findings, combined.applied, combined.source, kb, options, path, module_name, name_exists
        )
        if verdict.ok:
            combined.skipped = rejected + combined.skipped
            return combined
        first = _units(passing)[0]
        single = fix_findings(analysis, first)
        rest = [f for f in passing if f not in first]
        rejected.extend((f, "conflicts with another fix; run again to fix it") for f in rest)
        single.skipped = rejected + single.skipped
        return single
    return FixOutcome(analysis.source, [], rejected)
