"""The "Migrate with ReCode model" action end to end: the real server over stdio, as VS Code and
as Neovim, against a scripted OpenAI-compatible server on loopback.

Only a valid migration is offered; an answer that does not parse, one that still uses the old
API, a timeout and a 500 give no edit and a ``window/showMessage`` saying why. The model call
runs under cancellable work-done progress.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from tests.lsp.conftest import FIXTURE, PROFILES, Session, Starter
from tests.models.openai_server import Behaviour, Reply, ScriptedServer, Status, completion

MODEL_TITLE = "Migrate with ReCode model"
SELECTION_TITLE = "Migrate selection with ReCode model"
FIX_ALL = "source.fixAll.recode"

NEEDLE = "np.NINF"
MIGRATED = "def infinity():\n    return -np.inf\n"
EXPECTED = FIXTURE.replace("return np.NINF", "return -np.inf")


@pytest.fixture
def model_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


async def model_session(start: Starter, profile: str, server: ScriptedServer, timeout: float = 20) -> Session:
    return await start(
        client_capabilities(PROFILES[profile]),
        settings={"model": {"endpoint": server.url + "/v1", "name": "recode-test", "timeout": timeout}},
    )


async def model_action(session: Session, uri: str, title: str = MODEL_TITLE) -> types.CodeAction:
    await session.diagnostics(uri)
    actions = await session.actions(uri, NEEDLE)
    found = [a for a in actions if a.title == title]
    assert len(found) == 1, [a.title for a in actions]
    return found[0]


def progress_of(session: Session) -> list[list[Any]]:
    return [reports for reports in session.client.progress_reports.values() if reports]


async def test_valid_migration_is_offered_under_progress(
    start: Starter, profile: str, model_server: ScriptedServer
) -> None:
    model_server.then(Reply(completion("np.NINF was removed; use -np.inf.", MIGRATED)))
    session = await model_session(start, profile, model_server)
    uri = session.open("module.py")
    action = await model_action(session, uri)
    assert action.kind == types.CodeActionKind.QuickFix
    assert not action.is_preferred  # model fixes are unsafe: never the editor's auto fix
    assert action.edit is None  # computed on resolve

    resolved = await session.client.code_action_resolve_async(action)
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == EXPECTED

    (request,) = model_server.requests
    assert request.body["model"] == "recode-test"
    assert "np.NINF" in request.body["messages"][1]["content"]

    (reports,) = progress_of(session)
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert reports[0].cancellable is True
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


@pytest.mark.parametrize(
    ("behaviour", "timeout", "reason"),
    [
        (Reply(completion("Here it is.", "def infinity(:\n    return -np.inf\n")), 20, "does not parse"),
        (Reply(completion("Looks fine.", "def infinity():\n    return np.NINF\n")), 20, "still uses numpy.NINF"),
        (Reply(completion("Too late.", MIGRATED), delay=10), 1, "timed out after 1 s"),
        (Status(500, '{"error": {"message": "model crashed"}}'), 20, "500"),
    ],
    ids=["does-not-parse", "old-api", "timeout", "http-500"],
)
async def test_rejected_answers_give_no_edit_and_a_message(
    start: Starter,
    profile: str,
    model_server: ScriptedServer,
    behaviour: Behaviour,
    timeout: float,
    reason: str,
) -> None:
    model_server.then(behaviour)
    session = await model_session(start, profile, model_server, timeout=timeout)
    uri = session.open("module.py")
    action = await model_action(session, uri)
    waiter = session.client.protocol.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    started = time.monotonic()
    resolved = await session.client.code_action_resolve_async(action)
    assert resolved.edit is None
    message = await asyncio.wait_for(asyncio.wrap_future(waiter), timeout=30)
    assert message.type == types.MessageType.Warning
    assert "no migration offered for NPY035" in message.message
    assert reason in message.message, message.message
    assert time.monotonic() - started < 8  # the timeout case is bounded by recode.model.timeout
    (reports,) = progress_of(session)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


async def test_model_action_is_never_preferred_nor_part_of_fix_all(
    start: Starter, profile: str, model_server: ScriptedServer
) -> None:
    model_server.then(Reply(completion("ok", MIGRATED)))
    session = await model_session(start, profile, model_server)
    uri = session.open("module.py")
    await session.diagnostics(uri)
    everything = await session.actions(uri, "def scale")
    everything += await session.actions(uri, NEEDLE)
    models = [a for a in everything if "ReCode model" in a.title]
    assert models and all(not a.is_preferred and a.kind == types.CodeActionKind.QuickFix for a in models)
    fix_all = await session.actions(uri, NEEDLE, only=[FIX_ALL])
    assert [a.kind for a in fix_all] == [FIX_ALL]
    resolved = await session.client.code_action_resolve_async(fix_all[0])
    assert resolved.edit is not None
    assert "return np.NINF" not in session.apply(uri, resolved.edit)  # the rule's fix: -np.inf
    assert model_server.requests == []  # fix-all never asks the model


async def test_cancelling_the_progress_cancels_the_model_call(
    start: Starter, profile: str, model_server: ScriptedServer
) -> None:
    model_server.then(Reply(completion("Slow.", MIGRATED), delay=20))
    session = await model_session(start, profile, model_server, timeout=30)
    uri = session.open("module.py")
    action = await model_action(session, uri)
    waiter = session.client.protocol.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    resolving = asyncio.ensure_future(session.client.code_action_resolve_async(action))
    deadline = time.monotonic() + 30
    while not progress_of(session) or not model_server.requests:
        assert time.monotonic() < deadline, "no progress began"
        await asyncio.sleep(0.05)
    ((token, _),) = [(t, r) for t, r in session.client.progress_reports.items() if r]
    started = time.monotonic()
    session.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    resolved = await asyncio.wait_for(resolving, timeout=10)
    assert time.monotonic() - started < 5
    assert resolved.edit is None
    message = await asyncio.wait_for(asyncio.wrap_future(waiter), timeout=10)
    assert "cancelled" in message.message
    assert isinstance(session.client.progress_reports[token][-1], types.WorkDoneProgressEnd)


async def test_without_progress_support_the_model_fix_still_works(
    start: Starter, model_server: ScriptedServer
) -> None:
    model_server.then(Reply(completion("ok", MIGRATED)))
    session = await start(
        types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(configuration=True),
            window=types.WindowClientCapabilities(work_done_progress=False),
            text_document=types.TextDocumentClientCapabilities(
                code_action=types.CodeActionClientCapabilities(
                    resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
                )
            ),
        ),
        settings={"model": {"endpoint": model_server.url, "name": "recode-test"}},
    )
    uri = session.open("module.py")
    action = await model_action(session, uri)
    resolved = await session.client.code_action_resolve_async(action)
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == EXPECTED
    assert progress_of(session) == []


async def test_migrate_selection(start: Starter, profile: str, model_server: ScriptedServer) -> None:
    """A non-empty selection holding a finding: the model rewrites the selected lines only."""
    model_server.then(Reply(completion("Use -np.inf.", "return -np.inf\n")))
    session = await model_session(start, profile, model_server)
    uri = session.open("module.py")
    await session.diagnostics(uri)
    assert SELECTION_TITLE not in [a.title for a in await session.actions(uri)]  # an empty range
    actions = await session.actions(uri, "return np.NINF")
    (selection,) = [a for a in actions if a.title == SELECTION_TITLE]
    assert not selection.is_preferred
    resolved = await session.client.code_action_resolve_async(selection)
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == EXPECTED
    (request,) = model_server.requests
    prompt = request.body["messages"][1]["content"]
    assert "return np.NINF" in prompt and "def infinity" not in prompt
