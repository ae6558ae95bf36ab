"""``recode-kb scrape --from OLD --to NEW --every-minor``: the chain of minor releases in between."""

from __future__ import annotations

from pathlib import Path

import pytest

from recode_lsp.engine.versions import Version
from recode_lsp.kb import overlay
from recode_lsp.kb.releases import ReleaseError, available_versions, every_minor
from tests.kb.fixture_lib import V1, V2, write_release
from tests.kb.test_kb_scrape import V3, recode_kb


def test_every_minor_chains_the_newest_patch_of_each_minor_release(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write_release(dist / "kblib-1.0", V1)
    write_release(dist / "kblib-1.5.0", V2)
    write_release(dist / "kblib-1.5.1", V3)  # the newest 1.5: old_mean is gone here
    write_release(dist / "kblib-2.0", V2)  # and back in 2.0
    write_release(dist / "kblib-2.1", V3)  # after --to: not read
    out = tmp_path / "chain.jsonl"
    result = recode_kb(
        "scrape",
        "kblib",
        "--from",
        "1.0",
        "--to",
        "2.0",
        "--every-minor",
        "--dist",
        str(dist),
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "kblib 1.0 -> 1.5.1 -> 2.0:" in result.stderr
    entries = {(e.record["old"], e.record["old_keyword"]): e.record for e in overlay.loads(out.read_text(), "chain")}
    old_mean = entries["kblib.old_mean", None]
    assert (old_mean["removed_in"], old_mean["restored_in"]) == ("1.5.1", "2.0")


def test_the_index_lists_releases_for_any_python() -> None:
    # Releases are read, never installed: SciPy 1.7 and 1.8 need an older Python than 3.11, and a chain that
    # left them out dated their names 1.9 (``recode-kb additions scipy --every-minor``). Asks the package
    # index: skipped where it cannot be reached.
    try:
        found = available_versions("scipy", timeout=60)
    except ReleaseError as exc:
        pytest.skip(f"the package index cannot be reached here: {exc}")
    assert Version("1.7.3") in found and Version("1.8.1") in found
    assert every_minor("1.6.3", "1.9.3", found) == ["1.6.3", "1.7.3", "1.8.1", "1.9.3"]
