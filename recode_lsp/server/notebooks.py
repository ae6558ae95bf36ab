"""Jupyter notebooks in the editor: LSP 3.17 notebook documents (``notebookDocument/*``).

A client that syncs notebooks (VS Code does for ``.ipynb``, when the server's
``notebookDocumentSync`` selects Python cells) sends ``notebookDocument/didOpen`` with every
cell, ``didChange`` for cell edits and cell moves, ``didSave`` and ``didClose``; pygls keeps
the cells as text documents in its workspace. Here the code cells become one virtual module
(:mod:`recode_lsp.engine.notebook`: cells in order, IPython lines masked), analysed off the
event loop like a ``.py`` document, and:

* diagnostics are pushed per cell (``textDocument/publishDiagnostics`` with the cell's URI);
* ``textDocument/codeAction`` on a cell lists a quick fix per finding in the range, and a
  ``source.fixAll.recode`` action for the whole notebook; their edits are computed on the
  module and given back per cell (a new import goes to the cell holding the imports), each
  edit versioned by its cell document.

The ``.py`` handlers stay as they are: a code action request for a cell URI is answered here,
any other goes on to :mod:`.code_actions`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.document import DocumentAnalysis
from recode_lsp.engine.edits import position_map
from recode_lsp.engine.fixer import describe_fix, wanted
from recode_lsp.engine.notebook import NOT_PYTHON, NotebookError, VirtualModule, build_module, notebook_of_cells
from recode_lsp.server.convert import engine_position

if TYPE_CHECKING:
    from pathlib import Path

    from recode_lsp.engine.model import Finding
    from recode_lsp.server.server import RecodeLanguageServer
    from recode_lsp.server.settings import ProjectContext

logger = logging.getLogger(__name__)

#: What the server asks the client to sync: any notebook, its Python cells (``initialize``).
SYNC_OPTIONS = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage(language="python")], notebook="*")
    ],
    save=True,
)
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.recode"
#: Quiet time after a change before a notebook is analysed (typing in a cell sends many).
DELAY = 0.15


@dataclass
class NotebookSnapshot:
    """One version of an open notebook, its module and the module's analysis."""

    uri: str
    version: int
    #: Per cell (in notebook order): its document URI, version and text.
    cells: list[tuple[str, int | None, str]]
    module: VirtualModule
    analysis: DocumentAnalysis
    project: ProjectContext

    def first_line(self, cell: int) -> int | None:
        """The module line (0-based) of the cell's first line; None when the cell is not in the module."""
        for line, place in enumerate(self.module.line_map):
            if place is not None and place[0] == cell:
                return line
        return None


class Notebooks:
    """The open notebooks: analyses, pushed diagnostics and code actions."""

    def __init__(self, server: RecodeLanguageServer) -> None:
        self._server = server
        self._snapshots: dict[str, NotebookSnapshot] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: Cell URIs that were sent diagnostics, per notebook (to clear them later).
        self._published: dict[str, set[str]] = {}

    def notebook_of(self, cell_uri: str) -> str | None:
        notebook = self._server.workspace.get_notebook_document(cell_uri=cell_uri)
        return notebook.uri if notebook is not None else None

    # --- events -------------------------------------------------------------------------------

    def changed(self, uri: str) -> None:
        """The notebook opened, changed or was saved: analyse it and publish, after a short pause."""
        task = self._tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        self._tasks[uri] = asyncio.ensure_future(self._publish_after(uri))

    def settings_changed(self) -> None:
        """Settings or project files changed: every open notebook is analysed and published again.

        The new settings give a new project context, so the cached snapshots miss on their own.
        """
        for notebook in list(self._server.workspace.notebook_documents.values()):
            self.changed(notebook.uri)

    def closed(self, uri: str) -> None:
        task = self._tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        self._snapshots.pop(uri, None)
        for cell_uri in sorted(self._published.pop(uri, set())):
            self._send(cell_uri, [], None)

    async def _publish_after(self, uri: str) -> None:
        from recode_lsp.server.guard import report_error

        try:
            await asyncio.sleep(DELAY)
            snapshot = await self.snapshot(uri)
            if snapshot is None:
                return
            by_cell = self.diagnostics(snapshot)
            sent = self._published.setdefault(uri, set())
            for index, (cell_uri, version, _) in enumerate(snapshot.cells):
                items = by_cell.get(index, [])
                if items or cell_uri in sent:
                    self._send(cell_uri, items, version)
                    sent.add(cell_uri)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - a failed analysis must not stop the next one
            report_error(self._server, f"diagnostics of notebook {uri}", error)

    def _send(self, uri: str, diagnostics: list[types.Diagnostic], version: int | None) -> None:
        self._server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    # --- analysis -----------------------------------------------------------------------------

    async def snapshot(self, uri: str) -> NotebookSnapshot | None:
        """The notebook as the client has it now, analysed (None when it is not open)."""
        workspace = self._server.workspace
        notebook = workspace.get_notebook_document(notebook_uri=uri)
        if notebook is None:
            return None
        cells: list[tuple[str, int | None, str]] = []
        shapes: list[tuple[str, str, str | None]] = []
        for cell in notebook.cells:
            document = workspace.get_text_document(cell.document)
            cells.append((cell.document, document.version, document.source))
            kind = "code" if cell.kind == types.NotebookCellKind.Code else "markdown"
            shapes.append((kind, document.source, document.language_id))
        path: Path = _path(uri)
        project = await self._server.settings.context_for(uri, path)
        cached = self._snapshots.get(uri)
        if cached is not None and cached.cells == cells and cached.project is project:
            return cached
        module = build_module(notebook_of_cells(shapes))
        unchecked = [index + 1 for index, why in sorted(module.skipped.items()) if why == NOT_PYTHON]
        if unchecked and (cached is None or cached.cells != cells):
            # No diagnostic for it (a syntax error is the Python extension's to show): a log line.
            cells_text = f"cell{'s' if len(unchecked) > 1 else ''} {', '.join(map(str, unchecked))}"
            self._server.log(
                f"{path.name}: {cells_text} not checked: not valid Python (even with IPython syntax masked)"
            )
        context = project.analysis

        collector = self._server.collector

        def work() -> DocumentAnalysis:
            analysis = DocumentAnalysis.run(module.text, str(path), context)
            collector.after_analysis()
            return analysis

        analysis = await asyncio.wrap_future(self._server.executor.submit(work))
        snapshot = NotebookSnapshot(uri, notebook.version, cells, module, analysis, project)
        self._snapshots[uri] = snapshot
        return snapshot

    def diagnostics(self, snapshot: NotebookSnapshot) -> dict[int, list[types.Diagnostic]]:
        """The findings as diagnostics, by cell index, in cell coordinates."""
        if not snapshot.analysis.ok:
            return {}
        positions = position_map(snapshot.analysis.source)
        encoding = self._server.encoding
        by_cell: dict[int, list[types.Diagnostic]] = {}
        for finding in snapshot.analysis.findings:
            diagnostic = self._server.diagnostics.diagnostic(finding, snapshot.version, positions, encoding)
            start = snapshot.module.locate(diagnostic.range.start.line)
            end = snapshot.module.locate(diagnostic.range.end.line)
            if start is None:
                continue
            cell, line = start
            end_line, end_character = (end[1], diagnostic.range.end.character) if end and end[0] == cell else (line, 0)
            diagnostic.range = types.Range(
                start=types.Position(line=line, character=diagnostic.range.start.character),
                end=types.Position(line=end_line, character=end_character),
            )
            diagnostic.data = {**(diagnostic.data or {}), "notebook": snapshot.uri}
            by_cell.setdefault(cell, []).append(diagnostic)
        return by_cell

    # --- code actions -------------------------------------------------------------------------

    async def code_actions(self, notebook_uri: str, params: types.CodeActionParams) -> list[types.CodeAction]:
        snapshot = await self.snapshot(notebook_uri)
        if snapshot is None or not snapshot.analysis.ok:
            return []
        cell_uri = params.text_document.uri
        index = next((i for i, (uri, _, _) in enumerate(snapshot.cells) if uri == cell_uri), None)
        first = snapshot.first_line(index) if index is not None else None
        if index is None or first is None:
            return []
        analysis = snapshot.analysis
        encoding = self._server.encoding
        positions = position_map(analysis.source)

        def shifted(position: types.Position) -> types.Position:
            return types.Position(line=first + position.line, character=position.character)

        start = engine_position(positions, shifted(params.range.start), encoding)
        end = engine_position(positions, shifted(params.range.end), encoding)
        only = [str(kind) for kind in params.context.only] if params.context.only else None
        unsafe = snapshot.project.analysis.unsafe
        by_cell = self.diagnostics(snapshot).get(index, [])
        actions: list[types.CodeAction] = []
        if _requested(types.CodeActionKind.QuickFix.value, only):
            for finding in analysis.findings_in(start, end):
                if not finding.fixable or finding.safety not in (FixSafety.SAFE, FixSafety.UNSAFE):
                    continue
                result = await self._run(functools.partial(analysis.fix, finding))
                edit = self.workspace_edit(snapshot, result.source) if result.changed else None
                if edit is None:
                    continue
                safe = finding.safety is FixSafety.SAFE
                key = _key(finding)
                actions.append(
                    types.CodeAction(
                        title=describe_fix(finding.change) + ("" if safe else " (unsafe)"),
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[d for d in by_cell if isinstance(d.data, dict) and d.data.get("key") == key]
                        or None,
                        is_preferred=safe,
                        edit=edit,
                        data={"notebook": notebook_uri},
                    )
                )
        if _requested(FIX_ALL, only) and any(wanted(f, unsafe) for f in analysis.findings):
            result = await self._run(functools.partial(analysis.fix_all, unsafe))
            for finding, reason in result.skipped:
                self._server.log(f"fix all (notebook): {finding.code} not fixed: {reason}")
            edit = self.workspace_edit(snapshot, result.source) if result.changed else None
            if edit is not None:
                title = "ReCode: fix all safe fixes" if not unsafe else "ReCode: fix all (including unsafe fixes)"
                actions.append(types.CodeAction(title=title, kind=FIX_ALL, edit=edit, data={"notebook": notebook_uri}))
        return actions

    async def _run(self, work: Callable[[], Any]) -> Any:
        return await asyncio.wrap_future(self._server.executor.submit(work))

    def workspace_edit(self, snapshot: NotebookSnapshot, module_text: str) -> types.WorkspaceEdit | None:
        """The fixed module as edits of the changed cells (one edit per cell); None when it cannot be."""
        try:
            sources = snapshot.module.cell_sources(module_text)
        except NotebookError as exc:
            self._server.log(f"ReCode: a fix was dropped: {exc}", types.MessageType.Warning)
            return None
        if not sources:
            return None
        encoding = self._server.encoding
        document_edits: list[types.TextDocumentEdit] = []
        changes: dict[str, list[types.TextEdit]] = {}
        for index in sorted(sources):
            uri, version, old = snapshot.cells[index]
            new = sources[index]
            prefix = 0
            while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
                prefix += 1
            suffix = 0
            while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
                suffix += 1
            (start_line, start_character), (end_line, end_character) = position_map(old).range(
                prefix, len(old) - suffix, encoding
            )
            text_edit = types.TextEdit(
                range=types.Range(
                    start=types.Position(line=start_line, character=start_character),
                    end=types.Position(line=end_line, character=end_character),
                ),
                new_text=new[prefix : len(new) - suffix],
            )
            document_edits.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                    edits=[text_edit],
                )
            )
            changes[uri] = [text_edit]
        if self._server.client.document_changes:
            return types.WorkspaceEdit(document_changes=list(document_edits))
        return types.WorkspaceEdit(changes=changes)


def _path(uri: str) -> Path:
    from pathlib import Path

    return Path(to_fs_path(uri) or uri)


def _key(finding: Finding) -> str:
    from recode_lsp.engine.document import finding_key

    return finding_key(finding)


def _requested(kind: str, only: list[str] | None) -> bool:
    return not only or any(kind == wanted_kind or kind.startswith(f"{wanted_kind}.") for wanted_kind in only)


def _then_republish(handler: Callable[[Any], Any], notebooks: Notebooks) -> Callable[[Any], Any]:
    """``handler``, then the open notebooks re-published; async where it is (pygls looks at that)."""
    if asyncio.iscoroutinefunction(handler):

        async def notified_async(params: Any) -> Any:
            result = await handler(params)
            notebooks.settings_changed()
            return result

        return notified_async

    def notified(params: Any) -> Any:
        result = handler(params)
        # Where the handler left the settings as they were, the notebooks' cached analyses serve.
        notebooks.settings_changed()
        return result

    return notified


def register(server: RecodeLanguageServer) -> None:
    """The notebook handlers, and code actions for cells in front of the ``.py`` ones (register last)."""
    notebooks = Notebooks(server)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def did_open(ls: RecodeLanguageServer, params: types.DidOpenNotebookDocumentParams) -> None:
        notebooks.changed(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def did_change(ls: RecodeLanguageServer, params: types.DidChangeNotebookDocumentParams) -> None:
        notebooks.changed(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def did_save(ls: RecodeLanguageServer, params: types.DidSaveNotebookDocumentParams) -> None:
        notebooks.changed(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def did_close(ls: RecodeLanguageServer, params: types.DidCloseNotebookDocumentParams) -> None:
        notebooks.closed(params.notebook_document.uri)

    features = server.protocol.fm.features
    list_actions: Callable[[types.CodeActionParams], Awaitable[Any]] | None = features.get(
        types.TEXT_DOCUMENT_CODE_ACTION
    )
    resolve: Callable[[types.CodeAction], Awaitable[Any]] | None = features.get(types.CODE_ACTION_RESOLVE)

    async def code_action(params: types.CodeActionParams) -> Any:
        notebook_uri = notebooks.notebook_of(params.text_document.uri)
        if notebook_uri is not None:
            from recode_lsp.server.guard import report_error

            try:
                return await notebooks.code_actions(notebook_uri, params)
            except Exception as error:  # noqa: BLE001 - answer the request, say what failed
                report_error(server, f"code actions of notebook {notebook_uri}", error)
                return []
        return await list_actions(params) if list_actions is not None else []

    async def code_action_resolve(action: types.CodeAction) -> Any:
        if isinstance(action.data, dict) and "notebook" in action.data:
            return action  # listed with its edit
        return await resolve(action) if resolve is not None else action

    # A settings change or a saved pyproject.toml re-publishes the open notebooks as it does the
    # ``.py`` documents: after the settings handler (synchronous: the order of messages holds).
    for method in (types.WORKSPACE_DID_CHANGE_CONFIGURATION, types.WORKSPACE_DID_CHANGE_WATCHED_FILES):
        handler = features.get(method)
        if handler is not None:
            features[method] = _then_republish(handler, notebooks)

    # In front of the ``.py`` handlers: same method, same registered options.
    if list_actions is not None:
        features[types.TEXT_DOCUMENT_CODE_ACTION] = code_action
    if resolve is not None:
        features[types.CODE_ACTION_RESOLVE] = code_action_resolve
