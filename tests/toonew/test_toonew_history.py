"""The standard library's older history: names today's typeshed no longer guards (``itertools.pairwise``
3.10, ``math.prod`` 3.8), read from older typeshed snapshots written here (the builder) and from the
history shipped with ReCode (the check)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from recode_lsp.cli.main import main
from recode_lsp.engine.versions import Version
from recode_lsp.kb.cli import main as kb_main
from recode_lsp.toonew import history, stdlib
from recode_lsp.toonew.inventory import FOUND, MISSING

#: An old snapshot: it still guards what 3.6 added (its floor: 3.5).
OLD = {
    "VERSIONS": "mathx: 3.0-\nnewmod: 3.7-\n_private: 3.0-\n",
    "mathx.pyi": """\
import sys

def sqrt(x: float) -> float: ...

if sys.version_info >= (3, 6):
    def prod(x: list[float]) -> float: ...

if sys.version_info >= (3, 8):
    def isqrt(x: int) -> int: ...
    class Box:
        def open(self) -> None: ...

class Vec:
    def norm(self) -> float: ...
    if sys.version_info >= (3, 9):
        def dot(self, other: Vec) -> float: ...
    def _hidden(self) -> None: ...

if sys.version_info >= (3, 9):
    def mended(x: int) -> int: ...

if sys.platform == "win32":
    def windows_only() -> None: ...
""",
    "newmod.pyi": """\
import sys

def first() -> None: ...

if sys.version_info >= (3, 9):
    def later() -> None: ...
""",
}

#: A newer snapshot (floor 3.7): ``prod`` unguarded (older than its floor), ``mended`` unguarded although
#: it tells 3.8 from 3.9 (the old guard was a mistake).
NEW = {
    "VERSIONS": "mathx: 3.0-\nnewmod: 3.7-\n",
    "mathx.pyi": """\
import sys

def sqrt(x: float) -> float: ...
def prod(x: list[float]) -> float: ...
def mended(x: int) -> int: ...

if sys.version_info >= (3, 8):
    def isqrt(x: int) -> int: ...
    class Box:
        def open(self) -> None: ...

class Vec:
    def norm(self) -> float: ...
    if sys.version_info >= (3, 9):
        def dot(self, other: Vec) -> float: ...
""",
    "newmod.pyi": OLD["newmod.pyi"],
}

#: Today's snapshot: it guards nothing the two above tell apart (floor 3.10).
TODAY = {
    "VERSIONS": "mathx: 3.0-\nnewmod: 3.7-\n",
    "mathx.pyi": """\
import sys

def sqrt(x: float) -> float: ...
def prod(x: list[float]) -> float: ...
def mended(x: int) -> int: ...
def isqrt(x: int) -> int: ...

class Box:
    def open(self) -> None: ...

class Vec:
    def norm(self) -> float: ...
    def dot(self, other: Vec) -> float: ...

if sys.version_info >= (3, 12):
    def batched(x: int) -> int: ...
""",
}


def _snapshot(root: Path, files: dict[str, str]) -> stdlib.Typeshed:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    typeshed = stdlib.typeshed_at(root)
    assert typeshed is not None
    return typeshed


def test_a_snapshot_says_when_each_guarded_name_came_and_how_far_back_it_tells(tmp_path: Path) -> None:
    old = _snapshot(tmp_path / "old", OLD)
    assert history.added_names(old) == {
        "mathx.prod": "3.6",
        "mathx.isqrt": "3.8",
        "mathx.Box": "3.8",
        "mathx.Box.open": "3.8",  # a member of a class that came later: as late as its class
        "mathx.Vec.dot": "3.9",
        "mathx.mended": "3.9",
        "newmod.later": "3.9",  # ``newmod.first`` is as old as its module: not in the history
    }
    assert history.floor_of(old) == (3, 5)
    assert history.floor_of(_snapshot(tmp_path / "new", NEW)) == (3, 7)


def test_a_newer_snapshot_wins_and_mends_what_an_older_one_guarded_wrongly(tmp_path: Path) -> None:
    old, new = _snapshot(tmp_path / "old", OLD), _snapshot(tmp_path / "new", NEW)
    merged = history.merge(
        [(history.added_names(old), history.floor_of(old)), (history.added_names(new), history.floor_of(new))]
    )
    # ``prod`` (3.6) is older than the newer snapshot's floor (3.7): the old guard stands. ``mended`` (3.9)
    # is not: the newer snapshot, which tells 3.8 from 3.9, has it unguarded.
    assert merged == {
        "mathx.prod": "3.6",
        "mathx.isqrt": "3.8",
        "mathx.Box": "3.8",
        "mathx.Box.open": "3.8",
        "mathx.Vec.dot": "3.9",
        "newmod.later": "3.9",
    }


def test_an_inventory_of_an_older_target_loses_what_the_history_says_came_later(tmp_path: Path) -> None:
    today = _snapshot(tmp_path / "today", TODAY)
    older = {"mathx.prod": "3.6", "mathx.isqrt": "3.8", "mathx.Box": "3.8", "mathx.Box.open": "3.8"}
    older |= {"mathx.Vec.dot": "3.9", "mathx.batched": "3.12", "mathx.gone": "3.9"}
    without = stdlib.inventory_for_module("mathx", Version("3.7"), today)
    assert without is not None and without.resolve("mathx.isqrt").state == FOUND  # the guard is gone today
    inventory = stdlib.inventory_for_module("mathx", Version("3.7"), today, older)
    assert inventory is not None
    assert inventory.added == {
        "mathx.isqrt": "3.8",
        "mathx.Box": "3.8",
        "mathx.Vec.dot": "3.9",
        "mathx.batched": "3.12",  # today's own guard
    }
    assert inventory.resolve("mathx.prod").state == FOUND  # 3.6: there at 3.7
    assert inventory.resolve("mathx.isqrt").state == MISSING
    assert inventory.resolve("mathx.Box.open").state == MISSING  # under a class 3.7 lacks
    assert inventory.resolve("mathx.Vec.dot").state == MISSING
    assert inventory.resolve("mathx.Vec.norm").state == FOUND
    assert inventory.resolve("mathx.gone").state == MISSING  # unknown today: nothing to take out or add
    assert "mathx.gone" not in inventory.added
    at_39 = stdlib.inventory_for_module("mathx", Version("3.9"), today, older)
    assert at_39 is not None and at_39.added == {"mathx.batched": "3.12"}


def test_recode_kb_writes_the_history_from_snapshots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _snapshot(tmp_path / "new" / "stdlib", NEW)  # a checkout: its ``stdlib`` folder is read
    _snapshot(tmp_path / "old", OLD)
    out = tmp_path / "history.json"
    # Given newest first: read in the order of their floors all the same.
    assert (
        kb_main(
            [
                "stdlib-history",
                "--typeshed",
                str(tmp_path / "new"),
                "--typeshed",
                str(tmp_path / "old"),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "6 names in the history" in capsys.readouterr().err
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["added"]["mathx"]["3.8"] == ["mathx.Box", "mathx.Box.open", "mathx.isqrt"]
    assert written["sources"] == [f"typeshed at {tmp_path / 'old'}", f"typeshed at {tmp_path / 'new'}"]
    assert "Apache" in written["licence"]
    assert history.shipped("mathx", out) == {
        "mathx.prod": "3.6",
        "mathx.isqrt": "3.8",
        "mathx.Box": "3.8",
        "mathx.Box.open": "3.8",
        "mathx.Vec.dot": "3.9",
    }
    assert history.shipped("other", out) == {}


def test_recode_kb_stdlib_history_says_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kb_main(["stdlib-history"]) == 2
    assert "give --typeshed DIR or --mypy VERSION" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert kb_main(["stdlib-history", "--typeshed", str(tmp_path / "empty")]) == 2
    assert "no typeshed stdlib folder (with VERSIONS)" in capsys.readouterr().err


def test_a_missing_or_foreign_history_file_says_nothing(tmp_path: Path) -> None:
    assert history.shipped("itertools", tmp_path / "absent.json") == {}
    (tmp_path / "other.json").write_text('{"format": 99, "added": {"itertools": {"3.10": ["x"]}}}', encoding="utf-8")
    assert history.shipped("itertools", tmp_path / "other.json") == {}
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert history.shipped("itertools", tmp_path / "broken.json") == {}


def test_a_mypy_wheel_is_unpacked_without_leaving_its_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "cache" / "mypy-wheels"
    wheels.mkdir(parents=True)
    with zipfile.ZipFile(wheels / "mypy-0.0.1-py3-none-any.whl", "w") as wheel:
        for name, text in OLD.items():
            wheel.writestr(f"mypy/typeshed/stdlib/{name}", text)
        wheel.writestr("mypy/typeshed/stdlib/../../../../escaped.pyi", "x: int\n")
        wheel.writestr("mypy/checker.py", "raise SystemExit\n")
    root = history.fetch_mypy_typeshed("0.0.1", tmp_path / "cache")
    assert root == tmp_path / "cache" / "typeshed-of-mypy-0.0.1" / "stdlib"
    assert sorted(path.name for path in root.iterdir()) == ["VERSIONS", "mathx.pyi", "newmod.pyi"]
    assert not list(tmp_path.rglob("escaped.pyi")) and not list(tmp_path.rglob("checker.py"))
    typeshed = stdlib.typeshed_at(root)
    assert typeshed is not None and history.added_names(typeshed)["mathx.isqrt"] == "3.8"
    with zipfile.ZipFile(wheels / "mypy-0.0.2-py3-none-any.whl", "w") as wheel:
        wheel.writestr("mypy/__init__.py", "")
    with pytest.raises(OSError, match="ships no typeshed with a VERSIONS file"):
        history.fetch_mypy_typeshed("0.0.2", tmp_path / "cache")
    assert not (tmp_path / "cache" / "typeshed-of-mypy-0.0.2").exists()


# --- the shipped history, with the typeshed at hand --------------------------------------------------

needs_typeshed = pytest.mark.skipif(
    stdlib.find_typeshed() is None, reason="no typeshed at hand (mypy, typeshed_client)"
)


def test_the_shipped_history_knows_what_older_pythons_added() -> None:
    assert history.shipped("itertools")["itertools.pairwise"] == "3.10"
    assert history.shipped("random")["random.randbytes"] == "3.9"
    assert history.shipped("math")["math.prod"] == "3.8"
    assert history.shipped("math")["math.isclose"] == "3.5"
    assert history.shipped("functools")["functools.cache"] == "3.9"
    assert history.shipped("functools")["functools.cached_property"] == "3.8"
    assert history.shipped("contextlib")["contextlib.nullcontext"] == "3.7"
    # Names every Python 3 has are not in it.
    assert "math.sqrt" not in history.shipped("math") and "itertools.chain" not in history.shipped("itertools")


CODE = """\
import math
import sys
from functools import cache
from itertools import pairwise, chain

total = math.prod([1, 2, 3])
pairs = list(pairwise([1, 2, 3]))
if sys.version_info >= (3, 9):
    least = math.lcm(2, 3)
try:
    from math import isqrt
except ImportError:
    isqrt = None
root = math.sqrt(4.0)
"""


@needs_typeshed
def test_names_older_pythons_added_are_flagged_with_their_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "code.py").write_text(CODE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    def found(target: str) -> list[tuple[int, str]]:
        main(["--too-new", "--no-cache", "--format", "json", "--select", "RCN", "--target", target, "code.py"])
        report = json.loads(capsys.readouterr().out)
        return sorted((f["location"]["line"], f["message"]) for f in report["findings"])

    assert found("python==3.7") == [
        (3, "`functools.cache` does not exist in Python 3.7 (added in 3.9)"),
        (4, "`itertools.pairwise` does not exist in Python 3.7 (added in 3.10)"),
        (6, "`math.prod` does not exist in Python 3.7 (added in 3.8)"),
    ]
    assert found("python==3.9") == [(4, "`itertools.pairwise` does not exist in Python 3.9 (added in 3.10)")]
    assert found("python==3.10") == []
