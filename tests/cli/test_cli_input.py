"""``recode-migrate`` input handling end to end: options, targets, odd files, output streams.

Each test runs the real CLI in a subprocess on a temporary git repository (issue 11).
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

KB = load_knowledge_base()


def code_of(old: str) -> str:
    """The shipped id of the change of ``old`` (ids are data, not hard-coded here)."""
    return next(change.id for change in KB.changes if change.old == old and not change.old_keyword)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_migrate(*args, cwd=cwd)


def run_bytes(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "recode_lsp", *args], cwd=cwd, capture_output=True, check=False, timeout=120
    )


def git(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False, timeout=60)


def commit_all(root: Path) -> None:
    git("add", "-A", cwd=root)
    git("commit", "-qm", "state", "--allow-empty", cwd=root)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git("init", "-q", cwd=root)
    git("config", "user.email", "t@example.invalid", cwd=root)
    git("config", "user.name", "t", cwd=root)
    git("config", "core.autocrlf", "false", cwd=root)
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0", "python==3.12"]\n')
    (root / "pkg").mkdir()
    (root / "pkg" / "legacy.py").write_text("import numpy as np\nx = np.float_(1)\n")
    commit_all(root)
    return root


# --- unknown ids, libraries and targets -------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "suggestion"),
    [
        ("--select", "pydnatic", "pydantic"),
        ("--select", "NPY999", "NPY"),
        ("--ignore", "pandsa", "pandas"),
        ("--select", "numpy,sqlalchemu", "sqlalchemy"),
    ],
)
def test_unknown_select_or_ignore_is_an_error_with_a_suggestion(
    repo: Path, option: str, value: str, suggestion: str
) -> None:
    result = run(option, value, "pkg", cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    bad = value.split(",")[-1]
    assert f"{option} {bad!r}" in result.stderr or f"{bad!r}" in result.stderr
    assert "did you mean" in result.stderr and suggestion in result.stderr.split("did you mean", 1)[1]
    assert result.stdout == ""


def test_known_ids_prefixes_and_libraries_are_accepted(repo: Path) -> None:
    npy = code_of("numpy.float_")
    for args in (("--select", "numpy"), ("--select", "NPY"), ("--select", npy.lower()), ("--ignore", "PD,pandas")):
        result = run(*args, "pkg", cwd=repo)
        assert result.returncode == 1, (args, result.stderr)


def test_unknown_target_library_is_an_error_with_a_suggestion(repo: Path) -> None:
    result = run("--target", "pydnatic==2.8", "pkg", cwd=repo)
    assert result.returncode == 2
    assert "pydnatic" in result.stderr and "did you mean 'pydantic'" in result.stderr


@pytest.mark.parametrize(
    ("section", "suggestion"),
    [
        ('select = ["pydnatic"]', "pydantic"),
        ('ignore = ["NPY999"]', "NPY"),
        ('targets = ["pydnatic==2.8"]', "pydantic"),
    ],
)
def test_typos_in_tool_recode_are_clear_errors(repo: Path, section: str, suggestion: str) -> None:
    (repo / "pyproject.toml").write_text(f"[tool.recode]\n{section}\n")
    result = run("pkg", cwd=repo)
    assert result.returncode == 2, result.stdout
    assert "pyproject.toml" in result.stderr and "[tool.recode]" in result.stderr
    assert "did you mean" in result.stderr and suggestion in result.stderr.split("did you mean", 1)[1]


# --- version ranges ---------------------------------------------------------------------------


def findings(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode in (0, 1), result.stderr
    return [finding["code"] for finding in json.loads(result.stdout)["findings"]]


@pytest.mark.parametrize(
    ("target", "found"),
    [
        ("numpy==2.0", True),
        ("numpy>=2.0", True),
        ("numpy~=2.0", True),
        ("numpy>=2.0,<3", True),
        ("numpy>1.26", False),  # the oldest allowed version is (just above) 1.26: float_ still exists
        ("numpy>=1.26,<2.0", False),
        ("numpy>=1.26, !=1.26.1", False),
        ("numpy==1.26.*", False),
    ],
)
def test_version_ranges_target_their_lowest_allowed_version(repo: Path, target: str, found: bool) -> None:
    result = run("--target", target, "--select", "numpy", "--format", "json", "--no-cache", "pkg", cwd=repo)
    assert findings(result) == ([code_of("numpy.float_")] if found else [])


@pytest.mark.parametrize("target", ["numpy<2.0", "numpy<=1.26", "numpy!=2.0"])
def test_a_range_without_a_lower_bound_is_rejected_with_one_message(repo: Path, target: str) -> None:
    result = run("--target", target, "pkg", cwd=repo)
    assert result.returncode == 2
    assert "no lower bound" in result.stderr, result.stderr
    (repo / "pyproject.toml").write_text(f'[tool.recode]\ntargets = ["{target}"]\n')
    from_config = run("pkg", cwd=repo)
    assert from_config.returncode == 2
    assert "no lower bound" in from_config.stderr


def test_ranges_in_tool_recode_and_requirements_mean_the_same(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy>=1.26,<2.0"]\n')
    assert findings(run("--select", "numpy", "--format", "json", "--no-cache", "pkg", cwd=repo)) == []
    # A requirement whose first clause is an upper bound still gives its lower bound.
    (repo / "pyproject.toml").write_text("")
    (repo / "requirements.txt").write_text("numpy<2.0,>=1.25  # pinned\n")
    assert findings(run("--select", "numpy", "--format", "json", "--no-cache", "pkg", cwd=repo)) == []
    (repo / "requirements.txt").write_text("numpy >=2.0, <3\n")
    assert findings(run("--select", "numpy", "--format", "json", "--no-cache", "pkg", cwd=repo)) == [
        code_of("numpy.float_")
    ]


# --- the Python target from requires-python ---------------------------------------------------

TYPING_LIST = "from typing import List\n\nnames: List[str] = []\n"


@pytest.mark.parametrize(("requires", "found"), [(">=3.7", False), (">=3.9,<4", True), ("~=3.8", False)])
def test_python_target_comes_from_requires_python(repo: Path, requires: str, found: bool) -> None:
    (repo / "pyproject.toml").write_text(f'[project]\nname = "x"\nversion = "1"\nrequires-python = "{requires}"\n')
    (repo / "pkg" / "legacy.py").write_text(TYPING_LIST)
    result = run("--target", "pydantic==2.8", "--format", "json", "--no-cache", "pkg", cwd=repo)
    assert (code_of("typing.List") in findings(result)) is found
    diff = run("--target", "pydantic==2.8", "--diff", "pkg", cwd=repo)
    assert ("+names: list[str]" in diff.stdout) is found


# --- files that are not Python source ---------------------------------------------------------


def test_empty_folder_says_no_python_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("empty", cwd=tmp_path)
    assert result.returncode == 0
    assert "All checks passed" not in result.stdout
    assert "No Python files found" in result.stderr
    as_json = run("--format", "json", "empty", cwd=tmp_path)
    assert json.loads(as_json.stdout)["summary"]["files"] == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"x = 1\n\x00\x00\x00\xff\xfe", "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"x = '\xff\xfe'\n", "cannot decode"),
        # Files that use a changed name: the ones that are parsed (issue 15; without --check-syntax a
        # file with none is not, tests/cli/test_cold_speed_syntax.py).
        (b"import numpy as np\ndef f(:\n    np.float_\n", "syntax error at line 2"),
        (b"import numpy as np\nprint 'hello', np.float_\n", "syntax error at line 2"),
    ],
)
def test_binary_undecodable_and_unparsable_files_are_reported(repo: Path, content: bytes, reason: str) -> None:
    (repo / "pkg" / "legacy.py").write_text("import numpy as np\nx = np.float64(1)\n")
    (repo / "pkg" / "x.py").write_bytes(content)
    commit_all(repo)
    for mode in ("--check", "--apply", "--diff"):
        result = run(mode, "pkg", cwd=repo)
        assert result.returncode == 1, (mode, result.stdout, result.stderr)
        report = result.stdout + result.stderr
        assert "pkg/x.py: error: " in report and reason in report, report
        assert "All checks passed" not in report
    assert (repo / "pkg" / "x.py").read_bytes() == content
    as_json = json.loads(run("--format", "json", "pkg", cwd=repo).stdout)
    assert [error["path"] for error in as_json["errors"]] == ["pkg/x.py"]


def test_a_bom_before_an_import_does_not_hide_findings(repo: Path) -> None:
    path = repo / "pkg" / "legacy.py"
    path.write_bytes(codecs.BOM_UTF8 + b"import numpy as np\nx = np.float_(1)\n")
    commit_all(repo)
    assert findings(run("--format", "json", "pkg", cwd=repo)) == [code_of("numpy.float_")]
    result = run("--apply", "pkg", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert path.read_bytes() == codecs.BOM_UTF8 + b"import numpy as np\nx = np.float64(1)\n"


def test_lone_cr_line_endings_are_checked_and_kept(repo: Path) -> None:
    path = repo / "pkg" / "legacy.py"
    path.write_bytes(b"import numpy as np\r\rx = np.float_(1)\ry = 2\r")
    commit_all(repo)
    assert findings(run("--format", "json", "pkg", cwd=repo)) == [code_of("numpy.float_")]
    result = run("--apply", "pkg", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert path.read_bytes() == b"import numpy as np\r\rx = np.float64(1)\ry = 2\r"


# --- output streams ---------------------------------------------------------------------------


def test_diff_with_json_keeps_stdout_pure_json(repo: Path) -> None:
    result = run("--diff", "--format", "json", "pkg", cwd=repo)
    assert result.returncode == 1
    document = json.loads(result.stdout)  # nothing but the JSON document
    [entry] = document["diffs"]
    assert entry["path"] == "pkg/legacy.py"
    assert entry["diff"].startswith("--- a/pkg/legacy.py\n+++ b/pkg/legacy.py\n")
    assert "+x = np.float64(1)\n" in entry["diff"]
    # The diff inside the JSON is a patch git applies.
    applied = git("apply", "-", cwd=repo, stdin=entry["diff"].encode(entry["encoding"]))
    assert applied.returncode == 0, applied.stderr
    assert (repo / "pkg" / "legacy.py").read_text() == "import numpy as np\nx = np.float64(1)\n"


def test_diff_with_sarif_and_github_keeps_stdout_machine_readable(repo: Path) -> None:
    sarif = run("--diff", "--format", "sarif", "pkg", cwd=repo)
    document = json.loads(sarif.stdout)
    assert "+x = np.float64(1)" in document["runs"][0]["properties"]["diffs"][0]["diff"]
    github = run("--diff", "--format", "github", "pkg", cwd=repo)
    assert github.stdout and all(line.startswith("::") for line in github.stdout.splitlines())
    assert "+x = np.float64(1)" in github.stderr


def test_list_changes_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "recode_lsp", "--list-changes"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first write: every write is EPIPE
    error = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert error == b""


def test_head_of_list_changes_prints_no_error(tmp_path: Path) -> None:
    command = f"{sys.executable} -m recode_lsp --list-changes | head -1"
    result = subprocess.run(
        ["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""


# --- --diff is byte-exact for git apply -------------------------------------------------------

LEGACY = textwrap.dedent(
    """\
    # -*- coding: latin-1 -*-
    import numpy as np

    name = 'café'
    x = np.float_(1)
    """
)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("crlf.py", b"import numpy as np\r\n\r\nx = np.float_(1)\r\ny = 2\r\n"),
        ("latin1.py", LEGACY.encode("latin-1")),
        ("latin1_crlf.py", LEGACY.replace("\n", "\r\n").encode("latin-1")),
        ("bom.py", codecs.BOM_UTF8 + b"import numpy as np\nx = np.float_(1)\n"),
        ("no_newline.py", b"import numpy as np\nx = np.float_(1)"),
        ("lone_cr.py", b"import numpy as np\rx = np.float_(1)\r"),
        ("utf8.py", "import numpy as np\n# ünïcødé ✓\nx = np.float_(1)  # 𝛼\n".encode()),
    ],
)
def test_diff_is_a_byte_exact_patch(repo: Path, tmp_path: Path, name: str, content: bytes) -> None:
    (repo / "pkg" / name).write_bytes(content)
    (repo / "pkg" / "legacy.py").unlink()
    commit_all(repo)
    copy = tmp_path / "copy"
    shutil.copytree(repo, copy)
    diff = run_bytes("--diff", "pkg", cwd=repo)
    assert diff.returncode == 1, diff.stderr
    assert diff.stdout.startswith(f"--- a/pkg/{name}\n+++ b/pkg/{name}\n".encode())
    check = git("apply", "--check", "-", cwd=repo, stdin=diff.stdout)
    assert check.returncode == 0, check.stderr
    assert git("apply", "-", cwd=repo, stdin=diff.stdout).returncode == 0
    applied = run_bytes("--apply", "pkg", cwd=copy)
    assert applied.returncode == 1, applied.stderr
    assert (repo / "pkg" / name).read_bytes() == (copy / "pkg" / name).read_bytes() != content


# --- the size limit ---------------------------------------------------------------------------


def test_files_over_the_size_limit_are_skipped_with_a_message(repo: Path) -> None:
    big = repo / "pkg" / "big.py"
    content = "import numpy as np\nx = np.float_(1)\n" + "# padding\n" * 200
    big.write_text(content)
    commit_all(repo)
    result = run("--apply", "--max-file-size", "1000", "pkg", cwd=repo)
    assert result.returncode == 1
    assert "pkg/big.py: error: " in result.stdout and "--max-file-size" in result.stdout
    assert big.read_text() == content
    assert (repo / "pkg" / "legacy.py").read_text() == "import numpy as np\nx = np.float64(1)\n"
    as_json = json.loads(run("--format", "json", "--max-file-size", "1k", "pkg", cwd=repo).stdout)
    assert [error["path"] for error in as_json["errors"]] == ["pkg/big.py"]
    (repo / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\nmax-file-size = "1k"\n')
    from_config = run("pkg", cwd=repo)
    assert from_config.returncode == 1 and "pkg/big.py: error: " in from_config.stdout
    raised = run("--format", "json", "--max-file-size", "1MB", "pkg", cwd=repo)
    assert json.loads(raised.stdout)["errors"] == []
    assert run("--max-file-size", "lots", "pkg", cwd=repo).returncode == 2


def test_the_default_size_limit_leaves_ordinary_large_modules_alone(repo: Path) -> None:
    path = repo / "pkg" / "generated.py"
    path.write_text("import numpy as np\n" + "".join(f"value_{i} = {i}\n" for i in range(60_000)))
    assert path.stat().st_size > 900_000
    commit_all(repo)
    result = run("--format", "json", "pkg", cwd=repo)
    assert json.loads(result.stdout)["errors"] == []


if os.name != "posix":  # pragma: no cover
    pytestmark = pytest.mark.skip("git and sh pipelines")
