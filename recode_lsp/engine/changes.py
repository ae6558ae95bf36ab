"""The typed record of one API change, and the enums that classify it.

A knowledge-base line (``recode_lsp/engine/data/*.jsonl``) becomes one :class:`ApiChange`.
The loader in :mod:`recode_lsp.engine.knowledge` validates every field; this module only
defines the shapes so that the detector, the fixer and the language server agree on them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from recode_lsp.engine.versions import Version

if TYPE_CHECKING:
    from recode_lsp.engine.facts import DisplayNames


def __getattr__(name: str) -> DisplayNames:
    """``DISPLAY_NAMES``: how libraries are named in messages, ``display_name`` of each library's
    facts file (``recode_lsp/engine/data/<library>.facts.json``), live, so libraries added later
    count. Made on first use: the facts module is not imported by a run that formats no message
    (a warm ``--check`` reads its messages from the result cache)."""
    if name == "DISPLAY_NAMES":
        from recode_lsp.engine.facts import DisplayNames

        names = globals()["DISPLAY_NAMES"] = DisplayNames()
        return names
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    #: For a change of one value of ``old_keyword`` (``loss='log'`` -> ``loss='log_loss'``): the
    #: source text of the old literal, and of the new one when there is a drop-in.
    old_value: str | None = None
    new_value: str | None = None
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
        """What to use instead, in words; names and code in backticks."""
        if self.new_value is not None:
            return f"`{self.new_keyword or self.old_keyword}={self.new_value}`"
        if self.kind is ChangeKind.KEYWORD_RENAME and self.new_keyword:
            return f"`{self.new_keyword}=`"
        if self.new:
            return f"`{self.new}`"
        if self.replacement:
            return code_spans(self.replacement)
        return "no direct replacement"

    def history(self) -> str:
        """What happened to the old API and when: "`numpy.float_` was removed in NumPy 2.0 (deprecated since 1.25)"."""
        what = f"`{self.old}({self.old_keyword}={self.old_value or '...'})`" if self.old_keyword else f"`{self.old}`"
        from recode_lsp.engine.facts import display_name

        library = display_name(self.library)
        deprecated, removed = self.deprecated_in, self.removed_in
        behaviour = self.kind is ChangeKind.BEHAVIOUR_CHANGE
        since = f" (deprecated since {deprecated})" if deprecated is not None else ""
        if removed is not None:
            if behaviour:
                return f"{what} behaves differently since {library} {removed}{since}"
            # A value (``loss='log'``) goes away; a signature changes.
            verb = "changed" if self.kind is ChangeKind.SIGNATURE_CHANGE and self.old_value is None else "was removed"
            return f"{what} {verb} in {library} {removed}{since}"
        if deprecated is not None:
            return f"{what} is deprecated since {library} {deprecated}" + (
                " and will behave differently" if behaviour else ""
            )
        return f"{what} behaves differently" if behaviour else f"{what} changed"

    def message(self) -> str:
        """One-line message for a finding: what to do first, then the version history.

        The Problems panel of an editor cuts long messages off, so the part the user acts on
        (``Use `numpy.float64```) comes before the part that explains it.
        """
        history = self.history()
        note = code_spans(self.note.strip().rstrip("."))
        if self.new_value is not None:
            return f"Use {self.describe_new()}: {history}"
        if self.kind is ChangeKind.SIGNATURE_CHANGE:
            if self.replacement:
                return f"{_advice(self.replacement)}: {history}"
            return f"{_sentence(note) or 'Check the new signature'}: {history}"
        if self.kind is ChangeKind.BEHAVIOUR_CHANGE:
            if self.replacement:
                # Behaviour replacements are advice ("pass keepdims=True to keep ..."), not a name.
                return f"{_advice(self.replacement)}: {history}" + (f". {note}" if note else "")
            return f"{history}: {note}" if note else history
        if self.new or (self.kind is ChangeKind.KEYWORD_RENAME and self.new_keyword):
            return f"Use {self.describe_new()}: {history}"
        if self.replacement:
            return f"{_advice(self.replacement)}: {history}"
        return f"{history} with no direct replacement" + (f": {note}" if note else "")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


#: Words with dots that are prose, not code.
_PROSE_DOTS = frozenset({"e.g.", "i.e.", "etc.", "vs.", "e.g", "i.e"})
_NUMBER = re.compile(r"^v?[\d.x*+\-]+$")
_OPEN = {"(": ")", "[": "]", "{": "}"}


def _split_top(text: str) -> list[str]:
    """``text`` split at spaces outside brackets and quotes (spaces kept as their own items)."""
    parts: list[str] = []
    current: list[str] = []
    closers: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"" and (not current or current[-1] in "([{=, " or closers):
            quote = char
        elif char in _OPEN:
            closers.append(_OPEN[char])
        elif closers and char == closers[-1]:
            closers.pop()
        elif char == " " and not closers:
            if current:
                parts.append("".join(current))
            parts.append(" ")
            current = []
            continue
        current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def _is_code(token: str) -> bool:
    if token.lower() in _PROSE_DOTS or _NUMBER.match(token) or not any(c.isalpha() for c in token):
        return False
    return any(c in "._()[]=<>*" for c in token) or token[:1] in "'\""


def code_spans(text: str) -> str:
    """``text`` with each code-like word (a dotted name, a call, ``key=value``) in backticks.

    Knowledge-base replacements and notes mix code and prose ("``torch.export.save`` /
    ``torch.export.load`` (an ExportedProgram)"); messages show every name in backticks.
    Text that has backticks already is taken as marked up by its author.
    """
    if "`" in text:
        return text
    out = []
    for token in _split_top(text):
        lead = "(" if token[:1] == "(" and token.count("(") > token.count(")") else ""
        body = token[len(lead) :].rstrip(",;:.")
        if body.count(")") > body.count("("):
            body = body.removesuffix(")")
        tail = token[len(lead) + len(body) :]
        if body[:1] == "(" and body.endswith(")"):
            # A parenthetical remark: mark up what is inside, not the group.
            out.append(f"{lead}({code_spans(body[1:-1])}){tail}")
        else:
            out.append(f"{lead}`{body}`{tail}" if _is_code(body) else token)
    return "".join(out)


#: First words of a replacement that is advice ("pass keepdims=True ..."), not a name to use.
_VERBS = frozenset(
    {
        "add",
        "apply",
        "assign",
        "call",
        "catch",
        "check",
        "compare",
        "convert",
        "define",
        "delete",
        "drop",
        "give",
        "import",
        "install",
        "iterate",
        "leave",
        "move",
        "omit",
        "pass",
        "remove",
        "replace",
        "run",
        "set",
        "specify",
        "subclass",
        "use",
        "wrap",
        "write",
    }
)


def _advice(text: str) -> str:
    """A replacement as the start of a message: "Use `pandas.concat`" or "Pass `keepdims=True` ..." (advice)."""
    marked = code_spans(text)
    first = text.split(" ", 1)[0].lower()
    return _sentence(marked) if first in _VERBS else f"Use {marked}"
