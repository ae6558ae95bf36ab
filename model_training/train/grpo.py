"""GRPO with the ReCode reward, through TRL's ``GRPOTrainer`` and a PEFT adapter.

``recode-train grpo --config model_training/configs/grpo_qwen7b_1gpu.yaml`` runs it. The
defaults of :class:`GRPORunConfig` are the paper's: group size 8, KL beta 0.001, learning rate
5e-5 with 150 warm-up steps then cosine decay, 5,000 steps, DoRA r=64 alpha=64, prompts up to
2,048 tokens and completions up to 1,024, bf16.

``loss_type`` is set to ``"grpo"`` explicitly: TRL 1.16's default is ``"dapo"`` (token-level
normalisation over the whole batch). The paper's GRPO is DeepSeekMath's objective, which
averages each completion's token losses over its own length and then over the group; that
is TRL's ``"grpo"``. (``"bnpo"`` and ``"dr_grpo"`` are later length-debiased variants, and
the DAPO run already covers token-level normalisation.) Rewards are scaled by the group's
standard deviation (``scale_rewards="group"``), as in the original GRPO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_training.train.common import (
    REWARD_NAMES,
    TRAIN_LOG,
    JsonlLogCallback,
    load_records,
    load_tokenizer,
    peft_config,
    prompt_rows,
    reward_functions,
    save_run,
    to_dataset,
    training_kwargs,
)
from model_training.train.config import ConfigError, RunConfigBase

logger = logging.getLogger(__name__)


def grpo_trainer_defaults() -> dict[str, Any]:
    """The paper's GRPO hyper-parameters as ``trl.GRPOConfig`` keyword arguments."""
    return {
        "loss_type": "grpo",
        "beta": 0.001,
        "epsilon": 0.2,
        "num_generations": 8,
        "scale_rewards": "group",
        "learning_rate": 5e-5,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 150,
        "max_steps": 5000,
        "max_completion_length": 1024,
        "temperature": 1.0,
        "per_device_train_batch_size": 8,
        "gradient_accumulation_steps": 1,
        "bf16": True,
        "gradient_checkpointing": True,
        "logging_steps": 1,
        "save_steps": 500,
        "save_total_limit": 2,
        "seed": 42,
    }


@dataclass
class GRPORunConfig(RunConfigBase):
    """One GRPO run: model, adapter, data, reward, output and TRL ``GRPOConfig`` arguments."""

    output_dir: str = "runs/grpo"
    #: ``trl.GRPOConfig`` keyword arguments, merged over :func:`grpo_trainer_defaults`.
    trainer: dict[str, Any] = field(default_factory=grpo_trainer_defaults)
    #: ``recode`` (format + ES*, the paper) or ``edit_aware`` (format + edit-aware ES*).
    reward: str = "recode"
    #: Sync the adapter to vLLM by merging into copies of the base weights
    #: (:mod:`model_training.train.weight_sync`); false keeps TRL's in-place merge, which drifts a bf16 base.
    out_of_place_sync: bool = True

    @staticmethod
    def trl_config_class() -> type:
        from trl import GRPOConfig

        return GRPOConfig

    def validate(self, where: str) -> None:
        super().validate(where)
        if self.reward not in REWARD_NAMES:
            raise ConfigError(f"{where} reward: {self.reward!r} is not one of {', '.join(REWARD_NAMES)}")


def run_rl(
    config: GRPORunConfig,
    *,
    method: str,
    trainer_class: type | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
    extra_rewards: Sequence[Callable[..., Any]] = (),
    callbacks: Sequence[Any] = (),
    reward_funcs: Sequence[Callable[..., Any]] | None = None,
) -> Path:
    """Train with a ``GRPOTrainer`` (or subclass) and save the adapter; returns the adapter folder.

    Args:
        config: The run configuration (a :class:`GRPORunConfig` or subclass).
        method: ``grpo`` or ``dapo``, recorded in the metadata.
        trainer_class: ``trl.GRPOTrainer`` by default; DAPO passes its dynamic-sampling subclass.
        trainer_kwargs: Extra keyword arguments for the trainer class.
        extra_rewards: Reward functions added to the configured ones (e.g. soft overlong punishment).
        callbacks: Extra ``TrainerCallback`` objects.
        reward_funcs: Reward functions to use instead of ``config.reward``'s (e.g. an edit-aware
            reward over another knowledge base); ``config.reward`` is then only recorded.
    """
    from trl import GRPOConfig, GRPOTrainer

    records = load_records(config.data)  # first: a missing data file fails before any model download
    tokenizer = load_tokenizer(config.model)
    rows, dropped = prompt_rows(records, tokenizer, config.data.max_prompt_length, config.data.prompt_template)
    if dropped:
        logger.warning(
            "dropped %d of %d prompts longer than %d tokens", dropped, len(records), config.data.max_prompt_length
        )
    dataset = to_dataset(rows)
    args = GRPOConfig(**training_kwargs(config.trainer, config.output_dir, config.model))
    log = JsonlLogCallback(Path(config.output_dir) / TRAIN_LOG)
    cls = trainer_class or GRPOTrainer
    trainer = cls(
        model=config.model.name_or_path,
        reward_funcs=[
            *(reward_funcs if reward_funcs is not None else reward_functions(config.reward)),
            *extra_rewards,
        ],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config(config.peft),
        callbacks=[log, *callbacks],
        **(trainer_kwargs or {}),
    )
    if config.out_of_place_sync:
        from model_training.train import weight_sync

        weight_sync.install(trainer)
    trainer.train()
    scores = evaluate_after_training(trainer, config, tokenizer)
    return save_run(trainer, config, method, log, scores)


def evaluate_after_training(trainer: Any, config: Any, tokenizer: Any) -> dict[str, Any]:
    """Greedy scores on ``data.eval_file`` (first ``data.max_eval_samples`` records), or {} when off."""
    if not config.data.eval_file or config.data.max_eval_samples <= 0:
        return {}
    from model_training.data.recode_data import load_recode_jsonl
    from model_training.train.evaluate import evaluate_model

    if trainer.accelerator.num_processes > 1:
        # Greedy decoding on one rank would hang the others under ZeRO-3/FSDP: score the saved adapter instead.
        logger.warning(
            "evaluation after training runs on one process only; skipped (%d processes)",
            trainer.accelerator.num_processes,
        )
        return {}
    records = load_recode_jsonl(config.data.eval_file)[: config.data.max_eval_samples]
    rows, _ = prompt_rows(records, tokenizer, config.data.max_prompt_length, config.data.prompt_template)
    if not rows:
        return {}
    model = trainer.accelerator.unwrap_model(trainer.model)
    scores = evaluate_model(model, tokenizer, rows, max_new_tokens=config.eval_max_new_tokens)
    return {"eval_file": config.data.eval_file, **scores.as_dict()}


def run_grpo(
    config: GRPORunConfig,
    callbacks: Sequence[Any] = (),
    reward_funcs: Sequence[Callable[..., Any]] | None = None,
) -> Path:
    """Run GRPO (TRL's ``GRPOTrainer`` unchanged); returns the adapter folder."""
    return run_rl(config, method="grpo", callbacks=callbacks, reward_funcs=reward_funcs)
