"""End-to-end harness: the real server in a subprocess, driven over stdio by pytest-lsp's client.

Every test runs once per client profile pytest-lsp ships: VS Code 1.65 (no pull diagnostics,
so the server pushes; UTF-16 positions) and Neovim 0.11 (pulls; offers UTF-8 positions first).
Files are real files in ``tmp_path`` next to a ``pyproject.toml`` with ``[tool.recode]``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

from recode_lsp.engine.edits import PositionMap

SERVER = [sys.executable, "-m", "recode_lsp.server"]

PROFILES = {"vscode": "visual-studio-code", "neovim": "neovim"}

FIXTURE = textwrap.dedent(
    '''\
    """Fixture module."""
    import numpy as np


    def scale(values):
        s = "é😀"; total = np.float_(0)
        for value in values:
            total += np.product(value)
        return total, np.in1d(values, [1]), s


    def infinity():
        return np.NINF
    '''
)


@dataclass
class Session:
    """A started client with helpers for the document conversation."""

    client: LanguageClient
    root: Path
    pull: bool
    encoding: str
    published: list[types.PublishDiagnosticsParams] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    # --- documents ---------------------------------------------------------------------------

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def open(self, name: str, text: str | None = None) -> str:
        path = self.root / name
        if text is None:
            text = path.read_text(encoding="utf-8")
        else:
            self.write(name, text)
        uri = path.as_uri()
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def replace(self, uri: str, old: str, new: str) -> None:
        """An incremental edit: the first ``old`` in the document becomes ``new``."""
        text = self.texts[uri]
        start = text.index(old)
        positions = PositionMap(text)
        (start_line, start_char), (end_line, end_char) = positions.range(start, start + len(old), self.encoding)
        self.versions[uri] += 1
        self.texts[uri] = text[:start] + new + text[start + len(old) :]
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=start_line, character=start_char),
                            end=types.Position(line=end_line, character=end_char),
                        ),
                        text=new,
                    )
                ],
            )
        )

    def set_text(self, uri: str, text: str) -> None:
        """A full-text change."""
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    # --- diagnostics -------------------------------------------------------------------------

    async def diagnostics(self, uri: str, after: int | None = None) -> list[types.Diagnostic]:
        """The diagnostics of the document's current version (pulled, or the push for it).

        ``after``: in push mode, only a publish that arrives after ``len(published)`` was
        ``after`` counts (a re-publish of the same version, after a settings change).
        """
        if self.pull:
            report = await self.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
            assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
            return list(report.items)
        version = self.versions[uri]
        while True:
            waiter = self.client.protocol.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            for index in range(len(self.published) - 1, (after if after is not None else 0) - 1, -1):
                params = self.published[index]
                if params.uri == uri and (after is not None or params.version == version):
                    return list(params.diagnostics)
            await asyncio.wait_for(asyncio.wrap_future(waiter), timeout=30)

    def mark(self) -> int:
        """A point in the stream of pushed diagnostics (see ``diagnostics(after=...)``)."""
        return len(self.published)

    async def configure(self, **settings: Any) -> None:
        """New ``recode`` settings, announced with ``workspace/didChangeConfiguration``."""
        current = dict(self.client.get_configuration(section="recode") or {})
        current.update(settings)
        self.client.set_configuration(current, section="recode")
        self.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

    async def log_message(self, contains: str) -> types.LogMessageParams:
        """Wait for a ``window/logMessage`` containing ``contains`` (or find one already here)."""
        while True:
            waiter = self.client.protocol.wait_for_notification(types.WINDOW_LOG_MESSAGE)
            for message in self.client.log_messages:
                if contains in message.message:
                    return message
            await asyncio.wait_for(asyncio.wrap_future(waiter), timeout=30)

    # --- code actions ---------------------------------------------------------------------------

    async def actions(
        self, uri: str, needle: str | None = None, only: list[str] | None = None
    ) -> list[types.CodeAction]:
        text = self.texts[uri]
        positions = PositionMap(text)
        if needle is None:
            start_pos = end_pos = (0, 0)
        else:
            start = text.index(needle)
            start_pos, end_pos = positions.range(start, start + len(needle), self.encoding)
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(
                    start=types.Position(line=start_pos[0], character=start_pos[1]),
                    end=types.Position(line=end_pos[0], character=end_pos[1]),
                ),
                context=types.CodeActionContext(diagnostics=[], only=only),
            )
        )
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    def apply(self, uri: str, edit: types.WorkspaceEdit) -> str:
        """The document's text with a workspace edit applied (as the editor would)."""
        if edit.document_changes:
            (change,) = edit.document_changes
            assert isinstance(change, types.TextDocumentEdit)
            assert change.text_document.uri == uri
            assert change.text_document.version == self.versions[uri]
            edits = list(change.edits)
        else:
            assert edit.changes is not None
            edits = list(edit.changes[uri])
        text = self.texts[uri]
        positions = PositionMap(text)
        spans = []
        for text_edit in edits:
            assert isinstance(text_edit, types.TextEdit)
            start = positions.offset(text_edit.range.start.line, text_edit.range.start.character, self.encoding)
            end = positions.offset(text_edit.range.end.line, text_edit.range.end.character, self.encoding)
            spans.append((start, end, text_edit.new_text))
        for start, end, new_text in sorted(spans, reverse=True):
            text = text[:start] + new_text + text[end:]
        return text


Starter = Callable[..., Awaitable[Session]]


@pytest.fixture(params=list(PROFILES), ids=list(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "fixture"\n\n[tool.recode]\ntargets = ["numpy==2.0"]\n')
    (root / "module.py").write_text(FIXTURE, encoding="utf-8")
    return root


@pytest_asyncio.fixture
async def start(tmp_path: Path, project: Path) -> AsyncIterator[Starter]:
    """A factory that starts the server and initialises a session with given capabilities."""
    sessions: list[Session] = []

    async def starter(
        capabilities: types.ClientCapabilities,
        settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> Session:
        client = make_test_lsp_client()
        # The session's cache is the test's own, whatever cache the user who runs the tests has set.
        outside = {key: value for key, value in os.environ.items() if key != "RECODE_CACHE_DIR"}
        session_env = {**outside, "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})}
        await client.start_io(*SERVER, *(args or []), env=session_env)
        client.set_configuration({"apiDocs": False, **(settings or {})}, section="recode")
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                root_uri=project.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="project")],
            )
        )
        pull = result.capabilities.diagnostic_provider is not None
        encoding = result.capabilities.position_encoding or "utf-16"
        session = Session(client, project, pull, str(getattr(encoding, "value", encoding)))

        def on_publish(client_: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
            client_.diagnostics[params.uri] = params.diagnostics
            session.published.append(params)

        client.protocol.fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = lambda params: on_publish(
            client, params
        )
        sessions.append(session)
        return session

    yield starter
    for session in sessions:
        await session.client.shutdown_session()
        await session.client.stop()


@pytest_asyncio.fixture
async def session(start: Starter, profile: str) -> Session:
    """A session with the profile's capabilities."""
    return await start(client_capabilities(PROFILES[profile]))
