"""The typed record of one API change, and the enums that classify it.

A knowledge-base line (``recode_lsp/engine/data/*.jsonl``) becomes one :class:`ApiChange`.
The loader in :mod:`recode_lsp.engine.knowledge` validates every field; this module only
defines the shapes so that the detector, the fixer and the language server agree on them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from recode_lsp.engine.facts import DisplayNames, display_name
from recode_lsp.engine.versions import Version

#: How libraries are named in messages: ``display_name`` of each library's facts file
#: (``recode_lsp/engine/data/<library>.facts.json``), live, so libraries added later count.
DISPLAY_NAMES = DisplayNames()


class ChangeKind(str, enum.Enum):
    """What happened to the old API."""

    #: Same object under a new name (``numpy.float_`` -> ``numpy.float64``).
    RENAME = "rename"
    #: Same object, new module (``collections.Mapping`` -> ``collections.abc.Mapping``).
    MODULE_MOVE = "module_move"
    #: A keyword argument of a callable was renamed (``to_csv(line_terminator=)``).
    KEYWORD_RENAME = "keyword_rename"
    #: The call signature changed in a way that needs a person (a keyword removed, ...).
    SIGNATURE_CHANGE = "signature_change"
    #: Removed; a replacement exists and may be written as a template.
    REMOVAL_WITH_REPLACEMENT = "removal_with_replacement"
    #: Removed with no replacement.
    REMOVAL = "removal"
    #: Still there, but behaves differently.
    BEHAVIOUR_CHANGE = "behaviour_change"


class FixSafety(str, enum.Enum):
    """How a fix may be applied (ruff's ``Applicability``)."""

    #: Keeps the meaning of the code; applied by default.
    SAFE = "safe"
    #: Valid code that may change behaviour; applied only with ``--unsafe-fixes``.
    UNSAFE = "unsafe"
    #: No edit: the message says what to do.
    DISPLAY_ONLY = "display"


class Scope(str, enum.Enum):
    """Where the old name lives, which decides how the detector recognises a use."""

    #: A module, or a name defined at module level (function, class, constant).
    MODULE = "module"
    #: An attribute of a class (method, property): found when the receiver's class is known.
    MEMBER = "member"


class TemplateOn(str, enum.Enum):
    """What a replacement template replaces."""

    #: Every reference to the old name (``numpy.NINF`` -> ``-numpy.inf``).
    EXPR = "expr"
    #: Only calls of the old name; the whole call is replaced (``asfarray(a)``).
    CALL = "call"


class Severity(str, enum.Enum):
    """How a finding counts for the version the project moves to."""

    ERROR = "error"  # removed in the target version
    WARNING = "warning"  # deprecated in the target version


@dataclass(frozen=True)
class ApiChange:
    """One change of one API between library versions."""

    #: Stable identifier used in output, ``--select`` and ``# recode: ignore[ID]``.
    id: str
    #: Distribution name (``numpy``) or ``python`` for the standard library.
    library: str
    #: Qualified name of the old API (``numpy.float_``, ``pandas.DataFrame.append``).
    old: str
    kind: ChangeKind
    scope: Scope
    #: Qualified name of the new API, when there is one.
    new: str | None
    #: Human-readable replacement, when it is not a plain name (shown in messages).
    replacement: str | None
    #: Machine template for a mechanical fix; see ``docs/knowledge-base.md``.
    template: str | None
    template_on: TemplateOn | None
    #: For keyword changes: the keyword of ``old`` that changed, and its new spelling.
    old_keyword: str | None
    new_keyword: str | None
    deprecated_in: Version | None
    removed_in: Version | None
    note: str
    #: Doc text of the new API, where known (hover and model prompt fall back to it).
    doc: str | None
    #: Where the fact comes from.
    source: str
    fix: FixSafety
    #: Code rule (``RC001``) that makes the fix, when it needs more than a rename.
    rule: str | None = None
    #: Version that brought the old name back (``numpy.bool`` returned in NumPy 2.0).
    restored_in: Version | None = None
    #: File and line the entry was loaded from, for error messages.
    origin: str = field(default="", compare=False)
    #: How sure the scraper (``recode-kb``) was, 0..1; None for hand-written entries.
    confidence: float | None = field(default=None, compare=False)
    #: Where a scraped entry's evidence is: library, ``from``/``to`` versions, file and line.
    provenance: Mapping[str, object] | None = field(default=None, compare=False)

    @property
    def old_module(self) -> str:
        """Module part of ``old`` for module-scope names (everything before the last dot)."""
        return self.old.rpartition(".")[0]

    @property
    def old_name(self) -> str:
        """Last component of ``old``: the name or member that changed."""
        return self.old.rpartition(".")[2]

    @property
    def owner_class(self) -> str | None:
        """For member changes, the qualified name of the class that owns the member."""
        return self.old.rpartition(".")[0] if self.scope is Scope.MEMBER else None

    @property
    def has_mechanical_fix(self) -> bool:
        return self.fix is not FixSafety.DISPLAY_ONLY

    def severity_for(self, target: Version | None) -> Severity | None:
        """Severity of a use of this API in a project moving to ``target``.

        ``None`` target means the version is unknown: the change is assumed to apply
        (the project is taken to move to the newest version the knowledge base knows).
        Returns ``None`` when the change does not apply to ``target`` yet.
        """
        if self.restored_in is not None and (target is None or target >= self.restored_in):
            return None
        if target is None:
            return Severity.ERROR if self.removed_in is not None else Severity.WARNING
        if self.removed_in is not None and target >= self.removed_in:
            return Severity.ERROR
        if self.deprecated_in is not None and target >= self.deprecated_in:
            return Severity.WARNING
        if self.deprecated_in is None and self.removed_in is None:
            return Severity.WARNING
        return None

    def describe_new(self) -> str:
        """What to use instead, in words."""
        if self.kind is ChangeKind.KEYWORD_RENAME and self.new_keyword:
            return f"`{self.new_keyword}=`"
        if self.new:
            return f"`{self.new}`"
        if self.replacement:
            return self.replacement
        return "no direct replacement"

    def message(self) -> str:
        """One-line message for a finding of this change."""
        what = f"`{self.old}`"
        if self.old_keyword:
            what = f"`{self.old}({self.old_keyword}=...)`"
        when = []
        library = display_name(self.library)
        if self.deprecated_in is not None:
            when.append(f"deprecated in {library} {self.deprecated_in}")
        if self.removed_in is not None:
            when.append(f"removed in {library} {self.removed_in}")
        status = ", ".join(when) if when else "changed"
        if self.kind is ChangeKind.SIGNATURE_CHANGE:
            changed = [f"deprecated in {library} {self.deprecated_in}"] if self.deprecated_in else []
            if self.removed_in is not None:
                changed.append(f"changed in {library} {self.removed_in}")
            advice = f"use {self.replacement}" if self.replacement else self.note or "check the new signature"
            return f"{what} {', '.join(changed) or 'changed'}: {advice}"
        if self.kind is ChangeKind.BEHAVIOUR_CHANGE:
            return f"{what} behaves differently ({status}): {self.note}".rstrip(": ")
        if self.kind in (ChangeKind.REMOVAL,) and not (self.new or self.replacement):
            tail = f": {self.note}" if self.note else ""
            return f"{what} is {status}; no direct replacement{tail}"
        return f"{what} is {status}; use {self.describe_new()} instead"
