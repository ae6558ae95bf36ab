"""The evaluation scores: the paper's reward with its standard error, format share, old-API-gone share."""

from __future__ import annotations

import math

from model_training.data.recode_data import load_recode_jsonl, to_prompt_record
from model_training.train.evaluate import detector_check, score_completions
from tests.training.conftest import SAMPLE


def answer(code: str) -> str:
    return f" the alias was removed </think>\n<answer>\n```python\n{code}\n```\n</answer>"


def test_scores_of_a_right_a_copied_and_an_empty_answer() -> None:
    record = load_recode_jsonl(SAMPLE)[0]  # numpy.float_ -> numpy.float64
    row = to_prompt_record(record)
    completions = [answer(record.new_code), answer(record.old_code), answer(""), "no format at all"]
    scores = score_completions(completions, [row] * 4, detector_check())
    assert scores.n == 4
    # Exact answer: 1 + 2; copied old code: well-formed, parses, close to the target; empty: parses, far
    # from the target; no block: -1 - 2.
    assert scores.format_ok == 0.75 and scores.parses == 0.75
    # Only the right answer drops the old API: the copy keeps it, the empty block is no migration.
    assert scores.old_api_gone == 0.25
    assert 0 < scores.reward_sem and math.isfinite(scores.reward)


def test_empty_set() -> None:
    scores = score_completions([], [])
    assert scores.n == 0 and math.isnan(scores.reward)
