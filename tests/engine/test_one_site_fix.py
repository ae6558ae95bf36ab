"""One use of ``from typing import List`` is fixed at its site, and in an excerpt of the module.

A quick fix asks for one finding. For a use of an imported name that becomes a builtin, that is
the use alone (``List[int]`` -> ``list[int]``, as ruff's UP006 does; the last use also drops
the import): then the fix is computed and validated on an excerpt of the module, not on all of
it (issue 13: about a second per quick fix on a finding-dense module). Each test compares the
excerpt's answer with the whole module's, or gives the source before and after.
"""

from __future__ import annotations

import libcst
import pytest

from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis, finding_key
from recode_lsp.engine.edits import apply_text_edits
from recode_lsp.engine.fixer import one_site
from recode_lsp.engine.model import Finding, Site
from tests.engine.excerpt_support import never

#: Blocks like the finding-dense module of ``bench/lsp_latency.py --dense``.
DENSE_BLOCK = """
LIMIT_{i} = {i} * 10


def compute_{i}(values: List[float], extra: Optional[Dict[str, int]] = None) -> Tuple[float, int]:
    arr = np.asfarray(values)
    return float(np.product(arr.shape)) + LIMIT_{i}, 0


class Holder{i}(object):
    data: Dict[str, List[int]] = {{}}

    def items(self) -> Set[Text]:
        return set(np.round_(np.array([1.0, 2.0]), 1))

    def merge(self, other: "Holder{i}") -> List[Tuple[str, int]]:
        return sorted((key, len(value)) for key, value in self.data.items())
"""
DENSE = (
    '"""A legacy module."""\nfrom typing import Dict, List, Optional, Set, Text, Tuple\n\nimport numpy as np\n'
    + "".join(DENSE_BLOCK.format(i=i) for i in range(6))
)


def _uses(analysis: DocumentAnalysis) -> list[Finding]:
    return [f for f in analysis.findings if f.site is Site.IMPORTED_NAME and one_site(f) is not None]


def _check(source: str) -> None:
    compile(source, "<fixed>", "exec")
    libcst.parse_module(source)


def test_each_use_is_fixed_alone_in_an_excerpt_as_in_the_whole_module(context: AnalysisContext) -> None:
    analysis = DocumentAnalysis.run(DENSE, "dense.py", context)
    uses = _uses(analysis)
    assert {f.change.old for f in uses} >= {"typing.List", "typing.Dict", "typing.Set", "typing.Text", "typing.Tuple"}
    for finding in uses[::3]:
        alone = one_site(finding)
        assert alone is not None
        # The old code sent every group to the whole module (no excerpt for it).
        assert analysis._fix_in_excerpt(alone, never) is not None, finding_key(finding)
        fast = analysis.fix(finding)
        whole = analysis._fix([alone], unsafe=True, check=never)
        assert fast.source == whole.source, finding_key(finding)
        assert apply_text_edits(DENSE, fast.edits) == fast.source
        # One site changed, to the builtin; the import stays (other uses remain).
        start, end = finding.start_offset, finding.end_offset
        assert fast.source == DENSE[:start] + (finding.change.new or "") + DENSE[end:]
        _check(fast.source)


@pytest.mark.parametrize(
    ("before", "needle", "after"),
    [
        pytest.param(
            "from typing import Dict, List\n\nx: List[int] = []\ny: Dict[str, List[int]] = {}\n",
            "List[int]] =",
            "from typing import Dict, List\n\nx: List[int] = []\ny: Dict[str, list[int]] = {}\n",
            id="one-of-two-uses",
        ),
        pytest.param(
            "from typing import Dict, List\n\nx: List[int] = []\ny: Dict[str, int] = {}\n",
            "List[int]",
            "from typing import Dict\n\nx: list[int] = []\ny: Dict[str, int] = {}\n",
            id="the-last-use-drops-the-import",
        ),
        pytest.param(
            'from typing import List\n\nx: List[int] = []\ny: "List[int]" = []\n',
            "List[int] =",
            'from typing import List\n\nx: list[int] = []\ny: "List[int]" = []\n',
            id="a-string-annotation-keeps-the-import",
        ),
        pytest.param(
            "from typing import List as L\n\n\ndef f(x: L[int]) -> L[int]:\n    return x\n",
            "L[int]:",
            "from typing import List as L\n\n\ndef f(x: L[int]) -> list[int]:\n    return x\n",
            id="an-alias",
        ),
        pytest.param(
            "from typing import List\n\n\ndef f(list, x: List[int]) -> None:\n    return None\n",
            "List[int]",
            "\n\ndef f(list, x: list[int]) -> None:\n    return None\n",
            id="a-parameter-annotation-is-read-outside-the-function",
        ),
    ],
)
def test_one_use(context: AnalysisContext, before: str, needle: str, after: str) -> None:
    analysis = DocumentAnalysis.run(before, "m.py", context)
    at = before.index(needle)
    (finding,) = [f for f in analysis.findings if f.start_offset == at]
    result = analysis.fix(finding)
    assert result.source == after
    _check(result.source)


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        pytest.param(
            "from typing import List\n\n\nclass C:\n    list = []\n    x: List[int] = []\n", "List[", id="class"
        ),
        pytest.param(
            "from typing import List\n\n\ndef f(list):\n    y: List[int] = list\n    return y\n", "List[", id="local"
        ),
        pytest.param("from typing import List\n\nlist = tuple\nx: List[int] = []\n", "List[", id="module"),
    ],
)
def test_a_shadowed_builtin_is_refused(context: AnalysisContext, source: str, needle: str) -> None:
    analysis = DocumentAnalysis.run(source, "m.py", context)
    at = source.index(needle)
    (finding,) = [f for f in analysis.findings if f.start_offset == at]
    result = analysis.fix(finding)
    assert not result.changed and "shadowed" in result.reason


def test_fix_all_still_fixes_the_import_with_every_use(context: AnalysisContext) -> None:
    source = "from typing import Dict, List\n\nx: List[int] = []\ny: Dict[str, List[int]] = {}\n"
    analysis = DocumentAnalysis.run(source, "m.py", context)
    assert analysis.fix_all().source == "\nx: list[int] = []\ny: dict[str, list[int]] = {}\n"


def test_the_import_has_no_quick_fix_while_it_is_used(context: AnalysisContext) -> None:
    source = "from typing import Dict, List\n\nx: List[int] = []\n"
    analysis = DocumentAnalysis.run(source, "m.py", context)
    imports = {f.change.old: f for f in analysis.findings if f.site is Site.IMPORT_FROM}
    assert not analysis.offers_quick_fix(imports["typing.List"])  # ``x: List[int]`` uses it
    assert analysis.offers_quick_fix(imports["typing.Dict"])  # nothing does: removing it is one line
    assert analysis.fix(imports["typing.Dict"]).source == "from typing import List\n\nx: List[int] = []\n"


@pytest.mark.parametrize(
    ("source", "old"),
    [
        pytest.param("from numpy import float\n\nx = float(1)\n", "numpy.float", id="removed-name"),
        pytest.param("from numpy import float_\n\nx = float_(1)\n", "numpy.float_", id="not-a-builtin"),
    ],
)
def test_other_imported_names_are_fixed_with_their_import(context: AnalysisContext, source: str, old: str) -> None:
    analysis = DocumentAnalysis.run(source, "m.py", context)
    use = next(f for f in analysis.findings if f.site is Site.IMPORTED_NAME and f.change.old == old)
    assert one_site(use) is None
    imported = next(f for f in analysis.findings if f.site is Site.IMPORT_FROM and f.change.old == old)
    assert analysis.offers_quick_fix(imported)
    # Unchanged: the import and its uses together, as fix-all does.
    assert analysis.fix(use).source == analysis._fix([use], unsafe=True, check=never).source
    assert "from numpy import" not in analysis.fix(use).source or old == "numpy.float_"
