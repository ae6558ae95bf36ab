"""RC004: a pydantic V1 ``@validator(...)`` -> ``@field_validator(...)`` with ``@classmethod``."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import (
    DecoratorSite,
    change_for,
    decorator_rename,
    decorator_sites,
    is_qualified,
    line_indent,
    name_reference,
)

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding

OLD = "pydantic.BaseModel.validator"
VALIDATOR = ("pydantic.validator", "pydantic.class_validators.validator")
FIELD = ("pydantic.Field", "pydantic.fields.Field")
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
    ``always=False`` and ``each_item=False`` are dropped. ``always=True`` moves onto the
    fields it names, as V2 spells it: ``x: T = v`` becomes
    ``x: T = Field(v, validate_default=True)`` and ``Field(v, ...)`` gains
    ``validate_default=True``. Where that cannot be done (a field without a default, an
    inherited field, ``"*"``, SQLModel's ``Field``), and for ``each_item=True`` (V2
    validates items through the item type, ``list[Annotated[T, AfterValidator(f)]]``), no
    fix is offered: the decorator is reported by ``pydantic.validator``'s display-only
    entry, whose message says what V2 wants. A validator with ``config`` or ``field``
    parameters, ``**kwargs``, other decorators, or a ``values`` parameter that the body
    rebinds is reported without a fix. The old import is removed with its last use.
    """

    code: ClassVar[str] = "RC004"
    name: ClassVar[str] = "pydantic-validator"
    summary: ClassVar[str] = "Use `@field_validator` with `@classmethod`: Pydantic V1 `@validator`"
    triggers: ClassVar[tuple[bytes, ...]] = (b"validator",)

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        change = change_for(kb, OLD)
        if change is None:
            return
        for model, _function, decorator in decorator_sites(analysis, VALIDATOR):
            if _needs_a_person(analysis, model, decorator):
                # No edit keeps the meaning: the name's own entry (``pydantic.validator``,
                # display-only) reports the decorator, with what V2 wants for ``always`` / ``each_item``.
                continue
            start, end = analysis.lines.node_span(decorator)
            add(change, start, end, Site.RULE)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.RULE:
            return None
        sites = decorator_sites(analysis, VALIDATOR)
        for model, function, decorator in sites:
            if analysis.lines.node_span(decorator)[0] != finding.start_offset:
                continue
            plan = _plan(analysis, model, function, decorator)
            if plan is None:
                return None
            arguments, values, always = plan
            field_edits = _validate_default_edits(analysis, model, always)
            if field_edits is None:
                return None
            field_edits = [edit for edit in field_edits if not _is_import(analysis, edit)]
            reference = decorator_rename(
                analysis,
                sites,
                decorator,
                VALIDATOR,
                "field_validator",
                lambda s: _plan(analysis, *s) is not None,
            )
            if reference is None:
                return None
            name, import_edit = reference
            edits = _edits(analysis, function, decorator, name, arguments, values)
            if import_edit is not None:
                edits.append(import_edit)
            # Every site's fix carries the same import edit (the fixer keeps one copy): when one
            # site moves ``always=True`` onto a ``Field`` that needs importing, all carry that too.
            field_import = _field_import(analysis, sites)
            return _merged(analysis.source, edits, [*field_edits, *([field_import] if field_import else [])])
        return None


def _is_import(analysis: ModuleAnalysis, edit: TextEdit) -> bool:
    return (
        any(
            analysis.lines.node_span(statement)[0] <= edit.start <= analysis.lines.node_span(statement)[1]
            for statement in analysis.imports
        )
        or analysis.source[edit.start : edit.end].strip() == ""
        and "import" in edit.text
    )


def _field_import(analysis: ModuleAnalysis, sites: list[DecoratorSite]) -> TextEdit | None:
    """The edit that imports ``pydantic.Field`` when a fixable site needs it, else None."""
    for model, function, decorator in sites:
        plan = _plan(analysis, model, function, decorator)
        if plan is None or not plan[2]:
            continue
        for edit in _validate_default_edits(analysis, model, plan[2]) or []:
            if _is_import(analysis, edit):
                return edit
    return None


def _merged(source: str, edits: list[TextEdit], more: list[TextEdit]) -> list[TextEdit]:
    """``edits`` and ``more`` as one list of disjoint edits.

    The ``Field`` import may rewrite the whole ``from pydantic import ...`` statement in
    which ``validator`` is renamed: the rename is then made inside that rewrite.
    """
    out = list(edits)
    for edit in more:
        if edit in out:
            continue
        inner = next((i for i, other in enumerate(out) if edit.start <= other.start <= other.end <= edit.end), None)
        if inner is None:
            out.append(edit)
            continue
        other = out[inner]
        kept = source[edit.start : other.end]
        if not edit.text.startswith(kept):
            return [*out, edit]  # cannot compose: the fixer reports the overlap
        cut = other.start - edit.start
        out[inner] = TextEdit(edit.start, edit.end, edit.text[:cut] + other.text + edit.text[len(kept) :])
    return out


def _needs_a_person(analysis: ModuleAnalysis, model: ast.ClassDef, decorator: ast.expr) -> bool:
    """``each_item=True`` (V2 validates items through the item type: ``list[Annotated[T,
    AfterValidator(f)]]``, a change of the annotation a person makes), or ``always=True`` on a
    field that cannot take ``validate_default=True`` (:func:`_validate_default_edits`)."""
    if not isinstance(decorator, ast.Call):
        return False
    flags = {k.arg: k.value.value for k in decorator.keywords if isinstance(k.value, ast.Constant)}
    if flags.get("each_item") is True:
        return True
    if flags.get("always") is not True:
        return False
    names = [arg.value for arg in decorator.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    return len(names) != len(decorator.args) or _validate_default_edits(analysis, model, names) is None


def _plan(
    analysis: ModuleAnalysis, model: ast.ClassDef, function: Function, decorator: ast.expr
) -> tuple[list[str], str | None, list[str]] | None:
    """(arguments of the new decorator, name of the ``values`` parameter, the fields that need
    ``validate_default=True``); None: unsupported."""
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
    always = False
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
        elif keyword.arg == "always" and constant is True:
            always = True
        elif keyword.arg in ("always", "each_item"):
            if constant is not False:
                return None  # ``each_item=True``: V2 validates the items through the item type
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
    fields = [ast.literal_eval(arg) for arg in decorator.args] if always else []
    if always and _validate_default_edits(analysis, model, fields) is None:
        return None
    return arguments, values or None, fields


def _validate_default_edits(analysis: ModuleAnalysis, model: ast.ClassDef, fields: list[str]) -> list[TextEdit] | None:
    """``always=True`` moved onto the fields: ``Field(..., validate_default=True)``.

    V1's ``always=True`` ran the validator on a field's default too; V2 does that for a field
    whose ``Field`` says ``validate_default=True``. Each named field must be declared in this
    class with a default (``x: T = v`` becomes ``x: T = Field(v, validate_default=True)``,
    ``Field(v, ...)`` gains the keyword). None: a field is inherited, has no default (an
    ``Optional`` one had an implicit ``None`` in V1), is ``"*"``, or ``Field`` means another
    library's (SQLModel's).
    """
    edits: list[TextEdit] = []
    source = analysis.source
    declared = {
        statement.target.id: statement
        for statement in model.body
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.simple
    }
    for field in fields:
        statement = declared.get(field)
        if statement is None or statement.value is None:
            return None
        value = statement.value
        if isinstance(value, ast.Call) and is_qualified(analysis, value.func, *FIELD):
            keywords = {keyword.arg: keyword.value for keyword in value.keywords}
            default = value.args[0] if value.args else keywords.get("default")
            if default is None or isinstance(default, ast.Constant) and default.value is Ellipsis:
                return None  # required: there is no default to validate
            if {None, "validate_default", "default_factory"} & set(keywords):
                return None
            end = max(analysis.lines.node_span(node)[1] for node in (*value.args, *value.keywords))
            edits.append(TextEdit(end, end, ", validate_default=True"))
            continue
        callee = value.func if isinstance(value, ast.Call) else None
        if isinstance(callee, (ast.Name, ast.Attribute)) and (analysis.qualified_name(callee) or "").endswith(
            ".Field"
        ):
            return None  # another library's ``Field`` (SQLModel's)
        reference = name_reference(analysis, "pydantic", "Field")
        if reference is None:
            return None
        name, import_edit = reference
        start, end = analysis.lines.node_span(value)
        edits.append(TextEdit(start, end, f"{name}({source[start:end]}, validate_default=True)"))
        if import_edit is not None and import_edit not in edits:
            edits.append(import_edit)
    return edits


def _values_parameter(function: Function) -> str | None:
    """The name of a ``values`` parameter to turn into ``info`` ("" when none; None: unsupported)."""
    args = function.args
    if args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults:
        return None
    names = [a.arg for a in args.args]
    if len(names) == 2:
        return ""
    if len(names) != 3 or names[2] != "values":
        return None  # an annotation (``values: Dict``) goes with the name: ``info`` is no dict
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
                arg_start, arg_end = analysis.lines.node_span(node)
                edits.append(TextEdit(arg_start, arg_end if node.annotation else arg_start + len(values), "info"))
            elif isinstance(node, ast.Name) and node.id == values:
                use_start, use_end = analysis.lines.node_span(node)
                edits.append(TextEdit(use_start, use_end, "info.data"))
    return edits
