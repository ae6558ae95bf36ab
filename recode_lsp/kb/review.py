"""Review scraped entries: a person accepts, rejects or edits each; accepted ones go to an overlay."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from recode_lsp.engine.knowledge import KnowledgeBaseError, parse_entry
from recode_lsp.kb.scrape import ScrapedEntry


def describe(entry: ScrapedEntry) -> str:
    """A few lines a reviewer reads to decide."""
    r = entry.record
    what = f"{r['old']}({r['old_keyword']}=)" if r.get("old_keyword") else r["old"]
    versions = ", ".join(
        f"{k.replace('_in', '')} in {r[k]}" for k in ("deprecated_in", "removed_in", "restored_in") if r.get(k)
    )
    lines = [f"{r['id']}  {r['kind']}  {what}  [{versions}]  fix={r['fix']}  confidence={entry.confidence:.2f}"]
    target = r.get("new") or (f"{r['new_keyword']}=" if r.get("new_keyword") else None) or r.get("replacement")
    if target:
        lines.append(f"  -> {target}")
    if r.get("note"):
        lines.append(f"  note: {r['note']}")
    for evidence in entry.provenance.get("evidence", [])[:3]:
        lines.append(
            f"  evidence: {evidence.get('what')} at {evidence.get('file')}:{evidence.get('line')} "
            f"({evidence.get('old_version')} -> {evidence.get('new_version')})"
        )
    if r.get("doc"):
        lines.append("  doc: " + r["doc"].splitlines()[0][:150])
    return "\n".join(lines)


def _edit(entry: ScrapedEntry, editor: str) -> ScrapedEntry:
    """Open the entry's JSON in ``editor``; the edited entry must still validate."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(entry.record, handle, indent=2, ensure_ascii=False)
        name = handle.name
    try:
        subprocess.run([*shlex.split(editor), name], check=False)
        record = json.loads(Path(name).read_text(encoding="utf-8"))
    finally:
        os.unlink(name)
    parse_entry(record, f"edited {entry.record['id']}")
    return ScrapedEntry(record, entry.confidence, {**entry.provenance, "edited": True})


def interactive(
    entries: Sequence[ScrapedEntry],
    *,
    ask: Callable[[str], str] = input,
    out: TextIO,
    editor: str | None = None,
) -> list[ScrapedEntry]:
    """Ask about each entry in turn: [a]ccept, [r]eject, [e]dit, accept [A]ll the rest, [q]uit."""
    accepted: list[ScrapedEntry] = []
    editor = editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    for index, entry in enumerate(entries):
        out.write(f"\n[{index + 1}/{len(entries)}] {describe(entry)}\n")
        while True:
            try:
                answer = ask("accept [a], reject [r], edit [e], accept all the rest [A], quit [q]? ").strip()
            except EOFError:
                answer = "q"
            if answer in ("a", "y"):
                accepted.append(entry)
                break
            if answer in ("r", "n", ""):
                break
            if answer == "A":
                return accepted + list(entries[index:])
            if answer == "q":
                return accepted
            if answer == "e":
                try:
                    entry = _edit(entry, editor)
                except (KnowledgeBaseError, ValueError) as exc:
                    out.write(f"  not accepted: {exc}\n")
                    continue
                out.write(describe(entry) + "\n")
                continue
            out.write("  answer a, r, e, A or q\n")
    return accepted


def select(
    entries: Sequence[ScrapedEntry], *, ids: Sequence[str] = (), everything: bool = False
) -> list[ScrapedEntry]:
    """The entries accepted without asking (``--accept-all`` / ``--accept ID,...``)."""
    if everything:
        return list(entries)
    known = {e.record["id"] for e in entries}
    missing = [i for i in ids if i not in known]
    if missing:
        raise KeyError(", ".join(missing))
    wanted = set(ids)
    return [e for e in entries if e.record["id"] in wanted]
