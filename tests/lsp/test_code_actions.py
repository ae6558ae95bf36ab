"""Code actions on a finding-dense module, in process: listing them costs what the range holds."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lsprotocol import types

from recode_lsp.engine import DetectOptions, load_knowledge_base
from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis, finding_key
from recode_lsp.engine.versions import Version
from recode_lsp.server import code_actions
from recode_lsp.server.diagnostics import Diagnostics
from recode_lsp.server.documents import Snapshot
from recode_lsp.server.server import ClientFeatures
from recode_lsp.server.settings import EditorSettings, ProjectContext

BLOCK = """
def compute_{i}(values):
    total = np.product(values) + np.float_(1) + np.cumproduct(values)[-1]
    return total, np.NINF, np.round_(values)
"""
SOURCE = "import numpy as np\n" + "".join(BLOCK.format(i=i) for i in range(60))


class _Documents:
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self.prefetched: list[str] = []

    async def snapshot(self, uri: str) -> Snapshot:
        return self._snapshot

    def prefetch(self, snapshot: Snapshot, finding: Any) -> None:
        self.prefetched.append(finding_key(finding))


@pytest.fixture(scope="module")
def dense() -> tuple[Snapshot, DocumentAnalysis]:
    context = AnalysisContext(load_knowledge_base(), DetectOptions(targets={"numpy": Version("2.0")}))
    analysis = DocumentAnalysis.run(SOURCE, "dense.py", context)
    assert analysis.ok and len(analysis.findings) >= 250
    project = ProjectContext(analysis=context, settings=EditorSettings(), root=Path("."), targets=())
    uri = "file:///dense.py"
    return Snapshot(uri, 3, SOURCE, project, analysis, analysis, 3), analysis


@pytest.mark.parametrize("kind", ["quickfix", types.CodeActionKind.QuickFix], ids=["from-json", "enum"])
async def test_listing_the_actions_of_one_finding_builds_only_its_diagnostics(
    dense: tuple[Snapshot, DocumentAnalysis], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    snapshot, analysis = dense
    server = SimpleNamespace(client=ClientFeatures(resolve_edit=True, code_description=True), encoding="utf-16")
    server.diagnostics = Diagnostics(server)  # type: ignore[arg-type]
    server.documents = _Documents(snapshot)
    built: list[str] = []
    diagnostic = Diagnostics.diagnostic

    def counting(self: Diagnostics, finding: Any, *args: Any) -> types.Diagnostic:
        built.append(finding_key(finding))
        return diagnostic(self, finding, *args)

    monkeypatch.setattr(Diagnostics, "diagnostic", counting)
    finding = next(f for f in analysis.findings if f.code == "NPY023" and f.range.start.line > 100)
    at = types.Range(
        start=types.Position(line=finding.range.start.line, character=finding.range.start.column),
        end=types.Position(line=finding.range.end.line, character=finding.range.end.column),
    )
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=snapshot.uri),
        range=at,
        context=types.CodeActionContext(diagnostics=[], only=[kind]),
    )
    actions = await code_actions.list_actions(server, params)  # type: ignore[arg-type]
    fixes = [a for a in actions if a.data and a.data.get("action") == code_actions.FIX]
    assert fixes and all(a.diagnostics and a.diagnostics[0].range == at for a in fixes)
    assert finding_key(finding) in server.documents.prefetched
    # The listed findings' diagnostics only, not the module's hundreds.
    assert 0 < len(built) <= 3, len(built)
