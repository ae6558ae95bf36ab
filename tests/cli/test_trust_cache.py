"""No code from the analysed tree runs: the result cache and ``[tool.recode] python`` (issue 11).

Every test runs ``recode-migrate`` in a subprocess on a real temporary project, with
``RECODE_CACHE_DIR`` pointing at a temporary folder, and checks what a user sees: exit
status, messages, findings, and files on disk (marker files a planted program would write).
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from recode_lsp import __version__
from recode_lsp.engine.digest import digest
from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

KB = load_knowledge_base()
TARGETS = {library: "99.0" for library in KB.libraries if library != "python"} | {"python": "3.12"}
SOURCE = "import numpy as np\n\nx = np.float_(1)\n"


def run(*args: str, cwd: Path, cache: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The interpreter-trust tests decide trust themselves, whatever the developer's shell says.
    return run_migrate(*args, cwd=cwd, cache=cache, env={"RECODE_TRUST_PYTHON": "", **(env or {})})


def findings(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode in (0, 1), result.stderr
    return list(json.loads(result.stdout)["findings"])


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "user-cache"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A cloned repository: every library targeted, so the cache key is predictable."""
    root = tmp_path / "project"
    root.mkdir()
    targets = ", ".join(f'"{name}=={version}"' for name, version in sorted(TARGETS.items()))
    (root / "pyproject.toml").write_text(f"[tool.recode]\ntargets = [{targets}]\n")
    (root / "mod.py").write_text(SOURCE)
    return root


def legacy_cache_file(root: Path) -> Path:
    """Where recode-migrate 0.1.0 looked for its cache: a name anyone can compute."""
    key = repr((__version__, KB.fingerprint, sorted((k, v) for k, v in sorted(TARGETS.items())), [], [], None))
    return root / ".recode_cache" / f"check-{digest(key.encode(), 8)}.pickle"


class _WritesMarker:
    """Unpickling this opens (creates) a marker file: code run by ``pickle.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def cache_files(project: Path, cache: Path) -> list[Path]:
    """Every cache file a run left, in the project (old layout) or in the user's cache."""
    found = list((project / ".recode_cache").glob("check-*"))
    if cache.is_dir():
        found += [path for path in cache.rglob("check-*") if path.is_file()]
    return found


# --- the cache ----------------------------------------------------------------------------------


def test_committed_pickle_in_the_project_is_never_loaded(project: Path, cache: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    planted = legacy_cache_file(project)
    planted.parent.mkdir()
    planted.write_bytes(pickle.dumps(_WritesMarker(marker)))
    result = run("--check", "--format", "json", ".", cwd=project, cache=cache)
    assert not marker.exists(), "the planted pickle ran"
    assert [f["code"] for f in findings(result)] == ["NPY023"]
    assert "internal error" not in result.stderr
    # Nothing is written into the analysed tree either.
    assert sorted(p.name for p in (project / ".recode_cache").iterdir()) == [planted.name]


def test_a_pickle_in_place_of_the_cache_file_is_not_loaded(project: Path, cache: Path, tmp_path: Path) -> None:
    """Even a pickle in the cache file itself (say, from an older version) is data, never code."""
    marker = tmp_path / "pwned"
    first = run("--format", "json", ".", cwd=project, cache=cache)
    files = cache_files(project, cache)
    assert files
    for path in files:
        path.write_bytes(pickle.dumps(_WritesMarker(marker)))
    second = run("--format", "json", ".", cwd=project, cache=cache)
    assert not marker.exists()
    assert findings(second) == findings(first)


def test_the_cache_lives_in_the_user_cache_folder(project: Path, cache: Path) -> None:
    first = run("--format", "json", ".", cwd=project, cache=cache)
    assert not (project / ".recode_cache").exists()
    (entry,) = (cache / "check").glob("check-*.json")
    assert stat.S_IMODE((cache / "check").stat().st_mode) == 0o700
    json.loads(entry.read_text())  # plain data
    second = run("--format", "json", ".", cwd=project, cache=cache)
    assert findings(second) == findings(first)
    # A changed file is checked again, not answered from the cache.
    (project / "mod.py").write_text("import numpy as np\n\nx = np.float64(1)\n")
    assert findings(run("--format", "json", ".", cwd=project, cache=cache)) == []


def test_another_project_with_the_same_files_has_its_own_entries(project: Path, cache: Path, tmp_path: Path) -> None:
    run(".", cwd=project, cache=cache)
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "pyproject.toml").write_text((project / "pyproject.toml").read_text())
    (clone / "mod.py").write_text(SOURCE)
    run(".", cwd=clone, cache=cache)
    assert len(list((cache / "check").glob("check-*.json"))) == 2


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(pickle.dumps((1, 2)), id="pickle-of-a-tuple"),
        pytest.param(b"[1, 2]", id="json-list"),
        pytest.param(b'{"format": 1, "key": "x", "by_stat": [1], "by_hash": 2}', id="wrong-key-and-shape"),
        pytest.param(b'{"format": 1, "by_hash": {"', id="truncated"),
        pytest.param(b"[" * 200_000 + b"]" * 200_000, id="deeply-nested"),
        pytest.param(b"\x80\x05\x8e" + (1 << 40).to_bytes(8, "little"), id="pickle-declaring-a-huge-size"),
        pytest.param(None, id="huge-file"),
    ],
)
def test_a_malformed_cache_is_ignored(project: Path, cache: Path, content: bytes | None) -> None:
    first = run("--format", "json", ".", cwd=project, cache=cache)
    expected = findings(first)
    # The same bad content where the old version read its cache, and in place of every cache file.
    targets = [legacy_cache_file(project), *cache_files(project, cache)]
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            with path.open("wb") as handle:  # a sparse file: 1 GiB declared, nothing on disk
                handle.truncate(1 << 30)
        else:
            path.write_bytes(content)
    for _ in range(2):
        result = run("--format", "json", ".", cwd=project, cache=cache)
        assert "internal error" not in result.stderr and "MemoryError" not in result.stderr
        assert findings(result) == expected


def test_a_cache_entry_with_a_matching_key_but_bad_rows_is_ignored(project: Path, cache: Path) -> None:
    expected = findings(run("--format", "json", ".", cwd=project, cache=cache))
    (entry,) = (cache / "check").glob("check-*.json")
    document = json.loads(entry.read_text())
    for digest_key in document["by_hash"]:
        document["by_hash"][digest_key] = [[[1, 2]], None, False]
    entry.write_text(json.dumps(document))
    result = run("--format", "json", ".", cwd=project, cache=cache)
    assert "internal error" not in result.stderr
    assert findings(result) == expected


# --- symlinks in and around the cache ----------------------------------------------------------


def outside_files(outside: Path) -> list[str]:
    return sorted(str(path.relative_to(outside)) for path in outside.rglob("*"))


def test_a_recode_cache_symlink_in_the_project_writes_nothing_outside(
    project: Path, cache: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".recode_cache").symlink_to(outside, target_is_directory=True)
    result = run(".", cwd=project, cache=cache)
    assert result.returncode == 1, result.stderr
    assert outside_files(outside) == []


def test_a_dangling_gitignore_symlink_writes_nothing_outside(project: Path, cache: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".recode_cache").mkdir()
    (project / ".recode_cache" / ".gitignore").symlink_to(outside / "written-through-gitignore")
    result = run(".", cwd=project, cache=cache)
    assert result.returncode == 1, result.stderr
    assert outside_files(outside) == []


def test_a_symlinked_cache_folder_is_refused(project: Path, cache: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    cache.mkdir()
    (cache / "check").symlink_to(outside, target_is_directory=True)
    result = run(".", cwd=project, cache=cache)
    assert result.returncode == 1, result.stderr
    assert outside_files(outside) == []


def test_planted_symlinks_in_the_cache_folder_are_not_followed(project: Path, cache: Path, tmp_path: Path) -> None:
    first = run("--format", "json", ".", cwd=project, cache=cache)
    (entry,) = (cache / "check").glob("check-*.json")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    entry.unlink()
    entry.symlink_to(precious)
    # Links under every name a temporary file of the old or new layout could take.
    for index in range(50):
        (cache / "check" / f".{entry.name}.{index:016x}.tmp").symlink_to(precious)
    (project / "other.py").write_text(SOURCE)  # something new to store
    second = run("--format", "json", ".", cwd=project, cache=cache)
    assert precious.read_text() == "keep me\n"
    assert len(findings(second)) == len(findings(first)) + 1


# --- --diff uses the cache for files with nothing to fix -----------------------------------------


def test_diff_after_check_is_unchanged_by_the_cache(project: Path, cache: Path) -> None:
    (project / "clean.py").write_text("import numpy as np\n\nx = np.float64(1)\n")
    uncached = run("--diff", "--no-cache", ".", cwd=project, cache=cache)
    run(".", cwd=project, cache=cache)
    cached = run("--diff", ".", cwd=project, cache=cache)
    assert cached.returncode == uncached.returncode == 1
    assert cached.stdout == uncached.stdout
    assert "np.float64(1)" in cached.stdout


# --- [tool.recode] python ------------------------------------------------------------------------


TOOL = textwrap.dedent(
    """\
    #!/bin/sh
    touch "{marker}"
    echo '{{"python": "3.12.0", "numpy": "1.26.4"}}'
    """
)


@pytest.fixture
def tool_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose [tool.recode] python is a script that leaves a marker when run."""
    root = tmp_path / "tool-project"
    root.mkdir()
    marker = tmp_path / "tool-ran"
    script = root / "tool.sh"
    script.write_text(TOOL.format(marker=marker))
    script.chmod(0o755)
    # No numpy target: the installed version is what counts, so the interpreter is asked.
    (root / "pyproject.toml").write_text('[tool.recode]\npython = "./tool.sh"\n')
    (root / "mod.py").write_text(SOURCE)
    return root, marker


@pytest.mark.parametrize("mode", ["--check", "--diff"])
def test_config_python_is_not_run(tool_project: tuple[Path, Path], cache: Path, mode: str) -> None:
    root, marker = tool_project
    result = run(mode, "--no-cache", ".", cwd=root, cache=cache)
    assert not marker.exists(), "the project's tool.sh was run"
    assert result.returncode == 1, result.stderr
    assert "not running" in result.stderr and "tool.sh" in result.stderr
    assert "--trust-config-python" in result.stderr and "RECODE_TRUST_PYTHON=1" in result.stderr
    assert result.stderr.count("not running") == 1


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(["--trust-config-python"], {}, id="flag"),
        pytest.param([], {"RECODE_TRUST_PYTHON": "1"}, id="environment"),
        pytest.param(["--python", "./tool.sh"], {}, id="command-line"),
    ],
)
def test_trusted_python_runs(
    tool_project: tuple[Path, Path], cache: Path, args: list[str], env: dict[str, str]
) -> None:
    root, marker = tool_project
    result = run("--no-cache", "--format", "json", *args, ".", cwd=root, cache=cache, env=env)
    assert marker.exists()
    assert "not running" not in result.stderr
    assert findings(result) == []  # numpy 1.26.4, as the interpreter said: np.float_ still exists


def test_untrusted_venv_python_is_read_statically(tmp_path: Path, cache: Path) -> None:
    """The versions of a project's venv are read from its files: the same answer, nothing run."""
    root = tmp_path / "venv-project"
    venv = root / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.12.4\n")
    marker = tmp_path / "python-ran"
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\ntouch "{marker}"\n')
    python.chmod(0o755)
    dist = venv / "lib" / "python3.12" / "site-packages" / "numpy-1.26.4.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n\nNumPy\n")
    (root / "pyproject.toml").write_text('[tool.recode]\npython = ".venv/bin/python"\n')
    (root / "mod.py").write_text(SOURCE)
    result = run("--no-cache", "--format", "json", ".", cwd=root, cache=cache)
    assert not marker.exists()
    assert findings(result) == []  # numpy 1.26.4 from the dist-info: np.float_ still exists
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 2.0.0\n\nNumPy\n")
    result = run("--no-cache", "--format", "json", ".", cwd=root, cache=cache)
    assert [f["code"] for f in findings(result)] == ["NPY023"]
    assert not marker.exists()


def test_cache_files_of_projects_not_checked_for_a_month_are_dropped(project: Path, cache: Path) -> None:
    (cache / "check").mkdir(parents=True)
    stale, recent = cache / "check" / "check-stale.json", cache / "check" / "check-recent.json"
    for path in (stale, recent):
        path.write_text("{}")
    month_ago = time.time() - 31 * 86400
    os.utime(stale, (month_ago, month_ago))
    run(".", cwd=project, cache=cache)
    assert not stale.exists() and recent.exists()
