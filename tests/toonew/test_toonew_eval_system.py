"""The evaluation harness's ``rules-too-new`` system: the ``rules`` system with the too-new check's
findings and backward fixes (what ``recode-migrate --too-new --apply`` does), on a task for a library
the test writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_training.eval.codemenv import Task
from model_training.eval.systems import SYSTEMS, make_system, rules_system
from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
from tests.toonew.test_toonew_fixture import ENTRIES, V1, V2, _write

PROGRAM = "import tnlib\n\nprint(tnlib.new_name(1))\nprint(tnlib.compute([1], method='slow'))\n"


@pytest.fixture()
def task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Task:
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", V1)
    _write(dist / "tnlib-2.0", V2)
    monkeypatch.setenv("RECODE_RELEASES_DIR", str(dist))
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    return Task("easy/tn", "easy", "tnlib", "2.0", "1.0", PROGRAM, "", "1\n[1]\n")


def test_backward_fixes_in_the_rules_system(task: Task) -> None:
    kb = KnowledgeBase([parse_entry(entry, "test") for entry in ENTRIES])
    plain = rules_system(kb)(task, 0)
    assert plain.program == PROGRAM and plain.fixes == 0
    migrated = rules_system(kb, too_new=True)(task, 0)
    assert migrated.error is None and migrated.fixes == 2
    assert migrated.program is not None
    assert "tnlib.old_name(1)" in migrated.program and "how='slow'" in migrated.program
    assert "rules-too-new" in SYSTEMS and callable(make_system("rules-too-new"))
