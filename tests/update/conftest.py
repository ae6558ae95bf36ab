"""Fixtures for the update loop: the tiny model, three releases of ``updlib``, a corpus, a standing set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.update.fixture_lib import write_corpus, write_releases, write_standing_set

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "model_training" / "configs"


@dataclass
class World:
    """Everything a run reads, in one temporary folder; ``config()`` writes an update config for it."""

    root: Path
    base: Path
    dist: Path
    corpus: Path
    standing: Path
    registry: Path

    def config(self, name: str, **sections: Any) -> Path:
        """``update_tiny_cpu.yaml`` pointed at this world, with ``sections`` merged over it."""
        import yaml

        data = yaml.safe_load((CONFIGS / "update_tiny_cpu.yaml").read_text())
        data.update(
            overlay=str(self.root / "kb" / "overlay.jsonl"),
            runs_dir=str(self.root / "runs"),
        )
        data["scrape"].update(dist=str(self.dist), cache_dir=str(self.root / "cache"))
        data["mine"].update(corpus=str(self.corpus))
        data["train"].update(
            config=str(CONFIGS / "grpo_tiny_cpu.yaml"),
            base_model=str(self.base),
            overrides=["trainer.max_steps=1", "trainer.max_completion_length=8"],
        )
        data["eval"].update(
            standing_set=str(self.standing),
            env_cache=str(self.root / "envs"),
            max_tokens=8,
            heldout_max_new_tokens=8,
        )
        data["serve"].update(registry=str(self.registry))
        for key, value in sections.items():
            if isinstance(value, Mapping):
                data[key] = {**data.get(key, {}), **value}
            else:
                data[key] = value
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


def make_world(root: Path, base: Path) -> World:
    return World(
        root=root,
        base=base,
        dist=write_releases(root / "dist"),
        corpus=write_corpus(root / "corpus"),
        standing=write_standing_set(root / "standing"),
        registry=root / "registry",
    )


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Qwen2 with its tokenizer (built once, ~8 s)."""
    pytest.importorskip("trl")
    from model_training.tiny_model import build_tiny_qwen2

    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"))


def recode_train(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``recode-train ARGS`` in a child process (a run the test can kill), as a user's shell runs it."""
    environment = {k: v for k, v in os.environ.items() if k != "RECODE_UPDATE_TEST_KILL"}
    environment.update({"RECODE_CACHE_DIR": str(cwd / ".cache"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "model_training", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )


def done_markers(run: Path) -> dict[str, int]:
    """Step -> the modification time (ns) of its DONE marker."""
    return {p.parent.name.split("-", 1)[1]: p.stat().st_mtime_ns for p in sorted(run.glob("*/DONE"))}


def events(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if line.strip()]
