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

With ``--data DIR`` (a folder written by ``python -m model_training.data.build``: real old-release
code, targets from the rule engine or a teacher) the same method runs on that data instead of the
toy rules: the entries whose old and new code have at most ``--max-snippet-lines`` lines and whose
SFT completion fits ``--max-new-tokens`` (the tiny model cannot write more); training on ``train``
minus ``--eval-size`` entries kept back (same change families, unseen snippets), held-out
evaluation on ``validation`` + ``test`` (change families never trained on); the edit-aware reward
and the old-API check use the shipped knowledge base.

``--seeds 0,1,2`` repeats everything (data order, model, SFT, both GRPO runs) per seed, so the
comparison has a standard error across seeds, not only across prompts.

Run: ``python bench/grpo_toy.py`` (~15 min on 2 cores), ``--quick`` (~2 min smoke run, numbers
meaningless), ``--sft-minutes``/``--grpo-minutes`` to change budgets. Progress goes to stderr;
stdout is one summary line (``GRPO_TOY ...``): per reward the held-out and in-family paper
reward after GRPO (mean ± standard error over seeds) and the paired edit-aware minus ES*
difference per seed, averaged over seeds.
"""

from __future__ import annotations

import argparse
import contextlib
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

    records: list[Any] = []
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
    scores: dict[str, Any] = score_completions(completions, rows, detector_check(kb)).as_dict()
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


# --------------------------------------------------------------------------- data built by the builder


def _lines(code: str) -> int:
    return len(code.strip("\n").splitlines())


def load_built(data_dir: Path, max_lines: int, seed: int) -> tuple[list[Any], list[Any]]:
    """Train and held-out (validation + test) records of a built set, short snippets only, shuffled."""
    from model_training.data.recode_data import load_recode_jsonl

    def short(name: str) -> list[Any]:
        path = data_dir / f"{name}.jsonl"
        if not path.is_file():
            return []
        records = load_recode_jsonl(path)
        return [r for r in records if _lines(r.old_code) <= max_lines and _lines(r.new_code) <= max_lines]

    train = short("train")
    held = short("validation") + short("test")
    rng = random.Random(seed)
    rng.shuffle(train)
    rng.shuffle(held)
    if not train or not held:
        raise SystemExit(f"{data_dir}: no train or no validation/test entries of at most {max_lines} lines")
    return train, held


def fits(records: Sequence[Any], tokenizer: Any, max_new: int, max_prompt: int) -> list[Any]:
    """The records whose SFT completion fits ``max_new`` tokens and whose prompt fits ``max_prompt``."""
    from model_training.data.recode_data import to_prompt_record
    from model_training.train.common import render_prompt, sft_completion

    out = []
    for record in records:
        if len(tokenizer(sft_completion(record))["input_ids"]) > max_new - 4:
            continue
        prompt = render_prompt(tokenizer, to_prompt_record(record)["prompt"])
        if len(tokenizer(prompt)["input_ids"]) <= max_prompt:
            out.append(record)
    return out


# --------------------------------------------------------------------------- one seed


def log(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:5.0f}s] {text}", file=sys.stderr, flush=True)


def run_seed(args: argparse.Namespace, seed: int, work: Path, started: float) -> dict[str, Any]:
    """The whole method for one seed; returns the SFT scores and, per reward, the scores after GRPO."""
    import torch

    from model_training.data.recode_data import write_recode_jsonl
    from model_training.rewards import format_reward, make_edit_aware_reward
    from model_training.tiny_model import TinyModelSpec, build_tiny_qwen2
    from model_training.train.common import TimeBudgetCallback, load_tokenizer, prompt_rows
    from model_training.train.config import DataSettings, ModelSettings, PeftSettings
    from model_training.train.grpo import GRPORunConfig, grpo_trainer_defaults, run_grpo
    from model_training.train.sft import SFTRunConfig, run_sft

    torch.manual_seed(seed)
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    max_new = args.max_new_tokens
    if args.data:
        from recode_lsp.engine import load_knowledge_base

        kb = load_knowledge_base()
        candidates, held_candidates = load_built(Path(args.data), args.max_snippet_lines, seed)
        texts = [r.update_info + "\n" + r.old_code + "\n" + r.new_code for r in candidates[:2000]]
    else:
        rules = make_rules(seed, 48)
        train_rules, heldout_rules = rules[:40], rules[40:]
        kb = toy_kb(rules)
        seen: set[str] = set()
        train = make_records(train_rules, 800, rng, seen)
        eval_train = make_records(train_rules, args.eval_size, rng, seen)
        eval_heldout = make_records(heldout_rules, args.heldout_size, rng, seen)
        texts = [r.update_info + "\n" + r.old_code + "\n" + r.new_code for r in train[:400]]

    # A ~4M-parameter Qwen2 whose tokenizer knows the (toy or real) text.
    spec = TinyModelSpec(
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=2048,
        seed=seed,
    )
    base = build_tiny_qwen2(work / "base", spec, extra_texts=texts)
    if args.data:
        tokenizer = load_tokenizer(ModelSettings(name_or_path=str(base)))
        usable = fits(candidates, tokenizer, max_new, args.max_prompt_tokens)
        eval_train = usable[: args.eval_size]
        train = usable[args.eval_size :]
        eval_heldout = fits(held_candidates, tokenizer, max_new, args.max_prompt_tokens)[: args.heldout_size]
        if not train or not eval_train or not eval_heldout:
            raise SystemExit(
                f"{args.data}: {len(train)} train, {len(eval_train)} eval, {len(eval_heldout)} held-out entries fit "
                f"--max-new-tokens {max_new}: raise it or --max-snippet-lines"
            )
    train_file = work / "train.jsonl"
    write_recode_jsonl(train, train_file)
    model = ModelSettings(name_or_path=str(base), dtype="float32")
    data = DataSettings(train_file=str(train_file), max_prompt_length=1024, shuffle_seed=seed)
    cpu = {
        "use_cpu": True,
        "bf16": False,
        "gradient_checkpointing": False,
        "save_strategy": "no",
        "logging_steps": 1,
        "seed": seed,
        "report_to": [],
        "disable_tqdm": True,
    }
    from safetensors.torch import load_file

    params = sum(t.numel() for t in load_file(base / "model.safetensors").values())
    log(
        started,
        f"seed {seed}: data {'from ' + str(args.data) if args.data else 'toy'}: {len(train)} train, "
        f"{len(eval_train)} eval, {len(eval_heldout)} held-out; model {params / 1e6:.1f}M parameters",
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
            "warmup_steps": args.sft_warmup_steps,
            "max_steps": 100_000,
            "per_device_train_batch_size": 8,
            "max_length": 1024 + max_new,
            "completion_only_loss": True,
            **cpu,
        },
    )
    sft_dir = run_sft(sft, callbacks=[TimeBudgetCallback(args.sft_minutes * 60)])
    sft_log = [json.loads(x) for x in (work / "sft" / "train_log.jsonl").read_text().splitlines()]
    sft_steps = max(r["step"] for r in sft_log)
    last_loss = next((r["loss"] for r in reversed(sft_log) if "loss" in r), float("nan"))
    log(started, f"SFT: {sft_steps} steps, last loss {last_loss:.3f}")

    tokenizer = load_tokenizer(ModelSettings(name_or_path=str(sft_dir)))
    rows_train, _ = prompt_rows(eval_train, tokenizer)
    rows_held, _ = prompt_rows(eval_heldout, tokenizer)
    before = evaluate(sft_dir, None, rows_train, kb, max_new)
    before_held = evaluate(sft_dir, None, rows_held, kb, max_new)
    log(started, line("SFT (before GRPO)", before))
    log(started, line("SFT held-out", before_held))
    log(started, f"example: {before['example'][:160]!r}")

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
        results[name] = {
            "after": after,
            "held": after_held,
            "delta": paired(after, before),
            "delta_held": paired(after_held, before_held),
            "steps": steps,
        }
        log(
            started,
            f"GRPO {name}: {steps} steps, training reward (its own) first-5 "
            f"{sum(head) / max(len(head), 1):+.3f} -> last-5 {sum(tail) / max(len(tail), 1):+.3f}",
        )
        delta, delta_se = results[name]["delta"]
        delta_h, delta_h_se = results[name]["delta_held"]
        log(started, line(f"after GRPO {name}", after) + f"  paired Δ {delta:+.3f} ± {delta_se:.3f}")
        log(started, line(f"held-out {name}", after_held) + f"  paired Δ {delta_h:+.3f} ± {delta_h_se:.3f}")
    es, ea = results["es*"], results["edit-aware"]
    return {
        "seed": seed,
        "sft_steps": sft_steps,
        "before": before,
        "before_held": before_held,
        "es*": es,
        "edit-aware": ea,
        # Edit-aware minus ES* on the same prompts (paired per sample), in-family and held out.
        "ea_minus_es": paired(ea["after"], es["after"]),
        "ea_minus_es_held": paired(ea["held"], es["held"]),
    }


# --------------------------------------------------------------------------- summary


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (NaN standard error for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def summary(runs: Sequence[dict[str, Any]], mode: str, minutes: float) -> str:
    """One line: per reward, scores after GRPO as mean ± standard error over seeds; the paired difference."""

    def ms(values: Sequence[float], digits: int = 3) -> str:
        mean, se = mean_se(values)
        return f"{mean:+.{digits}f}±{se:.{digits}f}"

    parts = [
        f"GRPO_TOY mode={mode} seeds={len(runs)} n={runs[0]['before']['n']} held_n={runs[0]['before_held']['n']}",
        f"sft_steps={sum(r['sft_steps'] for r in runs) / len(runs):.0f}",
        f"sft_R={ms([r['before']['reward'] for r in runs])}",
        f"sft_heldR={ms([r['before_held']['reward'] for r in runs])}",
    ]
    for name in ("es*", "edit-aware"):
        parts.append(
            f"{name}: steps={sum(r[name]['steps'] for r in runs) / len(runs):.0f} "
            f"R={ms([r[name]['after']['reward'] for r in runs])} "
            f"heldR={ms([r[name]['held']['reward'] for r in runs])} "
            f"dR={ms([r[name]['delta'][0] for r in runs])} "
            f"held_dR={ms([r[name]['delta_held'][0] for r in runs])} "
            f"fmt={ms([r[name]['held']['format_ok'] for r in runs], 2)} "
            f"held_gone={ms([r[name]['held']['old_api_gone'] for r in runs], 2)}"
        )
    gone = [r["edit-aware"]["held"]["old_api_gone"] - r["es*"]["held"]["old_api_gone"] for r in runs]
    parts.append(
        f"edit-aware-minus-es*: R={ms([r['ea_minus_es'][0] for r in runs])} "
        f"heldR={ms([r['ea_minus_es_held'][0] for r in runs])} "
        f"held_gone={ms(gone, 2)}"
    )
    parts.append(f"wall={minutes:.1f}min")
    return " | ".join(parts)


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sft-minutes", type=float, default=5.0)
    parser.add_argument("--grpo-minutes", type=float, default=2.5, help="per GRPO run (two runs)")
    parser.add_argument("--sft-warmup-steps", type=int, default=20, help="SFT learning-rate warmup")
    parser.add_argument("--eval-size", type=int, default=256, help="fixed evaluation set on training rules")
    parser.add_argument("--heldout-size", type=int, default=64, help="evaluation set on held-out rules")
    parser.add_argument("--max-new-tokens", type=int, default=96, help="completion length (GRPO and evaluation)")
    parser.add_argument("--quick", action="store_true", help="~2-minute smoke run (tiny budgets and sets)")
    parser.add_argument("--seed", type=int, default=0, help="the seed (one run); see --seeds")
    parser.add_argument("--seeds", help="comma-separated seeds, one whole run each (overrides --seed)")
    parser.add_argument("--data", help="a folder written by model_training.data.build (default: the toy rules)")
    parser.add_argument("--max-snippet-lines", type=int, default=12, help="with --data: longest old/new code kept")
    parser.add_argument("--max-prompt-tokens", type=int, default=1024, help="with --data: longest prompt kept")
    parser.add_argument("--work-dir", help="keep models and logs here (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sft_minutes, args.grpo_minutes, args.eval_size, args.heldout_size = 0.4, 0.05, 16, 8
        if not args.data:  # real snippets need their length
            args.max_new_tokens = 64
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    started = time.monotonic()
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="grpo_toy-"))
    # The trainers print their logs to stdout: keep stdout for the one summary line.
    with contextlib.redirect_stdout(sys.stderr):
        runs = [run_seed(args, seed, work / f"seed-{seed}", started) for seed in seeds]
    mode = ("quick" if args.quick else "full") + ("-data" if args.data else "-toy")
    print(summary(runs, mode, (time.monotonic() - started) / 60), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
