"""End-to-end tests of recode-lsp: the real server over stdio, as VS Code and as Neovim."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import client_capabilities

from recode_lsp import __version__
from tests.lsp.conftest import FIXTURE, PROFILES, SERVER, Session, Starter

FIXED_SAFE = (
    FIXTURE.replace("np.float_(0)", "np.float64(0)").replace("np.product(", "np.prod(").replace("np.NINF", "-np.inf")
)


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return [str(d.code) for d in diagnostics]


# --- capabilities ------------------------------------------------------------------------------


async def test_pull_or_push_never_both(session: Session, profile: str) -> None:
    uri = session.open("module.py")
    diagnostics = await session.diagnostics(uri)
    assert codes(diagnostics) == ["NPY023", "NPY042", "NPY067", "NPY035"]
    if profile == "neovim":
        assert session.pull
        assert session.published == []  # pulled, so never pushed
    else:
        assert not session.pull
        assert session.published


async def test_without_pull_support_a_minimal_client_gets_pushed_diagnostics(start: Starter) -> None:
    """A client declaring nothing: pushed diagnostics, edits inline, UTF-16, plain-text hover."""
    session = await start(types.ClientCapabilities())
    assert not session.pull
    assert session.encoding == "utf-16"
    uri = session.open("module.py")
    assert codes(await session.diagnostics(uri)) == ["NPY023", "NPY042", "NPY067", "NPY035"]
    actions = await session.actions(uri, "np.float_")
    fix = actions[0]
    assert fix.edit is not None  # no resolve support: computed while listing
    assert session.apply(uri, fix.edit) == FIXTURE.replace("np.float_(0)", "np.float64(0)")
    hover = await session.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=12, character=14)
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.PlainText


# --- diagnostics -------------------------------------------------------------------------------


async def test_diagnostics_appear_and_follow_incremental_edits(session: Session, profile: str) -> None:
    uri = session.open("module.py")
    diagnostics = await session.diagnostics(uri)
    first = diagnostics[0]
    assert first.code == "NPY023"
    assert first.source == "recode"
    assert first.severity == types.DiagnosticSeverity.Error
    assert "removed in NumPy 2.0" in first.message
    assert first.code_description is not None and first.code_description.href.startswith("https://numpy.org/")
    assert first.data["id"] == "NPY023" and first.data["version"] == 1 and first.data["key"]
    # The line holds "é😀" before the finding: columns differ by encoding.
    expected_character = {"vscode": 23, "neovim": 26}[profile]  # 22 code points
    assert first.range.start == types.Position(line=5, character=expected_character)
    in1d = diagnostics[2]
    assert in1d.severity == types.DiagnosticSeverity.Warning

    session.replace(uri, "np.float_(0)", "np.float64(0)")
    assert codes(await session.diagnostics(uri)) == ["NPY042", "NPY067", "NPY035"]

    session.replace(uri, "    return np.NINF", "    x = np.float_(1)\n    return np.NINF")
    diagnostics = await session.diagnostics(uri)
    assert codes(diagnostics) == ["NPY042", "NPY067", "NPY023", "NPY035"]
    assert diagnostics[2].range.start.line == 12
    assert diagnostics[2].data["version"] == 3


async def test_syntax_error_keeps_the_last_good_diagnostics(session: Session) -> None:
    uri = session.open("module.py")
    good = await session.diagnostics(uri)
    session.replace(uri, "def infinity():", "def infinity(:")
    kept = await session.diagnostics(uri)
    assert codes(kept) == codes(good)
    assert [d.range for d in kept] == [d.range for d in good]
    message = await session.log_message("syntax error")
    assert "version 1" in message.message
    session.replace(uri, "def infinity(:", "def infinity():")
    assert codes(await session.diagnostics(uri)) == codes(good)


async def test_huge_file_is_skipped_with_a_message(session: Session) -> None:
    waiter = session.client.protocol.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    uri = session.open("huge.py", "import numpy as np\n" + "x = np.float_(1)\n" * 50_001)
    assert await session.diagnostics(uri) == []  # a pulling client learns of the file when it pulls
    message = await asyncio.wait_for(asyncio.wrap_future(waiter), timeout=30)
    assert "too large" in message.message and "huge.py" in message.message
    assert "50002 lines" in message.message


async def test_configuration_change_takes_effect_without_restart(session: Session) -> None:
    uri = session.open("module.py")
    assert codes(await session.diagnostics(uri)) == ["NPY023", "NPY042", "NPY067", "NPY035"]
    mark = session.mark()
    await session.configure(targets=["numpy==1.26"])
    diagnostics = await session.diagnostics(uri, after=mark)
    assert codes(diagnostics) == ["NPY042"]  # float_ was removed in 2.0, only deprecated-in-1.25 remains
    assert diagnostics[0].severity == types.DiagnosticSeverity.Warning
    mark = session.mark()
    await session.configure(targets=[])  # back to [tool.recode]
    assert codes(await session.diagnostics(uri, after=mark)) == ["NPY023", "NPY042", "NPY067", "NPY035"]


async def test_saved_pyproject_takes_effect_without_an_edit(session: Session) -> None:
    """The editor reports the saved pyproject.toml (didChangeWatchedFiles): the open document's
    diagnostics follow the new targets at once, with no edit to the document."""
    uri = session.open("module.py")
    assert codes(await session.diagnostics(uri)) == ["NPY023", "NPY042", "NPY067", "NPY035"]
    mark = session.mark()
    pyproject = session.write("pyproject.toml", '[tool.recode]\ntargets = ["numpy==1.26"]\n')
    session.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    assert codes(await session.diagnostics(uri, after=mark)) == ["NPY042"]


# --- code actions ------------------------------------------------------------------------------


async def test_quick_fix_resolves_to_the_expected_source(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    actions = await session.actions(uri, "np.float_")
    titles = [a.title for a in actions]
    assert titles[0] == "Replace with `numpy.float64`"
    assert titles[-1] == "Ignore NPY023 on this line"
    fix = actions[0]
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.edit is None  # computed on resolve
    resolved = await session.client.code_action_resolve_async(fix)
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == FIXTURE.replace("np.float_(0)", "np.float64(0)")


async def test_resolve_after_the_document_changed(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    (fix, *_) = await session.actions(uri, "np.NINF")
    session.replace(uri, "    for value", "    # a comment\n    for value")
    await session.diagnostics(uri)
    moved = await session.client.code_action_resolve_async(fix)
    assert moved.edit is None  # the finding moved: its key no longer matches, nothing is applied
    session.replace(uri, "    # a comment\n", "")
    await session.diagnostics(uri)
    again = await session.client.code_action_resolve_async(fix)
    assert again.edit is not None  # same text as when listed: the current version is fixed
    assert session.apply(uri, again.edit) == FIXTURE.replace("np.NINF", "-np.inf")


async def test_unsafe_quick_fix_only_when_allowed(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    titles = [a.title for a in await session.actions(uri, "np.in1d")]
    # Offered, marked unsafe and never preferred, even with unsafeFixes off (only fix-all leaves it out).
    assert titles == ["Replace with `numpy.isin` (unsafe)", "ReCode: fix all safe fixes", "Ignore NPY067 on this line"]
    mark = session.mark()
    await session.configure(unsafeFixes=True)
    await session.diagnostics(uri, after=mark)
    actions = await session.actions(uri, "np.in1d")
    assert actions[0].title == "Replace with `numpy.isin` (unsafe)"
    assert not actions[0].is_preferred
    resolved = await session.client.code_action_resolve_async(actions[0])
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == FIXTURE.replace("np.in1d", "np.isin")


async def test_fix_all_applies_safe_fixes_only(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    actions = await session.actions(uri, only=["source.fixAll"])
    assert [a.kind for a in actions] == ["source.fixAll.recode"]
    resolved = await session.client.code_action_resolve_async(actions[0])
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == FIXED_SAFE


async def test_fix_all_with_unsafe_fixes_allowed(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    mark = session.mark()
    await session.configure(unsafeFixes=True)
    await session.diagnostics(uri, after=mark)
    (action,) = await session.actions(uri, only=["source.fixAll.recode"])
    resolved = await session.client.code_action_resolve_async(action)
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == FIXED_SAFE.replace("np.in1d", "np.isin")


async def test_ignore_action(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    actions = await session.actions(uri, "np.product")
    ignore = actions[-1]
    assert ignore.title == "Ignore NPY042 on this line"
    assert ignore.edit is not None
    new_text = session.apply(uri, ignore.edit)
    assert "total += np.product(value)  # recode: ignore[NPY042]\n" in new_text
    session.set_text(uri, new_text)
    assert codes(await session.diagnostics(uri)) == ["NPY023", "NPY067", "NPY035"]
    # Quick fixes of the same id elsewhere still work next to an ignored one.
    session.replace(uri, "    return np.NINF", "    return np.product(1)")
    await session.diagnostics(uri)
    fix = (await session.actions(uri, "np.product(1)"))[0]
    resolved = await session.client.code_action_resolve_async(fix)
    assert resolved.edit is not None
    assert "return np.prod(1)" in session.apply(uri, resolved.edit)


async def test_no_model_action_without_an_endpoint(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    assert "Migrate with ReCode model" not in [a.title for a in await session.actions(uri, "np.float_")]


# --- hover ------------------------------------------------------------------------------------


async def test_hover_shows_names_versions_and_knowledge_base_text(session: Session) -> None:
    uri = session.open("module.py")
    diagnostics = await session.diagnostics(uri)
    hover = await session.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diagnostics[1].range.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert "numpy.product" in text and "numpy.prod" in text
    assert "Removed in NumPy 2.0 (deprecated since 1.25); target: NumPy 2.0" in text
    assert "Deprecated alias of numpy.prod" in text  # the note
    assert "Product of array elements" in text  # the knowledge base's doc text
    assert "knowledge base" in text
    assert hover.range == diagnostics[1].range
    nothing = await session.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=1)
        )
    )
    assert nothing is None


async def test_hover_with_api_docs_that_cannot_be_fetched(start: Starter, tmp_path) -> None:
    """api_docs is on but pip has no index: hover still answers, with the knowledge base's text."""
    wheels = tmp_path / "no-wheels"
    wheels.mkdir()
    session = await start(
        client_capabilities("visual-studio-code"),
        settings={"apiDocs": True, "hoverDocsTimeoutMs": 20000},
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    uri = session.open("module.py")
    diagnostics = await session.diagnostics(uri)
    started = time.monotonic()
    hover = await session.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diagnostics[0].range.start)
    )
    assert time.monotonic() - started < 20
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "numpy.float64" in hover.contents.value
    assert "Double-precision" in hover.contents.value


async def _hover_numpy_product_with_fetched_release(
    start: Starter, tmp_path, numpy_init: str
) -> tuple[Session, str, str]:
    """A session whose package index has a NumPy 2.0.0 with ``numpy_init`` as its
    ``__init__.py`` (NumPy 2.0 is not installed), and the hover text on ``np.product``."""
    from tests.models.packages import build_wheel

    wheels = tmp_path / "index"
    build_wheel(wheels, "numpy", "2.0.0", {"numpy/__init__.py": numpy_init})
    session = await start(
        client_capabilities("visual-studio-code"),
        settings={"apiDocs": True, "hoverDocsTimeoutMs": 60000},
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    uri = session.open("module.py")
    diagnostics = await session.diagnostics(uri)
    product = next(d for d in diagnostics if "numpy.product" in d.message)
    hover = await session.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=product.range.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return session, uri, hover.contents.value


async def test_hover_docs_come_from_the_fetched_target_release(start: Starter, tmp_path) -> None:
    """NumPy 2.0 is not installed: the release is fetched once from the package index pip is
    configured for (a local folder here) and its docstring, not the knowledge base's, is shown."""
    _, _, text = await _hover_numpy_product_with_fetched_release(
        start,
        tmp_path,
        "def prod(a, axis=None, dtype=None):\n"
        '    """Product of array elements over a given axis (from the fetched 2.0.0 release)."""\n',
    )
    assert "from the fetched 2.0.0 release" in text
    assert "prod(a, axis=None, dtype=None)" in text


async def test_quick_fix_refused_when_the_fetched_target_release_lacks_the_new_name(start: Starter, tmp_path) -> None:
    """The validator checks the names a fix introduces against the target release fetched for
    the docs: a NumPy "2.0.0" without ``prod`` makes the ``np.product`` fix unsafe to offer."""
    # Hover reads the release (fetched once); the name check then answers from it at once.
    session, uri, text = await _hover_numpy_product_with_fetched_release(
        start, tmp_path, "float64 = float\ninf = float('inf')\n"
    )
    assert "is not defined in NumPy 2.0.0" in text
    (fix, *_) = await session.actions(uri, "np.product")
    refused = await session.client.code_action_resolve_async(fix)
    assert refused.edit is None
    assert refused.disabled is not None
    assert "`numpy.prod` does not exist in the target version of numpy" in refused.disabled.reason
    assert any("numpy.prod" in m.message for m in session.client.messages)
    # A fix whose new name the release defines is still offered.
    (float_fix, *_) = await session.actions(uri, "np.float_")
    resolved = await session.client.code_action_resolve_async(float_fix)
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == FIXTURE.replace("np.float_(0)", "np.float64(0)")


# --- robustness -------------------------------------------------------------------------------


async def test_cancelled_request_returns_promptly(session: Session) -> None:
    source = "import numpy as np\n\n" + "".join(
        f"def f{i}(x):\n    return np.float_(x) + {i}\n\n" for i in range(12_000)
    )
    uri = session.open("big.py", source)
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=3, character=11), end=types.Position(line=3, character=20)),
        context=types.CodeActionContext(diagnostics=[]),
    )
    started = time.monotonic()
    request = session.client.protocol.send_request(types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id="cancel-me")
    session.client.cancel_request(types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(asyncio.wrap_future(request), timeout=30)
    cancelled_after = time.monotonic() - started
    # The same request, not cancelled, waits for the analysis of 36,000 lines.
    started = time.monotonic()
    actions = await session.client.text_document_code_action_async(params)
    full = time.monotonic() - started
    assert actions and actions[0].title == "Replace with `numpy.float64`"
    assert cancelled_after < 0.5 or cancelled_after < full / 2, (cancelled_after, full)


async def test_handler_error_does_not_kill_the_server(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    bogus = types.CodeAction(title="bogus", data={"action": "fix", "uri": 42})
    answer = await session.client.code_action_resolve_async(bogus)
    assert answer.title == "bogus" and answer.edit is None
    message = await session.log_message("code_action_resolve failed")
    assert message.type == types.MessageType.Error
    # Still serving.
    assert codes(await session.diagnostics(uri)) == ["NPY023", "NPY042", "NPY067", "NPY035"]
    actions = await session.actions(uri, "np.float_")
    assert actions[0].title == "Replace with `numpy.float64`"


# --- the command --------------------------------------------------------------------------------


def test_version_flag() -> None:
    result = subprocess.run([*SERVER, "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == f"recode-lsp {__version__}"


async def test_tcp_transport(project) -> None:
    from pytest_lsp import make_test_lsp_client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        *SERVER, "--tcp", f"127.0.0.1:{port}", "--log-level", "INFO", stderr=asyncio.subprocess.PIPE
    )
    try:
        assert server.stderr is not None
        while b"Serving on" not in (line := await asyncio.wait_for(server.stderr.readline(), timeout=30)):
            assert line, "the server exited before listening"
        client = make_test_lsp_client()
        await client.start_tcp("127.0.0.1", port)
        result = await client.initialize_session(
            types.InitializeParams(capabilities=client_capabilities(PROFILES["vscode"]), root_uri=project.as_uri())
        )
        assert result.server_info is not None and result.server_info.name == "recode-lsp"
        await client.shutdown_session()
    finally:
        if server.returncode is None:
            server.terminate()
        await server.wait()


def test_module_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recode_lsp.server", "--help"], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0 and "--tcp" in result.stdout


async def test_model_action_hook(start: Starter) -> None:
    """With an endpoint set, the model action is listed (never preferred, never in fix-all);
    an unreachable endpoint gives no edit and a message, not an error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the socket closes
    session = await start(
        client_capabilities("visual-studio-code"), settings={"model": {"endpoint": f"http://127.0.0.1:{port}/v1"}}
    )
    uri = session.open("module.py")
    await session.diagnostics(uri)
    actions = await session.actions(uri, "np.in1d")
    model = [a for a in actions if a.title == "Migrate with ReCode model"]
    assert len(model) == 1 and not model[0].is_preferred and model[0].kind == types.CodeActionKind.QuickFix
    assert [a.title for a in actions][-1] == "Ignore NPY067 on this line"
    waiter = session.client.protocol.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    resolved = await session.client.code_action_resolve_async(model[0])
    assert resolved.edit is None
    message = await asyncio.wait_for(asyncio.wrap_future(waiter), timeout=60)
    assert "no migration offered for NPY067" in message.message
