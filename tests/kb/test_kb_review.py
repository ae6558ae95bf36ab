"""``recode-kb review``/``validate``/``list``, and a reviewed overlay changing what ``recode-migrate`` reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recode_lsp.kb import overlay
from tests.cli_process import run_migrate
from tests.kb.fixture_lib import write_dist
from tests.kb.test_kb_scrape import recode_kb

USER_CODE = "import kblib\n\nprint(kblib.old_mean([1, 2]))\nprint(kblib.compute([1], axis=0))\n"


@pytest.fixture
def scraped(tmp_path: Path) -> Path:
    dist = write_dist(tmp_path / "dist")
    out = tmp_path / "scraped.jsonl"
    result = recode_kb(
        "scrape", "kblib", "--from", "1.0", "--to", "2.0", "--dist", str(dist), "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return out


def ids_of(path: Path) -> dict[tuple[str, str | None], str]:
    return {(e.record["old"], e.record["old_keyword"]): e.record["id"] for e in overlay.loads(path.read_text(), "x")}


def migrate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_migrate(*args, cwd=project, cache=project / ".cache")


def test_accepted_overlay_entries_change_what_recode_migrate_reports(tmp_path: Path, scraped: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text(USER_CODE)
    (project / "pyproject.toml").write_text('[tool.recode]\nextra-changes = ["kb/kblib.jsonl"]\n')
    ids = ids_of(scraped)
    overlay_file = project / "kb" / "kblib.jsonl"
    overlay_file.parent.mkdir()
    overlay_file.write_text("")

    before = migrate(project, "app.py")
    assert before.returncode == 0, before.stdout + before.stderr
    assert ids["kblib.old_mean", None] not in before.stdout

    accept = f"{ids['kblib.old_mean', None]},{ids['kblib.compute', 'axis']}"
    reviewed = recode_kb("review", str(scraped), "--overlay", str(overlay_file), "--accept", accept, cwd=tmp_path)
    assert reviewed.returncode == 0, reviewed.stderr
    assert "accepted 2 of 10" in reviewed.stderr
    assert set(ids_of(overlay_file)) == {("kblib.old_mean", None), ("kblib.compute", "axis")}

    after = migrate(project, "app.py")
    assert after.returncode == 1, after.stdout + after.stderr
    assert f"app.py:3:7: {ids['kblib.old_mean', None]}" in after.stdout
    assert f"{ids['kblib.compute', 'axis']}" in after.stdout

    # Both are mechanical fixes: the move and the keyword rename are applied as edits.
    diff = migrate(project, "--diff", "app.py").stdout
    assert "+from kblib.core import mean\n" in diff
    assert "+print(mean([1, 2]))\n" in diff
    assert "+print(kblib.compute([1], dim=0))" in diff


def test_review_accept_all_and_interactive_answers(tmp_path: Path, scraped: Path) -> None:
    everything = tmp_path / "all.jsonl"
    result = recode_kb("review", str(scraped), "--overlay", str(everything), "--accept-all", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(overlay.loads(everything.read_text(), "all")) == 10
    # Interactive: accept the first, reject the second, quit.
    picked = tmp_path / "picked.jsonl"
    process = subprocess.run(
        [sys.executable, "-m", "recode_lsp.kb.cli", "review", str(scraped), "--overlay", str(picked)],
        input="a\nr\nq\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "[1/10] KBLIB001  rename  kblib.Thing" in process.stdout
    assert [e.record["id"] for e in overlay.loads(picked.read_text(), "picked")] == ["KBLIB001"]


def test_review_unknown_id_is_an_error(tmp_path: Path, scraped: Path) -> None:
    result = recode_kb(
        "review", str(scraped), "--overlay", str(tmp_path / "o.jsonl"), "--accept", "NOPE001", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "NOPE001" in result.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_validate_reports_file_and_line(tmp_path: Path, scraped: Path) -> None:
    ok = recode_kb("validate", str(scraped), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{scraped}: 10 entries OK"
    lines = scraped.read_text().splitlines()
    record = json.loads(lines[3])
    record["kind"] = "rename"
    record["new"] = None
    lines[3] = json.dumps(record)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    result = recode_kb("validate", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad}:4: a rename needs `new`" in result.stderr


def test_validate_rejects_an_id_the_shipped_data_uses(tmp_path: Path, scraped: Path) -> None:
    text = scraped.read_text().replace("KBLIB001", "NPY001")
    clash = tmp_path / "clash.jsonl"
    clash.write_text(text)
    result = recode_kb("validate", str(clash), cwd=tmp_path)
    assert result.returncode == 1
    assert "id NPY001 already used" in result.stderr


def test_list_counts_shipped_and_overlay_entries(tmp_path: Path, scraped: Path) -> None:
    result = recode_kb("list", "--extra", str(scraped), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "kblib: 10 entries (1 behaviour_change, 1 keyword_rename, 1 module_move, 2 removal, 4 rename, "
        "1 signature_change)" in result.stdout
    )
    assert any(line.startswith("numpy: ") for line in result.stdout.splitlines())
    entries = recode_kb("list", "--extra", str(scraped), "--library", "kblib", "--entries", cwd=tmp_path)
    assert "KBLIB002\tkblib\trename\tkblib.Widget.draw\t`kblib.Widget.render`" in entries.stdout
