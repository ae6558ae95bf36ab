"""Unit tests of recode_lsp.engine.document: findings, fixes on demand, fix-all, ignore."""

from __future__ import annotations

import random
import textwrap

import pytest

from recode_lsp.engine import DetectOptions, load_knowledge_base
from recode_lsp.engine.document import AnalysisContext, Cancelled, DocumentAnalysis, finding_key, ignore_edit
from recode_lsp.engine.edits import apply_text_edits
from recode_lsp.engine.versions import Version


@pytest.fixture(scope="module")
def context() -> AnalysisContext:
    targets = {"numpy": Version("2.0"), "python": Version("3.12"), "pandas": Version("2.0")}
    return AnalysisContext(load_knowledge_base(), DetectOptions(targets=targets))


def run(source: str, context: AnalysisContext, previous: DocumentAnalysis | None = None) -> DocumentAnalysis:
    return DocumentAnalysis.run(textwrap.dedent(source), "example.py", context, previous=previous)


MODULE = textwrap.dedent(
    '''\
    """A module."""
    import collections
    import distutils.spawn
    import numpy as np
    import pandas as pd


    def first(path):
        return distutils.spawn.find_executable(path)


    @property
    def decorated(x):
        y = np.float_(x)
        return np.in1d(y, [1])


    class Store:
        kind = np.float_

        def load(self):
            df = pd.read_csv("x")
            for k, v in df.iteritems():
                print(k, v)
            return collections.Mapping

        async def other(self):
            return np.float_(2)  # a comment


    def last(a):
        return np.product(a)
    '''
)


def keys(analysis: DocumentAnalysis) -> list[tuple[str, int, int]]:
    return [(finding_key(f), f.start_offset, f.end_offset) for f in analysis.findings]


# --- analysis ----------------------------------------------------------------------------


def test_findings_of_a_module(context: AnalysisContext) -> None:
    analysis = run(MODULE, context)
    assert analysis.ok and not analysis.incremental
    assert [(f.code, f.range.start.line) for f in analysis.findings] == [
        ("PY001", 2),
        # ``distutils.spawn.find_executable``: PY004 (-> ``shutil.which``) says more than PY001 (distutils
        # is removed) at the same place, and fixes it; the display-only repeat is left out.
        ("PY004", 8),
        ("NPY023", 13),
        ("NPY067", 14),
        ("NPY023", 18),
        ("PD003", 22),
        ("PY107", 24),
        ("NPY023", 27),
        ("NPY042", 31),
    ]


def test_syntax_error_is_reported_not_raised(context: AnalysisContext) -> None:
    analysis = run("def broken(:\n    pass\n", context)
    assert not analysis.ok
    assert "syntax error" in (analysis.error or "")
    assert analysis.findings == []
    assert analysis.fix_all().edits == []


def test_find_by_key_and_position(context: AnalysisContext) -> None:
    analysis = run("import numpy as np\nx = np.float_(1)\n", context)
    (finding,) = analysis.findings
    assert analysis.find(finding_key(finding)) is finding
    assert analysis.find("NPY023:0:0:0:1") is None
    assert analysis.findings_at(1, 6) == [finding]
    assert analysis.findings_at(0, 3) == []


def test_cancellation_stops_the_work(context: AnalysisContext) -> None:
    def cancelled() -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        DocumentAnalysis.run(MODULE, "example.py", context, check=cancelled)


# --- fixes ------------------------------------------------------------------------------


def test_fix_one_finding(context: AnalysisContext) -> None:
    analysis = run("import numpy as np\nx = np.float_(1)\ny = np.float_(2)\n", context)
    result = analysis.fix(analysis.findings[0])
    assert result.source == "import numpy as np\nx = np.float64(1)\ny = np.float_(2)\n"
    assert len(result.edits) == 1
    assert apply_text_edits(analysis.source, result.edits) == result.source


def test_fix_with_an_ignored_finding_of_the_same_id(context: AnalysisContext) -> None:
    source = "import numpy as np\nx = np.float_(1)\ny = np.float_(2)  # recode: ignore[NPY023]\n"
    analysis = run(source, context)
    assert len(analysis.findings) == 1
    result = analysis.fix(analysis.findings[0])
    assert result.source == source.replace("x = np.float_", "x = np.float64")
    assert analysis.fix_all().source == result.source


def test_unsafe_fix_is_applied_when_asked_for_but_not_by_fix_all(context: AnalysisContext) -> None:
    source = "import numpy as np\nx = np.in1d(a, b)\ny = np.float_(1)\n"
    analysis = run(source, context)
    in1d = next(f for f in analysis.findings if f.code == "NPY067")
    assert analysis.fix(in1d).source == source.replace("in1d", "isin")
    assert analysis.fix_all().source == source.replace("float_", "float64")
    assert analysis.fix_all(unsafe=True).source == source.replace("in1d", "isin").replace("float_", "float64")


def test_display_only_finding_has_no_fix(context: AnalysisContext) -> None:
    analysis = run("import distutils\n", context)
    (finding,) = analysis.findings
    result = analysis.fix(finding)
    assert not result.changed
    assert "by hand" in result.reason


def test_group_fix_renames_import_and_uses(context: AnalysisContext) -> None:
    source = "from numpy import float_\n\n\ndef f():\n    return float_(1)\n\n\nx = float_(2)\n"
    analysis = run(source, context)
    use = next(f for f in analysis.findings if f.range.start.line == 4)
    assert analysis.fix(use).source == source.replace("float_", "float64")


def test_excerpt_fixes_equal_whole_module_fixes(context: AnalysisContext) -> None:
    analysis = run(MODULE, context)
    assert analysis.findings
    for finding in analysis.findings:
        fast = analysis.fix(finding)
        whole = analysis._fix([finding], unsafe=True, check=lambda: None) if finding.fixable else fast
        assert fast.source == whole.source, finding_key(finding)
        assert apply_text_edits(analysis.source, fast.edits) == fast.source


def test_excerpt_keeps_an_import_another_function_uses(context: AnalysisContext) -> None:
    source = textwrap.dedent(
        """\
        import collections


        def a():
            return collections.Mapping


        def b():
            return collections.OrderedDict()
        """
    )
    analysis = run(source, context)
    result = analysis.fix(analysis.findings[0])
    assert "import collections\n" in result.source
    assert "Mapping\n" in result.source and "collections.Mapping" not in result.source


def test_fix_all(context: AnalysisContext) -> None:
    analysis = run(MODULE, context)
    result = analysis.fix_all()
    assert "np.float_" not in result.source
    assert "np.in1d" in result.source  # unsafe
    assert "np.prod(a)" in result.source
    assert apply_text_edits(analysis.source, result.edits) == result.source
    again = run(result.source, context)
    assert not any(f.code == "NPY023" for f in again.findings)


# --- incremental analysis ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("y = np.float_(x)", "y = np.float_(x) + 1", id="same-line"),
        pytest.param("y = np.float_(x)", "y = x", id="finding-removed"),
        pytest.param("print(k, v)", "print(k, v)\n            z = np.product(k)", id="finding-added-in-method"),
        pytest.param("return np.product(a)", "b = np.NINF\n    return np.product(a)", id="line-added-last"),
        pytest.param("return np.float_(2)  # a comment", "return np.float_(2)  # recode: ignore", id="ignored"),
        pytest.param("y = np.float_(x)", "def inner():\n        return np.float_\n    y = 1", id="nested-def"),
        pytest.param("def last(a):", "def final(a):", id="header"),
        pytest.param("    kind = np.float_", "    kind = np.float64", id="class-body"),
    ],
)
def test_incremental_equals_full(context: AnalysisContext, old: str, new: str) -> None:
    previous = run(MODULE, context)
    assert old in MODULE
    source = MODULE.replace(old, new, 1)
    incremental = DocumentAnalysis.run(source, "example.py", context, previous=previous)
    full = DocumentAnalysis.run(source, "example.py", context)
    assert incremental.incremental
    assert keys(incremental) == keys(full)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("    return distutils", "    global np\n    return distutils", id="global"),
        pytest.param("return np.product(a)\n", "return np.product(a)\nx = np.float_\n", id="dedent-out"),
    ],
)
def test_incremental_falls_back_to_full(context: AnalysisContext, old: str, new: str) -> None:
    previous = run(MODULE, context)
    assert old in MODULE
    source = MODULE.replace(old, new, 1)
    result = DocumentAnalysis.run(source, "example.py", context, previous=previous)
    assert not result.incremental
    assert keys(result) == keys(DocumentAnalysis.run(source, "example.py", context))


def test_incremental_syntax_error(context: AnalysisContext) -> None:
    previous = run(MODULE, context)
    source = MODULE.replace("y = np.float_(x)", "y = np.float_(x", 1)
    result = DocumentAnalysis.run(source, "example.py", context, previous=previous)
    assert not result.ok
    assert "line 14" in (result.error or "")  # the line in the whole module


def test_random_edits_inside_functions_match_full_analysis(context: AnalysisContext) -> None:
    rng = random.Random(7)
    snippets = ["np.float_(1)", "np.product(a)", "np.in1d(a, b)", "x", "1", "df.iteritems()", "pd.read_csv('f')"]
    current = run(MODULE, context)
    source = current.source
    for _ in range(15):
        lines = source.splitlines(keepends=True)
        body_lines = [i for i, line in enumerate(lines) if line.startswith("        ") and "return" not in line]
        index = rng.choice(body_lines)
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
        lines.insert(index, f"{indent}v{rng.randint(0, 9)} = {rng.choice(snippets)}\n")
        source = "".join(lines)
        current = DocumentAnalysis.run(source, "example.py", context, previous=current)
        full = DocumentAnalysis.run(source, "example.py", context)
        assert keys(current) == keys(full)
        fixable = [f for f in current.findings if f.fixable]
        finding = rng.choice(fixable)
        exact = full.find(finding_key(finding))
        assert exact is not None
        assert current.fix(finding).source == full._fix([exact], unsafe=True, check=lambda: None).source


def test_fix_on_an_incremental_analysis(context: AnalysisContext) -> None:
    previous = run(MODULE, context)
    source = MODULE.replace("return np.product(a)", "b = np.float_(a)\n    return np.product(a)")
    analysis = DocumentAnalysis.run(source, "example.py", context, previous=previous)
    assert analysis.incremental
    new = next(f for f in analysis.findings if f.range.start.line == 31)
    assert analysis.fix(new).source == source.replace("b = np.float_(a)", "b = np.float64(a)")
    assert "np.float_" not in analysis.fix_all().source


# --- ignore ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("x = np.float_(1)", "x = np.float_(1)  # recode: ignore[NPY023]", id="plain"),
        pytest.param(
            "x = np.float_(1)  # noqa: E501", "x = np.float_(1)  # noqa: E501  # recode: ignore[NPY023]", id="comment"
        ),
        pytest.param(
            "x = np.float_(np.product(1))  # recode: ignore[NPY042]",
            "x = np.float_(np.product(1))  # recode: ignore[NPY042, NPY023]",
            id="merge",
        ),
        pytest.param(
            "x = np.float_(1)  # recode: ignore[]", "x = np.float_(1)  # recode: ignore[NPY023]", id="empty-list"
        ),
        pytest.param("x = '#'; y = np.float_(1)", "x = '#'; y = np.float_(1)  # recode: ignore[NPY023]", id="hash"),
    ],
)
def test_ignore_edit(context: AnalysisContext, line: str, expected: str) -> None:
    source = f"import numpy as np\n{line}\n"
    analysis = run(source, context)
    finding = next(f for f in analysis.findings if f.code == "NPY023")
    edit = analysis.ignore_edit(finding)
    assert edit is not None
    new = apply_text_edits(source, [edit])
    assert new == f"import numpy as np\n{expected}\n"
    assert not any(f.code == "NPY023" for f in run(new, context).findings)


def test_ignore_edit_crlf(context: AnalysisContext) -> None:
    source = "import numpy as np\r\nx = np.float_(1)\r\n"
    analysis = run(source, context)
    edit = analysis.ignore_edit(analysis.findings[0])
    assert edit is not None
    assert apply_text_edits(source, [edit]) == "import numpy as np\r\nx = np.float_(1)  # recode: ignore[NPY023]\r\n"


def test_ignore_edit_uses_the_end_line_after_a_backslash(context: AnalysisContext) -> None:
    source = "import numpy as np\nx = np.float_ + \\\n    np.float_\n"
    analysis = run(source, context)
    edit = analysis.ignore_edit(analysis.findings[0])
    assert edit is None  # one line, ending in a backslash: nowhere to put the comment
    multi = "import numpy as np\nx = (np.\n     float_)\n"
    analysis = run(multi, context)
    edit = ignore_edit(multi, analysis.findings[0])
    assert edit is not None
    assert apply_text_edits(multi, [edit]).splitlines()[1].endswith("# recode: ignore[NPY023]")


def test_a_function_that_shadows_an_import_stays_in_excerpts(context: AnalysisContext) -> None:
    source = textwrap.dedent(
        """\
        import numpy as np


        def use():
            return np.float_(1)


        def np():
            return 0
        """
    )
    full = run(source, context)
    assert full.findings == []  # ``np`` is the function at the end of the module
    edited = DocumentAnalysis.run(source.replace("float_(1)", "float_(2)"), "example.py", context, previous=full)
    assert edited.incremental
    assert edited.findings == []


def test_a_new_name_used_by_another_function_blocks_the_fix_as_in_the_whole_module(context: AnalysisContext) -> None:
    source = textwrap.dedent(
        """\
        import distutils.spawn


        def a(path):
            return distutils.spawn.find_executable(path)


        def b():
            which = 1
            return which
        """
    )
    results = []
    for variant in (source, source.replace("which = 1\n    return which", "return 1")):
        analysis = run(variant, context)
        finding = next(f for f in analysis.findings if f.code == "PY004")
        whole = analysis._fix([finding], unsafe=True, check=lambda: None)
        assert analysis.fix(finding).source == whole.source
        results.append(whole.source)
    # The other function's ``which`` decides how the new name is imported.
    assert "shutil.which(path)" in results[0] and "from shutil import which\n" not in results[0]
    assert "from shutil import which\n" in results[1]


LAYOUTS = {
    "import-then-functions": (
        "import distutils.spawn\n\n\ndef a():\n    return 1\n\n\n"
        "def b(path):\n    return distutils.spawn.find_executable(path)\n"
    ),
    "function-between-imports": (
        "import distutils.spawn\n\n\ndef helper():\n    return 2\n\n\nimport numpy as np\n\n\n"
        "def b(path):\n    x = np.float_(1)\n    return distutils.spawn.find_executable(path), x\n"
    ),
    "methods-only": (
        "import numpy as np\n\n\nclass A:\n    def one(self):\n        return 1\n\n"
        "    def two(self):\n        return np.product(self)\n\n    def three(self):\n        return 3\n"
    ),
    "docstring-and-all": (
        '"""Doc."""\n\n__all__ = ["f"]\nimport numpy as np\n\n\ndef g():\n    pass\n\n\n'
        "def f():\n    return np.NINF + np.float_(1)\n"
    ),
    "crlf": (
        "import numpy as np\r\n\r\n\r\ndef a():\r\n    return 1\r\n\r\n\r\ndef b():\r\n    return np.float_(2)\r\n"
    ),
    "no-final-newline": "import numpy as np\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return np.float_(2)",
    "comment-between": (
        "import numpy as np\n# a comment\n\n\ndef a():\n    return 1\n# another\n\n\ndef b():\n"
        "    return np.cumproduct(2)\n\n\ndef c():\n    return 3\n"
    ),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_excerpt_fixes_equal_whole_module_fixes_in_every_layout(context: AnalysisContext, name: str) -> None:
    analysis = run(LAYOUTS[name], context)
    fixable = [f for f in analysis.findings if f.fixable and f.code != "PY001"]
    assert fixable
    for finding in fixable:
        whole = analysis._fix([finding], unsafe=True, check=lambda: None)
        fast = analysis.fix(finding)
        assert fast.source == whole.source, (name, finding_key(finding))
        assert apply_text_edits(analysis.source, fast.edits) == fast.source
