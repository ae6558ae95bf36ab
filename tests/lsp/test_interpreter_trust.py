"""Opening a file of a cloned project never runs the interpreter its ``[tool.recode]`` names (issue 11).

The real server over stdio (see ``conftest.py``); the project's ``python`` is a script that
leaves a marker file when it runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pytest_lsp import client_capabilities

from tests.lsp.conftest import FIXTURE, PROFILES, Starter

TOOL = textwrap.dedent(
    """\
    #!/bin/sh
    touch "{marker}"
    echo '{{"python": "3.12.0", "numpy": "2.0.0"}}'
    """
)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "tool-ran"


@pytest.fixture
def project(tmp_path: Path, marker: Path) -> Path:
    """Overrides conftest's project: no numpy target, so the installed version is asked for."""
    root = tmp_path / "project"
    root.mkdir()
    script = root / "tool.sh"
    script.write_text(TOOL.format(marker=marker))
    script.chmod(0o755)
    (root / "pyproject.toml").write_text('[project]\nname = "fixture"\n\n[tool.recode]\npython = "./tool.sh"\n')
    (root / "module.py").write_text(FIXTURE, encoding="utf-8")
    return root


async def test_project_interpreter_is_not_run(start: Starter, profile: str, marker: Path) -> None:
    session = await start(client_capabilities(PROFILES[profile]), env={"RECODE_TRUST_PYTHON": ""})
    uri = session.open("module.py")
    diagnostics = await session.diagnostics(uri)
    assert diagnostics  # analysed, with the running interpreter's versions
    assert not marker.exists(), "opening a file ran the project's tool.sh"
    message = await session.log_message("not running")
    assert "tool.sh" in message.message and "trustProjectInterpreter" in message.message


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"trustProjectInterpreter": True}, id="trusted-project-interpreter"),
        pytest.param({"interpreter": "./tool.sh"}, id="editor-interpreter"),
    ],
)
async def test_trusted_interpreter_runs(
    start: Starter, profile: str, marker: Path, settings: dict[str, object]
) -> None:
    session = await start(client_capabilities(PROFILES[profile]), settings=settings)
    uri = session.open("module.py")
    await session.diagnostics(uri)
    assert marker.exists()
    assert not any("not running" in message.message for message in session.client.log_messages)
