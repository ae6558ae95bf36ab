"""A bounded slice of ``bench/too_new_agreement.py``: the pre-check of ``--too-new`` hides no finding of the
full tree walk on real modules (installed packages, read against Python 3.8 with typeshed's stubs: no
download), and the benchmark says so when one is hidden. The full runs (the bench corpora and six installed
packages against old releases) are the benchmark's; their numbers are in docs/too-new.md."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from recode_lsp.toonew import stdlib
from recode_lsp.toonew.check import TooNew

BENCH = Path(__file__).resolve().parents[2] / "bench" / "too_new_agreement.py"
LINE = re.compile(r"too_new_agreement: corpus=(\S+) files=(\d+) with_findings=(\d+) passed=(\d+) hidden=(\d+)")

pytestmark = pytest.mark.skipif(stdlib.find_typeshed() is None, reason="no typeshed at hand (mypy, typeshed_client)")


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("too_new_agreement", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[tuple[str, int, int, int, int]], str]:
    code = _bench().main(["--installed", "pandas,matplotlib,numpy", "--targets", "python==3.8", *args])
    out = capsys.readouterr().out
    lines = [(m[1], int(m[2]), int(m[3]), int(m[4]), int(m[5])) for m in LINE.finditer(out)]
    return code, lines, out


def test_precheck_hides_nothing_on_installed_packages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    code, lines, out = _run(capsys, "--corpus", *_installed(), "--sample", "120")
    assert code == 0, out
    assert lines and all(hidden == 0 for *_, hidden in lines), out
    # Names newer than 3.8 are there to find (the run can fail), and the pre-check lets few modules through.
    assert sum(found for _, _, found, _, _ in lines) > 0, out
    assert sum(passed for *_, passed, _ in lines) < sum(files for _, files, *_ in lines) / 2, out


def test_a_hidden_finding_fails_the_benchmark(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(TooNew, "needs_analysis", lambda self, data, starts=None, package=None: False)
    code, lines, out = _run(capsys, "--corpus", *_installed(), "--sample", "120")
    assert code == 1
    assert "hidden: " in out and sum(hidden for *_, hidden in lines) > 0, out


def test_bad_options_are_clear_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for args, message in [
        (["--targets", "numpy=1.20"], "is not library==version"),
        (["--corpus", str(tmp_path / "absent")], "no such folder"),
        (["--sample", "-1"], "--sample must be 0 or more"),
    ]:
        with pytest.raises(SystemExit) as exc:
            _bench().main(args)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err


def _installed() -> list[str]:
    """The first installed package of pandas, Matplotlib, NumPy (the project's dependencies hold one)."""
    for name in ("pandas", "matplotlib", "numpy"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            return [next(iter(spec.submodule_search_locations))]
    pytest.skip("none of pandas, Matplotlib, NumPy installed")
