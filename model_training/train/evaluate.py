"""Score a model on a fixed evaluation set: reward, format-valid share, old-API-gone share.

Used after a training run (``data.eval_file``, results in ``recode_adapter.json``'s
``scores``) and by ``bench/grpo_toy.py`` before and after GRPO. Generation is plain
``transformers`` ``generate`` (greedy by default), so the numbers of two checkpoints are
comparable: same prompts, same decoding, no sampling noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from model_training.rewards import format_score, parses_as_python, recode_reward
from recode_lsp.prompt import extract_code

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from recode_lsp.engine.knowledge import KnowledgeBase

#: ``old_api_gone(prediction, old_code) -> bool``.
OldApiCheck = Callable[[str | None, str], bool]


@dataclass(frozen=True)
class EvalScores:
    """Means over the evaluation set, with the standard error of the reward."""

    n: int
    reward: float
    reward_sem: float
    format_ok: float
    parses: float
    old_api_gone: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def detector_check(kb: KnowledgeBase | None = None) -> OldApiCheck:
    """``old_api_gone`` by the detector: the prediction is non-empty code that parses and keeps none of
    the old code's change ids (an empty ```python block would otherwise count as a successful migration)."""
    from recode_lsp.engine import DetectOptions, SourceError, detect, load_knowledge_base

    state: dict[str, KnowledgeBase] = {} if kb is None else {"kb": kb}

    def ids(code: str) -> frozenset[str]:
        if "kb" not in state:
            state["kb"] = load_knowledge_base()
        try:
            return frozenset(finding.code for finding in detect(code, state["kb"], DetectOptions()))
        except (SourceError, RecursionError, ValueError):
            return frozenset()

    def gone(prediction: str | None, old_code: str) -> bool:
        if prediction is None or not prediction.strip() or not parses_as_python(prediction):
            return False
        return not (ids(old_code) & ids(prediction))

    return gone


def score_completions(
    completions: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    old_api_gone: OldApiCheck | None = None,
) -> EvalScores:
    """Score completions (texts written after the prefill) against their rows (``new_code``, ``old_code``).

    ``reward`` is the paper's format + ES* (:func:`~model_training.rewards.recode_reward`),
    whatever reward the model was trained with, so runs stay comparable.
    """
    if len(completions) != len(rows):
        raise ValueError(f"{len(completions)} completions for {len(rows)} rows")
    n = len(rows)
    if n == 0:
        return EvalScores(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    check = old_api_gone or detector_check()
    rewards = [
        float(r if r is not None else math.nan)
        for r in recode_reward(list(completions), new_code=[row["new_code"] for row in rows])
    ]
    mean = sum(rewards) / n
    variance = sum((r - mean) ** 2 for r in rewards) / (n - 1) if n > 1 else 0.0
    predictions = [extract_code(text) for text in completions]
    return EvalScores(
        n=n,
        reward=mean,
        reward_sem=math.sqrt(variance / n),
        format_ok=sum(format_score(text) > 0 for text in completions) / n,
        parses=sum(p is not None and parses_as_python(p) for p in predictions) / n,
        old_api_gone=sum(check(p, row["old_code"]) for p, row in zip(predictions, rows, strict=True)) / n,
    )


def generate_completions(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    batch_size: int = 16,
    do_sample: bool = False,
    temperature: float = 1.0,
) -> list[str]:
    """Continue rendered prompts (left-padded batches); returns the decoded new text of each."""
    import torch

    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    was_training = model.training
    model.eval()
    out: list[str] = []
    try:
        for start in range(0, len(prompts), batch_size):
            chunk = list(prompts[start : start + batch_size])
            batch = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            with torch.no_grad():
                generated = model.generate(  # type: ignore[operator]
                    **batch,
                    max_new_tokens=max_new_tokens,
                    do_sample=do_sample,
                    temperature=temperature if do_sample else None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=tokenizer.pad_token_id,
                )
            new = generated[:, batch["input_ids"].shape[1] :]
            out.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
    finally:
        tokenizer.padding_side = side
        if was_training:
            model.train()
    return out


def evaluate_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    rows: Sequence[Mapping[str, Any]],
    *,
    max_new_tokens: int,
    batch_size: int = 16,
    old_api_gone: OldApiCheck | None = None,
) -> EvalScores:
    """Greedy completions of ``rows`` (``prompt`` text) scored by :func:`score_completions`."""
    completions = generate_completions(
        model, tokenizer, [row["prompt"] for row in rows], max_new_tokens=max_new_tokens, batch_size=batch_size
    )
    return score_completions(completions, rows, old_api_gone)
