"""What GRPO, DAPO and SFT runs share: datasets, the adapter, logging, and the saved output.

Prompts are rendered to text here, not by the trainer. ReCode prefills the assistant turn
(:data:`recode_lsp.prompt.ASSISTANT_PREFIX`), and TRL 1.16's ``GRPOTrainer`` renders
conversational prompts with ``add_generation_prompt=True`` and no ``continue_final_message``
(``GRPOTrainer._tokenize_prompts``): it would close the prefilled turn with ``<|im_end|>`` and
open a new, empty assistant turn. Rendering with ``continue_final_message=True`` (what TRL's
own ``trl.data_utils.apply_chat_template`` does for a prompt ending in an assistant message)
and passing text keeps the turn open; the text path also feeds vLLM the same token ids.

The output of a run is the folder the serving adapter registry takes: the PEFT files
(``adapter_config.json``, ``adapter_model.safetensors``) plus ``recode_adapter.json`` with
exactly the keys ``name``, ``base_model``, ``data_hash``, ``scores``, ``created``, ``config``,
``reward_curve``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from model_training.data.recode_data import ReCodeRecord, load_recode_jsonl, to_prompt_record
from model_training.train.config import DataSettings, ModelSettings, PeftSettings, to_dict
from recode_lsp.prompt import ASSISTANT_PREFIX

if TYPE_CHECKING:
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import PreTrainedTokenizerBase, Trainer, TrainerControl, TrainerState, TrainingArguments

#: The metadata file beside the PEFT files; the serving registry reads it.
ADAPTER_METADATA = "recode_adapter.json"
#: The keys of :data:`ADAPTER_METADATA`, all always present.
ADAPTER_METADATA_KEYS = ("name", "base_model", "data_hash", "scores", "created", "config", "reward_curve")
#: Training log, one JSON object per logging step.
TRAIN_LOG = "train_log.jsonl"
#: The sub-folder of ``output_dir`` that holds the final adapter (checkpoints stay beside it).
ADAPTER_DIR = "adapter"


# --------------------------------------------------------------------------- data


def sha256_file(path: str | Path) -> str:
    """``sha256:<hex>`` of a file's bytes: the ``data_hash`` of an adapter."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def load_records(settings: DataSettings) -> list[ReCodeRecord]:
    """The training records: the file, optionally shuffled and cut to ``max_train_samples``."""
    records = load_recode_jsonl(settings.train_file)
    if settings.shuffle_seed is not None:
        random.Random(settings.shuffle_seed).shuffle(records)
    if settings.max_train_samples is not None:
        records = records[: settings.max_train_samples]
    if not records:
        raise ValueError(f"{settings.train_file}: no training records")
    return records


def render_prompt(tokenizer: PreTrainedTokenizerBase, messages: Sequence[Mapping[str, str]]) -> str:
    """The prompt text the model continues.

    A conversation that ends with an assistant message (ReCode's prefilled turn) is rendered
    with ``continue_final_message=True``: the text ends with the prefix, the turn left open.
    One that ends with a user message gets the generation prompt instead.
    """
    last = messages[-1]["role"]
    rendered = tokenizer.apply_chat_template(
        [dict(message) for message in messages],
        tokenize=False,
        add_generation_prompt=last != "assistant",
        continue_final_message=last == "assistant",
    )
    return str(rendered)


def prompt_rows(
    records: Sequence[ReCodeRecord],
    tokenizer: PreTrainedTokenizerBase,
    max_prompt_length: int | None = None,
    template: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """GRPO/DAPO rows: ``prompt`` (rendered text) and the reward columns; plus how many were too long.

    Each row keeps :func:`~model_training.data.recode_data.to_prompt_record`'s columns
    (``new_code``, ``old_code``, ``library``, ``version``, ``change_id``; a missing change id
    becomes ``""`` so the column has one type) with the conversation replaced by its text.
    """
    rows: list[dict[str, Any]] = []
    dropped = 0
    for record in records:
        row = to_prompt_record(record, template)
        text = render_prompt(tokenizer, row["prompt"])
        if max_prompt_length is not None and len(tokenizer(text)["input_ids"]) > max_prompt_length:
            dropped += 1
            continue
        row["prompt"] = text
        row["change_id"] = row["change_id"] or ""
        rows.append(row)
    return rows, dropped


def sft_completion(record: ReCodeRecord) -> str:
    """The SFT target: what the model should write after the prefill, in the answer format.

    A short think (the update's one-line description) and the new code in
    ``<answer>```python ...```</answer>``. It starts with a space so that tokenizing
    prompt + completion splits at the same place as the prompt alone ("<think>" then " ...").
    """
    think = " ".join(record.description.split()) or "Apply the API update described above to the old code."
    code = record.new_code.strip("\n")
    return f" {think} </think>\n<answer>\n```python\n{code}\n```\n</answer>"


def sft_rows(
    records: Sequence[ReCodeRecord],
    tokenizer: PreTrainedTokenizerBase,
    max_prompt_length: int | None = None,
    template: str | None = None,
) -> tuple[list[dict[str, str]], int]:
    """SFT rows (``prompt`` text, ``completion`` text; TRL appends the EOS token); plus how many were too long."""
    rows: list[dict[str, str]] = []
    dropped = 0
    for record in records:
        text = render_prompt(tokenizer, to_prompt_record(record, template)["prompt"])
        if max_prompt_length is not None and len(tokenizer(text)["input_ids"]) > max_prompt_length:
            dropped += 1
            continue
        rows.append({"prompt": text, "completion": sft_completion(record)})
    return rows, dropped


def to_dataset(rows: Sequence[Mapping[str, Any]]) -> Dataset:
    """A ``datasets.Dataset`` from rows (all rows have the same keys)."""
    from datasets import Dataset

    if not rows:
        raise ValueError("no rows left for training (all prompts longer than data.max_prompt_length?)")
    return Dataset.from_list([dict(row) for row in rows])


# --------------------------------------------------------------------------- model


def load_tokenizer(settings: ModelSettings) -> PreTrainedTokenizerBase:
    """The base model's tokenizer, which must have a chat template."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(settings.name_or_path, trust_remote_code=settings.trust_remote_code)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"{settings.name_or_path}: the tokenizer has no chat template; ReCode prompts are chats")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def model_init_kwargs(settings: ModelSettings) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained`` (TRL's ``model_init_kwargs``)."""
    kwargs: dict[str, Any] = {"dtype": settings.dtype}
    if settings.attn_implementation:
        kwargs["attn_implementation"] = settings.attn_implementation
    if settings.trust_remote_code:
        kwargs["trust_remote_code"] = True
    return kwargs


def peft_config(settings: PeftSettings) -> LoraConfig | None:
    """The LoRA/DoRA configuration, or None for full fine-tuning."""
    if not settings.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        use_dora=settings.use_dora,
        target_modules=list(settings.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )


def default_report_to() -> list[str]:
    """TensorBoard when it is installed; the JSON-lines log is always written."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return []
    return ["tensorboard"]


def training_kwargs(trainer: Mapping[str, Any], output_dir: str, model: ModelSettings) -> dict[str, Any]:
    """The TRL config keyword arguments: the run's ``trainer`` mapping plus output, logging and model loading."""
    kwargs = dict(trainer)
    kwargs["output_dir"] = output_dir
    kwargs.setdefault("report_to", default_report_to())
    kwargs.setdefault("model_init_kwargs", model_init_kwargs(model))
    return kwargs


# --------------------------------------------------------------------------- logging


class JsonlLogCallback(TrainerCallback):
    """Appends every log record to ``train_log.jsonl`` and keeps the reward curve.

    The reward curve is ``[[step, mean reward], ...]`` from the ``reward`` entries GRPOTrainer
    logs (the sum of the reward functions, before group normalisation); SFT logs no reward,
    so its curve stays empty.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.reward_curve: list[list[float]] = []
        self.records: list[dict[str, Any]] = []
        self._start = time.monotonic()

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not logs or not state.is_world_process_zero:
            return
        record = {"step": state.global_step, "elapsed_s": round(time.monotonic() - self._start, 3)}
        record.update({k: v for k, v in logs.items() if _jsonable(v)})
        self.records.append(record)
        if isinstance(logs.get("reward"), (int, float)) and math.isfinite(logs["reward"]):
            self.reward_curve.append([state.global_step, float(logs["reward"])])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


class TimeBudgetCallback(TrainerCallback):
    """Stops training after ``seconds`` of wall-clock time (checked at the end of each step).

    For time-boxed runs (the toy benchmark): ``max_steps`` bounds work, this bounds time.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._start: float | None = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self._start = time.monotonic()

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._start is not None and time.monotonic() - self._start >= self.seconds:
            control.should_training_stop = True


def _jsonable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (int, str, bool)) or value is None


# --------------------------------------------------------------------------- output


def write_adapter_metadata(
    folder: str | Path,
    *,
    name: str,
    base_model: str,
    data_hash: str,
    config: Mapping[str, Any],
    reward_curve: Sequence[Sequence[float]] = (),
    scores: Mapping[str, Any] | None = None,
    created: str | None = None,
) -> Path:
    """Write ``recode_adapter.json`` (the registry's metadata) into ``folder``; returns its path."""
    metadata = {
        "name": name,
        "base_model": base_model,
        "data_hash": data_hash,
        "scores": dict(scores or {}),
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": dict(config),
        "reward_curve": [list(point) for point in reward_curve],
    }
    path = Path(folder) / ADAPTER_METADATA
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metadata, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def save_run(
    trainer: Trainer,
    run_config: Any,
    method: str,
    log: JsonlLogCallback,
    scores: Mapping[str, Any] | None = None,
) -> Path:
    """Save the final adapter into ``<output_dir>/adapter`` with its metadata; returns the folder.

    ``trainer.save_model`` gathers the weights under DeepSpeed ZeRO-3 or FSDP and writes only
    the PEFT files when the model is a PEFT model. Only the main process writes the metadata.
    """
    folder = Path(run_config.output_dir) / ADAPTER_DIR
    trainer.save_model(str(folder))
    if trainer.is_world_process_zero():
        config = to_dict(run_config)
        config["method"] = method
        write_adapter_metadata(
            folder,
            name=run_config.adapter_name or Path(run_config.output_dir).name,
            base_model=run_config.model.name_or_path,
            data_hash=sha256_file(run_config.data.train_file),
            config=config,
            reward_curve=log.reward_curve,
            scores=scores,
        )
    return folder


def reward_functions(name: str) -> list[Callable[..., list[float | None]]]:
    """The GRPO/DAPO reward functions by name; TRL sums them (weights 1) and logs each.

    ``recode``: format + ES*, the paper's reward, given as two functions so the logs show
    both. ``edit_aware``: format + :func:`~model_training.rewards.make_edit_aware_reward`.
    """
    from model_training.rewards import es_star_reward, format_reward, make_edit_aware_reward

    if name == "recode":
        return [format_reward, es_star_reward]
    if name == "edit_aware":
        return [format_reward, make_edit_aware_reward()]
    raise ValueError(f"unknown reward {name!r}: use 'recode' (format + ES*) or 'edit_aware'")


#: The rewards a run config may name.
REWARD_NAMES = ("recode", "edit_aware")

__all__ = [
    "ADAPTER_METADATA",
    "ADAPTER_METADATA_KEYS",
    "ASSISTANT_PREFIX",
    "JsonlLogCallback",
    "load_records",
    "prompt_rows",
    "render_prompt",
    "save_run",
    "sft_rows",
    "write_adapter_metadata",
]
