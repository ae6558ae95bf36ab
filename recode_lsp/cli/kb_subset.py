"""Load only the selected libraries' part of the shipped knowledge base.

Parsing and validating all ~2,300 shipped entries is the largest cost of a warm run (every file
served from the result cache): about 60 ms of 300. A run whose ``--select`` names whole
libraries (``--select numpy``) only ever reports their entries, so only their files are parsed.
The fingerprint (the result cache's key) still digests every shipped file, as the full load
does, so an edit of any of them starts a fresh cache.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recode_lsp.engine.changes import ApiChange
    from recode_lsp.engine.knowledge import KnowledgeBase

__all__ = ["load_for", "shipped_libraries"]

_PREFIX = "recode_lsp/engine/data/"


def shipped_libraries() -> list[str]:
    """The libraries with a shipped changes file (``numpy.jsonl`` holds ``numpy``'s entries)."""
    from recode_lsp.engine.knowledge import DATA_FOLDER

    return sorted(name[: -len(".jsonl")] for name in os.listdir(DATA_FOLDER) if name.endswith(".jsonl"))


def _shipped_sources() -> list[tuple[str, bytes]]:
    """``knowledge.shipped_files()`` then its facts files, as (name, UTF-8 of the text): the bytes
    as they are read, without decoding and encoding again 1.5 MB only to digest it.

    ``read_text`` turns a carriage return or CR LF into ``\\n``; so does this, for a file with one.
    """
    from recode_lsp.engine.knowledge import DATA_FOLDER, FACTS_SUFFIX

    names = sorted(os.listdir(DATA_FOLDER))
    folder = os.path.join(DATA_FOLDER, "")
    sources: list[tuple[str, bytes]] = []
    for name in [*(n for n in names if n.endswith(".jsonl")), *(n for n in names if n.endswith(FACTS_SUFFIX))]:
        with open(folder + name, "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8")  # what read_text raises, this raises
        if b"\r" in data:
            data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
        sources.append((f"{_PREFIX}{name}", data))
    return sources


def load_for(select: Sequence[str], ignore: Sequence[str], extra_changes: Sequence[str | Path]) -> KnowledgeBase:
    """The knowledge base a run with this selection needs: the selected libraries' entries when
    ``select`` names only shipped libraries (and nothing is ignored or added), else all of it."""
    from recode_lsp.engine.digest import hasher
    from recode_lsp.engine.knowledge import KnowledgeBase, iter_jsonl, load_knowledge_base

    wanted = {token.lower() for token in select}
    if not wanted or ignore or extra_changes or not wanted <= set(shipped_libraries()):
        return load_knowledge_base(extra_changes)
    sources = _shipped_sources()
    digest = hasher(8)
    for name, data in sources:  # every file, as the full load digests them
        digest.update(name.encode() + b"\0")
        digest.update(data)
        digest.update(b"\0")
    digest.update(b"only:" + ",".join(sorted(wanted)).encode())  # its own key: not the full base's
    changes: list[ApiChange] = []
    for name, data in sources:
        if name.endswith(".jsonl") and name[len(_PREFIX) : -len(".jsonl")] in wanted:
            changes.extend(iter_jsonl(data.decode("utf-8"), name))
    kb = KnowledgeBase(changes, fingerprint=digest.hexdigest()[:16])
    if {change.library for change in changes} != wanted:
        return load_knowledge_base(extra_changes)  # a file holds another library's entries: load all
    return kb
