"""Files the prefilter rules out are not parsed unless ``--check-syntax`` asks (issue 15).

Parsing the files that use none of the selected changed names was a quarter of a cold
``--check`` on old scientific code. A file that is analysed (it uses a changed name) still gets
a clear syntax error; binary and undecodable files are still reported (a byte test finds them).
Each test runs the real CLI in a child process on files in a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from recode_lsp.engine.digest import digest
from tests.cli_process import run_migrate

BROKEN_WITHOUT_NUMPY = b"import os\n\ndef join(a, b:\n    return os.path.join(a, b)\n"
BROKEN_WITH_NUMPY = b"import numpy as np\n\ndef mean(a:\n    return np.float_(a.mean())\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "pkg" / "legacy.py").write_text("import numpy as np\n\nEPS = np.finfo(np.float_).eps\n")
    (root / "pkg" / "paths.py").write_bytes(BROKEN_WITHOUT_NUMPY)
    (root / "pkg" / "stats.py").write_bytes(BROKEN_WITH_NUMPY)
    (root / "pkg" / "blob.py").write_bytes(b"x = 1\n\x00\x00\xff")
    return root


def check(root: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_migrate(
        "--check", "--select", "numpy", "--target", "numpy==2.0", "--format", "json", *extra, "pkg",
        cwd=root, cache=cache,
    )  # fmt: skip


def errors(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 1, result.stderr
    return {error["path"]: error["error"] for error in json.loads(result.stdout)["errors"]}


def test_syntax_errors_are_reported_only_for_files_that_are_analysed(project: Path, tmp_path: Path) -> None:
    found = errors(check(project, tmp_path / "cache"))
    assert sorted(found) == ["pkg/blob.py", "pkg/stats.py"]
    assert found["pkg/stats.py"].startswith("syntax error at line 3")
    assert "binary" in found["pkg/blob.py"]


def test_check_syntax_parses_every_file(project: Path, tmp_path: Path) -> None:
    found = errors(check(project, tmp_path / "cache", "--check-syntax"))
    assert sorted(found) == ["pkg/blob.py", "pkg/paths.py", "pkg/stats.py"]
    assert found["pkg/paths.py"].startswith("syntax error at line 3")


def test_the_cache_keeps_skipped_files_and_check_syntax_has_its_own(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = errors(check(project, cache))
    (entry,) = (cache / "check").glob("check-*.json")
    by_hash = json.loads(entry.read_bytes())["by_hash"]
    # The file that was not parsed is cached as clean and skipped, so a warm run reads nothing.
    assert by_hash[digest(BROKEN_WITHOUT_NUMPY)] == [[], None, True]
    assert errors(check(project, cache)) == first
    # --check-syntax must not reuse those entries: it has a cache file of its own.
    assert "pkg/paths.py" in errors(check(project, cache, "--check-syntax"))
    assert len(list((cache / "check").glob("check-*.json"))) == 2


def test_help_documents_check_syntax() -> None:
    result = run_migrate("--help")
    assert "--check-syntax" in result.stdout
