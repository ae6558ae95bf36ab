"""The SFT baseline on the same data, through TRL's ``SFTTrainer`` and the same adapter.

The paper compares ReCode's RL against supervised fine-tuning on the same entries (SFT
learns the migrations but costs more general coding ability). Each row is the rendered prompt
(assistant turn prefilled, left open) and, as the completion, a short think (the update's
description) and ``new_code`` in the answer format (:func:`~model_training.train.common.sft_completion`);
TRL appends the end-of-turn token and trains on the completion tokens only.

Hyper-parameters beyond the paper's shared ones (adapter, learning rate, lengths) are our
choice: 2 epochs, 3% warm-up, cosine decay, sequences up to 2,048 + 1,024 tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_training.train.common import (
    TRAIN_LOG,
    JsonlLogCallback,
    load_records,
    load_tokenizer,
    peft_config,
    save_run,
    sft_rows,
    to_dataset,
    training_kwargs,
)
from model_training.train.config import RunConfigBase

logger = logging.getLogger(__name__)


def sft_trainer_defaults() -> dict[str, Any]:
    """``trl.SFTConfig`` keyword arguments of the SFT baseline."""
    return {
        "learning_rate": 5e-5,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.03,
        "num_train_epochs": 2,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 4,
        "max_length": 3072,
        "completion_only_loss": True,
        "bf16": True,
        "gradient_checkpointing": True,
        "logging_steps": 10,
        "save_steps": 500,
        "save_total_limit": 2,
        "seed": 42,
    }


@dataclass
class SFTRunConfig(RunConfigBase):
    """One SFT run: model, adapter, data, output and TRL ``SFTConfig`` arguments."""

    output_dir: str = "runs/sft"
    #: ``trl.SFTConfig`` keyword arguments, merged over :func:`sft_trainer_defaults`.
    trainer: dict[str, Any] = field(default_factory=sft_trainer_defaults)

    @staticmethod
    def trl_config_class() -> type:
        from trl import SFTConfig

        return SFTConfig


def run_sft(config: SFTRunConfig, callbacks: Sequence[Any] = ()) -> Path:
    """Run SFT (TRL's ``SFTTrainer`` unchanged); returns the adapter folder."""
    from trl import SFTConfig, SFTTrainer

    from model_training.train.grpo import evaluate_after_training

    records = load_records(config.data)  # first: a missing data file fails before any model download
    tokenizer = load_tokenizer(config.model)
    rows, dropped = sft_rows(records, tokenizer, config.data.max_prompt_length, config.data.prompt_template)
    if dropped:
        logger.warning(
            "dropped %d of %d prompts longer than %d tokens", dropped, len(records), config.data.max_prompt_length
        )
    args = SFTConfig(**training_kwargs(config.trainer, config.output_dir, config.model))
    log = JsonlLogCallback(Path(config.output_dir) / TRAIN_LOG)
    trainer = SFTTrainer(
        model=config.model.name_or_path,
        args=args,
        train_dataset=to_dataset(rows),
        processing_class=tokenizer,
        peft_config=peft_config(config.peft),
        callbacks=[log, *callbacks],
    )
    trainer.train()
    scores = evaluate_after_training(trainer, config, tokenizer)
    return save_run(trainer, config, "sft", log, scores)
