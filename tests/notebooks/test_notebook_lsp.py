"""``recode-lsp`` with LSP 3.17 notebook documents: per-cell diagnostics and quick fixes, fix-all per notebook.

The real server over stdio (the harness of ``tests/lsp``), once per client profile, with the
client declaring notebook document sync as VS Code does for ``.ipynb`` files.
"""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from recode_lsp.engine.edits import PositionMap
from tests.lsp import conftest as lsp_fixtures
from tests.lsp.conftest import PROFILES, Session, Starter

# The harness's fixtures (a project with numpy==2.0 targets, a server starter), shared here.
project = lsp_fixtures.project
start = lsp_fixtures.start

CELLS = [
    (types.NotebookCellKind.Markup, "markdown", "# Old APIs"),
    (types.NotebookCellKind.Code, "python", "%matplotlib inline\nimport numpy as np\nimport jax.numpy as jnp"),
    (types.NotebookCellKind.Code, "python", "!ls\nx = np.float_(1)\ny = jnp.trapz(jnp.ones(3))"),
]


def capabilities(profile: str) -> types.ClientCapabilities:
    caps = client_capabilities(PROFILES[profile])
    caps.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities()
    )
    return caps


async def pushed(session: Session, uri: str, after: int = 0) -> list[types.Diagnostic]:
    """The first diagnostics pushed for ``uri`` after ``after`` publishes."""
    while True:
        waiter = session.client.protocol.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        for params in session.published[after:]:
            if params.uri == uri:
                return list(params.diagnostics)
        await asyncio.wait_for(asyncio.wrap_future(waiter), timeout=30)


def apply(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    positions = PositionMap(text)
    spans = []
    for edit in edits:
        begin = positions.offset(edit.range.start.line, edit.range.start.character, encoding)
        end = positions.offset(edit.range.end.line, edit.range.end.character, encoding)
        spans.append((begin, end, edit.new_text))
    for begin, end, new in sorted(spans, reverse=True):
        text = text[:begin] + new + text[end:]
    return text


def cell_edits(edit: types.WorkspaceEdit) -> dict[str, list[types.TextEdit]]:
    if edit.document_changes:
        out = {}
        for change in edit.document_changes:
            assert isinstance(change, types.TextDocumentEdit)
            assert change.text_document.version == 1  # the cell's own document version
            out[change.text_document.uri] = [e for e in change.edits if isinstance(e, types.TextEdit)]
        return out
    assert edit.changes is not None
    return {uri: list(edits) for uri, edits in edit.changes.items()}


@pytest.mark.parametrize("profile", list(PROFILES), ids=list(PROFILES))
async def test_notebook_cells_get_diagnostics_and_fixes(start: Starter, profile: str) -> None:
    session = await start(capabilities(profile))
    path = session.root / "analysis.ipynb"
    path.write_text("{}")  # the client owns the content; the file only has to exist
    uri = path.as_uri()
    cell_uris = [f"vscode-notebook-cell:{path}#W{index}" for index in range(len(CELLS))]
    texts = {cell_uri: text for cell_uri, (_, _, text) in zip(cell_uris, CELLS, strict=True)}
    session.client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=uri,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[
                    types.NotebookCell(kind=kind, document=cell_uri)
                    for cell_uri, (kind, _, _) in zip(cell_uris, CELLS, strict=True)
                ],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=cell_uri, language_id=language, version=1, text=text)
                for cell_uri, (_, language, text) in zip(cell_uris, CELLS, strict=True)
            ],
        )
    )
    diagnostics = await pushed(session, cell_uris[2])
    found = sorted((d.range.start.line, d.range.start.character, str(d.code)[:3]) for d in diagnostics)
    assert found == [(1, 4, "NPY"), (2, 4, "JAX")]  # np.float_ on the cell's second line, jnp.trapz on its third
    assert all(p.uri != cell_uris[1] or not p.diagnostics for p in session.published)

    # A quick fix on the cell: its edit changes that cell only.
    text = texts[cell_uris[2]]
    start_pos = PositionMap(text).range(text.index("np.float_"), text.index("np.float_") + 3, session.encoding)[0]
    position = types.Position(line=start_pos[0], character=start_pos[1])
    actions = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uris[2]),
            range=types.Range(start=position, end=position),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
        )
    )
    [quick] = [a for a in actions or [] if isinstance(a, types.CodeAction)]
    assert quick.kind == types.CodeActionKind.QuickFix and quick.edit is not None and quick.is_preferred
    resolved = await session.client.code_action_resolve_async(quick)
    assert resolved.edit == quick.edit
    edits = cell_edits(quick.edit)
    assert list(edits) == [cell_uris[2]]
    assert apply(text, edits[cell_uris[2]], session.encoding) == text.replace("np.float_", "np.float64")

    # Fix all, for the whole notebook: the new import goes into the cell with the imports.
    actions = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uris[2]),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.recode"]),
        )
    )
    [fix_all] = [a for a in actions or [] if isinstance(a, types.CodeAction)]
    assert fix_all.edit is not None
    edits = cell_edits(fix_all.edit)
    assert set(edits) == {cell_uris[1], cell_uris[2]}
    assert apply(texts[cell_uris[1]], edits[cell_uris[1]], session.encoding) == (
        "%matplotlib inline\nimport numpy as np\nimport jax.numpy as jnp\nfrom jax.scipy.integrate import trapezoid"
    )
    fixed = apply(texts[cell_uris[2]], edits[cell_uris[2]], session.encoding)
    assert fixed == "!ls\nx = np.float64(1)\ny = trapezoid(jnp.ones(3))"

    # The user types the fix in: the cell's diagnostics go.
    mark = len(session.published)
    session.client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(uri=uri, version=2),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(uri=cell_uris[2], version=2),
                            changes=[types.TextDocumentContentChangeWholeDocument(text="!ls\nx = np.float64(1)\n")],
                        )
                    ]
                )
            ),
        )
    )
    assert await pushed(session, cell_uris[2], mark) == []

    # Back to old code, then closed: the diagnostics are cleared.
    mark = len(session.published)
    session.client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(uri=uri, version=3),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(uri=cell_uris[2], version=3),
                            changes=[types.TextDocumentContentChangeWholeDocument(text="z = np.float_(2)\n")],
                        )
                    ]
                )
            ),
        )
    )
    assert len(await pushed(session, cell_uris[2], mark)) == 1
    mark = len(session.published)
    session.client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=uri),
            cell_text_documents=[types.TextDocumentIdentifier(uri=cell_uri) for cell_uri in cell_uris],
        )
    )
    assert await pushed(session, cell_uris[2], mark) == []


def open_notebook(session: Session, name: str, sources: list[str]) -> list[str]:
    """Opens a notebook of code cells (``notebookDocument/didOpen``); the cells' URIs."""
    path = session.root / name
    path.write_text("{}")
    cell_uris = [f"vscode-notebook-cell:{path}#W{index}" for index in range(len(sources))]
    session.client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=path.as_uri(),
                notebook_type="jupyter-notebook",
                version=1,
                cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=uri) for uri in cell_uris],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
                for uri, text in zip(cell_uris, sources, strict=True)
            ],
        )
    )
    return cell_uris


async def test_changed_settings_republish_open_notebooks(start: Starter) -> None:
    session = await start(capabilities("vscode"))
    cell_uris = open_notebook(session, "settings.ipynb", ["import numpy as np", "x = np.float_(1)"])
    assert len(await pushed(session, cell_uris[1])) == 1
    # numpy 1.26 still has np.float_: the finding goes without the notebook being touched.
    mark = len(session.published)
    await session.configure(targets=["numpy==1.26"])
    assert await pushed(session, cell_uris[1], mark) == []
    mark = len(session.published)
    await session.configure(targets=["numpy==2.0"])
    assert len(await pushed(session, cell_uris[1], mark)) == 1


async def test_a_cell_that_is_not_python_is_logged(start: Starter) -> None:
    session = await start(capabilities("vscode"))
    cell_uris = open_notebook(session, "broken.ipynb", ["import numpy as np", "def f(:", "x = np.float_(1)"])
    assert len(await pushed(session, cell_uris[2])) == 1  # the other cells are checked
    message = await session.log_message("broken.ipynb: cell 2 not checked")
    assert "not valid Python" in message.message
