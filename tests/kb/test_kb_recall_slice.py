"""A bounded slice of ``bench/kb_recall.py``: the shipped knowledge base's flag rate on held-out old code.

The benchmark's data (``bench/data/kb_recall/``) lists real API changes between release pairs that were not used to
build the knowledge base, and a user module per library written against the old release, every old use marked
``# old-api: <change>``. This runs the flag-rate part (``recode-migrate --check`` with the new release as the
target, no scrape, no network) for two libraries and holds the shipped knowledge base to the issue's bar: at least
85% of the marked old uses flagged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "kb_recall.py"
LIBRARIES = ("numpy", "pandas")


def test_shipped_kb_flags_held_out_old_uses(tmp_path: Path) -> None:
    out = tmp_path / "kb_recall.json"
    command = [sys.executable, str(BENCH), "--libraries", ",".join(LIBRARIES), "--no-scrape", "--json", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    results = {r["library"]: r for r in json.loads(out.read_text(encoding="utf-8"))["libraries"]}
    assert set(results) == set(LIBRARIES)
    changes = json.loads((ROOT / "bench" / "data" / "kb_recall" / "changes.json").read_text(encoding="utf-8"))
    for library in LIBRARIES:
        result = results[library]
        # Every change of the list has its marked use in the old module, and each one was looked at.
        assert result["marked"] == len(changes["libraries"][library]["changes"]) == result["changes"]
        assert result["flagged"] + len(result["kb_missed"]) == result["marked"]
        rate = result["flagged"] / result["marked"]
        assert rate >= 0.85, f"{library}: {result['flagged']}/{result['marked']} flagged; missed {result['kb_missed']}"
        assert f"{library} {result['pair']}: flagged {result['flagged']}/{result['marked']}" in run.stdout
    assert "kb_recall: scraper_recall=n/a (--no-scrape) flagged=" in run.stdout
