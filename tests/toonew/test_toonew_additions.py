"""When a library gained its names, read from a chain of its releases (``recode-kb additions``), and the
version a too-new finding's message gives from it; releases written by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recode_lsp.cli.main import main
from recode_lsp.engine.versions import Version
from recode_lsp.kb.cli import main as kb_main
from recode_lsp.toonew import additions
from tests.toonew.test_toonew_fixture import _write

RELEASES = {
    "tnlib-1.0": {
        "tnlib/__init__.py": """
            def compute(data):
                return data

            class Frame:
                def head(self):
                    return self
        """,
    },
    "tnlib-1.1": {
        "tnlib/__init__.py": """
            def compute(data, how="fast", once=False):
                return data

            def blend(a, b):
                return a

            def fleeting():
                return None

            class Frame:
                def head(self):
                    return self

                def tail(self):
                    return self
        """,
    },
    "tnlib-2.0": {
        "tnlib/__init__.py": """
            from tnlib import extra

            def compute(data, how="fast"):
                return data

            def blend(a, b):
                return a

            class Frame:
                def head(self):
                    return self

                def tail(self):
                    return self
        """,
        "tnlib/extra.py": """
            def shiny():
                return 1
        """,
    },
}


@pytest.fixture()
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dist"
    for release, files in RELEASES.items():
        _write(folder / release, files)
    monkeypatch.setenv("RECODE_RELEASES_DIR", str(folder))
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    return folder


def test_names_a_release_added_and_kept(dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "added" / "tnlib.json"
    assert kb_main(["additions", "tnlib", "--versions", "2.0,1.0,1.1", "--dist", str(dist), "-o", str(out)]) == 0
    assert "3 names and 1 keywords added after 1.0" in capsys.readouterr().err
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["releases"] == ["1.0", "1.1", "2.0"]
    # ``fleeting`` came in 1.1 and went in 2.0: no addition. ``tnlib.extra`` is new in 2.0; its members are
    # not listed (the walk reports the module missing).
    assert written["added"] == {"1.1": ["tnlib.Frame.tail", "tnlib.blend"], "2.0": ["tnlib.extra"]}
    # ``compute(once=)`` came in 1.1 and went in 2.0: no addition either.
    assert written["keywords"] == {"1.1": ["tnlib.compute(how)"]}
    assert additions.shipped("tnlib", out.parent) == {
        "tnlib.Frame.tail": "1.1",
        "tnlib.blend": "1.1",
        "tnlib.extra": "2.0",
        "tnlib.compute(how)": "1.1",
    }
    assert additions.version_of("tnlib", "tnlib.compute", Version("1.0"), out.parent, keyword="how") == Version("1.1")
    assert additions.version_of("tnlib", "tnlib.blend", Version("1.0"), out.parent) == Version("1.1")
    assert additions.version_of("tnlib", "tnlib.blend", Version("1.1"), out.parent) is None  # not later
    assert additions.version_of("tnlib", "tnlib.compute", Version("1.0"), out.parent) is None
    assert additions.version_of("other", "other.x", Version("1.0"), out.parent) is None


def test_a_finding_says_which_release_added_the_name(
    dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "added"
    assert (
        kb_main(
            ["additions", "tnlib", "--versions", "1.0,1.1,2.0", "--dist", str(dist), "-o", str(folder / "tnlib.json")]
        )
        == 0
    )
    monkeypatch.setattr(additions, "ADDITIONS_DIR", folder)
    project = tmp_path / "project"
    project.mkdir()
    (project / "code.py").write_text(
        "import tnlib\nfrom tnlib import extra\n\nmixed = tnlib.blend(1, 2)\nfast = tnlib.compute(1, how='fast')\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(project)
    capsys.readouterr()
    main(["--too-new", "--no-cache", "--format", "json", "--target", "tnlib==1.0", "code.py"])
    report = json.loads(capsys.readouterr().out)
    assert sorted((f["location"]["line"], f["message"]) for f in report["findings"]) == [
        (2, "`tnlib.extra` does not exist in tnlib 1.0 (added in 2.0)"),
        (4, "`tnlib.blend` does not exist in tnlib 1.0 (added in 1.1)"),
        (5, "`tnlib.compute()` takes no keyword `how` in tnlib 1.0 (added in 1.1)"),
    ]


def test_bad_chains_are_refused(dist: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kb_main(["additions", "tnlib", "--versions", "1.0", "--dist", str(dist)]) == 2
    assert "at least two releases" in capsys.readouterr().err
    assert kb_main(["additions", "tnlib", "--versions", "1.0,9.0", "--dist", str(dist)]) == 2
    assert "recode-kb:" in capsys.readouterr().err


def test_a_missing_or_foreign_additions_file_says_nothing(tmp_path: Path) -> None:
    assert additions.shipped("tnlib", tmp_path) == {}
    (tmp_path / "tnlib.json").write_text('{"format": 99, "added": {"1.1": ["tnlib.blend"]}}', encoding="utf-8")
    assert additions.shipped("tnlib", tmp_path) == {}
    (tmp_path / "broken.json").write_text("[", encoding="utf-8")
    assert additions.shipped("broken", tmp_path) == {}
    (tmp_path / "edited.json").write_text('{"format": 1, "added": {"one.two": ["edited.name"]}}', encoding="utf-8")
    assert additions.version_of("edited", "edited.name", Version("1.0"), tmp_path) is None


def test_the_shipped_additions_know_scipy_and_scikit_learn() -> None:
    scipy, sklearn = additions.shipped("scipy"), additions.shipped("scikit-learn")
    # ``csr_array`` came in 1.8: a chain without 1.7 and 1.8 (they need an older Python) said 1.9.
    assert scipy["scipy.sparse.csr_array"] == "1.8" and scipy["scipy.integrate.cumulative_simpson"] == "1.12"
    assert sklearn["sklearn.preprocessing.TargetEncoder"] == "1.3" and sklearn["sklearn.frozen"] == "1.6"
    assert "scipy.linalg.inv" not in scipy and "sklearn.linear_model.Ridge" not in sklearn


def test_the_shipped_additions_know_numpy_and_pandas() -> None:
    numpy, pandas = additions.shipped("numpy"), additions.shipped("pandas")
    assert numpy["numpy.unstack"] == "2.1" and numpy["numpy.matvec"] == "2.2" and numpy["numpy.dtypes"] == "1.25"
    assert pandas["pandas.api.types.is_any_real_numeric_dtype"] == "2.0" and pandas["pandas.ArrowDtype"] == "1.5"
    assert numpy["numpy.unique(sorted)"] == "2.3" and numpy["numpy.linspace(device)"] == "2.0"
    assert "numpy.zeros" not in numpy and "pandas.DataFrame.head" not in pandas
    # pandas before 2.1 added ``DataFrame.add`` at run time and 2.1 defines it: no addition (``DataFrame`` has a
    # ``__getattr__``: no reading of it is whole).
    assert "pandas.DataFrame.add" not in pandas
