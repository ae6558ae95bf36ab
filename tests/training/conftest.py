"""Fixtures for the training tests: one tiny random Qwen2 per session, and run configs for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "recode_sample.jsonl"
CONFIGS = Path(__file__).resolve().parents[2] / "model_training" / "configs"


@pytest.fixture(scope="session")
def tiny_qwen2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Qwen2 with its tokenizer (built once, ~8 s)."""
    pytest.importorskip("trl")
    from model_training.tiny_model import build_tiny_qwen2

    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"))


def tiny_overrides(model: Path, output_dir: Path, **trainer: Any) -> list[str]:
    """``--set`` overrides that point a tiny CPU config at the session model and a temp folder."""
    out = [f"model.name_or_path={model}", f"output_dir={output_dir}", f"data.train_file={SAMPLE}"]
    out += [f"trainer.{key}={value}" for key, value in trainer.items()]
    return out
