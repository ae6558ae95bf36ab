"""``recode-migrate --apply --test CMD --model URL``: the tests also decide which model fixes stay.

The model (the scripted OpenAI-compatible server of ``tests/models``, on loopback) fixes two
display-only ``np.cast`` findings; the project's "tests" (a fast checker) fail with one of those
fixes. That one is reverted and reported, the other model fix and the rule fix are kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.models.conftest import server  # noqa: F401  (the scripted server fixture)
from tests.models.openai_server import Reply, ScriptedServer, closed_port_url, completion

SOURCE = textwrap.dedent(
    """\
    import numpy as np


    def a(x):
        return np.cast["i4"](x)


    def b(x):
        return np.cast["f4"](x)


    def c(y):
        return np.float_(y)
    """
)
A_FIXED = 'def a(x):\n    return np.asarray(x, dtype="i4")'
B_FIXED = 'def b(x):\n    return np.asarray(x, dtype="f4")'
#: The project's "tests": fail while a module holds the given text, and log each run.
CHECKER = textwrap.dedent(
    """\
    import pathlib, sys

    log = pathlib.Path("runs.log")
    log.write_text(log.read_text() + "run\\n" if log.exists() else "run\\n")
    for path in sorted(pathlib.Path("pkg").glob("*.py")):
        for bad in sys.argv[1:]:
            if bad in path.read_text():
                print(f"FAILED: {path.as_posix()} contains {bad!r}")
                sys.exit(1)
    print("all passed")
    """
)
TEST = """python check.py 'dtype="i4"'"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\nselect = ["numpy"]\n')
    (root / "check.py").write_text(CHECKER)
    (root / "pkg" / "mod.py").write_text(SOURCE)
    return root


def migrate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CI": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RECODE_CACHE_DIR": str(root.parent / "recode-cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "recode_lsp", "--allow-dirty", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def test_the_tests_revert_the_model_fix_they_fail_with(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    # The findings are asked about from the last to the first: b, then a.
    server.then(Reply(completion("cast is gone", B_FIXED + "\n")), Reply(completion("cast is gone", A_FIXED + "\n")))
    result = migrate(
        project, "--apply", "--unsafe-fixes", "--model", server.url, "--test", TEST, "--format", "json", "."
    )
    assert result.returncode == 1, result.stderr
    assert len(server.requests) == 2
    # The rule fix and b's model fix stay; a's model fix, which the tests fail with, is reverted.
    expected = SOURCE.replace("np.float_(y)", "np.float64(y)").replace('np.cast["f4"](x)', 'np.asarray(x, dtype="f4")')
    assert (project / "pkg" / "mod.py").read_text() == expected
    assert "the model fixed 2 of 2 findings" in result.stderr and "the tests decide which stay" in result.stderr
    assert "2 of 3 fixes kept, 1 reverted." in result.stderr
    assert "reverted pkg/mod.py:5:12: NPY007" in result.stderr
    assert """    | FAILED: pkg/mod.py contains 'dtype="i4"'""" in result.stderr
    document = json.loads(result.stdout)
    gate = document["summary"]["test_gate"]
    assert sorted((k["code"], k["line"]) for k in gate["kept"]) == [("NPY007", 9), ("NPY023", 13)]
    assert [(r["code"], r["line"]) for r in gate["reverted"]] == [("NPY007", 5)]
    assert sorted((f["code"], f["location"]["line"]) for f in document["fixed"]) == [("NPY007", 9), ("NPY023", 13)]


def test_a_model_fix_the_tests_accept_is_kept(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    server.then(Reply(completion("cast is gone", B_FIXED + "\n")), Reply(completion("cast is gone", A_FIXED + "\n")))
    result = migrate(project, "--apply", "--unsafe-fixes", "--model", server.url, "--test", "python check.py", ".")
    assert result.returncode == 1, result.stderr
    text = (project / "pkg" / "mod.py").read_text()
    assert A_FIXED in text and B_FIXED in text and "np.float64(y)" in text
    assert "3 of 3 fixes kept, 0 reverted." in result.stderr


def test_server_down_leaves_the_gated_rule_fixes(project: Path) -> None:
    result = migrate(project, "--apply", "--unsafe-fixes", "--model", closed_port_url(), "--test", TEST, ".")
    assert result.returncode == 1, result.stderr
    assert "is unavailable" in result.stderr and "the rule fixes go on" in result.stderr
    assert (project / "pkg" / "mod.py").read_text() == SOURCE.replace("np.float_(y)", "np.float64(y)")
    assert "1 of 1 fixes kept" in result.stderr


def test_model_fixes_need_unsafe_fixes_with_test(project: Path, server: ScriptedServer) -> None:  # noqa: F811
    result = migrate(project, "--apply", "--model", server.url, "--test", "python check.py", ".")
    assert "pass --unsafe-fixes" in result.stderr
    assert server.requests == []
