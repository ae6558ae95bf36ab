"""An accepted overlay entry reaches ``recode-lsp`` without a restart (issue 12)."""

from __future__ import annotations

import json

import pytest
from lsprotocol import types

from tests.lsp.conftest import Session, profile, project, session, start  # noqa: F401 - fixtures

pytestmark = pytest.mark.asyncio

ENTRY = {
    "id": "KBLIB001",
    "library": "kblib",
    "old": "kblib.old_mean",
    "kind": "removal",
    "scope": "module",
    "removed_in": "2.0",
    "note": "old_mean was removed.",
    "source": "recode-kb scrape kblib 1.0..2.0",
    "fix": "display",
}


async def test_saved_overlay_entry_is_reported_without_a_restart(session: Session) -> None:  # noqa: F811
    session.write("pyproject.toml", '[tool.recode]\nextra-changes = ["kb/overlay.jsonl"]\n')
    overlay_file = session.write("kb/overlay.jsonl", "")
    uri = session.open("app.py", "import kblib\n\nkblib.old_mean([1, 2])\n")
    assert [d.code for d in await session.diagnostics(uri)] == []

    mark = session.mark()
    session.write("kb/overlay.jsonl", json.dumps(ENTRY) + "\n")
    session.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=overlay_file.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    assert "KBLIB001" in [d.code for d in await session.diagnostics(uri, after=mark)]
