"""A bounded slice of ``bench/too_new_overhead.py``: the benchmark runs end to end on a small corpus (a
library the test writes, read from a releases folder: no download), times both commands, checks that
``--too-new`` leaves the other findings alone, and prints its summary line. The full runs (three corpora of
real releases, 7 rounds) are the benchmark's; their numbers are in docs/too-new.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.toonew.test_toonew_fixture import V1, V2

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "too_new_overhead.py"

MODULE = """\
import tnlib
import numpy as np


def uses_newer(x):
    return tnlib.new_name(x) + tnlib.compute([1], method="slow")


def legacy(values):
    return np.asarray(values, dtype=np.float_)
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _small_corpus(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Three modules using tnlib 2.0's names in a project that pins tnlib 1.0 (no knowledge-base entry:
    --too-new checks a pinned library all the same), both releases in a releases folder; and the env."""
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", V1)
    _write(dist / "tnlib-2.0", V2)
    corpus = tmp_path / "corpus"
    (corpus / "pkg").mkdir(parents=True)
    (corpus / "pyproject.toml").write_text("[project]\nname = 'corpus'\ndependencies = ['tnlib==1.0']\n")
    for index in range(3):
        (corpus / "pkg" / f"m{index}.py").write_text(MODULE, encoding="utf-8")
    env = {**os.environ, "RECODE_RELEASES_DIR": str(dist), "RECODE_CACHE_DIR": str(tmp_path / "cache")}
    return corpus, env


def test_benchmark_runs_and_reports_the_overhead_line(tmp_path: Path) -> None:
    corpus, env = _small_corpus(tmp_path)
    command = [
        sys.executable, str(BENCH), "--corpus", str(corpus), "--rounds", "1", "--jobs", "1",
        "--targets", "--target numpy==2.0", "--split",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    line, split = run.stdout.strip().splitlines()[-2:]
    match = re.fullmatch(
        r"too_new_overhead: corpus=corpus files=3 jobs=1 rounds=1 plain cpu=[\d.]+s wall=[\d.]+s "
        r"too-new cpu=[\d.]+s wall=[\d.]+s added cpu=[+-]\d+% wall=[+-]\d+% bound=\+20% (met|MISSED) rcn=(\d+)",
        line,
    )
    assert match is not None, line
    assert int(match.group(2)) == 6  # in each module: tnlib.new_name, and compute(method=) (both 2.0)
    # --split: the parts of --too-new, each timed with the CLI's check switched off after it.
    part = r"cpu=[+-]\d+% wall=[+-]\d+%"
    assert re.fullmatch(
        rf"too_new_split: corpus=corpus jobs=1 rounds=1 setup {part} pre-check {part} walks {part} \(of plain\)", split
    ), split


def test_unknown_corpus_is_a_clear_error() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--corpora", "bench,nope", "--skip-download"],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2
    assert "--corpora: unknown nope; choose from bench, sklearn, skimage" in run.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instructions_are_counted_the_same_in_every_run(tmp_path: Path) -> None:
    corpus, env = _small_corpus(tmp_path)
    command = [
        sys.executable, str(BENCH), "--corpus", str(corpus), "--jobs", "1",
        "--targets", "--target numpy==2.0", "--instructions",
    ]  # fmt: skip
    lines = []
    for _ in range(2):
        run = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=900)
        assert run.returncode == 0, run.stdout + run.stderr
        lines.append(run.stdout.strip().splitlines()[-1])
    counts = []
    for line in lines:
        match = re.fullmatch(
            r"too_new_instructions: corpus=corpus files=3 jobs=1 plain=([\d.]+)G too-new=([\d.]+)G "
            r"added=([+-][\d.]+)% \(main process [+-][\d.]+G, the processes it started [+-][\d.]+G\) "
            r"bound=\+20% (met|MISSED) rcn=6",
            line,
        )
        assert match is not None, line
        plain, too_new = float(match.group(1)), float(match.group(2))
        assert plain > 0.1 and too_new > plain  # a Python start alone is a tenth of a billion
        counts.append((plain, too_new))
    # Deterministic: the two runs agree to the printed precision, give or take a millionth or two.
    assert abs(counts[0][0] - counts[1][0]) <= 0.003 and abs(counts[0][1] - counts[1][1]) <= 0.003, counts


def test_instructions_without_valgrind_is_a_clear_error(tmp_path: Path) -> None:
    corpus, env = _small_corpus(tmp_path)
    bare = tmp_path / "bin"
    bare.mkdir()
    env["PATH"] = str(bare)  # no valgrind there: said before any run
    command = [
        sys.executable, str(BENCH), "--corpus", str(corpus), "--jobs", "1",
        "--targets", "--target numpy==2.0", "--instructions",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=ROOT, timeout=600)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--instructions needs valgrind on PATH" in run.stderr
