"""The sparse analysis of ``--check`` (recode_lsp/engine/sparse.py) finds what the whole one finds, on
fuzz modules: real standard-library and site-packages files with old APIs spliced in at module level
and in class and function bodies, next to tricky surroundings (shadowed names, class attributes named
``np``, comments inside calls; see ``fuzz_modules.py``). Bounded for CI; every rule of the shipped
knowledge base at once. The same loop over 2,400 modules (seeds 1 to 5) found no difference."""

from __future__ import annotations

import pytest

from recode_lsp.engine import DetectOptions, detect, load_knowledge_base
from recode_lsp.engine.analysis import ModuleAnalysis
from recode_lsp.engine.detector import SourceError, parse_source
from recode_lsp.engine.prefilter import Prefilter
from recode_lsp.engine.rules import rule_triggers
from recode_lsp.engine.sparse import sparse_analysis
from tests.property.fuzz_modules import generate_modules

SEED = 20261207
COUNT = 300


def test_sparse_findings_are_the_whole_parses_on_fuzz_modules() -> None:
    kb = load_knowledge_base()
    prefilter = Prefilter(kb.changes, rule_triggers())
    options = DetectOptions()
    compared = sparse = 0
    for module in generate_modules(COUNT, SEED, generated=[]):
        try:
            text = module.data.decode("utf-8")
            whole = ModuleAnalysis(parse_source(text), text)
        except (UnicodeDecodeError, SourceError, RecursionError):
            continue  # a byte variant (latin-1) or not Python: the runner parses those whole
        if not prefilter.may_match(module.data):
            continue
        compared += 1
        analysis = sparse_analysis(module.data, text, module.name, prefilter)
        if analysis is None:
            continue
        sparse += 1
        expected = [(f.range, f.code, f.message) for f in detect(text, kb, options, analysis=whole)]
        found = [(f.range, f.code, f.message) for f in detect(text, kb, options, analysis=analysis)]
        assert found == expected, f"{module.name} ({module.origin}, {module.variant})"
    if compared < 100 or sparse < 50:
        pytest.fail(f"too few modules exercised: {compared} compared, {sparse} read sparse")
