"""One GRPO step on the tiny random Qwen2: it trains, saves a LoRA adapter vLLM accepts, and its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_training.train.config import load_run_config
from tests.training.conftest import CONFIGS, tiny_overrides

pytest.importorskip("trl")

from model_training.train.common import ADAPTER_METADATA, ADAPTER_METADATA_KEYS, sha256_file
from model_training.train.grpo import GRPORunConfig, run_grpo


def check_adapter(folder: Path, base: Path, method: str) -> dict:  # type: ignore[type-arg]
    """The folder the serving registry takes: PEFT files plus recode_adapter.json with exactly its keys."""
    assert (folder / "adapter_config.json").is_file() and (folder / "adapter_model.safetensors").is_file()
    adapter_config = json.loads((folder / "adapter_config.json").read_text())
    assert adapter_config["peft_type"] == "LORA" and adapter_config["use_dora"] is False
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} == set(
        adapter_config["target_modules"]
    )
    metadata = json.loads((folder / ADAPTER_METADATA).read_text())
    assert tuple(sorted(metadata)) == tuple(sorted(ADAPTER_METADATA_KEYS))
    assert metadata["base_model"] == str(base)
    assert metadata["data_hash"] == sha256_file(Path(metadata["config"]["data"]["train_file"]))
    assert metadata["config"]["method"] == method
    return metadata


def test_one_grpo_step_saves_an_adapter(tiny_qwen2: Path, tmp_path: Path) -> None:
    config = load_run_config(
        GRPORunConfig, CONFIGS / "grpo_tiny_cpu.yaml", tiny_overrides(tiny_qwen2, tmp_path / "run", max_steps=1)
    )
    assert config.trainer["loss_type"] == "grpo"
    folder = run_grpo(config)
    assert folder == tmp_path / "run" / "adapter"
    metadata = check_adapter(folder, tiny_qwen2, "grpo")
    assert len(metadata["reward_curve"]) == 1 and -3.0 <= metadata["reward_curve"][0][1] <= 3.0
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert any("rewards/format_reward/mean" in record for record in log)
    assert any("rewards/es_star_reward/mean" in record for record in log)

    # The serving registry takes the folder as it is, with the trainer's facts.
    from serving.registry import AdapterRegistry, register

    version = register(folder, "recode-grpo-test", registry=tmp_path / "registry")
    assert version.base_model == str(tiny_qwen2)
    assert version.data_hash == metadata["data_hash"] and version.rank == 8
    listed = AdapterRegistry(tmp_path / "registry").get("recode-grpo-test")
    assert listed.data_hash == metadata["data_hash"]
    training = json.loads((listed.path / "training.json").read_text())
    assert training["reward_curve"] == metadata["reward_curve"]


def test_vllm_accepts_lora_but_not_dora(tiny_qwen2: Path, tmp_path: Path) -> None:
    """vLLM's own adapter check: our LoRA passes; a DoRA adapter (the 7B configs) must be merged first."""
    pytest.importorskip("vllm")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    from vllm.config.lora import LoRAConfig
    from vllm.lora.peft_helper import PEFTHelper

    from model_training.train.common import peft_config
    from model_training.train.config import PeftSettings

    model = AutoModelForCausalLM.from_pretrained(tiny_qwen2)
    lora = peft_config(PeftSettings(r=8, alpha=16, use_dora=False))
    dora = peft_config(PeftSettings(r=8, alpha=16, use_dora=True))
    assert isinstance(lora, LoraConfig) and isinstance(dora, LoraConfig)
    get_peft_model(model, lora).save_pretrained(tmp_path / "lora")
    PEFTHelper.from_local_dir(str(tmp_path / "lora"), max_position_embeddings=4096).validate_legal(
        LoRAConfig(max_lora_rank=8)
    )
    model = AutoModelForCausalLM.from_pretrained(tiny_qwen2)
    get_peft_model(model, dora).save_pretrained(tmp_path / "dora")
    with pytest.raises(ValueError, match="DoRA"):
        PEFTHelper.from_local_dir(str(tmp_path / "dora"), max_position_embeddings=4096).validate_legal(
            LoRAConfig(max_lora_rank=8)
        )
