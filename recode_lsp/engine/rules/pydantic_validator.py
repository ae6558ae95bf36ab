"""RC004: a pydantic V1 ``@validator(...)`` -> ``@field_validator(...)`` with ``@classmethod``."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import (
    change_for,
    decorator_rename,
    decorator_sites,
    line_indent,
)

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding

OLD = "pydantic.BaseModel.validator"
VALIDATOR = ("pydantic.validator", "pydantic.class_validators.validator")
Function = ast.FunctionDef | ast.AsyncFunctionDef


class PydanticValidator(CodeRule):
    """## What it does
    Checks for ``@validator(...)`` on a method of a pydantic model.

    ## Why is this bad?
    Pydantic 2.0 deprecated ``@validator`` in favour of ``@field_validator``, which is a
    class method, spells ``pre=True`` as ``mode="before"``, has no ``always=`` and no
    ``each_item=``, and hands the validator a ``ValidationInfo`` (``info.data`` holds the
    fields validated so far) instead of ``values``, ``config`` and ``field`` arguments.

    ## Example
    ```python
    from pydantic import BaseModel, validator


    class User(BaseModel):
        name: str
        password2: str

        @validator("name", pre=True, allow_reuse=True)
        def strip(cls, v):
            return v.strip()

        @validator("password2")
        def match(cls, v, values):
            if v != values.get("password1"):
                raise ValueError("passwords do not match")
            return v
    ```

    Use instead:
    ```python
    from pydantic import BaseModel, field_validator


    class User(BaseModel):
        name: str
        password2: str

        @field_validator("name", mode="before")
        @classmethod
        def strip(cls, v):
            return v.strip()

        @field_validator("password2")
        @classmethod
        def match(cls, v, info):
            if v != info.data.get("password1"):
                raise ValueError("passwords do not match")
            return v
    ```

    ## Fix safety
    The fix is unsafe: V1 did not call a validator (without ``pre``) on ``None`` for an
    ``Optional`` field, V2 does; ``mode="before"`` validators may see raw input of any
    type. ``allow_reuse=`` is dropped (V2 has no such check), ``check_fields=`` is kept,
    ``always=False`` and ``each_item=False`` are dropped. A validator with ``always=True``
    (V2: ``Field(validate_default=True)``), ``each_item=True`` (V2: annotate the item
    type), ``config`` or ``field`` parameters, ``**kwargs``, other decorators, or a
    ``values`` parameter that the body rebinds is reported without a fix. The old import
    is removed with its last use.
    """

    code: ClassVar[str] = "RC004"
    name: ClassVar[str] = "pydantic-validator"
    summary: ClassVar[str] = "Pydantic V1 `@validator`; use `@field_validator` with `@classmethod`"
    triggers: ClassVar[tuple[bytes, ...]] = (b"validator",)

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        change = change_for(kb, OLD)
        if change is None:
            return
        for _model, _function, decorator in decorator_sites(analysis, VALIDATOR):
            start, end = analysis.lines.node_span(decorator)
            add(change, start, end, Site.RULE)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.RULE:
            return None
        sites = decorator_sites(analysis, VALIDATOR)
        for _model, function, decorator in sites:
            if analysis.lines.node_span(decorator)[0] != finding.start_offset:
                continue
            plan = _plan(analysis, function, decorator)
            if plan is None:
                return None
            reference = decorator_rename(
                analysis,
                sites,
                decorator,
                VALIDATOR,
                "field_validator",
                lambda s: _plan(analysis, s[1], s[2]) is not None,
            )
            if reference is None:
                return None
            name, import_edit = reference
            edits = _edits(analysis, function, decorator, name, *plan)
            if import_edit is not None:
                edits.append(import_edit)
            return edits
        return None


def _plan(analysis: ModuleAnalysis, function: Function, decorator: ast.expr) -> tuple[list[str], str | None] | None:
    """(arguments of the new decorator, name of the ``values`` parameter); None: unsupported."""
    if not isinstance(decorator, ast.Call) or not decorator.args:
        return None
    position = function.decorator_list.index(decorator)
    for index, other in enumerate(function.decorator_list):
        if other is decorator:
            continue
        if not (isinstance(other, ast.Name) and other.id == "classmethod") or index < position:
            return None  # another decorator, or ``@classmethod`` above ``@validator``
    source = analysis.source
    arguments: list[str] = []
    for arg in decorator.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return None
        start, end = analysis.lines.node_span(arg)
        arguments.append(source[start:end])
    mode: str | None = None
    for keyword in decorator.keywords:
        value = keyword.value
        if keyword.arg is None:
            return None
        start, end = analysis.lines.node_span(value)
        constant = value.value if isinstance(value, ast.Constant) else None
        if keyword.arg == "pre":
            if constant is True:
                mode = '"before"'
            elif constant is not False:
                return None
        elif keyword.arg in ("always", "each_item"):
            if constant is not False:
                return None
        elif keyword.arg == "allow_reuse":
            continue
        elif keyword.arg == "check_fields":
            arguments.append(f"check_fields={source[start:end]}")
        else:
            return None
    if mode is not None:
        arguments.append(f"mode={mode}")
    values = _values_parameter(function)
    if values is None:
        return None
    return arguments, values or None


def _values_parameter(function: Function) -> str | None:
    """The name of a ``values`` parameter to turn into ``info`` ("" when none; None: unsupported)."""
    args = function.args
    if args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults:
        return None
    names = [a.arg for a in args.args]
    if len(names) == 2:
        return ""
    if len(names) != 3 or names[2] != "values" or args.args[2].annotation is not None:
        return None
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == "info":
            return None  # ``info`` is taken
        if isinstance(node, ast.Name) and node.id == "values" and not isinstance(node.ctx, ast.Load):
            return None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not function:
            inner = node.args
            if any(a.arg in ("values", "info") for a in [*inner.args, *inner.kwonlyargs, *inner.posonlyargs]):
                return None
        if isinstance(node, (ast.comprehension,)) and any(
            isinstance(t, ast.Name) and t.id in ("values", "info") for t in ast.walk(node.target)
        ):
            return None
    return "values"


def _edits(
    analysis: ModuleAnalysis,
    function: Function,
    decorator: ast.expr,
    name: str,
    arguments: list[str],
    values: str | None,
) -> list[TextEdit]:
    start, end = analysis.lines.node_span(decorator)
    text = f"{name}({', '.join(arguments)})"
    if not any(isinstance(d, ast.Name) and d.id == "classmethod" for d in function.decorator_list):
        indent = line_indent(analysis, decorator.lineno - 1)
        text += f"\n{indent}@classmethod"
    edits = [TextEdit(start, end, text)]
    if values is not None:
        for node in ast.walk(function):
            if isinstance(node, ast.arg) and node.arg == values and node is function.args.args[2]:
                arg_start = analysis.lines.node_span(node)[0]
                edits.append(TextEdit(arg_start, arg_start + len(values), "info"))
            elif isinstance(node, ast.Name) and node.id == values:
                use_start, use_end = analysis.lines.node_span(node)
                edits.append(TextEdit(use_start, use_end, "info.data"))
    return edits
