"""The run report: ``report.md`` for people, ``report.json`` for scripts, rewritten after every step.

It puts both adapters' scores side by side, states the decision with its numbers, and says
what the update gave users before any training: the findings and fixes the accepted entries
give ``recode-migrate`` on the configured corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_training.update.config import STEPS
from model_training.update.steps import write_json

if TYPE_CHECKING:
    from model_training.update.run import RunFolder
    from model_training.update.steps import RunContext


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def report_data(folder: RunFolder, ctx: RunContext, status: str | None, message: str) -> dict[str, Any]:
    """Everything the report shows, as JSON-able data."""
    steps = []
    for step in STEPS:
        data = ctx.done.get(step)
        steps.append({"step": step, "done": data is not None, "seconds": data.get("seconds") if data else None})
    return {
        "library": ctx.library,
        "from": ctx.old,
        "to": ctx.new,
        "run": str(folder.root),
        "adapter_name": ctx.adapter_name,
        "status": status or "running",
        "message": message,
        "steps": steps,
        "results": ctx.done,
    }


def markdown(data: dict[str, Any]) -> str:
    """The Markdown report."""
    done = data["results"]
    lines = [
        f"# Update {data['library']} {data['from']} -> {data['to']}",
        "",
        f"Run folder `{data['run']}`; status **{data['status']}**"
        + (f": {data['message']}" if data["message"] else ""),
        "",
        "| step | done | seconds |",
        "|---|---|---:|",
    ]
    for step in data["steps"]:
        seconds = "" if step["seconds"] is None else f"{step['seconds']:.1f}"
        lines.append(f"| {step['step']} | {'yes' if step['done'] else 'no'} | {seconds} |")
    lines.append("")
    if "scrape" in done:
        scrape = done["scrape"]
        lines += [
            "## Scraped changes",
            "",
            (
                f"{scrape['entries']} entries ({', '.join(f'{n} {k}' for k, n in scrape['kinds'].items()) or 'none'});"
                " "
                f"{scrape['below_confidence']} below the confidence threshold."
            ),
            "",
        ]
    if "review" in done:
        review = done["review"]
        lines += [
            (
                f"{review['accepted']} accepted ({review['how']}), {review['rejected']} rejected; "
                f"overlay `{review['overlay']}` now holds {review['overlay_entries']} entries: "
                f"{', '.join(review['accepted_ids']) or 'none'}."
            ),
            "",
        ]
        if review.get("already_known"):
            lines += [f"Already in the knowledge base, unchanged (not new): {', '.join(review['already_known'])}.", ""]
    if "findings" in done:
        findings = done["findings"]
        lines += ["## What the update did for users at once (no training)", ""]
        if findings.get("note"):
            lines += [f"Corpus `{findings['corpus']}`: {findings['note']}.", ""]
        else:
            lines += [
                (
                    f"`recode-migrate` with the overlay, on `{findings['corpus']}` ({findings['files']} files): "
                    f"**{findings['findings']} new findings** in {findings['files_with_findings']} files, "
                    f"**{findings['safe_fixes']} safe fixes** ({findings['fixes_with_unsafe']} with --unsafe-fixes)."
                ),
                "",
            ]
            if findings["per_change"]:
                lines += ["| change | findings | safe fixes | examples |", "|---|---:|---:|---|"]
                for change_id, row in findings["per_change"].items():
                    examples = ", ".join(row["examples"])
                    lines.append(f"| {change_id} | {row['findings']} | {row['safe_fixes']} | {examples} |")
                lines.append("")
    if "mine" in done:
        mine = done["mine"]
        lines += [
            "## Training data",
            "",
            (
                f"{mine['train']} training and {mine['heldout']} held-out entries from `{mine['corpus']}` "
                f"({mine['dropped_as_existing']} dropped as already in the existing data); "
                f"data hash `{mine['data_hash']}`."
            ),
            "",
            "| change family | train | held out |",
            "|---|---:|---:|",
        ]
        lines += [f"| {family} | {row['train']} | {row['heldout']} |" for family, row in mine["families"].items()]
        if mine["changes_without_data"]:
            lines.append("")
            lines.append(f"No data for: {', '.join(mine['changes_without_data'])} (no uses in the corpus).")
        lines.append("")
    if "train" in done:
        train = done["train"]
        lines += [
            "## Training",
            "",
            (
                f"{train['method'].upper()} ({train['config']}), {train['steps']} steps "
                f"in {train['train_seconds']} s, from "
                f"{train['parent'] or 'the base model'} on {train['base_model']}; "
                f"reward {_number(train['reward_first'])} "
                f"-> {_number(train['reward_last'])}."
            ),
            "",
        ]
    if "evaluate" in done:
        evaluate = done["evaluate"]
        current, new = evaluate["current"], evaluate["new"]
        lines += [
            "## Scores (same tasks, same seeds)",
            "",
            f"| metric | current ({current['adapter'] or 'base model'}) | new ({new['adapter']}) |",
            "|---|---:|---:|",
        ]
        for group, title in (("standing", "standing set"), ("new_changes", "held-out new changes")):
            keys = [k for k, v in (new.get(group) or {}).items() if isinstance(v, (int, float)) or v is None]
            for key in keys:
                lines.append(
                    f"| {title} {key} | {_number((current.get(group) or {}).get(key))} | "
                    f"{_number((new.get(group) or {}).get(key))} |"
                )
        lines.append("")
    if "register" in done:
        register = done["register"]
        lines += [
            (
                f"Registered **{register['name']}** in `{register['registry']}` (parent "
                f"{register['lineage']['parent'] or 'base model'}, data `{register['data_hash']}`)."
            ),
            "",
        ]
    if "promote" in done:
        promote = done["promote"]
        decision = promote["decision"]
        verdict = (
            "PROMOTED" if promote["promoted"] else ("KEPT the current adapter" if not decision["promote"] else "")
        )
        lines += [
            "## Decision",
            "",
            f"**{verdict or 'not promoted'}**" + (f" ({promote['where']})" if promote["where"] else ""),
        ]
        lines += [""] + [f"- {reason}" for reason in decision["reasons"]]
        if promote.get("swap_seconds"):
            lines.append(f"- hot swap (seconds): {promote['swap_seconds']}")
        lines.append("")
        lines.append("Roll back with `recode-serve adapters rollback`.")
        lines.append("")
    return "\n".join(lines)


def write_report(folder: RunFolder, ctx: RunContext, status: str | None = None, message: str = "") -> Path:
    """Write ``report.json`` and ``report.md`` into the run folder; returns the Markdown file."""
    data = report_data(folder, ctx, status, message)
    write_json(folder.root / "report.json", data)
    path = folder.root / "report.md"
    path.write_text(markdown(json.loads(json.dumps(data, default=str))), encoding="utf-8")
    return path
