"""Code actions: the lightbulb's quick fixes, "fix all", "ignore", and the model's migration.

In LSP the client asks ``textDocument/codeAction`` for a range (the cursor, a selection, or a
diagnostic's range) and shows the actions the server lists. Computing every edit up front
would make the lightbulb slow, so actions are listed without edits and the client asks
``codeAction/resolve`` for the edit of the one the user picks (the client declares this with
``codeAction.resolveSupport``; for clients that do not, edits are computed while listing).
Resolving works against the document as it is *now*: if it changed since the action was
listed, the finding is looked up again and the fix computed for the new text, and when the
finding is gone the action comes back without an edit.

Listed, in order:

* one ``quickfix`` per finding with a mechanical fix: safe fixes are preferred (the editor's
  "auto fix" picks them); unsafe ones are always offered, one at a time, say "(unsafe)" in
  their title and are never preferred (``recode.unsafeFixes`` decides only whether *fix all*
  applies them too): a user sees what the fix would be and applies it deliberately, without
  turning on a setting that changes fix-all for the whole project;
* "Migrate with ReCode model" per finding, when a model endpoint is configured and the model
  client is installed: never preferred, never part of fix-all (see :func:`_model_action`);
  with a non-empty selection holding a finding, also "Migrate selection with ReCode model";
* ``source.fixAll.recode``: every safe fix of the document (and unsafe ones when allowed), the
  kind editors run on save (``editor.codeActionsOnSave``);
* "Ignore ID on this line", last: adds ``# recode: ignore[ID]`` (merged into an existing one).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import uuid
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.document import finding_key
from recode_lsp.engine.edits import position_map
from recode_lsp.engine.fixer import describe_fix, wanted
from recode_lsp.engine.model import Finding
from recode_lsp.server.convert import engine_position, text_edits, workspace_edit
from recode_lsp.server.guard import empty_list, guarded
from recode_lsp.toonew import lsp as too_new

if TYPE_CHECKING:
    from recode_lsp.server.documents import Snapshot
    from recode_lsp.server.server import RecodeLanguageServer

logger = logging.getLogger(__name__)

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.recode"
MODEL_TITLE = "Migrate with ReCode model"
SELECTION_TITLE = "Migrate selection with ReCode model"

#: What ``data`` says an action is.
FIX, ALL, IGNORE, MODEL = "fix", "fixAll", "ignore", "model"


def _kind_requested(kind: str, only: list[str] | None) -> bool:
    """Whether an action of ``kind`` passes the client's ``only`` filter (kinds nest by dots)."""
    if not only:
        return True
    return any(kind == wanted_kind or kind.startswith(f"{wanted_kind}.") for wanted_kind in only)


def _offered(finding: Finding) -> bool:
    """A mechanical fix is offered as a quick fix when it is safe or unsafe (never a fix marked manual)."""
    return finding.safety in (FixSafety.SAFE, FixSafety.UNSAFE)


def _data(snapshot: Snapshot, action: str, finding: Finding | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"uri": snapshot.uri, "version": snapshot.version, "action": action}
    if finding is not None:
        data["key"] = finding_key(finding)
        data["id"] = finding.code
    return data


async def list_actions(ls: RecodeLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    snapshot = await ls.documents.snapshot(params.text_document.uri)
    if snapshot is None or snapshot.analysis is None or not snapshot.analysis.ok:
        return []  # nothing can be fixed (or validated) in a document that does not parse
    analysis = snapshot.analysis
    # A kind may be an lsprotocol enum (whose str() is "CodeActionKind.QuickFix") or a plain string.
    only = [str(getattr(kind, "value", kind)) for kind in params.context.only] if params.context.only else None
    encoding = ls.encoding
    positions = position_map(snapshot.source)
    start = engine_position(positions, params.range.start, encoding)
    end = engine_position(positions, params.range.end, encoding)
    # The too-new check's findings (recode.tooNew) are not the analysis's own: added here.
    findings = [*analysis.findings_in(start, end), *too_new.findings_in(analysis, start, end)]
    # The client may also send diagnostics it shows for the range: include their findings.
    for diagnostic in params.context.diagnostics:
        data = diagnostic.data
        if diagnostic.source == "recode" and isinstance(data, dict) and isinstance(data.get("key"), str):
            found = analysis.find(data["key"]) or too_new.find(analysis, data["key"])
            if found is not None and found not in findings:
                findings.append(found)
    # Only the diagnostics of the listed findings: building all of a finding-dense module's (2,000
    # and more) took most of the time of a code action.
    diagnostics_by_key = ls.diagnostics.for_findings(analysis, snapshot.version, findings) if findings else {}
    unsafe = snapshot.project.analysis.unsafe
    resolve = ls.client.resolve_edit
    actions: list[types.CodeAction] = []

    if _kind_requested(types.CodeActionKind.QuickFix.value, only):
        for finding in findings:
            if not finding.fixable or not _offered(finding) or not analysis.offers_quick_fix(finding):
                continue
            safe = finding.safety is FixSafety.SAFE
            action = types.CodeAction(
                title=describe_fix(finding.change) + ("" if safe else " (unsafe)"),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=_diagnostic_list(diagnostics_by_key, finding),
                is_preferred=safe,
                data=_data(snapshot, FIX, finding),
            )
            if resolve and not too_new.owns(finding):
                ls.documents.prefetch(snapshot, finding)
            else:
                await _resolve_fix(ls, snapshot, finding, action)
            actions.append(action)
        for finding in findings:
            model = _model_action(ls, snapshot, finding)
            if model is not None:
                model.diagnostics = _diagnostic_list(diagnostics_by_key, finding)
                actions.append(model)
        selected = (
            positions.offset(params.range.start.line, params.range.start.character, encoding),
            positions.offset(params.range.end.line, params.range.end.character, encoding),
        )
        if findings and selected[1] > selected[0]:
            model = _model_action(ls, snapshot, findings[0], selection=selected)
            if model is not None:
                actions.append(model)

    if _kind_requested(FIX_ALL, only) and any(
        wanted(f, unsafe) for f in (*analysis.findings, *too_new.findings_for(analysis))
    ):
        action = types.CodeAction(
            title="ReCode: fix all safe fixes" if not unsafe else "ReCode: fix all (including unsafe fixes)",
            kind=FIX_ALL,
            data=_data(snapshot, ALL),
        )
        if not resolve:
            await _resolve_fix_all(ls, snapshot, action)
        actions.append(action)

    if _kind_requested(types.CodeActionKind.QuickFix.value, only):
        seen: set[tuple[str, int]] = set()
        for finding in findings:
            if (finding.code, finding.range.start.line) in seen:
                continue
            seen.add((finding.code, finding.range.start.line))
            edit = analysis.ignore_edit(finding)
            if edit is None:
                continue
            actions.append(
                types.CodeAction(
                    title=f"Ignore {finding.code} on this line",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=_diagnostic_list(diagnostics_by_key, finding),
                    edit=workspace_edit(
                        snapshot.uri,
                        snapshot.version,
                        text_edits(positions, [edit], encoding),
                        ls.client.document_changes,
                    ),
                    data=_data(snapshot, IGNORE, finding),
                )
            )
    return actions


def _diagnostic_list(by_key: dict[str, types.Diagnostic], finding: Finding) -> list[types.Diagnostic] | None:
    diagnostic = by_key.get(finding_key(finding))
    return [diagnostic] if diagnostic is not None else None


async def resolve_action(ls: RecodeLanguageServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("uri"), str)
        or data.get("action") not in (FIX, ALL, MODEL)
    ):
        if isinstance(data, dict) and data.get("action") == IGNORE:
            return action  # listed with its edit
        raise ValueError(f"cannot resolve a code action with data {data!r}")
    snapshot = await ls.documents.snapshot(data["uri"])
    if snapshot is None or snapshot.analysis is None or not snapshot.analysis.ok:
        return action
    if data["action"] == ALL:
        await _resolve_fix_all(ls, snapshot, action)
        return action
    key = data.get("key")
    finding = snapshot.analysis.find(key) if isinstance(key, str) else None
    if finding is None and isinstance(key, str):
        finding = too_new.find(snapshot.analysis, key)
    if finding is None:
        ls.log(f"{action.title}: the finding is no longer there (the document changed); nothing to apply")
        return action
    if data["action"] == MODEL:
        await _resolve_model_action(ls, snapshot, finding, action)
    else:
        await _resolve_fix(ls, snapshot, finding, action)
    return action


async def _resolve_fix(
    ls: RecodeLanguageServer, snapshot: Snapshot, finding: Finding, action: types.CodeAction
) -> None:
    if too_new.owns(finding) and snapshot.analysis is not None:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(ls.executor, too_new.fix, snapshot.analysis, finding)
    else:
        result = await ls.documents.fix(snapshot, finding)
    if not result.changed:
        _reject(ls, action, f"ReCode: no fix applied for {finding.code}: {result.reason or 'the fix changes nothing'}")
        return
    _attach(ls, snapshot, action, result.edits)


def _reject(ls: RecodeLanguageServer, action: types.CodeAction, message: str) -> None:
    """The picked action has no edit to give: say why (log and message), and mark it disabled
    with that reason for clients that look at a resolved action's ``disabled``."""
    ls.log(message, types.MessageType.Warning)
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))
    action.disabled = types.CodeActionDisabled(reason=message)


async def _resolve_fix_all(ls: RecodeLanguageServer, snapshot: Snapshot, action: types.CodeAction) -> None:
    unsafe = snapshot.project.analysis.unsafe
    analysis = snapshot.analysis
    if analysis is not None and too_new.findings_for(analysis):
        # With too-new findings, the backward fixes go in with the others (as --too-new --apply).
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(ls.executor, too_new.fix_all, analysis, unsafe)
    else:
        result = await ls.documents.fix_all(snapshot, unsafe)
    for finding, reason in result.skipped:
        ls.log(f"fix all: {finding.code} at line {finding.range.start.line + 1} not fixed: {reason}")
    if result.changed:
        _attach(ls, snapshot, action, result.edits)


def _attach(ls: RecodeLanguageServer, snapshot: Snapshot, action: types.CodeAction, edits: list[Any]) -> None:
    positions = position_map(snapshot.source)
    action.edit = workspace_edit(
        snapshot.uri, snapshot.version, text_edits(positions, edits, ls.encoding), ls.client.document_changes
    )


# --- the model fix: a hook for recode_lsp.model_fix ---------------------------------------------


def _model_fix_available() -> bool:
    return importlib.util.find_spec("recode_lsp.model_fix") is not None


def _model_action(
    ls: RecodeLanguageServer, snapshot: Snapshot, finding: Finding, selection: tuple[int, int] | None = None
) -> types.CodeAction | None:
    """The "Migrate with ReCode model" action of one finding, or None.

    Listed only when ``recode.model.endpoint`` is set and ``recode_lsp.model_fix`` is
    installed. It is a quick fix that is never preferred and never part of fix-all (model
    fixes are always unsafe); its edit comes from :func:`_resolve_model_action`. With a
    ``selection`` (engine offsets of a non-empty range), the model rewrites the selected lines
    instead of the function around the finding ("Migrate selection with ReCode model").
    """
    if not snapshot.project.settings.model_endpoint or not _model_fix_available():
        return None
    data = _data(snapshot, MODEL, finding)
    if selection is not None:
        data["selection"] = [selection[0], selection[1]]
    return types.CodeAction(
        title=MODEL_TITLE if selection is None else SELECTION_TITLE,
        kind=types.CodeActionKind.QuickFix,
        is_preferred=False,
        data=data,
    )


async def _resolve_model_action(
    ls: RecodeLanguageServer, snapshot: Snapshot, finding: Finding, action: types.CodeAction
) -> None:
    """Ask :func:`recode_lsp.model_fix.propose` for a validated edit, under cancellable progress.

    ``propose`` builds the ReCode prompt, calls the endpoint (asynchronously, bounded by
    ``recode.model.timeout``) and validates the answer off the event loop; only a result with
    ``ok`` becomes the action's edit. Otherwise the reason is shown to the user
    (``window/showMessage``) and the action comes back without an edit, ``disabled`` with
    that reason.
    """
    try:
        from recode_lsp.model_fix import propose
    except ImportError:
        ls.log("the ReCode model fix is not installed", types.MessageType.Warning)
        return
    settings = snapshot.project.settings
    context = snapshot.project.analysis
    if not settings.model_endpoint:
        return
    client = _model_client(ls, settings.model_endpoint, settings.model_name or "recode", settings.model_timeout)
    from recode_lsp.server.hover import docs_for

    docs, _ = await docs_for(ls, finding, snapshot.project)
    data = action.data if isinstance(action.data, dict) else {}
    selection = data.get("selection")
    span = (
        (int(selection[0]), int(selection[1]))
        if isinstance(selection, list) and len(selection) == 2 and all(isinstance(n, int) for n in selection)
        else None
    )
    if span is not None and data.get("version") != snapshot.version:
        message = "ReCode model: the document changed since the selection was made; select the code again"
        ls.log(message)
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))
        return
    call = propose(
        snapshot.source,
        finding,
        context.kb,
        context.options,
        client,
        docs=docs,
        path=str(snapshot.analysis.path if snapshot.analysis else snapshot.uri),
        name_exists=context.name_exists,
        selection=span,
    )
    result = await _with_progress(ls, f"asking the model to migrate {finding.change.old}", call)
    if result is None:
        message = f"ReCode model: the migration of {finding.code} was cancelled"
        ls.log(message)
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))
        return
    if not result.ok or not result.edits:
        _reject(ls, action, f"ReCode model: no migration offered for {finding.code}: {result.reason}")
        return
    _attach(ls, snapshot, action, result.edits)


def _model_client(ls: RecodeLanguageServer, endpoint: str, name: str, timeout: float) -> Any:
    """One :class:`~recode_lsp.model_client.ModelClient` per (endpoint, model, timeout), kept for reuse."""
    from recode_lsp.model_client import ModelClient

    clients: dict[Any, Any] = ls.model_clients
    key = (endpoint, name, timeout)
    client = clients.get(key)
    if client is None:
        client = clients[key] = ModelClient(endpoint, name, timeout=timeout)
    return client


_T = TypeVar("_T")


async def _with_progress(ls: RecodeLanguageServer, message: str, call: Coroutine[Any, Any, _T]) -> _T | None:
    """Run ``call`` under cancellable work-done progress when the client supports it.

    Returns None when the user cancelled the progress (``window/workDoneProgress/cancel``);
    a cancelled request (``$/cancelRequest``) still cancels the call and propagates.
    """
    task: asyncio.Task[_T] = asyncio.ensure_future(call)
    capabilities = ls.client_capabilities.window
    if capabilities is None or not capabilities.work_done_progress:
        return await task
    progress = ls.work_done_progress
    token = f"recode-model-{uuid.uuid4().hex}"
    try:
        await asyncio.wait_for(progress.create_async(token), timeout=5)
    except Exception as exc:  # noqa: BLE001 - progress is a nicety: without it, the call still runs
        logger.info("no work-done progress for the model call: %s", exc)
        progress.tokens.pop(token, None)
        return await task
    loop = asyncio.get_running_loop()
    cancelled_by_user = False

    def on_cancel(future: Any) -> None:
        nonlocal cancelled_by_user
        if future.cancelled() and not task.done():
            cancelled_by_user = True
            loop.call_soon_threadsafe(task.cancel)

    progress.begin(token, types.WorkDoneProgressBegin(title="ReCode model", message=message, cancellable=True))
    cancel_future = progress.tokens.get(token)
    if cancel_future is not None:
        cancel_future.add_done_callback(on_cancel)
    outcome = "cancelled"
    try:
        result = await task
        outcome = "done"
        return result
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if cancelled_by_user and not (current is not None and current.cancelling()):
            return None
        task.cancel()
        raise
    finally:
        progress.end(token, types.WorkDoneProgressEnd(message=outcome))
        progress.tokens.pop(token, None)


def register(server: RecodeLanguageServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL],
            resolve_provider=True,
        ),
    )
    @guarded(empty_list)
    async def code_action(ls: RecodeLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return await list_actions(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    @guarded(lambda action: action)
    async def code_action_resolve(ls: RecodeLanguageServer, params: types.CodeAction) -> types.CodeAction:
        return await resolve_action(ls, params)
