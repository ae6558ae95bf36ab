"""One SFT step on the tiny random Qwen2: it trains on the completion only and saves an adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_training.train.config import load_run_config
from tests.training.conftest import CONFIGS, tiny_overrides
from tests.training.test_train_grpo import check_adapter

pytest.importorskip("trl")

from model_training.train.merge import merge_adapter
from model_training.train.sft import SFTRunConfig, run_sft


def test_one_sft_step_saves_an_adapter(tiny_qwen2: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = load_run_config(SFTRunConfig, CONFIGS / "sft_tiny_cpu.yaml", tiny_overrides(tiny_qwen2, run, max_steps=1))
    folder = run_sft(config)
    metadata = check_adapter(folder, tiny_qwen2, "sft")
    assert metadata["reward_curve"] == [] and metadata["scores"] == {}
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert any("loss" in record and record["loss"] > 0 for record in log)

    # What a DoRA adapter needs before vLLM serves it: a merge into the base model (LoRA here, same path).
    from transformers import AutoModelForCausalLM

    merged = merge_adapter(folder, tmp_path / "merged", dtype="float32")
    assert AutoModelForCausalLM.from_pretrained(merged).config.model_type == "qwen2"
    assert (merged / "recode_merged_from.json").is_file() and (merged / "tokenizer.json").is_file()
