"""``recode-kb validate`` with facts files, and scraped ids from a library's facts (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

from recode_lsp.engine.knowledge import DATA_FOLDER, iter_jsonl, shipped_files
from recode_lsp.kb import overlay
from tests.kb.fixture_lib import write_dist, write_release
from tests.kb.test_kb_scrape import recode_kb

FACTS = {"library": "kblib", "display_name": "KB Lib", "id_prefix": "KBLIB", "modules": ["kblib"]}


def scraped_kblib(tmp_path: Path) -> Path:
    dist = write_dist(tmp_path / "dist")
    out = tmp_path / "kb" / "kblib.jsonl"
    result = recode_kb(
        "scrape", "kblib", "--from", "1.0", "--to", "2.0", "--dist", str(dist), "-o", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return out


def test_validate_an_entries_file_with_its_facts_file_beside_it(tmp_path: Path) -> None:
    entries = scraped_kblib(tmp_path)
    facts = entries.with_name("kblib.facts.json")
    facts.write_text(json.dumps(FACTS, indent=2))
    result = recode_kb("validate", str(entries), str(facts), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{entries}: 10 entries OK (facts: kblib.facts.json, kblib)",
        f"{facts}: facts of kblib OK (id prefix KBLIB)",
    ]
    assert result.stderr == ""


def test_validate_reports_a_bad_facts_file(tmp_path: Path) -> None:
    entries = scraped_kblib(tmp_path)
    facts = entries.with_name("kblib.facts.json")
    facts.write_text(json.dumps({**FACTS, "id_prefix": "kb"}))
    for path in (entries, facts):
        result = recode_kb("validate", str(path), cwd=tmp_path)
        assert result.returncode == 1
        assert (
            result.stderr.strip() == f"{facts}: id_prefix must be capital letters and digits, starting with a letter"
        )


def test_validate_a_shipped_file_against_the_other_shipped_files(tmp_path: Path) -> None:
    shipped = DATA_FOLDER / "scipy.jsonl"
    count = len(list(iter_jsonl(shipped.read_text(), "scipy")))
    result = recode_kb("validate", str(shipped), str(DATA_FOLDER / "scipy.facts.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{shipped}: {count} entries OK (facts: scipy.facts.json, scipy)",
        f"{DATA_FOLDER / 'scipy.facts.json'}: facts of scipy OK (id prefix SCIPY)",
    ]
    # A copy of a shipped file elsewhere is another file: its ids clash with the shipped ones.
    copy = tmp_path / "scipy.jsonl"
    copy.write_text(shipped.read_text())
    clash = recode_kb("validate", str(copy), cwd=tmp_path)
    assert clash.returncode == 1
    assert "id SCIPY001 already used" in clash.stderr


def test_default_id_prefix_comes_from_the_facts_and_continues_the_shipped_numbers(tmp_path: Path) -> None:
    """scikit-learn's facts say SKL: scraped ids are SKL<n> after the last shipped SKL id."""
    old = {"sklearn/__init__.py": "def old_api(x):\n    return x\n\n\ndef kept(x):\n    return x\n"}
    new = {"sklearn/__init__.py": "def kept(x):\n    return x\n"}
    write_release(tmp_path / "dist" / "scikit-learn-1.0", old)
    write_release(tmp_path / "dist" / "scikit-learn-2.0", new)
    out = tmp_path / "sklearn.jsonl"
    result = recode_kb(
        "scrape",
        "scikit-learn",
        "--from",
        "1.0",
        "--to",
        "2.0",
        "--dist",
        str(tmp_path / "dist"),
        "-o",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    shipped = [
        json.loads(line)["id"]
        for name, text in shipped_files()
        if name.endswith("scikit-learn.jsonl")
        for line in text.splitlines()
        if line.strip()
    ]
    highest = max(int(i.removeprefix("SKL")) for i in shipped)
    entries = overlay.loads(out.read_text(), str(out))
    assert [(e.record["id"], e.record["old"], e.record["kind"]) for e in entries] == [
        (f"SKL{highest + 1:03d}", "sklearn.old_api", "removal")
    ]
    # They load together with the shipped data.
    assert recode_kb("validate", str(out), cwd=tmp_path).returncode == 0
