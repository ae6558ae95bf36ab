"""The detector: qualified-name resolution, receivers, keywords, versions, suppression."""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine import DetectOptions, Severity, Site, SourceError, detect
from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.versions import Version
from tests.conftest import make_kb

KB = make_kb(
    [
        {
            "id": "NPY001",
            "library": "numpy",
            "old": "numpy.float_",
            "kind": "rename",
            "new": "numpy.float64",
            "removed_in": "2.0",
        },
        {
            "id": "NPY002",
            "library": "numpy",
            "old": "numpy.in1d",
            "kind": "rename",
            "new": "numpy.isin",
            "deprecated_in": "2.0",
            "fix": "unsafe",
        },
        {
            "id": "NPY003",
            "library": "numpy",
            "old": "numpy.linalg.linalg",
            "kind": "module_move",
            "new": "numpy.linalg",
            "deprecated_in": "2.0",
        },
        {
            "id": "NPY004",
            "library": "numpy",
            "old": "numpy.lib.function_base",
            "kind": "removal_with_replacement",
            "replacement": "numpy",
            "removed_in": "2.0",
        },
        {
            "id": "PD001",
            "library": "pandas",
            "old": "pandas.DataFrame.iteritems",
            "scope": "member",
            "kind": "rename",
            "new": "pandas.DataFrame.items",
            "deprecated_in": "1.5",
            "removed_in": "2.0",
        },
        {
            "id": "PD002",
            "library": "pandas",
            "old": "pandas.DataFrame.to_csv",
            "scope": "member",
            "kind": "keyword_rename",
            "old_keyword": "line_terminator",
            "new_keyword": "lineterminator",
            "deprecated_in": "1.5",
            "removed_in": "2.0",
        },
        {
            "id": "PD003",
            "library": "pandas",
            "old": "pandas.read_csv",
            "kind": "signature_change",
            "old_keyword": "error_bad_lines",
            "replacement": "on_bad_lines='skip'",
            "deprecated_in": "1.3",
            "removed_in": "2.0",
        },
        {
            "id": "PYD001",
            "library": "pydantic",
            "old": "pydantic.BaseModel.dict",
            "scope": "member",
            "kind": "rename",
            "new": "pydantic.BaseModel.model_dump",
            "deprecated_in": "2.0",
            "fix": "unsafe",
        },
        {
            "id": "PY001",
            "library": "python",
            "old": "collections.Mapping",
            "kind": "module_move",
            "new": "collections.abc.Mapping",
            "deprecated_in": "3.3",
            "removed_in": "3.10",
        },
        {
            "id": "PY002",
            "library": "python",
            "old": "unittest.TestCase.assertEquals",
            "scope": "member",
            "kind": "rename",
            "new": "unittest.TestCase.assertEqual",
            "deprecated_in": "3.2",
            "removed_in": "3.12",
        },
        {
            "id": "PY003",
            "library": "python",
            "old": "distutils",
            "kind": "removal",
            "deprecated_in": "3.10",
            "removed_in": "3.12",
        },
    ]
)


def found(source: str, **targets: str) -> list[tuple[int, str, str]]:
    source = textwrap.dedent(source)
    options = DetectOptions(targets={k: Version(v) for k, v in targets.items()})
    return [(f.range.start.line + 1, f.code, f.site.value) for f in detect(source, KB, options)]


def test_module_alias_attribute():
    assert found("import numpy as np\nx = np.float_(1)\n") == [(2, "NPY001", "qualified")]


def test_from_import_flags_the_import_and_each_use():
    source = """
        from numpy import float_
        a = float_(1)
        b = [float_]
    """
    assert found(source) == [
        (2, "NPY001", "import_from"),
        (3, "NPY001", "imported_name"),
        (4, "NPY001", "imported_name"),
    ]


def test_submodule_imported_with_alias():
    assert found("import numpy.linalg as la\nla.linalg.norm\n") == [(2, "NPY003", "qualified")]


def test_plain_submodule_import_is_an_attribute_chain():
    assert found("import numpy.linalg\nnumpy.linalg.linalg\n") == [(2, "NPY003", "qualified")]


def test_removed_module_in_import_statements():
    source = """
        import distutils.core
        from distutils.util import strtobool
    """
    assert found(source) == [(2, "PY003", "import"), (3, "PY003", "import")]


def test_alias_rebound_in_the_module_keeps_resolving():
    source = """
        import numpy as np
        xp = np
        xp.float_
    """
    assert found(source) == [(4, "NPY001", "qualified")]


def test_strings_and_comments_are_not_code():
    source = '''
        import numpy as np
        text = "np.float_ and np.in1d"
        # np.float_(1)
        doc = """np.float_"""
    '''
    assert found(source) == []


def test_a_parameter_shadows_the_import():
    source = """
        import numpy as np
        def f(np):
            return np.float_
        def g():
            np = object()
            return np.float_
        lam = lambda np: np.float_
    """
    assert found(source) == []


def test_module_level_rebinding_shadows_after_it():
    source = """
        import numpy as np
        np.float_
        np = None
        np.float_
    """
    # ``np = None`` (the usual ``except ImportError`` fallback) does not hide the import.
    assert found(source) == [(3, "NPY001", "qualified"), (5, "NPY001", "qualified")]
    source = """
        import numpy as np
        np = make_fake_numpy()
        np.float_
    """
    assert found(source) == []


def test_comprehension_variable_shadows_the_import():
    assert found("import numpy as np\n[np.float_ for np in things]\n") == []


def test_imports_inside_functions():
    source = """
        def f():
            import numpy as np
            return np.float_
        def g():
            return np.float_
    """
    assert found(source) == [(4, "NPY001", "qualified")]


def test_method_on_known_receivers():
    source = """
        import pandas as pd
        from pandas import DataFrame
        df = pd.read_csv("a.csv")
        df.iteritems()
        DataFrame().iteritems()
        DataFrame.iteritems(df)
        def f(frame: pd.DataFrame, other):
            frame.iteritems()
            other.iteritems()
        df.copy().iteritems()
    """
    assert found(source) == [
        (5, "PD001", "member"),
        (6, "PD001", "member"),
        (7, "PD001", "member"),
        (9, "PD001", "member"),
        (11, "PD001", "member"),
    ]


def test_method_of_unknown_receiver_is_not_flagged():
    assert found("def f(x):\n    return x.iteritems()\n") == []


def test_keyword_of_known_callable():
    source = """
        import pandas as pd
        df = pd.read_csv("a.csv", error_bad_lines=False)
        df.to_csv("b.csv", line_terminator="\\n")
        df.to_csv("b.csv", sep=";")
    """
    assert found(source) == [(3, "PD003", "keyword"), (4, "PD002", "keyword")]


def test_constructor_keyword_of_a_library_class_reaches_a_subclass_without_its_own_init():
    kb = make_kb(
        [
            {
                "id": "SKL001",
                "library": "scikit-learn",
                "old": "sklearn.ensemble.AdaBoostClassifier",
                "old_keyword": "base_estimator",
                "new_keyword": "estimator",
                "kind": "keyword_rename",
                "removed_in": "1.4",
            }
        ]
    )
    source = textwrap.dedent(
        """\
        from sklearn.ensemble import AdaBoostClassifier

        class MyBoost(AdaBoostClassifier):
            pass

        class Deeper(MyBoost):
            n = 1

        class Tuned(AdaBoostClassifier):
            def __init__(self, base_estimator=None):
                super().__init__(estimator=base_estimator)

        MyBoost(base_estimator=None)
        Deeper(base_estimator=None)
        Tuned(base_estimator=None)
        """
    )
    # ``Tuned`` takes ``base_estimator`` itself: its own parameter, not the library's.
    assert [(f.range.start.line, f.code) for f in detect(source, kb, DetectOptions())] == [
        (12, "SKL001"),
        (13, "SKL001"),
    ]


def test_a_method_overriding_a_changed_library_member_is_flagged_display_only():
    kb = make_kb(
        [
            {
                "id": "SCRAPY001",
                "library": "scrapy",
                "old": "scrapy.Spider.start_requests",
                "kind": "removal_with_replacement",
                "scope": "member",
                "replacement": "`async def start(self)`",
                "deprecated_in": "2.13",
            }
        ]
    )
    source = textwrap.dedent(
        """\
        import scrapy

        class Quotes(scrapy.Spider):
            async def start_requests(self):
                yield scrapy.Request("https://example.com")

        class Plain:
            def start_requests(self):
                return []
        """
    )
    findings = detect(source, kb, DetectOptions())
    assert [(f.range.start.line, f.range.start.column, f.code, f.safety) for f in findings] == [
        (3, 14, "SCRAPY001", FixSafety.DISPLAY_ONLY)
    ]


def test_subclass_members_and_self():
    source = """
        import unittest
        from pydantic import BaseModel

        class User(BaseModel):
            name: str
            def export(self):
                return self.dict()

        class Test(unittest.TestCase):
            def test(self):
                self.assertEquals(1, 1)

        user = User.parse_obj({"name": "a"})
        user.dict()
        User(name="b").dict()
    """
    assert found(source) == [
        (8, "PYD001", "member"),
        (12, "PY002", "member"),
        (15, "PYD001", "member"),
        (16, "PYD001", "member"),
    ]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("1.26", []),
        ("2.0", [(2, "NPY001", Severity.ERROR), (3, "NPY002", Severity.WARNING)]),
        ("2.2", [(2, "NPY001", Severity.ERROR), (3, "NPY002", Severity.WARNING)]),
    ],
)
def test_version_awareness(target, expected):
    source = "import numpy as np\nnp.float_\nnp.in1d([1], [1])\n"
    options = DetectOptions(targets={"numpy": Version(target)})
    assert [(f.range.start.line + 1, f.code, f.severity) for f in detect(source, KB, options)] == expected


def test_unknown_target_assumes_the_newest():
    findings = detect("import numpy as np\nnp.float_\n", KB, DetectOptions())
    assert [f.severity for f in findings] == [Severity.ERROR]


def test_deprecated_then_removed_stdlib_severity():
    source = "import collections\ncollections.Mapping\n"
    for version, expected in (("3.2", []), ("3.8", [Severity.WARNING]), ("3.10", [Severity.ERROR])):
        options = DetectOptions(targets={"python": Version(version)})
        assert [f.severity for f in detect(source, KB, options)] == expected


def test_suppression_comments():
    source = """
        import numpy as np
        np.float_  # recode: ignore
        np.float_  # recode: ignore[NPY001]
        np.float_  # recode: ignore[NPY999]
        np.float_  # a normal comment
        s = "# recode: ignore"; np.float_
    """
    assert [line for line, _, _ in found(source)] == [5, 6, 7]


def test_select_and_ignore():
    source = "import numpy as np\nimport collections\nnp.float_\ncollections.Mapping\n"
    assert [f.code for f in detect(source, KB, DetectOptions(select=["numpy"]))] == ["NPY001"]
    assert [f.code for f in detect(source, KB, DetectOptions(select=["PY"]))] == ["PY001"]
    assert [f.code for f in detect(source, KB, DetectOptions(ignore=["NPY001"]))] == ["PY001"]


def test_positions_are_characters_not_bytes():
    source = 'import numpy as np\ns = "héllo"; np.float_\n'
    (finding,) = detect(source, KB, DetectOptions())
    assert (finding.range.start.line, finding.range.start.column) == (1, 13)
    assert source[finding.start_offset : finding.end_offset] == "np.float_"
    assert finding.site is Site.QUALIFIED


def test_syntax_error_is_reported_not_raised_as_something_else():
    with pytest.raises(SourceError, match="syntax error at line 1"):
        detect("def f(:\n", KB, DetectOptions())
