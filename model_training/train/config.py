"""Run configurations: the sections every method shares, and a YAML loader with strict keys.

A run is described by one ``*RunConfig`` dataclass per method (``GRPORunConfig`` beside
``grpo.py``, ``DAPORunConfig`` beside ``dapo.py``, ``SFTRunConfig`` beside ``sft.py``). Each has
the same sections: ``model``, ``peft``, ``data``, ``output_dir``/``adapter_name``, and
``trainer``, a mapping of keyword arguments for TRL's own config class (``GRPOConfig`` or
``SFTConfig``). The method's defaults for ``trainer`` (the paper's hyper-parameters) live in
code; a YAML file's ``trainer`` mapping is merged *over* them key by key, so a config file
names only what it changes.

Keys are strict: a misspelt key is an error naming the section, the key, the keys that exist
and the closest match, never a silently ignored setting (an ignored ``beta`` or
``learning_rate`` wastes a GPU-day). ``trainer`` keys are checked against the fields of the TRL
config class.

YAML reads ``5e-5`` as a *string* (YAML 1.1 wants ``5.0e-5``), so values are coerced to the
type of the field (or, for ``trainer`` keys, to the type of TRL's default) where that is
unambiguous.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

#: The projections a LoRA/DoRA adapter trains: attention and MLP of every Qwen2/Llama block.
#: vLLM serves LoRA on exactly these (it packs q/k/v and gate/up itself).
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

#: The base model of the paper's main runs; configuration, never hard-coded elsewhere.
DEFAULT_BASE_MODEL = "Qwen/Qwen2.5-Coder-7B-Instruct"


class ConfigError(ValueError):
    """A run configuration is malformed: unknown key, wrong type, unreadable file."""


@dataclass
class ModelSettings:
    """Which model to train and how to load it."""

    #: A hub id or a local folder (``config.json`` + weights + tokenizer).
    name_or_path: str = DEFAULT_BASE_MODEL
    #: Weight dtype when loading: ``bfloat16`` on GPUs; ``float32`` on CPU; ``auto`` keeps the checkpoint's.
    dtype: str = "bfloat16"
    #: ``flash_attention_2``, ``sdpa`` or None (transformers picks).
    attn_implementation: str | None = None
    trust_remote_code: bool = False


@dataclass
class PeftSettings:
    """The adapter. The paper trains DoRA r=64, alpha=64 on a 7B model."""

    #: False trains every weight (used by the toy benchmark's SFT warm start, not by the paper).
    enabled: bool = True
    r: int = 64
    alpha: int = 64
    dropout: float = 0.05
    #: DoRA (weight-decomposed LoRA). vLLM 0.32 cannot serve DoRA adapters: merge them first
    #: (``recode-train merge``) or train plain LoRA (``use_dora: false``).
    use_dora: bool = True
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGET_MODULES))


@dataclass
class DataSettings:
    """The ReCode-format JSONL files and how much of them to use."""

    #: Training file in the ReCode format (``recode-train-data.jsonl`` or ``data/built/train.jsonl``).
    train_file: str = "data/built/train.jsonl"
    #: Optional held-out file, scored after training (greedy decoding) into ``scores``.
    eval_file: str | None = None
    #: Use only the first N training records (None: all).
    max_train_samples: int | None = None
    #: Score at most N evaluation records after training (0 turns the evaluation off).
    max_eval_samples: int = 0
    #: Prompts longer than this (in tokens) are dropped: TRL 1.16 no longer truncates prompts,
    #: and a truncated prompt would lose the prefilled assistant turn at its end.
    max_prompt_length: int = 2048
    #: Shuffle the records (before ``max_train_samples``) with this seed; None keeps file order.
    shuffle_seed: int | None = None
    #: Prompt wording (``recode_lsp.prompt.TEMPLATES``): ``recode`` (ours) or ``paper`` (the ReCode
    #: paper's, verbatim, to reproduce it). Serve the adapter with the same one.
    prompt_template: str = "recode"


T = TypeVar("T")


@dataclass
class RunConfigBase:
    """The sections every method's ``*RunConfig`` has; each adds its own and its TRL defaults."""

    model: ModelSettings = field(default_factory=ModelSettings)
    peft: PeftSettings = field(default_factory=PeftSettings)
    data: DataSettings = field(default_factory=DataSettings)
    output_dir: str = "runs/run"
    #: The adapter's name in the registry (default: the last part of ``output_dir``).
    adapter_name: str | None = None
    #: Greedy completion length for the optional evaluation after training.
    eval_max_new_tokens: int = 1024
    #: Keyword arguments of the method's TRL config class, merged over the method's defaults.
    trainer: dict[str, Any] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        """Checks TRL would only make at the first step, or not at all."""
        if "output_dir" in self.trainer:
            raise ConfigError(f"{where} trainer.output_dir: set the top-level output_dir instead")
        from recode_lsp.prompt import TEMPLATES

        if self.data.prompt_template not in TEMPLATES:
            raise ConfigError(
                f"{where} data.prompt_template: {self.data.prompt_template!r} is not one of {', '.join(TEMPLATES)}"
            )


def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (tp, False)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _at(where: str, key: str) -> str:
    """``"run.yaml:"`` + ``peft`` -> ``"run.yaml: peft"``; ``"run.yaml: peft"`` + ``r`` -> ``"run.yaml: peft.r"``."""
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def _unknown_key(where: str, key: str, known: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(sorted(known)) if len(known) <= 40 else f"{len(known)} keys (see the TRL config class)"
    return ConfigError(f"{where.rstrip(':')}: unknown key {key!r}{hint} (known: {shown})")


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp``, converting strings and ints where unambiguous.

    Args:
        value: The value read from YAML or ``--set``.
        tp: The field's type annotation.
        where: ``file: section.key``, for error messages.

    Returns:
        The value, converted.

    Raises:
        ConfigError: The value cannot be the field's type.

    >>> coerce("5e-5", float, "x")
    5e-05
    >>> coerce("none", int | None, "x") is None
    True
    """
    inner, optional = _unwrap_optional(tp)
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("none", "null", "~")):
        if optional or tp is Any:
            return None
        raise ConfigError(f"{where}: may not be null")
    if tp is Any:
        return value
    if inner is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if inner is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if inner is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if inner is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    origin = typing.get_origin(inner)
    if origin is list:
        (item_type,) = typing.get_args(inner) or (Any,)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [coerce(item, item_type, f"{where}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    return value


def coerce_like(value: Any, default: Any, where: str) -> Any:
    """Coerce a ``trainer`` value to the type of TRL's default for that key (when it has a plain one)."""
    if isinstance(default, bool):
        return coerce(value, bool | None, where)
    if isinstance(default, int) and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return coerce(value, float | None, where)
    if isinstance(default, float):
        return coerce(value, float | None, where)
    if isinstance(value, str):  # a field whose default is None or a string: read numbers and booleans
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered in ("none", "null"):
            return None
        for convert in (int, float):
            try:
                return convert(value)
            except ValueError:
                continue
    return value


def build_dataclass(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    """Build ``cls`` from a mapping, recursing into dataclass-typed fields; unknown keys are errors."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where.rstrip(':')}: expected a mapping, got {type(data).__name__}")
    hints = _type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise _unknown_key(where, str(key), names)
        tp = hints[key]
        if _is_dataclass_type(tp):
            kwargs[key] = build_dataclass(tp, value or {}, _at(where, key))
        elif key == "trainer":
            kwargs[key] = value
        else:
            kwargs[key] = coerce(value, tp, _at(where, key))
    return cls(**kwargs)


def merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into a copy of ``base`` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"trainer.learning_rate=1e-5"`` -> (["trainer", "learning_rate"], value read as YAML).

    >>> parse_override("peft.r=16")
    (['peft', 'r'], 16)
    """
    import yaml

    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE (e.g. trainer.max_steps=10)")
    key, raw = text.split("=", 1)
    path = [part for part in key.strip().split(".") if part]
    if not path:
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file (an empty file is an empty mapping)."""
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping, got {type(data).__name__}")
    return data


def check_trainer_keys(trainer: Mapping[str, Any], trl_class: type, where: str) -> dict[str, Any]:
    """Check ``trainer`` keys against the TRL config class's fields and coerce their values."""
    fields = {f.name: f for f in dataclasses.fields(trl_class)}
    out: dict[str, Any] = {}
    for key, value in trainer.items():
        if key not in fields:
            raise _unknown_key(_at(where, "trainer"), str(key), list(fields))
        f = fields[key]
        default = f.default if f.default is not dataclasses.MISSING else None
        out[key] = coerce_like(value, default, _at(where, f"trainer.{key}"))
    return out


def load_run_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> T:
    """Load a ``*RunConfig`` from YAML plus ``--set key=value`` overrides.

    The YAML's ``trainer`` mapping (and any ``trainer.*`` override) is merged over
    ``cls``'s default ``trainer`` mapping; every other key replaces the default. Every key is
    checked, including ``trainer`` keys (against ``cls.trl_config_class()``).

    Args:
        cls: The run config class (it must define ``trl_config_class``).
        path: A YAML file, or None for the defaults alone.
        overrides: ``section.key=value`` strings, applied after the file.

    Returns:
        The run configuration.

    Raises:
        ConfigError: Unknown key, bad value, unreadable file.
    """
    where = f"{path}:" if path is not None else f"{cls.__name__}:"
    data: dict[str, Any] = read_yaml(path) if path is not None else {}
    for text in overrides:
        keys, value = parse_override(text)
        update: Any = value
        for key in reversed(keys):
            update = {key: update}
        data = merge(data, update)
    defaults = cls()
    trainer_defaults = dict(getattr(defaults, "trainer", {}))
    if "trainer" in data:
        if not isinstance(data["trainer"], Mapping):
            raise ConfigError(f"{_at(where, 'trainer')}: expected a mapping")
        data["trainer"] = merge(trainer_defaults, data["trainer"])
    config = build_dataclass(cls, data, where)
    trl_class = cls.trl_config_class()  # type: ignore[attr-defined]
    config.trainer = check_trainer_keys(config.trainer, trl_class, where)  # type: ignore[attr-defined]
    validate = getattr(config, "validate", None)
    if validate is not None:
        validate(where)
    return config


def to_dict(config: Any) -> dict[str, Any]:
    """The configuration as plain JSON-able data (recorded in ``recode_adapter.json``)."""
    return dataclasses.asdict(config)
