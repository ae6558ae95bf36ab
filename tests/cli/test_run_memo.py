"""A ``--check`` over unchanged files reads its results from one memo of the last run (cli/cache.py:
``RunMemo``, issue 15's warm run). Each test runs the real CLI in a child process on files in a
temporary folder with its own cache folder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from recode_lsp.cli.cache import RunMemo
from recode_lsp.cli.runner import FileResult
from tests.cli_process import run_migrate

LEGACY = "import numpy as np\n\nEPS = np.finfo(np.float_).eps\n"
CLEAN = "import numpy as np\n\nEPS = np.finfo(np.float64).eps\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "pkg" / "legacy.py").write_text(LEGACY)
    (root / "pkg" / "clean.py").write_text(CLEAN)
    (root / "pkg" / "other.py").write_text("import os\n\nHOME = os.environ.get('HOME')\n")
    return root


def check(root: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_migrate(
        "--check", "--select", "numpy", "--target", "numpy==2.0", *extra, "pkg", cwd=root, cache=cache,
        env={"GIT_CEILING_DIRECTORIES": str(root.parent)},
    )  # fmt: skip


def memos(cache: Path) -> list[Path]:
    return sorted((cache / "check").glob("run-*.json"))


def test_a_warm_check_is_served_by_the_memo_with_the_same_report(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = check(project, cache, "--format", "json")
    assert cold.returncode == 1, cold.stderr
    (memo,) = memos(cache)
    # The per-file cache gone: only the memo can give the warm run its results.
    for entry in (cache / "check").glob("check-*.json"):
        entry.unlink()
    warm = check(project, cache, "--format", "json")
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    assert not list((cache / "check").glob("check-*.json"))  # nothing was analysed, nothing rewritten
    # The report's format is not part of the results: the text report reads the same memo.
    text = check(project, cache)
    assert "pkg/legacy.py:3:" in text.stdout and "NPY023" in text.stdout
    assert memos(cache) == [memo]


def test_an_edited_added_or_removed_file_misses_the_memo(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    check(project, cache, "--format", "json")
    (project / "pkg" / "clean.py").write_text(LEGACY + "\nTINY = np.NaN\n")
    edited = json.loads(check(project, cache, "--format", "json").stdout)
    assert sorted({(f["path"], f["code"]) for f in edited["findings"]}) == [
        ("pkg/clean.py", "NPY023"),
        ("pkg/clean.py", "NPY033"),
        ("pkg/legacy.py", "NPY023"),
    ]
    (project / "pkg" / "legacy.py").unlink()
    (project / "pkg" / "new.py").write_text(LEGACY)
    moved = json.loads(check(project, cache, "--format", "json").stdout)
    assert sorted({f["path"] for f in moved["findings"]}) == ["pkg/clean.py", "pkg/new.py"]
    assert moved["summary"]["files"] == 3
    # Touched only (same bytes, new mtime): the memo misses, the per-file cache still serves it.
    stat = (project / "pkg" / "new.py").stat()
    os.utime(project / "pkg" / "new.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert json.loads(check(project, cache, "--format", "json").stdout)["findings"] == moved["findings"]


def test_a_damaged_memo_is_ignored(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = check(project, cache, "--format", "json")
    (memo,) = memos(cache)
    for damage in (b"not json", json.dumps({"format": 2, "key": "x"}).encode(), memo.read_bytes()[:-40]):
        memo.write_bytes(damage)
        again = check(project, cache, "--format", "json")
        assert again.stdout == cold.stdout
    assert json.loads(memo.read_bytes())["listing"]  # written again, whole


@pytest.mark.parametrize("extra", [("--no-cache",), ("--diff",)])
def test_no_memo_without_the_cache_or_outside_check(project: Path, tmp_path: Path, extra: tuple[str, ...]) -> None:
    cache = tmp_path / "cache"
    check(project, cache, *extra)
    assert memos(cache) == []


def test_other_settings_do_not_share_a_memo(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    check(project, cache, "--format", "json")
    older = json.loads(check(project, cache, "--format", "json", "--target", "numpy==1.25").stdout)
    assert older["findings"] == []  # NumPy 1.25 still has float_: nothing to report
    assert len(memos(cache)) == 2


def test_results_not_read_from_disk_are_not_remembered(tmp_path: Path) -> None:
    stats = {"a.py": (1, 2), "b.py": (3, 4)}
    memo = RunMemo("key", ["a.py", "b.py"], stats, folder=tmp_path)
    read, unread = FileResult("a.py"), FileResult("b.py", error="cannot read: permission denied")
    read.read_digest = "d1"
    memo.save([read, unread])
    assert not list(tmp_path.iterdir())
    unread.read_digest, unread.error = "d2", None
    memo.save([read, unread])
    remembered = RunMemo("key", ["a.py", "b.py"], stats, folder=tmp_path).results()
    assert remembered is not None and [r.path for r in remembered] == ["a.py", "b.py"]
    assert RunMemo("key", ["a.py", "b.py"], {**stats, "b.py": (3, 5)}, folder=tmp_path).results() is None
    assert RunMemo("other key", ["a.py", "b.py"], stats, folder=tmp_path).results() is None
