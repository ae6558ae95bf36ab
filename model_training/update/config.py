"""The update loop's configuration: one YAML file, strict keys, every section optional.

Why a file of its own rather than flags: the loop joins five tools (scraper, overlay, data
builder, trainer, evaluation harness, server), and a scheduled run (``--watch`` from cron or CI)
must do the same thing every time. The resolved configuration is copied into the run folder
when a run starts, so a resumed run finishes with the settings it began with even when the
file changed in between.

Keys are checked as the training configs' are (:func:`model_training.train.config.build_dataclass`):
a misspelt key is an error naming the closest match, never a silently ignored setting (an
ignored ``standing_tolerance`` would promote a worse adapter).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_training.train.config import ConfigError, build_dataclass, read_yaml

#: The steps of a run, in order; each writes ``<run>/<NN>-<step>/`` and a ``DONE`` marker there.
STEPS = ("scrape", "review", "findings", "mine", "train", "evaluate", "register", "promote")
METHODS = ("grpo", "dapo")


@dataclass
class ScrapeSettings:
    """Where releases come from and which scraped entries are kept (``recode-kb scrape``'s options)."""

    #: A folder of releases (``name-version/`` trees, wheels or sdists): offline. None: pip (the index).
    dist: str | None = None
    #: Where fetched releases are kept (None: the cache hover and ``recode-kb`` share).
    cache_dir: str | None = None
    #: Entries below this confidence are left out before review.
    min_confidence: float = 0.0
    #: Id prefix of the entries (None: the library's facts file's, else its name in capitals).
    id_prefix: str | None = None
    #: Seconds for downloading one release.
    timeout: float = 600.0


@dataclass
class MineSettings:
    """The data builder's options (:func:`model_training.data.build.build`) for the new changes."""

    #: Folder of real code (``<name>-<version>/`` sources) that uses the old API.
    corpus: str = "bench/.corpus"
    #: Existing ReCode-format files: a mined entry whose normalised old code is in one is dropped.
    existing: list[str] = field(default_factory=list)
    max_lines: int = 80
    max_per_change: int = 0
    max_per_family: int = 0
    #: Scraped changes are mostly mechanical renames: keep them all by default (the builder's 0.3 would drop them).
    max_mechanical_share: float = 1.0
    #: Fail the step when fewer training entries than this are left.
    min_entries: int = 1
    #: An OpenAI-compatible endpoint that writes targets for display-only changes (optional).
    teacher_endpoint: str | None = None
    teacher_model: str = "teacher"
    jobs: int = 1
    seed: int = 0


@dataclass
class TrainSettings:
    """Which trainer continues from the promoted adapter, with which run configuration."""

    #: ``grpo`` or ``dapo``.
    method: str = "grpo"
    #: A ``recode-train grpo|dapo`` YAML (e.g. ``model_training/configs/grpo_qwen7b_1gpu.yaml``).
    config: str = "model_training/configs/grpo_tiny_cpu.yaml"
    #: ``--set`` overrides applied after the file (``trainer.max_steps=2``).
    overrides: list[str] = field(default_factory=list)
    #: The base model (None: the training config's ``model.name_or_path``).
    base_model: str | None = None
    #: Run the training in child processes under this launcher (``[accelerate, launch, --config_file,
    #: FILE]`` for several GPUs); empty: in this process (one GPU, or CPU).
    launcher: list[str] = field(default_factory=list)


@dataclass
class EvalSettings:
    """Both adapters are scored on the same tasks with the same seeds and decoding."""

    #: A CODEMENV-format folder (``easy_code.jsonl``, ``hard_code.jsonl``): the standing set. None: none.
    standing_set: str | None = None
    standing_splits: list[str] = field(default_factory=lambda: ["easy"])
    standing_packages: list[str] | None = None
    standing_limit_per_package: int | None = None
    #: Samples per task (pass@1 over them); seeds are the harness's, per task and sample.
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    #: Wall-clock seconds per program of the standing set.
    timeout: float = 60.0
    jobs: int = 1
    #: The harness's environment cache (None: ``$RECODE_EVAL_CACHE`` or ``~/.cache/recode/eval-envs``).
    env_cache: str | None = None
    approximate_python: bool = False
    #: Held-out records of the new changes scored at most (greedy decoding).
    heldout_max: int = 64
    heldout_max_new_tokens: int = 512


@dataclass
class DecisionSettings:
    """When the new adapter goes live.

    Promote only when ``new[standing] >= current[standing] - standing_tolerance`` and
    ``new[new_changes] > current[new_changes] + new_changes_margin``.
    """

    #: ``pass@1`` of the standing set.
    standing_metric: str = "pass@1"
    #: A key of :class:`model_training.train.evaluate.EvalScores`: ``reward``, ``old_api_gone``, ``format_ok``, ...
    new_changes_metric: str = "reward"
    standing_tolerance: float = 0.0
    new_changes_margin: float = 0.0


@dataclass
class ServeSettings:
    """The registry the adapter is registered in and the server it may be promoted into."""

    alias: str = "recode"
    #: The adapter registry (None: ``$RECODE_ADAPTER_REGISTRY`` or ``~/.cache/recode/adapters``).
    registry: str | None = None
    #: The server's state folder (None: ``$RECODE_SERVE_STATE`` or ``~/.cache/recode/serve``).
    state_dir: str | None = None
    #: Registry name of the new adapter; ``{library}``, ``{old}``, ``{new}``, ``{stamp}`` are filled in.
    adapter_name: str = "{library}-{new}-{stamp}"
    drain_timeout: float = 300.0
    #: False: register and decide, but never promote (a person promotes with ``recode-serve``).
    promote: bool = True


@dataclass
class FindingsSettings:
    """What the scraped entries give ``recode-migrate`` at once, before any training."""

    #: A folder of the user's code (None: the mining corpus).
    corpus: str | None = None


@dataclass
class UpdateConfig:
    """One ``recode-train update`` configuration (see ``docs/update-loop.md``)."""

    #: The knowledge-base overlay accepted entries are merged into (name it in ``[tool.recode] extra-changes``).
    overlay: str = "kb/overlay.jsonl"
    #: Stop after scraping until a person approves (``recode-train update --approve RUN``).
    review: bool = False
    #: Where run folders go (``<runs_dir>/<library>-<old>-<new>``) unless ``--run-dir`` names one.
    runs_dir: str = "runs/update"
    #: Stop after this step (``findings``, ``mine``, ...): a data-only refresh. None: the whole loop.
    stop_after: str | None = None
    scrape: ScrapeSettings = field(default_factory=ScrapeSettings)
    mine: MineSettings = field(default_factory=MineSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    decision: DecisionSettings = field(default_factory=DecisionSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    findings: FindingsSettings = field(default_factory=FindingsSettings)

    def validate(self, where: str) -> None:
        """Checks that would otherwise fail hours into a run."""
        if self.train.method not in METHODS:
            raise ConfigError(f"{where} train.method: {self.train.method!r} is not one of {', '.join(METHODS)}")
        if self.stop_after is not None and self.stop_after not in STEPS:
            raise ConfigError(f"{where} stop_after: {self.stop_after!r} is not one of {', '.join(STEPS)}")
        if self.eval.samples < 1:
            raise ConfigError(f"{where} eval.samples: must be at least 1")


def load_update_config(path: str | Path | None = None) -> UpdateConfig:
    """The configuration in ``path`` (None: the defaults); unknown keys are errors."""
    where = f"{path}:" if path is not None else "UpdateConfig:"
    data: dict[str, Any] = read_yaml(path) if path is not None else {}
    config = build_dataclass(UpdateConfig, data, where)
    config.validate(where)
    return config


def config_from_dict(data: dict[str, Any], where: str = "run.json:") -> UpdateConfig:
    """The configuration a run folder recorded (:func:`to_dict`'s output)."""
    config = build_dataclass(UpdateConfig, data, where)
    config.validate(where)
    return config


def to_dict(config: UpdateConfig) -> dict[str, Any]:
    """Plain JSON-able data (recorded in ``run.json``)."""
    return dataclasses.asdict(config)
