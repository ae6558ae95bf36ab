"""The byte prefilter on real-looking NumPy code, as ``--select numpy --target numpy==2.0`` builds it.

Issue 15: a file passes only when its *code* (strings and comments blanked out, see
``prefilter.code_only``) holds something a selected change can match. Each case is checked both
ways against the detector itself: a file with a finding must pass, and the files the tighter test
now rejects really have none (they were parsed for nothing before).
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from recode_lsp.cli.kb_subset import load_for
from recode_lsp.engine import detect
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.prefilter import Prefilter, code_only, import_bindings
from recode_lsp.engine.rules import rule_triggers
from recode_lsp.engine.versions import parse_target

KB = load_for(["numpy"], [], [])
OPTIONS = DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])
PREFILTER = Prefilter([c for c in KB.changes if OPTIONS.severity(c) is not None], rule_triggers())


def codes(source: str) -> list[str]:
    return [finding.code for finding in detect(source, KB, OPTIONS)]


def passes(source: str) -> bool:
    return PREFILTER.may_match(source.encode())


# Each has at least one finding: the prefilter must let it through.
WITH_FINDINGS = {
    "star import beside an alias": """\
        from numpy import *  # noqa: F403
        import numpy as np

        def mean_of(values):
            return np.float_(sum(values)) / len(values)
        """,
    "star import of a removed module": "from numpy.compat import *  # noqa: F401,F403\n",
    "alias and attribute chain": """\
        import numpy as np

        def fill(shape):
            out = np.zeros(shape)
            out[...] = np.NaN  # missing
            return out
        """,
    "submodule import, chain through numpy.core": """\
        import numpy.core.multiarray as multiarray

        def as_c(a):
            return multiarray.array(a, order="C")
        """,
    "chain through numpy.core": """\
        import numpy as np

        SUPPORTED = set(getattr(np.core.umath, name) for name in ("add", "multiply"))
        """,
    "keyword copy=False, strings in the call": """\
        import numpy as np

        def as_array(value, name="value"):
            return np.array(value, dtype="f8", copy=False, ndmin=1)
        """,
    "keyword copy=(False) over lines with a comment": """\
        import numpy as np

        def view(value):
            return np.array(
                value,
                copy=  # no copy where one is not needed
                (False),
            )
        """,
    "keyword value after a backslash": "import numpy as np\nx = np.array([1], copy=\\\n    False)\n",
    "renamed keyword of an imported function": """\
        from numpy.testing import assert_array_equal

        def test_round_trip(x):
            assert_array_equal(x, y=x.copy())
        """,
    "re-bound module alias": """\
        import numpy
        xp = numpy  # the array namespace

        def total(a):
            return xp.product(a)
        """,
    "from-import list with a comment holding a parenthesis": """\
        from numpy import (
            zeros,  # see zeros(shape)
            float_,
        )
        """,
    "old name inside an f-string replacement field": """\
        import numpy as np

        def describe(a):
            return f"{a!r} is {np.float_(a)}"
        """,
    "use after a docstring that mentions the name": '''\
        """Tools. ``np.float_`` is used below."""
        import numpy as np

        EPS = np.finfo(np.float_).eps
        ''',
}

# None has a finding: the names are in docstrings, doctests, comments or strings, or the call
# or alias cannot reach a changed name. All of them passed the prefilter before issue 15.
WITHOUT_FINDINGS = {
    "doctest in a docstring": '''\
        import numpy as np

        def as_float(a):
            """Cast to float.

            >>> as_float(np.arange(3)).dtype == np.float_
            True
            """
            return np.asarray(a, dtype=np.float64)
        ''',
    "comment": """\
        import numpy as np

        # np.alltrue was used here before NumPy 1.25; np.all is the same.
        ok = np.all([True, True])
        """,
    "string": """\
        import numpy as np

        MESSAGE = "np.asscalar(a) is deprecated since NumPy v1.16, use a.item()"
        value = np.float64(1.0)
        """,
    "keyword copy=True": """\
        import numpy as np

        def copied(a):
            return np.array(a, dtype="f8", copy=True)
        """,
    "keyword copy=False inside a string argument": """\
        import numpy as np

        table = np.array([("copy=False", 1)], dtype=[("text", "U10"), ("n", "i4")])
        """,
    "re-bound name that reaches no changed name": """\
        from numpy import pi, float32

        half = pi / 2
        dtype = float32
        """,
}


@pytest.mark.parametrize("source", WITH_FINDINGS.values(), ids=WITH_FINDINGS.keys())
def test_files_with_findings_pass(source: str) -> None:
    source = textwrap.dedent(source)
    assert codes(source), "the case should have a finding"
    assert passes(source)


@pytest.mark.parametrize("source", WITHOUT_FINDINGS.values(), ids=WITHOUT_FINDINGS.keys())
def test_files_without_findings_are_rejected(source: str) -> None:
    source = textwrap.dedent(source)
    assert not codes(source), "the case should have no finding"
    assert not passes(source)


def test_f_string_holding_its_own_quote_passes() -> None:
    """Python 3.12 lets a replacement field hold the f-string's quote; the scan must not lose track."""
    source = 'import numpy as np\n\ndef describe(d):\n    return f"{d["k"]}" + str(np.NaN)\n'
    if sys.version_info >= (3, 12):
        assert codes(source)
    assert passes(source)


def test_code_only_blanks_strings_and_comments() -> None:
    source = textwrap.dedent(
        '''\
        """Module docstring: np.float_"""
        x = 'a' + "b" + b"c" + r'd\\'e'  # np.NaN
        y = f"{np.NaN}"
        z = """two
        lines"""
        '''
    ).encode()
    assert code_only(source) == b'""\nx = \'\' + "" + b"" + r\'\'  \ny = f"{np.NaN}"\nz = ""\n'


def test_code_only_stops_at_an_f_string_it_cannot_end() -> None:
    source = b'a = "x"\nb = f"{d["k"]}"  # np.NaN\n'
    assert code_only(source) == b'a = ""\nb = f"{d["k"]}"  # np.NaN\n'


def test_import_bindings_skip_comments_in_parentheses() -> None:
    source = b"from numpy import (  # the names (all of them)\n    zeros,  # f(x)\n    float_ as F,\n)\n"
    assert import_bindings(source) == [(b"zeros", b"numpy.zeros"), (b"F", b"numpy.float_")]
