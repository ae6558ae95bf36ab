"""The too-new check in the language server: diagnostics as you type, and quick fixes for backward fixes.

Turned on by the editor setting ``recode.tooNew`` (see :mod:`recode_lsp.server.settings`), or, when
the editor does not set it, by ``RECODE_TOO_NEW=1`` in the server's environment. A document's
findings are the CLI's (:class:`recode_lsp.toonew.check.TooNew`), for the libraries with a target
version in the document's project (the targets a check uses, and any library the project pins)
that the document imports. Reading a release never blocks a keystroke: the first time a (targets,
libraries) pair is needed its inventories are read in a background thread, and the listeners
(:func:`add_listener`: the server re-analyses its open documents) are told when they are ready. A
document whose text holds no too-new use (the lexical pre-check) is not parsed again; one that does
is parsed once per analysis.

Quick fixes: a backward fix (``RCN-<id>``: ``np.trapezoid`` -> ``np.trapz`` below NumPy 2.0) is
fixed by :func:`fix` through the one fix pipeline, exactly as ``recode-migrate --too-new --apply``
fixes it (same fixer, same validation); the code actions find these findings with
:func:`findings_in` and :func:`find`, since they are not part of the document analysis's own.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from recode_lsp.engine.versions import Version

if TYPE_CHECKING:
    from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis, FixResult
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding, Position
    from recode_lsp.toonew.check import TooNew

#: ``1`` turns the check on in ``recode-lsp`` when the editor's ``recode.tooNew`` is not set.
ENV = "RECODE_TOO_NEW"

_Key = tuple[int, tuple[tuple[str, str], ...], frozenset[str]]
_checks: dict[_Key, TooNew] = {}
_loading: dict[_Key, threading.Thread] = {}
_guard = threading.Lock()
_found: weakref.WeakKeyDictionary[DocumentAnalysis, list[Finding]] = weakref.WeakKeyDictionary()
#: Per resolved project context: whether the check is on (the editor's setting, else the environment)
#: and the libraries' target versions (the context's own targets plus the project's pins).
_configured: weakref.WeakKeyDictionary[AnalysisContext, tuple[bool, dict[str, Version]]] = weakref.WeakKeyDictionary()
_listeners: list[Callable[[], None]] = []


def environment_enabled() -> bool:
    return os.environ.get(ENV) == "1"


def configure(context: AnalysisContext, enabled: bool | None, targets: Mapping[str, Version]) -> None:
    """What a resolved project context says: ``enabled`` (the editor's ``recode.tooNew``; None: the
    environment decides) and the target version of each library (any library, not only the
    knowledge base's: the project's pins count)."""
    on = environment_enabled() if enabled is None else enabled
    _configured[context] = (on, dict(targets))


def enabled(context: AnalysisContext | None = None) -> bool:
    """Whether the check runs for documents of ``context`` (a context nobody configured: the environment)."""
    if context is not None:
        known = _configured.get(context)
        if known is not None:
            return known[0]
    return environment_enabled()


def add_listener(callback: Callable[[], None]) -> None:
    """Call ``callback`` (from a background thread) each time releases finish being read: documents
    analysed before then have no too-new findings yet and should be analysed again."""
    with _guard:
        _listeners.append(callback)


def remove_listener(callback: Callable[[], None]) -> None:
    with _guard:
        if callback in _listeners:
            _listeners.remove(callback)


def owns(finding: Finding) -> bool:
    """Whether ``finding`` is one of this check's (not in the document analysis's own findings)."""
    from recode_lsp.toonew.check import TooNewChange

    return isinstance(finding.change, TooNewChange)


def findings_for(analysis: DocumentAnalysis) -> list[Finding]:
    """The too-new findings of a document analysis ([] while its releases are being read). Never raises."""
    if analysis.error is not None or not enabled(analysis.context):
        return []
    try:
        known = _found.get(analysis)
    except TypeError:
        known = None
    if known is not None:
        return known
    try:
        found, final = _findings(analysis)
    except Exception:  # noqa: BLE001 - a diagnostic extra must never break the others
        found, final = [], True
    if final:  # not while the releases are being read: the same analysis asks again once they are
        try:
            _found[analysis] = found
        except TypeError:
            pass
    return found


def findings_in(analysis: DocumentAnalysis, start: Position, end: Position) -> list[Finding]:
    """Too-new findings that overlap ``[start, end]`` (as :meth:`DocumentAnalysis.findings_in`)."""
    return [f for f in findings_for(analysis) if f.range.start <= end and start <= f.range.end]


def find(analysis: DocumentAnalysis, key: str) -> Finding | None:
    """The too-new finding with ``key`` (:func:`recode_lsp.engine.document.finding_key`), if any."""
    from recode_lsp.engine.document import finding_key

    return next((f for f in findings_for(analysis) if finding_key(f) == key), None)


def fix(analysis: DocumentAnalysis, finding: Finding, check: Callable[[], None] | None = None) -> FixResult:
    """The validated fix of one too-new finding of ``analysis`` (blocking: run it off the event loop).

    The module is analysed whole, and the one fix pipeline gets the document's findings and the
    too-new ones (an import fixed with its uses: ``from numpy import trapezoid`` and each call)."""
    from recode_lsp.engine.document import FixResult, finding_key

    source = analysis.source
    if not finding.fixable:
        return FixResult(source, skipped=[(finding, "no mechanical fix; migrate it by hand")])
    exact = analysis.exact(check) if check is not None else analysis.exact()
    if exact is None:
        return FixResult(source, skipped=[(finding, analysis.error or "the document does not parse")])
    too_new = findings_for(exact) if exact is not analysis else findings_for(analysis)
    wanted = finding_key(finding)
    match = next((f for f in too_new if finding_key(f) == wanted), None)
    if match is None:
        return FixResult(source, skipped=[(finding, "the finding is gone")])
    result = _fix(analysis, [*exact.findings, *too_new], [match], True, check)
    if not result.changed and not result.skipped:
        return FixResult(source, [], [], [(finding, "the fix changes nothing")])
    return result


def fix_all(analysis: DocumentAnalysis, unsafe: bool, check: Callable[[], None] | None = None) -> FixResult:
    """Every wanted fix of the document, the too-new ones with the document's own (``source.fixAll``
    with ``recode.tooNew`` on): what ``recode-migrate --too-new --apply`` writes, through the same
    pipeline, to a fixed point. Blocking: run it off the event loop."""
    from recode_lsp.engine.document import FixResult

    exact = analysis.exact(check) if check is not None else analysis.exact()
    if exact is None:
        return FixResult(analysis.source)
    too_new = findings_for(exact) if exact is not analysis else findings_for(analysis)
    return _fix(analysis, [*exact.findings, *too_new], None, unsafe, check)


def _fix(
    analysis: DocumentAnalysis,
    findings: list[Finding],
    selected: list[Finding] | None,
    unsafe: bool,
    check: Callable[[], None] | None,
) -> FixResult:
    """``selected`` (None: every wanted finding) of ``findings`` fixed by the one fix pipeline."""
    from recode_lsp.engine.detector import analyse
    from recode_lsp.engine.document import FixResult, _diff_edits
    from recode_lsp.engine.pipeline import run_fix_pipeline

    source = analysis.source
    context = analysis.context
    outcome = run_fix_pipeline(
        analysis=analyse(source, analysis.path, context.module_name),
        findings=sorted(findings, key=lambda f: f.sort_key()),
        kb=context.kb,
        options=context.options,
        unsafe=unsafe,
        selected=selected,
        name_exists=context.name_exists,
        cancel=check,
        path=analysis.path,
        module_name=context.module_name,
    )
    skipped = [(s.finding, s.reason) for s in outcome.skipped]
    if not outcome.applied or outcome.source == source:
        return FixResult(source, [], [], skipped)
    return FixResult(outcome.source, _diff_edits(source, outcome.source), outcome.applied, skipped)


def _targets(context: AnalysisContext) -> dict[str, Version]:
    known = _configured.get(context)
    if known is not None:
        return dict(known[1])
    return {library: version for library, version in context.options.targets.items() if version is not None}


def _findings(analysis: DocumentAnalysis) -> tuple[list[Finding], bool]:
    """The findings, and whether they are final (False: the releases are still being read)."""
    from recode_lsp.toonew.first_party import own_package
    from recode_lsp.toonew.run import imported_tops, tops_of

    context = analysis.context
    targets = _targets(context)
    if not targets:
        return [], True
    by_top = tops_of(targets)
    data = analysis.source.encode("utf-8", "surrogatepass")
    # The document's own package (a module of a package being written) is its source, not a release.
    # (Only a file's path says where it lies: an untitled document's is no folder.)
    package = own_package(analysis.path) if analysis.path and os.path.isabs(analysis.path) else None
    tops = frozenset(imported_tops((), [data], by_top)) - {package}
    if not tops:
        return [], True
    wanted = {by_top[top]: targets[by_top[top]] for top in tops}  # python: once, for its modules
    key: _Key = (id(context.kb), tuple(sorted((k, str(v)) for k, v in wanted.items())), tops)
    with _guard:
        check = _checks.get(key)
        if check is None and key not in _loading:
            thread = threading.Thread(
                target=_load, args=(key, wanted, context.kb, data), name="recode-too-new", daemon=True
            )
            _loading[key] = thread
            thread.start()
    if check is None:
        return [], False
    if not check.needs_analysis(data, package=package):
        return [], True
    from recode_lsp.engine.detector import analyse

    module = analyse(analysis.source, analysis.path, context.module_name)
    return check.findings(module, context.options, analysis.path, context.module_name, package=package), True


def _load(key: _Key, targets: dict[str, Version], kb: KnowledgeBase, data: bytes) -> None:
    from recode_lsp.toonew.run import prepare

    try:
        check = prepare(targets, kb, data=[data])
    except Exception:  # noqa: BLE001 - the check is an extra: without it there are no RCN diagnostics
        return  # left in ``_loading``: not tried again at every keystroke
    with _guard:
        _checks[key] = check
        _loading.pop(key, None)
        listeners = list(_listeners)
    for listener in listeners:
        with contextlib.suppress(Exception):  # a listener's failure must not stop the others
            listener()


def wait(timeout: float = 600.0) -> None:
    """Wait for the releases being read (tests)."""
    with _guard:
        threads = list(_loading.values())
    for thread in threads:
        thread.join(timeout)
