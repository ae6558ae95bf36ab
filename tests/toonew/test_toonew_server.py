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
