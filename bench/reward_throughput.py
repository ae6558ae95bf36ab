"""Completions scored per second by the ReCode reward (format + ES*) on one CPU core.

What is measured
----------------
A seeded generator writes a few thousand realistic completions for realistic migration tasks:
functions of 8 to 80 lines that use an old NumPy / pandas / typing API, each answered in one of
the ways a policy model answers during GRPO (a correct migration, the old code copied, a
partial or slightly wrong edit, a broken block, no code block, a missing ``</think>``), with a
reasoning part of 100 to 1,500 characters. ``recode_reward`` then scores them in groups of 8
(GRPO's group size; one call per group, as TRL calls it), and the CPU time of this process
over those calls gives completions per second (CPU time, not wall time, so that other work on
a shared machine does not count; the process is single-threaded and pinned to one core where
the OS allows it, so on an idle machine the two agree).
With ``--edit-aware`` the edit-aware variant (``make_edit_aware_reward``, which also runs the
detector on every answer) is timed the same way.

Run ``python bench/reward_throughput.py [--count 4000] [--seed 0] [--edit-aware]``. The last
line is the one-line summary to compare between runs (on the same machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_training.rewards import make_edit_aware_reward, recode_reward

GROUP = 8
NP = "import numpy as np"
PD = "import pandas as pd"
# (old line, new line, import line): one old API use and its migration.
USES = (
    ("    out = np.asarray(values, dtype=np.float_)", "    out = np.asarray(values, dtype=np.float64)", NP),
    ("    total = np.product(out)", "    total = np.prod(out)", NP),
    ("    grid = np.row_stack([out, out])", "    grid = np.vstack([out, out])", NP),
    ("    missing = np.NaN", "    missing = np.nan", NP),
    ("    pairs = list(frame.iteritems())", "    pairs = list(frame.items())", PD),
    ("    frame = frame.applymap(str)", "    frame = frame.map(str)", PD),
    ("    frame.to_csv(path, line_terminator='\\n')", "    frame.to_csv(path, lineterminator='\\n')", PD),
)
# Statement blocks (each valid on its own at function level) that surround the old API use.
FILLER = (
    ("    result = []",),
    ("    if not values:", "        return None"),
    ("    count = len(values)  # number of samples",),
    ("    scale = 1.0 / max(count, 1)",),
    ("    label = 'mean # of items'",),
    ("",),
    ("    # normalise the data before use",),
    ("    weights = [v * scale for v in values]",),
    ("    for index, weight in enumerate(weights):", "        result.append(index * weight)"),
    ("    logger.debug('processed %d values', count)",),
    ("    try:", "        total = sum(values)", "    except TypeError:", "        total = 0.0"),
)
THINK = (
    "The update says the old name was removed, so I need to find every use of it. ",
    "The function uses the old API once; the replacement keeps the same arguments. ",
    "I must keep the rest of the code unchanged, including comments and strings. ",
    "Let me check the imports: the module alias stays the same. ",
)


def make_task(rng: random.Random) -> tuple[str, str]:
    """(old_code, new_code) of one function with one old API use."""
    old_line, new_line, import_line = rng.choice(USES)
    blocks = [rng.choice(FILLER) for _ in range(rng.randint(3, 30))]
    where = rng.randrange(len(blocks) + 1)
    before = [line for block in blocks[:where] for line in block]
    after = [line for block in blocks[where:] for line in block]
    name = rng.choice(("summarise", "load_table", "compute_stats", "prepare", "export_frame"))
    head = [import_line, "", f"def {name}(values, frame=None, path='out.csv'):", '    """Process the values."""']
    old = "\n".join([*head, "    result = []", *before, old_line, *after, "    return result"]) + "\n"
    new = "\n".join([*head, "    result = []", *before, new_line, *after, "    return result"]) + "\n"
    return old, new


def mutate(code: str, rng: random.Random, edits: int) -> str:
    chars = list(code)
    for _ in range(edits):
        position = rng.randrange(len(chars))
        chars[position] = rng.choice("abcxyz_ ")
    return "".join(chars)


def make_completion(old: str, new: str, rng: random.Random) -> tuple[str, str]:
    """A completion for the task and its kind (correct, copy, partial, broken, no_block, no_close)."""
    think = " " + "".join(rng.choice(THINK) for _ in range(rng.randint(1, 20)))
    kind = rng.choices(("correct", "copy", "partial", "broken", "no_block", "no_close"), (4, 2, 3, 1, 1, 1))[0]
    if kind == "correct":
        code = new
    elif kind == "copy":
        code = old
    elif kind == "partial":
        code = mutate(new, rng, rng.randint(1, 6))
    elif kind == "broken":
        code = new.replace("):", ")", 1)
    else:
        code = new
    block = f"```python\n{code}```"
    if kind == "no_block":
        return f"{think}</think>\n<answer>\n{code}</answer>", kind
    if kind == "no_close":
        return f"{think}\n<answer>\n{block}\n</answer>", kind
    return f"{think}</think>\n<answer>\n{block}\n</answer>\n", kind


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        try:
            core = min(os.sched_getaffinity(0))
            os.sched_setaffinity(0, {core})
            return f"core {core}"
        except OSError:
            pass
    return "not pinned"


def time_reward(
    reward: Callable[..., list[float | None]],
    completions: Sequence[str],
    targets: Sequence[str],
    olds: Sequence[str],
) -> tuple[float, list[float | None]]:
    """CPU seconds of this process spent in ``reward`` (wall time is noisy on a shared machine), and the scores."""
    scores: list[float | None] = []
    started = time.process_time()
    for start in range(0, len(completions), GROUP):
        stop = start + GROUP
        scores.extend(reward(list(completions[start:stop]), new_code=targets[start:stop], old_code=olds[start:stop]))
    return time.process_time() - started, scores


def by_kind(kinds: Sequence[str], scores: Sequence[float | None]) -> str:
    groups: dict[str, list[float]] = {}
    for kind, score in zip(kinds, scores, strict=False):
        if score is not None:
            groups.setdefault(kind, []).append(score)
    return ", ".join(f"{kind} {statistics.mean(values):.2f} (n={len(values)})" for kind, values in groups.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=4000, help="completions to score (default 4000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--edit-aware", action="store_true", help="also time the edit-aware variant")
    args = parser.parse_args(argv)
    pinned = pin_to_one_core()
    rng = random.Random(args.seed)
    tasks = [make_task(rng) for _ in range(max(1, args.count // GROUP))]
    completions, kinds, targets, olds = [], [], [], []
    for old, new in tasks:
        for _ in range(GROUP):
            text, kind = make_completion(old, new, rng)
            completions.append(text)
            kinds.append(kind)
            targets.append(new)
            olds.append(old)
    completions, targets, olds = completions[: args.count], targets[: args.count], olds[: args.count]
    mean_chars = statistics.mean(len(c) for c in completions)
    recode_reward(completions[:GROUP], new_code=targets[:GROUP])  # warm imports
    seconds, scores = time_reward(recode_reward, completions, targets, olds)
    values = [s for s in scores if s is not None]
    print(f"mean recode_reward by kind: {by_kind(kinds, scores)}")
    print(
        f"recode_reward: {len(values)} completions (mean {mean_chars:.0f} chars) in {seconds:.2f} CPU s; "
        f"mean reward {statistics.mean(values):.3f}, min {min(values):.2f}, max {max(values):.2f}"
    )
    summary = (
        f"reward_throughput: completions={len(completions)} recode={len(completions) / seconds:.0f}/s per CPU second "
        f"({pinned}, {platform.python_implementation()} {platform.python_version()})"
    )
    if args.edit_aware:
        edit_aware = make_edit_aware_reward()
        edit_aware(completions[:GROUP], new_code=targets[:GROUP], old_code=olds[:GROUP])  # loads the knowledge base
        edit_seconds, edit_scores = time_reward(edit_aware, completions, targets, olds)
        edit_values = [s for s in edit_scores if s is not None]
        print(f"mean edit-aware reward by kind (no format term): {by_kind(kinds, edit_scores)}")
        print(
            f"edit_aware_reward: {len(edit_values)} completions in {edit_seconds:.2f} CPU s; "
            f"mean {statistics.mean(edit_values):.3f}"
        )
        summary += f" edit_aware={len(completions) / edit_seconds:.0f}/s"
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
