"""``--check --too-new`` walks a module its pre-check finds a possible too-new use in, and reads the
function bodies where neither check can report as ``pass`` (recode_lsp/engine/sparse.py, with the
offsets :meth:`TooNew.evidence` gives): the walk of a large test module with a couple of newer names
read its every body, a third of what ``--too-new`` added to the bench corpus (issue 19). The findings
stay those of the whole walk; a syntax error in a body read as ``pass`` is seen with ``--check-syntax``,
as for every sparse read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recode_lsp.cli.main import main
from tests.toonew.test_toonew_fixture import ENTRIES, project  # noqa: F401  # the fixture: tnlib 1.0 and 2.0

#: Too-new uses at module level, in a function, a method (a keyword), a nested function; bodies with
#: nothing to report around them; then a Python 2 statement in one of those.
MODULE = """\
import tnlib
from tnlib import compute

LEVEL = tnlib.new_name(0)


def helper_one(values):
    total = 0
    for v in values:
        total += v
    return total


def uses_a_newer_name(x):
    scale = 2
    return tnlib.new_name(x) * scale


class Model:
    def fit(self, data):
        self.data = data
        return self

    def score(self, data):
        result = compute(data, method="slow")
        return result


def outer(values):
    def inner(v):
        return tnlib.nothing_here(v)

    return [inner(v) for v in values]


def helper_two(a, b):
    product = a * b
    return product
"""
LEGACY = """

def legacy(message):
    prefix = "log: "
    print prefix + message
"""
BROKEN = MODULE + LEGACY


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    main(["--too-new", "--no-cache", "--format", "json", "--target", "tnlib==1.0", *args, "code.py"])
    report = json.loads(capsys.readouterr().out)
    assert isinstance(report, dict)
    return report


def _located(report: dict[str, object]) -> list[tuple[int, int, str]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return sorted((f["location"]["line"], f["location"]["column"], f["code"]) for f in findings)


def test_findings_are_those_of_the_whole_walk(
    project: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (project / "code.py").write_text(MODULE, encoding="utf-8")
    sparse = _located(_report(capsys))
    monkeypatch.setenv("RECODE_NO_PREFILTER", "1")  # every file parsed and walked whole
    whole = _located(_report(capsys))
    assert sparse == whole
    assert [(line, code) for line, _, code in sparse if code.startswith("RCN")] == [
        (4, "RCN-TNL001"),
        (16, "RCN-TNL001"),
        (25, "RCN-TNL002"),
        (31, "RCN001"),
    ]


def test_bodies_with_nothing_to_report_are_read_as_pass(
    project: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    (project / "code.py").write_text(BROKEN, encoding="utf-8")
    default = _report(capsys)
    assert default["errors"] == []
    assert (31, 16, "RCN001") in _located(default)
    strict = _report(capsys, "--check-syntax")
    errors = strict["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    assert errors[0]["error"].startswith("syntax error at line 43")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_module_the_knowledge_base_flags_is_pre_checked_as_decoded(
    project: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    newline: str,
) -> None:
    """A module the knowledge base has a finding in is pre-checked on its decoded text, where CRLF is
    read as one newline: the prefilter's offsets of its import lines are the bytes', so they are handed
    over only where the two are the same (a CRLF module with its import 300 lines down lost its
    too-new finding: the line found there was another)."""
    gone = {**ENTRIES[0], "id": "TNL090", "old": "tnlib.legacy_name", "new": "tnlib.compute", "removed_in": "1.0"}
    with (project / "changes.jsonl").open("a", encoding="utf-8") as changes:
        changes.write(json.dumps({**gone, "deprecated_in": None}) + "\n")
    lines = [f"# line {number}" for number in range(300)]
    lines += ["import tnlib", "", "x = tnlib.legacy_name", "y = tnlib.nothing_here", ""]
    (project / "code.py").write_bytes(newline.join(lines).encode())
    assert [(line, code) for line, _, code in _located(_report(capsys))] == [(303, "TNL090"), (304, "RCN001")]
