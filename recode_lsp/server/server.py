"""The language server object: state shared by the feature modules, and what the client can do.

A pygls server is a :class:`~pygls.lsp.server.LanguageServer` with handlers registered per
LSP method. At ``initialize`` the client lists its *capabilities* (pull diagnostics or not,
resolvable code actions or not, Markdown hovers, position encodings...) and the server answers
with its own, computed by pygls from the registered features. :class:`RecodeProtocol` adds one
step: a client that cannot pull diagnostics is not told the server offers them, since it gets
them pushed instead.

State lives here and nowhere else: the settings (:mod:`.settings`), the open documents and
their analyses (:mod:`.documents`), the diagnostics publisher (:mod:`.diagnostics`) and the
API-docs lookups (:mod:`.hover`). Each feature module registers its handlers in
:func:`create_server`; handlers are thin and leave the work to
:mod:`recode_lsp.engine.document`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from recode_lsp import __version__
from recode_lsp.engine.edits import UTF16
from recode_lsp.server import transport
from recode_lsp.server.collect import CollectBetweenRequests, TrackedExecutor

logger = logging.getLogger("recode_lsp.server")


@dataclass
class ClientFeatures:
    """What the client declared it supports, read once at ``initialize``."""

    pull_diagnostics: bool = False
    diagnostic_refresh: bool = False
    code_description: bool = False
    deprecated_tag: bool = False
    configuration: bool = False
    dynamic_configuration: bool = False
    dynamic_watched_files: bool = False
    resolve_edit: bool = False
    document_changes: bool = False
    markdown_hover: bool = False

    @classmethod
    def of(cls, capabilities: types.ClientCapabilities) -> ClientFeatures:
        def has(path: str) -> Any:
            return get_capability(capabilities, path, None)

        tags = has("text_document.publish_diagnostics.tag_support")
        resolve = has("text_document.code_action.resolve_support")
        hover_formats = has("text_document.hover.content_format") or []
        return cls(
            pull_diagnostics=has("text_document.diagnostic") is not None,
            diagnostic_refresh=bool(has("workspace.diagnostics.refresh_support")),
            code_description=bool(has("text_document.publish_diagnostics.code_description_support"))
            or has("text_document.diagnostic") is not None,
            deprecated_tag=bool(tags and types.DiagnosticTag.Deprecated in tags.value_set),
            configuration=bool(has("workspace.configuration")),
            dynamic_configuration=bool(has("workspace.did_change_configuration.dynamic_registration")),
            dynamic_watched_files=bool(has("workspace.did_change_watched_files.dynamic_registration")),
            resolve_edit=bool(resolve and "edit" in resolve.properties),
            document_changes=bool(has("workspace.workspace_edit.document_changes")),
            markdown_hover=types.MarkupKind.Markdown in hover_formats,
        )


class RecodeProtocol(LanguageServerProtocol):
    """pygls's protocol, with the diagnostic provider offered only to clients that pull."""

    _server: RecodeLanguageServer

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        self._server.client = ClientFeatures.of(params.capabilities)
        self._server.settings.set_fallback(params.initialization_options)
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        if not self._server.client.pull_diagnostics:
            result.capabilities.diagnostic_provider = None
        return result

    # Requests in flight, for garbage collection between them (:mod:`.collect`).

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        self._server.collector.started(msg_id)
        super()._handle_request(msg_id, method_name, params)

    def _send_response(self, msg_id: Any, result: Any | None = None, error: Any | None = None) -> None:
        super()._send_response(msg_id, result, error)
        self._server.collector.finished(msg_id)


class RecodeLanguageServer(LanguageServer):
    """``recode-lsp``: version-aware diagnostics, quick fixes and hover for outdated APIs."""

    def __init__(self, max_message_bytes: int = transport.DEFAULT_MAX_MESSAGE_BYTES) -> None:
        super().__init__(
            name="recode-lsp",
            version=__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=_notebook_sync(),
            protocol_cls=RecodeProtocol,
        )
        from recode_lsp.server.diagnostics import Diagnostics
        from recode_lsp.server.documents import Documents
        from recode_lsp.server.hover import DocsLookups
        from recode_lsp.server.settings import SettingsStore

        self.client = ClientFeatures()
        #: The largest message body read (``--max-message-bytes``); a larger one is rejected.
        self.max_message_bytes = max_message_bytes
        #: Garbage is collected between requests (enabled by ``recode-lsp``'s main, not in tests).
        self.collector = CollectBetweenRequests()
        #: Analyses and fixes run here; the event loop only reads and writes messages.
        self.executor = TrackedExecutor(
            self.collector,
            max_workers=int(os.environ.get("RECODE_LSP_WORKERS", "2")),
            thread_name_prefix="recode-analysis",
        )
        self.settings = SettingsStore(self)
        self.documents = Documents(self)
        self.diagnostics = Diagnostics(self)
        self.docs = DocsLookups()
        #: Model clients by (endpoint, model name), for the model-fix hook.
        self.model_clients: dict[tuple[str, str], Any] = {}

    @property
    def encoding(self) -> str:
        """The position encoding agreed with the client (``utf-16`` unless it offered another)."""
        try:
            encoding = self.workspace.position_encoding or UTF16
        except RuntimeError:  # not initialised yet
            return UTF16
        return str(getattr(encoding, "value", encoding))

    def log(self, message: str, level: types.MessageType = types.MessageType.Log) -> None:
        """A line in the client's log (``window/logMessage``) and in the server's."""
        logger.log(
            {types.MessageType.Error: logging.ERROR, types.MessageType.Warning: logging.WARNING}.get(
                level, logging.INFO
            ),
            message,
        )
        self.window_log_message(types.LogMessageParams(type=level, message=message))

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        super().shutdown()

    # pygls's own loops trust every header and drop requests they cannot decode: :mod:`.transport`
    # reads and answers instead (issue 13).

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
        """Serve over stdio until ``exit`` or the end of the input; the process's exit code."""
        return transport.serve_stdio(self, self.max_message_bytes, stdin, stdout)

    def start_tcp(self, host: str, port: int) -> int:  # type: ignore[override]
        """Serve one client on ``host:port``; the process's exit code."""
        return transport.serve_tcp(self, self.max_message_bytes, host, port)


def _notebook_sync() -> types.NotebookDocumentSyncOptions:
    from recode_lsp.server.notebooks import SYNC_OPTIONS

    return SYNC_OPTIONS


def create_server(max_message_bytes: int = transport.DEFAULT_MAX_MESSAGE_BYTES) -> RecodeLanguageServer:
    """A server with every feature registered."""
    from recode_lsp.server import code_actions, diagnostics, documents, hover, notebooks, settings

    server = RecodeLanguageServer(max_message_bytes)
    documents.register(server)
    settings.register(server)
    diagnostics.register(server)
    code_actions.register(server)
    hover.register(server)
    notebooks.register(server)  # last: it answers code actions on notebook cells before code_actions does
    return server
