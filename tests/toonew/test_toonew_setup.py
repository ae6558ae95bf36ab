"""--too-new's setup: the search of the files for their imports, in another process while the CLI builds
its prefilter (recode_lsp/toonew/run.py), gives what the search in the process itself gives."""

from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path

import pytest

from recode_lsp.cli.main import main
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.versions import Version
from recode_lsp.toonew import run

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the search forks only on Linux")

TOPS = ["numpy", "pandas", "itertools", "tomllib", "scipy"]


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search forks only in a process with no other thread; a test before may have left one running
    in this test process (a language server's), which the fork's child would not use anyway."""
    monkeypatch.setattr(run.threading, "active_count", lambda: 1)


def _tree(root: Path, count: int = 240) -> list[str]:
    """``count`` modules, a few importing a library each in a different way (late in the file, after a
    comma, in a function), the rest importing none of ``TOPS``."""
    bodies = {
        7: "import os, numpy as np\n",
        50: "x = 1\n" * 400 + "def f():\n    from itertools import batched\n",
        199: "try:\n    import tomllib\nexcept ImportError:\n    pass\n",
    }
    paths = []
    for number in range(count):
        path = root / f"pkg{number % 7}" / f"module{number}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bodies.get(number, "import os\nimport json\n\nVALUE = 1\n"), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_the_search_in_another_process_finds_what_the_search_here_finds(tmp_path: Path) -> None:
    paths = _tree(tmp_path)
    started = run._imported_tops_started(paths, TOPS)
    assert started is not None  # searched in a forked process (Linux, over 200 files, one thread)
    assert started() == run.imported_tops(paths, (), TOPS) == {"numpy", "itertools", "tomllib"}


def test_the_collector_is_as_it_was_after_the_search(tmp_path: Path) -> None:
    paths = _tree(tmp_path)
    assert gc.get_freeze_count() == 0
    started = run._imported_tops_started(paths, TOPS)
    assert started is not None
    assert gc.get_freeze_count() > 0  # left alone while the two processes share their pages
    started()
    assert gc.get_freeze_count() == 0


def test_objects_the_embedding_program_froze_stay_frozen(tmp_path: Path) -> None:
    paths = _tree(tmp_path)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        started = run._imported_tops_started(paths, TOPS)
        assert started is not None and started() == {"numpy", "itertools", "tomllib"}
        assert gc.get_freeze_count() > frozen // 2  # not unfrozen (a few may have been freed meanwhile)
    finally:
        gc.unfreeze()


def test_a_process_with_another_thread_searches_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run.threading, "active_count", lambda: 2)
    assert run._imported_tops_started(_tree(tmp_path), TOPS) is None


def test_no_process_where_the_first_files_import_every_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _tree(tmp_path)
    _forbid_fork(monkeypatch, "a process was started for a search the first files ended")
    started = run._imported_tops_started(paths, ["numpy"])  # imported by the eighth file
    assert started is not None and started() == {"numpy"}


def test_few_files_are_searched_here(tmp_path: Path) -> None:
    assert run._imported_tops_started(_tree(tmp_path, 20), TOPS) is None


def test_a_search_process_that_fails_leaves_the_search_to_this_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _tree(tmp_path)
    parent = os.getpid()
    search = run.imported_tops

    def fails_in_the_child(*args: object) -> set[str]:
        if os.getpid() != parent:
            raise RuntimeError("the search process dies")
        return search(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "imported_tops", fails_in_the_child)
    started = run._imported_tops_started(paths, TOPS)
    assert started is not None
    assert started() == {"numpy", "itertools", "tomllib"}


def test_prepare_does_the_work_given_meanwhile_and_reads_the_same_releases(tmp_path: Path) -> None:
    paths = _tree(tmp_path)
    targets = {"python": Version("3.11")}
    kb = KnowledgeBase([])
    done: list[bool] = []
    overlapped = run.prepare(targets, kb, paths=paths, meanwhile=lambda: done.append(True))
    assert done == [True]
    assert sorted(overlapped.inventories) == sorted(run.prepare(targets, kb, paths=paths).inventories)
    assert "itertools" in overlapped.inventories


def test_few_files_leave_the_work_meanwhile_to_the_caller(tmp_path: Path) -> None:
    # Searched here, with nothing to overlap: the caller builds its prefilter when it needs one (a run whose
    # results are all cached needs none).
    done: list[bool] = []
    run.prepare(
        {"python": Version("3.11")}, KnowledgeBase([]), paths=_tree(tmp_path, 20), meanwhile=lambda: done.append(True)
    )
    assert done == []


def test_the_search_process_is_waited_for_when_the_work_meanwhile_fails(tmp_path: Path) -> None:
    paths = _tree(tmp_path)

    def fails() -> None:
        raise ValueError("the prefilter could not be built")

    with pytest.raises(ValueError):
        run.prepare({"python": Version("3.11")}, KnowledgeBase([]), paths=paths, meanwhile=fails)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child of this process is left behind


def _project_with_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`_tree`, one module of which uses a name Python 3.11 lacks, as the working directory."""
    paths = _tree(tmp_path)
    Path(paths[50]).write_text("import itertools\n\nitertools.batched([1, 2], 1)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)


def _report(capsys: pytest.CaptureFixture[str], jobs: int) -> list[tuple[str, int, str]]:
    """The findings of ``recode-migrate --too-new`` on the working directory: (path, line, code)."""
    main(["--too-new", "--no-cache", "--format", "json", "--target", "python==3.11", f"-j{jobs}", "."])
    found = json.loads(capsys.readouterr().out)["findings"]
    return sorted((f["path"], f["location"]["line"], f["code"]) for f in found)


def _forbid_fork(monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    def no_fork() -> int:
        raise AssertionError(why)

    monkeypatch.setattr(run.os, "fork", no_fork)


def test_the_cli_reports_the_same_with_the_search_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project_with_a_finding(tmp_path, monkeypatch)
    apart = _report(capsys, jobs=2)
    assert [code for _, _, code in apart] == ["RCN001"]
    monkeypatch.setattr(run, "_FORK_FROM", 10**9)  # the search done in this process
    assert _report(capsys, jobs=2) == apart


def test_one_job_starts_no_other_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project_with_a_finding(tmp_path, monkeypatch)
    _forbid_fork(monkeypatch, "--jobs 1 started another process")
    assert [code for _, _, code in _report(capsys, jobs=1)] == ["RCN001"]
