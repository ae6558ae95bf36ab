"""Open documents: text synchronisation, and the analysis of each version, off the event loop.

In LSP the client owns the text of an open document and keeps the server in step:
``textDocument/didOpen`` sends the whole text with a version number, ``didChange`` sends each
edit (incrementally: a range and its new text, which pygls applies to its copy) and a new
version, ``didClose`` ends it. Every answer the server gives is about one version, so this
module keeps, per document, the analyses of its recent versions:

* an analysis runs in a worker thread (the event loop keeps reading messages), once per
  (version, settings), however many requests want it; a cached one is reused;
* when everyone waiting for an analysis has gone away (a cancelled request, a newer version
  superseding a scheduled publish), the work is told to stop at its next checkpoint;
* a new version is analysed incrementally from the last good one where it can be (see
  :mod:`recode_lsp.engine.document`: only the top-level statements an edit changed); once
  typing pauses, the whole module is analysed too (fixes that need it have it ready, and it
  replaces the incremental result, re-publishing, should the two ever differ); a new edit
  stops that work at its next checkpoint;
* a version with a syntax error keeps showing the last good version's findings;
* a file over the size limits is not analysed; the user is told once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from lsprotocol import types
from pygls.uris import to_fs_path

from recode_lsp.engine.document import Cancelled, DocumentAnalysis, FixResult, finding_key
from recode_lsp.engine.model import Finding

if TYPE_CHECKING:
    from recode_lsp.server.server import RecodeLanguageServer
    from recode_lsp.server.settings import ProjectContext

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Versions of a document whose analyses are kept.
KEPT_VERSIONS = 3
#: Quiet time after an incremental analysis before the whole module is analysed.
SETTLE_DELAY = 1.0
#: Characters of a document measured at a time for its UTF-8 size.
_SIZE_CHUNK = 1 << 20


class CancelToken:
    """Shared between the event loop and a worker: ``check`` raises once ``cancel`` was called."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled


@dataclass
class _Job:
    future: asyncio.Future[DocumentAnalysis]
    token: CancelToken
    waiters: int = 0


@dataclass
class DocumentState:
    uri: str
    path: Path
    results: dict[int, DocumentAnalysis] = field(default_factory=dict)
    last_good: DocumentAnalysis | None = None
    last_good_version: int | None = None
    jobs: dict[tuple[int, int], _Job] = field(default_factory=dict)
    fixes: dict[tuple[int, str], asyncio.Future[FixResult]] = field(default_factory=dict)
    settle: asyncio.Task[None] | None = None
    settle_version: int | None = None
    settle_token: CancelToken | None = None
    size_notified: bool = False
    error_version: int | None = None


@dataclass
class Snapshot:
    """One version of a document and what is known about it."""

    uri: str
    version: int
    source: str
    project: ProjectContext
    #: The analysis of this version; None when the file was skipped (``skipped`` says why).
    analysis: DocumentAnalysis | None
    #: What to show: this version's analysis, or the last good one while this one has an error.
    shown: DocumentAnalysis | None
    shown_version: int | None
    skipped: str | None = None


class Documents:
    def __init__(self, server: RecodeLanguageServer) -> None:
        self._server = server
        self._states: dict[str, DocumentState] = {}
        #: Tokens of work in flight, cancelled all at once at shutdown.
        self._tokens: weakref.WeakSet[CancelToken] = weakref.WeakSet()

    def _token(self) -> CancelToken:
        token = CancelToken()
        self._tokens.add(token)
        return token

    def shutdown(self) -> None:
        """Stop every analysis and fix at its next checkpoint (the process is about to exit)."""
        for token in list(self._tokens):
            token.cancel()
        for state in self._states.values():
            if state.settle is not None:
                state.settle.cancel()

    # --- lifecycle ---------------------------------------------------------------------------

    def opened(self, uri: str) -> DocumentState:
        path = to_fs_path(uri) or uri
        state = DocumentState(uri, Path(path))
        self._states[uri] = state
        return state

    def closed(self, uri: str) -> None:
        state = self._states.pop(uri, None)
        if state is None:
            return
        for job in state.jobs.values():
            job.token.cancel()
        _stop_settle(state)

    def is_open(self, uri: str) -> bool:
        return uri in self._states

    @property
    def uris(self) -> list[str]:
        return list(self._states)

    def settings_changed(self) -> None:
        """Cached analyses belong to the old settings: drop them and re-analyse."""
        for state in self._states.values():
            for job in state.jobs.values():
                job.token.cancel()
            state.results.clear()
            state.fixes.clear()
            state.size_notified = False
        self._server.diagnostics.settings_changed()

    def state(self, uri: str) -> DocumentState | None:
        return self._states.get(uri)

    def _notify_too_large(self, state: DocumentState, reason: str) -> None:
        if state.size_notified:
            return
        state.size_notified = True
        message = f"ReCode skipped {state.path.name}: the file is too large to analyse ({reason})."
        self._server.log(message, types.MessageType.Warning)
        self._server.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))

    # --- analyses ----------------------------------------------------------------------------

    async def snapshot(self, uri: str) -> Snapshot | None:
        """The current version of an open document, analysed (None when it is not open)."""
        state = self._states.get(uri)
        if state is None:
            return None
        document = self._server.workspace.get_text_document(uri)
        version = document.version or 0
        source = document.source
        project = await self._server.settings.context_for(uri, state.path)
        reason = _too_large(source, project)
        if reason is not None:
            self._notify_too_large(state, reason)
            return Snapshot(uri, version, source, project, None, None, None, skipped=reason)
        analysis = state.results.get(version)
        if analysis is None or analysis.context is not project.analysis:
            analysis = await self._analyse(state, version, source, project)
        if analysis.ok:
            return Snapshot(uri, version, source, project, analysis, analysis, version)
        if state.error_version != version:
            state.error_version = version
            shown = f"showing the findings of version {state.last_good_version}" if state.last_good else "no findings"
            self._server.log(f"{state.path.name} (version {version}): {analysis.error}; {shown}")
        last = state.last_good if state.last_good and state.last_good.context is project.analysis else None
        return Snapshot(uri, version, source, project, analysis, last, state.last_good_version if last else None)

    async def _analyse(
        self, state: DocumentState, version: int, source: str, project: ProjectContext
    ) -> DocumentAnalysis:
        context = project.analysis
        key = (version, id(context))
        job = state.jobs.get(key)
        if job is None or job.token.cancelled:  # a cancelled job may still be winding down
            if state.settle_version is not None and state.settle_version < version:
                _stop_settle(state)  # the user typed on: the whole-module pass would only compete
            token = self._token()
            previous = state.last_good if state.last_good and state.last_good.context is context else None
            path = str(state.path)

            collector = self._server.collector

            def work() -> DocumentAnalysis:
                analysis = DocumentAnalysis.run(source, path, context, previous=previous, check=token.check)
                collector.after_analysis()  # its garbage, before the code action that usually follows
                return analysis

            future = asyncio.wrap_future(self._server.executor.submit(work))
            job = _Job(future, token)
            state.jobs[key] = job
            future.add_done_callback(functools.partial(self._finished, state, key, job, version))
        job.waiters += 1
        try:
            return await asyncio.shield(job.future)
        finally:
            job.waiters -= 1
            if job.waiters == 0 and not job.future.done():
                job.token.cancel()

    def _finished(
        self,
        state: DocumentState,
        key: tuple[int, int],
        job: _Job,
        version: int,
        done: asyncio.Future[DocumentAnalysis],
    ) -> None:
        if state.jobs.get(key) is job:
            del state.jobs[key]
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            if not isinstance(error, Cancelled):
                from recode_lsp.server.guard import report_error

                report_error(self._server, f"analysis of {state.path.name}", error)
            return
        analysis = done.result()
        state.results[version] = analysis
        for old in sorted(state.results)[:-KEPT_VERSIONS]:
            del state.results[old]
        state.fixes = {k: v for k, v in state.fixes.items() if k[0] in state.results}
        if analysis.ok and (state.last_good_version is None or version >= state.last_good_version):
            state.last_good = analysis
            state.last_good_version = version
        if state.settle_version is not None and state.settle_version <= version:
            _stop_settle(state)  # a newer result makes the pending whole-module pass pointless
        if analysis.incremental:
            state.settle = asyncio.ensure_future(self._settle(state, version, analysis))
            state.settle_version = version

    async def _settle(self, state: DocumentState, version: int, incremental: DocumentAnalysis) -> None:
        """After a pause, analyse the whole module of an incremental analysis.

        Fixes that need the whole module find it ready. The incremental analysis stays what is
        shown (its statements are what the next edit starts from) unless the two differ.
        """
        await asyncio.sleep(SETTLE_DELAY)
        token = self._token()
        state.settle_token = token
        collector = self._server.collector

        def work() -> DocumentAnalysis | None:
            exact = incremental.exact(token.check)
            collector.after_analysis()
            return exact

        future = asyncio.wrap_future(self._server.executor.submit(work))
        try:
            exact = await future
        except asyncio.CancelledError:
            token.cancel()
            raise
        except Cancelled:
            return
        if exact is None or state.results.get(version) is not incremental:
            return
        if [_identity(f) for f in exact.findings] != [_identity(f) for f in incremental.findings]:
            state.results[version] = exact
            if state.last_good is incremental:
                state.last_good = exact
            logger.warning("%s: incremental analysis differed from the whole module's", state.path.name)
            self._server.log(f"{state.path.name}: re-analysed whole; diagnostics updated", types.MessageType.Log)
            self._server.diagnostics.refresh(state.uri)

    # --- fixes ---------------------------------------------------------------------------------

    async def fix(self, snapshot: Snapshot, finding: Finding) -> FixResult:
        """The validated fix of one finding (computed once per version, shared)."""
        return await self._shared_fix(snapshot, finding_key(finding), lambda a, check: a.fix(finding, check))

    async def fix_all(self, snapshot: Snapshot, unsafe: bool) -> FixResult:
        return await self._shared_fix(snapshot, f"*all:{unsafe}", lambda a, check: a.fix_all(unsafe, check))

    def prefetch(self, snapshot: Snapshot, finding: Finding) -> None:
        """Start computing a fix that will probably be asked for (a code action was listed)."""
        future = asyncio.ensure_future(self.fix(snapshot, finding))
        future.add_done_callback(_ignore_result)

    async def _shared_fix(
        self, snapshot: Snapshot, key: str, compute: Callable[[DocumentAnalysis, Callable[[], None]], FixResult]
    ) -> FixResult:
        state = self._states.get(snapshot.uri)
        analysis = snapshot.analysis
        if state is None or analysis is None or not analysis.ok:
            return FixResult(snapshot.source)
        cache_key = (snapshot.version, key)
        future = state.fixes.get(cache_key)
        if future is None:
            token = self._token()
            future = asyncio.wrap_future(self._server.executor.submit(compute, analysis, token.check))
            state.fixes[cache_key] = future
        return await asyncio.shield(future)


def _stop_settle(state: DocumentState) -> None:
    """Cancel the pending whole-module pass of ``state``, and stop its work if it started."""
    if state.settle is not None:
        state.settle.cancel()
        state.settle = None
    if state.settle_token is not None:
        state.settle_token.cancel()
        state.settle_token = None
    state.settle_version = None


def _utf8_size(text: str) -> int:
    """``len(text.encode())`` without a copy of a large document."""
    if text.isascii():
        return len(text)
    return sum(
        len(text[start : start + _SIZE_CHUNK].encode("utf-8", errors="surrogatepass"))
        for start in range(0, len(text), _SIZE_CHUNK)
    )


def _identity(finding: Finding) -> tuple[str, int, int, str]:
    return (finding_key(finding), finding.start_offset, finding.end_offset, finding.severity.value)


def _ignore_result(future: asyncio.Future[T]) -> None:
    if not future.cancelled():
        future.exception()


def _too_large(source: str, project: ProjectContext) -> str | None:
    settings = project.settings
    lines = source.count("\n") + (0 if source.endswith("\n") or not source else 1)
    if settings.max_file_lines and lines > settings.max_file_lines:
        return f"{lines} lines; recode.maxFileLines is {settings.max_file_lines}"
    if settings.max_file_bytes and len(source) * 4 > settings.max_file_bytes:
        size = _utf8_size(source)
        if size > settings.max_file_bytes:
            return f"{size} bytes; recode.maxFileBytes is {settings.max_file_bytes}"
    return None


def register(server: RecodeLanguageServer) -> None:
    """Text synchronisation: pygls keeps the text; these handlers schedule analyses."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RecodeLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.documents.opened(params.text_document.uri)
        ls.diagnostics.document_changed(params.text_document.uri, opened=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RecodeLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        if not ls.documents.is_open(params.text_document.uri):
            ls.documents.opened(params.text_document.uri)
        ls.diagnostics.document_changed(params.text_document.uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: RecodeLanguageServer, params: None) -> None:
        ls.documents.shutdown()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RecodeLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.closed(params.text_document.uri)
        ls.diagnostics.document_closed(params.text_document.uri)
