"""A name listed on a later line of ``from m import (...)`` is imported there, not used (issue 15).

The prefilter lets a file through for a changed keyword of an imported callable
(``assert_array_equal(x=...)``, NPY150) only where a use of the name may pass it; a use that is
not a call (an alias, an argument) may, so it counts. The second line of a parenthesized import
list was taken for such a use: 40 files of the bench corpus were parsed for nothing. Lists that
hold anything but names (a quote, a parenthesis) still count, since a string's text can run into
code there; and whatever the prefilter lets through, the detector decides.
"""

from __future__ import annotations

import pytest

from recode_lsp.cli.kb_subset import load_for
from recode_lsp.engine.detector import detect
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.prefilter import Prefilter
from recode_lsp.engine.rules import rule_triggers
from recode_lsp.engine.versions import parse_target

LISTED = "from numpy.testing import (\n    assert_equal,\n    assert_array_equal,\n)\n\n"


@pytest.fixture(scope="module")
def setup() -> tuple[Prefilter, DetectOptions]:
    kb = load_for(["numpy"], [], [])
    options = DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])
    return Prefilter([c for c in kb.changes if options.severity(c) is not None], rule_triggers()), options


def findings(source: str, options: DetectOptions) -> list[str]:
    return [finding.code for finding in detect(source, load_for(["numpy"], [], []), options, "t.py")]


def test_a_name_listed_in_a_multi_line_import_is_no_use(setup: tuple[Prefilter, DetectOptions]) -> None:
    prefilter, options = setup
    source = LISTED + "def test(x=0):\n    assert_array_equal(x, [1])\n    assert_equal(x=1, y=2)\n"
    assert findings(source, options) == []
    assert not prefilter.may_match(source.encode())


@pytest.mark.parametrize(
    "use",
    [
        "assert_array_equal(x=[1], y=[1])\n",
        "check = assert_array_equal\ncheck(x=[1], y=[1])\n",
        "assert_array_equal(\n    [1], y=[1])\n",
    ],
)
def test_a_use_that_may_pass_the_keyword_still_counts(use: str, setup: tuple[Prefilter, DetectOptions]) -> None:
    prefilter, _ = setup
    source = LISTED + use
    assert prefilter.may_match(source.encode())


def test_the_keyword_call_is_found(setup: tuple[Prefilter, DetectOptions]) -> None:
    prefilter, options = setup
    source = LISTED + "assert_array_equal(x=[1], y=[1])\n"
    assert findings(source, options) == ["NPY150", "NPY151"]
    assert prefilter.may_match(source.encode())


@pytest.mark.parametrize(
    "source",
    [
        # "from ... import (" inside a string, running into code that passes the name on.
        (
            'from numpy.testing import assert_array_equal\ntext = """\nfrom a import (\n"""\n'
            "run(assert_array_equal, x=1)\n"
        ),
    ],
)
def test_a_list_of_more_than_names_still_counts(source: str, setup: tuple[Prefilter, DetectOptions]) -> None:
    prefilter, _ = setup
    assert prefilter.may_match(source.encode())
