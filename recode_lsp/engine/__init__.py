"""The migration engine: knowledge base, detector, fixer and validator.

Imports only the standard library, ``packaging`` and (lazily, when fixing) ``libcst``; it
knows nothing of LSP, so the language server, the CLI and training all use it the same way.
"""

from recode_lsp.engine.changes import ApiChange, ChangeKind, FixSafety, Scope, Severity, TemplateOn
from recode_lsp.engine.detector import DetectOptions, SourceError, analyse, detect, suppressions
from recode_lsp.engine.fixer import FixOutcome, describe_fix, fix_findings
from recode_lsp.engine.knowledge import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from recode_lsp.engine.model import Finding, Fix, FixOrigin, Position, Range, Site, TextEdit
from recode_lsp.engine.validator import Verdict, fix_and_validate, validate_fix

__all__ = [
    "ApiChange",
    "ChangeKind",
    "DetectOptions",
    "Finding",
    "Fix",
    "FixOrigin",
    "FixOutcome",
    "FixSafety",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Position",
    "Range",
    "Scope",
    "Severity",
    "Site",
    "SourceError",
    "TemplateOn",
    "TextEdit",
    "Verdict",
    "analyse",
    "describe_fix",
    "detect",
    "fix_and_validate",
    "fix_findings",
    "load_knowledge_base",
    "suppressions",
    "validate_fix",
]
