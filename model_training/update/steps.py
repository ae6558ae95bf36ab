"""The steps of the update loop, each a function of the run context that returns its summary.

Each step reuses the project's own component through its Python API, so the loop does exactly
what the separate commands do: the scraper (:func:`recode_lsp.kb.scrape.scrape`, as
``recode-kb scrape``), the overlay (:func:`recode_lsp.kb.overlay.merge_into`, as ``recode-kb
review``), the data builder (:func:`model_training.data.build.build`), the trainer
(:func:`model_training.train.grpo.run_rl`, as ``recode-train grpo|dapo``), the evaluation
harness (:func:`model_training.eval.run.evaluate` for the standing set,
:func:`model_training.train.evaluate.evaluate_model` for the held-out changes), the registry
(:class:`serving.registry.AdapterRegistry`) and the server's hot swap
(:class:`serving.control.AdapterControl`).

A step writes only into its own folder (and, for ``review``, the overlay; for ``register``,
the registry; for ``promote``, the server), and the run (:mod:`model_training.update.run`)
writes the ``DONE`` marker after it returns, so a step killed half-way is redone whole.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_training.update.config import UpdateConfig

if TYPE_CHECKING:
    from recode_lsp.kb.scrape import ScrapedEntry

log = logging.getLogger(__name__)

#: Test hook: ``RECODE_UPDATE_TEST_KILL=STEP`` kills the process (SIGKILL) in the middle of STEP,
#: after it wrote part of its output, as a crash or an out-of-memory kill would.
KILL_ENV = "RECODE_UPDATE_TEST_KILL"
#: Files of a base model a staged adapter folder needs to load on its own (the tokenizer's).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "generation_config.json",
)


class StepError(Exception):
    """A step cannot go on; the message says why and what to change. The run can be resumed."""


class AwaitingReview(Exception):
    """The configuration asks a person to review the scraped entries first."""


@dataclass
class RunContext:
    """What every step sees: the run's identity, its configuration and its folder."""

    root: Path
    library: str
    old: str
    new: str
    config: UpdateConfig
    adapter_name: str
    #: ``--server``: the server's state folder (promote into it), or None (registry only).
    server_state: Path | None = None
    #: Summaries of the steps done so far (step -> its ``DONE`` data).
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)

    def folder(self, step: str) -> Path:
        from model_training.update.config import STEPS

        return self.root / f"{STEPS.index(step) + 1:02d}-{step}"

    def overlay(self) -> Path:
        return Path(self.config.overlay).resolve()

    def new_ids(self) -> list[str]:
        return list(self.done["review"]["accepted_ids"])

    def kb_after(self) -> Any:
        """The shipped knowledge base plus the overlay (with the accepted entries)."""
        from recode_lsp.engine.knowledge import load_knowledge_base

        return load_knowledge_base([self.overlay()])


def maybe_kill(step: str) -> None:
    """The resume test's crash: SIGKILL this process when ``$RECODE_UPDATE_TEST_KILL`` names ``step``."""
    if os.environ.get(KILL_ENV) == step:
        sys.stderr.write(f"{KILL_ENV}={step}: killing the run in the middle of {step}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def sha256_file(path: Path) -> str:
    """``sha256:<hex>`` of a file (the trainer's ``data_hash``, without importing the trainer)."""
    import hashlib

    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)


# --------------------------------------------------------------------------- 1. scrape


def step_scrape(ctx: RunContext) -> dict[str, Any]:
    """Scrape the changes between the two releases into ``scraped.jsonl`` (``recode-kb scrape``)."""
    from recode_lsp.kb import overlay
    from recode_lsp.kb.releases import ReleaseError, default_cache_dir, obtain
    from recode_lsp.kb.scrape import scrape

    settings = ctx.config.scrape
    cache = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()
    dist = Path(settings.dist) if settings.dist else None
    try:
        releases = [
            obtain(ctx.library, version, dist_dir=dist, cache_dir=cache, timeout=settings.timeout)
            for version in (ctx.old, ctx.new)
        ]
    except ReleaseError as exc:
        raise StepError(str(exc)) from None
    entries, problems = scrape(ctx.library, releases, id_prefix=settings.id_prefix)
    kept = [e for e in entries if e.confidence >= settings.min_confidence]
    folder = ctx.folder("scrape")
    overlay.write(folder / "scraped.jsonl", kept)
    maybe_kill("scrape")
    kinds = Counter(str(e.record["kind"]) for e in kept)
    return {
        "entries": len(kept),
        "below_confidence": len(entries) - len(kept),
        "kinds": dict(sorted(kinds.items())),
        "ids": [e.record["id"] for e in kept],
        "left_out": problems,
        "releases": {r.label: {"exact": r.exact, "origin": r.origin} for r in releases},
        "file": str(folder / "scraped.jsonl"),
    }


# --------------------------------------------------------------------------- 2. review


APPROVAL_FILE = "approval.json"


#: The keys that make an entry's fact: an entry equal on these to one the knowledge base has is not new.
FACT_KEYS = ("library", "old", "kind", "old_keyword", "new", "new_keyword", "deprecated_in", "removed_in")


def fact_of(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(record.get(key) for key in FACT_KEYS)


def known_facts(overlay_file: Path) -> set[tuple[Any, ...]]:
    """Facts of the shipped knowledge base and the overlay: a release that still deprecates what an
    earlier one did yields the same entry again, which is no news to users nor to the model."""
    from recode_lsp.engine.knowledge import iter_jsonl, shipped_files
    from recode_lsp.kb import overlay

    facts = set()
    for name, text in shipped_files():
        for change in iter_jsonl(text, name):
            facts.add(fact_of(_change_record(change)))
    if overlay_file.is_file():
        for entry in overlay.loads(overlay_file.read_text(encoding="utf-8"), str(overlay_file)):
            facts.add(fact_of(entry.record))
    return facts


def _change_record(change: Any) -> dict[str, Any]:
    def text(value: Any) -> Any:
        return None if value is None else str(getattr(value, "value", value))

    return {key: text(getattr(change, key, None)) for key in FACT_KEYS}


def step_review(ctx: RunContext) -> dict[str, Any]:
    """Put the accepted entries in the overlay: all of them, or (``review: true``) those a person approved."""
    from recode_lsp.engine.knowledge import KnowledgeBaseError
    from recode_lsp.kb import overlay

    scraped_file = ctx.folder("scrape") / "scraped.jsonl"
    entries = overlay.loads(scraped_file.read_text(encoding="utf-8"), str(scraped_file))
    approval_file = ctx.folder("review") / APPROVAL_FILE
    if ctx.config.review:
        if not approval_file.is_file():
            raise AwaitingReview(
                f"{len(entries)} scraped entries wait for review: read them with "
                f"`recode-kb scrape`'s text view or `recode-kb review {scraped_file} --overlay FILE`, then run "
                f"`recode-train update --approve {ctx.root}` (all) or `--approve {ctx.root} --accept ID,...`"
            )
        approval = json.loads(approval_file.read_text(encoding="utf-8"))
        wanted = approval.get("accepted")
        accepted = entries if wanted is None else [e for e in entries if e.record["id"] in set(wanted)]
        who = f"approved by {approval.get('by', 'a person')} at {approval.get('at', '?')}"
    else:
        accepted = list(entries)
        who = "accepted without review (review: false)"
    overlay_file = ctx.overlay()
    known = known_facts(overlay_file)
    already = [e for e in accepted if fact_of(e.record) in known]
    accepted = [e for e in accepted if fact_of(e.record) not in known]
    overlay_file.parent.mkdir(parents=True, exist_ok=True)
    merged = overlay.merge_into(overlay_file, accepted)  # ids renumbered where the overlay uses them already
    try:
        overlay.validate_text(overlay_file.read_text(encoding="utf-8"), str(overlay_file))
    except KnowledgeBaseError as exc:
        raise StepError(f"the overlay {overlay_file} does not load after the merge: {exc}") from None
    overlay.write(ctx.folder("review") / "accepted.jsonl", accepted)
    return {
        "accepted": len(accepted),
        "rejected": len(entries) - len(accepted) - len(already),
        "already_known": [e.record["old"] for e in already],
        "accepted_ids": [e.record["id"] for e in accepted],
        "overlay": str(overlay_file),
        "overlay_entries": len(merged),
        "how": who,
    }


# --------------------------------------------------------------------------- 3. findings


def python_files(folder: Path) -> list[Path]:
    """``.py`` files under ``folder`` outside hidden folders, in a stable order."""
    out: list[Path] = []
    for directory, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        out.extend(Path(directory, name) for name in sorted(names) if name.endswith(".py"))
    return out


def step_findings(ctx: RunContext) -> dict[str, Any]:
    """What the accepted entries give ``recode-migrate`` at once on the user's corpus, before any training.

    The engine ``recode-migrate`` runs (detect, then fix and validate, targeting the new
    release) with the overlay, counting only findings and fixes of the new entries.
    """
    from recode_lsp.engine import DetectOptions, SourceError, analyse, detect, fix_and_validate
    from recode_lsp.engine.versions import Version

    corpus = Path(ctx.config.findings.corpus or ctx.config.mine.corpus)
    if not corpus.is_dir():
        return {"corpus": str(corpus), "files": 0, "note": "no such folder: nothing measured"}
    kb = ctx.kb_after()
    new_ids = set(ctx.new_ids())
    options = DetectOptions(targets={ctx.library: Version(ctx.new)})
    per_change: dict[str, dict[str, Any]] = defaultdict(lambda: {"findings": 0, "safe_fixes": 0, "examples": []})
    files_with = 0
    total = safe = unsafe = 0
    files = python_files(corpus)
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            analysis = analyse(source, str(path))
            every = detect(source, kb, options, str(path), analysis=analysis)
        except (SourceError, UnicodeDecodeError, OSError, RecursionError, ValueError):
            continue
        findings = [f for f in every if f.code in new_ids]
        if not findings:
            continue
        files_with += 1
        total += len(findings)
        for finding in findings:
            row = per_change[finding.code]
            row["findings"] += 1
            if len(row["examples"]) < 3:
                row["examples"].append(f"{path.relative_to(corpus)}:{finding.range.start.line + 1}")
        # The new entries' fixes, validated against the whole file's findings (as recode-migrate --select).
        outcome = fix_and_validate(analysis, every, kb, options, unsafe=False, path=str(path), selected=findings)
        safe += len(outcome.applied)
        for fixed in outcome.applied:
            per_change[fixed.code]["safe_fixes"] += 1
        with_unsafe = fix_and_validate(analysis, every, kb, options, unsafe=True, path=str(path), selected=findings)
        unsafe += len(with_unsafe.applied)
    return {
        "corpus": str(corpus),
        "files": len(files),
        "files_with_findings": files_with,
        "findings": total,
        "safe_fixes": safe,
        "fixes_with_unsafe": unsafe,
        "per_change": dict(sorted(per_change.items())),
    }


# --------------------------------------------------------------------------- 4. mine


def _normalised(code: str) -> str:
    from model_training.rewards import normalise_code

    return str(normalise_code(code))


def existing_snippets(files: Sequence[str]) -> set[str]:
    """Normalised ``old_code`` of every record in the existing training files."""
    from model_training.data.recode_data import load_recode_jsonl

    seen: set[str] = set()
    for name in files:
        for record in load_recode_jsonl(name):
            seen.add(_normalised(record.old_code))
    return seen


def split_heldout(splits: Mapping[str, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, held-out) entries, no change family in both.

    The builder's split (families and shared snippets kept whole, ~80/10/10) gives the
    held-out set (``test``, else ``validation``). A handful of new changes often leaves both
    empty: then the smallest change family of the training entries is held out (when there
    are at least two), so the new changes are still scored on code the model was not trained on.
    """
    from model_training.data.build import entry_key

    train = list(splits.get("train", []))
    validation = list(splits.get("validation", []))
    test = list(splits.get("test", []))
    if test:
        return train + validation, test
    if validation:
        return train, validation
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in train:
        families[entry_key(entry, "family")].append(entry)
    if len(families) < 2:
        return train, []
    held = min(sorted(families), key=lambda name: len(families[name]))
    return [e for e in train if entry_key(e, "family") != held], families[held]


def step_mine(ctx: RunContext) -> dict[str, Any]:
    """Training data for the new changes from the corpus (the data builder), deduplicated and split by family."""
    from model_training.data.build import (
        BuildError,
        TeacherSettings,
        _to_record,
        build,
        entry_key,
        leaks,
    )
    from model_training.data.recode_data import write_recode_jsonl

    settings = ctx.config.mine
    new_ids = set(ctx.new_ids())
    teacher = (
        TeacherSettings(
            settings.teacher_endpoint,
            settings.teacher_model,
            api_key=os.environ.get("RECODE_TEACHER_API_KEY") or None,
        )
        if settings.teacher_endpoint
        else None
    )
    try:
        result = build(
            Path(settings.corpus),
            jobs=settings.jobs,
            max_lines=settings.max_lines,
            seed=settings.seed,
            max_per_change=settings.max_per_change,
            max_per_family=settings.max_per_family,
            max_mechanical_share=settings.max_mechanical_share,
            teacher=teacher,
            extra_changes=[ctx.overlay()],
        )
    except BuildError as exc:
        raise StepError(str(exc)) from None
    seen = existing_snippets(settings.existing)
    dropped_existing = 0
    splits: dict[str, list[dict[str, Any]]] = {}
    for name, entries in result.splits.items():
        kept = []
        for entry in entries:
            if entry["change_id"] not in new_ids:
                continue
            if _normalised(entry["old_code"]) in seen:
                dropped_existing += 1
                continue
            kept.append(entry)
        splits[name] = kept
    train, heldout = split_heldout(splits)
    shared, families_in_both = leaks({"train": train, "heldout": heldout})
    folder = ctx.folder("mine")
    write_recode_jsonl([_to_record(e) for e in train], folder / "train.jsonl")
    maybe_kill("mine")
    write_recode_jsonl([_to_record(e) for e in heldout], folder / "heldout.jsonl")
    family_table: dict[str, dict[str, int]] = defaultdict(lambda: {"train": 0, "heldout": 0})
    for split, entries in (("train", train), ("heldout", heldout)):
        for entry in entries:
            family_table[entry_key(entry, "family")][split] += 1
    summary = {
        "corpus": settings.corpus,
        "files": result.files,
        "candidates_all_changes": result.stats.get("candidates", 0),
        "dropped_as_existing": dropped_existing,
        "train": len(train),
        "heldout": len(heldout),
        "families": dict(sorted(family_table.items())),
        "changes_with_data": sorted({e["change_id"] for e in train + heldout}),
        "changes_without_data": sorted(new_ids - {e["change_id"] for e in train + heldout}),
        "leaks": {"snippets": shared, "families": families_in_both},
        "teacher": settings.teacher_endpoint,
        "data_hash": sha256_file(folder / "train.jsonl"),
        "train_file": str(folder / "train.jsonl"),
        "heldout_file": str(folder / "heldout.jsonl"),
    }
    if len(train) < settings.min_entries:
        write_json(folder / "summary.json", summary)
        raise StepError(
            f"only {len(train)} training entries for the new changes (mine.min_entries {settings.min_entries}): "
            f"the corpus {settings.corpus} has too few uses of {', '.join(sorted(new_ids)) or 'them'}; add code "
            "that uses the old API (mine.corpus), a teacher (mine.teacher_endpoint), or lower mine.min_entries"
        )
    return summary


# --------------------------------------------------------------------------- 5. train


def current_adapter(ctx: RunContext) -> tuple[str | None, str | None]:
    """The adapter that serves the alias now (name, folder), or (None, None) for the base model.

    The running server's state says it when ``--server`` is given; otherwise the registry's
    promotion history (what ``recode-serve adapters promote`` and this loop record) does.
    """
    from serving.registry import AdapterRegistry

    registry = AdapterRegistry(ctx.config.serve.registry)
    if ctx.server_state is not None:
        from serving.state import StateStore

        state = StateStore(ctx.server_state).load()
        if state is not None:
            if state.current is None:
                return None, None
            if state.current in registry:
                return state.current, str(registry.get(state.current).path)
            return state.current, state.known.get(state.current) or state.adapters.get(state.current)
    history = registry.history(ctx.config.serve.alias)
    if history and history[-1].promoted in registry:
        name = history[-1].promoted
        return name, str(registry.get(name).path)
    return None, None


def base_model(ctx: RunContext) -> str:
    """The base model: the update config's, else the training config's ``model.name_or_path``."""
    from model_training.cli import load_method_config

    if ctx.config.train.base_model:
        return ctx.config.train.base_model
    train = ctx.config.train
    return str(load_method_config(train.method, train.config, train.overrides).model.name_or_path)


def _continuing_class(parent_class: type, parent: str) -> type:
    """``parent_class`` (TRL's ``GRPOTrainer`` or DAPO's subclass) starting from the adapter in ``parent``.

    ``run_rl`` passes the base model's name; the adapter is loaded over it as trainable, so
    training continues the promoted adapter's weights (its rank and modules, not the config's
    ``peft``). TRL keeps a frozen copy as the KL reference when ``beta`` is not 0.
    """

    class Continuing(parent_class):
        def __init__(self, model: str, peft_config: Any = None, **kwargs: Any) -> None:
            from peft import PeftModel
            from transformers import AutoModelForCausalLM

            init = dict(getattr(kwargs["args"], "model_init_kwargs", None) or {})
            base = AutoModelForCausalLM.from_pretrained(model, **init)
            peft_model = PeftModel.from_pretrained(base, parent, is_trainable=True)
            super().__init__(model=peft_model, peft_config=None, **kwargs)

    return Continuing


def _kill_callback() -> list[Any]:
    """A callback that kills the run after the first optimizer step (the resume test's crash)."""
    if os.environ.get(KILL_ENV) != "train":
        return []
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            maybe_kill("train")

    return [Kill()]


TRAIN_RESULT = "result.json"
TRAIN_PARENT = "parent.json"


def step_train(ctx: RunContext) -> dict[str, Any]:
    """Continue GRPO or DAPO from the promoted adapter (or the base model) on the mined data.

    With ``train.launcher`` the training runs as ``LAUNCHER -m model_training.update.train_worker RUN``
    (e.g. ``accelerate launch`` over 8 GPUs, every rank running :func:`train_here`); the parent
    adapter is chosen here, once, before the processes start.
    """
    import subprocess

    folder = ctx.folder("train")
    parent, parent_path = current_adapter(ctx)
    write_json(folder / TRAIN_PARENT, {"parent": parent, "parent_path": parent_path})
    if not ctx.config.train.launcher:
        return train_here(ctx)
    command = [*ctx.config.train.launcher, "-m", "model_training.update.train_worker", str(ctx.root)]
    ctx.say("  " + " ".join(command))
    done = subprocess.run(command, check=False)
    result = folder / TRAIN_RESULT
    if done.returncode != 0 or not result.is_file():
        raise StepError(f"training failed (exit {done.returncode}): {' '.join(command)}")
    data = json.loads(result.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def train_here(ctx: RunContext) -> dict[str, Any]:
    """The training itself, in this process (or on every rank of a launcher); the main process writes
    :data:`TRAIN_RESULT` and returns the summary."""
    from model_training.cli import load_method_config
    from model_training.train.grpo import run_rl

    settings = ctx.config.train
    chosen = json.loads((ctx.folder("train") / TRAIN_PARENT).read_text(encoding="utf-8"))
    parent, parent_path = chosen["parent"], chosen["parent_path"]
    base = base_model(ctx)
    out = ctx.folder("train") / "out"
    overrides = [
        *settings.overrides,
        f"model.name_or_path={base}",
        f"data.train_file={ctx.done['mine']['train_file']}",
        f"output_dir={out}",
        f"adapter_name={ctx.adapter_name}",
    ]
    config = load_method_config(settings.method, settings.config, overrides)
    kwargs: dict[str, Any] = {}
    trainer_class: type
    if settings.method == "dapo":
        from model_training.train.dapo import dynamic_sampling_trainer_class

        trainer_class = dynamic_sampling_trainer_class()
        kwargs["trainer_kwargs"] = {
            "dynamic_sampling": config.dynamic_sampling,
            "max_sampling_rounds": config.max_sampling_rounds,
        }
        if config.overlong_punishment:
            from trl.rewards import get_soft_overlong_punishment

            max_len = int(config.trainer.get("max_completion_length", 1024))
            kwargs["extra_rewards"] = [get_soft_overlong_punishment(max_len, config.overlong_cache)]
    else:
        from trl import GRPOTrainer

        trainer_class = GRPOTrainer
    if parent_path is not None:
        trainer_class = _continuing_class(trainer_class, parent_path)
    started = time.perf_counter()
    adapter = run_rl(
        config,
        method=settings.method,
        trainer_class=trainer_class,
        callbacks=_kill_callback(),
        **kwargs,
    )
    if int(os.environ.get("RANK", "0")) != 0:
        return {}
    # TRL's frozen KL reference copy of a continued adapter is saved as a second adapter: not ours to serve.
    shutil.rmtree(adapter / "ref", ignore_errors=True)
    metadata = json.loads((adapter / "recode_adapter.json").read_text(encoding="utf-8"))
    curve = metadata.get("reward_curve") or []
    summary = {
        "method": settings.method,
        "config": settings.config,
        "adapter": str(adapter),
        "parent": parent,
        "parent_path": parent_path,
        "base_model": base,
        "steps": int(config.trainer.get("max_steps", 0)),
        "reward_first": curve[0][1] if curve else None,
        "reward_last": curve[-1][1] if curve else None,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    write_json(ctx.folder("train") / TRAIN_RESULT, summary)
    return summary


# --------------------------------------------------------------------------- 6. evaluate


def stage_model(adapter: str | None, base: str, dest: Path) -> str:
    """A folder the harness's ``local:PATH`` loads: the base model itself, or a copy of the adapter
    with the base's tokenizer beside it and ``base_model_name_or_path`` pointing at ``base``."""
    if adapter is None:
        return base
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(adapter, dest, ignore=shutil.ignore_patterns("ref", "checkpoint-*"))
    config_file = dest / "adapter_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base
    config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    base_folder = Path(base)
    if base_folder.is_dir():
        for name in TOKENIZER_FILES:
            if (base_folder / name).is_file() and not (dest / name).exists():
                shutil.copy2(base_folder / name, dest / name)
    else:
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(base).save_pretrained(str(dest))
    return str(dest)


def standing_pass_at_1(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """pass@1 of the ``model`` system over the standing tasks that ran and whose reference passes."""
    from model_training.eval.passk import mean_pass_at_k
    from model_training.eval.run import REFERENCE, latest

    rows = latest(rows)
    broken = {r["task_id"] for r in rows if r["system"] == REFERENCE and r["status"] == "run" and not r["passed"]}
    counts: dict[str, tuple[int, int]] = {}
    unavailable = 0
    for row in rows:
        if row["system"] != "model" or row["task_id"] in broken:
            continue
        if row["status"] != "run":
            unavailable += 1
            continue
        n, c = counts.get(row["task_id"], (0, 0))
        counts[row["task_id"]] = (n + 1, c + bool(row["passed"]))
    value = mean_pass_at_k(list(counts.values()), 1) if counts else None
    return {"pass@1": value, "tasks": len(counts), "broken": len(broken), "env_unavailable": unavailable}


def _heldout_scores(ctx: RunContext, model_path: str) -> dict[str, Any]:
    from model_training.data.recode_data import load_recode_jsonl
    from model_training.eval.local_model import LocalModel
    from model_training.train.common import prompt_rows
    from model_training.train.evaluate import detector_check, evaluate_model

    settings = ctx.config.eval
    records = load_recode_jsonl(ctx.done["mine"]["heldout_file"])[: settings.heldout_max]
    if not records:
        return {"n": 0, "note": "no held-out entries (one change family only)"}
    local = LocalModel(model_path)
    rows, _ = prompt_rows(records, local.tokenizer)
    scores = evaluate_model(
        local.model,
        local.tokenizer,
        rows,
        max_new_tokens=settings.heldout_max_new_tokens,
        old_api_gone=detector_check(ctx.kb_after()),
    )
    return scores.as_dict()


def _standing_scores(ctx: RunContext, model_path: str, which: str) -> dict[str, Any]:
    from model_training.eval.codemenv import CodemenvError, load_tasks
    from model_training.eval.envs import EnvCache
    from model_training.eval.run import evaluate
    from model_training.eval.sandbox import Limits
    from model_training.eval.systems import ModelConfig

    settings = ctx.config.eval
    if not settings.standing_set:
        return {"pass@1": None, "tasks": 0, "note": "no standing set configured (eval.standing_set)"}
    try:
        tasks = load_tasks(
            settings.standing_set,
            splits=settings.standing_splits,
            packages=settings.standing_packages,
            limit_per_package=settings.standing_limit_per_package,
        )
    except CodemenvError as exc:
        raise StepError(f"standing set: {exc}") from None
    results = ctx.folder("evaluate") / f"standing-{which}.jsonl"
    envs = EnvCache(
        Path(settings.env_cache) if settings.env_cache else None, approximate_python=settings.approximate_python
    )
    model = ModelConfig(
        endpoint="local:" + model_path,
        name=which,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
    )
    rows = evaluate(
        tasks,
        ["model"],
        results,
        envs=envs,
        limits=Limits(wall_seconds=settings.timeout, cpu_seconds=max(1, int(settings.timeout))),
        jobs=settings.jobs,
        self_check=True,
        model=model,
        samples=settings.samples,
        progress=False,
    )
    return {**standing_pass_at_1(rows), "results": str(results)}


def step_evaluate(ctx: RunContext) -> dict[str, Any]:
    """Score the current and the new adapter on the held-out new changes and the standing set.

    Same tasks, same decoding, same per-sample seeds for both; each model's scores are written
    as soon as they exist, so a rerun of a killed evaluation redoes only what is missing.
    """
    train = ctx.done["train"]
    folder = ctx.folder("evaluate")
    base = train["base_model"]
    models = {"current": train["parent_path"], "new": train["adapter"]}
    scores: dict[str, Any] = {}
    for which, adapter in models.items():
        scores_file = folder / f"{which}.json"
        if scores_file.is_file():
            scores[which] = json.loads(scores_file.read_text(encoding="utf-8"))
            continue
        ctx.say(f"  evaluating the {which} model ({adapter or base})")
        path = stage_model(adapter, base, folder / "models" / which)
        result = {
            "model": adapter or base,
            "adapter": train["parent"] if which == "current" else ctx.adapter_name,
            "new_changes": _heldout_scores(ctx, path),
            "standing": _standing_scores(ctx, path, which),
        }
        write_json(scores_file, result)
        scores[which] = result
        maybe_kill("evaluate")
    return scores


# --------------------------------------------------------------------------- 7. register


def flat_scores(scores: Mapping[str, Any]) -> dict[str, float]:
    """``{"standing.pass@1": 0.4, "new_changes.reward": 1.2, ...}``: the numbers of one model's scores."""
    out: dict[str, float] = {}
    for group in ("standing", "new_changes"):
        for key, value in (scores.get(group) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                out[f"{group}.{key}"] = float(value)
    return out


def step_register(ctx: RunContext) -> dict[str, Any]:
    """Register the new adapter with its scores, data hash and lineage (its parent adapter)."""
    from serving.registry import AdapterRegistry, RegistryError

    train = ctx.done["train"]
    adapter = Path(train["adapter"])
    lineage = {
        "parent": train["parent"],
        "parent_path": train["parent_path"],
        "library": ctx.library,
        "from": ctx.old,
        "to": ctx.new,
        "changes": ctx.new_ids(),
        "run": str(ctx.root),
        "method": train["method"],
    }
    # The trainer's record becomes the version's training.json (sealed by the registry's manifest).
    meta_file = adapter / "recode_adapter.json"
    metadata = json.loads(meta_file.read_text(encoding="utf-8"))
    metadata["lineage"] = lineage
    metadata["update_scores"] = ctx.done["evaluate"]["new"]
    write_json(meta_file, metadata)
    registry = AdapterRegistry(ctx.config.serve.registry)
    scores = flat_scores(ctx.done["evaluate"]["new"])
    try:
        if ctx.adapter_name in registry:  # registered by a run killed before its DONE marker
            version = registry.get(ctx.adapter_name)
        else:
            version = registry.register(
                adapter, ctx.adapter_name, data_hash=ctx.done["mine"]["data_hash"], scores=scores
            )
    except RegistryError as exc:
        raise StepError(str(exc)) from None
    return {
        "name": version.name,
        "path": str(version.path),
        "registry": str(registry.root),
        "data_hash": version.data_hash,
        "scores": version.scores,
        "lineage": lineage,
    }


def read_lineage(version_path: str | Path) -> dict[str, Any]:
    """The lineage a registered version's ``training.json`` records ({} for adapters not made by the loop)."""
    try:
        data = json.loads((Path(version_path) / "training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    lineage = data.get("lineage") if isinstance(data, dict) else None
    return lineage if isinstance(lineage, dict) else {}


# --------------------------------------------------------------------------- 8. promote


def decide(scores: Mapping[str, Any], ctx: RunContext) -> dict[str, Any]:
    """Promote or keep, with the reason in numbers."""
    settings = ctx.config.decision
    current, new = scores["current"], scores["new"]
    standing_metric, changes_metric = settings.standing_metric, settings.new_changes_metric
    cur_s = (current.get("standing") or {}).get(standing_metric)
    new_s = (new.get("standing") or {}).get(standing_metric)
    cur_c = (current.get("new_changes") or {}).get(changes_metric)
    new_c = (new.get("new_changes") or {}).get(changes_metric)
    reasons: list[str] = []
    if cur_s is None or new_s is None:
        standing_ok = True
        reasons.append(f"no standing-set {standing_metric} to compare (eval.standing_set): not a reason to keep")
    else:
        standing_ok = new_s >= cur_s - settings.standing_tolerance
        reasons.append(
            f"standing set {standing_metric}: new {new_s:.4f} vs current {cur_s:.4f} "
            f"(tolerance {settings.standing_tolerance:g}): {'as good' if standing_ok else 'worse'}"
        )
    if cur_c is None or new_c is None:
        better = False
        reasons.append(f"held-out new changes {changes_metric}: not measured (no held-out entries), so not better")
    else:
        better = new_c > cur_c + settings.new_changes_margin
        reasons.append(
            f"held-out new changes {changes_metric}: new {new_c:.4f} vs current {cur_c:.4f} "
            f"(margin {settings.new_changes_margin:g}): {'better' if better else 'not better'}"
        )
    promote = standing_ok and better
    return {
        "promote": promote,
        "standing_ok": standing_ok,
        "better_on_new_changes": better,
        "standing": {"metric": standing_metric, "current": cur_s, "new": new_s},
        "new_changes": {"metric": changes_metric, "current": cur_c, "new": new_c},
        "reasons": reasons,
        "summary": (
            f"promote {ctx.adapter_name}: " if promote else f"keep {ctx.done['train']['parent'] or 'the base model'}: "
        )
        + "; ".join(reasons),
    }


def step_promote(ctx: RunContext) -> dict[str, Any]:
    """Promote the new adapter (into the running server when ``--server`` is given) only when it wins."""
    from serving.config import ServeError
    from serving.registry import AdapterRegistry

    decision = decide(ctx.done["evaluate"], ctx)
    write_json(ctx.folder("promote") / "decision.json", decision)
    name = ctx.done["register"]["name"]
    out: dict[str, Any] = {"decision": decision, "promoted": False, "where": None}
    if not decision["promote"]:
        return out
    if not ctx.config.serve.promote:
        out["where"] = "not promoted: serve.promote is false (promote by hand: recode-serve adapters promote NAME)"
        return out
    registry = AdapterRegistry(ctx.config.serve.registry)
    if ctx.server_state is not None:
        from serving.control import AdapterControl
        from serving.state import StateStore

        store = StateStore(ctx.server_state)
        state = store.load()
        if state is not None and state.current == name:  # promoted by a run killed before its DONE marker
            out.update(promoted=True, where=f"server {state.url} (already serving {name})")
            return out
        try:
            result = AdapterControl(store, registry).promote(name, drain_timeout=ctx.config.serve.drain_timeout)
        except ServeError as exc:
            raise StepError(f"promote into the server failed (the current adapter still serves): {exc}") from None
        out.update(
            promoted=True,
            where=f"server {state.url if state else ctx.server_state}",
            alias=result.alias,
            previous=result.previous,
            swap_seconds={
                "load": result.load_s,
                "check": result.check_s,
                "drain": result.drain_s,
                "total": result.total_s,
            },
        )
        return out
    history = registry.history(ctx.config.serve.alias)
    if not (history and history[-1].promoted == name):
        train = ctx.done["train"]
        registry.record_promotion(ctx.config.serve.alias, train["parent"], train["parent_path"], name)
    out.update(
        promoted=True,
        where=(
            f"registry {registry.root} (alias {ctx.config.serve.alias!r}; no --server: start or promote it with "
            f"`recode-serve adapters promote {name}`)"
        ),
    )
    return out


STEP_FUNCTIONS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "scrape": step_scrape,
    "review": step_review,
    "findings": step_findings,
    "mine": step_mine,
    "train": step_train,
    "evaluate": step_evaluate,
    "register": step_register,
    "promote": step_promote,
}


def scraped_entries(ctx: RunContext) -> list[ScrapedEntry]:
    """The entries the scrape step wrote (for ``--approve`` and the report)."""
    from recode_lsp.kb import overlay

    path = ctx.folder("scrape") / "scraped.jsonl"
    return overlay.loads(path.read_text(encoding="utf-8"), str(path))
