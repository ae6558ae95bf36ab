"""The prefilter's byte scans, where they were rewritten for speed (issue 15), decide as before.

Each case is a form one of the scans has to see through: a member found after a dot or after
``def`` (two patterns), a name that is only a use where no word byte or dot is before it (the
look-behind is tested outside the pattern), the arguments of a call balanced over the brackets,
quotes and ``#`` only, an f-string told by the letters before its quote, and the import
statements of other libraries skipped before their names are split. Whatever the prefilter
rejects must have no finding: that is checked against the detector.
"""

from __future__ import annotations

import pytest

from recode_lsp.cli.kb_subset import load_for
from recode_lsp.engine.detector import detect
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.prefilter import Prefilter, _call_arguments, code_only, import_bindings
from recode_lsp.engine.rules import rule_triggers
from recode_lsp.engine.versions import parse_target

NP = "import numpy as np\n"
TESTING = "from numpy.testing import assert_array_equal\n"


@pytest.fixture(scope="module")
def setup() -> tuple[Prefilter, KnowledgeBase, DetectOptions]:
    kb = load_for(["numpy"], [], [])
    options = DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])
    return Prefilter([c for c in kb.changes if options.severity(c) is not None], rule_triggers()), kb, options


@pytest.mark.parametrize(
    ("source", "passes"),
    [
        (NP + "x = a.ptp()\n", True),  # a changed member after a dot
        (NP + "x = (a.\n    ptp())\n", True),  # a new line between
        (NP + "class A:\n    def ptp(self):\n        return 0\n", True),  # overridden in a subclass
        (NP + "x = a.ptpx()\nptp = 1\n", False),
        (TESTING + "obj.assert_array_equal(x=1)\nassert_array_equal(a, b)\n", False),  # a method of another object
        (TESTING + "my_assert_array_equal(x=1)\nassert_array_equal(a, b)\n", False),  # another name
        (TESTING + "assert_array_equal(x=1)\n", True),
        (TESTING + "check = assert_array_equal\nf(x=1)\n", True),  # not a call: may become one
        (NP + "y = np.array(a, copy=False)\n", True),
        (NP + "y = np.array((a), [1, {2: 3}], copy=False)\n", True),  # nested brackets
        (NP + "y = np.array(a, '', copy=False)\n", True),  # an empty string is stepped over
        (NP + "y = np.array(a)  # copy=False\n", False),  # only in a comment
        (NP + "y = np.array(a)\nf(copy=False)\n", False),  # another call's keyword
        (NP + "s = 'np.float_'\n", False),  # a changed name in a string
        (NP + "s = rb'np.float_'\n", False),
        (NP + "s = f'{np.float_}'\n", True),  # an f-string's fields are code
        (NP + "s = Rf'{np.float_}'\n", True),
        ("import os, numpy as np\nx = np.float_\n", True),
        ("from os import path\nimport numpy.ma as ma\nx = path.float_\n", False),
        ("from numpy import float_\n", True),
        ("from numpy.testing import assert_equal\nx = assert_equal.float_\ny = assert_equal\n", False),  # reaches none
        ("from numpy import linalg\nla = linalg\n", True),  # may reach ``numpy.linalg.linalg``
    ],
)
def test_scans_decide_as_the_detector_needs(
    setup: tuple[Prefilter, KnowledgeBase, DetectOptions], source: str, passes: bool
) -> None:
    prefilter, kb, options = setup
    assert prefilter.may_match(source.encode()) is passes
    if not passes:
        assert detect(source, kb, options, "t.py") == []


@pytest.mark.parametrize(
    ("data", "position", "expected"),
    [
        (b"f(a, (b), [c])  + d", 1, b"(a, (b), [c])"),
        (b"f  (a, {1: 2})", 1, b"(a, {1: 2})"),
        (b"f(a, '', b)", 1, b"(a, '', b)"),  # an empty string is stepped over
        (b"f(a, 'x', b) + g(c)", 1, b"(a, 'x', b) + g(c)"),  # a quote: the rest, unbalanced
        (b"f(a, # c\n b)", 1, b"(a, # c\n b)"),
        (b"f(a, ''", 1, b"(a, ''"),  # never closed
        (b"f(a, '", 1, b"(a, '"),
        (b"f.x", 1, b""),  # not a call
    ],
)
def test_call_arguments(data: bytes, position: int, expected: bytes) -> None:
    assert _call_arguments(data, position) == expected


def test_call_arguments_stop_after_4096_bytes() -> None:
    data = b"f(" + b"a, " * 3000 + b")"
    assert _call_arguments(data, 1) == data[1:4097]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"x = 'a' + \"b\"  # c\n", b"x = '' + \"\"  \n"),
        (b"x = f'{a}' + rb'b'\n", b"x = f'{a}' + rb''\n"),
        (b"x = fR'{a}' if b else'c'\n", b"x = fR'{a}' if b else''\n"),  # "else" has no f
        (b"x = 'q' + f'{a['k']}' + 'b'\n", b"x = '' + f'{a['k']}' + 'b'\n"),  # its quote in a field: the rest kept
        (b"x = '''a\n'b'''\n", b"x = ''\n"),
    ],
)
def test_code_only(data: bytes, expected: bytes) -> None:
    assert code_only(data) == expected


def test_import_bindings_for_some_roots() -> None:
    data = b"import os, numpy.ma as ma\nfrom os import path\nfrom numpy import (a,\n b as c)\nfrom . import numpy\n"
    every = import_bindings(data)
    some = import_bindings(data, frozenset({b"numpy"}))
    assert [binding for binding in every if binding[1].split(b".")[0] == b"numpy"] == [
        (b"ma", b"numpy.ma"),
        (b"a", b"numpy.a"),
        (b"c", b"numpy.b"),
    ]
    assert [binding for binding in some if binding[1].split(b".")[0] == b"numpy"] == [
        binding for binding in every if binding[1].split(b".")[0] == b"numpy"
    ]
    assert (b"path", b"os.path") not in some
