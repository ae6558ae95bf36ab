"""HumanEval through the sandbox, on problems written here in HumanEval's schema."""

import gzip
import json

import pytest

from model_training.cli import main as train_main
from model_training.eval.codemenv import CodemenvError
from model_training.eval.envs import EnvCache
from model_training.eval.humaneval import data_path, program, reference_tasks

PROBLEMS = [
    {
        "task_id": "Test/0",
        "prompt": 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum."""\n',
        "canonical_solution": "    return sum(xs)\n",
        "test": "def check(candidate):\n    assert candidate([1, 2]) == 3\n    assert candidate([]) == 0\n",
        "entry_point": "total",
    },
    {
        "task_id": "Test/1",
        "prompt": "def inc(x):\n",
        "canonical_solution": "    return x + 2\n",  # wrong on purpose
        "test": "def check(candidate):\n    assert candidate(1) == 2\n",
        "entry_point": "inc",
    },
]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "HumanEval.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.writelines(json.dumps(p) + "\n" for p in PROBLEMS)
    return path


def test_program_is_prompt_solution_tests_check():
    text = program(PROBLEMS[1], "    return x + 1\n")
    assert text == "def inc(x):\n    return x + 1\n\n\n" + PROBLEMS[1]["test"] + "\n\ncheck(inc)\n"


def test_reference_tasks_run_host_and_fail_on_a_wrong_solution(data, tmp_path, capsys):
    tasks = reference_tasks(data)
    assert [t.task_id for t in tasks] == ["Test/0", "Test/1"]
    assert all(t.environment == "host" and t.expected_stdout is None for t in tasks)
    out = tmp_path / "he.jsonl"
    assert train_main(["eval", "humaneval", "--humaneval", str(data), "--out", str(out)]) == 0
    rows = {(r["task_id"], r["system"]): r for r in map(json.loads, out.read_text().splitlines())}
    assert rows[("Test/0", "unchanged")]["passed"] is True
    assert rows[("Test/1", "unchanged")]["passed"] is False
    # The rules modernise `List[int]` (no target: the engine's defaults) and the program still passes.
    assert rows[("Test/0", "rules")]["changed"] is True and rows[("Test/0", "rules")]["passed"] is True
    report = capsys.readouterr().out
    assert "### unchanged\n" in report and "| humaneval | humaneval | 2 | 2 | 2 | 1 | 50.0% | n/a |" in report
    assert out.with_suffix(".md").is_file()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CodemenvError, match="no such HumanEval file"):
        data_path(tmp_path / "nope.jsonl", EnvCache(tmp_path))
