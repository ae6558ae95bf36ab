"""CodeUpdateArena: the upstream one-shot record, and records written here in the flat schema with real
standard-library updates (math.gcd took exactly two arguments before Python 3.9)."""

import json
from pathlib import Path

import pytest

from model_training.eval.codemenv import CodemenvError
from model_training.eval.codeupdatearena import (
    from_example_datum,
    from_flat,
    load_arena,
    run_solution,
    unit_test_program,
)
from model_training.eval.sandbox import run_program

EXAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "codeupdatearena" / "example_datum.json"

GCD_UPDATE = {
    "update_id": "math.gcd:[add-argument]:[update-0]",
    "prog_syn_id": "math.gcd:[add-argument]:[update-0]:[prog_syn-0]",
    "function_path": "math.gcd",
    "package": "math",
    "description": "math.gcd now accepts any number of integers instead of exactly two.",
    "signature": "math.gcd(*integers)",
    "docstring": "Return the greatest common divisor of the integer arguments; gcd() with no arguments is 0.",
    # stored as text, as in arena-ungrouped.jsonl
    "imports": json.dumps(["import math", "old_gcd = math.gcd", "setattr(math, 'old_gcd', old_gcd)"]),
    "implementation": (
        "def gcd(*integers):\n"
        "    result = 0\n"
        "    for value in integers:\n"
        "        result = old_gcd(result, value)\n"
        "    return result\n"
    ),
    "scenario": "A scheduler aligns several periodic jobs.",
    "problem": "Return the largest period that divides every job's period.",
    "solution_signature": "def common_period(periods: list[int]) -> int",
    "unit_tests": json.dumps(
        [
            "def test_three():\n    assert common_period([12, 18, 30]) == 6\n",
            "def test_empty():\n    assert common_period([]) == 0\n",
        ]
    ),
    "prog_syn_imports": json.dumps(["import math"]),
    "ref_solution": "def common_period(periods):\n    return math.gcd(*periods)\n",
}


def test_flat_record_with_text_lists_passes_only_with_the_update():
    record = from_flat(GCD_UPDATE)
    assert record.imports[1] == "old_gcd = math.gcd" and len(record.unit_tests) == 2
    assert record.install_statement == "setattr(math, 'gcd', gcd)"
    passed, verdicts = run_solution(record, record.ref_solution)
    assert passed, [v.stderr for v in verdicts]
    # Without the install, the old two-argument gcd is what runs (on this interpreter it is already variadic,
    # so the check is that the program differs, and that a wrong solution fails).
    assert "setattr(math, 'gcd', gcd)" not in unit_test_program(
        record, record.ref_solution, record.unit_tests[0], with_update=False
    )
    wrong, _ = run_solution(record, "def common_period(periods):\n    return max(periods or [0])\n")
    assert not wrong


def test_update_is_what_the_solution_calls():
    record = from_flat({**GCD_UPDATE, "implementation": "def gcd(*integers):\n    return -1\n"})
    passed, verdicts = run_solution(record, record.ref_solution)
    assert not passed and all(v.reason == "exit_status" for v in verdicts)


def test_missing_arena_file_names_the_hub_dataset(tmp_path):
    with pytest.raises(CodemenvError, match="leo-liuzy/CodeUpdateArena"):
        load_arena(tmp_path / "arena-ungrouped.jsonl")
    path = tmp_path / "arena.jsonl"
    path.write_text(json.dumps(GCD_UPDATE) + "\n")
    assert [r.api_path for r in load_arena(path)] == ["math.gcd"]


@pytest.mark.skipif(not EXAMPLE.is_file(), reason=f"upstream example datum not at {EXAMPLE}")
def test_upstream_example_datum_reference_passes_with_update_and_fails_without():
    record = from_example_datum(json.loads(EXAMPLE.read_text()))
    assert record.api_path == "itertools.dropwhile" and len(record.unit_tests) == 5
    passed, _ = run_solution(record, record.ref_solution)
    assert passed
    without = [
        run_program(unit_test_program(record, record.ref_solution, t, with_update=False)).passed
        for t in record.unit_tests
    ]
    assert not any(without)
