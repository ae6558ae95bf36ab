"""A tiny random Qwen2 with a tokenizer trained here: the model tests and toy runs use.

No model hub is reachable from CI, so every test that needs a causal language model builds
this one: a byte-level BPE tokenizer trained on ReCode's own prompt text and knowledge base
(so prompts tokenise into few tokens), a Qwen2 architecture with random weights, and the
ChatML template Qwen2.5 uses. It has the shape real checkpoints have on disk
(``config.json``, ``model.safetensors``, ``tokenizer.json``, ``tokenizer_config.json``,
``generation_config.json``), so the same code paths load it and a 7B model: transformers,
TRL, PEFT and vLLM.

Sizes matter for vLLM on CPU: its attention kernels reject a head dimension of 16; 64 works
(hidden 128 with 2 heads).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from recode_lsp.engine.knowledge import load_knowledge_base
from recode_lsp.prompt import ASSISTANT_PREFIX, SYSTEM_PROMPT, build_messages

#: Qwen2.5's special tokens. ``<|im_end|>`` ends a turn and is the end-of-sequence token.
PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)
#: ReCode's answer tags: one token each, but *not* special. Decoding with
#: ``skip_special_tokens=True`` (what TRL's GRPOTrainer does to completions) must keep them, or
#: every completion loses its ``</think>``/``<answer>`` and scores the format penalty; in
#: Qwen2.5's own tokenizer they are plain text too.
TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")

#: ChatML as Qwen2.5 renders it (without the tool-call branches). transformers implements
#: ``continue_final_message`` by cutting the rendered text after the last message's content,
#: which leaves the prefilled assistant turn open for the model to continue.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class TinyModelSpec:
    """The architecture of the tiny model (defaults: ~1M parameters, head_dim 64)."""

    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 2
    vocab_size: int = 2048
    max_position_embeddings: int = 4096
    seed: int = 0


def tokenizer_corpus(extra: Iterable[str] = ()) -> Iterator[str]:
    """Texts the tokenizer learns from: the prompt, the knowledge base and ``extra``."""
    yield SYSTEM_PROMPT
    yield ASSISTANT_PREFIX
    kb = load_knowledge_base()
    for change in kb.changes:
        old = change.old
        new = change.new or ""
        note = change.note or ""
        yield f"{old} {new} {note}"
        yield f"import {change.library}\nvalue = {old}(data)\nresult = {new}(data)\n"
        messages = build_messages(change.library, str(change.removed_in or change.deprecated_in), note, old)
        yield messages[1]["content"]
    yield from extra


def train_tokenizer(vocab_size: int = 2048, extra_texts: Iterable[str] = ()) -> object:
    """A byte-level BPE tokenizer (a ``PreTrainedTokenizerFast``) trained on ReCode's own text."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(tokenizer_corpus(extra_texts), trainer=trainer)
    tokenizer.add_tokens([AddedToken(tag, special=False, normalized=False) for tag in TAG_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[IM_START],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_qwen2(
    out: str | Path,
    spec: TinyModelSpec | None = None,
    extra_texts: Sequence[str] = (),
) -> Path:
    """Write a random tiny Qwen2 and its tokenizer to ``out``; returns the folder.

    The folder loads with ``AutoModelForCausalLM.from_pretrained(out)``, as a TRL model id,
    and as a vLLM ``--model``.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    spec = spec or TinyModelSpec()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(spec.vocab_size, extra_texts)
    tokenizer.save_pretrained(folder)  # type: ignore[attr-defined]
    vocab = len(tokenizer)  # type: ignore[arg-type]
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)  # type: ignore[attr-defined]
    pad_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)  # type: ignore[attr-defined]

    config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=pad_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    torch.manual_seed(spec.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=pad_id, eos_token_id=eos_id, pad_token_id=pad_id)
    model.save_pretrained(folder)
    (folder / "recode_tiny_model.json").write_text(json.dumps({"spec": spec.__dict__}, indent=2) + "\n")
    return folder


def make_lora_adapter(
    base: str | Path,
    out: str | Path,
    *,
    rank: int = 8,
    seed: int = 1,
    scale: float = 0.5,
) -> Path:
    """Write a PEFT LoRA adapter for ``base`` with random (non-zero) weights to ``out``.

    A freshly initialised LoRA has B = 0 and changes nothing; tests that must tell two
    adapters apart need each to change the model's output, so B is drawn at random too.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=rank,
        lora_alpha=rank * 2,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, scale)
    folder = Path(out)
    peft_model.save_pretrained(str(folder))
    return folder
