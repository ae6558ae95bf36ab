"""RC010: pydantic V1 ``Field(allow_mutation=False)`` / ``Field(const=True)`` -> their V2 forms."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import enclosing_model, name_reference

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.model import Finding

FIELD = ("pydantic.Field", "pydantic.fields.Field")


class PydanticFieldKeywords(CodeRule):
    """## What it does
    Checks for the pydantic V1 ``Field`` keywords ``allow_mutation=`` and ``const=``
    (reported by the knowledge-base entries of ``pydantic.Field``; this rule fixes them).

    ## Why is this bad?
    Pydantic 2.0 removed ``const=`` (``Field(const=True)`` raises ``PydanticUserError``;
    V2 spells a constant field ``Literal[value]``) and deprecated ``allow_mutation=`` in
    favour of ``frozen=``, whose meaning is the inverse.

    ## Example
    ```python
    from pydantic import BaseModel, Field


    class Pet(BaseModel):
        kind: str = Field("cat", const=True)
        id: int = Field(..., allow_mutation=False)
    ```

    Use instead:
    ```python
    from typing import Literal

    from pydantic import BaseModel, Field


    class Pet(BaseModel):
        kind: Literal["cat"] = Field("cat")
        id: int = Field(..., frozen=True)
    ```

    ## Fix safety
    The fix is unsafe. V1 enforced ``allow_mutation=False`` only with
    ``validate_assignment = True``; V2's ``frozen=True`` always rejects assignment. A
    ``Literal`` field validates by equality where V1 coerced the input to the annotated
    type first, and its JSON schema changes. ``const=`` is fixed only on a model field
    whose default is a literal string, integer or boolean (the annotation becomes
    ``Literal[default]``); ``allow_mutation=`` only when it is the constant ``False``.
    Other forms are reported without a fix.
    """

    code: ClassVar[str] = "RC010"
    name: ClassVar[str] = "pydantic-field-keywords"
    summary: ClassVar[str] = "Use `Literal` / `frozen=`: Pydantic V1 `Field(const=...)` / `Field(allow_mutation=...)`"

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.KEYWORD:
            return None
        found = _keyword_at(analysis, finding.start_offset)
        if found is None:
            return None
        call, keyword = found
        constant = keyword.value.value if isinstance(keyword.value, ast.Constant) else None
        start, end = analysis.lines.node_span(keyword)
        if keyword.arg == "allow_mutation":
            if constant is not False or any(k.arg == "frozen" for k in call.keywords):
                return None
            return [TextEdit(start, end, "frozen=True")]
        if keyword.arg == "const":
            return _const_edits(analysis, call, keyword, constant)
        return None


def _keyword_at(analysis: ModuleAnalysis, offset: int) -> tuple[ast.Call, ast.keyword] | None:
    for node in ast.walk(analysis.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))):
            continue
        if analysis.qualified_name(node.func) not in FIELD:
            continue
        for keyword in node.keywords:
            if keyword.arg is not None and analysis.lines.node_span(keyword)[0] == offset:
                return node, keyword
    return None


def _const_edits(
    analysis: ModuleAnalysis, call: ast.Call, keyword: ast.keyword, constant: object
) -> list[TextEdit] | None:
    if constant is not True:
        return None
    field = None
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.AnnAssign) and node.value is call and enclosing_model(analysis, node) is not None:
            field = node
    if field is None:
        return None
    default: ast.expr | None = call.args[0] if call.args else None
    for other in call.keywords:
        if other.arg == "default":
            default = other.value
    if not (
        isinstance(default, ast.Constant)
        and isinstance(default.value, (str, int, bool))
        and not isinstance(default.value, float)
    ):
        return None
    literal = name_reference(analysis, "typing", "Literal")
    if literal is None:
        return None
    source = analysis.source
    default_start, default_end = analysis.lines.node_span(default)
    annotation_start, annotation_end = analysis.lines.node_span(field.annotation)
    removal = _remove_keyword(analysis, call, keyword)
    if "#" in source[removal.start : removal.end]:
        return None
    edits = [
        TextEdit(annotation_start, annotation_end, f"{literal[0]}[{source[default_start:default_end]}]"),
        removal,
    ]
    if literal[1] is not None:
        edits.append(literal[1])
    return edits


def _remove_keyword(analysis: ModuleAnalysis, call: ast.Call, keyword: ast.keyword) -> TextEdit:
    """Remove ``keyword`` and the comma that separates it from its neighbour."""
    arguments = sorted([*call.args, *call.keywords], key=lambda node: analysis.lines.node_span(node)[0])
    index = next(i for i, node in enumerate(arguments) if node is keyword)
    start, end = analysis.lines.node_span(keyword)
    if index > 0:
        start = analysis.lines.node_span(arguments[index - 1])[1]
    elif index + 1 < len(arguments):
        end = analysis.lines.node_span(arguments[index + 1])[0]
    return TextEdit(start, end, "")
