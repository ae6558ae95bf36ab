"""The ReCode method in miniature on CPU: SFT warm start, then GRPO with ES* or the edit-aware reward.

A random tiny model never emits its end-of-turn token and LoRA on it cannot learn the answer
format, so GRPO alone shows nothing. This benchmark therefore runs the whole method as the
paper would on a small scale:

1. Toy rename rules (``toylib.load_table`` -> ``toylib.table_merge``), 40 for training and 8
   held out, in a toy knowledge base; old code from templates, new code by renaming; each
   entry in the ReCode format with the rule in ``update_info``.
2. A tiny Qwen2 (~4M parameters, tokenizer trained on the toy text) fully fine-tuned with
   the SFT trainer for ``--sft-minutes`` (warm start: it learns the answer format).
3. GRPO (LoRA r=16, lr 1e-3, 4 prompts x 8 completions, KL beta 0.001) from that same
   checkpoint twice, same seed and the same number of steps: once with the paper's reward
   (format + ES*), once with format + the edit-aware ES* (:func:`model_training.rewards.make_edit_aware_reward`
   over the toy knowledge base).
4. Greedy evaluation of the SFT checkpoint and both GRPO adapters on a fixed set (default 256
   entries of training rules with unseen code, and 128 of held-out rules): the paper's reward
   (format + ES*, whatever the training reward was) with its standard error, the share of
   well-formatted answers, and the share of answers from which the old API is gone (the
   detector over the toy knowledge base). Differences are paired (same prompts).

Run: ``python bench/grpo_toy.py`` (~15 min on 2 cores), ``--quick`` (~2 min smoke run, numbers
meaningless), ``--sft-minutes``/``--grpo-minutes`` to change budgets. The last line of output
is one comparable summary (``GRPO_TOY ...``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VERBS = ["load", "save", "parse", "compute", "merge", "split", "scale", "clip", "sort", "fetch", "build", "render"]
NOUNS = ["table", "frame", "array", "index", "series", "matrix", "vector", "record", "column", "block"]
FUNCS = ["process", "handle", "run", "transform", "prepare", "update", "apply", "make", "convert", "collect"]
ARGS = ["data", "values", "items", "rows", "payload", "source", "batch", "chunk"]
VARS = ["result", "out", "tmp", "value", "answer", "res"]

#: Old-code templates: ``{old}`` is the old name; the rest are filled from the word lists.
TEMPLATES = [
    "import toylib\n\ndef {fn}({a}):\n    return toylib.{old}({a})\n",
    "import toylib\n\ndef {fn}({a}, {b}):\n    {v} = toylib.{old}({a})\n    return {v} + {b}\n",
    "import toylib\n\n{v} = toylib.{old}({a})\nprint({v})\n",
    "import toylib\n\ndef {fn}({a}):\n    if not {a}:\n        return None\n    return toylib.{old}({a})\n",
    "import toylib\n\nclass {cls}:\n    def {fn}(self, {a}):\n        return toylib.{old}({a})\n",
    "import toylib\n\ndef {fn}({a}):\n    {v} = [toylib.{old}(x) for x in {a}]\n    return {v}\n",
]


def make_rules(seed: int, count: int) -> list[tuple[str, str]]:
    """``count`` distinct renames ``(old, new)``; the new name cannot be guessed from the old one."""
    rng = random.Random(seed)
    pairs = [(v, n) for v in VERBS for n in NOUNS]
    rng.shuffle(pairs)
    rules = []
    for verb, noun in pairs[:count]:
        other = rng.choice([v for v in VERBS if v != verb])
        rules.append((f"{verb}_{noun}", f"{noun}_{other}"))
    return rules


def toy_kb(rules: Sequence[tuple[str, str]]) -> Any:
    """The toy knowledge base: one ``rename`` change per rule (``TOY001``...)."""
    from recode_lsp.engine import KnowledgeBase
    from recode_lsp.engine.knowledge import iter_jsonl

    lines = [
        json.dumps(
            {
                "id": f"TOY{i + 1:03d}",
                "library": "toylib",
                "old": f"toylib.{old}",
                "kind": "rename",
                "new": f"toylib.{new}",
                "removed_in": "2.0",
                "source": "bench/grpo_toy.py",
            }
        )
        for i, (old, new) in enumerate(rules)
    ]
    return KnowledgeBase(list(iter_jsonl("\n".join(lines), "toy.jsonl")))


def make_records(rules: Sequence[tuple[str, str]], count: int, rng: random.Random, avoid: set[str]) -> list[Any]:
    """``count`` ReCode records over ``rules`` (round robin), none whose old code is in ``avoid``."""
    from model_training.data.recode_data import ReCodeRecord

    records = []
    attempts = 0
    while len(records) < count and attempts < count * 50:
        attempts += 1
        old, new = rules[len(records) % len(rules)]
        a, b = rng.sample(ARGS, 2)
        fields = {"fn": rng.choice(FUNCS), "a": a, "b": b, "v": rng.choice(VARS), "cls": rng.choice(NOUNS).title()}
        old_code = rng.choice(TEMPLATES).format(old=old, **fields)
        if old_code in avoid:
            continue
        avoid.add(old_code)
        new_code = old_code.replace(f"toylib.{old}", f"toylib.{new}")
        info = f"toylib.{old} was renamed to toylib.{new} in toylib 2.0.\ntoylib.{new}(data): {new.replace('_', ' ')}."
        records.append(
            ReCodeRecord("toylib", "==2.0", f"toylib.{old} was renamed to toylib.{new}.", info, old_code, new_code)
        )
    return records


# --------------------------------------------------------------------------- evaluation


def evaluate(model_dir: Path, adapter: Path | None, rows: list[dict[str, Any]], kb: Any, max_new: int) -> dict:
    """Greedy completions scored; adds the per-sample paper rewards for paired differences."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from model_training.rewards import recode_reward
    from model_training.train.evaluate import detector_check, generate_completions, score_completions

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    completions = generate_completions(
        model, tokenizer, [row["prompt"] for row in rows], max_new_tokens=max_new, batch_size=64
    )
    scores = score_completions(completions, rows, detector_check(kb)).as_dict()
    per_sample = recode_reward(completions, new_code=[row["new_code"] for row in rows])
    scores["per_sample"] = [float(r) if r is not None else math.nan for r in per_sample]
    scores["example"] = completions[0]
    return scores


def paired(after: dict, before: dict) -> tuple[float, float]:
    """Mean paired difference of per-sample rewards and its standard error."""
    diffs = [a - b for a, b in zip(after["per_sample"], before["per_sample"], strict=True)]
    n = len(diffs)
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var / n)


def line(name: str, s: dict) -> str:
    return (
        f"{name:<22} reward {s['reward']:+.3f} ± {s['reward_sem']:.3f}  format-valid {s['format_ok']:.2f}  "
        f"parses {s['parses']:.2f}  old-API-gone {s['old_api_gone']:.2f}  (n={s['n']})"
    )


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sft-minutes", type=float, default=5.0)
    parser.add_argument("--grpo-minutes", type=float, default=2.5, help="per GRPO run (two runs)")
    parser.add_argument("--eval-size", type=int, default=256, help="fixed evaluation set on training rules")
    parser.add_argument("--heldout-size", type=int, default=64, help="evaluation set on held-out rules")
    parser.add_argument("--max-new-tokens", type=int, default=96, help="completion length (GRPO and evaluation)")
    parser.add_argument("--quick", action="store_true", help="~2-minute smoke run (tiny budgets and sets)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", help="keep models and logs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sft_minutes, args.grpo_minutes, args.eval_size, args.heldout_size = 0.4, 0.05, 16, 8
        args.max_new_tokens = 64

    import torch

    from model_training.data.recode_data import write_recode_jsonl
    from model_training.rewards import format_reward, make_edit_aware_reward
    from model_training.tiny_model import TinyModelSpec, build_tiny_qwen2
    from model_training.train.common import TimeBudgetCallback, load_tokenizer, prompt_rows
    from model_training.train.config import DataSettings, ModelSettings, PeftSettings
    from model_training.train.grpo import GRPORunConfig, grpo_trainer_defaults, run_grpo
    from model_training.train.sft import SFTRunConfig, run_sft

    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.monotonic()
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="grpo_toy-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    rules = make_rules(args.seed, 48)
    train_rules, heldout_rules = rules[:40], rules[40:]
    kb = toy_kb(rules)
    seen: set[str] = set()
    train = make_records(train_rules, 800, rng, seen)
    eval_train = make_records(train_rules, args.eval_size, rng, seen)
    eval_heldout = make_records(heldout_rules, args.heldout_size, rng, seen)
    train_file = work / "train.jsonl"
    write_recode_jsonl(train, train_file)

    # A ~4M-parameter Qwen2 whose tokenizer knows the toy text.
    spec = TinyModelSpec(
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=2048,
        seed=args.seed,
    )
    texts = [r.update_info + "\n" + r.old_code + "\n" + r.new_code for r in train[:400]]
    base = build_tiny_qwen2(work / "base", spec, extra_texts=texts)
    model = ModelSettings(name_or_path=str(base), dtype="float32")
    data = DataSettings(train_file=str(train_file), max_prompt_length=1024, shuffle_seed=args.seed)
    cpu = {
        "use_cpu": True,
        "bf16": False,
        "gradient_checkpointing": False,
        "save_strategy": "no",
        "logging_steps": 1,
        "seed": args.seed,
        "report_to": [],
        "disable_tqdm": True,
    }
    from safetensors.torch import load_file

    params = sum(t.numel() for t in load_file(base / "model.safetensors").values())
    print(
        f"[{time.monotonic() - started:5.0f}s] data: {len(train)} train, {len(eval_train)} eval, "
        f"{len(eval_heldout)} held-out; model {params / 1e6:.1f}M parameters",
        flush=True,
    )

    # 1. SFT warm start: full fine-tuning, time-boxed.
    sft = SFTRunConfig(
        model=model,
        peft=PeftSettings(enabled=False),
        data=data,
        output_dir=str(work / "sft"),
        trainer={
            "learning_rate": 1e-3,
            "lr_scheduler_type": "constant_with_warmup",
            "warmup_steps": 20,
            "max_steps": 100_000,
            "per_device_train_batch_size": 8,
            "max_length": 1024,
            "completion_only_loss": True,
            **cpu,
        },
    )
    sft_dir = run_sft(sft, callbacks=[TimeBudgetCallback(args.sft_minutes * 60)])
    sft_log = [json.loads(x) for x in (work / "sft" / "train_log.jsonl").read_text().splitlines()]
    sft_steps = max(r["step"] for r in sft_log)
    print(
        f"[{time.monotonic() - started:5.0f}s] SFT: {sft_steps} steps, last loss "
        f"{next((r['loss'] for r in reversed(sft_log) if 'loss' in r), float('nan')):.3f}",
        flush=True,
    )

    tokenizer = load_tokenizer(ModelSettings(name_or_path=str(sft_dir)))
    rows_train, _ = prompt_rows(eval_train, tokenizer)
    rows_held, _ = prompt_rows(eval_heldout, tokenizer)
    max_new = args.max_new_tokens
    before = evaluate(sft_dir, None, rows_train, kb, max_new)
    before_held = evaluate(sft_dir, None, rows_held, kb, max_new)
    print(f"[{time.monotonic() - started:5.0f}s] " + line("SFT (before GRPO)", before), flush=True)
    print(f"[{time.monotonic() - started:5.0f}s] " + line("SFT held-out", before_held), flush=True)
    print(f"        example: {before['example'][:160]!r}", flush=True)

    # 2. GRPO twice from the same checkpoint: ES* (the paper) and the edit-aware ES*.
    results: dict[str, dict[str, Any]] = {}
    steps_cap: int | None = None
    for name, reward_funcs in (
        ("es*", None),
        ("edit-aware", [format_reward, make_edit_aware_reward(kb=kb)]),
    ):
        trainer = grpo_trainer_defaults()
        trainer.update(
            {
                "learning_rate": 1e-3,
                "lr_scheduler_type": "constant",
                "warmup_steps": 0,
                "max_steps": steps_cap or 100_000,
                "num_generations": 8,
                "per_device_train_batch_size": 32,
                "max_completion_length": max_new,
                **cpu,
            }
        )
        config = GRPORunConfig(
            model=ModelSettings(name_or_path=str(sft_dir), dtype="float32"),
            peft=PeftSettings(r=16, alpha=32, dropout=0.0, use_dora=False),
            data=data,
            reward="recode" if reward_funcs is None else "edit_aware",
            output_dir=str(work / f"grpo-{name.rstrip('*')}"),
            trainer=trainer,
        )
        # Same seed, same number of steps: the second run takes as many steps as the first did.
        budget = args.grpo_minutes * 60 * (1.0 if steps_cap is None else 3.0)
        adapter = run_grpo(config, callbacks=[TimeBudgetCallback(budget)], reward_funcs=reward_funcs)
        curve = json.loads((adapter / "recode_adapter.json").read_text())["reward_curve"]
        steps = len(curve)
        steps_cap = steps_cap or steps
        head = [r for _, r in curve[:5]]
        tail = [r for _, r in curve[-5:]]
        after = evaluate(sft_dir, adapter, rows_train, kb, max_new)
        after_held = evaluate(sft_dir, adapter, rows_held, kb, max_new)
        delta, delta_se = paired(after, before)
        delta_h, delta_h_se = paired(after_held, before_held)
        results[name] = {
            "after": after,
            "held": after_held,
            "delta": (delta, delta_se),
            "delta_held": (delta_h, delta_h_se),
            "steps": steps,
        }
        print(
            f"[{time.monotonic() - started:5.0f}s] GRPO {name}: {steps} steps, training reward (its own) first-5 "
            f"{sum(head) / max(len(head), 1):+.3f} -> last-5 {sum(tail) / max(len(tail), 1):+.3f}",
            flush=True,
        )
        print("        " + line(f"after GRPO {name}", after) + f"  paired Δ {delta:+.3f} ± {delta_se:.3f}", flush=True)
        print(
            "        " + line(f"held-out {name}", after_held) + f"  paired Δ {delta_h:+.3f} ± {delta_h_se:.3f}",
            flush=True,
        )

    es, ea = results["es*"], results["edit-aware"]
    total = time.monotonic() - started
    print(
        f"GRPO_TOY mode={'quick' if args.quick else 'full'} sft_steps={sft_steps} "
        f"sft_R={before['reward']:.3f}±{before['reward_sem']:.3f} sft_fmt={before['format_ok']:.2f} "
        f"sft_gone={before['old_api_gone']:.2f} | "
        f"es*: steps={es['steps']} R={es['after']['reward']:.3f} dR={es['delta'][0]:+.3f}±{es['delta'][1]:.3f} "
        f"fmt={es['after']['format_ok']:.2f} gone={es['after']['old_api_gone']:.2f} "
        f"heldout_dR={es['delta_held'][0]:+.3f}±{es['delta_held'][1]:.3f} | "
        f"edit-aware: steps={ea['steps']} R={ea['after']['reward']:.3f} dR={ea['delta'][0]:+.3f}±{ea['delta'][1]:.3f} "
        f"fmt={ea['after']['format_ok']:.2f} gone={ea['after']['old_api_gone']:.2f} "
        f"heldout_dR={ea['delta_held'][0]:+.3f}±{ea['delta_held'][1]:.3f} | n={before['n']} "
        f"wall={total / 60:.1f}min",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
