"""The loader of ReCode-format JSONL files and the prompt rows built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_training.data.recode_data import (
    FIELDS,
    ReCodeDataError,
    ReCodeRecord,
    load_recode_jsonl,
    to_prompt_record,
    write_recode_jsonl,
)
from model_training.rewards import recode_reward
from recode_lsp.prompt import ASSISTANT_PREFIX, SYSTEM_PROMPT

SAMPLE = Path(__file__).parent / "fixtures" / "recode_sample.jsonl"
GOOD = {
    "dependency": "numpy",
    "new_version": "==2.0.0",
    "description": "float_ removed",
    "update_info": "use float64",
    "old_code": "x = np.float_(1)",
    "new_code": "x = np.float64(1)",
}


def write_lines(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_loads_the_sample() -> None:
    records = load_recode_jsonl(SAMPLE)
    assert len(records) == 6
    assert [r.dependency for r in records] == ["numpy", "pandas", "matplotlib", "scikit-learn", "scipy", "seaborn"]
    first = records[0]
    assert first.new_version == "==2.0.0"
    assert "np.float_" in first.old_code and "np.float64" in first.new_code
    assert first.extra == {} and first.change_id is None


def test_prompt_record_has_the_shared_prompt_and_the_reward_columns() -> None:
    record = load_recode_jsonl(SAMPLE)[1]
    row = to_prompt_record(record)
    system, user, assistant = row["prompt"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user"
    assert user["content"].startswith("pandas performed an API update in version 2.0.0,")
    assert record.update_info.strip() in user["content"]
    assert record.old_code.strip("\n") in user["content"]
    assert assistant == {"role": "assistant", "content": ASSISTANT_PREFIX}
    assert row["new_code"] == record.new_code and row["old_code"] == record.old_code
    assert (row["library"], row["version"], row["change_id"]) == ("pandas", "==2.0.0", None)


def test_a_perfect_answer_gets_the_maximum_reward() -> None:
    rows = [to_prompt_record(r) for r in load_recode_jsonl(SAMPLE)]
    completions = [f" migrate </think>\n<answer>\n```python\n{row['new_code']}```\n</answer>" for row in rows]
    scores = recode_reward(completions, new_code=[row["new_code"] for row in rows])
    assert scores == [3.0] * len(rows)


def test_missing_file_says_where_the_data_is(tmp_path: Path) -> None:
    with pytest.raises(ReCodeDataError) as info:
        load_recode_jsonl(tmp_path / "recode-train-data.jsonl")
    message = str(info.value)
    assert "zjunlp/ReCode-Train-Data" in message and "recode-train-data.jsonl" in message
    assert "cannot reach" in message and str(tmp_path) in message


def test_a_folder_holding_the_file_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "recode-train-data.jsonl").write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert len(load_recode_jsonl(tmp_path)) == 1
    with pytest.raises(ReCodeDataError, match="zjunlp/ReCode-Train-Data"):
        load_recode_jsonl(tmp_path / "..")


def test_missing_field_names_file_and_line(tmp_path: Path) -> None:
    broken = {k: v for k, v in GOOD.items() if k != "update_info"}
    path = write_lines(tmp_path, [json.dumps(GOOD), "", json.dumps(broken)])
    with pytest.raises(ReCodeDataError, match=rf"{path}:3: missing field\(s\) update_info"):
        load_recode_jsonl(path)


def test_wrong_type_names_the_field(tmp_path: Path) -> None:
    path = write_lines(tmp_path, [json.dumps({**GOOD, "new_version": 2.0})])
    with pytest.raises(ReCodeDataError, match=rf"{path}:1: field 'new_version' must be a string, got float"):
        load_recode_jsonl(path)


def test_empty_code_and_bad_json_and_non_objects(tmp_path: Path) -> None:
    with pytest.raises(ReCodeDataError, match=":1: field 'new_code' is empty"):
        load_recode_jsonl(write_lines(tmp_path, [json.dumps({**GOOD, "new_code": "  "})]))
    with pytest.raises(ReCodeDataError, match=":2: not valid JSON"):
        load_recode_jsonl(write_lines(tmp_path, [json.dumps(GOOD), "{not json"]))
    with pytest.raises(ReCodeDataError, match=":1: expected a JSON object, got list"):
        load_recode_jsonl(write_lines(tmp_path, ["[1, 2]"]))


def test_blank_lines_skipped_and_extra_fields_kept(tmp_path: Path) -> None:
    extra = {**GOOD, "change_id": "NPY023", "provenance": {"source": "pkg==1.0"}}
    records = load_recode_jsonl(write_lines(tmp_path, ["", json.dumps(GOOD), "   ", json.dumps(extra)]))
    assert len(records) == 2
    assert records[1].change_id == "NPY023"
    assert to_prompt_record(records[1])["change_id"] == "NPY023"
    assert records[1].extra["provenance"] == {"source": "pkg==1.0"}
    # The id is also found inside the provenance.
    only_provenance = ReCodeRecord(**GOOD, extra={"provenance": {"change_id": "PD001"}})
    assert only_provenance.change_id == "PD001"


def test_write_then_load_round_trip(tmp_path: Path) -> None:
    records = load_recode_jsonl(SAMPLE)
    out = tmp_path / "copy" / "out.jsonl"
    write_recode_jsonl(records, out)
    again = load_recode_jsonl(out)
    assert again == records
    assert list(json.loads(out.read_text(encoding="utf-8").splitlines()[0])) == list(FIELDS)
