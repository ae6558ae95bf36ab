"""Sparse analysis (recode_lsp/engine/sparse.py): bodies with no evidence read as ``pass``, same findings."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine import DetectOptions, detect, load_knowledge_base
from recode_lsp.engine.analysis import ModuleAnalysis
from recode_lsp.engine.detector import parse_source
from recode_lsp.engine.prefilter import Prefilter
from recode_lsp.engine.rules import rule_triggers
from recode_lsp.engine.sparse import sparse_analysis, stub_bodies
from tests.engine.test_knowledge_base_fixes import usage

KB = load_knowledge_base()
PREFILTER = Prefilter(KB.changes, rule_triggers())
#: Functions with nothing to report, long enough to be replaced.
QUIET = """

def helper(a, b=(1, 2)):
    total = a + sum(b)
    return total * 2


class Plain:
    def method(self, x):
        y = x + 1
        return y
"""


def findings_of(source: str, analysis: ModuleAnalysis) -> list[tuple[int, int, str, str]]:
    return [
        (f.range.start.line, f.range.start.column, f.code, f.message)
        for f in detect(source, KB, DetectOptions(), analysis=analysis)
    ]


def same_findings(source: str) -> ModuleAnalysis | None:
    """Assert that the sparse analysis (where there is one) finds what the whole one does."""
    whole = findings_of(source, ModuleAnalysis(parse_source(source), source))
    sparse = sparse_analysis(source.encode(), source, "<test>", PREFILTER)
    if sparse is not None:
        assert findings_of(source, sparse) == whole, source
    return sparse


def test_bodies_without_evidence_become_pass_on_the_same_lines() -> None:
    source = textwrap.dedent(
        """\
        import numpy as np


        def quiet(x):
            y = np.zeros(x)
            return y.sum()


        def loud(x):
            return np.float_(x)


        class Holder:
            @property
            def value(self) -> int:
                first = 1
                return first

            def outer(self):
                a = np.NaN

                def inner():
                    b = 2
                    return b

                return a
        """
    )
    data = source.encode()
    sparse, stubs = stub_bodies(data, PREFILTER.evidence(data) or [])
    assert sparse.decode() == textwrap.dedent(
        """\
        import numpy as np


        def quiet(x):
         pass



        def loud(x):
            return np.float_(x)


        class Holder:
            @property
            def value(self) -> int:
             pass


            def outer(self):
                a = np.NaN

                def inner():
                 pass


                return a
        """
    )
    assert [(stub.def_line, stub.pass_line) for stub in stubs] == [(4, 5), (15, 16), (22, 23)]
    assert same_findings(source) is not None


@pytest.mark.parametrize(
    "body",
    [
        "    global np\n    np = None\n    return np\n",  # binds a name of the module
        "    class Inner:\n        pass\n    return Inner\n",  # a class of its own
        "    text = (\n1, 2)\n    return text\n",  # a bracket open past the end found by indentation
        '    text = """\nnot indented\n"""\n    return text\n',  # a docstring's line at the left margin
        "    y = 0\n    x = y + \\\n1\n    return x\n",  # a line continued at the left margin
    ],
)
def test_bodies_that_cannot_be_cut_out_are_kept(body: str) -> None:
    source = f"import numpy as np\n\n\ndef f(x):\n{body}\n\nvalue = np.float_\n"
    data = source.encode()
    sparse, stubs = stub_bodies(data, PREFILTER.evidence(data) or [])
    assert stubs == [] and sparse == data
    same_findings(source)


def test_a_def_in_a_docstring_is_not_a_function() -> None:
    source = 'import numpy as np\n"""Example:\n\ndef convert(x):\n    y = x\n    return y\n"""\nv = np.float_\n'
    data = source.encode()
    assert stub_bodies(data, PREFILTER.evidence(data) or [])[1] == []
    same_findings(source)


@pytest.mark.parametrize(
    "source",
    [
        # an alias bound outside the body (``a``), used inside: the use is a finding there
        "import numpy as np\na = np.float_\n\ndef f():\n    x = 1\n    return a(x)\n",
        textwrap.dedent(
            """\
            import numpy as np

            def outer():
                a = np.float_

                def inner():
                    x = 1
                    return a(x)

                return inner
            """
        ),
        # the name an import of an old name binds, used in a body
        "from numpy import float_ as F\n\ndef f():\n    x = 1\n    return F(x)\n",
        "import imp\n\ndef f(path):\n    x = path\n    return imp.load_source('m', x)\n",
        # a module import continued with a backslash
        "from scipy.signal import kaiser_beta, \\\n    firwin\n\ndef f(n):\n    return firwin(n, 1, nyq=n)\n",
        # a callable with a changed keyword, passed around: the file is read whole
        "from numpy.testing import assert_array_equal\ncheck = assert_array_equal\n\ndef f(v):\n    check(v, y=[1])\n",
        # an alias re-bound, a star import of an old module: the file is read whole
        "import numpy as np\nxp = np\n\ndef f():\n    x = 1\n    return xp.float_(x)\n",
        "from numpy.compat.py3k import *\n\ndef f():\n    x = 1\n    return asbytes(x)\n",
    ],
)
def test_findings_that_need_more_than_the_body_are_kept(source: str) -> None:
    whole = findings_of(source, ModuleAnalysis(parse_source(source), source))
    assert whole, "the case should have a finding"
    same_findings(source + QUIET)


@pytest.mark.parametrize("change", KB.changes, ids=[c.id for c in KB.changes])
def test_every_entry_in_a_function_among_others(change) -> None:
    """Each entry's use, at module level and inside a function, among bodies that are replaced."""
    module = usage(change)
    same_findings(module + QUIET)
    imports = [line for line in module.splitlines() if line.startswith(("import ", "from "))]
    rest = [line for line in module.splitlines() if line and not line.startswith(("import ", "from "))]
    if not rest or any(line.startswith(("def ", "class ")) for line in rest):
        return
    body = "".join(f"    {line}\n" for line in rest)
    wrapped = "\n".join(imports) + "\n\n\ndef wrapper(x, obj):\n    pad = 1\n" + body
    same_findings(wrapped + QUIET)


def _real_modules(limit: int) -> list[Path]:
    """Modules of installed libraries (code this project did not write) the prefilter lets through."""
    found: list[Path] = []
    for package in ("numpy", "pandas", "matplotlib"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        paths = sorted(Path(spec.origin).parent.rglob("*.py"))
        passing = [path for path in paths if PREFILTER.may_match(path.read_bytes())]
        found.extend(passing[:: max(1, len(passing) // limit)][:limit])
    return found


@pytest.mark.parametrize("path", _real_modules(60), ids=lambda path: "/".join(path.parts[-3:]))
def test_real_modules_give_the_same_findings(path: Path) -> None:
    try:
        source = path.read_text(encoding="utf-8")
        parse_source(source)
    except (UnicodeDecodeError, Exception):  # noqa: BLE001  # not Python 3 source: nothing to compare
        pytest.skip("does not parse")
    same_findings(source)


def test_a_def_in_a_string_the_quote_count_misreads_is_caught_after_the_parse() -> None:
    # The quotes in ``QUOTE`` make the count of triple quotes even inside ``DOC``: its ``def`` looks like code.
    source = (
        'import numpy as np\nQUOTE = \'"""\'\n'
        + 'DOC = """\ndef example(x):\n    y = x\n    return y\n"""\nv = np.float_\n'
    )
    data = source.encode()
    assert stub_bodies(data, PREFILTER.evidence(data) or [])[1], "the quote count should be fooled"
    assert same_findings(source) is None  # the parse shows no function there: the module is read whole


def test_a_changed_callable_named_in_prose_is_no_reason_to_read_everything() -> None:
    # ``array`` in the docstring is no use of the name (the code only calls it): the bodies are still replaced.
    source = (
        "from numpy import array\n\n\ndef make(x):\n"
        '    """Return an array of x."""\n    return array(x, copy=False)\n' + QUIET
    )
    assert findings_of(source, ModuleAnalysis(parse_source(source), source))
    assert same_findings(source) is not None
