"""The VS Code extension's manifest keeps a repository's settings from choosing a program to run.

Plain JSON checks of ``editor_clients/vscode/package.json`` (no Node needed); the extension's
own reading of the settings under workspace trust is covered by its Node unit tests
(``src/test/unit/settings.test.ts``, run by ``test_vscode.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).resolve().parents[2] / "editor_clients" / "vscode" / "package.json"
#: Settings whose value is a program the extension or the server runs.
PROGRAM_SETTINGS = ("recode.interpreter", "recode.serverPath")
#: Scopes a workspace's .vscode/settings.json may set (see VS Code's configuration scopes).
WORKSPACE_SCOPES = {"window", "resource", "language-overridable", "machine-overridable"}


def manifest() -> Any:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def properties() -> dict[str, dict[str, Any]]:
    return manifest()["contributes"]["configuration"]["properties"]


def test_untrusted_workspaces_are_limited_and_program_settings_restricted() -> None:
    untrusted = manifest()["capabilities"]["untrustedWorkspaces"]
    assert untrusted["supported"] == "limited"
    assert untrusted["description"]
    restricted = set(untrusted["restrictedConfigurations"])
    for name in PROGRAM_SETTINGS:
        assert name in properties()
        if properties()[name].get("scope", "window") in WORKSPACE_SCOPES:
            assert name in restricted, f"{name} names a program and a workspace can set it"
    assert restricted <= set(properties()), "restricted settings must exist"


def test_trust_project_interpreter_is_declared_and_only_the_user_can_set_it() -> None:
    setting = properties()["recode.trustProjectInterpreter"]
    assert setting["type"] == "boolean" and setting["default"] is False
    # "machine" / "application": not settable in a workspace's .vscode/settings.json.
    assert setting["scope"] in {"machine", "application"}


def test_the_server_reads_the_setting_the_manifest_declares() -> None:
    server_settings = (Path(__file__).resolve().parents[2] / "recode_lsp" / "server" / "settings.py").read_text()
    assert '"trustProjectInterpreter"' in server_settings
