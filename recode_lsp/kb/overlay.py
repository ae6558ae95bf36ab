"""Reading and writing scraped entries and overlays (JSON Lines the loader accepts as they are).

Each entry is one line of the knowledge-base schema, ``confidence`` and ``provenance`` included
(optional schema keys: the loader keeps them on the change)::

    {"id": "KBLIB001", "library": "kblib", ..., "confidence": 0.9, "provenance": {"library": "kblib", ...}}

An overlay written this way can be named in ``[tool.recode] extra-changes`` at once. Files
written by earlier versions, with the two keys on a ``// recode-kb {...}`` comment line before
the entry (the loader skips ``//`` lines), are read too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from recode_lsp.engine.changes import ApiChange
from recode_lsp.engine.knowledge import (
    DATA_FOLDER,
    FIELDS,
    KnowledgeBase,
    KnowledgeBaseError,
    iter_jsonl,
    shipped_files,
)
from recode_lsp.kb.scrape import ScrapedEntry

META = "// recode-kb "
EXTRA_KEYS = ("confidence", "provenance")


def dumps(entries: Iterable[ScrapedEntry]) -> str:
    """The JSON Lines text of ``entries``: one line each, ``confidence`` and ``provenance`` last."""
    lines = []
    for entry in entries:
        record = {k: v for k, v in entry.record.items() if k not in EXTRA_KEYS}
        record.update(confidence=entry.confidence, provenance=entry.provenance)
        lines.append(json.dumps(record, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def loads(text: str, name: str) -> list[ScrapedEntry]:
    """Entries of a scraped file or overlay (an older file's metadata comments attached to the entry
    after them)."""
    entries: list[ScrapedEntry] = []
    meta: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(META.strip()):
            try:
                meta = json.loads(stripped[len(META.strip()) :])
            except json.JSONDecodeError:
                raise KnowledgeBaseError(f"{name}:{number}: bad recode-kb metadata comment") from None
            continue
        if stripped.startswith("//"):
            continue
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise KnowledgeBaseError(f"{name}:{number}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(record, dict):
            raise KnowledgeBaseError(f"{name}:{number}: entry must be a JSON object")
        # Inline keys (the schema allows them) win over the comment; null means "not given".
        confidence = record.pop("confidence", None)
        confidence = meta.get("confidence", 1.0) if confidence is None else confidence
        provenance = record.pop("provenance", None) or meta.get("provenance", {})
        if meta.get("id") not in (None, record.get("id")):
            raise KnowledgeBaseError(
                f"{name}:{number}: metadata comment is for {meta.get('id')}, not {record.get('id')}"
            )
        entries.append(ScrapedEntry(record, float(confidence), dict(provenance or {})))
        meta = {}
    return entries


def validate_text(text: str, name: str, *, with_shipped: bool = True, instead_of: Path | None = None) -> KnowledgeBase:
    """Validate ``text`` with the knowledge-base loader (ids unique against the shipped data too).

    ``instead_of``: the file ``text`` was read from, left out of the shipped data when it is one of
    its files (validating a shipped file checks it against the others)."""
    plain = "\n".join(
        json.dumps({k: v for k, v in e.record.items() if k in FIELDS}, ensure_ascii=False) for e in loads(text, name)
    )
    # Validate line by line with the real loader: file and line in every error.
    lines = text.splitlines()
    entry_lines = [i for i, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("//")]
    changes: list[ApiChange] = []
    for number, line in zip(entry_lines, plain.splitlines(), strict=True):
        try:
            changes.extend(iter_jsonl(line, name))
        except KnowledgeBaseError as exc:
            raise KnowledgeBaseError(str(exc).replace(f"{name}:1:", f"{name}:{number}:", 1)) from None
    for change, number in zip(changes, entry_lines, strict=True):
        object.__setattr__(change, "origin", f"{name}:{number}")
    shipped: list[ApiChange] = []
    if with_shipped:
        shipped = [c for n, t in shipped_files() if not _same_file(n, instead_of) for c in iter_jsonl(t, n)]
    return KnowledgeBase([*shipped, *changes])


def _same_file(shipped_name: str, path: Path | None) -> bool:
    if path is None:
        return False
    try:
        return (DATA_FOLDER / Path(shipped_name).name).resolve() == path.resolve()
    except OSError:
        return False


def write(path: Path, entries: Iterable[ScrapedEntry]) -> None:
    """Write ``entries`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + f".tmp{os.getpid()}")
    temporary.write_text(dumps(entries), encoding="utf-8")
    os.replace(temporary, path)


def merge_into(overlay: Path, accepted: Iterable[ScrapedEntry]) -> list[ScrapedEntry]:
    """Add ``accepted`` to ``overlay`` (an entry with the same ``old`` and keyword is replaced)."""
    existing = loads(overlay.read_text(encoding="utf-8"), str(overlay)) if overlay.exists() else []
    incoming = list(accepted)
    keys = {(e.record["old"], e.record.get("old_keyword")) for e in incoming}
    kept = [e for e in existing if (e.record["old"], e.record.get("old_keyword")) not in keys]
    # Ids stay unique in the overlay: an incoming id already used there gets the next free number.
    used = {e.record["id"] for e in kept}
    for entry in incoming:
        if entry.record["id"] in used:
            prefix = entry.record["id"].rstrip("0123456789")
            number = 1
            while f"{prefix}{number:03d}" in used:
                number += 1
            entry.record["id"] = f"{prefix}{number:03d}"
        used.add(entry.record["id"])
    merged = kept + incoming
    write(overlay, merged)
    return merged
