"""The migration engine: knowledge base, detector, fixer, validator and the one fix pipeline.

Imports only the standard library, ``packaging`` and (lazily, when fixing) ``libcst``; it
knows nothing of LSP, so the language server, the CLI and training all use it the same way.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recode_lsp.engine.changes import ApiChange, ChangeKind, FixSafety, Scope, Severity, TemplateOn
    from recode_lsp.engine.detector import SourceError, analyse, detect, suppressions
    from recode_lsp.engine.fixer import FixOutcome, describe_fix, fix_findings
    from recode_lsp.engine.knowledge import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
    from recode_lsp.engine.model import Finding, Fix, FixOrigin, Position, Range, Site, TextEdit
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.engine.pipeline import PipelineResult, Skipped, run_fix_pipeline
    from recode_lsp.engine.validator import Baseline, Verdict, check_fix, fix_and_validate, validate_fix

# Names are imported on first use (PEP 562), so ``recode-migrate --check`` on a cached tree
# does not pay for the fixer and the validator.
_WHERE = {
    "ApiChange": "changes",
    "ChangeKind": "changes",
    "FixSafety": "changes",
    "Scope": "changes",
    "Severity": "changes",
    "TemplateOn": "changes",
    "DetectOptions": "options",
    "SourceError": "detector",
    "analyse": "detector",
    "detect": "detector",
    "suppressions": "detector",
    "FixOutcome": "fixer",
    "describe_fix": "fixer",
    "fix_findings": "fixer",
    "KnowledgeBase": "knowledge",
    "KnowledgeBaseError": "knowledge",
    "load_knowledge_base": "knowledge",
    "Finding": "model",
    "Fix": "model",
    "FixOrigin": "model",
    "Position": "model",
    "Range": "model",
    "Site": "model",
    "TextEdit": "model",
    "PipelineResult": "pipeline",
    "Skipped": "pipeline",
    "run_fix_pipeline": "pipeline",
    "Baseline": "validator",
    "Verdict": "validator",
    "check_fix": "validator",
    "fix_and_validate": "validator",
    "validate_fix": "validator",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ApiChange",
    "Baseline",
    "ChangeKind",
    "DetectOptions",
    "Finding",
    "Fix",
    "FixOrigin",
    "FixOutcome",
    "FixSafety",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "PipelineResult",
    "Position",
    "Range",
    "Scope",
    "Severity",
    "Site",
    "Skipped",
    "SourceError",
    "TemplateOn",
    "TextEdit",
    "Verdict",
    "analyse",
    "check_fix",
    "describe_fix",
    "detect",
    "fix_and_validate",
    "fix_findings",
    "load_knowledge_base",
    "run_fix_pipeline",
    "suppressions",
    "validate_fix",
]
