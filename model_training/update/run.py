"""The run folder and its state machine: each step once, in order, resumable after any crash.

A run folder holds ``run.json`` (the library, both versions, the configuration as resolved
when the run began, the new adapter's name), one folder per step (``01-scrape/`` ...
``08-promote/``) and ``events.jsonl`` (every start, skip, finish and failure, with times).
A step is done when its folder has ``DONE`` (its summary as JSON, written last and atomically);
a rerun skips done steps and redoes an unfinished one from the start, so a run killed in the
middle (a crash, a lost machine, ``kill -9``) resumes at the step it stopped in, and nothing
before it is redone. The report (``report.md`` and ``report.json``) is rewritten after every
step, so it also shows how far a stopped run got.

``recode-train update --watch LIB...`` keeps ``watch.json`` in the runs folder: per library,
the last release handled; each newer release gets a run (``<runs>/<lib>-<last>-<new>``).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from model_training.update.config import STEPS, UpdateConfig, config_from_dict, to_dict
from model_training.update.steps import (
    APPROVAL_FILE,
    STEP_FUNCTIONS,
    AwaitingReview,
    RunContext,
    StepError,
    write_json,
)

RUN_FILE = "run.json"
DONE_FILE = "DONE"
EVENTS_FILE = "events.jsonl"
WATCH_FILE = "watch.json"

#: What :func:`run_update` returns in ``status``.
DONE, AWAITING_REVIEW, FAILED, STOPPED = "done", "awaiting-review", "failed", "stopped"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunFolder:
    """One run's folder: its identity (``run.json``), its steps' markers and its event log."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def run_file(self) -> Path:
        return self.root / RUN_FILE

    def exists(self) -> bool:
        return self.run_file.is_file()

    def load(self) -> dict[str, Any]:
        data = json.loads(self.run_file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise StepError(f"{self.run_file}: not a run record")
        return data

    def create(self, library: str, old: str, new: str, config: UpdateConfig) -> dict[str, Any]:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        name = config.serve.adapter_name.format(library=library, old=old, new=new, stamp=stamp)
        data = {
            "format": "recode-update-run/1",
            "library": library,
            "old": old,
            "new": new,
            "created": _now(),
            "adapter_name": name,
            "config": to_dict(config),
        }
        write_json(self.run_file, data)
        return data

    def step_folder(self, step: str) -> Path:
        return self.root / f"{STEPS.index(step) + 1:02d}-{step}"

    def is_done(self, step: str) -> bool:
        return (self.step_folder(step) / DONE_FILE).is_file()

    def done_data(self, step: str) -> dict[str, Any]:
        data = json.loads((self.step_folder(step) / DONE_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def mark_done(self, step: str, summary: dict[str, Any], seconds: float) -> None:
        # The step's own keys first: ``seconds`` and ``at`` are the run's, whatever the summary holds.
        write_json(self.step_folder(step) / DONE_FILE, {**summary, "seconds": round(seconds, 2), "at": _now()})

    def event(self, step: str, what: str, **extra: Any) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / EVENTS_FILE).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"at": _now(), "pid": os.getpid(), "step": step, "event": what, **extra}) + "\n")

    def events(self) -> list[dict[str, Any]]:
        path = self.root / EVENTS_FILE
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


#: Files of an unfinished step that a redo keeps: a person's approval, and the evaluation's finished
#: models (it scores each model once and writes its scores at once; a redo scores only what is missing).
KEEP_ON_REDO = {
    "review": (APPROVAL_FILE,),
    "evaluate": ("current.json", "new.json", "standing-current.jsonl", "standing-new.jsonl"),
}


def clear_partial(step_folder: Path, step: str) -> None:
    """Remove what a killed attempt of ``step`` left (a half-written adapter, an appended log), but
    :data:`KEEP_ON_REDO`: a step is redone whole, from a clean folder."""
    if not step_folder.is_dir():
        return
    import shutil

    keep = KEEP_ON_REDO.get(step, ())
    for entry in step_folder.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def default_run_dir(config: UpdateConfig, library: str, old: str, new: str) -> Path:
    return Path(config.runs_dir) / f"{library}-{old}-{new}"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_update(
    library: str | None,
    old: str | None,
    new: str | None,
    config: UpdateConfig | None,
    *,
    run_dir: Path | None = None,
    server: Path | None = None,
    say: Callable[[str], None] = _say,
) -> dict[str, Any]:
    """Run (or resume) the loop in ``run_dir``; returns ``{"status": ..., "run": ..., "message": ...}``.

    A new run needs ``library``, ``old``, ``new`` and ``config``. An existing run folder is
    resumed with the configuration it recorded (``config`` is then ignored, and ``library``,
    ``old``, ``new`` must match when given).
    """
    from model_training.update.report import write_report

    if run_dir is None:
        if config is None or not (library and old and new):
            raise StepError("a new run needs LIB, --from and --to")
        run_dir = default_run_dir(config, library, old, new)
    folder = RunFolder(run_dir)
    if folder.exists():
        record = folder.load()
        given = {"library": library, "old": old, "new": new}
        clash = [f"{k} {v!r} (the run has {record[k]!r})" for k, v in given.items() if v and v != record[k]]
        if clash:
            raise StepError(f"{folder.root} is a run of another update: {', '.join(clash)}")
        say(f"resuming {folder.root} ({record['library']} {record['old']} -> {record['new']})")
    else:
        if config is None or not (library and old and new):
            raise StepError(f"{folder.root} holds no run; start one with LIB --from OLD --to NEW")
        record = folder.create(library, old, new, config)
        say(f"update {library} {old} -> {new} in {folder.root}")
    run_config = config_from_dict(record["config"])
    if server is None and record.get("server"):
        server = Path(record["server"])
    elif server is not None and record.get("server") != str(server):
        record["server"] = str(server)
        write_json(folder.run_file, record)
    ctx = RunContext(
        root=folder.root.resolve(),
        library=record["library"],
        old=record["old"],
        new=record["new"],
        config=run_config,
        adapter_name=record["adapter_name"],
        server_state=server,
        say=say,
    )
    last = run_config.stop_after or STEPS[-1]
    wanted = STEPS[: STEPS.index(last) + 1]
    status, message = DONE, ""
    for index, step in enumerate(wanted, start=1):
        label = f"[{index}/{len(wanted)}] {step}"
        if folder.is_done(step):
            ctx.done[step] = folder.done_data(step)
            folder.event(step, "skip")
            say(f"{label}: done before, skipped")
            continue
        step_folder = folder.step_folder(step)
        clear_partial(step_folder, step)
        step_folder.mkdir(parents=True, exist_ok=True)
        folder.event(step, "start")
        say(f"{label} ...")
        started = time.perf_counter()
        try:
            summary = STEP_FUNCTIONS[step](ctx)
        except AwaitingReview as exc:
            folder.event(step, "awaiting-review")
            status, message = AWAITING_REVIEW, str(exc)
            say(f"{label}: waiting for review: {message}")
            break
        except StepError as exc:
            folder.event(step, "failed", error=str(exc))
            status, message = FAILED, f"{step}: {exc}"
            say(f"{label}: FAILED: {exc}\n  fix it and rerun the same command (or --run-dir {folder.root}) to resume")
            break
        seconds = time.perf_counter() - started
        folder.mark_done(step, summary, seconds)
        ctx.done[step] = folder.done_data(step)
        folder.event(step, "done", seconds=round(seconds, 2))
        say(f"{label}: done in {seconds:.1f} s{_brief(step, summary)}")
        write_report(folder, ctx)
    else:
        if last != STEPS[-1]:
            status, message = STOPPED, f"stopped after {last} (stop_after)"
    report = write_report(folder, ctx, status=status, message=message)
    if status == DONE and "promote" in ctx.done:
        message = ctx.done["promote"]["decision"]["summary"]
        say(message)
    say(f"report: {report}")
    return {"status": status, "run": str(folder.root), "message": message, "report": str(report)}


def _brief(step: str, summary: dict[str, Any]) -> str:
    """A few words of a step's result for the progress display."""
    if step == "scrape":
        return f": {summary['entries']} entries {summary['kinds']}"
    if step == "review":
        return f": {summary['accepted']} accepted into {summary['overlay']}"
    if step == "findings":
        return f": {summary.get('findings', 0)} findings, {summary.get('safe_fixes', 0)} safe fixes"
    if step == "mine":
        return f": {summary['train']} training, {summary['heldout']} held-out entries"
    if step == "train":
        return f": {summary['adapter']} (parent {summary['parent'] or 'base model'})"
    if step == "register":
        return f": {summary['name']}"
    if step == "promote":
        return f": {'promoted' if summary['promoted'] else 'kept the current adapter'}"
    return ""


def approve(run_dir: Path, accept: Sequence[str] | None = None, by: str | None = None) -> Path:
    """Record a person's approval of a run's scraped entries (all, or the ids ``accept``)."""
    folder = RunFolder(run_dir)
    if not folder.exists():
        raise StepError(f"{run_dir} holds no run")
    if not folder.is_done("scrape"):
        raise StepError(f"{run_dir}: nothing scraped yet; run it first")
    if folder.is_done("review"):
        raise StepError(f"{run_dir}: the review is done already")
    from recode_lsp.kb import overlay

    scraped = folder.step_folder("scrape") / "scraped.jsonl"
    ids = {e.record["id"] for e in overlay.loads(scraped.read_text(encoding="utf-8"), str(scraped))}
    unknown = sorted(set(accept or ()) - ids)
    if unknown:
        raise StepError(f"no such scraped id in {scraped}: {', '.join(unknown)} (ids: {', '.join(sorted(ids))})")
    path = folder.step_folder("review") / APPROVAL_FILE
    write_json(path, {"accepted": list(accept) if accept is not None else None, "by": by or _user(), "at": _now()})
    return path


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --------------------------------------------------------------------------- --watch


def watch(
    libraries: Sequence[str],
    config: UpdateConfig,
    *,
    index: Path | None = None,
    since: str | None = None,
    server: Path | None = None,
    say: Callable[[str], None] = _say,
) -> dict[str, Any]:
    """Run the loop for every release newer than the last handled one, per library, oldest first.

    The first check of a library with no ``--since`` only records its newest release (the
    baseline); later checks update from there. A run that waits for review or fails stops
    that library's queue (a later release would build on data not yet accepted); the next
    check resumes it.
    """
    from recode_lsp.engine.versions import Version
    from recode_lsp.kb.releases import ReleaseError, available_versions

    state_file = Path(config.runs_dir) / WATCH_FILE
    state: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8")) if state_file.is_file() else {}
    if index is not None:
        config.scrape.dist = str(index)
    dist = Path(config.scrape.dist) if config.scrape.dist else None
    outcome: dict[str, Any] = {}
    for library in libraries:
        entry = state.setdefault(library, {"last_handled": None, "runs": []})
        try:
            versions = available_versions(library, dist_dir=dist)
        except ReleaseError as exc:
            say(f"{library}: {exc}")
            outcome[library] = {"error": str(exc)}
            continue
        if not versions:
            outcome[library] = {"error": "no releases found"}
            continue
        last = entry["last_handled"] or since
        if last is None:
            entry["last_handled"] = str(versions[-1])
            entry["checked"] = _now()
            write_json(state_file, state)
            say(f"{library}: first check, baseline {versions[-1]} recorded (pass --since V to update from V)")
            outcome[library] = {"baseline": str(versions[-1]), "runs": []}
            continue
        newer = [str(v) for v in versions if v > Version(last)]
        say(f"{library}: last handled {last}; newer: {', '.join(newer) or 'none'}")
        runs = []
        for version in newer:
            result = run_update(library, last, version, config, server=server, say=say)
            runs.append({"from": last, "to": version, **result})
            entry["runs"].append({"from": last, "to": version, "status": result["status"], "run": result["run"]})
            if result["status"] not in (DONE, STOPPED):
                say(f"{library}: {version} is {result['status']}; later releases wait for it")
                break
            last = version
            entry["last_handled"] = version
            write_json(state_file, state)
        entry["checked"] = _now()
        write_json(state_file, state)
        outcome[library] = {"last_handled": entry["last_handled"], "runs": runs}
    return outcome
