"""Shared by the tests of quick fixes in excerpts (``test_document_excerpts``, ``test_excerpt_*``,
``test_one_site_fix``): the analysis context they fix under."""

from __future__ import annotations

import pytest

from recode_lsp.engine import DetectOptions, load_knowledge_base
from recode_lsp.engine.document import AnalysisContext
from recode_lsp.engine.versions import Version


@pytest.fixture(scope="module")
def context() -> AnalysisContext:
    """NumPy 2.0, Python 3.12 and pandas 2.0 targeted, the shipped knowledge base."""
    targets: dict[str, Version | None] = {"numpy": Version("2.0"), "python": Version("3.12"), "pandas": Version("2.0")}
    return AnalysisContext(load_knowledge_base(), DetectOptions(targets=targets))
