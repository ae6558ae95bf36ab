"""Local transformers as the ``model`` of the model systems (``--model local:PATH``): no server.

It stands in for :class:`recode_lsp.model_client.ModelClient` (``complete``, ``complete_sync``,
``state``, ``aclose``), so the model systems and the CLI's validation path use it unchanged. The
prompt is rendered as in training (:func:`model_training.train.common.render_prompt`: the prefilled
assistant turn left open) and the answer is the prefix plus the continuation, as the served model's.
One model is loaded per run and shared by the worker threads (one generation at a time); each thread
has its own client, so each sample's seed is its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PREFIX = "local:"


class LocalModel:
    """A causal LM and its tokenizer from a folder (or a hub id), on CPU unless CUDA is there."""

    def __init__(self, path: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = path
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        # A LoRA adapter folder (what recode-train writes) loads its base model through PEFT.
        model: Any = (
            self._with_adapter(path)
            if (Path(path) / "adapter_config.json").is_file()
            else AutoModelForCausalLM.from_pretrained(path)
        )
        self.model: Any = model.to(self.device).eval()
        self._lock = threading.Lock()

    @staticmethod
    def _with_adapter(path: str) -> Any:
        from peft import AutoPeftModelForCausalLM

        return AutoPeftModelForCausalLM.from_pretrained(path)

    def generate(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float, top_p: float, seed: int
    ) -> str:
        import torch

        from model_training.train.common import render_prompt

        prompt = render_prompt(self.tokenizer, messages)
        batch = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.device)
        sample = temperature > 0
        with self._lock, torch.no_grad():
            torch.manual_seed(seed)
            generated = self.model.generate(
                **batch,
                max_new_tokens=max_tokens,
                do_sample=sample,
                temperature=temperature if sample else None,
                top_p=top_p if sample else None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        text = str(self.tokenizer.decode(generated[0, batch["input_ids"].shape[1] :], skip_special_tokens=True))
        prefix = messages[-1]["content"] if messages and messages[-1].get("role") == "assistant" else ""
        return prefix + text


class LocalClient:
    """The :class:`~recode_lsp.model_client.ModelClient` interface over a :class:`LocalModel`."""

    state = "closed"  # never an outage: a failure of the model is an error of that sample

    def __init__(self, model: LocalModel, temperature: float, top_p: float) -> None:
        self.endpoint = PREFIX + model.path
        self.local = model
        self.temperature = temperature
        self.top_p = top_p
        self.seed: int | None = None
        self.outages = 0

    def complete_sync(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int = 1024, temperature: float = 0.0
    ) -> str:
        # The run's sampling, whatever the caller asks (the CLI's model fixes ask with 0), as SamplingClient.
        return self.local.generate(
            messages, max_tokens=max_tokens, temperature=self.temperature, top_p=self.top_p, seed=self.seed or 0
        )

    async def complete(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int = 1024, temperature: float = 0.0
    ) -> str:
        return await asyncio.to_thread(self.complete_sync, messages, max_tokens=max_tokens, temperature=temperature)

    async def aclose(self) -> None:
        return None
