"""Code rules: migrations that need real code, not a rename. One rule per file.

A knowledge-base entry names its rule (``"rule": "RC001"``); the detector reports the
finding from the entry, and the fixer asks the rule for the edit. A rule may also find
sites that are not a name reference (``class Config:`` inside a pydantic model) through
:meth:`CodeRule.find`. Adding a module to this package is the whole registration step.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding, TextEdit


class CodeRule:
    """Base class of a code rule. Subclasses set the class attributes and ``fix``."""

    #: Stable code, ``RC001``.
    code: ClassVar[str]
    #: Kebab-case name of the flagged pattern (reads as "allow <name>").
    name: ClassVar[str]
    #: One line for ``--list-changes`` and the docs.
    summary: ClassVar[str]
    #: Bytes a file must contain for :meth:`find` to report anything (the prefilter uses them).
    triggers: ClassVar[tuple[bytes, ...]] = ()

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        """Report sites that the name-based detector cannot see (default: none)."""
        return

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        """Edits that migrate ``finding``; None when this site's shape is not supported."""
        raise NotImplementedError


@lru_cache(maxsize=1)
def all_rules() -> tuple[CodeRule, ...]:
    """Every rule in this package, by code."""
    rules: list[CodeRule] = []
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            is_rule = isinstance(value, type) and issubclass(value, CodeRule) and value is not CodeRule
            if is_rule and value.__module__ == module.__name__:
                rules.append(value())
    return tuple(sorted(rules, key=lambda rule: rule.code))


def rule_triggers() -> dict[str, tuple[bytes, ...]]:
    """Code -> triggers, for the prefilter."""
    return {rule.code: rule.triggers for rule in all_rules() if rule.triggers}


def rule_by_code(code: str) -> CodeRule | None:
    for rule in all_rules():
        if rule.code == code:
            return rule
    return None
