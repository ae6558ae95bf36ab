"""``--apply`` loses nothing (issue 11): re-check before writing, keep going, clean up on signals.

Real files on disk. End to end through ``recode-migrate`` in a subprocess where the situation
can be set up before the run (read-only files, symlinks, a file-size limit, a signal); through
``run_files`` + ``write_results`` (the CLI's own two steps) where something must happen between
reading and writing (an edit saved during the run, a file deleted).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recode_lsp.cli.runner import FileResult, RunSettings, run_files
from recode_lsp.engine.knowledge import load_knowledge_base
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import Version

OLD = "import numpy as np\n\nx = np.float_(1)\n"
NEW = "import numpy as np\n\nx = np.float64(1)\n"


def run(*args: str, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload]
        [sys.executable, "-m", "recode_lsp", "--no-cache", "--allow-dirty", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "RECODE_CACHE_DIR": str(cwd.parent / "user-cache")},
        check=False,
        timeout=180,
        **kwargs,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\n')
    return root


def temporaries(folder: Path) -> list[Path]:
    return [path for path in folder.parent.rglob("*") if path.name.endswith(".recode-tmp")]


# --- between reading and writing ---------------------------------------------------------------


def computed(paths: list[Path]) -> list[FileResult]:
    """The fixes as ``--apply`` computes them (the step before writing)."""
    kb = load_knowledge_base()
    settings = RunSettings("apply", False, DetectOptions(targets={"numpy": Version("2.0")}))
    results = run_files([str(path) for path in paths], kb, settings, 1, None)
    assert all(result.new_bytes is not None for result in results)
    return results


def test_a_file_changed_since_it_was_read_is_skipped_and_reported(project: Path) -> None:
    first, second = project / "pkg" / "a.py", project / "pkg" / "b.py"
    first.write_text(OLD)
    second.write_text(OLD)
    from recode_lsp.cli.writes import write_results

    results = computed([first, second])
    first.write_text(OLD + "users_new_line = 1\n")  # saved by the user during the run
    outcome = write_results(results)
    assert first.read_text() == OLD + "users_new_line = 1\n"
    assert second.read_text() == NEW
    assert outcome.written == [str(second)]
    ((path, reason),) = [(problem.path, problem.reason) for problem in outcome.problems]
    assert path == str(first) and "changed since it was read" in reason
    # The report does not count the fix as made.
    assert results[0].fixed == [] and results[0].new_text is None
    assert all("not written: changed since it was read" in why for _, why in results[0].not_fixed)
    assert temporaries(project) == []


def test_a_deleted_file_is_reported_and_the_others_are_written(project: Path) -> None:
    paths = [project / "pkg" / f"{name}.py" for name in "abc"]
    for path in paths:
        path.write_text(OLD)
    from recode_lsp.cli.writes import write_results

    results = computed(paths)
    paths[0].unlink()
    outcome = write_results(results)
    assert not paths[0].exists()  # not recreated
    assert [path.read_text() for path in paths[1:]] == [NEW, NEW]
    assert [problem.path for problem in outcome.problems] == [str(paths[0])]
    assert "deleted" in outcome.problems[0].reason
    assert temporaries(project) == []


# --- end to end -------------------------------------------------------------------------------


def test_an_edit_saved_during_the_run_is_kept(project: Path) -> None:
    """The user saves a file while recode waits (here, for a model server): that file is not overwritten.

    The "model server" is a socket that, when recode connects, saves the user's edit and hangs up.
    """
    module = project / "pkg" / "mod.py"
    module.write_text('import numpy as np\n\nx = np.float_(1)\ny = np.cast["f8"](x)\n')  # NPY007: model-only
    other = project / "pkg" / "other.py"
    other.write_text(OLD)
    edited = module.read_text() + "users_new_line = 1\n"
    listener = socket.create_server(("127.0.0.1", 0))

    def edit_while_recode_waits() -> None:
        connection, _ = listener.accept()
        listener.close()  # a retry is refused at once
        module.write_text(edited)
        connection.close()

    thread = threading.Thread(target=edit_while_recode_waits, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        result = run("--apply", "--unsafe-fixes", "--model", url, "--model-timeout", "5", ".", cwd=project)
    finally:
        listener.close()
    assert not thread.is_alive(), "recode never asked the model"
    assert module.read_text() == edited
    assert other.read_text() == NEW
    assert result.returncode == 2, result.stderr
    assert "pkg/mod.py: not written: changed since it was read" in result.stderr


def test_a_read_only_file_is_not_written(project: Path) -> None:
    locked, other = project / "pkg" / "a_locked.py", project / "pkg" / "b_other.py"
    locked.write_text(OLD)
    other.write_text(OLD)
    locked.chmod(0o444)
    result = run("--apply", ".", cwd=project)
    assert result.returncode == 2, result.stderr
    assert locked.read_text() == OLD
    assert stat.S_IMODE(locked.stat().st_mode) == 0o444
    assert other.read_text() == NEW
    assert "pkg/a_locked.py: not written: read-only file" in result.stderr
    assert "1 of 2 files with fixes were not written" in result.stderr
    assert "Fixed 1 finding in 1 file." in result.stdout


def test_a_failed_write_does_not_stop_the_others(project: Path) -> None:
    """``ulimit -f``: the large file cannot be written (EFBIG); the small one after it still is."""
    big, small = project / "pkg" / "a_big.py", project / "pkg" / "b_small.py"
    big.write_text(OLD + "".join(f"value_{index} = {index}\n" for index in range(600)))
    small.write_text(OLD)
    limit = 4096
    assert big.stat().st_size > limit > small.stat().st_size

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = run("--apply", ".", cwd=project, preexec_fn=limit_file_size)
    assert result.returncode == 2, result.stderr
    assert big.read_text().startswith(OLD)
    assert small.read_text() == NEW
    assert "pkg/a_big.py: not written: cannot write: File too large" in result.stderr
    assert temporaries(project) == []


def _lock_folder(folder: Path) -> list[str] | None:
    """Make ``folder`` unwritable; returns the command that undoes it (None: not possible here).

    Root ignores a folder's mode bits, so as root the folder is made immutable (``chattr +i``).
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ["chmod", "755", str(folder)]
    try:
        subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return ["chattr", "-i", str(folder)]


def test_a_read_only_folder_is_reported_and_the_others_are_written(project: Path) -> None:
    (project / "locked").mkdir()
    locked = project / "locked" / "a.py"
    locked.write_text(OLD)
    (project / "pkg" / "b.py").write_text(OLD)
    undo = _lock_folder(project / "locked")
    if undo is None:
        pytest.skip("cannot make a folder unwritable for this user here")
    try:
        result = run("--apply", ".", cwd=project)
    finally:
        subprocess.run(undo, check=True)
    assert result.returncode == 2
    assert locked.read_text() == OLD
    assert "locked/a.py: not written: cannot write: " in result.stderr
    assert (project / "pkg" / "b.py").read_text() == NEW
    assert temporaries(project) == []


def test_a_symlink_inside_the_project_is_written_through(project: Path) -> None:
    real = project / "pkg" / "real.py"
    real.write_text(OLD)
    link = project / "pkg" / "link.py"
    link.symlink_to("real.py")
    result = run("--apply", ".", cwd=project)  # the walk lists the link and its target
    assert result.returncode == 1, result.stderr
    assert link.is_symlink() and os.readlink(link) == "real.py"
    assert real.read_text() == NEW
    real.write_text(OLD)
    result = run("--apply", "pkg/link.py", cwd=project)
    assert result.returncode == 1, result.stderr
    assert link.is_symlink() and real.read_text() == NEW


def test_a_symlink_out_of_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "shared.py"
    outside.parent.mkdir()
    outside.write_text(OLD)
    link = project / "pkg" / "link.py"
    link.symlink_to(outside)
    (project / "pkg" / "mine.py").write_text(OLD)
    result = run("--apply", ".", cwd=project)
    assert result.returncode == 2
    assert outside.read_text() == OLD
    assert link.is_symlink()
    assert "pkg/link.py: not written: a symlink to" in result.stderr and "outside the project" in result.stderr
    assert (project / "pkg" / "mine.py").read_text() == NEW


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_writing_leaves_no_temporary_file(project: Path, signum: int) -> None:
    count = 800
    paths = [project / "pkg" / f"m{index:04d}.py" for index in range(count)]
    for path in paths:
        path.write_text(OLD)
    process = subprocess.Popen(
        # Below this test in priority (``nice`` execs the run in its own process): on a loaded machine
        # (pytest-xdist) the look below still comes in time, where the run had written all its files
        # between two looks.
        ["nice", "-n", "10", sys.executable, "-m", "recode_lsp", "--no-cache", "--allow-dirty", "--apply", "-j4", "."],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RECODE_CACHE_DIR": str(project.parent / "user-cache")},
    )
    # Files are written in order once all are fixed: the first one changing means writing began.
    deadline = time.monotonic() + 120
    while paths[0].read_text() == OLD and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    # Held still at once (SIGSTOP cannot be caught), so that the signal meets it in the middle of its writes.
    process.send_signal(signal.SIGSTOP)
    if process.poll() is not None or paths[-1].read_text() == NEW:
        process.send_signal(signal.SIGCONT)
        process.communicate()
        pytest.skip("the run finished writing before the signal could be sent")  # pragma: no cover - fast disk
    process.send_signal(signum)
    process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=60)
    assert temporaries(project) == []
    if process.returncode == 1 and not stderr and paths[-1].read_text() == NEW:
        # On a loaded machine the last files can be written between the look above and the signal: the run
        # then ends as any run with findings left does (seen once under pytest-xdist).
        pytest.skip("the run finished writing before the signal arrived")  # pragma: no cover - timing
    assert process.returncode == 2, stderr
    contents = [path.read_text() for path in paths]
    assert set(contents) <= {OLD, NEW}  # each file whole: old or fixed
    written = contents.count(NEW)
    assert 0 < written < count
    assert f"interrupted by {signal.Signals(signum).name}: {written} files written" in stderr
    # The files written are a prefix of the run's order: it stopped, it did not skip.
    assert contents == [NEW] * written + [OLD] * (count - written)
