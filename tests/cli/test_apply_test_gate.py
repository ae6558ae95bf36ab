"""``recode-migrate --apply --test CMD`` (issue 15): the project's own tests decide which fixes stay.

The done-when test builds a small project whose pytest suite catches one behaviour-changing
unsafe fix: ``numpy.in1d`` -> ``numpy.isin`` (``in1d`` flattens its result, ``isin`` keeps the
shape of its first argument; both exist in the installed NumPy 2.x). The other fixes
(``numpy.trapz`` -> ``numpy.trapezoid``, ``numpy.row_stack`` -> ``numpy.vstack``) keep the
behaviour and must be kept. Further tests drive the batching and the bisection with a fast
test command (a Python script that fails on given text), and the bounds: a failing baseline,
the per-run timeout, the overall budget, and a write refused by the safe write path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base

KB = load_knowledge_base()
SCRIPT = Path(sys.executable).with_name("recode-migrate")


def code_of(old: str) -> str:
    return next(change.id for change in KB.changes if change.old == old and not change.old_keyword)


TRAPZ = code_of("numpy.trapz")
ROW_STACK = code_of("numpy.row_stack")
IN1D = code_of("numpy.in1d")

STATS = textwrap.dedent(
    """\
    import numpy as np


    def mask(values, wanted):
        return np.in1d(values, wanted)


    def area(y):
        return np.trapz(y)
    """
)
SHAPES = "import numpy as np\n\n\ndef stack(a, b):\n    return np.row_stack([a, b])\n"
TESTS = textwrap.dedent(
    """\
    import numpy as np

    from pkg.shapes import stack
    from pkg.stats import area, mask


    def test_mask_is_flat():
        assert mask(np.array([[1, 2], [3, 4]]), [1, 4]).tolist() == [True, False, False, True]


    def test_area():
        assert area([1, 2, 3]) == 4.0


    def test_stack():
        assert stack([1, 2], [3, 4]).shape == (2, 2)
    """
)
PYTEST = "python -m pytest -q -p no:cacheprovider"


def migrate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The ``recode-migrate`` console script; ``python`` on PATH is this interpreter (pytest, numpy)."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "recode_lsp"]
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RECODE_CACHE_DIR": str(cwd.parent / "recode-cache"),
    }
    env.pop("CI", None)
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300, env=env
    )


@pytest.fixture
def numpy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\nselect = ["numpy"]\n')
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "stats.py").write_text(STATS)
    (root / "pkg" / "shapes.py").write_text(SHAPES)
    (root / "tests" / "test_stats.py").write_text(TESTS)
    return root


def test_the_tests_catch_the_unsafe_fix_which_is_reverted_and_the_others_kept(numpy_project: Path) -> None:
    root = numpy_project
    plain = migrate("--diff", "--unsafe-fixes", ".", cwd=root)  # without --test all three are fixes
    assert "+    return np.isin(values, wanted)" in plain.stdout
    result = migrate("--apply", "--unsafe-fixes", "--test", PYTEST, ".", cwd=root)
    assert result.returncode == 1, result.stderr
    # The unsafe fix the tests catch is reverted; the safe fixes stay. Exact contents:
    assert (root / "pkg" / "stats.py").read_text() == STATS.replace("np.trapz", "np.trapezoid")
    assert (root / "pkg" / "shapes.py").read_text() == SHAPES.replace("np.row_stack", "np.vstack")
    assert (root / "tests" / "test_stats.py").read_text() == TESTS
    # Reported, with the end of the failing test output as the reason.
    assert "2 of 3 fixes kept, 1 reverted." in result.stderr
    assert f"reverted pkg/stats.py:5:12: {IN1D} " in result.stderr
    assert "    | FAILED tests/test_stats.py::test_mask_is_flat" in result.stderr
    assert f"pkg/stats.py:5:12: {IN1D} not fixed: reverted: `{PYTEST}` fails with this fix (exit 1)" in result.stdout
    assert "Fixed 2 findings in 2 files." in result.stdout
    # The tests are green on what was written.
    after = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert after.returncode == 0, after.stdout


def test_json_report_of_the_gate_with_one_fix_per_batch(numpy_project: Path) -> None:
    root = numpy_project
    result = migrate(
        "--apply", "--unsafe-fixes", "--test", PYTEST, "--test-batch-size", "1", "--format", "json", ".", cwd=root
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    gate = document["summary"]["test_gate"]
    assert gate["command"] == PYTEST
    assert gate["runs"] == 4  # the baseline, then one run per fix (a batch of one is not bisected)
    assert sorted((k["path"], k["code"]) for k in gate["kept"]) == sorted(
        [("pkg/shapes.py", ROW_STACK), ("pkg/stats.py", TRAPZ)]
    )
    [reverted] = gate["reverted"]
    assert (reverted["path"], reverted["code"], reverted["line"], reverted["status"]) == (
        "pkg/stats.py",
        IN1D,
        5,
        "exit 1",
    )
    assert "test_mask_is_flat" in reverted["output"]
    assert gate["not_tried"] == [] and gate["stopped"] is None
    assert sorted((f["path"], f["code"]) for f in document["fixed"]) == sorted(
        [("pkg/shapes.py", ROW_STACK), ("pkg/stats.py", TRAPZ)]
    )
    assert (root / "pkg" / "stats.py").read_text() == STATS.replace("np.trapz", "np.trapezoid")


# -- bisection with a fast test command -------------------------------------------------------

#: A "test suite" that fails while a file holds a forbidden text, and logs each run.
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


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """Eight safe trapz fixes in three files; the checker names the ones that "break" the tests."""
    root = tmp_path / "many"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\nselect = ["numpy"]\n')
    (root / "check.py").write_text(CHECKER)
    (root / "pkg" / "a.py").write_text(
        "import numpy as np\n\nA1 = np.trapz([1])\nA2 = np.trapz([2])\nA3 = np.trapz([3])\n"
    )
    (root / "pkg" / "b.py").write_text("import numpy as np\n\nB1 = np.trapz([4])\nB2 = np.trapz([5])\n")
    (root / "pkg" / "c.py").write_text(
        "import numpy as np\n\nC1 = np.trapz([6])\nC2 = np.trapz([7])\nC3 = np.trapz([8])\n"
    )
    return root


def test_a_failing_batch_is_bisected_down_to_the_fixes_that_break_it(many: Path) -> None:
    bad = ["np.trapezoid([2])", "np.trapezoid([7])"]
    command = f"python check.py '{bad[0]}' '{bad[1]}'"
    result = migrate("--apply", "--test", command, "--test-batch-size", "4", "--format", "json", "pkg", cwd=many)
    assert result.returncode == 1, result.stderr
    assert (many / "pkg" / "a.py").read_text() == (
        "import numpy as np\n\nA1 = np.trapezoid([1])\nA2 = np.trapz([2])\nA3 = np.trapezoid([3])\n"
    )
    assert (
        many / "pkg" / "b.py"
    ).read_text() == "import numpy as np\n\nB1 = np.trapezoid([4])\nB2 = np.trapezoid([5])\n"
    assert (many / "pkg" / "c.py").read_text() == (
        "import numpy as np\n\nC1 = np.trapezoid([6])\nC2 = np.trapz([7])\nC3 = np.trapezoid([8])\n"
    )
    gate = json.loads(result.stdout)["summary"]["test_gate"]
    assert [(r["path"], r["line"]) for r in gate["reverted"]] == [("pkg/a.py", 4), ("pkg/c.py", 4)]
    assert gate["reverted"][0]["output"] == "FAILED: pkg/a.py contains 'np.trapezoid([2])'"
    assert len(gate["kept"]) == 6
    # Batches [A1 A2 A3 B1] and [B2 C1 C2 C3]: baseline 1, then per batch 1 + halves 2 + the failing half's 2.
    assert gate["runs"] == 1 + 5 + 5
    assert (many / "runs.log").read_text().count("run") == gate["runs"]


def test_tests_failing_before_any_fix_stop_the_run_and_change_nothing(many: Path) -> None:
    before = {path.name: path.read_text() for path in (many / "pkg").iterdir()}
    result = migrate("--apply", "--test", "python check.py 'np.trapz([1])'", "pkg", cwd=many)
    assert result.returncode == 2
    assert "--test: `python check.py 'np.trapz([1])'` fails before any fix (exit 1)" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "    | FAILED: pkg/a.py contains 'np.trapz([1])'" in result.stderr
    assert {path.name: path.read_text() for path in (many / "pkg").iterdir()} == before


def test_a_run_over_the_timeout_fails_and_is_stopped(many: Path) -> None:
    before = (many / "pkg" / "a.py").read_text()
    sleeper = "python -c 'import time; time.sleep(60)'"
    result = migrate("--apply", "--test", sleeper, "--test-timeout", "1", "pkg", cwd=many)
    assert result.returncode == 2
    assert "fails before any fix (timed out after 1 s)" in result.stderr
    assert (many / "pkg" / "a.py").read_text() == before


def test_the_budget_leaves_untried_fixes_out_and_the_files_as_last_passed(many: Path) -> None:
    slow = "python -c 'import time; time.sleep(1.5)'"
    result = migrate("--apply", "--test", slow, "--test-budget", "1", "--format", "json", "pkg", cwd=many)
    assert result.returncode == 1, result.stderr
    gate = json.loads(result.stdout)["summary"]["test_gate"]
    assert gate["stopped"] == "the test budget of 1 s was spent"
    assert gate["kept"] == [] and len(gate["not_tried"]) == 8
    assert gate["not_tried"][0]["reason"] == "not tried: the test budget of 1 s was spent"
    assert "np.trapezoid" not in "".join(path.read_text() for path in (many / "pkg").iterdir())


def test_an_edit_made_during_the_gate_is_not_overwritten(many: Path) -> None:
    # The "tests" edit pkg/b.py on their second run: the next write of b.py must be refused.
    editor = textwrap.dedent(
        """\
        import pathlib
        log = pathlib.Path("runs.log")
        runs = log.read_text().count("run") + 1 if log.exists() else 1
        log.write_text("run\\n" * runs)
        if runs == 2:
            path = pathlib.Path("pkg/b.py")
            path.write_text(path.read_text() + "# edited by hand\\n")
        raise SystemExit(0 if runs < 2 else 1)
        """
    )
    (many / "edit.py").write_text(editor)
    result = migrate("--apply", "--test", "python edit.py", "pkg", cwd=many)
    assert result.returncode == 2, result.stdout
    assert "pkg/b.py: not written: changed since it was read" in result.stderr
    assert (many / "pkg" / "b.py").read_text().endswith("# edited by hand\n")
    assert "np.trapezoid" not in (many / "pkg" / "a.py").read_text()  # back to the last passing state


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--check", "--test", "true"], "--test goes with --apply"),
        (["--diff", "--test", "true"], "--test goes with --apply"),
        (["--apply", "--test-batch-size", "3"], "--test-batch-size goes with --test"),
        (["--apply", "--test", "true", "--test-batch-size", "0"], "--test-batch-size must be at least 1"),
        (["--apply", "--test", "true", "--test-budget", "0"], "--test-budget must be positive"),
        (["--apply", "--test", " "], "--test needs a command"),
    ],
)
def test_test_gate_usage_errors(many: Path, args: list[str], message: str) -> None:
    result = migrate(*args, "pkg", cwd=many)
    assert result.returncode == 2
    assert message in result.stderr
    assert "np.trapezoid" not in (many / "pkg" / "a.py").read_text()


def test_progress_is_shown_on_a_terminal_only(many: Path) -> None:
    import pty
    import threading

    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "recode_lsp"]
    args = ["--apply", "--test", "python check.py 'np.trapezoid([2])'", "pkg"]
    env = {
        **{k: v for k, v in os.environ.items() if k != "CI"},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RECODE_CACHE_DIR": str(many.parent / "recode-cache"),
    }
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # read while the child writes: a full terminal buffer would block it
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: everything was read
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        process = subprocess.run(
            [*command, *args], cwd=many, stdout=subprocess.PIPE, stderr=follower, env=env, check=False, timeout=300
        )
    finally:
        os.close(follower)
        reader.join(timeout=30)
        os.close(leader)
    terminal = b"".join(chunks).decode("utf-8", "replace")
    assert process.returncode == 1
    assert "[test gate] run 1: running the tests before any fix" in terminal
    assert "[test gate] run 2: testing, batch 1/1, 0 of 8 fixes kept, 0 reverted" in terminal
    assert "7 of 8 fixes kept, 1 reverted." in terminal
    piped = migrate("--apply", "--test", "python check.py", "pkg", cwd=many)  # not a terminal: no progress
    assert "[test gate]" not in piped.stderr
