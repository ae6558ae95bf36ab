"""Training: GRPO, DAPO and SFT through TRL with a PEFT adapter (``recode-train``).

Each method has a ``*RunConfig`` dataclass beside its script (:mod:`.grpo`, :mod:`.dapo`,
:mod:`.sft`), loaded from YAML by :func:`.config.load_run_config`. Importing this package
imports neither torch nor TRL; the run functions do.
"""

from model_training.train.config import ConfigError, load_run_config

__all__ = ["ConfigError", "load_run_config"]
