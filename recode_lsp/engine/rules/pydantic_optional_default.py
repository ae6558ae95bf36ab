"""RC006: a pydantic V1 ``Optional[X]`` field with no default -> ``Optional[X] = None``."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import change_for, is_qualified, model_classes

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding

OLD = "pydantic.BaseModel.implicit_none_default"
_OPTIONAL = ("typing.Optional", "typing_extensions.Optional")
_UNION = ("typing.Union", "typing_extensions.Union")
_ANY = ("typing.Any", "typing_extensions.Any")


class PydanticOptionalDefault(CodeRule):
    """## What it does
    Checks for a field of a pydantic model annotated ``Optional[X]`` (``Union[X, None]``,
    ``X | None``, ``Any``) with no default value.

    ## Why is this bad?
    Pydantic V1 gave such a field an implicit default of ``None``: it was optional. Pydantic
    2.0 dropped the implicit default: the same field is required, and every input that
    leaves it out now fails validation.

    ## Example
    ```python
    from typing import Optional

    from pydantic import BaseModel


    class Item(BaseModel):
        name: str
        description: Optional[str]
    ```

    Use instead:
    ```python
    class Item(BaseModel):
        name: str
        description: Optional[str] = None
    ```

    ## Fix safety
    The fix is safe: ``= None`` is the default V1 used, so the field validates the same
    inputs to the same values under V2. Fields with a default (``= Field(...)`` included),
    string annotations and private ``_names`` are left alone.
    """

    code: ClassVar[str] = "RC006"
    name: ClassVar[str] = "pydantic-optional-default"
    summary: ClassVar[str] = "Add `= None`: a Pydantic V1 `Optional[X]` field with no default is required in V2"
    triggers: ClassVar[tuple[bytes, ...]] = (b"Optional", b"None", b"Any")

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        change = change_for(kb, OLD)
        if change is None:
            return
        for local in model_classes(analysis):
            for statement in local.node.body:
                if _is_implicit_optional(analysis, statement):
                    start, end = analysis.lines.node_span(statement)
                    add(change, start, end, Site.RULE)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.RULE:
            return None
        for local in model_classes(analysis):
            for statement in local.node.body:
                if (
                    isinstance(statement, ast.AnnAssign)
                    and analysis.lines.node_span(statement)[0] == finding.start_offset
                    and _is_implicit_optional(analysis, statement)
                ):
                    end = analysis.lines.node_span(statement.annotation)[1]
                    return [TextEdit(end, end, " = None")]
        return None


def _is_implicit_optional(analysis: ModuleAnalysis, statement: ast.stmt) -> bool:
    if not (isinstance(statement, ast.AnnAssign) and statement.simple and statement.value is None):
        return False
    target = statement.target
    if not isinstance(target, ast.Name) or target.id.startswith("_"):
        return False
    return _allows_none(analysis, statement.annotation)


def _allows_none(analysis: ModuleAnalysis, annotation: ast.expr) -> bool:
    if is_qualified(analysis, annotation, *_ANY):
        return True
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _is_none(annotation.left) or _is_none(annotation.right) or _allows_none(analysis, annotation.left)
    if isinstance(annotation, ast.Subscript):
        if is_qualified(analysis, annotation.value, *_OPTIONAL):
            return True
        if is_qualified(analysis, annotation.value, *_UNION):
            members = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
            return any(_is_none(member) for member in members)
    return False


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None
