"""Settings of a served ReCode model, and where the server's state lives.

One :class:`ServeConfig` holds everything ``recode-serve start`` decides, so the launcher, the
CLI and the tests build the same vLLM command from the same values. The state folder (one
running server per folder) holds ``state.json``, the logs and the proxy's admin token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_ALIAS", "AdapterSpec", "ServeConfig", "ServeError", "default_state_dir"]

#: The model name clients use; the proxy maps it to the promoted adapter.
DEFAULT_ALIAS = "recode"
#: The header that carries the proxy's admin token, and the variable that hands it to the proxy.
ADMIN_HEADER = "X-Recode-Admin-Token"
TOKEN_ENV = "RECODE_PROXY_ADMIN_TOKEN"
#: The variable that hands the proxy vLLM's API key (never a command-line argument: ``ps`` shows those).
UPSTREAM_KEY_ENV = "RECODE_PROXY_UPSTREAM_KEY"
#: LoRA ranks vLLM accepts for ``--max-lora-rank``.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


class ServeError(Exception):
    """A serving command failed; the message says why and what to do."""


def cache_folder(variable: str, leaf: str) -> Path:
    """``$variable`` if set, else ``$XDG_CACHE_HOME/recode/<leaf>`` (``~/.cache/recode/<leaf>``)."""
    explicit = os.environ.get(variable)
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "recode" / leaf


def default_state_dir() -> Path:
    """``$RECODE_SERVE_STATE``, else ``$XDG_CACHE_HOME/recode/serve`` (``~/.cache/recode/serve``)."""
    return cache_folder("RECODE_SERVE_STATE", "serve")


@dataclass(frozen=True)
class AdapterSpec:
    """An adapter to load at start: its vLLM name and folder."""

    name: str
    path: Path


@dataclass(frozen=True)
class ServeConfig:
    """What ``recode-serve start`` runs.

    ``port`` is the alias proxy's port, the one clients use; vLLM itself listens on loopback
    only (``vllm_port``; a free one when None) and wants an API key only the proxy and
    ``recode-serve`` know, since its runtime LoRA endpoints must not be reachable around the proxy.
    """

    model: str
    adapters: tuple[AdapterSpec, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    vllm_port: int | None = None
    alias: str = DEFAULT_ALIAS
    #: The adapter the alias points at first (default: the first adapter, else the base model).
    alias_target: str | None = None
    served_model_name: str | None = None
    tensor_parallel_size: int = 1
    max_model_len: int | None = None
    #: None: the largest rank of ``adapters``, rounded up to a rank vLLM accepts (at least 16).
    max_lora_rank: int | None = None
    #: Adapters in one batch: at least 2, so the old and the new adapter both serve during a promote.
    max_loras: int = 2
    #: Adapters kept in CPU memory (vLLM's ``--max-cpu-loras``); None: vLLM's default.
    max_cpu_loras: int | None = None
    #: "auto" (``torch.cuda.is_available()``), "cuda" or "cpu".
    device: str = "auto"
    #: vLLM's ``--gpu-memory-utilization``; on CPU it is the share of RAM vLLM reserves (default 0.2 there).
    gpu_memory_utilization: float | None = None
    #: ``--dtype``; None: vLLM's choice on GPU, float32 on CPU (safe on every CPU).
    dtype: str | None = None
    #: ``VLLM_CPU_KVCACHE_SPACE`` in GiB on CPU (None: vLLM sizes it from gpu_memory_utilization).
    cpu_kvcache_gib: int | None = None
    extra_args: tuple[str, ...] = ()
    state_dir: Path = field(default_factory=default_state_dir)
    startup_timeout: float = 900.0
    foreground: bool = False

    def __post_init__(self) -> None:
        if not self.model:
            raise ServeError("--model is required (a Hugging Face id or a local folder)")
        for name, value in (("port", self.port), ("vllm port", self.vllm_port)):
            if value is not None and not 0 < value < 65536:
                raise ServeError(f"invalid {name} {value}")
        if self.tensor_parallel_size < 1:
            raise ServeError("--tensor-parallel-size must be at least 1")
        if self.max_loras < 2:
            raise ServeError("--max-loras must be at least 2 (a promote serves the old and the new adapter)")
        names = [spec.name for spec in self.adapters]
        if len(set(names)) != len(names):
            raise ServeError(f"an adapter name is given twice: {', '.join(names)}")
        if self.alias in names:
            raise ServeError(f"an adapter may not be called {self.alias!r}: that is the alias clients use")
        if self.alias_target is not None and self.alias_target not in names:
            raise ServeError(f"--alias-target {self.alias_target!r} is not one of the adapters ({', '.join(names)})")
        if self.device not in ("auto", "cuda", "cpu"):
            raise ServeError(f"--device must be auto, cuda or cpu, not {self.device!r}")

    @property
    def first_target(self) -> str | None:
        """The adapter the alias serves at start (None: the base model)."""
        if self.alias_target is not None:
            return self.alias_target
        return self.adapters[0].name if self.adapters else None


def lora_rank_for(ranks: list[int]) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts that holds every rank (at least 16)."""
    need = max([16, *ranks])
    for allowed in VLLM_LORA_RANKS:
        if allowed >= need:
            return allowed
    raise ServeError(f"LoRA rank {need} is larger than vLLM supports ({VLLM_LORA_RANKS[-1]})")
