"""CodeUpdateArena with the paper's prompt: rendering, answer reading, generation and scoring against a
scripted loopback OpenAI-compatible server, and the CLI. Records: the upstream one-shot datum (read by path,
skipped when absent) and records written here in the flat schema with real standard-library updates
(``math.gcd`` made variadic, ``statistics.mean`` given ``weights``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model_training.cli import main as train_main
from model_training.eval.codeupdatearena import (
    ONE_SHOT,
    _unit_tests,
    evaluate_arena,
    extract_solution,
    from_example_datum,
    from_flat,
    load_records,
    paper_prompt,
    probe_old_signature,
)
from model_training.eval.run import summarize
from model_training.eval.systems import ModelConfig
from tests.eval.test_codeupdatearena import EXAMPLE, GCD_UPDATE
from tests.eval.test_model_systems import ModelServer

MEAN_UPDATE = {
    "update_id": "statistics.mean:[add-argument]:[update-0]",
    "prog_syn_id": "statistics.mean:[add-argument]:[update-0]:[prog_syn-0]",
    "function_path": "statistics.mean",
    "package": "statistics",
    "description": "statistics.mean takes an optional `weights` iterable for a weighted mean.",
    "signature": "statistics.mean(data, weights=None)",
    "docstring": "With weights, return sum(x * w) / sum(w); without, the arithmetic mean as before.",
    "imports": "import statistics\nold_mean = statistics.mean\nsetattr(statistics, 'old_mean', old_mean)",
    "implementation": (
        "def mean(data, weights=None):\n"
        "    if weights is None:\n"
        "        return old_mean(data)\n"
        "    data, weights = list(data), list(weights)\n"
        "    return sum(x * w for x, w in zip(data, weights)) / sum(weights)\n"
    ),
    "scenario": "A registrar computes grade point averages weighted by course credits.",
    "problem": "Return the credit-weighted average of a student's scores.",
    "solution_signature": "def weighted_grade(scores: list[float], credits: list[int]) -> float:",
    # one text of test functions, a blank line inside the first: each function must stay whole
    "unit_tests": (
        "def test_weighted():\n    result = weighted_grade([90, 60], [3, 1])\n\n    assert result == 82.5\n\n\n"
        "def test_equal_scores():\n    assert weighted_grade([70, 70], [1, 5]) == 70\n"
    ),
    "prog_syn_imports": "import statistics",
    "ref_solution": (
        "import statistics\n\ndef weighted_grade(scores, credits):\n"
        "    return statistics.mean(scores, weights=credits)\n"
    ),
}

GCD_ANSWER = "[PYTHON]\nimport math\n\ndef common_period(periods):\n    return math.gcd(*periods)\n[/PYTHON]"
MEAN_WRONG = (  # ignores the credits: the plain mean
    "Here it is:\n```python\nimport statistics\n\ndef weighted_grade(scores, credits):\n"
    "    return statistics.mean(scores)\n```"
)


def task_part(body: dict[str, Any]) -> str:
    """The task after the one-shot example (the example mentions other functions)."""
    return str(body["messages"][-1]["content"]).rsplit("[INST] Scenario:", 1)[-1]


def scripted(body: dict[str, Any]) -> str:
    task = task_part(body)
    if "common_period" in task:
        return GCD_ANSWER
    if "weighted_grade" in task:
        return MEAN_WRONG
    if "filter_dataset_entries" in task:  # the upstream datum: its own reference solution
        return f"[PYTHON]\n{ONE_SHOT['ref_solution']}[/PYTHON]"
    return "no idea"


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer(scripted) as running:
        yield running


def test_the_prompt_is_the_papers_one_shot_prepend_format() -> None:
    record = from_flat(MEAN_UPDATE)
    prompt = paper_prompt(record, "statistics.mean(data):")
    assert prompt.startswith(
        "[INST]\nUpdate note:\nThere's an recent update to a function `statistics.mean(data):` --- "
        "statistics.mean takes an optional `weights` iterable for a weighted mean.. The function now has a new "
        "function signature --- `statistics.mean(data, weights=None)`.\nHere's a detailed documentation about "
        "the update:\n[DOC]\nWith weights, return sum(x * w) / sum(w); without, the arithmetic mean as before.\n"
        "[/DOC]\n\nYour task is to write a Python solution"
    )
    # The one-shot example (upstream's datum), then the task with its first unit test only.
    assert f"[/INST]\n[PYTHON]\n{ONE_SHOT['ref_solution']}\n[/PYTHON]\n\n[INST] Scenario: A registrar" in prompt
    assert prompt.endswith(
        "Solution signature: def weighted_grade(scores: list[float], credits: list[int]) -> float:\n[TEST]\n"
        "# Unit Test 0\ndef test_weighted():\n    result = weighted_grade([90, 60], [3, 1])\n\n"
        "    assert result == 82.5\n[/TEST]\n[/INST]"
    )
    assert "test_equal_scores" not in prompt


def test_unit_tests_stored_as_one_text_stay_whole() -> None:
    assert [t.splitlines()[0] for t in _unit_tests(MEAN_UPDATE["unit_tests"])] == [
        "def test_weighted():",
        "def test_equal_scores():",
    ]
    assert len(from_flat(MEAN_UPDATE).unit_tests) == 2


def test_the_answer_is_read_as_upstream_reads_it() -> None:
    assert extract_solution("a [PYTHON]x = 1[/PYTHON] b [PYTHON]x = 2[/PYTHON]") == "x = 1"
    assert extract_solution("```python\ny = 1\n```") == "\ny = 1\n"
    assert extract_solution("```\nz = 1\n```") == "\nz = 1\n"
    assert extract_solution("no code") == ""


def test_the_old_signature_is_read_from_the_package() -> None:
    # Upstream's form: arguments without spaces, then ':'.
    assert probe_old_signature(from_flat(MEAN_UPDATE)) == "statistics.mean(data):"


def test_generate_and_score_against_a_served_model(tmp_path: Path, server: ModelServer) -> None:
    records = [from_flat(GCD_UPDATE), from_flat(MEAN_UPDATE)]
    out = tmp_path / "arena.jsonl"
    config = ModelConfig(server.url, name="m", temperature=0.8, top_p=0.7, max_tokens=256)
    rows = evaluate_arena(records, ["model"], out, model=config, samples=2)
    got = {(r["task_id"].split(":")[0], r["system"], r["sample"]): r for r in rows}
    assert {key: row["passed"] for key, row in got.items()} == {
        ("math.gcd", "reference", 0): True,
        ("statistics.mean", "reference", 0): True,
        ("math.gcd", "model", 0): True,
        ("math.gcd", "model", 1): True,
        ("statistics.mean", "model", 0): False,
        ("statistics.mean", "model", 1): False,
    }
    wrong = got[("statistics.mean", "model", 0)]
    assert wrong["tests"] == 2 and wrong["tests_passed"] == 1 and wrong["reason"] == "exit_status"
    assert wrong["template"] == "codeupdatearena-paper" and (wrong["temperature"], wrong["top_p"]) == (0.8, 0.7)
    # Asked as upstream asks GPT-4: an empty system turn, the prompt as the user turn, sampling as configured.
    body = server.bodies[0]
    assert body["messages"][0] == {"role": "system", "content": ""}
    assert body["messages"][1]["content"].startswith("[INST]\nUpdate note:\n")
    assert (body["temperature"], body["top_p"]) == (0.8, 0.7)
    assert len(server.bodies) == 4
    summary = summarize(rows)
    assert summary["cells"]["model/stdlib/arena"]["pass@1"] == 0.5
    assert summary["cells"]["model/stdlib/arena"]["broken"] == 0
    # Resumable: a rerun asks nothing and runs nothing new.
    again = evaluate_arena(records, ["model"], out, model=config, samples=2)
    assert len(server.bodies) == 4 and len(again) == 6


def test_the_cli(tmp_path: Path, server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "arena-ungrouped.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in (GCD_UPDATE, MEAN_UPDATE)), encoding="utf-8")
    out = tmp_path / "run.jsonl"
    code = train_main(
        ["eval", "codeupdatearena", "--data", str(data), "--out", str(out), "--model", server.url, "--samples", "1"]
    )
    assert code == 0
    report = capsys.readouterr().out
    assert "### model" in report and "| stdlib | arena | 2 | 2 | 2 | 1 | 50.0% | n/a |" in report
    assert out.with_suffix(".md").is_file()
    assert train_main(["eval", "codeupdatearena", "--data", str(data), "--out", str(out)]) == 2
    assert "need --model URL" in capsys.readouterr().err


@pytest.mark.skipif(not EXAMPLE.is_file(), reason=f"upstream example datum not at {EXAMPLE}")
def test_the_upstream_datum_end_to_end(tmp_path: Path, server: ModelServer) -> None:
    (record,) = load_records(EXAMPLE)
    assert record == from_example_datum(json.loads(EXAMPLE.read_text()))
    assert paper_prompt(record).startswith(
        "[INST]\nUpdate note:\nThere's an recent update to a function `itertools.dropwhile(predicate,iterable,/):`"
    )
    config = ModelConfig(server.url, name="m")
    rows = evaluate_arena([record], ["model"], tmp_path / "datum.jsonl", model=config)
    assert {row["system"]: row["passed"] for row in rows} == {"reference": True, "model": True}
    assert {row["system"]: row["tests"] for row in rows} == {"reference": 5, "model": 5}
