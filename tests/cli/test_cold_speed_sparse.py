"""``--check`` reads the function bodies that can hold no finding as ``pass`` (issue 15).

Parsing and analysing the test and helper functions of old scientific code that use none of the
changed names was two thirds of a cold ``--check`` (recode_lsp/engine/sparse.py). The findings
stay those of the whole parse; what is not seen is a syntax error inside such a body, as in a file
the prefilter skips, and ``--check-syntax`` (and ``--diff``) read every body. Each test runs the
real CLI in a child process on files in a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli_process import run_migrate

#: Findings at module level, in a method, in a nested function, through an alias; and bodies
#: with nothing to report around them.
MIXED = b"""import numpy as np
from numpy import float_ as F

ALIAS = np.NaN


class Model:
    def fit(self, data):
        self.mean_ = sum(data) / len(data)
        return self

    def predict(self, data):
        values = np.asarray(data, dtype=np.float_)
        return values - self.mean_


def outer(values):
    scale = 2

    def inner(v):
        return F(v) * scale

    return [inner(v) for v in values]


def unrelated(a, b):
    total = a + b
    return total * ALIAS
"""
#: A module-level finding, and a Python 2 statement in a body that has nothing to report.
BROKEN_BODY = b"""import numpy as np

EPS = np.finfo(np.float_).eps


def legacy_log(message):
    prefix = "log: "
    print prefix + message
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "pkg" / "mixed.py").write_bytes(MIXED)
    (root / "pkg" / "broken_body.py").write_bytes(BROKEN_BODY)
    return root


def check(root: Path, cache: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result: subprocess.CompletedProcess[str] = run_migrate(
        "--check", "--no-cache", "--select", "numpy", "--target", "numpy==2.0", "--format", "json", *extra, "pkg",
        cwd=root, cache=cache, env=env,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert isinstance(report, dict)
    return report


def located(report: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return sorted((f["path"], f["location"]["line"], f["location"]["column"], f["code"]) for f in findings)


def test_findings_are_those_of_the_whole_parse(project: Path, tmp_path: Path) -> None:
    (project / "pkg" / "broken_body.py").unlink()
    sparse = located(check(project, tmp_path / "cache"))
    # RECODE_NO_PREFILTER: every file parsed and analysed whole (the benchmark's diagnostics).
    whole = located(check(project, tmp_path / "cache", env={"RECODE_NO_PREFILTER": "1"}))
    assert sparse == whole
    assert [(line, code) for _, line, _, code in sparse] == [
        (2, "NPY023"),
        (4, "NPY033"),
        (13, "NPY023"),
        (21, "NPY023"),
        (28, "NPY033"),  # ``ALIAS``, bound to ``np.NaN`` outside the body
    ]


def test_a_syntax_error_in_a_body_with_nothing_to_report_needs_check_syntax(project: Path, tmp_path: Path) -> None:
    default = check(project, tmp_path / "cache")
    assert ("pkg/broken_body.py", 3, 16, "NPY023") in located(default)
    assert default["errors"] == []
    strict = check(project, tmp_path / "cache", "--check-syntax")
    errors = {error["path"]: error["error"] for error in strict["errors"]}
    assert errors["pkg/broken_body.py"].startswith("syntax error at line 8")
    assert not [f for f in located(strict) if f[0] == "pkg/broken_body.py"]
