"""Merge a trained adapter into its base model, for servers that cannot load the adapter.

vLLM 0.32 refuses DoRA adapters ("vLLM does not yet support DoRA"), and the paper's runs
train DoRA. ``recode-train merge --adapter runs/grpo/adapter --out runs/grpo/merged`` writes a
full checkpoint (base weights with the adapter folded in, plus the tokenizer) that
``vllm serve runs/grpo/merged`` loads as a plain model. The adapter's metadata is copied to
``recode_merged_from.json``. A LoRA adapter (``peft.use_dora: false``) needs no merge: vLLM
serves it beside the base model and can swap it at run time.
"""

from __future__ import annotations

import json
from pathlib import Path

from model_training.train.common import ADAPTER_METADATA


def merge_adapter(
    adapter: str | Path, out: str | Path, base_model: str | None = None, dtype: str = "bfloat16"
) -> Path:
    """Fold ``adapter`` into its base model and save the result to ``out``; returns ``out``.

    Args:
        adapter: A folder with the PEFT files (and ``recode_adapter.json``, which names the base model).
        out: Where to write the merged model.
        base_model: The base model; default: ``base_model`` from the adapter's metadata.
        dtype: Weight dtype of the merged model.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(adapter)
    metadata_file = folder / ADAPTER_METADATA
    metadata = json.loads(metadata_file.read_text(encoding="utf-8")) if metadata_file.is_file() else {}
    base = base_model or metadata.get("base_model")
    if not base:
        raise ValueError(f"{folder}: no {ADAPTER_METADATA} naming the base model; pass --base-model")
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    merged = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    target = Path(out)
    merged.save_pretrained(target)
    tokenizer_source = folder if (folder / "tokenizer_config.json").is_file() else base
    AutoTokenizer.from_pretrained(tokenizer_source).save_pretrained(target)
    if metadata:
        (target / "recode_merged_from.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return target
