"""The too-new check in the language server's analysis (``RECODE_TOO_NEW=1``): diagnostics once the
release is read, never blocking the first analysis."""

from __future__ import annotations

from pathlib import Path

import pytest

from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis
from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import Version
from recode_lsp.toonew import lsp
from tests.toonew.test_toonew_fixture import ENTRIES, V1, V2, _write

SOURCE = "import tnlib\n\na = tnlib.new_name(1)\nb = tnlib.old_name(2)\n"


@pytest.fixture()
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AnalysisContext:
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", V1)
    _write(dist / "tnlib-2.0", V2)
    monkeypatch.setenv("RECODE_RELEASES_DIR", str(dist))
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    kb = KnowledgeBase([parse_entry(entry, "test") for entry in ENTRIES])
    return AnalysisContext(kb, DetectOptions(targets={"tnlib": Version("1.0")}))


def test_off_without_the_setting(context: AnalysisContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lsp.ENV, raising=False)
    assert lsp.findings_for(DocumentAnalysis.run(SOURCE, "code.py", context)) == []


def test_diagnostics_once_the_release_is_read(context: AnalysisContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lsp.ENV, "1")
    first = DocumentAnalysis.run(SOURCE, "code.py", context)
    lsp.findings_for(first)  # starts reading tnlib 1.0 in the background, answers at once
    lsp.wait()
    found = lsp.findings_for(DocumentAnalysis.run(SOURCE + "\n", "code.py", context))
    assert [(f.range.start.line, f.code) for f in found] == [(2, "RCN-TNL001")]
    assert found[0].message.endswith("(added in 2.0): use `tnlib.old_name`")


def test_the_editor_setting() -> None:
    from recode_lsp.server.settings import EditorSettings

    assert EditorSettings.parse({"tooNew": True}).too_new is True
    assert EditorSettings.parse({"tooNew": None}).too_new is None  # unset: the environment decides
    wrong = EditorSettings.parse({"tooNew": "yes"})
    assert wrong.too_new is None and wrong.problems == ("recode.tooNew must be true or false",)


def test_configured_context_wins_over_the_environment(
    context: AnalysisContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lsp.ENV, "1")
    lsp.configure(context, False, {"tnlib": Version("1.0")})
    assert not lsp.enabled(context)
    monkeypatch.delenv(lsp.ENV)
    lsp.configure(context, True, {"tnlib": Version("1.0")})
    first = DocumentAnalysis.run(SOURCE, "code.py", context)
    lsp.findings_for(first)
    lsp.wait()
    # The same analysis asks again once the release is read (nothing was cached while it was read).
    assert [f.code for f in lsp.findings_for(first)] == ["RCN-TNL001"]
    (finding,) = lsp.findings_for(first)
    fixed = lsp.fix(first, finding)
    assert "a = tnlib.old_name(1)" in fixed.source and fixed.edits


def test_a_module_of_the_package_itself_is_not_checked(
    context: AnalysisContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing tnlib's own source: its modules import that source, not the pinned release."""
    monkeypatch.setenv(lsp.ENV, "1")
    _write(tmp_path / "repo", {"tnlib/__init__.py": "", "tnlib/mod.py": SOURCE, "tools/mod.py": SOURCE})
    inside, outside = str(tmp_path / "repo" / "tnlib" / "mod.py"), str(tmp_path / "repo" / "tools" / "mod.py")
    lsp.findings_for(DocumentAnalysis.run(SOURCE, outside, context))
    lsp.wait()
    assert lsp.findings_for(DocumentAnalysis.run(SOURCE, inside, context)) == []
    found = lsp.findings_for(DocumentAnalysis.run(SOURCE, outside, context))
    assert [(f.range.start.line, f.code) for f in found] == [(2, "RCN-TNL001")]
