"""The one fix pipeline: select -> fix -> validate -> split into units, to a fixed point.

Every client fixes through :func:`run_fix_pipeline`: the CLI (``recode-migrate --diff`` /
``--apply``, in :func:`recode_lsp.cli.runner.process_file`), the language server
(:class:`recode_lsp.engine.document.DocumentAnalysis`, on the whole module or an excerpt of
it) and the training-set builder (:mod:`model_training.data.build`). They may analyse
different text (the language server an excerpt), never validate differently: the validation is
:func:`recode_lsp.engine.validator.check_fix`, against the module before the fix.

One round:

1. **select**: the wanted findings (safe ones; unsafe ones too with ``unsafe``) of
   ``selected`` or of every finding, with the other members of their groups (an import and
   its uses are fixed together, or not at all);
2. **fix**: :func:`recode_lsp.engine.fixer.fix_findings` (a fix that overlaps an earlier one
   is left for a later round);
3. **validate** the whole batch;
4. **split into units** when it fails: the units (a group, or one finding) are halved until
   the failing ones are found, each half validated with the units kept so far (a few
   whole-module validations per failing unit, not one per unit: issue 11). A unit that fails
   alone is dropped with its reason; one that passes alone but not with the kept units waits
   for the next round ("conflicts with another fix"). What is kept was validated together.

Rounds repeat on the fixed module, re-detected, until nothing changes (a fixed point), at most
:data:`MAX_ROUNDS` times: ``from typing import AbstractSet, Set`` needs two (``Set`` must be
gone before ``AbstractSet`` can become ``collections.abc.Set``), a fix inside a pydantic
``class Config`` another after the class is rewritten. Each round is validated against the
module it started from. A finding the validator rejected is not tried again while its text is
unchanged. A ``selected`` fix (a quick fix, the builder's one change) is one round unless
asked otherwise: it does what was asked.

Findings fixed or skipped in a later round are reported at their place in the *original*
module (a place inside text an earlier round rewrote is reported at the start of that text).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from recode_lsp.engine.analysis import LineIndex, ModuleAnalysis
from recode_lsp.engine.fixer import FixOutcome, expand_groups, fix_findings, wanted
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.model import Finding, Position, Range, TextEdit
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.validator import Baseline, NameChecker, Verdict, check_fix, missing_name

__all__ = ["MAX_ROUNDS", "PipelineResult", "Skipped", "run_fix_pipeline"]

#: Rounds of fix-all before the pipeline stops and reports what is left ("run again").
MAX_ROUNDS = 5

#: The reason given to a selected finding whose fix is not enabled (display-only, or unsafe
#: without ``unsafe``).
NOT_ENABLED = "its fix is not enabled"


class Skipped(NamedTuple):
    """A finding that was asked for and not fixed, and why (unpacks as ``finding, reason``)."""

    finding: Finding
    reason: str


@dataclass
class PipelineResult:
    """The fixed module and what happened to every finding that was asked for."""

    #: The module before any fix.
    original: str
    #: The module after every validated round (``original`` when nothing was fixed).
    source: str
    #: Findings fixed, in every round, at their place in ``original``.
    applied: list[Finding] = field(default_factory=list)
    #: Findings asked for and not fixed, with the reason, at their place in ``original``.
    skipped: list[Skipped] = field(default_factory=list)
    #: Rounds that ran (a round that fixed nothing included).
    rounds: int = 0

    @property
    def changed(self) -> bool:
        return self.source != self.original

    def outcome(self) -> FixOutcome:
        """The result as the fixer's :class:`FixOutcome` (for callers of ``fix_and_validate``)."""
        return FixOutcome(self.source, list(self.applied), [(s.finding, s.reason) for s in self.skipped])


def run_fix_pipeline(
    *,
    analysis: ModuleAnalysis,
    findings: Sequence[Finding],
    kb: KnowledgeBase,
    options: DetectOptions,
    unsafe: bool = False,
    selected: Sequence[Finding] | None = None,
    name_exists: NameChecker | None = None,
    cancel: Callable[[], None] | None = None,
    path: str = "<string>",
    module_name: str | None = None,
    max_rounds: int | None = None,
    baseline: Baseline | None = None,
) -> PipelineResult:
    """Fix ``selected`` (None: every wanted finding of ``findings``), keeping what validates.

    ``analysis`` and ``findings`` are the module's (``findings`` detected with ``options``);
    ``cancel`` is called between steps and may raise to stop the work; ``max_rounds`` defaults
    to :data:`MAX_ROUNDS` for fix-all and 1 for a selection; ``baseline`` is the validator's
    view of ``analysis`` when the caller keeps one (it caches per-module work).
    """
    check = cancel or _never
    module_name = module_name if module_name is not None else analysis.module_name
    rounds_allowed = max_rounds if max_rounds is not None else (MAX_ROUNDS if selected is None else 1)
    original = analysis.source
    result = PipelineResult(original, original)
    if baseline is None or baseline.analysis is not analysis:
        baseline = Baseline(analysis=analysis, findings=findings, path=path, module_name=module_name)
    codes = None if selected is None else {f.code for f in selected}
    back = _BackMap(original)
    #: Findings the validator rejected, by (code, start, end) in the current module.
    rejected: dict[tuple[str, int, int], str] = {}
    #: Findings skipped so far, by the same key, with their place in ``original``.
    pending: dict[tuple[str, int, int], Skipped] = {}
    current, current_findings = analysis, list(findings)
    first = True
    #: The last round's change, mapped into the keys above only when another round needs them
    #: (most files reach the fixed point in one round, and then nothing is mapped).
    unmapped: tuple[str, str] | None = None
    while True:
        if first and selected is not None:
            asked: Sequence[Finding] = selected
        else:
            asked = [f for f in current_findings if codes is None or f.code in codes]
        chosen, not_enabled = _select(asked, current_findings, unsafe)
        if first and selected is not None:
            for finding in not_enabled:
                pending[_key(finding)] = Skipped(finding, NOT_ENABLED)
        first = False
        if not chosen:
            break
        if unmapped is not None:
            edits = _edits(*unmapped)
            back.push(edits)
            rejected = {moved: why for key, why in rejected.items() if (moved := _moved(key, edits)) is not None}
            pending = {moved: skip for key, skip in pending.items() if (moved := _moved(key, edits)) is not None}
            unmapped = None
        chosen = [f for f in chosen if _key(f) not in rejected]
        if not chosen:
            break
        if result.rounds >= rounds_allowed:
            if rounds_allowed > 1:
                # Still fixable after every round: say so rather than leave it unmentioned.
                for finding in chosen:
                    pending[_key(finding)] = Skipped(back.finding(finding), "still fixable; run again to fix it")
            break
        result.rounds += 1
        check()
        step = _round(baseline, chosen, kb, options, name_exists, check)
        for finding, reason in step.skipped:
            pending[_key(finding)] = Skipped(back.finding(finding), reason)
        for finding in step.applied:
            pending.pop(_key(finding), None)
        new_rejections = {_key(f): reason for f, reason in step.rejected if _key(f) not in rejected}
        rejected.update(new_rejections)
        if step.source == current.source or step.verdict_analysis is None or step.verdict_findings is None:
            if not new_rejections:
                break  # a fixed point: nothing changed and nothing new to leave out
            continue  # the same module without the rejected fixes (they may have blocked others)
        result.applied.extend(back.finding(f) for f in step.applied)
        unmapped = (current.source, step.source)
        current, current_findings = step.verdict_analysis, step.verdict_findings
        result.source = current.source
        baseline = Baseline(analysis=current, findings=current_findings, path=path, module_name=module_name)
    result.skipped = sorted(pending.values(), key=lambda s: s.finding.sort_key())
    return result


# --- one round -------------------------------------------------------------------------------


@dataclass
class _Round:
    source: str
    applied: list[Finding]
    #: Not fixed by the fixer (overlaps, no mechanical fix here) or by the validator.
    skipped: list[tuple[Finding, str]]
    #: The subset of ``skipped`` that the validator rejected (not tried again while unchanged).
    rejected: list[tuple[Finding, str]]
    verdict_analysis: ModuleAnalysis | None = None
    verdict_findings: list[Finding] | None = None


def _round(
    baseline: Baseline,
    chosen: Sequence[Finding],
    kb: KnowledgeBase,
    options: DetectOptions,
    name_exists: NameChecker | None,
    check: Callable[[], None],
) -> _Round:
    """Fix ``chosen`` in ``baseline``'s module once: fix, validate, split into units."""
    analysis = baseline.analysis

    def validate(outcome: FixOutcome) -> Verdict:
        check()
        return check_fix(
            baseline=baseline,
            fixed=outcome.applied,
            new_source=outcome.source,
            kb=kb,
            options=options,
            name_exists=name_exists,
            new_tree=outcome.tree,
        )

    outcome = fix_findings(analysis, chosen)
    if not outcome.applied:
        return _Round(analysis.source, [], list(outcome.skipped), [])
    verdict = validate(outcome)
    if verdict.ok:
        return _Round(outcome.source, outcome.applied, list(outcome.skipped), [], verdict.analysis, verdict.findings)
    # Something in the batch is wrong: find it by halving (validating each unit alone was one
    # whole-module validation per unit, quadratic on finding-dense modules: issue 11).
    skipped: list[tuple[Finding, str]] = list(outcome.skipped)
    rejected: list[tuple[Finding, str]] = []
    units = _units(outcome.applied)
    kept: list[int] = []  # indexes into ``units``, validated together
    best: tuple[FixOutcome, Verdict] | None = None

    def fix(indexes: Iterable[int]) -> FixOutcome:
        # In the batch's order: the fixer resolves overlaps by order.
        return fix_findings(analysis, [f for index in sorted(indexes) for f in units[index]])

    def leave_out(index: int, failed: Verdict) -> None:
        unit = units[index]
        if kept:
            # It failed with the kept units; alone it may pass (then it waits for the next round).
            check()
            single = fix([index])
            if not single.applied:
                skipped.extend(single.skipped)
                return
            alone = validate(single)
            if alone.ok:
                skipped.extend((f, "conflicts with another fix; run again to fix it") for f in unit)
                return
            failed = alone
        reasons = [(f, f"fix rejected by the validator: {failed.reason}") for f in unit]
        skipped.extend(reasons)
        rejected.extend(reasons)

    def settle(indexes: list[int], failed: Verdict | None = None) -> None:
        """Keep the units of ``indexes`` that validate with those kept so far."""
        nonlocal best
        if failed is None:
            check()
            trial = fix([*kept, *indexes])
            failed = validate(trial)
            if failed.ok:
                kept.extend(indexes)
                best = (trial, failed)
                return
        if len(indexes) == 1:
            leave_out(indexes[0], failed)
            return
        middle = len(indexes) // 2
        settle(indexes[:middle])
        settle(indexes[middle:])

    candidates = list(range(len(units)))
    #: The batch's failure, while it is known to hold for ``candidates``.
    known: Verdict | None = verdict
    if name_exists is not None:
        # A name the target lacks fails a unit wherever it is: no validation needed to find it.
        missing = {index: why for index in candidates if (why := missing_name(units[index], name_exists)) is not None}
        for index, why in missing.items():
            reasons = [(f, f"fix rejected by the validator: {why}") for f in units[index]]
            skipped.extend(reasons)
            rejected.extend(reasons)
        if missing:
            candidates = [index for index in candidates if index not in missing]
            known = None  # the rest has not been validated without them
    if candidates:
        # Halve what is known to fail; validate first what is not.
        settle(candidates, known)
    if best is None:
        return _Round(analysis.source, [], skipped, rejected)
    combined, verdict = best
    skipped.extend(combined.skipped)
    return _Round(combined.source, combined.applied, skipped, rejected, verdict.analysis, verdict.findings)


def _units(findings: Sequence[Finding]) -> list[list[Finding]]:
    """Findings that are fixed together: a group, or one finding alone."""
    units: dict[str, list[Finding]] = {}
    for index, finding in enumerate(findings):
        units.setdefault(finding.group or f"#{index}", []).append(finding)
    return list(units.values())


def _select(asked: Sequence[Finding], every: Sequence[Finding], unsafe: bool) -> tuple[list[Finding], list[Finding]]:
    """The wanted findings of ``asked`` with their groups, and the asked ones left out."""
    chosen = expand_groups([f for f in asked if wanted(f, unsafe)], every)
    # A group is fixed whole or not at all.
    blocked = {f.group for f in chosen if f.group and not wanted(f, unsafe)}
    chosen = [f for f in chosen if f.group not in blocked]
    taken = {id(f) for f in chosen}
    left_out = [f for f in asked if id(f) not in taken]
    return chosen, left_out


def _never() -> None:
    return None


# --- positions across rounds ----------------------------------------------------------------


def _key(finding: Finding) -> tuple[str, int, int]:
    return (finding.code, finding.start_offset, finding.end_offset)


def _edits(old: str, new: str) -> list[TextEdit]:
    """Edits (sorted, offsets into ``old``) from ``old`` to ``new``, as fine as lines allow.

    Fine, because a finding whose span an edit touches is forgotten (its text changed): the
    hunks of :func:`recode_lsp.engine.edits.diff_edits` span unchanged text between changed
    lines, which lost the skipped findings there (issue 11), and its difflib line match was
    quadratic on large modules. Here a changed line is compared with its counterpart
    character by character.
    """
    import difflib

    from recode_lsp.engine.edits import trim_edit
    from recode_lsp.engine.line_diff import line_opcodes

    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    edits: list[TextEdit] = []
    for tag, i1, i2, j1, j2 in line_opcodes(a, b):
        if tag == "equal":
            continue
        if i2 - i1 != j2 - j1:
            edits.append(trim_edit(old, starts[i1], starts[i2], "".join(b[j1:j2])))
            continue
        for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
            before, after = a[i], b[j]
            if before == after:
                continue
            if len(before) + len(after) > _CHAR_DIFF_LIMIT:
                edits.append(trim_edit(old, starts[i], starts[i + 1], after))
                continue
            matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
            for op, k1, k2, l1, l2 in matcher.get_opcodes():
                if op != "equal":
                    edits.append(TextEdit(starts[i] + k1, starts[i] + k2, after[l1:l2]))
    return edits


#: Longer changed lines are one trimmed edit (difflib is quadratic in a line's length).
_CHAR_DIFF_LIMIT = 2_000


def _moved(key: tuple[str, int, int], edits: Sequence[TextEdit]) -> tuple[str, int, int] | None:
    """``key`` in the text after ``edits``; None when an edit touched its span (its text changed)."""
    code, start, end = key
    shift = 0
    for edit in edits:
        if edit.end <= start and not (edit.start == edit.end == start):
            shift += len(edit.text) - (edit.end - edit.start)
        elif edit.start >= end and not (edit.start == edit.end == end):
            break
        else:
            return None
    return (code, start + shift, end + shift)


class _BackMap:
    """Maps offsets of a later round's module back to the original module."""

    def __init__(self, original: str) -> None:
        self._lines = LineIndex(original)
        #: Edits of each round, newest last (offsets into the module the round started from).
        self._rounds: list[list[TextEdit]] = []

    def push(self, edits: Iterable[TextEdit]) -> None:
        self._rounds.append(sorted(edits, key=lambda e: e.start))

    def finding(self, finding: Finding) -> Finding:
        """``finding`` (of the current module) at its place in the original module."""
        if not self._rounds:
            return finding
        start, end = finding.start_offset, finding.end_offset
        for edits in reversed(self._rounds):
            start, end = _back(start, edits, at_end=False), _back(end, edits, at_end=True)
        end = max(start, end)
        first, last = self._lines.position(start), self._lines.position(end)
        return dataclasses.replace(
            finding,
            range=Range(Position(*first), Position(*last)),
            start_offset=start,
            end_offset=end,
        )


def _back(offset: int, edits: Sequence[TextEdit], *, at_end: bool) -> int:
    """An offset after ``edits`` as an offset before them (inside an edit: its start or end)."""
    shift = 0
    for edit in edits:
        new_start = edit.start + shift
        new_end = new_start + len(edit.text)
        if offset <= new_start:
            break
        if offset < new_end:
            return edit.end if at_end else edit.start
        shift += len(edit.text) - (edit.end - edit.start)
    return offset - shift
