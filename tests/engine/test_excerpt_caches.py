"""What a quick fix reads of a finding-dense module after an edit: built once, and exact.

A quick fix in an incremental analysis reads three things of the module (issue 13): the finding
(looked up by its key, or by the range the editor asks about), what each top-level statement
binds and reads (:class:`~recode_lsp.engine.document._UnitSyntax`, for the excerpt's plan), and
the fixed excerpt's imports. Each test compares the fast path with the answer computed from
scratch, and checks that the work is not repeated (what the old code did on every fix).
"""

from __future__ import annotations

import ast
import random
import textwrap

import pytest

from recode_lsp.engine.analysis import LineIndex
from recode_lsp.engine.document import (
    AnalysisContext,
    DocumentAnalysis,
    _identifiers,
    _UnitSyntax,
    finding_key,
)
from recode_lsp.engine.fixer import fix_findings
from recode_lsp.engine.imports import loaded_names, referenced_outside_code, remove_aliases, unused_import_edits
from recode_lsp.engine.model import Position, TextEdit
from recode_lsp.engine.validator import Baseline, check_fix

#: Blocks like those of ``bench/lsp_latency.py --dense``.
BLOCK = """
LIMIT_{i} = {i} * 10


def compute_{i}(values: List[float], extra: Optional[Dict[str, int]] = None) -> Tuple[float, int]:
    arr = np.asfarray(values)
    total = np.product(arr.shape) + 0
    return float(np.float_(total)) + LIMIT_{i}, 0


class Holder{i}(object):
    data: Dict[str, List[int]] = {{}}
    default = np.float_(0)

    def items(self) -> Set[Text]:
        return set(np.round_(np.array([1.0, 2.0]), 1).astype(np.int_))

    def merge(self, other: "Holder{i}") -> List[Tuple[str, int]]:
        pairs = [(key, len(value) + 0) for key, value in self.data.items()]
        return sorted(pairs, key=lambda pair: (np.float_(pair[1]), pair[0]))
"""
DENSE = (
    '"""A legacy module."""\nfrom typing import Dict, List, Optional, Set, Text, Tuple\n\nimport numpy as np\n'
    + "".join(BLOCK.format(i=i) for i in range(8))
)
#: Where a one-digit edit goes (the text right before the digit): a module constant, a function
#: body, a class body, a method body (as the bench's edits).
MARKERS = ("* ", "arr.shape) + ", "default = np.float_(", "len(value) + ")


def _edit(source: str, rng: random.Random) -> str:
    block = rng.randrange(8)
    marker = rng.choice(MARKERS)
    start = source.index(marker, source.index(f"\nLIMIT_{block} = ")) + len(marker)
    return source[:start] + str((int(source[start]) + 1) % 10) + source[start + 1 :]


def _fresh_syntax(analysis: DocumentAnalysis, index: int) -> _UnitSyntax:
    """The syntax of a statement parsed from its text (lines of its data's origin)."""
    unit = analysis._unit_list()[index]
    text = analysis.source[unit.start : unit.end]
    return _UnitSyntax.of(text, unit.data.first_line, [block.def_line for block in unit.data.blocks])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_statement_caches_after_edits_are_built_and_exact(context: AnalysisContext, seed: int) -> None:
    """Every statement an edit analysed again (a method alone, or whole statements) has its
    excerpt caches ready, equal to what parsing its new text gives."""
    rng = random.Random(seed)
    source = DENSE
    current = DocumentAnalysis.run(source, "m.py", context)
    current._unit_list()
    for _ in range(16):
        source = _edit(source, rng)
        analysis = DocumentAnalysis.run(source, "m.py", context, previous=current)
        assert analysis.incremental
        for index, unit in enumerate(analysis._unit_list()):
            data = unit.data
            # The old code left the edited statement's syntax to the first quick fix.
            assert data._syntax is not None, (index, source[unit.start : unit.end])
            assert data._syntax == _fresh_syntax(analysis, index), index
            text = source[unit.start : unit.end]
            assert data.identifiers(text) == frozenset(_identifiers(text)), index
            assert data.binds() == frozenset(data.bindings) | {
                part for local in data.classes for part in local.name.split(".")
            }
        current = analysis


def test_quick_fixes_after_method_edits_equal_the_whole_modules(context: AnalysisContext) -> None:
    rng = random.Random(7)
    source = DENSE
    current = DocumentAnalysis.run(source, "m.py", context)
    for _ in range(6):
        source = _edit(source, rng)
        analysis = DocumentAnalysis.run(source, "m.py", context, previous=current)
        full = DocumentAnalysis.run(source, "m.py", context)
        fixable = [f for f in analysis.findings if f.fixable]
        for finding in rng.sample(fixable, 6):
            exact = full.find(finding_key(finding))
            assert exact is not None
            assert analysis.fix(finding).source == full.fix(exact).source, finding_key(finding)
        current = analysis


def test_looking_a_finding_up_does_not_move_every_finding(context: AnalysisContext) -> None:
    """A code action names a range and a key or two: after an edit the old code moved all of a
    finding-dense module's findings (and formatted every key) to answer."""
    current = DocumentAnalysis.run(DENSE, "m.py", context)
    source = _edit(DENSE, random.Random(1))
    analysis = DocumentAnalysis.run(source, "m.py", context, previous=current)
    full = DocumentAnalysis.run(source, "m.py", context)
    rng = random.Random(2)
    for finding in rng.sample(full.findings, 25):
        key = finding_key(finding)
        found = analysis.find(key)
        assert found == finding, key
        start, end = finding.range.start, finding.range.end
        assert analysis.findings_in(start, end) == full.findings_in(start, end)
        assert analysis.findings_at(start.line, start.column) == full.findings_at(start.line, start.column)
        assert analysis.offers_quick_fix(finding) == full.offers_quick_fix(finding)
    wide = (Position(0, 0), Position(40, 0))
    assert analysis.findings_in(*wide) == full.findings_in(*wide)
    assert analysis.find("PY117:no:key") is None and analysis.find("nonsense") is None
    assert analysis._findings is None  # nothing but the statements asked about was moved


UNUSED_CASES = {
    "plain": "import os, sys\nfrom typing import List, Dict\n\nx: List[int] = []\nprint(sys)\n",
    "string-annotation": "from typing import List, Dict\n\ny: 'Dict[str, int]' = {}\n",
    "nested-string": "from typing import Optional, List\n\ndef f(a: Optional['List[int]']) -> None:\n    pass\n",
    "cast-and-typevar": (
        "from typing import List, TypeVar, cast\n\nT = TypeVar('T', bound='List')\nz = cast('List[int]', [])\n"
    ),
    "dunder-all": "from typing import List, Dict\n\n__all__ = ['Dict']\n",
    "type-comment": "from typing import List, Dict\n\nvalue = []  # type: Dict[str, int]\n",
    "class-body-import": "class Holder:\n    import collections\n    from typing import List\n\nimport json\n",
    "in-function": "def f():\n    from typing import List, Dict\n    return Dict\n\nimport json\n",
    "store-only": "import json\njson = 1\nfrom os import path\npath.join\n",
    "alias": "from typing import List as L, Dict as D\n\nx: L[int] = []\n",
}


def _unused_four_walks(tree: ast.Module, source: str, candidates: set[str]) -> list[TextEdit]:
    """The definition: loaded names, names read outside code, class-body imports, imports."""
    used = loaded_names(tree) | referenced_outside_code(tree, source)
    in_class = {
        id(statement)
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for statement in node.body
        if isinstance(statement, (ast.Import, ast.ImportFrom))
    }
    edits = []
    for statement in ast.walk(tree):
        if not isinstance(statement, (ast.Import, ast.ImportFrom)) or id(statement) in in_class:
            continue
        dead = [
            alias
            for alias in statement.names
            if (alias.asname or alias.name.split(".", 1)[0]) in candidates
            and (alias.asname or alias.name.split(".", 1)[0]) not in used
        ]
        if dead:
            edits.append(remove_aliases(tree, source, LineIndex(source), statement, dead))
    return edits


@pytest.mark.parametrize("name", list(UNUSED_CASES))
def test_unused_imports_in_one_walk_are_those_of_the_definition(name: str) -> None:
    source = UNUSED_CASES[name]
    tree = ast.parse(source)
    candidates = {"os", "sys", "List", "Dict", "Optional", "collections", "json", "path", "L", "D", "TypeVar"}
    expected = sorted(_unused_four_walks(tree, source, candidates), key=lambda e: e.start)
    found = unused_import_edits(tree, source, LineIndex(source), candidates)
    assert sorted(found, key=lambda e: e.start) == expected


def test_the_fixers_tree_is_the_fixed_source_and_validates_alike(context: AnalysisContext) -> None:
    source = textwrap.dedent(
        """\
        import numpy as np
        from typing import List

        x = np.float_(1)
        y: List[int] = []
        """
    )
    analysis = DocumentAnalysis.run(source, "m.py", context)
    whole = analysis._analysis
    assert whole is not None
    for finding in [f for f in analysis.findings if f.fixable]:
        outcome = fix_findings(whole, [finding])
        if outcome.tree is not None:
            assert ast.dump(outcome.tree) == ast.dump(ast.parse(outcome.source))
        verdicts = [
            check_fix(
                baseline=Baseline(analysis=whole, findings=analysis.findings, path="m.py"),
                fixed=outcome.applied,
                new_source=outcome.source,
                kb=context.kb,
                options=context.options,
                new_tree=tree,
            )
            for tree in (None, outcome.tree)
        ]
        assert (verdicts[0].ok, verdicts[0].reason) == (verdicts[1].ok, verdicts[1].reason)


def test_a_rules_knowledge_base_entry_is_the_first_of_its_name(context: AnalysisContext) -> None:
    kb = context.kb
    for change in kb.changes[::7]:
        assert kb.first_by_old[change.old] is next(c for c in kb.changes if c.old == change.old)
