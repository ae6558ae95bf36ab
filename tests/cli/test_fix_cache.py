"""``--diff`` and ``--apply`` use the result cache too (issue 15): a file unchanged since the last
``--diff`` is not analysed or fixed again, and what comes out is the same.

In process (``main``), so the worker can be replaced by one that fails: a second run that
still gives the same patch read it from the cache.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from recode_lsp.cli import runner
from recode_lsp.cli.main import main

SOURCE = (
    "import numpy as np\n\n\ndef f(y):\n    return np.float_(y) + np.NaN\n\n\n"
    "z = np.trapz([1, 2])\nw = np.in1d([1], [1])\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\nselect = ["numpy"]\n')
    (root / "mod.py").write_text(SOURCE)
    (root / "crlf.py").write_bytes(SOURCE.replace("\n", "\r\n").encode())
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(root)
    return root


def migrate(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--jobs", "1", "--allow-dirty", *args])
    return code, out.getvalue(), err.getvalue()


def no_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(path_text: str) -> runner.FileResult:
        raise AssertionError(f"{path_text} was analysed again")

    monkeypatch.setattr(runner, "process_file", fail)


def test_a_second_diff_reads_the_fixes_from_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = migrate("--diff", "--unsafe-fixes", "--format", "json", ".")
    assert first[0] == 1 and "np.float64(y)" in first[1]
    no_analysis(monkeypatch)
    second = migrate("--diff", "--unsafe-fixes", "--format", "json", ".")
    assert second == first
    text = migrate("--diff", "--unsafe-fixes", ".")
    assert "+    return np.float64(y) + np.nan" in text[1]
    assert "+    return np.float64(y) + np.nan\r\n" in text[1]  # the CRLF file's own line endings


def test_the_fixes_of_unsafe_and_safe_runs_are_kept_apart(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unsafe = migrate("--diff", "--unsafe-fixes", "--format", "json", ".")
    safe = migrate("--diff", "--format", "json", ".")  # not from the unsafe run's entry: analysed
    assert json.loads(safe[1])["fixed"] != json.loads(unsafe[1])["fixed"]
    no_analysis(monkeypatch)
    assert migrate("--diff", "--format", "json", ".") == safe
    assert migrate("--diff", "--unsafe-fixes", "--format", "json", ".") == unsafe


def test_apply_from_the_cache_writes_what_diff_showed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    migrate("--diff", "--unsafe-fixes", ".")
    fixed = SOURCE.replace("np.float_", "np.float64").replace("np.NaN", "np.nan").replace("trapz", "trapezoid")
    fixed = fixed.replace("np.in1d", "np.isin")  # unsafe
    no_analysis(monkeypatch)
    code, _, err = migrate("--apply", "--unsafe-fixes", ".")
    assert code == 1, err
    assert (project / "mod.py").read_text() == fixed
    assert (project / "crlf.py").read_bytes() == fixed.replace("\n", "\r\n").encode()


def test_an_edited_file_is_analysed_again(project: Path) -> None:
    migrate("--diff", "--unsafe-fixes", ".")
    (project / "mod.py").write_text(SOURCE.replace("np.NaN", "np.Inf"))
    _, patch, _ = migrate("--diff", "--unsafe-fixes", "mod.py")
    assert "np.inf" in patch and "np.nan" not in patch
