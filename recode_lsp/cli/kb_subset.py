"""Load only the selected libraries' part of the shipped knowledge base.

Parsing and validating all ~2,300 shipped entries is the largest cost of a warm run (every file
served from the result cache): about 60 ms of 300. A run whose ``--select`` names whole
libraries (``--select numpy``) only ever reports their entries, so only their files are parsed.
The fingerprint (the result cache's key) still digests every shipped file, as the full load
does, so an edit of any of them starts a fresh cache.
"""

from __future__ import annotations

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

    return sorted(path.name[: -len(".jsonl")] for path in DATA_FOLDER.glob("*.jsonl"))


def load_for(select: Sequence[str], ignore: Sequence[str], extra_changes: Sequence[str | Path]) -> KnowledgeBase:
    """The knowledge base a run with this selection needs: the selected libraries' entries when
    ``select`` names only shipped libraries (and nothing is ignored or added), else all of it."""
    from recode_lsp.engine.digest import hasher
    from recode_lsp.engine.facts import FACTS_SUFFIX
    from recode_lsp.engine.knowledge import KnowledgeBase, iter_jsonl, load_knowledge_base, shipped_files

    wanted = {token.lower() for token in select}
    if not wanted or ignore or extra_changes or not wanted <= set(shipped_libraries()):
        return load_knowledge_base(extra_changes)
    sources = [*shipped_files(), *shipped_files(suffix=FACTS_SUFFIX)]
    digest = hasher(8)
    for name, text in sources:  # every file, as the full load digests them
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    digest.update(b"only:" + ",".join(sorted(wanted)).encode())  # its own key: not the full base's
    changes: list[ApiChange] = []
    for name, text in sources:
        if name.endswith(".jsonl") and name[len(_PREFIX) : -len(".jsonl")] in wanted:
            changes.extend(iter_jsonl(text, name))
    kb = KnowledgeBase(changes, fingerprint=digest.hexdigest()[:16])
    if {change.library for change in changes} != wanted:
        return load_knowledge_base(extra_changes)  # a file holds another library's entries: load all
    return kb
