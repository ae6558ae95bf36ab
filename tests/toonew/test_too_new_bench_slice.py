"""A bounded slice of ``bench/too_new_overhead.py``: the benchmark runs end to end on a small corpus (a
library the test writes, read from a releases folder: no download), times both commands, checks that
``--too-new`` leaves the other findings alone, and prints its summary line. The full runs (two corpora of
real releases, 7 rounds) are the benchmark's; their numbers are in docs/too-new.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

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


def test_benchmark_runs_and_reports_the_overhead_line(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", V1)
    _write(dist / "tnlib-2.0", V2)
    corpus = tmp_path / "corpus"
    (corpus / "pkg").mkdir(parents=True)
    # The project pins tnlib (no knowledge-base entry: --too-new checks a pinned library all the same).
    (corpus / "pyproject.toml").write_text("[project]\nname = 'corpus'\ndependencies = ['tnlib==1.0']\n")
    for index in range(3):
        (corpus / "pkg" / f"m{index}.py").write_text(MODULE, encoding="utf-8")
    env = {**os.environ, "RECODE_RELEASES_DIR": str(dist), "RECODE_CACHE_DIR": str(tmp_path / "cache")}
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
    assert "--corpora: unknown nope; choose from bench, sklearn" in run.stderr
