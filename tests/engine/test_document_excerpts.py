"""Quick fixes in excerpts of top-level statements give what the whole module gives.

A finding at module level, in a class body or a signature (not only inside a function body) is
fixed in an excerpt: the statement that holds it and what keeps names resolving and the
validator's checks as in the whole module (see ``recode_lsp.engine.document._plan_excerpt``).
Each test compares the excerpt's fix with the whole module's.
"""

from __future__ import annotations

import random
import textwrap

import pytest

from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis, finding_key
from recode_lsp.engine.edits import apply_text_edits
from recode_lsp.engine.model import Finding
from tests.engine.excerpt_support import never, random_edits


def _same_as_whole(analysis: DocumentAnalysis, finding: Finding) -> None:
    whole = analysis._fix([finding], unsafe=True, check=never)
    fast = analysis.fix(finding)
    assert fast.source == whole.source, finding_key(finding)
    assert apply_text_edits(analysis.source, fast.edits) == fast.source


DENSE_BLOCK = """
LIMIT_{i} = {i} * 10
SCALE_{i} = np.float_(LIMIT_{i})


def compute_{i}(values, extra=np.NINF):
    arr = np.asfarray(values)
    total = np.product(arr.shape) + SCALE_{i}
    return float(total)


class Holder{i}(object):
    default = np.float_(0)
    kind = np.cumproduct

    def items(self):
        return set(np.round_(np.array([1.0, 2.0]), 1))

    def empty(self):
        return np.sometrue([not self.default])
"""
DENSE = '"""A legacy module."""\nimport numpy as np\nimport pandas as pd\n' + "".join(
    DENSE_BLOCK.format(i=i) for i in range(4)
)


def test_module_level_and_class_body_findings_are_fixed_in_an_excerpt(context: AnalysisContext) -> None:
    analysis = DocumentAnalysis.run(DENSE, "m.py", context)
    lines = DENSE.splitlines()
    outside = [
        f
        for f in analysis.findings
        if f.fixable and not lines[f.range.start.line].startswith("        ")  # not in a method or function body
    ]
    assert {lines[f.range.start.line].split("=")[0].strip() for f in outside} >= {"SCALE_2", "default", "kind"}
    for finding in outside:
        # The old excerpt (whole functions left out) did not apply outside a function body.
        assert analysis._fix_in_excerpt(finding, never) is not None, finding_key(finding)
        _same_as_whole(analysis, finding)


def test_every_fix_of_a_dense_module_equals_the_whole_modules(context: AnalysisContext) -> None:
    analysis = DocumentAnalysis.run(DENSE, "m.py", context)
    fixable = [f for f in analysis.findings if f.fixable]
    assert len(fixable) > 30
    for finding in fixable:
        _same_as_whole(analysis, finding)


LAYOUTS = {
    # ``which`` only in a comment of a statement left out: not a name, ``from shutil import which``.
    "new-name-in-a-comment-elsewhere": """\
        import distutils.spawn

        WHERE = distutils.spawn.find_executable("x")


        def other():
            # which one?
            return 1
        """,
    # ``which`` bound by a statement left out: ``shutil.which``.
    "new-name-bound-elsewhere": """\
        import distutils.spawn

        WHERE = distutils.spawn.find_executable("x")


        def other(which):
            return 1


        def third():
            for which in range(2):
                pass
        """,
    # The import stays for a string annotation and ``__all__`` in statements left out.
    "import-used-by-a-string-annotation-elsewhere": """\
        import collections

        MAPPING = collections.Mapping


        def other(x: "collections.OrderedDict") -> None:
            return None
        """,
    "import-used-by-all-elsewhere": """\
        import collections

        MAPPING = collections.Mapping

        __all__ = ["collections", "MAPPING"]
        """,
    "import-used-only-here": """\
        import collections

        MAPPING = collections.Mapping


        def other(x):
            return x.collections  # collections
        """,
    # ``np.float_`` assigned in a function left out: the fixer leaves ``np.float_`` alone.
    "attribute-assigned-elsewhere": """\
        import numpy as np

        X = np.float_(1)


        def patch():
            np.float_ = float
        """,
    # A statement that uses a name the fixed statement binds stays (its findings could change).
    "binding-used-elsewhere": """\
        import numpy as np

        KIND = np.float_


        class Holder(object):
            kind = KIND
            other = np.cumproduct

            def make(self):
                return KIND(1) + np.product(2)


        def use():
            return KIND(2)
        """,
    # ``float`` rebound at module level: the fix writing ``dtype=float`` is refused in both.
    "builtin-the-template-writes-rebound-elsewhere": """\
        import numpy as np

        X = np.asfarray([1])


        def helper():
            return 1


        float = int
        """,
    # ``Config`` is fixed; ``INSTANCE`` (its instance) and what uses it stay.
    "chained-dependents": """\
        import numpy as np


        class Config(object):
            kind = np.float_
            extra = np.cumproduct


        INSTANCE = Config()
        SCALE = np.product([2])


        def use():
            return INSTANCE.kind(1) + np.in1d(1, 2)
        """,
    "signature-and-decorator": """\
        import numpy as np


        def register(f):
            return f


        @register
        def compute(a, b=np.NINF, *, c: np.float_ = 1):
            return np.product(a)


        class Shape(object):
            @staticmethod
            def area(x=np.float_(0)):
                return np.cumproduct(x)
        """,
    "function-between-imports": """\
        import distutils.spawn


        def helper():
            return 2


        import numpy as np

        X = np.float_(1)
        WHERE = distutils.spawn.find_executable("x")
        """,
    "lazy-import-elsewhere": """\
        import numpy as np

        X = np.float_(1)


        def load():
            import pandas as pd

            return pd.read_csv("x")


        class Late(object):
            y = np.product(2)
        """,
    "same-class-name-nested": """\
        import numpy as np


        def factory():
            class Holder(object):
                pass

            return Holder


        class Holder(object):
            value = np.float_(1)
        """,
    "docstring-comments-crlf": (
        '"""Doc."""\r\n# a comment\r\nimport numpy as np\r\n\r\n\r\nclass A(object):\r\n'
        "    x = np.float_(1)\r\n\r\n    def f(self):\r\n        return np.product(2)\r\n\r\n\r\n"
        "Y = np.cumproduct(3)\r\n"
    ),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_excerpt_fixes_equal_whole_module_fixes_in_every_layout(context: AnalysisContext, name: str) -> None:
    analysis = DocumentAnalysis.run(textwrap.dedent(LAYOUTS[name]), "m.py", context)
    fixable = [f for f in analysis.findings if f.fixable]
    assert fixable
    for finding in fixable:
        _same_as_whole(analysis, finding)


SNIPPETS = (
    "np.float_(1)",
    "np.product(a)",
    "np.in1d(a, b)",
    "x",
    "LIMIT_1",
    "np.cumproduct",
    "Holder2",
    "pd.DataFrame().iteritems()",
    "distutils.spawn.find_executable('x')",
)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_at_every_level_match_the_whole_module(context: AnalysisContext, seed: int) -> None:
    """Lines added at module level, in class bodies and in functions; then a random fix, in an
    incremental analysis of the new version, against the whole module's."""
    rng = random.Random(seed)
    source = "import distutils.spawn\n" + DENSE
    targets = ["x", "which", "LIMIT_0", "KIND"]
    edits = random_edits(source, context, rng, rounds=12, first_line=4, targets=targets, snippets=SNIPPETS)
    for analysis, full in edits:
        fixable = [f for f in analysis.findings if f.fixable]
        for finding in rng.sample(fixable, min(4, len(fixable))):
            exact = full.find(finding_key(finding))
            assert exact is not None
            expected = full._fix([exact], unsafe=True, check=never).source
            assert analysis.fix(finding).source == expected, (finding_key(finding), analysis.source)


SYNTAX_CASES = {
    "annotations": """\
        from typing import cast, TypeVar
        import collections, os.path as osp
        T = TypeVar("T", bound="collections.OrderedDict")
        X: "List[Dict]" = cast("Set[int]", None)
        Alias: TypeAlias = "Tuple[str, ...]"
        del np.x, y
        for a.b in c: pass
        """,
    "class-and-methods": """\
        class Holder(Base, metaclass=Meta):
            kind: "Mapping" = np.float_

            @property
            def items(self, key: "Text" = None) -> "Set[Text]":
                self.cache = key
                return [v for v in self.data if v]

            async def other(self, *args, **kwargs):
                global_name.attr += 1
                return lambda q: q
        """,
    "all-and-type-comments": """\
        __all__ = ["exported", "np"]
        value = compute()  # type: Dict[str, Frame]
        def f(a):
            # type: (Sequence) -> None
            pass
        """,
}


@pytest.mark.parametrize("name", list(SYNTAX_CASES))
def test_syntax_of_a_statement_is_what_the_fixer_and_validator_read(name: str) -> None:
    import ast

    from recode_lsp.engine.document import _Syntax, _UnitSyntax
    from recode_lsp.engine.imports import bound_names, loaded_names, referenced_outside_code

    text = textwrap.dedent(SYNTAX_CASES[name])
    tree = ast.parse(text)
    stored = {
        root.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del))
        for root in [_root(node)]
        if isinstance(root, ast.Name)
    }
    expected = _Syntax(
        frozenset(bound_names(tree)),
        frozenset(loaded_names(tree) | referenced_outside_code(tree, text)),
        frozenset(stored),
    )
    assert _Syntax.of(tree.body, text) == expected
    def_lines = [
        node.lineno - 1
        for statement in tree.body
        for node in (statement.body if isinstance(statement, ast.ClassDef) else [statement])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    assert _UnitSyntax.of(text, 0, def_lines).whole == expected


def _root(node: object) -> object:
    import ast

    while isinstance(node, ast.Attribute):
        node = node.value
    return node
