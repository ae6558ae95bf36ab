"""Parse only what can hold a finding: function bodies with no evidence are read as ``pass``.

A file that passes the byte prefilter is parsed, analysed and walked whole, yet in old
scientific code most of it is test and helper functions that use none of the changed names:
on the bench corpus (issue 15), 59% of the bytes of the files that pass are such bodies, and
parsing and analysing them was two thirds of a cold ``--check``. :func:`sparse_analysis` gives
the analysis of the module with each such body replaced by ``pass``: the same lines, so every
position the detector reports is the one the whole parse gives, and the same findings.

A body is replaced only when all of these hold, else the file is parsed whole:

* the prefilter's evidence (:meth:`Prefilter.evidence`) is local: every offset near which a
  finding may be reported is known, and the body (its ``def`` line included) holds none;
* the body binds nothing outside itself (no ``global``, ``nonlocal``) and defines no class;
* its text is whole: as many quotes of each triple kind, and of each bracket, open as close,
  and its last line is not continued; the file is UTF-8 with ``\\n`` lines and space indents;
* after the parse, each ``pass`` is the only statement of the function whose ``def`` was
  found (a ``def`` in a docstring is not a function: then the whole file is parsed);
* no name the body uses is bound, in a scope the parse kept, to a changed name by an
  assignment (``a = np.float_`` and ``a(1)`` in a body is a finding there).

What it costs: a syntax error inside a replaced body is not seen. The default ``--check`` does
not parse the files the prefilter skips either; ``--check-syntax`` (and ``--diff``, ``--apply``,
the language server) parse every file whole. ``--check --too-new`` adds the offsets where its walk may
report (:meth:`TooNew.evidence`), and reads a module its pre-check finds nothing in as above.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from recode_lsp.engine.analysis import ModuleAnalysis
from recode_lsp.engine.detector import SourceError, parse_source
from recode_lsp.engine.prefilter import Prefilter

#: A ``def`` line and its header up to the colon, the body on the next line: parameters with up
#: to three levels of brackets, a return annotation without a colon (else: not replaced). Tried
#: only at the start of a line that holds ``def`` (a search in MULTILINE mode tried every line).
#: The brackets are read as runs of other characters between groups, which cannot backtrack
#: without end (possessive quantifiers would say the same, but Python 3.10 has none).
_DEF = re.compile(
    rb"([ ]*)(?:async[ \t]+)?def[ \t]+\w+[ \t]*"
    rb"\([^()]*(?:\([^()]*(?:\([^()]*\)[^()]*)*\)[^()]*)*\)"
    rb"[ \t]*(?:->[^\n:]+)?:[ \t]*(?:#[^\n]*)?\n"
)
#: What rules a body out: a name bound outside it, a class defined (looked for as words where
#: ``bytes.find`` sees the letters: a leading ``\b`` made the engine try every offset).
_BINDS_OUTSIDE_WORDS = (b"global", b"nonlocal", b"class")
_BINDS_OUTSIDE = re.compile(rb"(?<!\w)(?:global|nonlocal|class)(?!\w)")
#: Indentation that is not spaces alone, form feeds: the body's end is then not read by counting.
_ODD_INDENT = re.compile(rb"^[ ]*[\t\f]", re.MULTILINE)
#: Bodies shorter than this many lines are kept: replacing them saves less than it costs.
MIN_LINES = 2
_ENDS: dict[int, re.Pattern[bytes]] = {}


@dataclass(frozen=True)
class Stub:
    """A function body read as ``pass``: its ``def`` line, and the lines and bytes it covered."""

    def_line: int
    #: The body's first line, where ``pass`` stands (1-based, as ``ast`` counts).
    pass_line: int
    start: int
    end: int


def _next_def(data: bytes, position: int) -> re.Match[bytes] | None:
    """The first function header (:data:`_DEF`) that starts a line at or after ``position``."""
    found = data.find(b"def", position)
    while found != -1:
        match = _DEF.match(data, data.rfind(b"\n", 0, found) + 1)
        if match is not None and match.end() > found:
            return match
        found = data.find(b"def", found + 3)
    return None


def _body_end(indent: int) -> re.Pattern[bytes]:
    """The newline before the next line indented ``indent`` spaces or less that holds code."""
    pattern = _ENDS.get(indent)
    if pattern is None:
        pattern = _ENDS[indent] = re.compile(rb"\n(?=[ ]{0,%d}[^ \n#])" % indent)
    return pattern


def _whole(data: bytes, start: int, end: int) -> bool:
    """Whether the body ``data[start:end]`` can be cut out of the module on its own (the
    module's list), counted in place: a copy of each body cost more than the counts."""
    count = data.count
    return (
        count(b'"""', start, end) % 2 == 0
        and count(b"'''", start, end) % 2 == 0
        and count(b"(", start, end) == count(b")", start, end)
        and count(b"[", start, end) == count(b"]", start, end)
        and count(b"{", start, end) == count(b"}", start, end)
        and data[end - 2 : end] != b"\\\n"
        and not (
            any(data.find(word, start, end) != -1 for word in _BINDS_OUTSIDE_WORDS)
            and _BINDS_OUTSIDE.search(data, start, end) is not None
        )
    )


def stub_bodies(data: bytes, evidence: Sequence[int]) -> tuple[bytes, list[Stub]]:
    """``data`` with each function body that can hold no finding read as ``pass`` (same lines).

    ``evidence`` holds the sorted offsets near which a finding may be reported. Nested functions
    of a body that is kept are looked at in turn.
    """
    pieces: list[bytes] = []
    stubs: list[Stub] = []
    position = 0
    line, counted = 1, 0  # the line number at offset ``counted``
    # How many triple quotes of each kind come before ``quoted``: a ``def`` after an odd number
    # is (nearly always) in a docstring's example, not code, and is passed over.
    doubles = singles = quoted = 0
    match = _next_def(data, 0)
    while match is not None:
        doubles += data.count(b'"""', quoted, match.start())
        singles += data.count(b"'''", quoted, match.start())
        quoted = match.start()
        if doubles % 2 or singles % 2:
            match = _next_def(data, match.end())
            continue
        indent, body = len(match.group(1)), match.end()
        after = _body_end(indent).search(data, body)
        end = after.start() + 1 if after is not None else len(data)
        index = bisect.bisect_left(evidence, match.start())
        lines = data.count(b"\n", body, end)
        if lines >= MIN_LINES and (index == len(evidence) or evidence[index] >= end) and _whole(data, body, end):
            def_line = line = line + data.count(b"\n", counted, match.start())
            line += data.count(b"\n", match.start(), body)
            counted = body
            stubs.append(Stub(def_line, line, body, end))
            pieces.append(data[position:body])
            pieces.append(b" " * (indent + 1) + b"pass" + b"\n" * lines)
            position = end
            match = _next_def(data, end)
        else:
            match = _next_def(data, body)
    if not stubs:
        return data, stubs
    pieces.append(data[position:])
    return b"".join(pieces), stubs


def sparse_analysis(
    data: bytes,
    text: str,
    path: str,
    prefilter: Prefilter,
    *,
    kb_relevant: bool = True,
    more_evidence: Sequence[int] | None = (),
) -> ModuleAnalysis | None:
    """The analysis of ``text`` (``data`` decoded as UTF-8) with the bodies that can hold no
    finding read as ``pass``; None where the whole module must be parsed instead (nothing to
    replace, a condition of the module's list not met, a replaced text that does not parse).

    ``more_evidence``: the offsets of another check that walks the same analysis (``--too-new``:
    :meth:`TooNew.evidence`), None when its findings may be anywhere; ``kb_relevant=False``: the
    prefilter found nothing for the knowledge base, so only those offsets count."""
    if more_evidence is None or b"\r" in data or _ODD_INDENT.search(data) is not None:
        return None
    evidence = prefilter.evidence(data) if kb_relevant else []
    if evidence is None:
        return None
    if more_evidence:
        evidence = sorted({*evidence, *more_evidence})
    sparse, stubs = stub_bodies(data, evidence)
    if not stubs:
        return None
    try:
        tree = parse_source(sparse.decode("utf-8"), path)
    except (SourceError, RecursionError, UnicodeDecodeError):
        return None  # the whole parse tells what is wrong
    analysis = ModuleAnalysis(tree, text)
    if not _stubs_are_bodies(analysis, stubs) or _aliases_used(analysis, data, stubs, prefilter):
        return None
    return analysis


def _stubs_are_bodies(analysis: ModuleAnalysis, stubs: Sequence[Stub]) -> bool:
    """Whether each ``pass`` is the whole body of the function whose ``def`` it follows."""
    functions: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for scope in analysis.scopes():
        if isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[scope.node.lineno] = scope.node
    for stub in stubs:
        function = functions.get(stub.def_line)
        if function is None or len(function.body) != 1:
            return False
        statement = function.body[0]
        if not isinstance(statement, ast.Pass) or statement.lineno != stub.pass_line:
            return False
    return True


def _aliases_used(analysis: ModuleAnalysis, data: bytes, stubs: Sequence[Stub], prefilter: Prefilter) -> bool:
    """Whether a replaced body uses a name that a kept scope binds, other than by an import, to
    a changed name, to something under one or above one (``a = np.float_``: each use of ``a``
    resolves to it; ``arr = np.zeros(3)`` is no alias, and a changed member of it is evidence)."""
    names = {
        name.encode()
        for scope in analysis.scopes()
        for name, bindings in scope.bindings.items()
        if any(
            binding.qname is not None
            and binding.kind not in ("import", "import_from")
            and prefilter.may_lead_to_finding(binding.qname)
            for binding in bindings
        )
    }
    if not names:
        return False
    pattern = re.compile(rb"(?<![\w.])(?:" + b"|".join(re.escape(name) for name in sorted(names)) + rb")(?!\w)")
    return any(pattern.search(data, stub.start, stub.end) for stub in stubs)
