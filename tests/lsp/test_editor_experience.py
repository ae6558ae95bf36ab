"""What an editor user notices first (issue 16): the status the client shows, unsafe fixes in the
quick-fix menu, ``apiDocs: false`` keeping the server offline, and docs read before the first hover.

The real server over stdio (see conftest.py); the package index is a local folder of wheels.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import client_capabilities

from recode_lsp.server.hover import DISABLED, LOADING
from recode_lsp.server.settings import STATUS_NOTIFICATION, EditorSettings
from tests.lsp.conftest import FIXTURE, Session, Starter

NUMPY_INIT = (
    "def prod(a, axis=None, dtype=None):\n"
    '    """Product of array elements over a given axis (from the fetched 2.0.0 release)."""\n'
    "float64 = float\n"
    "def isin(element, test_elements):\n"
    '    """Whether each element is in test_elements (fetched)."""\n'
)


def _index(tmp_path: Path) -> dict[str, str]:
    """pip's environment for a package index holding only a NumPy 2.0.0 wheel (NumPy 2.0 is not installed)."""
    from tests.models.packages import build_wheel

    wheels = tmp_path / "index"
    build_wheel(wheels, "numpy", "2.0.0", {"numpy/__init__.py": NUMPY_INIT})
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _fetched(tmp_path: Path) -> list[Path]:
    """What the API docs fetched and read into the session's cache (release folders, read docs)."""
    cache = tmp_path / "cache"
    return sorted(cache.rglob("docs-numpy-*.json")) + sorted(cache.rglob("numpy-2.0*"))


async def _hover(session: Session, uri: str, needle: str) -> str:
    diagnostics = await session.diagnostics(uri)
    diagnostic = next(d for d in diagnostics if needle in d.message)
    hover = await session.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diagnostic.range.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


# --- recode/status -------------------------------------------------------------------------------


def _status_capabilities(profile: str) -> types.ClientCapabilities:
    capabilities = client_capabilities(profile)
    capabilities.experimental = {"recodeStatus": True}
    return capabilities


def _collect_status(session: Session) -> list[Any]:
    received: list[Any] = []
    session.client.protocol.fm.features[STATUS_NOTIFICATION] = received.append
    return received


async def _wait_for(received: list[Any], count: int) -> None:
    deadline = time.monotonic() + 30
    while len(received) < count:
        assert time.monotonic() < deadline, f"{count} recode/status notifications expected, got {received}"
        await asyncio.sleep(0.05)


def _field(params: Any, name: str) -> Any:
    return params[name] if isinstance(params, dict) else getattr(params, name)


async def test_status_names_the_targets_and_follows_a_settings_change(start: Starter, profile: str) -> None:
    profiles = {"vscode": "visual-studio-code", "neovim": "neovim"}
    session = await start(_status_capabilities(profiles[profile]))
    received = _collect_status(session)
    uri = session.open("module.py")
    await session.diagnostics(uri)
    await _wait_for(received, 1)
    assert _field(received[0], "summary") == "numpy 2.0"
    assert _field(received[0], "root") == str(session.root)
    targets = _field(received[0], "targets")
    numpy = next(t for t in targets if _field(t, "library") == "numpy")
    assert (_field(numpy, "version"), _field(numpy, "source")) == ("2.0", "[tool.recode]")

    mark = session.mark()
    await session.configure(targets=["numpy==1.26"])
    await session.diagnostics(uri, after=mark)
    await _wait_for(received, 2)
    assert _field(received[1], "summary") == "numpy 1.26"
    assert _field(next(t for t in _field(received[1], "targets") if _field(t, "library") == "numpy"), "source") == (
        "editor setting"
    )


async def test_no_status_for_a_client_that_did_not_ask(session: Session) -> None:
    received = _collect_status(session)
    uri = session.open("module.py")
    await session.diagnostics(uri)
    await session.log_message("numpy==2.0")  # the project's targets are logged
    await asyncio.sleep(0.5)
    assert received == []


# --- unsafe fixes --------------------------------------------------------------------------------


async def test_unsafe_fix_is_offered_marked_unsafe_when_the_setting_is_off(session: Session) -> None:
    uri = session.open("module.py")
    await session.diagnostics(uri)
    actions = await session.actions(uri, "np.in1d")
    assert [a.title for a in actions] == [
        "Replace with `numpy.isin` (unsafe)",
        "ReCode: fix all safe fixes",
        "Ignore NPY067 on this line",
    ]
    unsafe = actions[0]
    assert unsafe.kind == types.CodeActionKind.QuickFix and not unsafe.is_preferred
    resolved = await session.client.code_action_resolve_async(unsafe)
    assert resolved.edit is not None
    assert session.apply(uri, resolved.edit) == FIXTURE.replace("np.in1d", "np.isin")
    # Never part of fix-all while the setting is off.
    (fix_all,) = await session.actions(uri, only=["source.fixAll"])
    everything = await session.client.code_action_resolve_async(fix_all)
    assert everything.edit is not None
    fixed = session.apply(uri, everything.edit)
    assert "np.in1d" in fixed and "np.float64" in fixed


# --- API docs ------------------------------------------------------------------------------------


def test_the_section_as_an_editor_sends_it_unset_keys_null_is_valid() -> None:
    """The VS Code extension sends every key, null when unset: null means the default, not a problem."""
    section = {
        "targets": None,
        "interpreter": None,
        "trustProjectInterpreter": False,
        "model": {"endpoint": None, "name": None},
        "unsafeFixes": None,
        "libraries": None,
        "apiDocs": None,
        "hoverDocsTimeoutMs": None,
        "debounceMs": None,
        "maxFileBytes": None,
        "maxFileLines": None,
    }
    assert EditorSettings.parse(section) == EditorSettings()
    assert EditorSettings.parse(section).problems == ()
    offline = EditorSettings.parse({**section, "apiDocs": False, "hoverDocsTimeoutMs": 200, "maxFileLines": 10})
    assert (offline.api_docs, offline.hover_docs_timeout_ms, offline.max_file_lines) == (False, 200, 10)


async def test_api_docs_false_downloads_nothing(start: Starter, tmp_path: Path) -> None:
    session = await start(client_capabilities("visual-studio-code"), settings={"apiDocs": False}, env=_index(tmp_path))
    uri = session.open("module.py")
    text = await _hover(session, uri, "numpy.product")
    assert DISABLED in text
    assert "knowledge base's text" not in text
    (fix, *_) = await session.actions(uri, "np.product")
    assert (await session.client.code_action_resolve_async(fix)).edit is not None
    await asyncio.sleep(2)
    assert _fetched(tmp_path) == []


async def test_docs_are_read_after_diagnostics_so_the_first_hover_has_them(start: Starter, tmp_path: Path) -> None:
    """Hover does not wait at all (0 ms), yet the first one shows the fetched release's docstring:
    the server read it in the background once the document's diagnostics were computed."""
    session = await start(
        client_capabilities("visual-studio-code"),
        settings={"apiDocs": True, "hoverDocsTimeoutMs": 0},
        env=_index(tmp_path),
    )
    uri = session.open("module.py")
    await session.diagnostics(uri)
    deadline = time.monotonic() + 60
    while not any(path.name.startswith("docs-numpy-") for path in _fetched(tmp_path)):
        assert time.monotonic() < deadline, "the docs of the findings were never read before a hover"
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # the lookup hands its result to the event loop
    text = await _hover(session, uri, "numpy.product")
    assert "from the fetched 2.0.0 release" in text
    assert "prod(a, axis=None, dtype=None)" in text
    assert LOADING not in text
    # A name the release defines in a way that has no docs: the note says so in the user's words.
    alias = await _hover(session, uri, "numpy.float_")
    assert "description from ReCode's knowledge base" in alias
    assert "knowledge base's" not in alias
