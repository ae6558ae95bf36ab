"""The VS Code extension (editor_clients/vscode): its Node unit tests and its end-to-end test.

Both run as subprocesses: ``npm test`` (settings and server-launch logic, plain Node) and
``e2e/run-e2e.mjs`` (the packaged .vsix in code-server, driven by Playwright in Chromium; it
opens a file, sees the NumPy 2 finding in the Problems panel, applies the quick fix, saves and
checks the file; then the same in a Jupyter notebook opened as a notebook by code-server's
built-in ipynb support: the finding in its third cell, the cell's quick fix, the saved .ipynb).
They need ``editor_clients/vscode/scripts/ci-setup.sh`` to have run; without its output they skip,
unless ``RECODE_REQUIRE_EDITORS=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "editor_clients" / "vscode"
E2E = EXTENSION / "e2e"
#: code-server 4.139 wants Node 24; ci-setup.sh installs it from npm.
NODE24 = E2E / "node_modules" / "node" / "bin" / "node"
CHROMIUM = Path(os.environ.get("RECODE_CHROMIUM", "/usr/bin/chromium"))
SETUP_HINT = "run editor_clients/vscode/scripts/ci-setup.sh"


def require(missing: list[str]) -> None:
    """Skip (or, under RECODE_REQUIRE_EDITORS=1, fail) when a prerequisite is missing."""
    if not missing:
        return
    why_not = f"VS Code extension tests need {', '.join(missing)} ({SETUP_HINT})"
    if os.environ.get("RECODE_REQUIRE_EDITORS") == "1":
        pytest.fail(f"RECODE_REQUIRE_EDITORS=1 but {why_not}")
    pytest.skip(why_not)


def node_env() -> dict[str, str]:
    """The environment with Node 24 first on PATH (when installed), as ci-setup.sh builds with."""
    env = dict(os.environ)
    if NODE24.exists():
        env["PATH"] = f"{NODE24.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(command: list[str], timeout: float, env: dict[str, str] | None = None) -> str:
    """Runs a command in the extension folder; fails the test with its output unless it exits 0."""
    try:
        result = subprocess.run(
            command,
            cwd=EXTENSION,
            env=env or node_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.output if isinstance(exc.output, str) else (exc.output or b"").decode(errors="replace")
        pytest.fail(f"{' '.join(command)} ran past {timeout}s:\n{output}")
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}")
    return result.stdout


def npm() -> str:
    found = shutil.which("npm", path=node_env()["PATH"])
    require([] if found else ["npm"])
    assert found is not None
    return found


def test_unit_tests_of_settings_and_server_launch() -> None:
    require([] if (EXTENSION / "node_modules" / "typescript").is_dir() else ["editor_clients/vscode/node_modules"])
    output = run([npm(), "test"], timeout=300)
    assert re.search(r"\bpass [1-9]", output), output  # exit 0 with no test run is no pass


def test_quick_fix_in_code_server() -> None:
    missing = []
    if not (EXTENSION / "node_modules" / "esbuild").is_dir():
        missing.append("editor_clients/vscode/node_modules")
    if not NODE24.exists():
        missing.append(f"Node 24 at {NODE24}")
    if not any((E2E / "node_modules" / "code-server" / "lib" / "vscode" / "node_modules").glob("*")):
        missing.append("code-server with its postinstall run (e2e/node_modules)")
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM}")
    require(missing)
    # The .vsix under test is built from the sources as they are now.
    run([npm(), "run", "build"], timeout=300)
    for old in EXTENSION.glob("recode-*.vsix"):
        old.unlink()
    run([npm(), "run", "package"], timeout=300)
    env = node_env()
    # The Python that runs these tests has recode-migrate installed: the extension starts the server with it.
    env.setdefault("RECODE_PYTHON", sys.executable)
    output = run([str(NODE24), str(E2E / "run-e2e.mjs")], timeout=400, env=env)
    assert "mod.py on disk has the fix" in output, output
    assert "the problem goes to the notebook's third cell" in output, output
    assert "totals.ipynb on disk differs from the notebook written only in cell 3" in output, output
