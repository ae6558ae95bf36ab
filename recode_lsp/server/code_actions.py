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
  "auto fix" picks them); unsafe ones are offered only when ``recode.unsafeFixes`` is on and
  say "(unsafe)" in their title;
* "Migrate with ReCode model" per finding, when a model endpoint is configured and the model
  client is installed: never preferred, never part of fix-all (see :func:`_model_action`);
* ``source.fixAll.recode``: every safe fix of the document (and unsafe ones when allowed), the
  kind editors run on save (``editor.codeActionsOnSave``);
* "Ignore ID on this line", last: adds ``# recode: ignore[ID]`` (merged into an existing one).
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.document import finding_key
from recode_lsp.engine.edits import PositionMap, diff_edits
from recode_lsp.engine.fixer import describe_fix, wanted
from recode_lsp.engine.model import Finding
from recode_lsp.server.convert import engine_position, text_edits, workspace_edit
from recode_lsp.server.guard import empty_list, guarded

if TYPE_CHECKING:
    from recode_lsp.server.documents import Snapshot
    from recode_lsp.server.server import RecodeLanguageServer

logger = logging.getLogger(__name__)

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.recode"
MODEL_TITLE = "Migrate with ReCode model"

#: What ``data`` says an action is.
FIX, ALL, IGNORE, MODEL = "fix", "fixAll", "ignore", "model"


def _kind_requested(kind: str, only: list[str] | None) -> bool:
    """Whether an action of ``kind`` passes the client's ``only`` filter (kinds nest by dots)."""
    if not only:
        return True
    return any(kind == wanted_kind or kind.startswith(f"{wanted_kind}.") for wanted_kind in only)


def _offered(finding: Finding, unsafe: bool) -> bool:
    return finding.safety is FixSafety.SAFE or (unsafe and finding.safety is FixSafety.UNSAFE)


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
    only = [str(kind) for kind in params.context.only] if params.context.only else None
    encoding = ls.encoding
    positions = PositionMap(snapshot.source)
    start = engine_position(positions, params.range.start, encoding)
    end = engine_position(positions, params.range.end, encoding)
    findings = analysis.findings_in(start, end)
    # The client may also send diagnostics it shows for the range: include their findings.
    for diagnostic in params.context.diagnostics:
        data = diagnostic.data
        if diagnostic.source == "recode" and isinstance(data, dict) and isinstance(data.get("key"), str):
            found = analysis.find(data["key"])
            if found is not None and found not in findings:
                findings.append(found)
    diagnostics_by_key = {}
    if findings:
        diagnostics, _ = ls.diagnostics.convert(analysis, snapshot.version)
        diagnostics_by_key = {finding_key(f): d for f, d in zip(analysis.findings, diagnostics, strict=False)}
    unsafe = snapshot.project.analysis.unsafe
    resolve = ls.client.resolve_edit
    actions: list[types.CodeAction] = []

    if _kind_requested(types.CodeActionKind.QuickFix.value, only):
        for finding in findings:
            if not finding.fixable or not _offered(finding, unsafe):
                continue
            safe = finding.safety is FixSafety.SAFE
            action = types.CodeAction(
                title=describe_fix(finding.change) + ("" if safe else " (unsafe)"),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=_diagnostic_list(diagnostics_by_key, finding),
                is_preferred=safe,
                data=_data(snapshot, FIX, finding),
            )
            if resolve:
                ls.documents.prefetch(snapshot, finding)
            else:
                await _resolve_fix(ls, snapshot, finding, action)
            actions.append(action)
        for finding in findings:
            model = _model_action(ls, snapshot, finding)
            if model is not None:
                model.diagnostics = _diagnostic_list(diagnostics_by_key, finding)
                actions.append(model)

    if _kind_requested(FIX_ALL, only) and any(wanted(f, unsafe) for f in analysis.findings):
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
    result = await ls.documents.fix(snapshot, finding)
    if not result.changed:
        ls.log(
            f"{finding.code}: no fix applied: {result.reason or 'the fix changes nothing'}", types.MessageType.Warning
        )
        return
    _attach(ls, snapshot, action, result.edits)


async def _resolve_fix_all(ls: RecodeLanguageServer, snapshot: Snapshot, action: types.CodeAction) -> None:
    result = await ls.documents.fix_all(snapshot, snapshot.project.analysis.unsafe)
    for finding, reason in result.skipped:
        ls.log(f"fix all: {finding.code} at line {finding.range.start.line + 1} not fixed: {reason}")
    if result.changed:
        _attach(ls, snapshot, action, result.edits)


def _attach(ls: RecodeLanguageServer, snapshot: Snapshot, action: types.CodeAction, edits: list[Any]) -> None:
    positions = PositionMap(snapshot.source)
    action.edit = workspace_edit(
        snapshot.uri, snapshot.version, text_edits(positions, edits, ls.encoding), ls.client.document_changes
    )


# --- the model fix: a hook for recode_lsp.model_fix ---------------------------------------------


def _model_fix_available() -> bool:
    return importlib.util.find_spec("recode_lsp.model_fix") is not None


def _model_action(ls: RecodeLanguageServer, snapshot: Snapshot, finding: Finding) -> types.CodeAction | None:
    """HOOK for the model fix: the "Migrate with ReCode model" action of one finding, or None.

    Listed only when ``recode.model.endpoint`` is set and ``recode_lsp.model_fix`` is
    installed. It is a quick fix that is never preferred and never part of fix-all (model
    fixes are always unsafe); its edit comes from :func:`_resolve_model_action`.
    """
    if not snapshot.project.settings.model_endpoint or not _model_fix_available():
        return None
    return types.CodeAction(
        title=MODEL_TITLE,
        kind=types.CodeActionKind.QuickFix,
        is_preferred=False,
        data=_data(snapshot, MODEL, finding),
    )


async def _resolve_model_action(
    ls: RecodeLanguageServer, snapshot: Snapshot, finding: Finding, action: types.CodeAction
) -> None:
    """HOOK for the model fix: ask :func:`recode_lsp.model_fix.propose` for a validated edit.

    ``propose`` builds the ReCode prompt, calls the endpoint and validates the answer; only a
    result with ``ok`` becomes the action's edit. Otherwise the reason is shown to the user.
    """
    try:
        from recode_lsp.model_client import ModelClient
        from recode_lsp.model_fix import propose
    except ImportError:
        ls.log("the ReCode model fix is not installed", types.MessageType.Warning)
        return
    settings = snapshot.project.settings
    context = snapshot.project.analysis
    if not settings.model_endpoint:
        return
    client_key = (settings.model_endpoint, settings.model_name or "recode")
    client = ls.model_clients.get(client_key)
    if client is None:
        client = ls.model_clients[client_key] = ModelClient(*client_key)
    from recode_lsp.server.hover import docs_for

    docs, _ = await docs_for(ls, finding, snapshot.project)
    result = await propose(
        snapshot.source,
        finding,
        context.kb,
        context.options,
        client,
        docs=docs,
        path=str(snapshot.analysis.path if snapshot.analysis else snapshot.uri),
        name_exists=context.name_exists,
    )
    if not result.ok or not result.new_source:
        message = f"ReCode model: no migration offered for {finding.code}: {result.reason}"
        ls.log(message, types.MessageType.Warning)
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))
        return
    _attach(ls, snapshot, action, diff_edits(snapshot.source, result.new_source))


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
