"""Checking and fixing many files: byte prefilter, process pool, result cache.

A worker reads a file, skips it when its bytes mention none of the names that could matter,
otherwise parses it with :mod:`ast`, detects, and (in diff/apply mode) fixes and validates.
Check results are cached (as JSON in the user's cache folder, :mod:`recode_lsp.cli.cache`) by
content hash together with the project root, the tool version, the knowledge base's fingerprint
and the options, so a second run over unchanged files parses nothing.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from recode_lsp.cli.cache import ResultCache, fix_key
from recode_lsp.engine.changes import FixSafety, Severity
from recode_lsp.engine.digest import digest as content_digest
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import Version

if TYPE_CHECKING:
    from recode_lsp.cli.files import SourceText
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.changes import ApiChange
    from recode_lsp.engine.model import Finding
    from recode_lsp.engine.prefilter import Prefilter
    from recode_lsp.toonew.check import TooNew


#: id of a knowledge-base change -> (the change, its message), kept with the change so the id is not reused.
_MESSAGES: dict[int, tuple[ApiChange, str]] = {}


@dataclass(frozen=True)
class Record:
    """A finding as the CLI reports and caches it (plain values only)."""

    code: str
    library: str
    line: int  # 1-based
    column: int  # 1-based, characters
    end_line: int
    end_column: int
    severity: str
    safety: str
    message: str
    site: str

    @classmethod
    def of(cls, finding: Finding) -> Record:
        change = finding.change
        known = _MESSAGES.get(id(change))
        if known is None or known[0] is not change:
            # A change's message is text work (code spans) that depends on the change alone.
            known = _MESSAGES[id(change)] = (change, change.message())
        start, end = finding.range.start, finding.range.end
        return cls(
            change.id,
            change.library,
            start.line + 1,
            start.column + 1,
            end.line + 1,
            end.column + 1,
            finding.severity.value,
            finding.safety.value,
            known[1],
            finding.site.value,
        )

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR.value

    @property
    def fix_safety(self) -> FixSafety:
        return FixSafety(self.safety)


@dataclass
class FileResult:
    """What a run found (and fixed) in one file, or why it could not check it."""

    path: str
    records: list[Record] = field(default_factory=list)
    #: Why the file could not be checked (decode or syntax error), if it could not.
    error: str | None = None
    #: Fixed text (diff/apply modes), when something changed.
    new_text: str | None = None
    #: Encoded bytes to write (apply mode).
    new_bytes: bytes | None = None
    original_text: str | None = None
    #: Findings fixed, and findings whose fix was dropped with the reason.
    fixed: list[Record] = field(default_factory=list)
    not_fixed: list[tuple[Record, str]] = field(default_factory=list)
    from_cache: bool = False
    skipped_by_prefilter: bool = False
    #: Display-only findings the served model fixed (validated; unsafe), and the ones it did not, why.
    model_fixed: list[Record] = field(default_factory=list)
    model_rejected: list[tuple[Record, str]] = field(default_factory=list)
    #: Digest of the bytes the result was computed from: a write re-checks it, the cache keys by it.
    read_digest: str | None = None


@dataclass(frozen=True)
class RunSettings:
    """What every file of a run is checked (and fixed) with."""

    mode: str  # "check", "diff", "apply"
    unsafe: bool
    options: DetectOptions
    #: Versions installed in the running interpreter; fixes are checked against them
    #: where they are the target version (empty: no such check).
    installed: dict[str, Version] = field(default_factory=dict)
    #: ``--too-new``: the check of names the targeted releases lack (recode_lsp/toonew), or None.
    too_new: TooNew | None = None
    #: ``--check-syntax``: also parse the files the prefilter rules out, to report their syntax
    #: errors (otherwise only the files that are analysed are parsed; see ``files.source_problem``).
    check_syntax: bool = False


# Worker state, set once per process (fork inherits it; spawn runs the initializer).
_STATE: dict[str, object] = {}


def init_worker(kb: KnowledgeBase, settings: RunSettings) -> None:
    built_for = _STATE.get("prefilter_for")
    if not (isinstance(built_for, tuple) and built_for[0] is kb and built_for[1] == settings.options):
        _STATE.pop("prefilter", None)  # a forked worker keeps the one its parent built for the same run
    _STATE["kb"] = kb
    _STATE["settings"] = settings
    # Diagnostics only: parse every file (the benchmark checks the prefilter hides nothing).
    _STATE["no_prefilter"] = os.environ.get("RECODE_NO_PREFILTER") == "1"
    _STATE["names"] = None
    _STATE["packages"] = {}  # folders looked at for their package (``--too-new``), once per run
    if settings.installed:
        from recode_lsp.engine.names import InstalledNames

        _STATE["names"] = InstalledNames(settings.options.targets, settings.installed)


def process_file(path_text: str) -> FileResult:
    """Check (and in diff/apply mode fix) one file. Never raises for bad input."""
    try:
        data = Path(path_text).read_bytes()
    except OSError as exc:
        return FileResult(path_text, error=f"cannot read: {exc.strerror}")
    return process_data(path_text, data)


def _prefilter(kb: KnowledgeBase, settings: RunSettings) -> Prefilter:
    """The run's byte prefilter, built once per process (a forked worker inherits its parent's)."""
    from recode_lsp.engine.prefilter import Prefilter

    prefilter = _STATE.get("prefilter")
    if not isinstance(prefilter, Prefilter):
        prefilter = build_prefilter(kb, settings.options)
    return prefilter


def build_prefilter(kb: KnowledgeBase, options: DetectOptions) -> Prefilter:
    """Build the byte prefilter of a run with ``options`` now (and import the analysis modules), for
    :func:`run_files` to find built: ``recode-migrate --too-new`` does it while its setup searches the
    files for their imports in another process (recode_lsp/toonew/run.py: ``prepare``)."""
    from recode_lsp.engine.prefilter import Prefilter
    from recode_lsp.engine.rules import rule_triggers

    relevant = [change for change in kb.changes if options.severity(change) is not None]
    prefilter = _STATE["prefilter"] = Prefilter(relevant, rule_triggers())
    _STATE["prefilter_for"] = (kb, options)
    import recode_lsp.engine.detector  # noqa: F401  # before the workers start: forked ones find it imported

    return prefilter


def process_data(path_text: str, data: bytes, *, as_module: bool = False) -> FileResult:
    """Check (and in diff/apply mode fix) ``data``, the bytes of ``path_text`` (or of stdin).

    An ``.ipynb`` path is read as a notebook (its code cells as one module), unless ``as_module``.

    Python's cyclic garbage collector is paused for the file: building and analysing a syntax
    tree allocates hundreds of thousands of objects, and the collections they trigger walk the
    growing tree again and again (issue 15: a third of the parse time on the bench corpus, about
    a quarter of a cold run's CPU). What the file leaves is freed by reference counting when its
    result is returned; the collector, on again, takes any cycle at its next run.
    """
    if not gc.isenabled():  # paused by the caller (a notebook's module), or by the embedding program
        return _process_data(path_text, data, as_module=as_module)
    gc.disable()
    try:
        return _process_data(path_text, data, as_module=as_module)
    finally:
        gc.enable()


def _process_data(path_text: str, data: bytes, *, as_module: bool) -> FileResult:
    if not as_module and path_text.endswith(".ipynb"):
        from recode_lsp.cli.notebooks import process_notebook

        return process_notebook(path_text, data)
    from recode_lsp.cli.files import DecodeError, decode_source
    from recode_lsp.engine.detector import SourceError, analyse, detect

    kb = _STATE["kb"]
    settings = _STATE["settings"]
    assert isinstance(kb, KnowledgeBase) and isinstance(settings, RunSettings)
    prefilter = _prefilter(kb, settings)
    result = FileResult(path_text)
    result.read_digest = content_digest(data)  # what a write re-checks (cli/writes.py)
    too_new = settings.too_new
    package = _own_package(path_text) if too_new is not None else None
    kb_relevant = bool(_STATE.get("no_prefilter")) or prefilter.may_match(data)
    # ``--too-new`` parses a file the knowledge base has nothing for only when its text may hold a
    # too-new use (recode_lsp/toonew/check.py: TooNew.needs_analysis).
    if not kb_relevant and not (
        too_new is not None
        and too_new.needs_analysis(data, prefilter.import_line_starts(data, too_new.top_bytes), package)
    ):
        # Not analysed, but a binary or undecodable file is still reported (issue 11), and with
        # --check-syntax an unparsable one (issue 15: parsing these was a quarter of a cold run).
        from recode_lsp.cli.files import source_problem

        result.error = source_problem(data, path_text, parse=settings.check_syntax)
        result.skipped_by_prefilter = result.error is None
        return result
    try:
        source = decode_source(data)
    except DecodeError as exc:
        result.error = str(exc)
        return result
    try:
        # --too-new walks the tree only where its lexical pre-check says it may report; the bodies where
        # neither check may report are read as ``pass`` (the walk then reads what its pre-check found: a
        # handful of uses in a large test module).
        walk_too_new, evidence, prechecked = _too_new_walk(too_new, data, source, prefilter, kb_relevant, package)
        analysis = _sparse_analysis(data, source, path_text, prefilter, kb_relevant=kb_relevant, too_new=evidence)
        if analysis is None:
            analysis = analyse(source.text, path_text)
        findings = detect(source.text, kb, settings.options, path_text, analysis=analysis) if kb_relevant else []
        if walk_too_new:
            assert too_new is not None
            found = too_new.findings(analysis, settings.options, path_text, precheck=not prechecked, package=package)
            findings = sorted([*findings, *found], key=_sort_key)
    except SourceError as exc:
        result.error = str(exc)
        return result
    except RecursionError:
        result.error = "too deeply nested to analyse"
        return result
    result.records = [Record.of(f) for f in findings]
    if settings.mode == "check" or not findings:
        return result
    from recode_lsp.engine.pipeline import run_fix_pipeline

    names = _STATE.get("names")
    # The one fix pipeline (as the language server and the data builder use it), to a fixed
    # point: one --diff shows, and one --apply writes, what repeated runs would.
    outcome = run_fix_pipeline(
        analysis=analysis,
        findings=findings,
        kb=kb,
        options=settings.options,
        unsafe=settings.unsafe,
        path=path_text,
        name_exists=names if callable(names) else None,
    )
    result.fixed = [Record.of(f) for f in outcome.applied]
    result.not_fixed = [(Record.of(skip.finding), skip.reason) for skip in outcome.skipped]
    if outcome.applied and outcome.source != source.text:
        result.original_text = source.text
        result.new_text = outcome.source
        result.new_bytes = source.encode(outcome.source)
    return result


def _own_package(path_text: str) -> str | None:
    """The top-level package the file is part of (``--too-new`` leaves its imports of it unchecked:
    recode_lsp/toonew/first_party.py), each folder looked at once per process."""
    from recode_lsp.toonew.first_party import own_package

    known = _STATE.get("packages")
    if not isinstance(known, dict):
        known = _STATE["packages"] = {}
    return own_package(path_text, known)


def _too_new_walk(
    too_new: TooNew | None,
    data: bytes,
    source: SourceText,
    prefilter: Prefilter,
    kb_relevant: bool,
    package: str | None = None,
) -> tuple[bool, Sequence[int] | None, bool]:
    """Whether ``--too-new`` walks the module's tree; the offsets in ``data`` where it may report (None:
    anywhere, the module is read whole); and whether its pre-check has read the decoded text (else
    :meth:`TooNew.findings` reads it first). A module here for ``--too-new`` alone passed the pre-check
    on its bytes (:meth:`TooNew.needs_analysis`). ``package``: the module's own, not checked."""
    if too_new is None:
        return False, (), True
    if data.isascii() and not source.newline:
        # The text is the bytes as they stand: the prefilter's import lines are the text's, and one
        # reading of all the pre-check's reasons says both whether the walk may report and where.
        evidence = too_new.evidence(data, prefilter.import_line_starts(data, too_new.top_bytes), package)
        return evidence != [], evidence, True
    # Decoded into another text (not ASCII; CRLF read as one newline: the bytes' offsets are not the
    # text's): the pre-check finds its own import lines, and a walk reads the whole module.
    walk = not kb_relevant or too_new.may_report(source.text, package)
    return walk, None if walk else (), kb_relevant


def _sparse_analysis(
    data: bytes,
    source: SourceText,
    path_text: str,
    prefilter: Prefilter,
    *,
    kb_relevant: bool = True,
    too_new: Sequence[int] | None = (),
) -> ModuleAnalysis | None:
    """``--check``'s analysis of a file with the function bodies that can hold no finding read as
    ``pass`` (recode_lsp/engine/sparse.py), or None: parse it whole. Where each body must be read,
    as ``--check-syntax``, ``--diff`` and ``--apply`` (their fixes are checked against the whole
    module) ask, or where the text is not ``data`` as it stands, the whole module is parsed.
    ``too_new``: the offsets where ``--too-new`` may report (None: anywhere)."""
    settings = _STATE["settings"]
    assert isinstance(settings, RunSettings)
    if (
        settings.mode != "check"
        or settings.check_syntax
        or _STATE.get("no_prefilter")
        or source.encoding != "utf-8"
        or source.bom
        or source.newline
    ):
        return None
    from recode_lsp.engine.sparse import sparse_analysis

    return sparse_analysis(data, source.text, path_text, prefilter, kb_relevant=kb_relevant, more_evidence=too_new)


def run_files(
    paths: Sequence[str],
    kb: KnowledgeBase,
    settings: RunSettings,
    jobs: int,
    cache: ResultCache | None,
    progress: Callable[[int, int], None] | None = None,
    sizes: Mapping[str, int] | None = None,
) -> list[FileResult]:
    """Process ``paths``, in parallel when it pays; results in the order of ``paths``.

    ``sizes`` holds the byte sizes the caller already took (``main._sized``): the pool hands out
    the largest files first, and a file missing there is sized by another ``stat``.
    """
    results: dict[str, FileResult] = {}
    todo: list[str] = []
    fixes = fix_key(settings) if settings.mode != "check" else None
    for path in paths:
        # Not notebooks: a cached row has no cell number (cli/notebooks.py); they are read each run.
        cached = cache.lookup(path) if cache is not None and not path.endswith(".ipynb") else None
        # In diff/apply mode a cached result serves when there is nothing to fix, or with its fixes.
        usable = cached is not None and (
            settings.mode == "check"
            or not cached.records
            or (fixes is not None and cache is not None and cache.lookup_fix(cached, fixes) is not None)
        )
        if usable and cached is not None:
            results[path] = cached
        else:
            todo.append(path)
    done = len(results)
    if progress:
        progress(done, len(paths))
    init_worker(kb, settings)
    if jobs > 1 and len(todo) > 16:
        from concurrent.futures import ProcessPoolExecutor

        # Built (and the analysis modules imported: build_prefilter) once here: forked workers start with them.
        _prefilter(kb, settings)

        # Largest files first, in small chunks: a big file left for last keeps one worker busy
        # while the others wait (the order of the results is restored below).
        known = sizes if sizes is not None else {}
        todo_by_size = sorted(todo, key=lambda path: known[path] if path in known else _size(path), reverse=True)
        chunk = max(1, min(16, len(todo) // (jobs * 16)))
        with ProcessPoolExecutor(max_workers=jobs, initializer=init_worker, initargs=(kb, settings)) as pool:
            for result in pool.map(process_file, todo_by_size, chunksize=chunk):
                results[result.path] = result
                done += 1
                if progress:
                    progress(done, len(paths))
    else:
        for path in todo:
            results[path] = process_file(path)
            done += 1
            if progress:
                progress(done, len(paths))
    if cache is not None:
        for path in todo:
            if not path.endswith(".ipynb"):
                cache.store(results[path])
                if fixes is not None:
                    cache.store_fix(results[path], fixes)
        cache.save()
    return [results[path] for path in paths]


def _sort_key(finding: Finding) -> tuple[str, int, int, str]:
    return finding.sort_key()


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def summarise(results: Iterable[FileResult]) -> dict[str, object]:
    by_library: dict[str, int] = {}
    by_safety: dict[str, int] = {}
    errors = warnings = 0
    files = 0
    for result in results:
        if result.records:
            files += 1
        for record in result.records:
            by_library[record.library] = by_library.get(record.library, 0) + 1
            by_safety[record.safety] = by_safety.get(record.safety, 0) + 1
            if record.is_error:
                errors += 1
            else:
                warnings += 1
    return {
        "findings": errors + warnings,
        "errors": errors,
        "warnings": warnings,
        "files_with_findings": files,
        "by_library": dict(sorted(by_library.items())),
        "by_safety": dict(sorted(by_safety.items())),
    }
