"""The training-set builder on a small folder of legacy code (tests/training/fixtures/legacy_src)."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import pytest

from model_training.data import build as builder
from model_training.data.recode_data import load_recode_jsonl, to_prompt_record
from model_training.rewards import normalise_code
from recode_lsp.engine import DetectOptions, detect, load_knowledge_base

LEGACY = Path(__file__).parent / "fixtures" / "legacy_src"


@pytest.fixture(scope="module")
def result() -> builder.BuildResult:
    # The mining itself: every entry of a rule-only build is mechanical (no mechanical cap), and
    # the fixture's functions hold several old APIs each (kept although the target is incomplete).
    return builder.build(LEGACY, jobs=1, seed=0, max_mechanical_share=1.0, complete_targets=False)


def entries(result: builder.BuildResult) -> list[dict]:
    return [entry for split in builder.SPLITS for entry in result.splits[split]]


def found_ids(code: str) -> set[str]:
    return {finding.code for finding in detect(code, load_knowledge_base(), DetectOptions())}


def test_builds_entries_from_every_library_in_the_fixture(result: builder.BuildResult) -> None:
    got = entries(result)
    assert result.total == len(got) >= 10
    assert {e["dependency"] for e in got} == {"numpy", "pandas", "pydantic", "python"}
    assert {"NPY023", "NPY033", "NPY042", "NPY068", "PD003", "PD060", "PD173", "PY117", "PY128"} <= {
        e["change_id"] for e in got
    }


def test_old_code_has_the_old_api_and_new_code_does_not(result: builder.BuildResult) -> None:
    for entry in entries(result):
        change_id = entry["change_id"]
        assert change_id in found_ids(entry["old_code"]), entry["old_code"]
        assert change_id not in found_ids(entry["new_code"]), entry["new_code"]
        ast.parse(entry["new_code"])
        ast.parse(entry["old_code"])
        assert normalise_code(entry["old_code"]) != normalise_code(entry["new_code"])


def test_a_concrete_entry(result: builder.BuildResult) -> None:
    (entry,) = [e for e in entries(result) if e["change_id"] == "NPY042"]
    assert entry["old_code"].startswith("import numpy as np\n\ndef geometric_mean(values):\n")
    assert "np.product(data)" in entry["old_code"] and "np.prod(data)" in entry["new_code"]
    assert entry["new_code"] == entry["old_code"].replace("np.product(", "np.prod(")
    assert entry["dependency"] == "numpy" and entry["new_version"] == "==2.0"
    # The update document inference writes (recode_lsp.model_fix.describe_update).
    assert entry["update_info"].startswith("Use `numpy.prod`: `numpy.product` was removed in NumPy 2.0")
    assert "`numpy.prod` in NumPy 2.0:\nProduct of array elements" in entry["update_info"]
    assert entry["description"] == "Use `numpy.prod`: `numpy.product` was removed in NumPy 2.0 (deprecated since 1.25)"


def test_keyword_and_typing_entries(result: builder.BuildResult) -> None:
    by_id = {e["change_id"]: e for e in entries(result) if e["provenance"]["name"] in ("export", "apply_all")}
    assert 'line_terminator="\\r\\n"' in by_id["PD060"]["old_code"]
    assert 'lineterminator="\\r\\n"' in by_id["PD060"]["new_code"]
    assert by_id["PD060"]["update_info"].startswith(
        "Use `lineterminator=`: `pandas.DataFrame.to_csv(line_terminator=...)` was removed in pandas 2.0"
    )
    # typing.Callable moves to collections.abc: the import line is part of the unit's snippet.
    assert "from typing import Callable, List" in by_id["PY128"]["old_code"]
    assert "from collections.abc import Callable" in by_id["PY128"]["new_code"]


def test_provenance(result: builder.BuildResult) -> None:
    for entry in entries(result):
        provenance = entry["provenance"]
        assert provenance["source"] == "legacyapp==0.3"
        assert provenance["path"].startswith("legacyapp/") and provenance["path"].endswith(".py")
        assert provenance["change_id"] == entry["change_id"]
        assert provenance["tool"].startswith("recode-migrate ")
        assert provenance["knowledge_base"] == load_knowledge_base().fingerprint
        assert provenance["fix_safety"] in ("safe", "unsafe")
        assert provenance["unit"] in ("function", "class")
        assert isinstance(provenance["context"], list)
        source = (LEGACY / "legacyapp-0.3" / provenance["path"]).read_text(encoding="utf-8").splitlines()
        # The recorded line holds the use; the unit starts at unit_line.
        assert provenance["unit_line"] <= provenance["line"]
        assert provenance["line"] in provenance["lines"]
        name = provenance["name"].rpartition(".")[2]
        assert (
            f"def {name}(" in source[provenance["unit_line"] - 1]
            or f"class {name}" in (source[provenance["unit_line"] - 1])
        )


def test_no_change_in_two_splits_and_no_duplicates(result: builder.BuildResult) -> None:
    split_of: dict[str, set[str]] = {}
    for split in builder.SPLITS:
        for entry in result.splits[split]:
            split_of.setdefault(entry["change_id"], set()).add(split)
            assert result.assignment[entry["change_id"]] == split
    assert all(len(splits) == 1 for splits in split_of.values())
    keys = Counter((normalise_code(e["old_code"]), e["change_id"]) for e in entries(result))
    assert max(keys.values()) == 1


def test_duplicates_long_functions_and_module_level_uses_are_dropped(result: builder.BuildResult) -> None:
    # vendored.py repeats stats.as_float_array: its two entries (NPY023, NPY033) are duplicates.
    assert result.stats["candidates"] - result.stats["after dedup"] == 2
    assert not [e for e in entries(result) if e["provenance"]["path"] == "legacyapp/vendored.py"]
    # report.long_report is over 80 lines; MISSING = np.NaN is at module level.
    assert result.stats["unit too long"] == 1
    assert result.stats["use outside any function or class"] == 1
    assert not [e for e in entries(result) if e["provenance"]["name"] == "long_report"]
    assert builder.build(LEGACY, jobs=1, max_lines=200).stats["unit too long"] == 0


def test_methods_are_dedented(result: builder.BuildResult) -> None:
    (entry,) = [e for e in entries(result) if e["provenance"]["name"] == "RunningMean.value"]
    assert entry["old_code"] == (
        "import numpy as np\n\ndef value(self):\n    if not self.count:\n        return np.NaN\n"
        "    return self.total / self.count\n"
    )
    assert entry["new_code"] == entry["old_code"].replace("np.NaN", "np.nan")


def test_the_split_is_deterministic_and_roughly_80_10_10() -> None:
    # 30 changes of 10 entries each in one library: shares are met exactly by count.
    fake = [{"dependency": "lib", "change_id": f"C{i:03d}"} for i in range(30) for _ in range(10)]
    first = builder.assign_splits(fake, seed=7)
    assert first == builder.assign_splits(fake, seed=7)
    assert Counter(first.values()) == {"train": 24, "validation": 3, "test": 3}
    assert first != builder.assign_splits(fake, seed=8)  # the seed orders ties


def test_cap_per_change() -> None:
    fake = [{"change_id": "A", "n": i} for i in range(5)] + [{"change_id": "B", "n": 9}]
    capped = builder.cap_per_change(fake, 2, seed=0)
    assert Counter(e["change_id"] for e in capped) == {"A": 2, "B": 1}
    assert builder.cap_per_change(fake, 0, seed=0) == fake


def test_write_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "built"
    args = ["--corpus", str(LEGACY), "--out", str(out), "--jobs", "1"]
    args += ["--max-mechanical-share", "1", "--allow-incomplete"]
    code = builder.main([*args, "--min-entries", "2000"])
    assert code == 1  # far fewer than 2,000 entries: the files are written, the exit code says so
    printed = capsys.readouterr()
    assert "numpy" in printed.out and "pandas" in printed.out and "splits: train" in printed.out
    assert "fewer than --min-entries 2000" in printed.err
    total = 0
    for split in builder.SPLITS:
        records = load_recode_jsonl(out / f"{split}.jsonl")
        total += len(records)
        for record in records:
            assert record.change_id and record.extra["provenance"]["change_id"] == record.change_id
            assert to_prompt_record(record)["change_id"] == record.change_id
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["total"] == total and manifest["sources"] == ["legacyapp==0.3"]
    assert sum(manifest["splits"].values()) == total
    assert builder.main(["--corpus", str(tmp_path / "missing"), "--out", str(out), "--jobs", "1"]) == 2


def test_source_labels_and_module_names(tmp_path: Path) -> None:
    files = builder.corpus_files(LEGACY)
    assert {f.source for f in files} == {"legacyapp==0.3"}
    assert {f.module for f in files} >= {"legacyapp", "legacyapp.stats"}
    (tmp_path / "loose.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "skip.py").write_text("x = 1\n", encoding="utf-8")
    (only,) = builder.corpus_files(tmp_path)
    assert (only.source, only.relative, only.module) == (tmp_path.name, "loose.py", "loose")


def test_a_rule_that_removes_the_unit_falls_back_to_the_class_around_it(result: builder.BuildResult) -> None:
    # RC002 replaces the nested ``class Config`` (the innermost unit of the finding) by
    # ``model_config = ConfigDict(...)``; the entry is the model class around it.
    (entry,) = [e for e in entries(result) if e["change_id"] == "PYD015"]
    assert entry["provenance"]["name"] == "User" and entry["provenance"]["unit"] == "class"
    assert "class Config:\n        orm_mode = True" in entry["old_code"]
    assert "model_config = ConfigDict(from_attributes=True, populate_by_name=True)" in entry["new_code"]
    assert "from pydantic import BaseModel, ConfigDict" in entry["new_code"]


def test_member_uses_bring_the_receivers_class_as_context(result: builder.BuildResult) -> None:
    # ``user.dict()`` is pydantic's only because ``class User(BaseModel)`` says so: the class
    # is put before the function, unchanged on both sides.
    (entry,) = [e for e in entries(result) if e["change_id"] == "PYD005"]
    assert entry["provenance"]["context"] == ["User"]
    assert entry["old_code"].startswith("from typing import Optional\nfrom pydantic import BaseModel\n\nclass User(")
    assert "return user.dict(exclude_none=True)" in entry["old_code"]
    assert entry["new_code"] == entry["old_code"].replace("user.dict(", "user.model_dump(")
    (parse,) = [e for e in entries(result) if e["change_id"] == "PYD009"]
    assert "return User.model_validate(raw)" in parse["new_code"]


def test_parallel_build_gives_the_same_result(result: builder.BuildResult) -> None:
    parallel = builder.build(LEGACY, jobs=2, seed=0, max_mechanical_share=1.0, complete_targets=False)
    assert parallel.splits == result.splits and parallel.assignment == result.assignment
