"""RC008: pydantic V1 custom-type hooks ``__get_validators__`` / ``__modify_schema__`` (reported only)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.model import Site
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import change_for, imports_pydantic

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding, TextEdit

#: Hook name -> the ``old`` of its knowledge-base entry.
HOOKS = {
    "__get_validators__": "pydantic.BaseModel.__get_validators__",
    "__modify_schema__": "pydantic.BaseModel.__modify_schema__",
}
_DEF = re.compile(r"(?:async\s+)?def\s+(\w+)")


class PydanticCustomTypeHooks(CodeRule):
    """## What it does
    Checks for a class (a custom field type) that defines the pydantic V1 hooks
    ``__get_validators__`` or ``__modify_schema__``, in a module that imports pydantic.

    ## Why is this bad?
    Pydantic 2.0 builds a core schema for every type. ``__get_validators__`` is deprecated
    and its validators are now called as ``f(value, info)``, so a V1 validator that takes
    only the value raises ``TypeError``; ``__modify_schema__`` is rejected outright
    (``PydanticUserError`` when a model uses the type).

    ## Example
    ```python
    class Upper(str):
        @classmethod
        def __get_validators__(cls):
            yield cls.validate

        @classmethod
        def validate(cls, v):
            return cls(v.upper())
    ```

    Use instead:
    ```python
    from pydantic_core import core_schema


    class Upper(str):
        @classmethod
        def __get_pydantic_core_schema__(cls, source, handler):
            return core_schema.no_info_after_validator_function(
                lambda v: cls(v.upper()), core_schema.str_schema()
            )
    ```

    ## Fix safety
    No fix: the core schema a type needs depends on what its validators accept and
    return, which a rule cannot tell. The finding is display-only (a served model may
    propose a validated rewrite).
    """

    code: ClassVar[str] = "RC008"
    name: ClassVar[str] = "pydantic-custom-type-hooks"
    summary: ClassVar[str] = "Use the V2 schema hooks: Pydantic V1 `__get_validators__` / `__modify_schema__`"
    triggers: ClassVar[tuple[bytes, ...]] = (b"__get_validators__", b"__modify_schema__")

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        if not imports_pydantic(analysis):
            return
        for local in analysis.classes.values():
            for statement in local.node.body:
                if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) or statement.name not in HOOKS:
                    continue
                change = change_for(kb, HOOKS[statement.name])
                if change is None:
                    continue
                start = analysis.lines.node_span(statement)[0]
                header = _DEF.search(analysis.source, start)
                if header is None or header.group(1) != statement.name:
                    continue
                add(change, header.start(), header.end(), Site.RULE, FixSafety.DISPLAY_ONLY)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        return None
