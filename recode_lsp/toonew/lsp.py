"""The too-new check in the language server: diagnostics as you type (opt-in, ``RECODE_TOO_NEW=1``).

A document's findings are the CLI's (:class:`recode_lsp.toonew.check.TooNew`), for the libraries with
a target version in the document's context that the document imports. Reading a release never
blocks a keystroke: the first time a (targets, libraries) pair is needed its inventories are read in
a background thread, and the document shows the check's diagnostics from its next analysis on. A
document whose text holds no too-new use (the lexical pre-check) is not parsed again; one that does
is parsed once per analysis. Backward fixes are offered by the CLI only, for now.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING

from recode_lsp.engine.versions import PYTHON, Version

if TYPE_CHECKING:
    from recode_lsp.engine.document import DocumentAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding
    from recode_lsp.toonew.check import TooNew

#: ``1`` turns the check on in ``recode-lsp`` (the editor settings have no key for it yet).
ENV = "RECODE_TOO_NEW"

_Key = tuple[int, tuple[tuple[str, str], ...], frozenset[str]]
_checks: dict[_Key, TooNew] = {}
_loading: dict[_Key, threading.Thread] = {}
_guard = threading.Lock()
_found: weakref.WeakKeyDictionary[DocumentAnalysis, list[Finding]] = weakref.WeakKeyDictionary()


def enabled() -> bool:
    return os.environ.get(ENV) == "1"


def findings_for(analysis: DocumentAnalysis) -> list[Finding]:
    """The too-new findings of a document analysis ([] while its releases are being read). Never raises."""
    if not enabled() or analysis.error is not None:
        return []
    try:
        known = _found.get(analysis)
    except TypeError:
        known = None
    if known is not None:
        return known
    try:
        found = _findings(analysis)
    except Exception:  # noqa: BLE001 - a diagnostic extra must never break the others
        found = []
    try:
        _found[analysis] = found
    except TypeError:
        pass
    return found


def _findings(analysis: DocumentAnalysis) -> list[Finding]:
    from recode_lsp.api_docs import top_package
    from recode_lsp.toonew.run import imported_tops

    context = analysis.context
    targets = {
        library: version
        for library, version in context.options.targets.items()
        if version is not None and library != PYTHON
    }
    if not targets:
        return []
    by_top = {top_package(library): library for library in targets}
    data = analysis.source.encode("utf-8", "surrogatepass")
    tops = frozenset(imported_tops((), [data], by_top))
    if not tops:
        return []
    wanted = {by_top[top]: targets[by_top[top]] for top in tops}
    key: _Key = (id(context.kb), tuple(sorted((k, str(v)) for k, v in wanted.items())), tops)
    with _guard:
        check = _checks.get(key)
        if check is None and key not in _loading:
            thread = threading.Thread(
                target=_load, args=(key, wanted, context.kb, data), name="recode-too-new", daemon=True
            )
            _loading[key] = thread
            thread.start()
    if check is None or not check.needs_analysis(data):
        return []
    from recode_lsp.engine.detector import analyse

    module = analyse(analysis.source, analysis.path, context.module_name)
    return check.findings(module, context.options, analysis.path, context.module_name)


def _load(key: _Key, targets: dict[str, Version], kb: KnowledgeBase, data: bytes) -> None:
    from recode_lsp.toonew.run import prepare

    try:
        check = prepare(targets, kb, data=[data])
    except Exception:  # noqa: BLE001 - the check is an extra: without it there are no RCN diagnostics
        return
    with _guard:
        _checks[key] = check
        _loading.pop(key, None)


def wait(timeout: float = 600.0) -> None:
    """Wait for the releases being read (tests)."""
    with _guard:
        threads = list(_loading.values())
    for thread in threads:
        thread.join(timeout)
