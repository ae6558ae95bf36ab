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

Speed: parsing and analysing a 3,000-line module costs 100-200 ms (more with thousands of
findings), and validating one fix of it several times that, so two shortcuts keep typing and
quick fixes fast.

* **Incremental analysis**, by top-level statement. Each statement (or several that share a
  line) is a unit: its findings, the module-level names it binds (as facts: qualified name,
  kind, class) and the classes it defines. After an edit, only the units it touches are parsed
  and analysed again, alone at their own lines, in the environment of the other units' names
  and classes (:class:`~recode_lsp.engine.analysis.Environment`: what the one pass over the
  whole module would have seen). If that changes the facts of some names, the units that
  mention one are analysed again, and so on; past a share of the module, or when a class with
  bases gains or loses a member, the whole module is. Units after the edit only move: their
  findings are moved lazily (:meth:`DocumentAnalysis.finding_runs` gives them unmoved, with the
  shift, to whoever can use that, as diagnostics do). An edit inside one method's body
  analyses that method alone, in its class with the other methods stubbed.
* **Fixing in an excerpt.** A quick fix is computed and validated on an *excerpt* of the
  module: the top-level statement that holds the finding (its other functions and methods
  stubbed), with what keeps names resolving and the fixer's and validator's checks as in the
  whole module (:func:`_plan_excerpt`): the statements up to the last top-level import and
  those that mention ``import`` (where a new import goes, what is imported lazily or under a
  guard), the statements that bind a name the kept code mentions or the fix may write, and
  those that mention a name the finding's statement binds (their findings count in the
  validation), each closed over. For an import fixed with its uses (a group: ``from numpy
  import float_`` and each ``float_``), also every statement that mentions the name the import
  binds: each use is in the excerpt, and the group is the whole module's. The rest becomes
  empty lines, one per left-out run; a stubbed function one line, ``def name(): pass`` (its
  name stays bound). Lines map back through a table. One line at the end stands for what was
  left out, exactly (from its :mod:`ast`, cached per statement): loads of the names it uses
  (an import they keep is not removed) and a lambda's parameters for the names it only binds
  (a new name does not collide with one of them). The excerpt's text decides the fix, so it is cached by the excerpt's
  digest: after an edit elsewhere, the same fix is reused.

Both give the same answer as the whole module (the tests compare them, over random edits) and
fall back to it when their preconditions do not hold: a module containing ``global`` (a
function could rebind a module name), a changed chunk that does not parse alone, a group whose
import's name cannot be read (a quick fix of one use of ``from typing import List`` is that use
alone, ``List`` -> ``list``: :func:`recode_lsp.engine.fixer.one_site`), a code rule's fix,
an attribute of a module-level name assigned in code left out (``np.float_ = ...``), a finding
the excerpt does not report alike.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import hashlib
import keyword
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from recode_lsp.engine.analysis import Binding, Environment, LineIndex, LocalClass, ModuleAnalysis, class_key_name
from recode_lsp.engine.changes import ApiChange
from recode_lsp.engine.detector import SourceError, analyse, detect, detect_chunk
from recode_lsp.engine.edits import apply_text_edits, common_prefix_length, common_suffix_length, trim_edit
from recode_lsp.engine.fixer import by_site, one_site
from recode_lsp.engine.imports import (
    _names_in_string,
    names_in_dunder_all,
    type_comment_names,
    typed_children,
)
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.line_diff import line_opcodes
from recode_lsp.engine.model import Finding, Position, Range, Site, SiteDetails, TextEdit
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
    """The module with pieces left out, each replaced by one line (a stub, or empty).

    Text outside the stubs is the source's, line for line; a stub takes one line for the
    piece's many, so lines are mapped through runs of lines that are the same in both.
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


def _cut(source: str, lines: LineIndex, cuts: Sequence[tuple[int, int, str]], keep_alive: str = "") -> _Excerpt:
    """``source`` with each ``(first line, last line, text)`` of ``cuts`` (sorted, apart) left out.

    A left-out piece takes the blank lines before it along and becomes one line, ``text``
    (empty lines of adjacent pieces are shared). That line maps to the start of what it
    replaced, so an insertion there lands where it would in the source. ``keep_alive`` is a
    line added at the end.
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
    for first, last, text in cuts:
        while first > cursor and not source[at(first - 1) : at(first)].strip():
            first -= 1
        if not text and dropped and first == cursor:
            cursor = last + 1  # adjacent to the previous left-out piece
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
        cursor = last + 1
        dropped = not text
    if cursor < count:
        run_lines.append(line)
        run_source_lines.append(cursor)
        pieces.append(source[at(cursor) :])
    text = "".join(pieces)
    source_end = len(text)
    if keep_alive:
        text += ("" if text.endswith("\n") or not text else "\n") + keep_alive + "\n"
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


_ALIAS = re.compile(r"([^\W\d][\w.]*)(?:\s+as\s+([^\W\d]\w*))?")


def _group_name(source: str, finding: Finding) -> str | None:
    """The name an import group's alias binds (``from m import old as name``: ``name``); None
    when the finding is not an import or a use of one."""
    group = finding.group or ""
    if finding.site not in (Site.IMPORT_FROM, Site.IMPORTED_NAME) or not group.startswith("import:"):
        return None
    try:
        offset = int(group[len("import:") :])
    except ValueError:
        return None
    match = _ALIAS.match(source, offset)
    if match is None:
        return None
    return match.group(2) or match.group(1).split(".", 1)[0]


def _block_at(blocks: Sequence[_Block], start: int, end: int) -> _Block | None:
    """The block whose body holds ``[start, end]``."""
    index = bisect.bisect_right([b.start for b in blocks], start) - 1
    if index < 0:
        return None
    block = blocks[index]
    if block.body <= start and end <= block.end:
        return block
    return None


# --- excerpts of top-level statements --------------------------------------------------------

_IMPORT_WORD = re.compile(r"\bimport\b")
_CLASS_NAME = re.compile(r"\bclass\s+([^\W\d]\w*)")


@dataclass(frozen=True)
class _Syntax:
    """What the fixer and the validator read of a piece of a module beyond its findings.

    Exact sets, from its :mod:`ast` (an excerpt that leaves the piece out makes up for them):
    the names a new import must not collide with (:func:`~recode_lsp.engine.imports.bound_names`),
    the names that keep an import in use (loads, string annotations, ``__all__``, ``# type:``
    comments: :func:`~recode_lsp.engine.imports.loaded_names` and
    :func:`~recode_lsp.engine.imports.referenced_outside_code`) and the root names of attributes
    it assigns or deletes (``np.x = 1``: the fixer then leaves ``np.x`` alone everywhere).
    """

    taken: frozenset[str]
    used: frozenset[str]
    stored: frozenset[str]

    @classmethod
    def of(cls, nodes: Sequence[ast.stmt], text: str, skip: Collection[int] = ()) -> _Syntax:
        """The syntax of ``nodes`` (top-level statements, or one function), without the nodes
        whose ids are in ``skip``; ``text``: the source they are in (for ``# type:`` comments).

        One walk: these sets are what the five walks of the functions named above give.
        """
        taken: set[str] = set()
        used: set[str] = set()
        stored: set[str] = set()
        #: Strings read as types (below an annotation, a subscript, ``cast(...)``): the walk
        #: carries that down (a second walk of each such subtree, nested subscripts once per
        #: level, was most of the time of the first quick fix in a finding-dense module).
        strings: set[str] = set()
        stack: list[tuple[ast.AST, bool]] = [(node, False) for node in nodes if id(node) not in skip]
        while stack:
            node, typed = stack.pop()
            if isinstance(node, ast.Name):
                taken.add(node.id)
                if not isinstance(node.ctx, ast.Store):
                    used.add(node.id)
                continue  # its only child is its context
            if isinstance(node, ast.Constant):
                if typed and isinstance(node.value, str):
                    strings.add(node.value)
                continue
            if isinstance(node, ast.Attribute):
                if isinstance(node.ctx, (ast.Store, ast.Del)):
                    root: ast.expr = node
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if isinstance(root, ast.Name):
                        stored.add(root.id)
            elif isinstance(node, ast.alias):
                taken.add((node.asname or node.name).split(".", 1)[0])
            elif isinstance(node, ast.arg):
                taken.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                taken.add(node.name)
            types_below = () if typed else {id(child) for child in typed_children(node)}
            for child in ast.iter_child_nodes(node):
                if id(child) not in skip:
                    # A keyword's value (``bound='List'``) is a grandchild: its keyword carries it.
                    below = id(child.value if isinstance(child, ast.keyword) else child) in types_below
                    stack.append((child, typed or below))
        for string in strings:
            used |= _names_in_string(string)
        used |= _dunder_all(nodes) | type_comment_names(text)
        return cls(frozenset(taken), frozenset(used), frozenset(stored))

    def __or__(self, other: _Syntax) -> _Syntax:
        return _Syntax(self.taken | other.taken, self.used | other.used, self.stored | other.stored)


def _dunder_all(nodes: Sequence[ast.stmt]) -> set[str]:
    return names_in_dunder_all(ast.Module(body=list(nodes), type_ignores=[]))


@dataclass(frozen=True)
class _UnitSyntax:
    """:class:`_Syntax` of a top-level statement, and of each of its blocks (by ``def`` line)."""

    whole: _Syntax | None
    blocks: dict[int, _Syntax]
    #: The statement(s) without the blocks (None when the blocks are not told apart: ``# type:``
    #: comments): with a new syntax of one block, the syntax after an edit inside it.
    rest: _Syntax | None = None

    @classmethod
    def of(
        cls, text: str, first_line: int, def_lines: Sequence[int], statements: Sequence[ast.stmt] | None = None
    ) -> _UnitSyntax:
        """Of the statement(s) ``text`` (from 0-based line ``first_line`` on) and their blocks
        (``def`` lines); ``statements``: their nodes, at their lines in the module, if parsed."""
        if statements is None:
            try:
                body = ast.parse(text, type_comments=False).body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return cls(None, {})
        else:
            body, first_line = list(statements), 0
        wanted = set(def_lines)
        nodes: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        if wanted:
            for statement in body:
                for node in statement.body if isinstance(statement, ast.ClassDef) else [statement]:
                    line = first_line + node.lineno - 1
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and line in wanted:
                        nodes[line] = node
        if "type:" in text and nodes:
            return cls(_Syntax.of(body, text), {})  # rare: blocks are then never left out
        blocks = {line: _Syntax.of([node], "") for line, node in nodes.items()}
        rest = _Syntax.of(body, text, skip={id(node) for node in nodes.values()})
        return cls._joined(rest, blocks)

    @classmethod
    def _joined(cls, rest: _Syntax, blocks: dict[int, _Syntax]) -> _UnitSyntax:
        whole = rest
        for syntax in blocks.values():
            whole = whole | syntax
        return cls(whole, blocks, rest)

    def moved(self, lines: int) -> _UnitSyntax:
        """The same syntax with its blocks' ``def`` lines ``lines`` further down."""
        if not lines:
            return self
        return _UnitSyntax(self.whole, {line + lines: syntax for line, syntax in self.blocks.items()}, self.rest)

    def with_block(self, old_line: int, lines: int, new_line: int, block: _Syntax) -> _UnitSyntax | None:
        """After an edit inside the block at ``def`` line ``old_line`` that added ``lines`` lines:
        that block's syntax is ``block`` at ``new_line``, the blocks after it moved; None when
        the blocks are not told apart."""
        if self.rest is None or old_line not in self.blocks:
            return None
        blocks = {
            (line + lines if line > old_line else line): syntax
            for line, syntax in self.blocks.items()
            if line != old_line
        }
        blocks[new_line] = block
        return _UnitSyntax._joined(self.rest, blocks)


@dataclass
class _Plan:
    """What an excerpt keeps of a module for a fix of one finding (see :func:`_plan_excerpt`)."""

    cuts: list[tuple[int, int, str]]
    keep_alive: str


def _plan_excerpt(
    source: str, units: Sequence[_Unit], finding: Finding, tree: ast.Module | None = None, names: Collection[str] = ()
) -> _Plan | None:
    """The excerpt of the module to fix ``finding`` in: the top-level statement that holds it
    (its other functions stubbed) and what keeps names resolving and the fix's checks as in the
    whole module; None when that cannot be made sure of.

    Kept whole or with their functions stubbed (``def name(): pass``: the name stays bound):

    * the statements before the last top-level import, and every one that mentions ``import``
      (where a new import goes, which packages are imported lazily or under a guard);
    * the statements that bind a name the kept ones mention or the fix may write, until none
      is added (their bindings decide what the kept code means);
    * the statements that mention a name the finding's statement binds or one of ``names``
      (for a group, the name its import binds: every use), and so on (the fix could change
      what they mean, and the validator counts their findings).

    A function is stubbed unless it holds the finding, mentions ``import`` or one of those
    names, or defines a class whose name the kept code mentions (class keys count classes of a
    name). Of the code left out, one line at the end names what the fixer and the validator
    would have seen: loads of the names it uses, a lambda's parameters for the names it only
    binds (see :class:`_Syntax`). An attribute assigned there on a module-level name gives up.
    """
    starts = [unit.start for unit in units]
    index = bisect.bisect_right(starts, finding.start_offset) - 1
    if index < 0 or finding.end_offset > units[index].end:
        return None
    texts = [source[unit.start : unit.end] for unit in units]
    ids = [unit.data.identifiers(text) for unit, text in zip(units, texts, strict=True)]
    binds = [unit.data.binds() for unit in units]
    statements: list[list[ast.stmt]] | None = None
    if tree is not None:
        # The units came from this tree: their statements need not be parsed again.
        statements = [[] for _ in units]
        first_lines = [unit.first_line for unit in units]
        for statement in tree.body:
            at = bisect.bisect_right(first_lines, _statement_lines(statement)[0]) - 1
            statements[max(at, 0)].append(statement)

    def syntax_of(i: int) -> _UnitSyntax:
        return units[i].data.syntax(texts[i], None if statements is None else statements[i])

    change = finding.change
    # Names the fix may write: of the new name, the template, a new keyword value (the last one
    # read with getattr: the field is new).
    replacement = [change.new, change.template, getattr(change, "new_value", None)]
    written = _new_names(change) | _identifiers(" ".join(text for text in replacement if isinstance(text, str)))
    kept = {index, 0}
    last_import = max((i for i, text in enumerate(texts) if _TOP_LEVEL_IMPORT.match(text)), default=-1)
    kept.update(range(last_import + 1))
    kept.update(i for i, text in enumerate(texts) if "import" in text and _IMPORT_WORD.search(text))
    mentioned: set[str] = set(written)
    for i in kept:
        mentioned |= ids[i]
    # Names whose meaning the fix may change, and the statements that mention one (kept too).
    changed: set[str] = set(binds[index]) | set(names)
    dependents: set[int] = set()
    grown = True
    while grown:
        grown = False
        for i in range(len(units)):
            if i not in dependents and not ids[i].isdisjoint(changed):
                dependents.add(i)
                changed |= binds[i]
            elif i in kept or binds[i].isdisjoint(mentioned):
                continue
            if i not in kept:
                kept.add(i)
                mentioned |= ids[i]
            grown = True
    # The functions of kept statements: stubbed where nothing above needs their bodies.
    cuts: list[tuple[int, int, str]] = []
    left_out: list[_Syntax] = []
    for i, unit in enumerate(units):
        if i not in kept:
            syntax = syntax_of(i).whole
            if syntax is None:
                return None
            left_out.append(syntax)
            cuts.append((unit.first_line, unit.last_line, ""))
            continue
        line_shift = unit.first_line - unit.data.first_line
        for block in unit.blocks():
            if block.start <= finding.start_offset and finding.end_offset <= block.end:
                continue
            body = _identifiers(source, block.start, block.end)
            if (
                ("import" in texts[i] and _IMPORT_WORD.search(source, block.start, block.end))
                or not body.isdisjoint(changed)
                or any(name in mentioned for name in _CLASS_NAME.findall(source, block.start, block.end))
            ):
                continue
            syntax = syntax_of(i).blocks.get(block.def_line - line_shift)
            if syntax is None:
                continue  # not known exactly (``# type:`` comments): kept
            left_out.append(syntax)
            cuts.append((block.first_line, block.last_line, f"{block.indent}def {block.name}(): pass"))
    relevant = mentioned | written
    # Attributes of these names assigned in code left out would change what the fixer refuses.
    roots = relevant & frozenset().union(*binds)
    used: set[str] = set()
    taken: set[str] = set()
    for syntax in left_out:
        if not syntax.stored.isdisjoint(roots):
            return None  # ``np.x = 1``
        used |= syntax.used & relevant
        taken |= syntax.taken & relevant
    taken -= used
    names = sorted(used)
    if taken:
        names.append(f"lambda {', '.join(sorted(taken))}: 0")
    return _Plan(cuts, f"({', '.join(names)},)" if names else "")


# --- the analysis --------------------------------------------------------------------------


class DocumentAnalysis:
    """Findings of one version of one document, and fixes computed for them on demand."""

    def __init__(
        self,
        source: str,
        path: str,
        context: AnalysisContext,
        findings: list[Finding] | None,
        *,
        analysis: ModuleAnalysis | None = None,
        error: str | None = None,
        blocks: list[_Block] | None = None,
        units: list[_Unit] | None = None,
        lines: LineIndex | None = None,
        incremental: bool = False,
    ) -> None:
        self.source = source
        self.path = path
        self.context = context
        #: Why the document could not be analysed (a syntax error), or None.
        self.error = error
        #: True when the findings came from re-analysing some statements (see the module notes).
        self.incremental = incremental
        self._findings = findings
        self._analysis = analysis
        self._block_cache = blocks
        #: The top-level statements with what each contributes; built on first use from a
        #: whole-module analysis, given by an incremental one.
        self._units = units
        self._lines: LineIndex | None = analysis.lines if analysis is not None else lines
        self._keys: dict[str, Finding] | None = None
        #: The first line of each unit (see :meth:`_findings_on`), built on first use.
        self._first_lines: list[int] | None = None
        self._exact: DocumentAnalysis | None = None if incremental else self
        self._baseline: Baseline | None = None
        self._global: bool | None = None
        #: Import groups with a use in code (see :meth:`offers_quick_fix`), built on first use.
        self._used_groups: set[str | None] | None = None
        self._lock = threading.Lock()

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
        if (
            previous is not None
            and previous.ok
            and previous.context is context
            and previous.path == path
            and (previous._units is not None or previous._analysis is not None)
        ):
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
            findings = detect(
                source, context.kb, context.options, path, context.module_name, analysis=analysis, check=check
            )
        except RecursionError:
            return cls(source, path, context, [], error="too deeply nested to analyse")
        return cls(source, path, context, findings, analysis=analysis)

    @property
    def findings(self) -> list[Finding]:
        """Every finding of this version, sorted by position."""
        if self._findings is None:
            with self._lock:
                if self._findings is None:
                    assert self._units is not None
                    found: list[Finding] = []
                    for unit in self._units:
                        found.extend(unit.findings())
                    self._findings = found
        return self._findings

    def finding_runs(self) -> list[tuple[Sequence[Finding], int, int]]:
        """The findings in runs ``(findings, chars, lines)``: each finding of a run, moved down by
        ``chars`` characters and ``lines`` lines, is one of :attr:`findings`, in order.

        Cheaper than :attr:`findings` after an incremental analysis (nothing is built for a
        statement that only moved): what diagnostics are made from.
        """
        if self._findings is not None or self._units is None:
            return [(self.findings, 0, 0)]
        return [(unit.data.findings, *unit.shift) for unit in self._units if unit.data.findings]

    def _unit_list(self) -> list[_Unit]:
        """The top-level statements of this version (of a whole-module analysis: built now)."""
        if self._units is None:
            with self._lock:
                if self._units is None:
                    analysis = self._analysis
                    assert analysis is not None, "an analysis without units is a whole-module one"
                    self._units = _make_units(analysis.tree.body, analysis, self.findings, self.path, warm=True)
        return self._units

    @property
    def _blocks(self) -> list[_Block]:
        """Every top-level function and method of a top-level class (see :class:`_Block`)."""
        if self._block_cache is None:
            if self._analysis is not None:
                self._block_cache = _blocks(self._analysis.tree, self.source, self._analysis.lines)
            else:
                assert self._units is not None
                self._block_cache = [block for unit in self._units for block in unit.blocks()]
        return self._block_cache

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
        """The finding with ``key`` (see :func:`finding_key`), if this version has it.

        After an incremental analysis only the statement at the key's line is looked in: a
        code action names one or two findings, and moving all of a finding-dense module's
        (and formatting their keys) took milliseconds of every quick fix.
        """
        if self._keys is None and self._findings is None and self._units is not None:
            try:
                line = int(key.split(":", 2)[1])
            except (IndexError, ValueError):
                return None
            return next((f for f in self._findings_on(line, line) if finding_key(f) == key), None)
        if self._keys is None:
            self._keys = {}
            for finding in self.findings:
                self._keys.setdefault(finding_key(finding), finding)
        return self._keys.get(key)

    def _findings_on(self, first: int, last: int) -> Iterable[Finding]:
        """The findings of the statements that hold lines ``first`` to ``last`` (a superset of
        those that overlap them, in order): a finding lies in the statement of its first line."""
        if self._findings is not None or self._units is None:
            return self.findings
        units = self._units
        first_lines = self._first_lines
        if first_lines is None:
            first_lines = self._first_lines = [unit.first_line for unit in units]
        low = max(bisect.bisect_right(first_lines, first) - 1, 0)
        high = bisect.bisect_right(first_lines, last)
        return [f for unit in units[low:high] for f in unit.findings()]

    def findings_at(self, line: int, column: int) -> list[Finding]:
        """Findings whose range holds the position (0-based line, code-point column)."""
        here = Position(line, column)
        return [f for f in self._findings_on(line, line) if f.range.start <= here <= f.range.end]

    def findings_in(self, start: Position, end: Position) -> list[Finding]:
        """Findings that overlap ``[start, end]`` (an empty range touching a finding counts)."""
        return [f for f in self._findings_on(start.line, end.line) if f.range.start <= end and start <= f.range.end]

    # --- fixes -------------------------------------------------------------------------

    def offers_quick_fix(self, finding: Finding) -> bool:
        """Whether the editor lists a quick fix for ``finding`` (when it is fixable).

        Not for ``from typing import List`` while ``List`` is still used in code: that import can
        only go with every use, a rewrite of the whole module (validated on all of it: about a
        second on a finding-dense one). Each use has its own quick fix (``List[int]`` ->
        ``list[int]``; the last one also drops the import, see
        :func:`recode_lsp.engine.fixer.one_site`) and fix-all does the rest, as ruff offers no
        fix for UP035 on ``typing.List``. Other imports keep their quick fix.
        """
        if finding.site is not Site.IMPORT_FROM or finding.group is None or not by_site(finding.change):
            return True
        if self._used_groups is None:
            # A statement's findings keep their group where it is placed: no need to move them.
            every: Iterable[Finding] = (
                self.findings
                if self._findings is not None or self._units is None
                else (f for unit in self._units for f in unit.data.findings)
            )
            self._used_groups = {f.group for f in every if f.site is Site.IMPORTED_NAME}
        return finding.group not in self._used_groups

    def fix(self, finding: Finding, check: CancelCheck = _never_cancelled) -> FixResult:
        """The validated fix of one finding of this version (an unsafe one too: the caller
        decides what to offer)."""
        if not finding.fixable:
            return FixResult(self.source, skipped=[(finding, "no mechanical fix; migrate it by hand")])
        # One use of an imported name that becomes a builtin is fixed alone (see
        # :func:`recode_lsp.engine.fixer.one_site`): then an excerpt can decide it.
        alone = one_site(finding)
        if alone is not None:
            finding = alone
        excerpt = self._fix_in_excerpt(finding, check)
        if excerpt is not None:
            return excerpt
        exact = self.exact(check)
        if exact is None:
            return FixResult(self.source, skipped=[(finding, self.error or "the document does not parse")])
        match = exact.find(finding_key(finding))
        if match is not None and alone is not None:
            match = one_site(match)
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
        return FixResult(outcome.source, _diff_edits(self.source, outcome.source), outcome.applied, skipped)

    def _fix_in_excerpt(self, finding: Finding, check: CancelCheck) -> FixResult | None:
        """The fix computed on an excerpt of the module (see :func:`_plan_excerpt`); None when
        that does not apply."""
        if not self.ok or finding.change.rule is not None or self._has_global():
            return None
        if _LONE_CR.search(self.source) is not None:
            return None  # ast and LineIndex count lines apart
        # An import fixed with its uses (``from numpy import float_``): every statement that
        # mentions the name it binds is kept whole (each use, a string annotation, ``__all__``).
        names: set[str] = set()
        if finding.group is not None:
            bound = _group_name(self.source, finding)
            if bound is None:
                return None
            names.add(bound)
        tree = self._analysis.tree if self._analysis is not None else None
        plan = _plan_excerpt(self.source, self._unit_list(), finding, tree, names)
        if plan is None:
            return None
        excerpt = _cut(self.source, self.lines, plan.cuts, plan.keep_alive)
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
            if match is not None and match.group is not None and finding.group is None:
                match = one_site(match)  # the use alone, as asked
            if match is None or (match.group is None) != (finding.group is None):
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

    def _map_offset(self, excerpt: _Excerpt, offset: int) -> int:
        """An offset in an excerpt (outside the stubs) as an offset in this source."""
        line, column = excerpt.lines.position(offset)
        return self.lines.line_starts[excerpt.source_line(line)] + column

    # --- ignore --------------------------------------------------------------------------

    def ignore_edit(self, finding: Finding) -> TextEdit | None:
        return ignore_edit(self.source, finding, self.lines)


def _diff_edits(old: str, new: str) -> list[TextEdit]:
    """:func:`~recode_lsp.engine.edits.diff_edits` in about linear time.

    A fix of an import and its uses changes hundreds of similar lines of a legacy module, where
    difflib (which ``diff_edits`` uses) is quadratic: seconds for one quick fix. The line diff
    of :mod:`~recode_lsp.engine.line_diff` gives hunks of the same kind.
    """
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    hunks: list[list[int]] = []
    for tag, i1, i2, j1, j2 in line_opcodes(old_lines, new_lines):
        if tag == "equal":
            continue
        if hunks and hunks[-1][1] == i1 and hunks[-1][3] == j1:
            hunks[-1][1], hunks[-1][3] = i2, j2
        else:
            hunks.append([i1, i2, j1, j2])
    return [trim_edit(old, offsets[i1], offsets[i2], "".join(new_lines[j1:j2])) for i1, i2, j1, j2 in hunks]


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


# --- incremental analysis: top-level statements ----------------------------------------------

#: Past this share of the module (re-analysed statements' characters), analyse it whole.
_MAX_REANALYSED = 0.4
_LONE_CR = re.compile(r"\r(?!\n)")


class _UnitData:
    """What a top-level statement (or several that share lines) contributes to its module.

    It depends on the statement's text and on the names the rest of the module binds, not on
    where it is: positions are those of its *origin* (where it was analysed, or last rebuilt),
    and a :class:`_Unit` places it, moved by whole lines. The exception is ``refs``: offsets
    of import aliases that its findings' groups point at, valid in every module it is placed in
    (an edit that moves one rebuilds the data).
    """

    __slots__ = (
        "_binds",
        "_facts",
        "_identifiers",
        "_syntax",
        "bindings",
        "blocks",
        "classes",
        "end",
        "findings",
        "first_line",
        "last_line",
        "refs",
        "start",
    )

    def __init__(
        self,
        start: int,
        end: int,
        first_line: int,
        last_line: int,
        findings: tuple[Finding, ...],
        bindings: dict[str, tuple[Binding, ...]],
        classes: tuple[LocalClass, ...],
        blocks: tuple[_Block, ...],
    ) -> None:
        self.start = start
        #: Offset of the end of its last line (before the line break).
        self.end = end
        self.first_line = first_line
        self.last_line = last_line
        self.findings = findings
        #: Module-scope bindings it makes, by name, in source order: facts, without AST nodes.
        self.bindings = bindings
        #: Local classes it defines (at any depth), keyed by position-independent keys.
        self.classes = classes
        self.blocks = blocks
        self.refs = frozenset(ref for finding in findings for ref in _refs(finding))
        self._identifiers: frozenset[str] | None = None
        self._facts: dict[str, tuple[tuple[str | None, str, str | None], ...]] | None = None
        self._syntax: _UnitSyntax | None = None
        self._binds: frozenset[str] | None = None

    def identifiers(self, text: str) -> frozenset[str]:
        """Identifiers written in it (``text`` is its text, wherever it is placed)."""
        if self._identifiers is None:
            self._identifiers = frozenset(_identifiers(text))
        return self._identifiers

    def carry(self, other: _UnitData, lines: int) -> None:
        """Take ``other``'s caches: the same text, its origin ``lines`` lines above this one's."""
        self._identifiers = other._identifiers
        self._binds = other._binds
        self._facts = other._facts
        self._syntax = other._syntax.moved(lines) if other._syntax is not None else None

    def syntax(self, text: str, statements: Sequence[ast.stmt] | None = None) -> _UnitSyntax:
        """What the fixer and the validator read of it beyond its findings (``text``: its text;
        ``statements``: its statements in the analysis it came from, when that has a tree)."""
        if self._syntax is None:
            def_lines = [block.def_line for block in self.blocks]
            self._syntax = _UnitSyntax.of(text, self.first_line, def_lines, statements)
        return self._syntax

    def binds(self) -> frozenset[str]:
        """Names it binds at module level, and the names of the classes it defines (at any depth)."""
        if self._binds is None:
            classes = {part for local in self.classes for part in local.name.split(".")}
            self._binds = frozenset(self.bindings) | classes
        return self._binds

    def facts(self) -> dict[str, tuple[tuple[str | None, str, str | None], ...]]:
        """What the rest of the module sees of its bindings: by name, (qname, kind, class) in order."""
        if self._facts is None:
            self._facts = {
                name: tuple((b.qname, b.kind, b.type_qname) for b in found) for name, found in self.bindings.items()
            }
        return self._facts


class _Unit:
    """A :class:`_UnitData` placed in one version of a module."""

    __slots__ = ("_findings", "data", "first_line", "start")

    def __init__(self, start: int, first_line: int, data: _UnitData) -> None:
        self.start = start
        self.first_line = first_line
        self.data = data
        self._findings: list[Finding] | tuple[Finding, ...] | None = None

    @property
    def end(self) -> int:
        return self.start + self.data.end - self.data.start

    @property
    def last_line(self) -> int:
        return self.first_line + self.data.last_line - self.data.first_line

    @property
    def shift(self) -> tuple[int, int]:
        """Characters and lines from its data's origin to here."""
        return self.start - self.data.start, self.first_line - self.data.first_line

    def moved(self, chars: int, lines: int) -> _Unit:
        return self if not chars and not lines else _Unit(self.start + chars, self.first_line + lines, self.data)

    def findings(self) -> Sequence[Finding]:
        if self._findings is None:
            chars, lines = self.shift
            data = self.data.findings
            self._findings = data if not chars and not lines else [_moved(f, chars, lines) for f in data]
        return self._findings

    def blocks(self) -> Sequence[_Block]:
        chars, lines = self.shift
        data = self.data.blocks
        return data if not chars and not lines else [block.moved(chars, lines) for block in data]

    def bindings(self) -> Iterable[tuple[str, Sequence[Binding]]]:
        chars = self.start - self.data.start
        if not chars:
            return self.data.bindings.items()
        return ((name, [_moved_binding(b, chars) for b in found]) for name, found in self.data.bindings.items())


def _refs(finding: Finding) -> Iterator[int]:
    """Offsets outside its own range that a finding points at: the import alias of its group."""
    if finding.details.binding is not None:
        yield finding.details.binding
    if finding.group is not None and finding.group.startswith("import:"):
        yield int(finding.group[len("import:") :])


def _span(span: tuple[int, int] | None, chars: int) -> tuple[int, int] | None:
    return None if span is None else (span[0] + chars, span[1] + chars)


_NO_DETAILS = SiteDetails()


def _moved(finding: Finding, chars: int, lines: int) -> Finding:
    """``finding`` moved down by ``chars`` characters and ``lines`` whole lines (its refs stay)."""
    start, end = finding.range.start, finding.range.end
    details = finding.details
    if details != _NO_DETAILS:
        details = SiteDetails(
            call=_span(details.call, chars),
            args=tuple((a + chars, b + chars) for a, b in details.args),
            receiver=_span(details.receiver, chars),
            expression=_span(details.expression, chars),
            binding=details.binding,
        )
    return Finding(
        finding.path,
        Range(Position(start.line + lines, start.column), Position(end.line + lines, end.column)),
        finding.change,
        finding.severity,
        finding.site,
        finding.start_offset + chars,
        finding.end_offset + chars,
        finding.group,
        finding.safety,
        details,
    )


def _moved_ref(finding: Finding, after: int, chars: int) -> Finding:
    """``finding`` with its refs at or after offset ``after`` moved by ``chars``."""
    details = finding.details
    binding = details.binding
    if binding is not None and binding >= after:
        details = dataclasses.replace(details, binding=binding + chars)
    group = finding.group
    if group is not None and group.startswith("import:"):
        offset = int(group[len("import:") :])
        if offset >= after:
            group = f"import:{offset + chars}"
    return dataclasses.replace(finding, group=group, details=details)


def _moved_binding(binding: Binding, chars: int) -> Binding:
    return Binding(
        binding.name,
        binding.qname,
        binding.kind,
        binding.offset + chars,
        binding.type_qname,
        node_offset=None if binding.node_offset is None else binding.node_offset + chars,
    )


def _statement_lines(node: ast.stmt) -> tuple[int, int]:
    """0-based first (decorators included) and last line of a statement."""
    first = node.lineno
    for decorator in getattr(node, "decorator_list", ()):
        first = min(first, decorator.lineno)
    return first - 1, (node.end_lineno or node.lineno) - 1


def _make_units(
    statements: Sequence[ast.stmt],
    analysis: ModuleAnalysis,
    findings: Sequence[Finding],
    path: str,
    *,
    warm: bool = False,
) -> list[_Unit]:
    """The units of ``statements`` (top-level, in order; analysed in ``analysis``); ``warm``: with
    what a quick fix's excerpt reads of each, from the tree at hand (a whole module's units, built
    once, and the few statements an edit analyses again: a walk of what was just parsed, where
    the first quick fix after the edit parsed them again)."""
    source, lines = analysis.source, analysis.lines
    starts = lines.line_starts
    groups: list[list[int]] = []  # [first line, last line]
    for statement in statements:
        first, last = _statement_lines(statement)
        if groups and first <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], last)
        else:
            groups.append([first, last])
    if not groups:
        return []
    spans = [
        (starts[first], (starts[last + 1] - 1) if last + 1 < len(starts) else len(source)) for first, last in groups
    ]
    unit_starts = [start for start, _ in spans]
    first_lines = [first for first, _ in groups]

    def at(offset: int) -> int:
        index = bisect.bisect_right(unit_starts, offset) - 1
        return index if index >= 0 and offset <= spans[index][1] else -1

    found: list[list[Finding]] = [[] for _ in groups]
    for finding in findings:
        index = bisect.bisect_right(first_lines, finding.range.start.line) - 1
        found[max(index, 0)].append(finding)
    bindings: list[dict[str, list[Binding]]] = [{} for _ in groups]
    for name, bound in analysis.module_scope.bindings.items():
        for binding in bound:
            index = at(binding.offset)
            if index < 0:
                continue  # the environment's, or a name a function declares global
            node_offset = binding.node_offset
            if node_offset is None and binding.kind in ("import", "import_from") and binding.node is not None:
                node_offset = lines.node_span(binding.node)[0]
            fact = Binding(
                name, binding.qname, binding.kind, binding.offset, binding.type_qname, node_offset=node_offset
            )
            bindings[index].setdefault(name, []).append(fact)
    classes: list[list[LocalClass]] = [[] for _ in groups]
    for local in analysis.classes.values():  # the tree's own classes
        index = bisect.bisect_right(first_lines, local.node.lineno - 1) - 1
        classes[max(index, 0)].append(local)
    blocks: list[list[_Block]] = [[] for _ in groups]
    for block in _blocks(analysis.tree, source, lines):
        index = at(block.start)
        if index >= 0:
            blocks[index].append(block)
    units = []
    for index, (first, last) in enumerate(groups):
        start, end = spans[index]
        data = _UnitData(
            start,
            end,
            first,
            last,
            tuple(found[index]),
            {name: tuple(bound) for name, bound in bindings[index].items()},
            tuple(classes[index]),
            tuple(blocks[index]),
        )
        units.append(_Unit(start, first, data))
    if not warm:
        return units
    # What a quick fix's excerpt reads of each statement it leaves out (:class:`_UnitSyntax`, the
    # identifiers and names bound), from the tree at hand: the first quick fix in a finding-dense
    # module parsed and walked every statement for it (about half a second); kept while the
    # statement is unchanged.
    by_unit: list[list[ast.stmt]] = [[] for _ in groups]
    for statement in statements:
        by_unit[max(bisect.bisect_right(first_lines, _statement_lines(statement)[0]) - 1, 0)].append(statement)
    for unit, nodes in zip(units, by_unit, strict=True):
        text = source[unit.start : unit.end]
        unit.data.syntax(text, nodes)
        unit.data.identifiers(text)
        unit.data.binds()
    return units


def _environment(units: Sequence[_Unit], low: int, high: int) -> Environment:
    """The names and classes of ``units[:low]`` (before a chunk) and ``units[high:]`` (after it)."""
    environment = Environment()
    for unit in units[:low]:
        for name, found in unit.bindings():
            environment.before.setdefault(name, []).extend(found)
        for local in unit.data.classes:
            environment.classes_before[local.key] = local
            environment.class_counts[class_key_name(local.key)] += 1
    for unit in units[high:]:
        for name, found in unit.bindings():
            environment.after.setdefault(name, []).extend(found)
        for local in unit.data.classes:
            environment.classes_after[local.key] = local
    return environment


def _analyse_chunk(
    source: str,
    lines: LineIndex,
    start: int,
    end: int,
    units: Sequence[_Unit],
    low: int,
    high: int,
    context: AnalysisContext,
    path: str,
) -> list[_Unit] | None:
    """The units of ``source[start:end]`` (whole lines between ``units[:low]`` and
    ``units[high:]``), analysed in their environment; None when the chunk does not parse."""
    chunk = source[start:end]
    first_line = lines.position(start)[0]
    try:
        tree = ast.parse("\n" * first_line + chunk, filename=path, type_comments=False)
        analysis = ModuleAnalysis(
            tree, source, context.module_name, environment=_environment(units, low, high), lines=lines
        )
        findings = detect_chunk(analysis, context.kb, context.options, path, chunk, first_line)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the whole module says why, with its own positions
    # Warm: what a quick fix's excerpt reads of these statements, from the tree at hand (an edited
    # statement left out of an excerpt was parsed and walked again by the first fix after the edit).
    return _make_units(tree.body, analysis, findings, path, warm=True)


def _class_facts(units: Iterable[_Unit]) -> dict[str, tuple[str, tuple[str, ...], frozenset[str] | None]]:
    """Per local class: name, bases and, when it has bases (a library class may be among
    them), the members its body defines (the detector asks whether it overrides one)."""
    return {
        local.key: (local.name, tuple(local.bases), _members(local.node) if local.bases else None)
        for unit in units
        for local in unit.data.classes
    }


def _members(node: ast.ClassDef) -> frozenset[str]:
    names: set[str] = set()
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def _changed_names(old: Sequence[_Unit], new: Sequence[_Unit]) -> set[str] | None:
    """Names whose module-level bindings or classes differ between two runs of units; None
    when a class with bases changed its members (every use of it anywhere could change)."""
    old_facts: dict[str, list[tuple[str | None, str, str | None]]] = {}
    new_facts: dict[str, list[tuple[str | None, str, str | None]]] = {}
    for units, facts in ((old, old_facts), (new, new_facts)):
        for unit in units:
            for name, found in unit.data.facts().items():
                facts.setdefault(name, []).extend(found)
    changed = {name for name in old_facts.keys() | new_facts.keys() if old_facts.get(name) != new_facts.get(name)}
    old_classes, new_classes = _class_facts(old), _class_facts(new)
    for key in old_classes.keys() | new_classes.keys():
        before, after = old_classes.get(key), new_classes.get(key)
        if before == after:
            continue
        if before is not None and after is not None and before[:2] == after[:2]:
            return None  # members of a class with bases
        for known in (before, after):
            if known is not None:
                changed.add(known[0])
    return changed


def _incremental(previous: DocumentAnalysis, source: str, check: CancelCheck) -> DocumentAnalysis | None:
    """Re-analyse only the top-level statements an edit changed (and those using a name whose
    binding it changed), or only the method it changed; None when the whole module must be
    analysed."""
    old = previous.source
    if old == source:
        return previous
    if _has_global(source) or _LONE_CR.search(source) is not None:
        return None  # a function could rebind a module name; ast and LineIndex count lines apart
    units = previous._unit_list()
    prefix = common_prefix_length(old, source)
    suffix = common_suffix_length(old, source, min(len(old), len(source)) - prefix)
    edit = _Edit(old, source, prefix, len(old) - suffix, LineIndex(source))
    check()
    current = _in_method(previous, units, edit)
    if current is None:
        current = _in_statements(previous, units, edit, check)
        if current is None:
            return None
    result = DocumentAnalysis(
        source, previous.path, previous.context, None, units=current, lines=edit.lines, incremental=True
    )
    result._global = False
    return result


@dataclass(frozen=True)
class _Edit:
    """``old[prefix:old_end]`` became ``new[prefix:old_end + chars]``."""

    old: str
    new: str
    prefix: int
    old_end: int
    #: An index of ``new``.
    lines: LineIndex

    @property
    def chars(self) -> int:
        return len(self.new) - len(self.old)

    def line_delta(self, start: int, end: int) -> int:
        """Lines the old text ``[start, end)`` (around the edit) gained."""
        return self.new.count("\n", start, end + self.chars) - self.old.count("\n", start, end)


_CLASS_KEYWORD = re.compile(r"\bclass\b")


def _in_method(previous: DocumentAnalysis, units: list[_Unit], edit: _Edit) -> list[_Unit] | None:
    """The units after an edit inside one method's body: that method analysed again, in its
    class with the other methods left out (stubs keep their names); None when that does not apply.

    A class can be most of a legacy module; its other methods cannot see into this one, and its
    class-level statements, bases and member names are the same, so the method's findings are
    those of the whole module. Not when the method defines a class (local class keys count
    the classes of a name).
    """
    old, source, chars = edit.old, edit.new, edit.chars
    index = bisect.bisect_right([unit.start for unit in units], edit.prefix) - 1
    if index < 0 or edit.old_end > units[index].end:
        return None
    unit = units[index]
    blocks = list(unit.blocks())
    block = _block_at(blocks, edit.prefix, edit.old_end)
    if block is None or not block.indent:
        return None  # a top-level function is a statement: analysed alone anyway
    lines = edit.line_delta(block.start, block.end)
    if _CLASS_KEYWORD.search(old, block.start, block.end) or _CLASS_KEYWORD.search(
        source, block.start, block.end + chars
    ):
        return None
    # The class, in the new text, with every other method a stub of as many lines.
    pieces: list[str] = []
    cursor = unit.start
    for other in blocks:
        if other is block:
            continue
        start, end = (
            (other.start, other.end) if other.start < block.start else (other.start + chars, other.end + chars)
        )
        pieces.append(source[cursor:start])
        pieces.append(f"{other.indent}def {other.name}(): pass" + "\n" * (other.last_line - other.first_line))
        cursor = end
    pieces.append(source[cursor : unit.end + chars])
    chunk = "".join(pieces)
    context = previous.context
    after = [later.moved(chars, lines) for later in units[index + 1 :]]
    around = [*units[:index], unit, *after]  # ``unit`` itself is left out of the environment
    try:
        tree = ast.parse("\n" * unit.first_line + chunk, filename=previous.path, type_comments=False)
        (node,) = tree.body
        method = next(
            statement
            for statement in getattr(node, "body", ())
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            and statement.lineno == block.def_line + 1
        )
        if method.name != block.name or method.end_lineno != block.last_line + lines + 1:
            return None  # the edit changed where the method ends
        analysis = ModuleAnalysis(
            tree, source, context.module_name, environment=_environment(around, index, index + 1), lines=edit.lines
        )
        found = detect_chunk(analysis, context.kb, context.options, previous.path, chunk, unit.first_line)
    except (SyntaxError, ValueError, RecursionError, MemoryError, StopIteration):
        return None
    first, last = block.first_line, block.last_line + lines
    inside = [f for f in found if first <= f.range.start.line <= last]
    kept = [_moved_ref(f, edit.old_end, chars) for f in unit.findings()]
    findings = (
        [f for f in kept if f.range.start.line < first]
        + inside
        + [_moved(f, chars, lines) for f in kept if f.range.start.line > block.last_line]
    )
    moved_blocks = [b if b.start < block.start else b.moved(chars, lines) for b in blocks if b is not block]
    moved_blocks.append(dataclasses.replace(block, end=block.end + chars, last_line=block.last_line + lines))
    moved_blocks.sort(key=lambda b: b.start)
    bindings = {
        name: tuple(b if b.offset < edit.old_end else _moved_binding(b, chars) for b in found_bindings)
        for name, found_bindings in unit.bindings()
    }
    data = _UnitData(
        unit.start,
        unit.end + chars,
        unit.first_line,
        unit.last_line + lines,
        tuple(findings),
        bindings,
        unit.data.classes,
        tuple(moved_blocks),
    )
    # What an excerpt reads of the class: the other methods' syntax and the names it binds are
    # unchanged; only this method's is new (it was built again, with a parse of the class, on
    # the first quick fix after every such edit).
    data._binds = unit.data._binds
    old_syntax = unit.data._syntax
    if old_syntax is not None and "type:" not in source[unit.start : unit.end + chars]:
        data._syntax = old_syntax.moved(unit.first_line - unit.data.first_line).with_block(
            block.def_line, lines, block.def_line, _Syntax.of([method], "")
        )
    current = [*units[:index], _Unit(unit.start, unit.first_line, data), *after]
    for position, placed in enumerate(current):
        refs = placed.data.refs
        if position != index and refs and max(refs) >= edit.old_end:
            current[position] = _rebuilt(placed, edit.old_end, chars)
    return current


def _in_statements(
    previous: DocumentAnalysis, units: list[_Unit], edit: _Edit, check: CancelCheck
) -> list[_Unit] | None:
    """The units after an edit: the top-level statements it touched analysed again (with whole
    lines around it), then those that use a name whose binding changed; None past a budget."""
    old, source, prefix, old_end, chars, lines = edit.old, edit.new, edit.prefix, edit.old_end, edit.chars, edit.lines
    # The changed statements: every unit the edit touches, and whole lines around it.
    unit_starts = [unit.start for unit in units]
    low = bisect.bisect_right(unit_starts, prefix) - 1
    if low < 0 or units[low].end < prefix:
        low += 1
    high = bisect.bisect_right(unit_starts, old_end)
    region_start = old.rfind("\n", 0, prefix) + 1
    region_end = old.find("\n", old_end)
    region_end = len(old) if region_end == -1 else region_end
    if low < high:
        region_start = min(region_start, units[low].start)
        region_end = max(region_end, units[high - 1].end)
    new_lines = edit.line_delta(region_start, region_end)
    after = [unit.moved(chars, new_lines) for unit in units[high:]]
    current: list[_Unit] = [*units[:low], *after]
    replaced = _analyse_chunk(
        source, lines, region_start, region_end + chars, current, low, low, previous.context, previous.path
    )
    if replaced is None:
        return None
    changed = _changed_names(units[low:high], replaced)
    if changed is None:
        return None
    current[low:low] = replaced
    fresh = {id(unit.data) for unit in replaced}
    # Statements whose findings point into the changed ones (an import alias) are analysed
    # again, as are those that use a name whose binding changed, until no binding changes.
    skip = set(range(low, low + len(replaced)))
    dirty = {
        index
        for index, unit in enumerate(current)
        if index not in skip and any(region_start <= ref < region_end for ref in unit.data.refs)
    }
    budget = _MAX_REANALYSED * len(source) - (region_end + chars - region_start)
    context = previous.context
    while True:
        if changed:
            for index, unit in enumerate(current):
                if index not in skip and not changed.isdisjoint(unit.data.identifiers(source[unit.start : unit.end])):
                    dirty.add(index)
        if not dirty:
            break
        index = min(dirty)
        dirty.discard(index)
        unit = current[index]
        budget -= unit.end - unit.start
        if budget < 0:
            return None
        check()
        again = _analyse_chunk(source, lines, unit.start, unit.end, current, index, index + 1, context, previous.path)
        if again is None or len(again) != 1:
            return None
        changed = _changed_names([unit], again)
        if changed is None:
            return None
        current[index] = again[0]
        fresh.add(id(again[0].data))
        skip = {index}
    # Import aliases after the edit moved: the findings that point at them follow.
    for index, unit in enumerate(current):
        refs = unit.data.refs
        if refs and id(unit.data) not in fresh and max(refs) >= region_end:
            current[index] = _rebuilt(unit, region_end, chars)
    return current


def _rebuilt(unit: _Unit, after: int, chars: int) -> _Unit:
    """``unit`` with its data at its place, and its refs at or after ``after`` moved by ``chars``."""
    findings = tuple(_moved_ref(f, after, chars) for f in unit.findings())
    bindings = {name: tuple(found) for name, found in unit.bindings()}
    data = _UnitData(
        unit.start,
        unit.end,
        unit.first_line,
        unit.last_line,
        findings,
        bindings,
        unit.data.classes,
        tuple(unit.blocks()),
    )
    data.carry(unit.data, unit.first_line - unit.data.first_line)
    return _Unit(unit.start, unit.first_line, data)
