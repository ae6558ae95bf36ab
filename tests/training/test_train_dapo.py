"""DAPO: one step on the tiny random Qwen2, and dynamic sampling (drop equal-reward groups, refill)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_training.train.config import load_run_config
from tests.training.conftest import CONFIGS, tiny_overrides
from tests.training.test_train_grpo import check_adapter

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from model_training.train.dapo import (  # noqa: E402
    DAPORunConfig,
    check_whole_groups,
    concat_batches,
    dynamic_sampling_trainer_class,
    group_has_signal,
    run_dapo,
    select_rows,
)
from model_training.train.grpo import run_rl  # noqa: E402


def read_log(run: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


# --------------------------------------------------------------------------- pure batch surgery


def test_group_has_signal() -> None:
    rewards = torch.tensor([1.0, 1.0, 1.0, 0.5, 2.0, 2.0, float("nan"), 3.0, float("nan"), float("nan")])
    # groups of 2: equal, varied, equal, NaN + value (one scored sample: no spread), all NaN
    assert group_has_signal(rewards, 2).tolist() == [False, False, True, True, False, False, False, False] + [
        False,
        False,
    ]


def test_select_and_concat_repad_left_prompts_and_right_completions() -> None:
    a = {
        "prompt_ids": torch.tensor([[5, 6], [7, 8]]),
        "prompt_mask": torch.ones(2, 2, dtype=torch.long),
        "completion_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]),
        "completion_mask": torch.ones(2, 3, dtype=torch.long),
        "advantages": torch.tensor([0.5, -0.5]),
        "num_items_in_batch": torch.tensor(6),
    }
    b = {
        "prompt_ids": torch.tensor([[9, 9, 9]]),
        "prompt_mask": torch.ones(1, 3, dtype=torch.long),
        "completion_ids": torch.tensor([[7]]),
        "completion_mask": torch.ones(1, 1, dtype=torch.long),
        "advantages": torch.tensor([1.0]),
        "num_items_in_batch": torch.tensor(1),
    }
    merged = concat_batches([select_rows(a, torch.tensor([1])), b], pad_token_id=0)
    assert next(iter(merged)) == "prompt_ids"  # TRL's shuffle reads the batch size from the first entry
    assert merged["prompt_ids"].tolist() == [[0, 7, 8], [9, 9, 9]]
    assert merged["prompt_mask"].tolist() == [[0, 1, 1], [1, 1, 1]]
    assert merged["completion_ids"].tolist() == [[4, 5, 6], [7, 0, 0]]
    assert merged["completion_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert merged["advantages"].tolist() == [-0.5, 1.0]
    with pytest.raises(NotImplementedError, match="pixel_values"):
        select_rows({**a, "pixel_values": torch.zeros(2, 3)}, torch.tensor([0]))


# --------------------------------------------------------------------------- on the tiny model


def test_one_dapo_step_saves_an_adapter(tiny_qwen2: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = load_run_config(
        DAPORunConfig, CONFIGS / "dapo_tiny_cpu.yaml", tiny_overrides(tiny_qwen2, run, max_steps=1)
    )
    assert (config.trainer["loss_type"], config.trainer["beta"], config.trainer["epsilon_high"]) == ("dapo", 0.0, 0.28)
    folder = run_dapo(config)
    check_adapter(folder, tiny_qwen2, "dapo")
    # A random model earns the same reward on every completion: every group is dropped, each of
    # the max_sampling_rounds rounds, and the batch is topped up with zero-advantage groups.
    record = next(r for r in read_log(run) if "dynamic_sampling/rounds" in r)
    assert record["dynamic_sampling/rounds"] == config.max_sampling_rounds
    assert record["dynamic_sampling/filled"] == 0.0


def test_equal_reward_groups_are_dropped_and_refilled(tiny_qwen2: Path, tmp_path: Path) -> None:
    calls: list[int] = []

    def flat_then_varied(completions: list[str], **kwargs: object) -> list[float]:
        """Round 1: one reward for all (no group has signal). Later rounds: 0, 1, 0, 1... in each group."""
        calls.append(len(completions))
        if len(calls) == 1:
            return [0.0] * len(completions)
        return [float(i % 2) for i in range(len(completions))]

    run = tmp_path / "run"
    config = load_run_config(
        DAPORunConfig,
        CONFIGS / "dapo_tiny_cpu.yaml",
        [*tiny_overrides(tiny_qwen2, run, max_steps=1, per_device_train_batch_size=8), "max_sampling_rounds=4"],
    )
    trainers = []

    class Capture(dynamic_sampling_trainer_class()):  # type: ignore[misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            trainers.append(self)

    run_rl(
        config,
        method="dapo",
        trainer_class=Capture,
        trainer_kwargs={"dynamic_sampling": True, "max_sampling_rounds": 4},
        extra_rewards=[flat_then_varied],
    )
    # Two groups of 4: round 1 dropped both, round 2 refilled the batch with fresh prompts.
    assert calls == [8, 8]
    record = next(r for r in read_log(run) if "dynamic_sampling/rounds" in r)
    assert (record["dynamic_sampling/rounds"], record["dynamic_sampling/filled"]) == (2.0, 1.0)
    (batch,) = trainers[0]._buffered_inputs
    assert batch["completion_ids"].shape[0] == 8
    advantages = batch["advantages"].view(-1, 4)
    assert bool((advantages.abs().sum(dim=1) > 0).all())  # every kept group carries a learning signal
    mask = batch["completion_mask"]
    assert int(batch["num_items_in_batch"]) == int(mask.sum())


def test_dynamic_sampling_needs_whole_groups_per_process() -> None:
    check_whole_groups(8, 1, 8)
    check_whole_groups(4, 2, 8)
    with pytest.raises(ValueError, match="whole groups"):
        check_whole_groups(4, 1, 8)  # fine for TRL on 2 processes, but a group would straddle them
