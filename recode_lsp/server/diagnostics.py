"""Diagnostics: findings as the editor's squiggles, pulled by the client or pushed by the server.

LSP has two models. In the older *push* model the server sends
``textDocument/publishDiagnostics`` whenever it has results; it decides when, so it debounces
(analysing on every keystroke of a burst is wasted work) and drops results of versions the
user has typed past. In the *pull* model (LSP 3.17) the client asks with
``textDocument/diagnostic`` when it wants them and the server answers that request; the answer
carries a ``resultId``, and a client that sends it back gets "unchanged" when nothing changed.
The server pulls when the client declares ``textDocument.diagnostic`` support and pushes
otherwise, never both (the client would show everything twice).

A diagnostic carries the change's id as ``code``, ``source: "recode"``, severity by the target
version (removed: error; deprecated: warning, tagged *deprecated* where the client supports
it), a ``codeDescription`` link when the knowledge base cites a URL (the explanation is added
to the message otherwise), and ``data`` with the id, the finding's key and the document
version, which code actions use to find the finding again.

Speed: a legacy module can carry thousands of findings, so the diagnostics sent are plain JSON
values, built from the analysis's runs of findings (statements that only moved are not
rebuilt as findings, see :meth:`DocumentAnalysis.finding_runs`) from one template per change,
and written as they are (lsprotocol objects would cost tens of milliseconds per thousand to
build and as much again to serialise). Code actions, which name a few diagnostics, still get
lsprotocol objects from :meth:`Diagnostics.convert`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from recode_lsp.engine.changes import Severity
from recode_lsp.engine.document import DocumentAnalysis, finding_key
from recode_lsp.engine.edits import PositionMap, position_map
from recode_lsp.engine.model import Finding
from recode_lsp.server.convert import lsp_range
from recode_lsp.server.guard import guarded, report_error
from recode_lsp.toonew.lsp import findings_for as too_new_findings

if TYPE_CHECKING:
    from recode_lsp.server.documents import Snapshot
    from recode_lsp.server.server import RecodeLanguageServer

logger = logging.getLogger(__name__)

SOURCE = "recode"
_URL = re.compile(r"https?://[^\s)>\]]+")
_ERROR = types.DiagnosticSeverity.Error.value
_WARNING = types.DiagnosticSeverity.Warning.value
_DEPRECATED = [types.DiagnosticTag.Deprecated.value]
_SEVERITIES = {Severity.ERROR: types.DiagnosticSeverity.Error, Severity.WARNING: types.DiagnosticSeverity.Warning}


class Json:
    """A value sent as its attributes, which are plain JSON already: pygls writes an object
    that is neither attrs nor an enum as its ``__dict__``, skipping its per-field conversion."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def change_url(source: str) -> str | None:
    """The first URL the knowledge base cites for a change, if any."""
    match = _URL.search(source)
    return match.group(0).rstrip(".,;") if match else None


class Diagnostics:
    """Converts analyses to LSP diagnostics and, in push mode, publishes them."""

    def __init__(self, server: RecodeLanguageServer) -> None:
        self._server = server
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._converted: weakref.WeakKeyDictionary[DocumentAnalysis, tuple[int | None, str, list[types.Diagnostic]]]
        self._converted = weakref.WeakKeyDictionary()
        self._items: weakref.WeakKeyDictionary[DocumentAnalysis, tuple[int | None, str, list[dict[str, Any]]]]
        self._items = weakref.WeakKeyDictionary()
        #: The fields every diagnostic of one change shares, by change and severity.
        self._templates: dict[tuple[int, Severity], tuple[object, dict[str, Any], dict[str, Any]]] = {}
        self._serial = itertools.count(1)

    @property
    def pull(self) -> bool:
        return self._server.client.pull_diagnostics

    # --- events --------------------------------------------------------------------------------

    def document_changed(self, uri: str, opened: bool = False) -> None:
        if not self.pull:
            self._schedule(uri, 0.0 if opened else None)

    def document_closed(self, uri: str) -> None:
        task = self._tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        if not self.pull:
            self._server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def settings_changed(self) -> None:
        self._templates.clear()  # the knowledge base may be a new one
        # An analysis may have more findings now (the too-new check's releases were read: toonew/lsp.py).
        self._items.clear()
        self._converted.clear()
        if self.pull:
            self._refresh_pull()
        else:
            for uri in self._server.documents.uris:
                self._schedule(uri, 0.0)

    def refresh(self, uri: str) -> None:
        """The diagnostics of ``uri`` changed without an edit (settings, a settled analysis)."""
        if self.pull:
            self._refresh_pull()
        else:
            self._schedule(uri, 0.0)

    def _refresh_pull(self) -> None:
        if self._server.client.diagnostic_refresh:
            future = self._server.workspace_diagnostic_refresh(None)
            future.add_done_callback(lambda done: done.cancelled() or done.exception())

    # --- push ----------------------------------------------------------------------------------

    def _schedule(self, uri: str, delay: float | None) -> None:
        previous = self._tasks.pop(uri, None)
        if previous is not None:
            previous.cancel()  # a newer version supersedes it; its analysis stops if nobody else waits
        task = asyncio.ensure_future(self._publish_after(uri, delay))
        self._tasks[uri] = task
        task.add_done_callback(lambda done: self._tasks.get(uri) is done and self._tasks.pop(uri, None))

    async def _publish_after(self, uri: str, delay: float | None) -> None:
        try:
            if delay is None:
                delay = (await self._server.settings.for_uri(uri)).debounce_ms / 1000
            if delay > 0:
                await asyncio.sleep(delay)
            snapshot = await self._server.documents.snapshot(uri)
            if snapshot is None:
                return
            current = self._server.workspace.get_text_document(uri).version
            if current is not None and current != snapshot.version:
                return  # stale: the task of the newer version publishes
            # For a version with a syntax error these are the last good version's findings:
            # what the server still reports for this version.
            items, _ = self.of(snapshot)
            self.publish(uri, items, snapshot.version)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a failed publish must not stop the next one
            report_error(self._server, f"diagnostics of {uri}", error)

    def publish(self, uri: str, items: list[dict[str, Any]], version: int | None) -> None:
        """``textDocument/publishDiagnostics`` of plain JSON diagnostics (see :meth:`items`)."""
        params = {"uri": uri, "diagnostics": items, "version": version}
        send = getattr(self._server.protocol, "_send_data", None)
        if send is not None:
            send({"jsonrpc": "2.0", "method": types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, "params": params})
        else:  # a pygls without it: the typed way
            self._server.text_document_publish_diagnostics(
                self._server.protocol._converter.structure(params, types.PublishDiagnosticsParams)
            )

    # --- conversion ----------------------------------------------------------------------------

    def of(self, snapshot: Snapshot) -> tuple[list[dict[str, Any]], str]:
        """The diagnostics to show for a snapshot (plain JSON), and their result id."""
        generation = self._server.settings.generation
        if snapshot.shown is None:
            return [], f"{generation}:{snapshot.version}:none"
        items, serial = self.items(snapshot.shown, snapshot.shown_version)
        return items, f"{generation}:{snapshot.shown_version}:{serial}"

    def _template(self, finding: Finding) -> tuple[dict[str, Any], dict[str, Any]]:
        """The fields of a diagnostic, and of its ``data``, that depend on the change only."""
        change = finding.change
        key = (id(change), finding.severity)
        cached = self._templates.get(key)
        if cached is not None and cached[0] is change:
            return cached[1], cached[2]
        client = self._server.client
        url = change_url(change.source)
        message = finding.message
        data: dict[str, Any] = {"id": change.id}
        if url is None or not client.code_description:
            explanation = change.note or change.source
            data["explanation"] = explanation
            if explanation and explanation not in message:
                message = f"{message}\n{explanation}"
        item: dict[str, Any] = {
            "message": message,
            "severity": _ERROR if finding.severity is Severity.ERROR else _WARNING,
            "code": change.id,
            "source": SOURCE,
        }
        if url and client.code_description:
            item["codeDescription"] = {"href": url}
        if finding.severity is Severity.WARNING and client.deprecated_tag:
            item["tags"] = _DEPRECATED
        self._templates[key] = (change, item, data)  # holding the change keeps its id unique
        return item, data

    def items(self, analysis: DocumentAnalysis, version: int | None) -> tuple[list[dict[str, Any]], str]:
        """The diagnostics of an analysis as plain JSON values (what :meth:`convert` gives,
        unstructured), and a serial that changes whenever they are built again."""
        cached = self._items.get(analysis)
        if cached is not None and cached[0] == version:
            return cached[2], cached[1]
        source = analysis.source
        encoding = self._server.encoding
        exact_columns = encoding == "utf-32" or source.isascii()
        positions = None if exact_columns else position_map(source)
        items: list[dict[str, Any]] = []
        append = items.append
        template = self._template
        runs = analysis.finding_runs()
        too_new = too_new_findings(analysis)  # recode.tooNew / RECODE_TOO_NEW=1 (toonew/lsp.py); else []
        for findings, chars, lines in [*runs, (too_new, 0, 0)] if too_new else runs:
            for finding in findings:
                start, end = finding.range.start, finding.range.end
                start_line, end_line = start.line + lines, end.line + lines
                fields, data_fields = template(finding)
                item = fields.copy()
                data = data_fields.copy()
                data["key"] = f"{data['id']}:{start_line}:{start.column}:{end_line}:{end.column}"
                data["version"] = version
                item["data"] = data
                if positions is None:
                    start_char, end_char = start.column, end.column
                else:
                    (start_line, start_char), (end_line, end_char) = positions.range(
                        finding.start_offset + chars, finding.end_offset + chars, encoding
                    )
                item["range"] = {
                    "start": {"line": start_line, "character": start_char},
                    "end": {"line": end_line, "character": end_char},
                }
                append(item)
        serial = str(next(self._serial))
        self._items[analysis] = (version, serial, items)
        return items, serial

    def convert(self, analysis: DocumentAnalysis, version: int | None) -> tuple[list[types.Diagnostic], str]:
        """Every diagnostic of an analysis as lsprotocol objects (the same as :meth:`items`)."""
        cached = self._converted.get(analysis)
        if cached is not None and cached[0] == version:
            return cached[2], cached[1]
        positions = position_map(analysis.source)
        encoding = self._server.encoding
        findings = [*analysis.findings, *too_new_findings(analysis)]
        diagnostics = [self.diagnostic(finding, version, positions, encoding) for finding in findings]
        serial = str(next(self._serial))
        self._converted[analysis] = (version, serial, diagnostics)
        return diagnostics, serial

    def for_findings(
        self, analysis: DocumentAnalysis, version: int | None, findings: Iterable[Finding]
    ) -> dict[str, types.Diagnostic]:
        """The diagnostics of some findings of an analysis, by :func:`finding_key` (code actions
        name a few: building all of a finding-dense module's costs tens of milliseconds)."""
        positions = position_map(analysis.source)
        encoding = self._server.encoding
        return {finding_key(f): self.diagnostic(f, version, positions, encoding) for f in findings}

    def diagnostic(
        self, finding: Finding, version: int | None, positions: PositionMap, encoding: str
    ) -> types.Diagnostic:
        """One finding (of the source ``positions`` maps) as an lsprotocol diagnostic."""
        client = self._server.client
        change = finding.change
        url = change_url(change.source)
        message = finding.message
        data: dict[str, Any] = {"id": change.id, "key": finding_key(finding), "version": version}
        if url is None or not client.code_description:
            explanation = change.note or change.source
            data["explanation"] = explanation
            if explanation and explanation not in message:
                message = f"{message}\n{explanation}"
        deprecated = finding.severity is Severity.WARNING and client.deprecated_tag
        return types.Diagnostic(
            range=lsp_range(positions, finding.start_offset, finding.end_offset, encoding),
            message=message,
            severity=(
                types.DiagnosticSeverity.Error
                if finding.severity is Severity.ERROR
                else types.DiagnosticSeverity.Warning
            ),
            code=change.id,
            code_description=types.CodeDescription(href=url) if url and client.code_description else None,
            source=SOURCE,
            tags=[types.DiagnosticTag.Deprecated] if deprecated else None,
            data=data,
        )


def register(server: RecodeLanguageServer) -> None:
    """``textDocument/diagnostic`` (pull); pushing is driven by document events."""

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=False, workspace_diagnostics=False),
    )
    @guarded(lambda params: types.RelatedFullDocumentDiagnosticReport(items=[]))
    async def diagnostic(ls: RecodeLanguageServer, params: types.DocumentDiagnosticParams) -> Any:
        snapshot = await ls.documents.snapshot(params.text_document.uri)
        if snapshot is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        items, result_id = ls.diagnostics.of(snapshot)
        if params.previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        # A RelatedFullDocumentDiagnosticReport, as plain JSON (see the module notes).
        return Json(kind=types.DocumentDiagnosticReportKind.Full.value, resultId=result_id, items=items)
