"""``recode-kb scrape``: two (or more) releases of a library written by the test, read offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from recode_lsp.engine.knowledge import iter_jsonl
from recode_lsp.kb import overlay
from tests.cli_process import run_module
from tests.kb.fixture_lib import V1, V2, write_dist, write_release

#: (kind, old, old_keyword, new, new_keyword, deprecated_in, removed_in, fix) of every change in kblib 1.0 -> 2.0.
EXPECTED = {
    # removal
    ("removal", "kblib.dropped", None, None, None, None, "2.0", "display"),
    # parameter rename (axis -> dim at the same place, same default)
    ("keyword_rename", "kblib.compute", "axis", None, "dim", None, "2.0", "safe"),
    # move: kblib.util is gone, its helper is in kblib.tools (matched by name, signature and docstring)
    ("removal", "kblib.util", None, None, None, None, "2.0", "display"),
    ("module_move", "kblib.util.helper", None, "kblib.tools.helper", None, None, "2.0", "safe"),
    # DeprecationWarning saying "use X instead"
    ("rename", "kblib.old_mean", None, "kblib.core.mean", None, "2.0", None, "safe"),
    # PEP 702 @deprecated on a method ("use render() instead", resolved on the same class)
    ("rename", "kblib.Widget.draw", None, "kblib.Widget.render", None, "2.0", None, "safe"),
    # module __getattr__ table (griffe alone would call kblib.Thing removed)
    ("rename", "kblib.Thing", None, "kblib.NewThing", None, "2.0", None, "safe"),
    # raising stub "removed ...; use kblib.core.load instead"
    ("rename", "kblib.legacy_load", None, "kblib.core.load", None, None, "2.0", "safe"),
    # a parameter deprecated inside the function body
    ("signature_change", "kblib.fit", "copy", None, None, "2.0", None, "display"),
    # a changed default
    ("behaviour_change", "kblib.scale", None, None, None, None, "2.0", "display"),
}


def recode_kb(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_module("recode_lsp.kb.cli", *args, cwd=cwd, cache=Path(cwd or ".") / ".cache", timeout=300)


def summary(entries: list[overlay.ScrapedEntry]) -> set[tuple[object, ...]]:
    keys = ("kind", "old", "old_keyword", "new", "new_keyword", "deprecated_in", "removed_in", "fix")
    return {tuple(e.record[k] for k in keys) for e in entries}


def test_scrape_finds_exactly_the_changes_of_two_releases(tmp_path: Path) -> None:
    dist = write_dist(tmp_path / "dist")
    out = tmp_path / "kblib.jsonl"
    result = recode_kb(
        "scrape", "kblib", "--from", "1.0", "--to", "2.0", "--dist", str(dist), "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    entries = overlay.loads(text, str(out))
    assert summary(entries) == EXPECTED
    # The file loads with the knowledge-base loader as it is (metadata lines are comments).
    assert len(list(iter_jsonl(text, str(out)))) == len(EXPECTED)
    by_old = {(e.record["old"], e.record["old_keyword"]): e for e in entries}
    # The new API's signature and docstring from the new release.
    assert by_old["kblib.old_mean", None].record["doc"] == (
        "mean(values, weights=None)\n\nArithmetic mean of values, optionally weighted."
    )
    assert by_old["kblib.compute", "axis"].record["doc"].startswith("compute(data, dim=0)")
    assert by_old["kblib.dropped", None].record["doc"] is None
    # Confidence and provenance: library, both versions, file and line of the evidence.
    stub = by_old["kblib.legacy_load", None]
    assert stub.provenance["library"] == "kblib"
    assert stub.provenance["from"] == "1.0" and stub.provenance["to"] == "2.0"
    assert {"file": "kblib/core.py", "line": 25, "what": "raising stub"}.items() <= stub.provenance["evidence"][
        0
    ].items()
    assert by_old["kblib.Thing", None].provenance["evidence"][0]["what"] == "__getattr__ table"
    move = by_old["kblib.util.helper", None]
    assert move.confidence < by_old["kblib.dropped", None].confidence  # found by similarity: lower confidence
    assert all(0 < e.confidence <= 1 for e in entries)
    assert "10 entries" in result.stderr


def test_scrape_text_format_and_wheel_in_dist_folder(tmp_path: Path) -> None:
    import zipfile

    dist = tmp_path / "dist"
    write_release(tmp_path / "one", V1)
    dist.mkdir()
    with zipfile.ZipFile(dist / "kblib-1.0-py3-none-any.whl", "w") as wheel:
        for path in (tmp_path / "one").rglob("*.py"):
            wheel.write(path, path.relative_to(tmp_path / "one").as_posix())
    write_release(dist / "kblib-2.0", V2)
    result = recode_kb(
        "scrape", "kblib", "--from", "1.0", "--to", "2.0", "--dist", str(dist), "--format", "text", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "KBLIB001  rename  kblib.Thing  [deprecated in 2.0]  fix=safe" in result.stdout
    assert "-> dim=" in result.stdout


def test_missing_release_is_a_clear_error(tmp_path: Path) -> None:
    dist = write_dist(tmp_path / "dist")
    result = recode_kb("scrape", "kblib", "--from", "1.0", "--to", "9.0", "--dist", str(dist), cwd=tmp_path)
    assert result.returncode == 2
    assert "no release kblib 9.0" in result.stderr


V3 = {
    **V2,
    "kblib/core.py": V2["kblib/core.py"].replace(
        '''def old_mean(values, weights=None):
            """Mean of values."""
            warnings.warn("old_mean is deprecated, use kblib.core.mean instead", DeprecationWarning, stacklevel=2)
            return mean(values, weights)
''',
        "",
    ),
}
V3["kblib/__init__.py"] = V2["kblib/__init__.py"].replace("mean, old_mean,", "mean,")


def test_version_chain_sets_deprecated_removed_and_restored_in(tmp_path: Path) -> None:
    assert V3["kblib/core.py"] != V2["kblib/core.py"]
    dist = write_dist(tmp_path / "dist")
    write_release(dist / "kblib-3.0", V3)
    write_release(dist / "kblib-4.0", V2)  # 4.0 brings old_mean back
    out = tmp_path / "chain.jsonl"
    result = recode_kb(
        "scrape", "kblib", "--versions", "1.0,2.0,3.0,4.0", "--dist", str(dist), "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    entries = {(e.record["old"], e.record["old_keyword"]): e.record for e in overlay.loads(out.read_text(), "chain")}
    old_mean = entries["kblib.old_mean", None]
    assert (old_mean["kind"], old_mean["new"]) == ("rename", "kblib.core.mean")
    assert (old_mean["deprecated_in"], old_mean["removed_in"], old_mean["restored_in"]) == ("2.0", "3.0", "4.0")
    # Changes of 1.0 -> 2.0 keep their versions in the longer chain.
    assert entries["kblib.compute", "axis"]["removed_in"] == "2.0"
    assert entries["kblib.fit", "copy"]["deprecated_in"] == "2.0"
    assert "restored_in" not in entries["kblib.dropped", None]


def _pypi_reachable() -> bool:
    import socket

    if os.environ.get("RECODE_OFFLINE"):
        return False
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _pypi_reachable(), reason="PyPI is not reachable (or RECODE_OFFLINE is set)")
def test_online_scrape_of_two_real_releases(tmp_path: Path) -> None:
    """packaging 22.0 removed LegacyVersion and LegacySpecifier, which 21.3 already warned about.

    The scrape sees only 21.3 and 22.0, so ``deprecated_in`` is 21.3 (deprecated by then).
    """
    out = tmp_path / "packaging.jsonl"
    result = recode_kb("scrape", "packaging", "--from", "21.3", "--to", "22.0", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    entries = {e.record["old"]: e.record for e in overlay.loads(out.read_text(), "packaging")}
    legacy = entries["packaging.version.LegacyVersion"]
    assert (legacy["kind"], legacy["removed_in"], legacy["deprecated_in"]) == ("removal", "22.0", "21.3")
    assert "packaging.specifiers.LegacySpecifier" in entries
    assert "packaging.version.Version" not in entries
    # A second scrape reads the cache: no download, same answer.
    again = recode_kb(
        "scrape", "packaging", "--from", "21.3", "--to", "22.0", "-o", str(tmp_path / "again.jsonl"), cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.jsonl").read_text() == out.read_text()
