"""What the detector looks for: target versions, selection, enabled libraries.

Kept apart from the detector so that a run answered from the cache imports nothing else.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from recode_lsp.engine.changes import ApiChange, Severity
from recode_lsp.engine.versions import Version


def _matches(change: ApiChange, token: str) -> bool:
    token = token.strip()
    return bool(token) and (change.id.startswith(token.upper()) or change.library == token.lower())


def selected(change: ApiChange, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """Whether ``--select`` / ``--ignore`` (ids, id prefixes or library names) keep ``change``."""
    if select and not any(_matches(change, token) for token in select):
        return False
    return not any(_matches(change, token) for token in ignore)


@dataclass
class DetectOptions:
    """What to look for."""

    #: Target version per library (missing or None: assume the newest known).
    targets: dict[str, Version | None] = field(default_factory=dict)
    #: ``--select``: ids, id prefixes or library names; empty means everything.
    select: Sequence[str] = ()
    #: ``--ignore``: ids, id prefixes or library names.
    ignore: Sequence[str] = ()
    #: Libraries to consider at all (editor setting); None means every library.
    libraries: Collection[str] | None = None

    def severity(self, change: ApiChange) -> Severity | None:
        if self.libraries is not None and change.library not in self.libraries:
            return None
        if not selected(change, self.select, self.ignore):
            return None
        return change.severity_for(self.targets.get(change.library))
