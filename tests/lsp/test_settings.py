"""Unit tests of recode_lsp.server.settings: the editor's section over [tool.recode]."""

from __future__ import annotations

from pathlib import Path

from recode_lsp.engine.versions import Version
from recode_lsp.server.settings import EditorSettings, resolve_context


def test_parse_nested_and_dotted_keys() -> None:
    nested = EditorSettings.parse(
        {"targets": ["numpy==2.0"], "model": {"endpoint": "http://x/v1", "name": "m"}, "unsafeFixes": True}
    )
    dotted = EditorSettings.parse({"targets": "numpy==2.0", "model.endpoint": "http://x/v1", "model.name": "m"})
    assert nested.targets == dotted.targets == ("numpy==2.0",)
    assert nested.model_endpoint == dotted.model_endpoint == "http://x/v1"
    assert nested.model_name == "m"
    assert nested.unsafe_fixes is True and dotted.unsafe_fixes is None


def test_bad_values_are_dropped_with_a_reason() -> None:
    settings = EditorSettings.parse(
        {"targets": ["numpy==2.0", "nonsense"], "unsafeFixes": "yes", "debounceMs": -1, "libraries": 3}
    )
    assert settings.targets == ("numpy==2.0",)
    assert settings.unsafe_fixes is None
    assert settings.debounce_ms == 150
    assert settings.libraries is None
    assert len(settings.problems) == 4


def test_defaults() -> None:
    settings = EditorSettings.parse(None)
    assert settings == EditorSettings()
    assert settings.max_file_lines == 50_000 and settings.api_docs


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.recode]\n{table}\n")
    path = tmp_path / "pkg" / "module.py"
    path.parent.mkdir()
    path.write_text("")
    return path


def test_editor_targets_win_over_tool_recode(tmp_path: Path) -> None:
    path = _project(tmp_path, 'targets = ["numpy==1.26", "pandas==2.0"]\nunsafe-fixes = true')
    project = resolve_context(EditorSettings.parse({"targets": ["numpy==2.0"]}), path)
    targets = project.analysis.options.targets
    assert targets["numpy"] == Version("2.0")
    assert targets["pandas"] == Version("2.0")
    assert project.analysis.unsafe  # from [tool.recode]
    assert project.root == tmp_path
    assert any("numpy==2.0 (editor setting)" in line for line in project.targets)
    assert not resolve_context(EditorSettings.parse({"unsafeFixes": False}), path).analysis.unsafe


def test_libraries_setting_limits_detection(tmp_path: Path) -> None:
    path = _project(tmp_path, 'targets = ["numpy==2.0"]')
    project = resolve_context(EditorSettings.parse({"libraries": ["pandas"]}), path)
    options = project.analysis.options
    assert options.libraries == ["pandas"]
    assert set(options.targets) == {"pandas"}


def test_malformed_tool_recode_is_reported_not_fatal(tmp_path: Path) -> None:
    path = _project(tmp_path, 'targets = ["numpy=="]')
    project = resolve_context(EditorSettings(), path)
    assert project.problems and "targets" in project.problems[0]
