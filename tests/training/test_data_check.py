"""``recode-train data check``: each problem it reports, on files made to have it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_training.cli import main as cli_main
from model_training.data import build as builder
from model_training.data.check import check, load_splits
from model_training.data.recode_data import ReCodeRecord, write_recode_jsonl

LEGACY = Path(__file__).parent / "fixtures" / "legacy_src"


def record(old: str, new: str, change_id: str | None = None, library: str = "numpy", **extra: object) -> ReCodeRecord:
    fields = {"change_id": change_id} if change_id else {}
    return ReCodeRecord(library, "==2.0", "", "", old, new, extra={**fields, **extra})


CLEAN_TRAIN = [record("import numpy as np\nx = np.product(a)\n", "import numpy as np\nx = np.prod(a)\n", "NPY042")]
CLEAN_TEST = [
    record(
        "from typing import Callable\nf: Callable\n",
        "from collections.abc import Callable\nf: Callable\n",
        "PY128",
        library="python",
        target_origin="teacher",
    )
]


def test_a_clean_set_reports_nothing() -> None:
    report = check({"train": CLEAN_TRAIN, "test": CLEAN_TEST})
    assert report.ok, report.as_dict()
    assert report.libraries == {"numpy": {"train": 1, "test": 0}, "python": {"train": 0, "test": 1}}
    assert report.origins == {"unknown": 1, "teacher": 1}
    assert report.mechanical == 2 and report.total == 2


def test_leaks_incomplete_targets_and_duplicates_are_found() -> None:
    half = record(  # migrates np.product, keeps np.float_: NumPy 2.0 still flags it
        "import numpy as np\nx = np.product(a) * np.float_(2)\n",
        "import numpy as np\nx = np.prod(a) * np.float_(2)\n",
        "NPY042",
    )
    report = check({"train": [*CLEAN_TRAIN, *CLEAN_TRAIN, half], "test": [*CLEAN_TEST, CLEAN_TRAIN[0]]})
    assert report.shared_snippets == 1  # CLEAN_TRAIN's snippet is in both splits
    assert report.duplicates == 2  # CLEAN_TRAIN repeated in train, and again in test
    assert report.incomplete == 1 and report.examples["incomplete"] == ["NPY042"]
    assert report.shared_families == ["numpy:numpy->numpy"]
    assert not report.ok


def test_a_change_family_straddling_splits_is_a_leak() -> None:
    # typing.Callable (PY128) in test, typing.Sequence (PY132) in train: one family.
    sequence = record(
        "from typing import Sequence\ns: Sequence\n",
        "from collections.abc import Sequence\ns: Sequence\n",
        "PY132",
        library="python",
    )
    report = check({"train": [sequence], "test": CLEAN_TEST})
    assert report.shared_families == ["python:typing->collections.abc"]
    assert report.shared_snippets == 0


def test_copying_old_code_scores_es_star() -> None:
    # One entry whose target equals the old code (2.0) and one that shares nothing (-1.5).
    report = check({"train": [record("x = 1\n", "x = 1\n"), record("aaaa = 1\n", "b()\n")]})
    assert report.copy_es_mean == pytest.approx((2.0 + (-1.5 + 3.5 * (1 - 8 / 8))) / 2)
    assert report.copy_es_stderr > 0


def test_cli_on_a_built_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = builder.build(LEGACY, jobs=1, seed=0, max_mechanical_share=1.0)  # rule entries only: no cap
    builder.write_result(result, tmp_path, seed=0)
    assert set(load_splits([tmp_path])) <= {"train", "validation", "test"}
    assert cli_main(["data", "check", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == result.total
    assert out["target_origins"] == {"rule": result.total}
    assert set(out["libraries"]) == {"numpy", "pandas", "pydantic", "python"}
    assert cli_main(["data", "check", str(tmp_path)]) == 0
    assert "ES* of copying the old code" in capsys.readouterr().out


def test_cli_on_a_plain_file_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "recode-train-data.jsonl"
    write_recode_jsonl([*CLEAN_TRAIN, *CLEAN_TRAIN], path)
    assert cli_main(["data", "check", str(path)]) == 0
    assert "duplicates: 1" in capsys.readouterr().out
    assert cli_main(["data", "check", str(path), "--strict"]) == 1
    assert cli_main(["data", "check", str(tmp_path / "missing.jsonl")]) == 2
