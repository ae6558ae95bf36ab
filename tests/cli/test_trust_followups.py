"""Issue 11 follow-ups: no pickle anywhere, git never runs a repository's programs, lone-CR files
decode as Python decodes them, and leftovers of a killed ``--apply`` are cleaned up safely.

Real files and real processes: ``recode-migrate`` in a subprocess, a real git repository.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import recode_lsp
from tests.cli_process import run_migrate

OLD = "import numpy as np\n\nx = np.float_(1)\n"
NEW = "import numpy as np\n\nx = np.float64(1)\n"


def run(*args: str, cwd: Path, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_migrate(*args, cwd=cwd, cache=cache or cwd.parent / "user-cache", timeout=180)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\n')
    return root


# --- 1. the knowledge base is never pickled, and no pickle is ever loaded ------------------------


class _WritesMarker:
    """Unpickling this creates a marker file: code run by ``pickle.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


_LOAD_KB = "from recode_lsp.engine.knowledge import load_knowledge_base; print(len(load_knowledge_base().changes))"


def test_loading_the_knowledge_base_writes_no_pickle_and_reads_none(tmp_path: Path) -> None:
    cache = tmp_path / "user-cache"
    cache.mkdir()
    env = {**os.environ, "RECODE_CACHE_DIR": str(cache)}
    first = subprocess.run([sys.executable, "-c", _LOAD_KB], env=env, capture_output=True, text=True, check=True)
    assert int(first.stdout) > 100
    written = [path.name for path in cache.rglob("*")]
    assert not [name for name in written if name.endswith(".pickle")], written
    # Whatever sits in the user's cache folder (an older version's kb-*.pickle, or a planted
    # one) is never unpickled.
    marker = tmp_path / "ran"
    planted = [cache / name for name in written if (cache / name).is_file()]
    planted.append(cache / "kb-0000000000000000-00000000.pickle")
    for path in planted:
        path.write_bytes(pickle.dumps(_WritesMarker(marker)))
    second = subprocess.run([sys.executable, "-c", _LOAD_KB], env=env, capture_output=True, text=True, check=True)
    assert second.stdout == first.stdout
    assert not marker.exists(), "a pickle in the cache folder was loaded"


def test_the_package_has_no_pickle_loading() -> None:
    """The architecture says no pickle anywhere: nothing in the package imports it."""
    package = Path(recode_lsp.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"^\s*(import|from)\s+(c?pickle|shelve|dill|joblib)\b|\bpickle\.loads?\(", line)
    ]
    assert offenders == []


# --- 2. git never runs a program configured by the repository ------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "core.fsmonitor=false", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def hostile_repo(project: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A committed repository whose own ``.git/config`` names programs (as a tarball may bring).

    ``core.fsmonitor`` runs on ``git status`` and ``git ls-files``; a clean filter runs when
    ``git status`` re-reads a tracked file whose stat changed (every file, after an extraction).
    """
    marker = tmp_path / "marker"
    script = tmp_path / "evil.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> "{marker}"\ncat\n')
    script.chmod(0o755)
    (project / "a.py").write_text(OLD)
    (project / ".gitattributes").write_text("*.py filter=evil\n")
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "init")
    _git(project, "config", "core.fsmonitor", str(script))
    _git(project, "config", "filter.evil.clean", str(script))
    _git(project, "config", "filter.evil.required", "true")
    _git(project, "config", "filter.other.process", str(script))
    # Stale stat data in the index, as after unpacking an archive: status must re-read the file.
    os.utime(project / "a.py", (1_000_000_000, 1_000_000_000))
    return project, marker


@needs_git
@pytest.mark.parametrize("mode", ["--check", "--diff", "--apply"])
def test_git_runs_no_program_from_the_repository_config(hostile_repo: tuple[Path, Path], mode: str) -> None:
    project, marker = hostile_repo
    completed = run(mode, ".", cwd=project)
    assert not marker.exists(), f"git ran the repository's program: {marker.read_text()}"
    assert completed.returncode == 1, completed.stderr
    if mode == "--apply":
        # The tree is clean (the overridden filter does not make it look dirty): the fix is written.
        assert (project / "a.py").read_text() == NEW
    else:
        assert "NPY" in completed.stdout + completed.stderr


@needs_git
def test_git_still_sees_uncommitted_changes_in_a_hostile_repo(hostile_repo: tuple[Path, Path]) -> None:
    project, marker = hostile_repo
    (project / "a.py").write_text(OLD + "y = 1\n")
    completed = run("--apply", ".", cwd=project)
    assert completed.returncode == 2
    assert "uncommitted changes" in completed.stderr
    assert (project / "a.py").read_text() == OLD + "y = 1\n"
    assert not marker.exists()


# --- 4. lone-CR files: the coding cookie is looked for in the first two lines only ---------------


def test_lone_cr_file_with_cookie_like_text_after_line_two_is_checked_and_fixed(project: Path) -> None:
    source = b'# header\rimport numpy as np\rx = np.float_(1)\rlabel = "encoding: utf8x"\r'
    compile(source, "a.py", "exec")  # Python itself accepts it
    (project / "a.py").write_bytes(source)
    checked = run("--no-cache", "--check", "a.py", cwd=project)
    assert "cannot decode" not in checked.stdout + checked.stderr
    assert "a.py:3:5: NPY023" in checked.stdout and checked.returncode == 1
    applied = run("--no-cache", "--allow-dirty", "--apply", "a.py", cwd=project)
    assert applied.returncode == 1, applied.stderr
    assert (project / "a.py").read_bytes() == source.replace(b"np.float_(1)", b"np.float64(1)")


def test_lone_cr_file_with_a_cookie_on_line_two_is_decoded_with_it(project: Path) -> None:
    source = b'#!/usr/bin/env python\r# -*- coding: latin-1 -*-\rimport numpy as np\rx = np.float_(1)\rs = "\xe9"\r'
    compile(source, "a.py", "exec")
    (project / "a.py").write_bytes(source)
    applied = run("--no-cache", "--allow-dirty", "--apply", "a.py", cwd=project)
    assert applied.returncode == 1, applied.stderr
    assert (project / "a.py").read_bytes() == source.replace(b"np.float_(1)", b"np.float64(1)")


def test_cookie_on_line_three_of_a_lone_cr_file_is_ignored_as_python_ignores_it() -> None:
    from recode_lsp.cli.files import decode_source

    source = b"# one\r# two\r# -*- coding: latin-1 -*-\rs = '\xc3\xa9'\r"
    compile(source, "a.py", "exec")
    decoded = decode_source(source)
    assert decoded.encoding == "utf-8" and decoded.newline == "\r"
    assert "s = '\xe9'" in decoded.text


# --- 5. leftovers of a killed --apply ------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_apply_removes_old_leftover_temporaries_of_the_files_it_writes(project: Path) -> None:
    (project / "a.py").write_text(OLD)
    (project / "b.py").write_text("x = 1\n")
    old = project / ".a.py.0123456789ab.recode-tmp"  # what a kill -9 mid-write leaves
    recent = project / ".a.py.ba9876543210.recode-tmp"  # may belong to a run still going
    other_file = project / ".b.py.0123456789ab.recode-tmp"  # b.py is not written by this run
    not_ours = project / ".a.py.backup.recode-tmp"  # not a name recode-migrate makes
    for path in (old, recent, other_file, not_ours):
        path.write_text("partial")
    for path in (old, other_file, not_ours):
        _age(path, 3600)
    _age(recent, 60)
    completed = run("--no-cache", "--allow-dirty", "--apply", ".", cwd=project)
    assert completed.returncode == 1, completed.stderr
    assert (project / "a.py").read_text() == NEW
    assert not old.exists()
    assert recent.exists() and other_file.exists() and not_ours.exists()
    assert f"removed {old.name}" in completed.stderr
    assert recent.name not in completed.stderr


def test_apply_leaves_a_leftover_named_like_ours_that_is_a_symlink_or_a_folder(project: Path, tmp_path: Path) -> None:
    (project / "a.py").write_text(OLD)
    outside = tmp_path / "keep.txt"
    outside.write_text("keep")
    link = project / ".a.py.0123456789ab.recode-tmp"
    link.symlink_to(outside)
    folder = project / ".a.py.aaaaaaaaaaaa.recode-tmp"
    folder.mkdir()
    _age(link, 3600)
    _age(folder, 3600)
    completed = run("--no-cache", "--allow-dirty", "--apply", ".", cwd=project)
    assert completed.returncode == 1, completed.stderr
    assert (project / "a.py").read_text() == NEW
    assert link.is_symlink() and outside.read_text() == "keep"
    assert folder.is_dir()
    assert stat.S_ISLNK(os.lstat(link).st_mode)


@needs_git
def test_apply_refuses_when_git_cannot_tell_whether_the_tree_is_clean(project: Path) -> None:
    (project / "a.py").write_text(OLD)
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-qm", "init")
    (project / ".git" / "index").write_bytes(b"DIRC garbage")  # git status now fails
    completed = run("--apply", ".", cwd=project)
    assert completed.returncode == 2, completed.stderr
    assert "git status failed" in completed.stderr
    assert (project / "a.py").read_text() == OLD
