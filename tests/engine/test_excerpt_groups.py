"""An import fixed with its uses (``from numpy import float_``) is fixed on an excerpt, alike.

A quick fix of ``from numpy import float_`` (or of one of its uses) rewrites the import and
every use together: the whole module was analysed and validated for it (issue 13). The excerpt
keeps every statement that mentions the name the import binds (each use, a string annotation,
``__all__``), the imports, and what keeps names resolving; the rest is left out. Each test
compares the excerpt's answer with the whole module's.
"""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis, finding_key
from recode_lsp.engine.edits import apply_text_edits
from recode_lsp.engine.model import Finding
from tests.engine.excerpt_support import never, random_edits


def _filler(count: int) -> str:
    return "".join(
        f"\n\ndef filler_{i}(values):\n    total = np.product(values) + {i}\n    return total * LIMIT\n"
        for i in range(count)
    )


HEADER = '"""A legacy module."""\nimport numpy as np\n'
LAYOUTS = {
    "uses-in-two-functions": HEADER
    + "from numpy import float_\n\nLIMIT = 3\n"
    + _filler(6)
    + "\n\ndef first(x):\n    return float_(x) + 1\n"
    + _filler(6)
    + "\n\nclass Holder(object):\n    def scale(self, x):\n        return float_(x) * 2\n"
    + _filler(3),
    "alias": HEADER
    + "from numpy import float_ as F\n\nLIMIT = 3\n"
    + _filler(4)
    + "\n\ndef first(x):\n    return F(x)\n"
    + _filler(4),
    "mapping-with-string-annotation-and-all": HEADER
    + 'from collections import Mapping\n\n__all__ = ["first"]\nLIMIT = 3\n'
    + _filler(4)
    + "\n\ndef first(x):\n    return isinstance(x, Mapping)\n"
    + _filler(3)
    + '\n\ndef typed(x: "Mapping") -> None:\n    return None\n'
    + _filler(3),
    "mapping-exported": HEADER
    + 'from collections import Mapping, OrderedDict\n\n__all__ = ["Mapping"]\nLIMIT = 3\n'
    + _filler(3)
    + "\n\ndef first(x):\n    return isinstance(x, Mapping) and OrderedDict()\n"
    + _filler(3),
    "new-name-taken-in-code-left-out": HEADER
    + "from numpy import float_\n\nLIMIT = 3\n"
    + _filler(3)
    + "\n\ndef first(x):\n    return float_(x)\n"
    + _filler(3)
    + "\n\ndef other(float64):\n    return float64 + 1\n"
    + _filler(3),
    "two-names-one-import": HEADER
    + "from numpy import float_, product\n\nLIMIT = 3\n"
    + _filler(3)
    + "\n\ndef first(x):\n    return float_(x)\n"
    + _filler(3)
    + "\n\ndef second(x):\n    return product(x)\n"
    + _filler(3),
    "module-level-use-and-shadowing-parameter": HEADER
    + "from numpy import float_\n\nLIMIT = 3\nZERO = float_(0)\n"
    + _filler(3)
    + "\n\ndef shadow(float_):\n    return float_ + 1\n"
    + _filler(3),
    "guarded-import": HEADER
    + "try:\n    from collections import Mapping\nexcept ImportError:\n    from collections.abc import Mapping\n"
    + "\nLIMIT = 3\n"
    + _filler(3)
    + "\n\ndef first(x):\n    return isinstance(x, Mapping)\n"
    + _filler(3),
}


def _grouped(analysis: DocumentAnalysis) -> list[Finding]:
    return [f for f in analysis.findings if f.fixable and f.group is not None and f.change.rule is None]


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_an_import_and_its_uses_are_fixed_in_an_excerpt_as_in_the_whole_module(
    context: AnalysisContext, name: str
) -> None:
    source = LAYOUTS[name]
    analysis = DocumentAnalysis.run(source, "m.py", context)
    grouped = _grouped(analysis)
    assert grouped, name
    for finding in grouped:
        fast = analysis.fix(finding)
        whole = analysis._fix([finding], unsafe=True, check=never)
        assert fast.source == whole.source, (name, finding_key(finding))
        assert apply_text_edits(source, fast.edits) == fast.source


def test_the_excerpt_is_used_and_leaves_the_rest_out(context: AnalysisContext) -> None:
    source = LAYOUTS["uses-in-two-functions"]
    analysis = DocumentAnalysis.run(source, "m.py", context)
    for finding in _grouped(analysis):
        # The old code sent every group to the whole module.
        excerpt = analysis._fix_in_excerpt(finding, never)
        assert excerpt is not None, finding_key(finding)
        assert "float64" in excerpt.source and "float_" not in excerpt.source
        assert excerpt.source == analysis._fix([finding], unsafe=True, check=never).source


def test_after_an_edit_the_excerpt_answers_as_the_whole_module(context: AnalysisContext) -> None:
    source = LAYOUTS["two-names-one-import"]
    current = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace("return float_(x)", "return float_(x) + 1")
    analysis = DocumentAnalysis.run(edited, "m.py", context, previous=current)
    assert analysis.incremental
    full = DocumentAnalysis.run(edited, "m.py", context)
    for finding in _grouped(analysis):
        exact = full.find(finding_key(finding))
        assert exact is not None
        assert analysis.fix(finding).source == full._fix([exact], unsafe=True, check=never).source


def test_a_group_fix_that_the_whole_module_refuses_is_refused(context: AnalysisContext) -> None:
    source = textwrap.dedent(
        """\
        import numpy as np
        from numpy import float_

        float64 = 1


        def first(x):
            return float_(x)
        """
    )
    analysis = DocumentAnalysis.run(source, "m.py", context)
    for finding in _grouped(analysis):
        fast = analysis.fix(finding)
        whole = analysis._fix([finding], unsafe=True, check=never)
        assert fast.source == whole.source


RANDOM_BLOCK = """
LIMIT_{i} = {i} * 10


def compute_{i}(values):
    total = np.product(values) + LIMIT_{i}
    return float_(total)


class Holder{i}(object):
    default = float_(0)

    def items(self):
        return isinstance(self.default, Mapping)
"""
RANDOM_MODULE = (
    '"""A legacy module."""\nimport numpy as np\nfrom numpy import float_, product\nfrom collections import Mapping\n'
    + "".join(RANDOM_BLOCK.format(i=i) for i in range(4))
)
SNIPPETS = ("float_(1)", "product(a)", "Mapping", '"Mapping"', "LIMIT_1", "np.float64", "x")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_edits_then_group_fixes_match_the_whole_module(context: AnalysisContext, seed: int) -> None:
    """Lines added at module level, in class bodies and in functions (uses, new bindings of the
    names a fix writes, string mentions); then every group fix, against the whole module's."""
    import random

    rng = random.Random(seed)
    targets = ["x", "float64", "LIMIT_0", "abc"]
    edits = random_edits(RANDOM_MODULE, context, rng, rounds=8, first_line=5, targets=targets, snippets=SNIPPETS)
    for analysis, full in edits:
        for finding in _grouped(analysis):
            exact = full.find(finding_key(finding))
            assert exact is not None
            expected = full._fix([exact], unsafe=True, check=never).source
            assert analysis.fix(finding).source == expected, (finding_key(finding), analysis.source)
