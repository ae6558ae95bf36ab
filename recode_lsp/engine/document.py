"""One document as an editor holds it: its findings, a fix for any one of them, fix-all, ignore.

The language server keeps one :class:`DocumentAnalysis` per document version. It answers
everything the editor asks about that version (diagnostics, quick fixes, "fix all", the
"ignore this line" edit, hover) without knowing anything of LSP: positions are the engine's
(0-based lines, code-point columns, string offsets) and edits are
:class:`~recode_lsp.engine.model.TextEdit` values; :mod:`recode_lsp.engine.edits` turns them
into the editor's units.

Fixes are computed on demand, one at a time, through the one fix pipeline
(:func:`recode_lsp.engine.pipeline.run_fix_pipeline`, as the CLI and the data builder use it):
the same selection, fixer, validation (:func:`recode_lsp.engine.validator.check_fix`, against
this version of the module) and split into units. A quick fix is one round; fix-all iterates
to a fixed point as ``recode-migrate --apply`` does. The document may analyse less (an excerpt,
below), never validate differently.

Speed: parsing and analysing a 3,000-line module costs 100-200 ms, and validating one fix
of it several times that, so two shortcuts keep typing and quick fixes fast. Both work on an
*excerpt* of the module: the module without its other functions (top-level functions and
methods of top-level classes), with the module-level code, classes and imports kept, so names
resolve as in the whole module. A left-out function becomes one line (with the blank lines
before it; adjacent ones share it): a stub ``def name(): pass`` where its name matters (the
module's other code uses it, or it comes before a top-level import, where the fixer adds
imports), ``pass`` for a method, an empty line otherwise. Lines map back through a table.

* **Incremental detection.** When an edit stays inside one function, only that function is
  analysed again, in its excerpt; findings elsewhere move by the edit's size.
* **Fixing in an excerpt.** A quick fix for a finding inside a function is computed and
  validated on the excerpt of that function, plus one line at the end that mentions the names
  of the left-out functions that the excerpt also uses or the fix may add (so an import they
  use is not removed, and a new name does not collide with one of theirs). The excerpt's text
  decides the fix, so it is cached by the excerpt's digest: after an edit in another
  function, the same fix is reused.

Both give the same answer as the whole module (the tests compare them) and fall back to it
when their preconditions do not hold: an edit that leaves its function or changes its
``def`` line, a module containing ``global`` (a function could rebind a module name), a fix
made together with an import (groups), a code rule's fix, a finding outside any function.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import hashlib
import keyword
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from recode_lsp.engine.analysis import LineIndex, ModuleAnalysis
from recode_lsp.engine.changes import ApiChange
from recode_lsp.engine.detector import SourceError, analyse, detect
from recode_lsp.engine.edits import apply_text_edits, common_prefix_length, common_suffix_length, diff_edits
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.model import Finding, Position, Range, TextEdit
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.pipeline import PipelineResult, run_fix_pipeline
from recode_lsp.engine.validator import Baseline, NameChecker

__all__ = [
    "AnalysisContext",
    "Cancelled",
    "DocumentAnalysis",
    "FixResult",
    "finding_key",
    "ignore_edit",
]

_SUPPRESSION = re.compile(r"#\s*recode:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_GLOBAL = re.compile(r"\bglobal\b")


def _has_global(source: str) -> bool:
    """Whether ``source`` may declare a name ``global`` (cheap test first)."""
    return "global" in source and _GLOBAL.search(source) is not None


_TOP_LEVEL_IMPORT = re.compile(r"^(?:import|from)\s", re.MULTILINE)
_QUALIFIED_IN_TEMPLATE = re.compile(r"\{q:([A-Za-z_][\w.]*)\}")


class Cancelled(Exception):
    """The caller no longer wants the result (raised by a cancellation check)."""


#: Called between steps of long work; raises :class:`Cancelled` to stop it.
CancelCheck = Callable[[], None]


def _never_cancelled() -> None:
    return None


@dataclass(frozen=True, eq=False)
class AnalysisContext:
    """What to look for: the knowledge base and the project's settings for one document.

    Compared by identity: a new context (new settings) means every document is analysed again.
    """

    kb: KnowledgeBase
    options: DetectOptions
    #: Whether fix-all applies unsafe fixes too.
    unsafe: bool = False
    #: Checks that a name a fix introduces exists in the target version.
    name_exists: NameChecker | None = None
    module_name: str | None = None
    #: Fixes computed in excerpts, by the excerpt's digest and the finding: an excerpt's text
    #: decides its fix, so a later version with the same excerpt reuses it.
    excerpt_fixes: _FixCache = field(default_factory=lambda: _FixCache(), repr=False)


class _FixCache:
    """A small thread-safe LRU of excerpt fixes."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: OrderedDict[tuple[bytes, str], tuple[TextEdit, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, str]) -> tuple[TextEdit, ...] | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[bytes, str], value: tuple[TextEdit, ...]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass
class FixResult:
    """A validated fix: the new source and the small edits that make it."""

    source: str
    #: Offsets into the analysed source; sorted, not overlapping.
    edits: list[TextEdit] = field(default_factory=list)
    applied: list[Finding] = field(default_factory=list)
    #: Findings that were asked for and not fixed, with the reason.
    skipped: list[tuple[Finding, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    @property
    def reason(self) -> str:
        """Why nothing (or not everything) was fixed."""
        return self.skipped[0][1] if self.skipped else ""


def finding_key(finding: Finding) -> str:
    """A key for a finding that survives re-analysis of the same text: id and range."""
    start, end = finding.range.start, finding.range.end
    return f"{finding.code}:{start.line}:{start.column}:{end.line}:{end.column}"


# --- functions: the unit of incremental work --------------------------------------------


@dataclass(frozen=True)
class _Block:
    """A function whose body can be analysed on its own: a top-level ``def`` or a method."""

    #: Offset of the start of its first line (decorators included).
    start: int
    #: Offset of the end of its last line (before the line break).
    end: int
    #: Offset of the start of the first line of its body.
    body: int
    first_line: int
    #: 0-based line of the ``def`` keyword (after the decorators).
    def_line: int
    last_line: int
    name: str
    #: The whitespace before ``def`` (or the first decorator).
    indent: str

    def moved(self, chars: int, lines: int) -> _Block:
        return dataclasses.replace(
            self,
            start=self.start + chars,
            end=self.end + chars,
            body=self.body + chars,
            first_line=self.first_line + lines,
            def_line=self.def_line + lines,
            last_line=self.last_line + lines,
        )

    def stub(self) -> str:
        return f"{self.indent}def {self.name}(): pass" + "\n" * (self.last_line - self.first_line)


def _blocks(tree: ast.Module, source: str, lines: LineIndex) -> list[_Block]:
    """Every top-level function and every method of a top-level class, in source order."""
    found: list[_Block] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                block = _block(node, source, lines)
                if block is not None:
                    found.append(block)

    visit(tree.body)
    found.sort(key=lambda block: block.start)
    return found


def _block(node: ast.FunctionDef | ast.AsyncFunctionDef, source: str, lines: LineIndex) -> _Block | None:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    if not node.body or node.body[0].lineno <= node.lineno or node.end_lineno is None:
        return None  # ``def f(): return 1`` on one line
    start = lines.line_starts[first - 1]
    column = min([node.col_offset, *(d.col_offset - 1 for d in node.decorator_list)])
    indent = source[start : lines.offset(first, max(column, 0))]
    if indent.strip():
        return None  # shares its first line with other code
    last = node.end_lineno
    end_of_line = lines.line_starts[last] - 1 if last < len(lines.line_starts) else len(source)
    if source[end_of_line - 1 : end_of_line] == "\r":
        end_of_line -= 1
    return _Block(
        start=start,
        end=end_of_line,
        body=lines.line_starts[node.body[0].lineno - 1],
        first_line=first - 1,
        def_line=node.lineno - 1,
        last_line=last - 1,
        name=node.name,
        indent=indent,
    )


@dataclass
class _Excerpt:
    """The module with every function but one replaced by a one-line stub.

    Text outside the stubs is the source's, line for line; a stub takes one line for the
    function's many, so lines are mapped through runs of lines that are the same in both.
    """

    text: str
    #: Spans of the stubs in ``text``.
    stubs: list[tuple[int, int]]
    #: Where the text of the source ends in ``text`` (the keep-alive line follows).
    source_end: int
    lines: LineIndex
    #: First excerpt line and first source line of each run of copied lines.
    run_lines: list[int]
    run_source_lines: list[int]

    def source_line(self, line: int) -> int:
        index = bisect.bisect_right(self.run_lines, line) - 1
        return self.run_source_lines[index] + line - self.run_lines[index]

    def excerpt_line(self, source_line: int) -> int:
        index = bisect.bisect_right(self.run_source_lines, source_line) - 1
        return self.run_lines[index] + source_line - self.run_source_lines[index]

    def source_range(self, value: Range) -> Range:
        return Range(
            Position(self.source_line(value.start.line), value.start.column),
            Position(self.source_line(value.end.line), value.end.column),
        )

    def excerpt_range(self, value: Range) -> Range:
        return Range(
            Position(self.excerpt_line(value.start.line), value.start.column),
            Position(self.excerpt_line(value.end.line), value.end.column),
        )


def _excerpt(
    source: str,
    lines: LineIndex,
    blocks: Sequence[_Block],
    keep: _Block,
    stubbed: Collection[str],
    keep_alive: Collection[str] = (),
) -> _Excerpt:
    """``source`` with every block but ``keep`` left out (a stub when its name is in ``stubbed``).

    A left-out block takes the blank lines before it along and becomes one line: a stub, ``pass``
    for a method (its class keeps a body), or an empty line, shared by adjacent left-out
    functions. That line maps to the start of what it replaced, so an insertion there lands
    where it would in the source. ``keep_alive`` names are mentioned on one line at the end.
    """
    starts = lines.line_starts
    count = len(starts)

    def at(line: int) -> int:
        return starts[line] if line < count else len(source)

    pieces: list[str] = []
    stubs: list[tuple[int, int]] = []
    run_lines: list[int] = []
    run_source_lines: list[int] = []
    length = 0
    line = 0  # lines written so far
    cursor = 0  # the next source line to copy
    dropped = False  # the last line written is an empty placeholder
    for block in blocks:
        if block is keep:
            continue
        first = block.first_line
        while first > cursor and not source[at(first - 1) : at(first)].strip():
            first -= 1
        if block.name in stubbed:
            text = f"{block.indent}def {block.name}(): pass"
        elif block.indent:
            text = f"{block.indent}pass"
        else:
            text = ""
        if not text and dropped and first == cursor:
            cursor = block.last_line + 1  # adjacent to the previous left-out function
            continue
        if first > cursor:
            chunk = source[at(cursor) : at(first)]
            run_lines.append(line)
            run_source_lines.append(cursor)
            pieces.append(chunk)
            length += len(chunk)
            line += first - cursor
        run_lines.append(line)
        run_source_lines.append(first)
        stubs.append((length, length + len(text)))
        pieces.append(text + "\n")
        length += len(text) + 1
        line += 1
        cursor = block.last_line + 1
        dropped = not text
    if cursor < count:
        run_lines.append(line)
        run_source_lines.append(cursor)
        pieces.append(source[at(cursor) :])
    text = "".join(pieces)
    source_end = len(text)
    if keep_alive:
        text += ("" if text.endswith("\n") or not text else "\n") + f"({', '.join(sorted(keep_alive))},)\n"
    return _Excerpt(text, stubs, source_end, LineIndex(text), run_lines or [0], run_source_lines or [0])


def _identifiers(text: str, start: int = 0, end: int | None = None) -> set[str]:
    """Every identifier written in ``text[start:end]`` (in code, strings or comments alike)."""
    found = _IDENTIFIER.findall(text, start, len(text) if end is None else end)
    return {name for name in found if not keyword.iskeyword(name)}


def _new_names(change: ApiChange) -> set[str]:
    """Names a fix of ``change`` may bring into a module (first and last part of each new name)."""
    qualified = [change.new] if change.new else []
    if change.template:
        qualified += _QUALIFIED_IN_TEMPLATE.findall(change.template)
    names: set[str] = set()
    for qname in qualified:
        parts = qname.split(".")
        names.update((parts[0], parts[-1]))
    return names


def _block_at(blocks: Sequence[_Block], start: int, end: int) -> _Block | None:
    """The block whose body holds ``[start, end]``."""
    index = bisect.bisect_right([b.start for b in blocks], start) - 1
    if index < 0:
        return None
    block = blocks[index]
    if block.body <= start and end <= block.end:
        return block
    return None


def _function_at_line(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function (top level or in a top-level class) whose ``def`` is on 1-based ``line``."""
    body: list[ast.stmt] = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, ast.ClassDef):
            body.extend(node.body)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno == line:
            return node
    return None


@dataclass
class _Names:
    """Identifiers of a module's functions and of the rest of it, for building excerpts."""

    #: In how many blocks each identifier occurs.
    counts: Counter[str]
    #: Identifiers of the text outside the blocks (module-level code, class bodies).
    module: set[str]
    #: Blocks whose name must stay bound in an excerpt (see :func:`_stubbed`).
    stubbed: set[str]

    @classmethod
    def of(cls, source: str, blocks: Sequence[_Block]) -> _Names:
        counts: Counter[str] = Counter()
        module: set[str] = set()
        cursor = 0
        for block in blocks:
            module |= _identifiers(source, cursor, block.start)
            counts.update(_identifiers(source, block.start, block.end))
            cursor = block.end
        module |= _identifiers(source, cursor)
        return cls(counts, module, _stubbed(source, blocks, module))


def _stubbed(source: str, blocks: Sequence[_Block], module: set[str] | None = None) -> set[str]:
    """Functions whose stub an excerpt keeps, because leaving them out could change an answer.

    * Their name is used by the module's other code (or by another function of that name):
      ``def np(): ...`` after ``import numpy as np`` changes what ``np`` means.
    * They come before a top-level import: the fixer adds imports after the *leading* imports,
      and a function between imports ends that run.
    """
    last_import = -1
    names = set() if module is None else module
    cursor = 0
    for block in [*blocks, None]:
        end = len(source) if block is None else block.start
        for match in _TOP_LEVEL_IMPORT.finditer(source, cursor, end):
            last_import = max(last_import, match.start())
        if module is None:
            names |= _identifiers(source, cursor, end)
        if block is not None:
            cursor = block.end
    seen: Counter[str] = Counter(block.name for block in blocks)
    return {
        block.name
        for block in blocks
        if block.name in names or seen[block.name] > 1 or (not block.indent and block.start < last_import)
    }


# --- the analysis --------------------------------------------------------------------------


class DocumentAnalysis:
    """Findings of one version of one document, and fixes computed for them on demand."""

    def __init__(
        self,
        source: str,
        path: str,
        context: AnalysisContext,
        findings: list[Finding],
        *,
        analysis: ModuleAnalysis | None = None,
        error: str | None = None,
        blocks: list[_Block] | None = None,
        statements: int = 0,
        incremental: bool = False,
    ) -> None:
        self.source = source
        self.path = path
        self.context = context
        self.findings = findings
        #: Why the document could not be analysed (a syntax error), or None.
        self.error = error
        #: True when the findings came from re-analysing one function (see the module notes).
        self.incremental = incremental
        self._analysis = analysis
        self._blocks = blocks
        self._statements = statements
        self._lines: LineIndex | None = analysis.lines if analysis is not None else None
        self._keys: dict[str, Finding] | None = None
        self._exact: DocumentAnalysis | None = None if incremental else self
        self._baseline: Baseline | None = None
        self._name_cache: _Names | None = None
        self._global: bool | None = None

    # --- building -------------------------------------------------------------------

    @classmethod
    def run(
        cls,
        source: str,
        path: str,
        context: AnalysisContext,
        *,
        previous: DocumentAnalysis | None = None,
        check: CancelCheck = _never_cancelled,
    ) -> DocumentAnalysis:
        """Analyse ``source``; ``previous`` (an earlier good version) allows incremental work.

        Never raises for bad input: a syntax error gives an analysis with ``error`` set.
        """
        check()
        if previous is not None and previous.ok and previous.context is context and previous._blocks is not None:
            result = _incremental(previous, source, check)
            if result is not None:
                return result
        return cls._full(source, path, context, check)

    @classmethod
    def _full(cls, source: str, path: str, context: AnalysisContext, check: CancelCheck) -> DocumentAnalysis:
        try:
            analysis = analyse(source, path, context.module_name)
        except SourceError as exc:
            return cls(source, path, context, [], error=str(exc))
        except RecursionError:
            return cls(source, path, context, [], error="too deeply nested to analyse")
        check()
        try:
            findings = detect(source, context.kb, context.options, path, context.module_name, analysis=analysis)
        except RecursionError:
            return cls(source, path, context, [], error="too deeply nested to analyse")
        blocks = _blocks(analysis.tree, source, analysis.lines)
        return cls(
            source, path, context, findings, analysis=analysis, blocks=blocks, statements=len(analysis.tree.body)
        )

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def lines(self) -> LineIndex:
        if self._lines is None:
            self._lines = LineIndex(self.source)
        return self._lines

    # --- looking findings up ---------------------------------------------------------

    def key(self, finding: Finding) -> str:
        return finding_key(finding)

    def find(self, key: str) -> Finding | None:
        """The finding with ``key`` (see :func:`finding_key`), if this version has it."""
        if self._keys is None:
            self._keys = {}
            for finding in self.findings:
                self._keys.setdefault(finding_key(finding), finding)
        return self._keys.get(key)

    def findings_at(self, line: int, column: int) -> list[Finding]:
        """Findings whose range holds the position (0-based line, code-point column)."""
        here = Position(line, column)
        return [f for f in self.findings if f.range.start <= here <= f.range.end]

    def findings_in(self, start: Position, end: Position) -> list[Finding]:
        """Findings that overlap ``[start, end]`` (an empty range touching a finding counts)."""
        return [f for f in self.findings if f.range.start <= end and start <= f.range.end]

    # --- fixes -------------------------------------------------------------------------

    def fix(self, finding: Finding, check: CancelCheck = _never_cancelled) -> FixResult:
        """The validated fix of one finding of this version (an unsafe one too: the caller
        decides what to offer)."""
        if not finding.fixable:
            return FixResult(self.source, skipped=[(finding, "no mechanical fix; migrate it by hand")])
        excerpt = self._fix_in_excerpt(finding, check)
        if excerpt is not None:
            return excerpt
        exact = self.exact(check)
        if exact is None:
            return FixResult(self.source, skipped=[(finding, self.error or "the document does not parse")])
        match = exact.find(finding_key(finding))
        if match is None:
            return FixResult(self.source, skipped=[(finding, "the finding is gone")])
        return exact._fix([match], unsafe=True, check=check)

    def fix_all(self, unsafe: bool | None = None, check: CancelCheck = _never_cancelled) -> FixResult:
        """Every safe fix (and unsafe ones when ``unsafe``, default: the context's setting)."""
        exact = self.exact(check)
        if exact is None:
            return FixResult(self.source)
        return exact._fix(None, unsafe=self.context.unsafe if unsafe is None else unsafe, check=check)

    def exact(self, check: CancelCheck = _never_cancelled) -> DocumentAnalysis | None:
        """This version analysed whole (itself unless it came from incremental work)."""
        if self._exact is None:
            self._exact = DocumentAnalysis._full(self.source, self.path, self.context, check)
        return self._exact if self._exact.ok else None

    def _fix(self, selected: Sequence[Finding] | None, unsafe: bool, check: CancelCheck) -> FixResult:
        """Fix ``selected`` (None: everything wanted, to a fixed point), keeping what validates.

        Through the one fix pipeline (:func:`recode_lsp.engine.pipeline.run_fix_pipeline`),
        exactly as the CLI fixes a file: the same selection, fixer, validation and units.
        """
        analysis = self._analysis
        assert analysis is not None, "fixes need a full analysis"
        if self._baseline is None:
            # Kept per version: the names the module leaves undefined are computed once.
            self._baseline = Baseline(
                analysis=analysis, findings=self.findings, path=self.path, module_name=self.context.module_name
            )
        context = self.context
        result = run_fix_pipeline(
            analysis=analysis,
            findings=self.findings,
            kb=context.kb,
            options=context.options,
            unsafe=unsafe,
            selected=selected,
            name_exists=context.name_exists,
            cancel=check,
            path=self.path,
            module_name=context.module_name,
            baseline=self._baseline,
        )
        return self._result(result)

    def _result(self, outcome: PipelineResult) -> FixResult:
        skipped = [(s.finding, s.reason) for s in outcome.skipped]
        if not outcome.applied or outcome.source == self.source:
            return FixResult(self.source, [], [], skipped)
        return FixResult(outcome.source, diff_edits(self.source, outcome.source), outcome.applied, skipped)

    def _fix_in_excerpt(self, finding: Finding, check: CancelCheck) -> FixResult | None:
        """The fix computed on the finding's function alone; None when that does not apply."""
        blocks = self._blocks
        if blocks is None or finding.group is not None or finding.change.rule is not None or self._has_global():
            return None
        start = self.lines.line_starts[finding.range.start.line] + finding.range.start.column
        end = self.lines.line_starts[finding.range.end.line] + finding.range.end.column
        block = _block_at(blocks, start, end)
        if block is None:
            return None
        names = self._names()
        # Names of the other functions that the excerpt also mentions or the fix may add:
        # mentioned once more, an import they use is not removed and a new name does not
        # collide with one of theirs.
        inside = _identifiers(self.source, block.start, block.end)
        elsewhere = {n for n, count in names.counts.items() if count > (n in inside)}
        keep_alive = elsewhere & (inside | names.module | _new_names(finding.change))
        excerpt = _excerpt(self.source, self.lines, blocks, block, names.stubbed, keep_alive)
        wanted_key = finding_key(dataclasses.replace(finding, range=excerpt.excerpt_range(finding.range)))
        cache_key = (
            hashlib.blake2b(excerpt.text.encode("utf-8", "surrogatepass"), digest_size=20).digest(),
            wanted_key,
        )
        excerpt_edits = self.context.excerpt_fixes.get(cache_key)
        if excerpt_edits is None:
            check()
            part = DocumentAnalysis._full(excerpt.text, self.path, self.context, check)
            match = part.find(wanted_key) if part.ok else None
            if match is None:
                return None  # resolves differently without the rest of the module: do it whole
            result = part._fix([match], unsafe=True, check=check)
            if not result.applied:
                return None  # the whole module decides (the excerpt may be too cautious)
            excerpt_edits = tuple(result.edits)
            self.context.excerpt_fixes.put(cache_key, excerpt_edits)
        edits: list[TextEdit] = []
        for edit in excerpt_edits:
            # A stub's lines differ from the source's: an edit must stay clear of them.
            clear = all(edit.end <= start or edit.start > end for start, end in excerpt.stubs)
            if not clear or edit.end > excerpt.source_end:
                return None
            edits.append(
                TextEdit(self._map_offset(excerpt, edit.start), self._map_offset(excerpt, edit.end), edit.text)
            )
        return FixResult(apply_text_edits(self.source, edits), edits, [finding], [])

    def _has_global(self) -> bool:
        if self._global is None:
            self._global = _has_global(self.source)
        return self._global

    def _names(self) -> _Names:
        if self._name_cache is None:
            assert self._blocks is not None
            self._name_cache = _Names.of(self.source, self._blocks)
        return self._name_cache

    def _map_offset(self, excerpt: _Excerpt, offset: int) -> int:
        """An offset in an excerpt (outside the stubs) as an offset in this source."""
        line, column = excerpt.lines.position(offset)
        return self.lines.line_starts[excerpt.source_line(line)] + column

    # --- ignore --------------------------------------------------------------------------

    def ignore_edit(self, finding: Finding) -> TextEdit | None:
        return ignore_edit(self.source, finding, self.lines)


def ignore_edit(source: str, finding: Finding, lines: LineIndex | None = None) -> TextEdit | None:
    """The edit that adds ``# recode: ignore[ID]`` to the finding's line.

    An existing ``# recode: ignore[...]`` comment on that line gets the id added; another
    comment keeps its text and gets the directive after it. None when the line already
    ignores the id, or no line of the finding can take a comment (a line that ends with a
    backslash continuation).
    """
    lines = lines or LineIndex(source)
    for line in dict.fromkeys((finding.range.start.line, finding.range.end.line)):
        start = lines.line_starts[line]
        end = source.find("\n", start)
        end = len(source) if end == -1 else end
        if source[start:end].endswith("\r"):
            end -= 1
        text = source[start:end]
        if text.rstrip().endswith("\\"):
            continue
        comment = _comment_of(text)
        if comment is not None:
            column, comment_text = comment
            match = _SUPPRESSION.search(comment_text)
            if match is not None:
                codes = match.group("codes")
                if codes is None:
                    return None  # ``# recode: ignore`` already ignores everything
                present = [c.strip() for c in codes.split(",") if c.strip()]
                if finding.code in (c.upper() for c in present):
                    return None
                close = start + column + match.end("codes")
                separator = ", " if present else ""
                return TextEdit(close, close, f"{separator}{finding.code}")
        return TextEdit(end, end, f"{'  ' if text.strip() else ''}# recode: ignore[{finding.code}]")
    return None


def _comment_of(line: str) -> tuple[int, str] | None:
    """Column and text of the comment on one physical line, if it has one."""
    if "#" not in line:
        return None
    import io
    import tokenize

    try:
        for token in tokenize.generate_tokens(io.StringIO(line + "\n").readline):
            if token.type == tokenize.COMMENT:
                return token.start[1], token.string
    except (tokenize.TokenError, SyntaxError):
        pass
    return None


# --- incremental detection -------------------------------------------------------------------


def _incremental(previous: DocumentAnalysis, source: str, check: CancelCheck) -> DocumentAnalysis | None:
    """Re-analyse only the function an edit stayed inside; None when the edit left it."""
    old = previous.source
    blocks = previous._blocks
    if blocks is None or _has_global(source):
        return None
    if old == source:
        return previous
    prefix = common_prefix_length(old, source)
    suffix = common_suffix_length(old, source, min(len(old), len(source)) - prefix)
    old_end, new_end = len(old) - suffix, len(source) - suffix
    block = _block_at(blocks, prefix, old_end)
    if block is None:
        return None
    chars = len(source) - len(old)
    lines = source.count("\n", prefix, new_end) - old.count("\n", prefix, old_end)
    moved: list[_Block] = []
    target = block
    for candidate in blocks:
        if candidate.start < block.start:
            moved.append(candidate)
        elif candidate is block:
            target = dataclasses.replace(block, end=block.end + chars, last_line=block.last_line + lines)
            moved.append(target)
        else:
            moved.append(candidate.moved(chars, lines))
    stubbed = previous._name_cache.stubbed if previous._name_cache is not None else _stubbed(source, moved)
    index = LineIndex(source)
    excerpt = _excerpt(source, index, moved, target, stubbed)
    left_out = sum(1 for b in moved if b is not target and not b.indent and b.name not in stubbed)
    context = previous.context
    check()
    try:
        analysis = analyse(excerpt.text, previous.path, context.module_name)
    except (SourceError, RecursionError):
        return None  # the whole module gives the error with its own line numbers
    node = _function_at_line(analysis.tree, excerpt.excerpt_line(target.def_line) + 1)
    if (
        node is None
        or node.name != target.name
        or node.end_lineno != excerpt.excerpt_line(target.last_line) + 1
        or len(analysis.tree.body) != previous._statements - left_out
    ):
        return None  # the edit changed what the function is or where it ends
    check()
    found = detect(excerpt.text, context.kb, context.options, previous.path, context.module_name, analysis=analysis)
    first, last = excerpt.excerpt_line(target.first_line), excerpt.excerpt_line(target.last_line)
    inside = [
        _moved_finding(dataclasses.replace(f, range=excerpt.source_range(f.range)), index, 0)
        for f in found
        if first <= f.range.start.line and f.range.end.line <= last
    ]
    before = [f for f in previous.findings if f.range.end.line < block.first_line]
    after = [_moved_finding(f, index, lines) for f in previous.findings if f.range.start.line > block.last_line]
    findings = sorted([*before, *inside, *after], key=Finding.sort_key)
    result = DocumentAnalysis(
        source,
        previous.path,
        context,
        findings,
        blocks=moved,
        statements=previous._statements,
        incremental=True,
    )
    result._lines = index
    result._global = False
    if previous._name_cache is not None:
        # Only the edited function's identifiers changed.
        names = previous._name_cache
        counts = names.counts.copy()
        counts.subtract(_identifiers(old, block.start, block.end))
        counts.update(_identifiers(source, target.start, target.end))
        result._name_cache = _Names(+counts, names.module, names.stubbed)
    return result


def _moved_finding(finding: Finding, index: LineIndex, lines: int) -> Finding:
    """``finding`` moved down by ``lines``, its offsets recomputed in ``index``'s source.

    Only the range and offsets are kept exact; fixes never use such a finding directly (they
    re-detect it), so its fixer details may describe the old text.
    """
    start, end = finding.range.start, finding.range.end
    new_range = Range(Position(start.line + lines, start.column), Position(end.line + lines, end.column))
    return dataclasses.replace(
        finding,
        range=new_range,
        start_offset=index.line_starts[new_range.start.line] + start.column,
        end_offset=index.line_starts[new_range.end.line] + end.column,
    )
