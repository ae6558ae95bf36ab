"""Hover: what changed about the API under the cursor, and how the target version documents it.

In LSP the client sends ``textDocument/hover`` with a position; the server answers with
content (Markdown when the client declares ``hover.contentFormat`` Markdown, plain text
otherwise) and the range it describes. On a flagged API, ReCode shows the old and new names,
the versions that deprecated and removed it, the knowledge base's note and doc text, and,
when :mod:`recode_lsp.api_docs` is installed, the new API's signature and docstring *as the
target version defines it* (read from the installed package or a fetched release).

Fetching docs can take seconds (it may download a release), so it never runs on the event
loop and never holds up diagnostics: lookups run in their own daemon threads, hover waits for
them at most ``recode.hoverDocsTimeoutMs`` and otherwise shows the knowledge base's text (the
lookup finishes in the background and the next hover has it). Once an open document's diagnostics
are computed, the docs of its findings are looked up in the background (:func:`prefetch`), so the
first hover usually has them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types

from recode_lsp.engine.changes import DISPLAY_NAMES, ApiChange, ChangeKind
from recode_lsp.engine.edits import position_map
from recode_lsp.engine.model import Finding
from recode_lsp.engine.versions import Version
from recode_lsp.server.convert import engine_position, lsp_range
from recode_lsp.server.diagnostics import change_url
from recode_lsp.server.guard import guarded, nothing

if TYPE_CHECKING:
    from recode_lsp.server.documents import Snapshot
    from recode_lsp.server.server import RecodeLanguageServer
    from recode_lsp.server.settings import ProjectContext

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The notes under a hover that shows ReCode's own summary rather than the target version's docs:
# they say why, in the user's terms (a setting to change, a moment to wait).
KB = "From ReCode's knowledge base"
NOT_INSTALLED = f"{KB}: the target version's docs need ReCode's API-docs support, which is not installed here."
DISABLED = f"{KB}: the target version's docs are turned off (`recode.apiDocs`)."
LOADING = f"{KB}: the target version's docs are being fetched; hover again in a moment to see them."
#: ``recode_lsp.api_docs`` notes in its own terms; hover says the same to the user.
_NOTE_WORDING = (
    ("; the docstring is the knowledge base's (none in the sources)", "; description from ReCode's knowledge base"),
    ("; showing the knowledge base's text", "; showing ReCode's knowledge base text"),
)


def user_note(note: str) -> str:
    """A docs note in the words hover uses (``recode_lsp.api_docs`` writes them for its callers)."""
    for internal, wording in _NOTE_WORDING:
        note = note.replace(internal, wording)
    return note


def _api_docs_class() -> Any | None:
    """``recode_lsp.api_docs.ApiDocs`` if that module is installed."""
    try:
        from recode_lsp.api_docs import ApiDocs
    except ImportError:
        return None
    return ApiDocs


_shared_guard = threading.Lock()
_shared: dict[str | None, Any] = {}


def shared_api_docs(interpreter: str | None) -> Any | None:
    """The one ``ApiDocs`` of ``interpreter`` (None: not installed), shared by hover and the
    validator's name check, so a release read for one is at hand for the other."""
    api_docs = _api_docs_class()
    if api_docs is None:
        return None
    with _shared_guard:
        instance = _shared.get(interpreter)
        if instance is None:
            instance = _shared[interpreter] = api_docs(cache_dir(), interpreter=interpreter)
        return instance


def cache_dir() -> Path:
    from recode_lsp.cache_home import api_docs_cache_dir

    return api_docs_cache_dir()


def run_in_daemon_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run blocking ``fn`` in a daemon thread (the server can exit while it runs)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = fn()
        except BaseException as error:  # noqa: BLE001 - handed to the event loop
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=target, name="recode-api-docs", daemon=True).start()
    return future


class DocsLookups:
    """Shared ``ApiDocs`` instances and the lookups in flight or done."""

    def __init__(self) -> None:
        self._lookups: dict[tuple[str, str, str | None, str | None], asyncio.Future[Any]] = {}

    def clear(self) -> None:
        self._lookups.clear()

    def lookup(self, change: ApiChange, qualified_name: str, version: Version | None, interpreter: str | None) -> Any:
        """The future of an ``ApiDoc`` (None when api_docs is not installed)."""
        instance = shared_api_docs(interpreter)
        if instance is None:
            return None
        key = (qualified_name, change.library, str(version) if version else None, interpreter)
        future = self._lookups.get(key)
        if future is None or (future.done() and future.exception() is not None):
            future = run_in_daemon_thread(lambda: instance.lookup(qualified_name, change.library, version, change))
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._lookups[key] = future
        return future


def _versions(change: ApiChange) -> str:
    """The version history in the words of the finding's message ("Removed in NumPy 2.0 (deprecated since 1.25)")."""
    library = DISPLAY_NAMES.get(change.library, change.library)
    deprecated, removed = change.deprecated_in, change.removed_in
    if removed is not None:
        verb = {ChangeKind.SIGNATURE_CHANGE: "Changed in", ChangeKind.BEHAVIOUR_CHANGE: "Behaves differently since"}
        text = f"{verb.get(change.kind, 'Removed in')} {library} {removed}"
        text += f" (deprecated since {deprecated})" if deprecated is not None else ""
    elif deprecated is not None:
        text = f"Deprecated since {library} {deprecated}"
    else:
        text = "Changed"
    if change.restored_in is not None:
        text += f"; restored in {library} {change.restored_in}"
    return text


def render(finding: Finding, project: ProjectContext, doc: Any | None, doc_note: str, markdown: bool) -> str:
    """The hover text of one finding (Markdown or plain text)."""
    change = finding.change
    target = project.analysis.options.targets.get(change.library)
    library = DISPLAY_NAMES.get(change.library, change.library)
    old = change.old + (f"({change.old_keyword}=...)" if change.old_keyword else "")
    # describe_new() has its names in backticks already (a replacement may mix code and prose).
    new = change.describe_new() if markdown else change.describe_new().replace("`", "")
    code = (lambda text: f"`{text}`") if markdown else (lambda text: text)
    bold = (lambda text: f"**{text}**") if markdown else (lambda text: text)
    lines = [
        f"{bold('ReCode ' + change.id)}: {code(old)} → {new}",
        "",
        _versions(change)
        + (f"; target: {library} {target}" if target is not None else "; target: the newest known version"),
    ]
    if change.note:
        lines += ["", change.note]
    signature = getattr(doc, "signature", None) if doc is not None else None
    docstring = getattr(doc, "docstring", None) if doc is not None else None
    origin = getattr(doc, "origin", "knowledge-base") if doc is not None else "knowledge-base"
    if signature or (docstring and origin != "knowledge-base"):
        version = getattr(doc, "version", None)
        where = f"{library} {version}" if version else library
        lines += ["", f"{bold(change.new or new)} in {where} ({origin}):"]
        if signature:
            lines += ["```python", signature, "```"] if markdown else [signature]
        if docstring:
            lines += ["", docstring.strip()]
        note = user_note(getattr(doc, "note", ""))
        if note:
            lines += ["", f"_{note}_" if markdown else note]
    else:
        if change.doc:
            lines += ["", f"{bold(change.new or new)}: {change.doc}"]
        note = user_note(getattr(doc, "note", "") if doc is not None else "") or doc_note
        if note:
            lines += ["", f"_{note}_" if markdown else note]
    url = change_url(change.source)
    lines += ["", f"Source: {url or change.source}"]
    return "\n".join(lines)


async def hover(ls: RecodeLanguageServer, params: types.HoverParams) -> types.Hover | None:
    snapshot = await ls.documents.snapshot(params.text_document.uri)
    if snapshot is None or snapshot.shown is None:
        return None
    analysis = snapshot.shown
    positions = position_map(analysis.source)
    position = engine_position(positions, params.position, ls.encoding)
    findings = analysis.findings_at(position.line, position.column)
    if not findings:
        return None
    markdown = ls.client.markdown_hover
    parts = []
    for finding in findings:
        doc, note = await docs_for(ls, finding, snapshot.project)
        parts.append(render(finding, snapshot.project, doc, note, markdown))
    first = findings[0]
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText,
            value=("\n\n---\n\n" if markdown else "\n\n").join(parts),
        ),
        range=lsp_range(positions, first.start_offset, first.end_offset, ls.encoding),
    )


async def docs_for(ls: RecodeLanguageServer, finding: Finding, project: ProjectContext) -> tuple[Any | None, str]:
    """The target version's docs of the new API, or None and why the knowledge base is shown."""
    settings = project.settings
    change = finding.change
    if not settings.api_docs:
        return None, DISABLED
    if not change.new:
        return None, ""  # nothing replaces the old API: there are no docs to look up
    target = project.analysis.options.targets.get(change.library)
    try:
        future = ls.docs.lookup(change, change.new, target, settings.interpreter)
    except Exception as error:  # noqa: BLE001 - docs are optional; hover still answers
        logger.warning("cannot look API docs up: %r", error)
        return None, f"{KB}: the target version's docs are not available ({error})."
    if future is None:
        return None, NOT_INSTALLED
    try:
        return await asyncio.wait_for(asyncio.shield(future), settings.hover_docs_timeout_ms / 1000), ""
    except asyncio.TimeoutError:
        return None, LOADING
    except Exception as error:  # noqa: BLE001 - docs are optional
        logger.warning("API docs lookup failed: %r", error)
        return None, f"{KB}: looking up the target version's docs failed ({error})."


def prefetch(ls: RecodeLanguageServer, snapshot: Snapshot) -> int:
    """Start looking up the docs of every new API the shown findings name, in the background.

    Called once diagnostics are computed, so the first hover finds the docs read (or the release
    being fetched already) instead of waiting for them. Lookups are shared with hover (one per
    name, version and interpreter), so this costs nothing when they are done. Returns how many
    lookups it asked for (done or not).
    """
    analysis = snapshot.shown
    settings = snapshot.project.settings
    if analysis is None or not settings.api_docs:
        return 0
    targets = snapshot.project.analysis.options.targets
    asked: set[tuple[str, str]] = set()
    for finding in analysis.findings:
        change = finding.change
        if not change.new or (change.new, change.library) in asked:
            continue
        asked.add((change.new, change.library))
        try:
            if ls.docs.lookup(change, change.new, targets.get(change.library), settings.interpreter) is None:
                return 0  # api_docs is not installed
        except Exception as error:  # noqa: BLE001 - docs are optional; hover says why later
            logger.info("cannot prefetch API docs: %r", error)
            return 0
    return len(asked)


def _prefetch_after_diagnostics(ls: RecodeLanguageServer) -> None:
    """Every snapshot whose diagnostics are computed (pushed or pulled) prefetches its docs.

    Both paths go through ``Diagnostics.of``; wrapping it keeps this feature out of the
    diagnostics module (a hook there would be the tidier place).
    """
    diagnostics = ls.diagnostics
    compute = diagnostics.of

    def of_then_prefetch(snapshot: Snapshot) -> Any:
        result = compute(snapshot)
        try:
            prefetch(ls, snapshot)
        except Exception as error:  # noqa: BLE001 - never costs the diagnostics
            logger.info("API docs prefetch failed: %r", error)
        return result

    setattr(diagnostics, "of", of_then_prefetch)  # noqa: B010 - an instance's method, replaced once


def register(server: RecodeLanguageServer) -> None:
    _prefetch_after_diagnostics(server)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded(nothing)
    async def on_hover(ls: RecodeLanguageServer, params: types.HoverParams) -> types.Hover | None:
        return await hover(ls, params)
