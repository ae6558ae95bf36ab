"""``recode-migrate --apply --test CMD``: keep only the fixes the project's own tests accept.

The user names a test command (``--test "python -m pytest -q"``); it is the user's own program,
run at their explicit request in the project root (the folder with ``pyproject.toml`` or
``.git`` above the first path), through the shell, as they would type it. Nothing of the
analysed tree runs otherwise.

1. The command runs once before any fix: it must pass, else nothing is written.
2. The fixes (each finding whose fix the pipeline keeps, with the members of its group) are
   applied in batches of ``--test-batch-size`` and the command runs after each batch.
3. A failing batch is bisected: its halves are tried on top of what was kept so far, down to
   the single fixes that make the command fail. Those are reverted, the rest are kept, and the
   failing output is kept to say why.

Every state the files are left in passed the command (or is the original), even when the time
budget (``--test-budget``) runs out or Ctrl-C stops the run: the files go back to the last
state that passed. Each write goes through :func:`recode_lsp.cli.writes.write_checked` (the
content-hash re-check, no symlink followed out of the project), re-checked against the bytes
this module wrote last. A fix of a file is re-made by the one fix pipeline with the chosen
findings selected (one round: a fix that only a second round makes is left for another run).
The command runs with ``PYTHONDONTWRITEBYTECODE=1``, so a stale ``.pyc`` of a file rewritten
within the same second cannot hide a change.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from recode_lsp.cli.runner import FileResult, Record, RunSettings
from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.digest import digest as content_digest
from recode_lsp.engine.knowledge import KnowledgeBase

if TYPE_CHECKING:
    from recode_lsp.cli.model_fixes import ModelEdit, ModelSettings
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.model import Finding
    from recode_lsp.engine.pipeline import PipelineResult

__all__ = ["DEFAULT_BATCH_SIZE", "GateOutcome", "TestGate", "TestRun", "run_command"]

DEFAULT_BATCH_SIZE = 20
DEFAULT_TIMEOUT = 600.0
DEFAULT_BUDGET = 3600.0
#: Lines and characters of a failing run's output kept as the reason for a revert.
EXCERPT_LINES = 20
EXCERPT_CHARS = 2000


@dataclass(frozen=True)
class TestRun:
    """One run of the test command."""

    passed: bool
    #: The exit status; None when the run was stopped at ``--test-timeout``.
    returncode: int | None
    seconds: float
    #: stdout and stderr together.
    output: str

    def status(self, timeout: float) -> str:
        if self.returncode is None:
            return f"timed out after {timeout:g} s"
        return f"exit {self.returncode}"

    def excerpt(self) -> str:
        """The end of the output (where test runners print their failures and summary)."""
        lines = self.output.rstrip().splitlines()[-EXCERPT_LINES:]
        text = "\n".join(lines)
        return text[-EXCERPT_CHARS:]


def run_command(command: str, cwd: Path, timeout: float) -> TestRun:
    """Run the user's ``command`` through the shell in ``cwd``; stop it (and its children) at ``timeout``."""
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen(
        command,
        shell=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: a timeout stops the children too
    )
    try:
        data, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        data, _ = process.communicate()
        return TestRun(False, None, time.monotonic() - started, data.decode("utf-8", "replace"))
    except BaseException:
        _stop(process)
        process.wait()
        raise
    output = data.decode("utf-8", "replace")
    return TestRun(process.returncode == 0, process.returncode, time.monotonic() - started, output)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group this module started for ``process`` (by its id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Fix:
    """One fix: a finding of one file whose fix the pipeline (or the model) makes."""

    file: GatedFile | ModelGatedFile
    index: int

    @property
    def record(self) -> Record:
        unit = self.file.units[self.index]
        return unit if isinstance(unit, Record) else Record.of(unit)


def _key(record: Record) -> tuple[str, int, int, int, int]:
    return (record.code, record.line, record.column, record.end_line, record.end_column)


class _Gated:
    """What the gate does with any file of fixes: identity, and writing a subset of its fixes to disk."""

    path: str
    on_disk: frozenset[int]
    disk_digest: str

    def __hash__(self) -> int:
        return id(self)

    def bytes_for(self, chosen: frozenset[int]) -> bytes:
        raise NotImplementedError

    def write(self, chosen: frozenset[int]) -> None:
        """Put the file with ``chosen`` on disk (a checked, atomic write); raises ``WriteRefused`` / ``OSError``."""
        from recode_lsp.cli.writes import write_checked

        if chosen == self.on_disk:
            return
        data = self.bytes_for(chosen)
        write_checked(self.path, data, expected_digest=self.disk_digest)
        self.disk_digest = content_digest(data)
        self.on_disk = chosen


class GatedFile(_Gated):
    """A file whose fixes are applied in any subset, through the one fix pipeline."""

    def __init__(self, result: FileResult, data: bytes, kb: KnowledgeBase, settings: RunSettings) -> None:
        from recode_lsp.cli.files import decode_source
        from recode_lsp.engine.detector import analyse, detect

        self.result = result
        self.path = result.path
        self.data = data
        self.kb = kb
        self.settings = settings
        self.source = decode_source(data)
        self.analysis: ModuleAnalysis = analyse(self.source.text, self.path)
        self.findings = detect(self.source.text, kb, settings.options, self.path, analysis=self.analysis)
        self.names: object = None
        if settings.installed:
            from recode_lsp.engine.names import InstalledNames

            self.names = InstalledNames(settings.options.targets, settings.installed)
        enabled = [
            finding
            for finding in self.findings
            if finding.safety is FixSafety.SAFE or (settings.unsafe and finding.safety is FixSafety.UNSAFE)
        ]
        outcome = self._pipeline(enabled)
        applied = {_key(Record.of(finding)) for finding in outcome.applied}
        #: The findings fixed one at a time (in source order), each a fix the gate may keep or revert.
        self.units: list[Finding] = [finding for finding in enabled if _key(Record.of(finding)) in applied]
        self.on_disk: frozenset[int] = frozenset()
        self.disk_digest = content_digest(data)
        self._made: dict[frozenset[int], bytes] = {frozenset(): data}

    def _pipeline(self, selected: Sequence[Finding]) -> PipelineResult:
        from recode_lsp.engine.pipeline import run_fix_pipeline

        return run_fix_pipeline(
            analysis=self.analysis,
            findings=self.findings,
            kb=self.kb,
            options=self.settings.options,
            unsafe=self.settings.unsafe,
            selected=selected,
            max_rounds=1,
            path=self.path,
            name_exists=self.names if callable(self.names) else None,
        )

    def bytes_for(self, chosen: frozenset[int]) -> bytes:
        """The file with the fixes ``chosen`` (indexes into :attr:`units`) and no other."""
        made = self._made.get(chosen)
        if made is None:
            outcome = self._pipeline([self.units[index] for index in sorted(chosen)])
            made = self._made[chosen] = self.source.encode(outcome.source) if outcome.applied else self.data
        return made


class ModelGatedFile(_Gated):
    """A file's model fixes, on the text the gated rule fixes left; any subset applies.

    Each fix is a validated edit of that text (:func:`recode_lsp.cli.model_fixes.propose_for_text`
    with ``disjoint``); the gate keeps or reverts each one as it does a rule fix.
    """

    def __init__(self, result: FileResult, data: bytes, edits: Sequence[ModelEdit]) -> None:
        from recode_lsp.cli.files import decode_source

        self.result = result
        self.path = result.path
        self.data = data
        self.source = decode_source(data)
        self.edits = list(edits)
        #: The records of the findings the model fixed, one per edit (what the reports name).
        self.units: list[Record] = [edit.record for edit in self.edits]
        self.on_disk: frozenset[int] = frozenset()
        self.disk_digest = content_digest(data)
        self._made: dict[frozenset[int], bytes] = {frozenset(): data}

    def bytes_for(self, chosen: frozenset[int]) -> bytes:
        made = self._made.get(chosen)
        if made is None:
            text = self.source.text
            for index in sorted(chosen, reverse=True):  # from the end: earlier offsets stay valid
                edit = self.edits[index]
                text = text[: edit.start] + edit.text + text[edit.end :]
            made = self._made[chosen] = self.source.encode(text)
        return made


@dataclass
class GateOutcome:
    """What the test gate kept, reverted and left, and how many runs it took."""

    baseline: TestRun | None = None
    kept: list[Fix] = field(default_factory=list)
    #: Fixes the command fails with (each alone on top of the kept ones), with that run.
    reverted: list[tuple[Fix, TestRun]] = field(default_factory=list)
    #: Fixes not tried (the budget ran out, the run was stopped), with the reason.
    untried: list[tuple[Fix, str]] = field(default_factory=list)
    runs: int = 0
    seconds: float = 0.0
    #: Why the gate stopped early (None: every fix was tried).
    stopped: str | None = None
    #: The files were left in a state the command did not pass (a write failed while restoring).
    broken: bool = False


class _BudgetSpent(Exception):
    pass


class _Aborted(Exception):
    pass


class TestGate:
    """Apply fixes in batches, run the command after each, bisect failures, keep what passes."""

    def __init__(
        self,
        command: str,
        root: Path,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        budget: float = DEFAULT_BUDGET,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: TextIO | None = None,
    ) -> None:
        self.command = command
        self.root = root
        self.timeout = timeout
        self.budget = budget
        self.batch_size = batch_size
        self.started = time.monotonic()
        self.outcome = GateOutcome()
        self.green: set[Fix] = set()
        self.total = 0
        self.stream = progress if progress is not None and progress.isatty() and not os.environ.get("CI") else None
        self.shown = False
        self.files: list[GatedFile | ModelGatedFile] = []

    # -- running the command -------------------------------------------------------------

    def baseline(self) -> TestRun:
        """The command before any fix (it must pass for the gate to go on)."""
        self._progress("running the tests before any fix")
        run = run_command(self.command, self.root, self.timeout)
        self.outcome.baseline = run
        self.outcome.runs += 1
        self._clear()
        return run

    def _test(self) -> TestRun:
        left = self.budget - (time.monotonic() - self.started)
        if left <= 0:
            raise _BudgetSpent
        self._progress("testing")
        limit = min(self.timeout, max(left, 1.0))
        run = run_command(self.command, self.root, limit)
        self.outcome.runs += 1
        if run.returncode is None and limit < self.timeout:
            raise _BudgetSpent  # stopped by the budget, not by --test-timeout: it says nothing of the fixes
        return run

    # -- the gate ---------------------------------------------------------------------------

    def run(self, files: Iterable[GatedFile | ModelGatedFile]) -> GateOutcome:
        """Gate the fixes of ``files`` on top of what an earlier call kept (the rule fixes, when
        this call gates the model's)."""
        earlier = list(self.outcome.kept)
        self.files = [file for file in files if file.units]
        fixes = [Fix(file, index) for file in self.files for index in range(len(file.units))]
        self.total = len(fixes)
        batches = [fixes[start : start + self.batch_size] for start in range(0, len(fixes), self.batch_size)]
        done = 0
        try:
            for number, batch in enumerate(batches, 1):
                self.batch = f"batch {number}/{len(batches)}"
                self.green = self._gate(batch, set(self.green))
                done += len(batch)
        except _BudgetSpent:
            self.outcome.stopped = f"the test budget of {self.budget:g} s was spent"
        except KeyboardInterrupt:
            self.outcome.stopped = "interrupted"
        except _Aborted as exc:
            self.outcome.stopped = str(exc)
        if self.outcome.stopped is not None:
            try:
                self._apply(self.green)  # back to the last state the command passed
            except _Aborted as exc:
                self.outcome.stopped += f"; restoring the last passing state failed: {exc}"
                self.outcome.broken = True
            reverted = {fix for fix, _ in self.outcome.reverted}
            self.outcome.untried = [
                (fix, f"not tried: {self.outcome.stopped}")
                for fix in fixes
                if fix not in self.green and fix not in reverted
            ]
        self.outcome.kept = earlier + [fix for fix in fixes if fix in self.green]
        self.outcome.seconds = time.monotonic() - self.started
        self._clear()
        return self.outcome

    def _gate(self, batch: list[Fix], base: set[Fix]) -> set[Fix]:
        """Try ``batch`` on top of ``base`` (which passed); returns the largest set found to pass.

        On return the files hold that set and it passed (or it is ``base``).
        """
        chosen = base | set(batch)
        self._apply(chosen)
        run = self._test()
        if run.passed:
            self.green = chosen
            return chosen
        if len(batch) == 1:
            self.outcome.reverted.append((batch[0], run))
            self._apply(base)
            return base
        middle = len(batch) // 2
        base = self._gate(batch[:middle], base)
        self.green = base
        return self._gate(batch[middle:], base)

    def _apply(self, chosen: set[Fix]) -> None:
        from recode_lsp.cli.writes import WriteRefused

        wanted: dict[int, set[int]] = {}
        for fix in chosen:
            wanted.setdefault(id(fix.file), set()).add(fix.index)
        problems: list[str] = []
        for file in self.files:  # every file, even after a failure: the others still get their state
            try:
                file.write(frozenset(wanted.get(id(file), ())))
            except WriteRefused as exc:
                problems.append(f"{file.path}: not written: {exc}")
            except OSError as exc:
                problems.append(f"{file.path}: cannot write: {exc.strerror or exc}")
        if problems:
            raise _Aborted("; ".join(problems))

    # -- progress ---------------------------------------------------------------------------

    def _progress(self, doing: str) -> None:
        if self.stream is None:
            return
        elapsed = time.monotonic() - self.started
        kept = len(self.green)
        reverted = len(self.outcome.reverted)
        where = getattr(self, "batch", "")
        line = (
            f"\r\033[K[test gate] run {self.outcome.runs + 1}: {doing}"
            + (f", {where}" if where and self.total else "")
            + (f", {kept} of {self.total} fixes kept, {reverted} reverted" if self.total else "")
            + f" ({elapsed:.0f} s of {self.budget:g} s)"
        )
        self.stream.write(line)
        self.stream.flush()
        self.shown = True

    def _clear(self) -> None:
        if self.stream is not None and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def gated_files(results: Sequence[FileResult], kb: KnowledgeBase, settings: RunSettings) -> list[GatedFile]:
    """The files with fixes, read again and checked against the bytes the run read.

    A file changed since it was read (or a second path to a file already listed, through a
    symlink) is left out, and its result says why.
    """
    from recode_lsp.cli.writes import WriteRefused, write_target

    files: list[GatedFile] = []
    seen: set[str] = set()
    for result in results:
        if result.new_bytes is None:
            continue
        reason = None
        try:
            write_target(result.path)  # a symlink out of the project is refused here already
            real = os.path.realpath(result.path)
            data = Path(result.path).read_bytes()
            if real in seen:
                reason = "another path to the same file is fixed already"
            elif content_digest(data) != result.read_digest:
                reason = "changed since it was read; not overwritten (run again to fix it)"
        except WriteRefused as exc:
            reason = str(exc)
        except OSError as exc:
            reason = f"cannot read it again: {exc.strerror or exc}"
        if reason is not None:
            _not_fixed(result, result.fixed, f"not written: {reason}")
            result.fixed = []
            result.new_text = result.new_bytes = None
            continue
        seen.add(real)
        files.append(GatedFile(result, data, kb, settings))
    return files


def _not_fixed(result: FileResult, records: Iterable[Record], reason: str) -> None:
    result.not_fixed.extend((record, reason) for record in records)


def update_results(outcome: GateOutcome, files: Sequence[GatedFile], command: str, timeout: float) -> None:
    """Make each file's result say what the gate kept (fixed), reverted and left (not fixed)."""
    reverted: dict[int, list[tuple[Fix, TestRun]]] = {}
    for fix, run in outcome.reverted:
        reverted.setdefault(id(fix.file), []).append((fix, run))
    untried: dict[int, list[tuple[Fix, str]]] = {}
    for fix, reason in outcome.untried:
        untried.setdefault(id(fix.file), []).append((fix, reason))
    kept: dict[int, list[Fix]] = {}
    for fix in outcome.kept:
        kept.setdefault(id(fix.file), []).append(fix)
    for file in files:
        result = file.result
        unit_keys = {_key(Record.of(finding)) for finding in file.units}
        later = [record for record in result.fixed if _key(record) not in unit_keys]
        result.fixed = [fix.record for fix in kept.get(id(file), [])]
        for fix, run in reverted.get(id(file), []):
            result.not_fixed.append((fix.record, f"reverted: `{command}` fails with this fix ({run.status(timeout)})"))
        for fix, reason in untried.get(id(file), []):
            result.not_fixed.append((fix.record, reason))
        _not_fixed(result, later, "needs a second round of fixes, which --test leaves for another run")
        if file.on_disk:
            result.new_bytes = file.bytes_for(file.on_disk)
            result.new_text = result.new_bytes.decode(file.source.encoding, "surrogateescape")
        else:
            result.new_bytes = result.new_text = None


@dataclass
class ModelGate:
    """What asking the model (after the rule fixes were gated) came to."""

    files: list[ModelGatedFile] = field(default_factory=list)
    asked: int = 0
    accepted: int = 0
    rejected: int = 0
    outage: str | None = None
    #: Why the model was not asked (the gate stopped during the rule fixes).
    skipped: str | None = None


def model_files(
    gate: TestGate,
    results: Sequence[FileResult],
    rule_files: Sequence[GatedFile],
    kb: KnowledgeBase,
    settings: RunSettings,
    model: ModelSettings,
) -> ModelGate:
    """Ask the model about each file's display-only findings, on the text the gated rule fixes
    left on disk; each validated fix becomes a fix the gate tries like a rule fix."""
    from recode_lsp.cli.model_fixes import ModelRun, propose_for_text, wants_model
    from recode_lsp.cli.writes import WriteRefused, write_target
    from recode_lsp.model_client import ModelClient

    found = ModelGate()
    if gate.outcome.stopped is not None:
        found.skipped = f"the rule fixes' gate stopped ({gate.outcome.stopped})"
        return found
    by_path = {file.path: file for file in rule_files}
    client = ModelClient(model.endpoint, model.name, timeout=model.timeout)
    names: object = None
    if settings.installed:
        from recode_lsp.engine.names import InstalledNames

        names = InstalledNames(settings.options.targets, settings.installed)
    run = ModelRun()
    for result in results:
        if run.outage is not None or not wants_model(result):
            continue
        rule_file = by_path.get(result.path)
        expected = rule_file.disk_digest if rule_file is not None else result.read_digest
        try:
            write_target(result.path)
            data = Path(result.path).read_bytes()
        except (WriteRefused, OSError):
            continue  # the rule results stand; the model is not asked about a file it cannot write
        if content_digest(data) != expected:
            continue  # changed since it was read: leave it
        from recode_lsp.cli.files import DecodeError, decode_source

        try:
            text = decode_source(data).text
        except DecodeError:
            continue
        proposed = propose_for_text(result.path, text, kb, settings, model, client, names, run, disjoint=True)
        if proposed is None:
            continue
        _, edits, rejected = proposed
        result.model_rejected.extend(rejected)
        if edits:
            found.files.append(ModelGatedFile(result, data, edits))
    found.asked, found.accepted, found.rejected, found.outage = run.asked, run.accepted, run.rejected, run.outage
    return found


def update_model_results(outcome: GateOutcome, files: Sequence[ModelGatedFile], command: str, timeout: float) -> None:
    """Make each file's result say which model fixes the gate kept, reverted and left."""
    for file in files:
        result = file.result
        kept = [fix.record for fix in outcome.kept if fix.file is file]
        result.model_fixed.extend(kept)
        result.fixed.extend(kept)
        for fix, run in outcome.reverted:
            if fix.file is file:
                result.not_fixed.append(
                    (fix.record, f"reverted: `{command}` fails with this model fix ({run.status(timeout)})")
                )
        result.not_fixed.extend((fix.record, reason) for fix, reason in outcome.untried if fix.file is file)
        if file.on_disk:
            result.new_bytes = file.bytes_for(file.on_disk)
            result.new_text = result.new_bytes.decode(file.source.encoding, "surrogateescape")
            if result.original_text is None:
                result.original_text = file.source.text


def gate_json(outcome: GateOutcome, command: str, timeout: float, root: Path) -> dict[str, object]:
    """The gate's part of the JSON report (``summary.test_gate``)."""
    from recode_lsp.cli.report import relative

    def place(fix: Fix) -> dict[str, object]:
        record = fix.record
        return {"path": relative(fix.file.path, root), "code": record.code, "line": record.line}

    return {
        "command": command,
        "runs": outcome.runs,
        "seconds": round(outcome.seconds, 3),
        "kept": [place(fix) for fix in outcome.kept],
        "reverted": [
            {**place(fix), "status": run.status(timeout), "output": run.excerpt()} for fix, run in outcome.reverted
        ],
        "not_tried": [{**place(fix), "reason": reason} for fix, reason in outcome.untried],
        "stopped": outcome.stopped,
    }


def write_gate_report(out: TextIO, outcome: GateOutcome, command: str, timeout: float, root: Path) -> None:
    """What the gate did, for a person: counts, then each reverted fix with the end of the failing output."""
    from recode_lsp.cli.report import relative

    total = len(outcome.kept) + len(outcome.reverted) + len(outcome.untried)
    out.write(
        f"recode-migrate: --test: `{command}` passed before the fixes; {outcome.runs} runs in "
        f"{outcome.seconds:.1f} s; {len(outcome.kept)} of {total} fixes kept, {len(outcome.reverted)} reverted"
        + (f", {len(outcome.untried)} not tried ({outcome.stopped})" if outcome.untried or outcome.stopped else "")
        + ".\n"
    )
    for fix, run in outcome.reverted:
        record = fix.record
        out.write(
            f"recode-migrate: reverted {relative(fix.file.path, root)}:{record.line}:{record.column}: "
            f"{record.code} ({record.message}): `{command}` fails with it ({run.status(timeout)}):\n"
        )
        out.writelines(f"    | {line}\n" for line in run.excerpt().splitlines())
    if outcome.broken:
        out.write("recode-migrate: warning: the files could not all be put back to the last state the tests passed\n")
