"""Plain data types that flow from the detector to the fixer, the validator and the clients."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from recode_lsp.engine.changes import ApiChange, FixSafety, Severity


@dataclass(frozen=True, order=True)
class Position:
    """0-based line and 0-based column in characters (code points)."""

    line: int
    column: int


@dataclass(frozen=True, order=True)
class Range:
    start: Position
    end: Position

    def contains(self, other: Range) -> bool:
        return self.start <= other.start and other.end <= self.end


class Site(str, enum.Enum):
    """The syntactic form of a finding, which decides how it is fixed."""

    #: ``np.float_``: an attribute chain rooted at a module alias.
    QUALIFIED = "qualified"
    #: ``float_`` bound by ``from numpy import float_``.
    IMPORTED_NAME = "imported_name"
    #: The alias in ``from numpy import float_``.
    IMPORT_FROM = "import_from"
    #: The alias in ``import numpy.lib.utils``.
    IMPORT = "import"
    #: ``df.iteritems``: a member on a receiver whose class is known.
    MEMBER = "member"
    #: ``to_csv(line_terminator=...)``: a keyword of a known callable.
    KEYWORD = "keyword"
    #: Found by a code rule; the rule fixes it.
    RULE = "rule"


@dataclass(frozen=True)
class TextEdit:
    """Replace ``[start, end)`` (offsets into the source string) by ``text``."""

    start: int
    end: int
    text: str


#: ``(start, end)`` offsets into the source string.
Span = tuple[int, int]


@dataclass(frozen=True)
class SiteDetails:
    """Offsets of the parts of a site the fixer and the code rules need (None: not there)."""

    #: The call the flagged name or member is the callee of.
    call: Span | None = None
    #: Its positional arguments, when a template fix uses them.
    args: tuple[Span, ...] = ()
    #: The receiver of a flagged member (``df`` in ``df.iteritems``).
    receiver: Span | None = None
    #: The whole flagged attribute expression of a member site.
    expression: Span | None = None
    #: Offset of the import alias that binds a flagged name (``from numpy import float_``).
    binding: int | None = None


@dataclass(frozen=True)
class Finding:
    """One use of a changed API that applies to the target version."""

    path: str
    range: Range
    change: ApiChange
    severity: Severity
    site: Site
    #: Offsets of the flagged node in the source (for the fixer).
    start_offset: int
    end_offset: int
    #: Findings with the same group must be fixed together (an import and its uses).
    group: str | None = None
    #: Safety of the fix at this site (may be lower than the change's: a template that
    #: does not match this call's shape makes the site display-only).
    safety: FixSafety = FixSafety.DISPLAY_ONLY
    #: Site details the fixer needs (the import binding, offsets of a call, receiver...).
    details: SiteDetails = field(default=SiteDetails(), compare=False)

    @property
    def code(self) -> str:
        return self.change.id

    @property
    def message(self) -> str:
        return self.change.message()

    @property
    def fixable(self) -> bool:
        return self.safety is not FixSafety.DISPLAY_ONLY

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.range.start.line, self.range.start.column, self.code)


class FixOrigin(str, enum.Enum):
    RULE = "rule"
    MODEL = "model"


@dataclass
class Fix:
    """The edit that resolves one or more findings, and the validator's verdict."""

    findings: list[Finding]
    edits: list[TextEdit]
    safety: FixSafety
    origin: FixOrigin = FixOrigin.RULE
    #: Adapter version or model name, for model fixes.
    origin_detail: str = ""
    verdict: str | None = None
