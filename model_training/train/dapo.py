"""DAPO with the ReCode reward: TRL's ``GRPOTrainer`` plus dynamic sampling, which TRL lacks.

What is native TRL 1.16 (set through :func:`dapo_trainer_defaults`):

* no KL term: ``beta=0.0`` (no reference model is even computed);
* clip-higher: ``epsilon=0.2`` (low) and ``epsilon_high=0.28``;
* token-level policy-gradient loss: ``loss_type="dapo"`` (token losses summed and divided by
  the number of completion tokens of the whole accumulated batch);
* overlong filtering: ``mask_truncated_completions`` (off by default here);
* soft overlong punishment: ``trl.rewards.get_soft_overlong_punishment``, added as a reward
  when ``overlong_punishment`` is true (off by default).

What is ours: **dynamic sampling**. DAPO drops every group whose rewards are all equal (their
advantages are zero: they only dilute the token-mean loss) and samples more prompts until
the batch is full again. TRL only logs the share of such groups (``frac_reward_zero_std``).
:class:`DynamicSamplingGRPOTrainer` adds it by overriding the one extension point that sees
whole scored batches, ``_generate_and_score_completions``: it calls TRL's implementation
round after round on fresh prompts, keeps the groups with a reward spread, and returns a
batch of the size TRL expects, with ``num_items_in_batch`` recomputed for the kept tokens.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_training.train.config import ConfigError
from model_training.train.grpo import GRPORunConfig, grpo_trainer_defaults, run_rl

if TYPE_CHECKING:
    import torch

#: Batch entries laid out (batch, tokens) and padded on the left (prompts).
_LEFT_PADDED = {"prompt_ids": "pad", "prompt_mask": 0}
#: Batch entries laid out (batch, tokens) and padded on the right (completions); the value is the padding.
_RIGHT_PADDED: dict[str, Any] = {
    "completion_ids": "pad",
    "completion_mask": 0,
    "old_per_token_logps": 0.0,
    "ref_per_token_logps": 0.0,
    "sampling_per_token_logps": 0.0,
    "importance_sampling_ratio": 0.0,
    "tool_mask": 1,
}
#: Entries with one value per sample.
_PER_SAMPLE = {"advantages"}


def dapo_trainer_defaults() -> dict[str, Any]:
    """The paper's DAPO settings as ``trl.GRPOConfig`` keyword arguments (GRPO's, with DAPO's changes)."""
    defaults = grpo_trainer_defaults()
    defaults.update(
        {
            "loss_type": "dapo",
            "beta": 0.0,
            "epsilon": 0.2,
            "epsilon_high": 0.28,
            "mask_truncated_completions": False,
        }
    )
    return defaults


@dataclass
class DAPORunConfig(GRPORunConfig):
    """One DAPO run: a GRPO run config plus dynamic sampling and overlong shaping."""

    output_dir: str = "runs/dapo"
    #: Drop groups whose rewards are all equal and refill the batch with fresh prompts.
    dynamic_sampling: bool = True
    #: Generation rounds per batch at most (DAPO's ``max_num_gen_batches``); an unfilled batch is
    #: topped up with dropped groups (zero advantage) so training goes on, and the shortfall is logged.
    max_sampling_rounds: int = 8
    #: Add TRL's soft overlong punishment reward (DAPO Eq. 13).
    overlong_punishment: bool = False
    #: Its ``soft_punish_cache``: completions longer than max_completion_length minus this lose reward.
    overlong_cache: int = 256
    trainer: dict[str, Any] = field(default_factory=dapo_trainer_defaults)

    def validate(self, where: str) -> None:
        super().validate(where)
        if self.max_sampling_rounds < 1:
            raise ConfigError(f"{where} max_sampling_rounds: must be at least 1")
        if float(self.trainer.get("beta", 0.0)) != 0.0:
            raise ConfigError(f"{where} trainer.beta: DAPO has no KL term; leave beta at 0.0 or run grpo")


# --------------------------------------------------------------------------- batch surgery (pure tensor code)


def group_has_signal(rewards: torch.Tensor, num_generations: int, tol: float = 1e-6) -> torch.Tensor:
    """Per sample: does its group's reward vary? ``rewards`` holds consecutive groups; NaN = unscored.

    >>> import torch
    >>> group_has_signal(torch.tensor([1.0, 1.0, 0.0, 2.0]), 2).tolist()
    [False, False, True, True]
    """
    import torch

    grouped = rewards.view(-1, num_generations)
    valid = ~torch.isnan(grouped)
    high = torch.where(valid, grouped, torch.full_like(grouped, -torch.inf)).max(dim=1).values
    low = torch.where(valid, grouped, torch.full_like(grouped, torch.inf)).min(dim=1).values
    spread = (high - low).nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)
    return (spread > tol).repeat_interleave(num_generations)


def select_rows(batch: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
    """The samples ``index`` of a scored batch (``num_items_in_batch`` is left for the caller)."""
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if key == "num_items_in_batch":
            out[key] = value
        elif key in _LEFT_PADDED or key in _RIGHT_PADDED or key in _PER_SAMPLE:
            out[key] = value[index]
        else:
            raise NotImplementedError(f"dynamic sampling cannot split batch entry {key!r} (multimodal inputs?)")
    return out


def concat_batches(parts: Sequence[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """Concatenate scored batches sample-wise, re-padding token tensors to the longest."""
    import torch
    import torch.nn.functional as F

    out: dict[str, Any] = {}
    for key in parts[0]:  # keep TRL's key order: its shuffle reads the batch size from the first entry
        if key == "num_items_in_batch":
            out[key] = parts[0][key]
            continue
        tensors = [part[key] for part in parts]
        if key in _PER_SAMPLE:
            out[key] = torch.cat(tensors, dim=0)
            continue
        left = key in _LEFT_PADDED
        fill: Any = (_LEFT_PADDED if left else _RIGHT_PADDED)[key]
        value = float(pad_token_id if fill == "pad" else fill)
        width = max(t.size(1) for t in tensors)
        padded = []
        for t in tensors:
            missing = width - t.size(1)
            padded.append(F.pad(t, (missing, 0) if left else (0, missing), value=value) if missing else t)
        out[key] = torch.cat(padded, dim=0)
    return out


def check_whole_groups(per_device_train_batch_size: int, steps_per_generation: int, num_generations: int) -> None:
    """Dynamic sampling keeps or drops whole groups on each process, so each must hold whole groups.

    TRL only requires the *global* generation batch to be a multiple of ``num_generations``;
    with several processes a group may straddle two of them.

    >>> check_whole_groups(8, 1, 8)  # one group of 8 per process: fine
    """
    local = per_device_train_batch_size * steps_per_generation
    if local % num_generations:
        raise ValueError(
            f"dynamic sampling needs whole groups on each process: per_device_train_batch_size * "
            f"steps_per_generation = {local} is not a multiple of num_generations = {num_generations}"
        )


# --------------------------------------------------------------------------- the trainer


def _dynamic_sampling_trainer_class() -> type:
    """Build the subclass lazily so importing this module does not import TRL."""
    import torch
    from trl import GRPOTrainer

    class DynamicSamplingGRPOTrainer(GRPOTrainer):
        """``GRPOTrainer`` with DAPO's dynamic sampling (see the module docstring).

        Each process's generation batch (``per_device_train_batch_size * steps_per_generation``
        samples) must hold whole groups, so that the groups a process keeps are its own. The
        decision to sample another round is taken from the rewards of all processes (TRL
        gathers them), so every process runs the same number of rounds.
        """

        def __init__(self, *args: Any, dynamic_sampling: bool = True, max_sampling_rounds: int = 8, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.dynamic_sampling = dynamic_sampling
            self.max_sampling_rounds = max_sampling_rounds
            self._last_rewards_per_func: torch.Tensor | None = None
            self._refill_rng = random.Random(self.args.seed * 1000 + self.accelerator.process_index)
            settings: Any = self.args
            self._group_size = int(self.num_generations or 0)
            if dynamic_sampling:
                check_whole_groups(
                    settings.per_device_train_batch_size, settings.steps_per_generation, self._group_size
                )

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._last_rewards_per_func = rewards  # gathered over all processes
            return rewards

        def _refill_batch(self, size: int) -> list[dict[str, Any]]:
            """``size // num_generations`` fresh prompts from the training set, each repeated once per generation."""
            dataset: Any = self.train_dataset
            rows: list[dict[str, Any]] = []
            for _ in range(size // self._group_size):
                row = dict(dataset[self._refill_rng.randrange(len(dataset))])
                rows.extend(dict(row) for _ in range(self._group_size))
            return rows

        def _generate_and_score_completions(self, inputs):
            model: Any = self.model
            if not (self.dynamic_sampling and model.training):
                return super()._generate_and_score_completions(inputs)
            need = len(inputs)
            processes = self.accelerator.num_processes
            rank = self.accelerator.process_index
            kept: list[dict[str, Any]] = []
            dropped: list[dict[str, Any]] = []
            kept_per_process = torch.zeros(processes, dtype=torch.long)
            batch = inputs
            rounds = 0
            while True:
                rounds += 1
                scored = super()._generate_and_score_completions(batch)
                rewards_per_func = self._last_rewards_per_func
                assert rewards_per_func is not None
                weights = self.reward_weights.to(rewards_per_func.device)
                rewards = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
                rewards[torch.isnan(rewards_per_func).all(dim=1)] = torch.nan
                signal = group_has_signal(rewards, self._group_size).cpu()
                kept_per_process += signal.view(processes, -1).sum(dim=1)
                mine = signal.view(processes, -1)[rank].to(scored["advantages"].device)
                kept.append(select_rows(scored, mine.nonzero().squeeze(1)))
                dropped.append(select_rows(scored, (~mine).nonzero().squeeze(1)))
                if int(kept_per_process.min()) >= need or rounds >= self.max_sampling_rounds:
                    break
                batch = self._refill_batch(need)
            pad_id = self._tokenizer.pad_token_id
            merged = concat_batches(kept + dropped, pad_id)  # kept groups first, then zero-signal fillers
            index = torch.arange(need, device=merged["advantages"].device)
            merged = select_rows(merged, index)
            mask = merged["completion_mask"] * merged.get("tool_mask", 1)
            merged["num_items_in_batch"] = self.accelerator.gather(mask.sum()).sum()
            filled = min(int(kept_per_process.min()), need) / need
            self._metrics["train"]["dynamic_sampling/rounds"].append(float(rounds))
            self._metrics["train"]["dynamic_sampling/filled"].append(filled)
            return merged

    return DynamicSamplingGRPOTrainer


_TRAINER_CLASS: type | None = None


def dynamic_sampling_trainer_class() -> type:
    """``DynamicSamplingGRPOTrainer`` (a ``trl.GRPOTrainer`` subclass), built on first use."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is None:
        _TRAINER_CLASS = _dynamic_sampling_trainer_class()
    return _TRAINER_CLASS


def run_dapo(config: DAPORunConfig, callbacks: Sequence[Any] = ()) -> Path:
    """Run DAPO; returns the adapter folder."""
    extra = []
    if config.overlong_punishment:
        from trl.rewards import get_soft_overlong_punishment

        max_len = int(config.trainer.get("max_completion_length", 1024))
        extra.append(get_soft_overlong_punishment(max_len, config.overlong_cache))
    return run_rl(
        config,
        method="dapo",
        trainer_class=dynamic_sampling_trainer_class(),
        trainer_kwargs={
            "dynamic_sampling": config.dynamic_sampling,
            "max_sampling_rounds": config.max_sampling_rounds,
        },
        extra_rewards=extra,
        callbacks=callbacks,
    )
