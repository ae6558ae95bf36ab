"""``recode-lsp`` with ``RECODE_TOO_NEW=1``: the too-new diagnostics of a document, once the targeted
release is read (in the background: the first diagnostics do not wait for it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pytest_lsp import client_capabilities

from tests.lsp.conftest import PROFILES, start  # noqa: F401 - ``start`` is a fixture
from tests.toonew.test_toonew_fixture import ENTRIES, V1, V2, _write


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "changes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ENTRIES), encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "fixture"\n\n[tool.recode]\ntargets = ["tnlib==1.0"]\nextra-changes = ["changes.jsonl"]\n'
    )
    (root / "code.py").write_text("import tnlib\n\na = tnlib.new_name(1)\n", encoding="utf-8")
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", V1)
    _write(dist / "tnlib-2.0", V2)
    return root


async def test_too_new_diagnostics_in_the_editor(start, project: Path) -> None:  # noqa: F811
    env = {"RECODE_TOO_NEW": "1", "RECODE_RELEASES_DIR": str(project.parent / "dist")}
    session = await start(client_capabilities(PROFILES["vscode"]), env=env)
    uri = session.open("code.py")
    codes: list[str] = []
    for attempt in range(60):
        diagnostics = await session.diagnostics(uri)
        codes = [str(d.code) for d in diagnostics]
        if "RCN-TNL001" in codes:
            break
        await asyncio.sleep(0.5)
        # An edit, for a new analysis (the release is read in the background meanwhile).
        session.replace(uri, *(("a = ", "a  = ") if attempt % 2 == 0 else ("a  = ", "a = ")))
    assert "RCN-TNL001" in codes
    found = next(d for d in diagnostics if d.code == "RCN-TNL001")
    assert found.range.start.line == 2
    assert "does not exist in tnlib 1.0 (added in 2.0)" in found.message


FIXABLE = "from tnlib import new_name\nimport tnlib\n\na = new_name(1)\nb = tnlib.new_name(2)\nc = tnlib.extra\n"


async def _too_new_diagnostics(session, uri: str, code: str) -> list:
    """The document's diagnostics once ``code`` shows: no edit needed, the server analyses the open
    documents again when the release has been read."""
    diagnostics: list = []
    for _ in range(120):
        diagnostics = await session.diagnostics(uri, after=0) if not session.pull else await session.diagnostics(uri)
        if any(d.code == code for d in diagnostics):
            return diagnostics
        await asyncio.sleep(0.25)
    raise AssertionError(f"no {code} among {[d.code for d in diagnostics]}")


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_editor_setting_turns_it_on_with_quick_fixes(start, project: Path, profile: str) -> None:  # noqa: F811
    """``recode.tooNew: true`` (no environment variable): RCN diagnostics with the introducing version,
    and the backward fix as a quick fix that renames the import and its use together."""
    env = {"RECODE_RELEASES_DIR": str(project.parent / "dist")}
    session = await start(client_capabilities(PROFILES[profile]), settings={"tooNew": True}, env=env)
    uri = session.open("fixable.py", FIXABLE)
    diagnostics = await _too_new_diagnostics(session, uri, "RCN-TNL001")
    by_line = {(d.range.start.line, str(d.code)): d.message for d in diagnostics}
    assert by_line[(0, "RCN-TNL001")].startswith(
        "`tnlib.new_name` does not exist in tnlib 1.0 (added in 2.0): use `tnlib.old_name`"
    )
    assert (4, "RCN-TNL001") in by_line
    assert (5, "RCN001") in by_line  # display-only: no quick fix
    actions = await session.actions(uri, "tnlib.new_name")
    (action,) = [a for a in actions if a.kind == "quickfix" and not a.title.startswith("Ignore")]
    assert action.is_preferred  # the entry's fix is safe
    if action.edit is None:
        action = await session.client.code_action_resolve_async(action)
    assert action.edit is not None
    assert action.title == "Replace with `tnlib.old_name`"
    fixed = session.apply(uri, action.edit)
    assert "b = tnlib.old_name(2)" in fixed and "a = new_name(1)" in fixed
    session.set_text(uri, fixed)
    # The import and the name it binds are one fix.
    actions = await session.actions(uri, "new_name(1)")
    (action,) = [a for a in actions if a.kind == "quickfix" and not a.title.startswith("Ignore")]
    if action.edit is None:
        action = await session.client.code_action_resolve_async(action)
    assert action.edit is not None
    fixed = session.apply(uri, action.edit)
    assert fixed.startswith("from tnlib import old_name\n") and "a = old_name(1)" in fixed
    assert not [a for a in await session.actions(uri, "tnlib.extra") if a.title.startswith("Replace")]


async def test_editor_setting_off_wins_over_the_environment(start, project: Path) -> None:  # noqa: F811
    env = {"RECODE_TOO_NEW": "1", "RECODE_RELEASES_DIR": str(project.parent / "dist")}
    session = await start(client_capabilities(PROFILES["neovim"]), settings={"tooNew": False}, env=env)
    uri = session.open("code.py")
    for _ in range(6):
        assert not [d for d in await session.diagnostics(uri) if str(d.code).startswith("RCN")]
        await asyncio.sleep(0.5)
    # Turned on while the server runs: the next analysis reads the release, then the diagnostics come.
    await session.configure(tooNew=True)
    await _too_new_diagnostics(session, uri, "RCN-TNL001")


@pytest.mark.parametrize("profile", list(PROFILES))
async def test_fix_all_applies_the_backward_fixes_with_the_others(start, project: Path, profile: str) -> None:  # noqa: F811
    """``source.fixAll`` with ``recode.tooNew`` on writes what ``recode-migrate --too-new --apply``
    writes: the backward fixes (the import and its uses together), the display-only finding left."""
    env = {"RECODE_RELEASES_DIR": str(project.parent / "dist")}
    session = await start(client_capabilities(PROFILES[profile]), settings={"tooNew": True}, env=env)
    uri = session.open("fixable.py", FIXABLE)
    await _too_new_diagnostics(session, uri, "RCN-TNL001")
    (action,) = await session.actions(uri, only=["source.fixAll"])
    assert action.kind == "source.fixAll.recode"
    if action.edit is None:
        action = await session.client.code_action_resolve_async(action)
    assert action.edit is not None
    fixed = session.apply(uri, action.edit)
    assert fixed == FIXABLE.replace("new_name", "old_name")
