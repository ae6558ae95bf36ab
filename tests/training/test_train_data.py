"""Prompt and SFT rows: the prefilled assistant turn stays open; the SFT target has the answer format."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_training.data.recode_data import load_recode_jsonl
from model_training.rewards import es_star_reward, format_reward
from recode_lsp.prompt import ASSISTANT_PREFIX, build_messages
from tests.training.conftest import SAMPLE

pytest.importorskip("trl")

from model_training.train.common import prompt_rows, render_prompt, sft_completion, sft_rows


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen2: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen2)


def test_rendered_prompt_ends_with_the_open_prefix(tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = render_prompt(tokenizer, build_messages("numpy", "==2.0", "use float64", "x = np.float_"))
    assert text.endswith("<|im_start|>assistant\n" + ASSISTANT_PREFIX)
    assert text.count("<|im_end|>") == 2  # system and user closed, the assistant turn left open


def test_the_token_ids_trl_generates_from_end_with_the_prefix(tokenizer) -> None:  # type: ignore[no-untyped-def]
    """GRPOTrainer tokenizes a text prompt as is (``processing_class(text=...)``): no turn closed, no token added."""
    text = render_prompt(tokenizer, build_messages("numpy", "==2.0", "use float64", "x = np.float_"))
    ids = tokenizer(text=[text])["input_ids"][0]
    assert tokenizer.decode(ids) == text
    assert ids[-1] != tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_trl_would_close_the_prefilled_turn(tokenizer) -> None:  # type: ignore[no-untyped-def]
    """Why prompts are rendered here: the generation prompt GRPOTrainer adds closes the prefill."""
    messages = build_messages("numpy", "==2.0", "use float64", "x = np.float_")
    closed = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert closed.endswith(ASSISTANT_PREFIX + "<|im_end|>\n<|im_start|>assistant\n")


def test_prompt_rows_keep_the_reward_columns_and_drop_long_prompts(tokenizer) -> None:  # type: ignore[no-untyped-def]
    records = load_recode_jsonl(SAMPLE)
    rows, dropped = prompt_rows(records, tokenizer)
    assert dropped == 0 and len(rows) == len(records)
    assert {"prompt", "new_code", "old_code", "library", "version", "change_id"} <= set(rows[0])
    assert all(row["prompt"].endswith(ASSISTANT_PREFIX) for row in rows)
    assert all(isinstance(row["change_id"], str) for row in rows)
    lengths = sorted(len(tokenizer(row["prompt"])["input_ids"]) for row in rows)
    short, dropped = prompt_rows(records, tokenizer, max_prompt_length=lengths[0])
    assert len(short) >= 1 and dropped == len(records) - len(short) > 0


def test_sft_target_scores_full_marks(tokenizer) -> None:  # type: ignore[no-untyped-def]
    record = load_recode_jsonl(SAMPLE)[0]
    completion = sft_completion(record)
    assert format_reward([completion]) == [1.0]
    assert es_star_reward([completion], new_code=[record.new_code]) == [2.0]
    rows, _ = sft_rows([record], tokenizer)
    assert rows == [{"prompt": rows[0]["prompt"], "completion": completion}]
    # The completion starts at a token boundary: prompt tokens are a prefix of prompt+completion tokens.
    prompt_ids = tokenizer(rows[0]["prompt"])["input_ids"]
    full_ids = tokenizer(rows[0]["prompt"] + completion)["input_ids"]
    assert full_ids[: len(prompt_ids)] == prompt_ids


def test_answer_tags_survive_decoding_as_trl_does_it(tokenizer) -> None:  # type: ignore[no-untyped-def]
    """GRPOTrainer decodes completions with skip_special_tokens=True: the answer tags must not be special."""
    record = load_recode_jsonl(SAMPLE)[0]
    completion = sft_completion(record)
    ids = tokenizer(completion + "<|im_end|>")["input_ids"]
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    assert decoded == completion and format_reward([decoded]) == [1.0]
