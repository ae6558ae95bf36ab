"""``--select numpy`` parses only NumPy's shipped entries (the largest cost of a warm run), and
finds exactly what the whole knowledge base finds."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from recode_lsp.cli.kb_subset import load_for, shipped_libraries
from recode_lsp.cli.main import main
from recode_lsp.engine.knowledge import load_knowledge_base

SOURCE = (
    "import numpy as np\nimport pandas as pd\n\n\n"
    "def f(df, other, y):\n    return df.append(other), np.float_(y), np.array(y, copy=False), np.NaN\n"
)


def test_only_the_selected_libraries_are_parsed() -> None:
    full = load_knowledge_base()
    part = load_for(["numpy"], [], [])
    assert {change.library for change in part.changes} == {"numpy"}
    assert sorted(c.id for c in part.changes) == sorted(c.id for c in full.changes if c.library == "numpy")
    assert part.fingerprint != full.fingerprint  # its own result-cache key
    assert "pandas" in shipped_libraries()


@pytest.mark.parametrize(
    ("select", "ignore"), [(["NPY"], []), (["numpy"], ["NPY023"]), ([], []), (["numpy", "nosuchlib"], [])]
)
def test_anything_but_whole_libraries_loads_everything(select: list[str], ignore: list[str]) -> None:
    assert len(load_for(select, ignore, []).changes) == len(load_knowledge_base().changes)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0", "pandas==2.2"]\n')
    (root / "mod.py").write_text(SOURCE)
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(root)
    return root


def check(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--jobs", "1", "--no-cache", "--format", "json", *args, "."])
    return code, out.getvalue(), err.getvalue()


def test_same_findings_as_the_whole_knowledge_base(project: Path) -> None:
    """Other libraries' targets (pandas, in the project's settings and on the command line) are
    still known; the findings are the ones a full load gives (``NPY`` selects the same entries
    by id prefix, which loads everything)."""
    code, out, err = check("--select", "numpy", "--target", "pandas==2.0")
    assert code == 1, err
    subset = json.loads(out)["findings"]
    assert {f["library"] for f in subset} == {"numpy"} and len(subset) == 3
    _, whole, _ = check("--select", "numpy,NPY", "--target", "pandas==2.0")
    assert json.loads(whole)["findings"] == subset


def test_an_unknown_target_library_is_still_an_error(project: Path) -> None:
    code, _, err = check("--select", "numpy", "--target", "numpi==2.0")
    assert code == 2 and "no library 'numpi'" in err and "did you mean 'numpy'" in err
