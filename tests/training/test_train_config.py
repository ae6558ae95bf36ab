"""Run configurations: the paper's defaults, YAML loading, strict keys, --set overrides, the shipped files."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_training.cli import main
from model_training.train.config import ConfigError, load_run_config
from tests.training.conftest import CONFIGS

pytest.importorskip("trl")

from model_training.train.dapo import DAPORunConfig
from model_training.train.grpo import GRPORunConfig
from model_training.train.sft import SFTRunConfig


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- defaults


def test_grpo_defaults_are_the_papers() -> None:
    config = load_run_config(GRPORunConfig)
    t = config.trainer
    assert (t["num_generations"], t["beta"], t["learning_rate"]) == (8, 0.001, 5e-5)
    assert (t["warmup_steps"], t["lr_scheduler_type"], t["max_steps"]) == (150, "cosine", 5000)
    assert (config.data.max_prompt_length, t["max_completion_length"], t["bf16"]) == (2048, 1024, True)
    assert (config.peft.r, config.peft.alpha, config.peft.use_dora) == (64, 64, True)
    # TRL 1.16 defaults to "dapo"; the paper's GRPO averages per sequence first.
    assert t["loss_type"] == "grpo"
    assert config.model.name_or_path == "Qwen/Qwen2.5-Coder-7B-Instruct"


def test_dapo_defaults() -> None:
    config = load_run_config(DAPORunConfig)
    t = config.trainer
    assert (t["loss_type"], t["beta"], t["epsilon"], t["epsilon_high"]) == ("dapo", 0.0, 0.2, 0.28)
    assert config.dynamic_sampling is True
    assert config.overlong_punishment is False and t["mask_truncated_completions"] is False


def test_trl_accepts_the_defaults() -> None:
    """Every default trainer key is a real field of TRL's config (no silent typo)."""
    from trl import GRPOConfig, SFTConfig

    for cls, trl_cls in ((GRPORunConfig, GRPOConfig), (DAPORunConfig, GRPOConfig), (SFTRunConfig, SFTConfig)):
        names = {f for f in trl_cls.__dataclass_fields__}
        assert set(cls().trainer) <= names, cls


# --------------------------------------------------------------------------- loading and overrides


def test_yaml_trainer_merges_over_defaults_and_coerces(tmp_path: Path) -> None:
    path = write(tmp_path, "trainer:\n  learning_rate: 1e-6\n  max_steps: '10'\npeft:\n  r: 16\n")
    config = load_run_config(GRPORunConfig, path)
    # YAML reads 1e-6 as a string; it becomes a float. Keys not in the file keep the defaults.
    assert config.trainer["learning_rate"] == 1e-6 and isinstance(config.trainer["learning_rate"], float)
    assert config.trainer["max_steps"] == 10
    assert config.trainer["beta"] == 0.001
    assert (config.peft.r, config.peft.alpha) == (16, 64)


def test_set_overrides_apply_after_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "peft:\n  r: 16\n")
    config = load_run_config(
        GRPORunConfig,
        path,
        ["peft.r=32", "trainer.beta=0", "model.name_or_path=/models/qwen", "data.eval_file=none", "reward=edit_aware"],
    )
    assert config.peft.r == 32 and config.trainer["beta"] == 0.0
    assert config.model.name_or_path == "/models/qwen" and config.data.eval_file is None
    assert config.reward == "edit_aware"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("peft:\n  use_droa: true\n", "peft: unknown key 'use_droa'; did you mean 'use_dora'?"),
        ("lerning_rate: 1.0\n", "unknown key 'lerning_rate'"),
        ("trainer:\n  num_generation: 4\n", "trainer: unknown key 'num_generation'; did you mean 'num_generations'?"),
        ("peft:\n  r: many\n", "peft.r: expected an integer"),
        ("peft: [1, 2]\n", "peft: expected a mapping"),
        ("reward: bleu\n", "reward: 'bleu' is not one of"),
        ("- a\n", "the top level must be a mapping"),
    ],
)
def test_bad_keys_and_values_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("?", r"\?")) as info:
        load_run_config(GRPORunConfig, path)
    assert str(path) in str(info.value)


def test_dapo_refuses_a_kl_term() -> None:
    with pytest.raises(ConfigError, match="no KL term"):
        load_run_config(DAPORunConfig, None, ["trainer.beta=0.01"])


def test_sft_trainer_keys_are_checked_against_sftconfig() -> None:
    with pytest.raises(ConfigError, match="unknown key 'num_generations'"):
        load_run_config(SFTRunConfig, None, ["trainer.num_generations=4"])


def test_malformed_override() -> None:
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_run_config(GRPORunConfig, None, ["peft.r"])


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_run_config(GRPORunConfig, "/nonexistent/run.yaml")


# --------------------------------------------------------------------------- shipped configs


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load(path: Path) -> None:
    method = path.name.split("_")[0]
    if method == "update":  # `recode-train update` configs: their own schema, naming a trainer config
        from model_training.update.config import load_update_config

        update = load_update_config(path)
        trainer = CONFIGS.parent.parent / update.train.config
        assert trainer.is_file(), f"{path.name}: train.config {update.train.config} is not a shipped config"
        assert trainer.name.split("_")[0] == update.train.method
        return
    cls = {"grpo": GRPORunConfig, "dapo": DAPORunConfig, "sft": SFTRunConfig}[method]
    config = load_run_config(cls, path)
    if "tiny" in path.name:
        assert config.trainer["use_cpu"] is True and config.trainer["bf16"] is False
        assert config.trainer["gradient_checkpointing"] is False and config.peft.use_dora is False
    else:
        assert config.model.name_or_path == "Qwen/Qwen2.5-Coder-7B-Instruct"
        assert config.peft.use_dora is True and config.trainer["bf16"] is True
        if method != "sft":
            assert config.trainer["use_vllm"] is True
            assert config.trainer["vllm_mode"] == ("server" if "8gpu" in path.name else "colocate")


def test_accelerate_configs_exist() -> None:
    names = {p.name for p in (CONFIGS / "accelerate").glob("*.yaml")}
    assert {"zero3_8gpu.yaml", "single_gpu.yaml"} <= names


# --------------------------------------------------------------------------- CLI


def test_cli_prints_the_resolved_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dapo", "--set", "trainer.max_steps=3", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert '"max_steps": 3' in out and '"epsilon_high": 0.28' in out


def test_cli_unknown_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grpo", "--set", "peft.rnak=3", "--print-config"]) == 2
    assert "unknown key 'rnak'" in capsys.readouterr().err


def test_cli_missing_training_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A missing data file fails before any model is loaded, with the hint where the data lives."""
    code = main(["sft", "--set", f"data.train_file={tmp_path / 'missing.jsonl'}", "--set", "model.name_or_path=x"])
    assert code == 2
    assert "zjunlp/ReCode-Train-Data" in capsys.readouterr().err
