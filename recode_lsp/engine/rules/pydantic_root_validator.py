"""RC005: a pydantic V1 ``@root_validator`` -> ``@model_validator(mode=...)``."""

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

OLD = "pydantic.BaseModel.root_validator"
ROOT_VALIDATOR = ("pydantic.root_validator", "pydantic.class_validators.root_validator")
Function = ast.FunctionDef | ast.AsyncFunctionDef


class PydanticRootValidator(CodeRule):
    """## What it does
    Checks for ``@root_validator`` on a method of a pydantic model.

    ## Why is this bad?
    Pydantic 2.0 deprecated ``@root_validator`` in favour of ``@model_validator``. A
    ``pre=True`` root validator becomes ``@model_validator(mode="before")`` on a class
    method. A post root validator becomes ``@model_validator(mode="after")``, which is an
    instance method: it receives the validated model (``self``), not a dict of values, and
    returns it. V2 also rejects ``@root_validator`` without ``skip_on_failure=True``
    outright, and ``skip_on_failure`` does not exist on ``model_validator`` (an "after"
    validator never runs when a field failed).

    ## Example
    ```python
    from pydantic import BaseModel, root_validator


    class Range(BaseModel):
        low: int
        high: int

        @root_validator(pre=True)
        def defaults(cls, values):
            values.setdefault("high", values.get("low"))
            return values

        @root_validator(skip_on_failure=True)
        def ordered(cls, values):
            if values["low"] > values["high"]:
                raise ValueError("low > high")
            return values
    ```

    Use instead:
    ```python
    from pydantic import BaseModel, model_validator


    class Range(BaseModel):
        low: int
        high: int

        @model_validator(mode="before")
        @classmethod
        def defaults(cls, values):
            values.setdefault("high", values.get("low"))
            return values

        @model_validator(mode="after")
        def ordered(self):
            if self.low > self.high:
                raise ValueError("low > high")
            return self
    ```

    ## Fix safety
    The fix is unsafe. A "before" validator may receive input that is not a dict (a model
    instance, an ORM object with ``from_attributes``); a V1 post root validator without
    ``skip_on_failure=True`` ran even when a field failed, a V2 "after" validator does not.
    A post validator whose body reads ``values["field"]`` or ``values.get("field")`` for
    fields the model declares is rewritten to read ``self.field``; one that works on
    ``values`` as a dict (writes to it, passes it on, uses ``cls``; LangChain's validators)
    keeps its body after ``values = self.__dict__`` (and ``cls = type(self)``): the
    instance's dict holds the validated fields, so writes still set them, unvalidated as in
    V1. Either way every ``return`` must be ``return values`` (it becomes ``return self``);
    a validator that returns another dict, rebinds ``values`` or ``cls``, or defines a
    closure is reported without a fix, as is a decorator with other arguments than ``pre``,
    ``skip_on_failure`` and ``allow_reuse``. A class counts as a model when a pydantic base
    is in sight or its body shows it (this decorator, a pydantic ``class Config``): a
    LangChain model's ``BaseModel`` is modules away. The old import is removed with its
    last use.
    """

    code: ClassVar[str] = "RC005"
    name: ClassVar[str] = "pydantic-root-validator"
    summary: ClassVar[str] = "Use `@model_validator(mode=...)`: Pydantic V1 `@root_validator`"
    triggers: ClassVar[tuple[bytes, ...]] = (b"root_validator",)

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        change = change_for(kb, OLD)
        if change is None:
            return
        for _model, _function, decorator in decorator_sites(analysis, ROOT_VALIDATOR):
            start, end = analysis.lines.node_span(decorator)
            add(change, start, end, Site.RULE)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.RULE:
            return None
        sites = decorator_sites(analysis, ROOT_VALIDATOR)
        for model, function, decorator in sites:
            if analysis.lines.node_span(decorator)[0] != finding.start_offset:
                continue
            edits = _edits(analysis, model, function, decorator)
            if edits is None:
                return None
            reference = decorator_rename(
                analysis,
                sites,
                decorator,
                ROOT_VALIDATOR,
                "model_validator",
                lambda s: _edits(analysis, *s) is not None,
            )
            if reference is None:
                return None
            name, import_edit = reference
            edits[0] = TextEdit(edits[0].start, edits[0].end, edits[0].text.replace("{name}", name))
            if import_edit is not None:
                edits.append(import_edit)
            return edits
        return None


def _is_pre(decorator: ast.expr) -> bool | None:
    """True for ``pre=True``, False for a post validator, None for unsupported arguments."""
    if not isinstance(decorator, ast.Call):
        return False
    if decorator.args:
        return None
    pre = False
    for keyword in decorator.keywords:
        constant = keyword.value.value if isinstance(keyword.value, ast.Constant) else None
        if keyword.arg == "pre" and isinstance(constant, bool):
            pre = constant
        elif keyword.arg in ("skip_on_failure", "allow_reuse") and isinstance(constant, bool):
            continue
        else:
            return None
    return pre


def _edits(
    analysis: ModuleAnalysis, model: ast.ClassDef, function: Function, decorator: ast.expr
) -> list[TextEdit] | None:
    """The edits, the decorator's first with ``{name}`` for ``model_validator``; None: unsupported."""
    pre = _is_pre(decorator)
    if pre is None or isinstance(function, ast.AsyncFunctionDef):
        return None
    args = function.args
    if args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults or len(args.args) != 2:
        return None
    position = function.decorator_list.index(decorator)
    has_classmethod = False
    for index, other in enumerate(function.decorator_list):
        if other is decorator:
            continue
        if not (isinstance(other, ast.Name) and other.id == "classmethod") or index < position:
            return None
        has_classmethod = True
    start, end = analysis.lines.node_span(decorator)
    indent = line_indent(analysis, decorator.lineno - 1)
    if pre:
        text = '{name}(mode="before")' + ("" if has_classmethod else f"\n{indent}@classmethod")
        return [TextEdit(start, end, text)]
    if has_classmethod:
        return None
    body = _after_body_edits(analysis, model, function)
    if body is None:
        body = _after_dict_edits(analysis, model, function)
    if body is None:
        return None
    return [TextEdit(start, end, '{name}(mode="after")'), *body]


def _after_dict_edits(analysis: ModuleAnalysis, model: ast.ClassDef, function: Function) -> list[TextEdit] | None:
    """A post validator that works on ``values`` as a dict, kept as it is on the instance's own dict.

    ``def check(cls, values: Dict) -> Dict:`` becomes ``def check(self) -> "Model":`` whose body
    starts with ``values = self.__dict__`` (and ``cls = type(self)`` where it uses ``cls``):
    V2 hands an "after" validator the model, and its ``__dict__`` holds the validated fields,
    so reading and writing ``values[...]`` still reads and sets them, as V1's returned dict
    did (without validation, as before). Every ``return`` must be ``return values`` (it
    becomes ``return self``) and ``values`` / ``cls`` must not be bound again.
    """
    cls_arg, values_arg = function.args.args
    cls, values = cls_arg.arg, values_arg.arg
    edits: list[TextEdit] = []
    uses_cls = returns = 0
    for node in ast.walk(function):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
            and node is not function
        ):
            return None  # a closure could keep ``values`` or ``cls`` past the call
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
            return None
        if isinstance(node, ast.Name):
            if node.id == "self" or (node.id in (cls, values) and not isinstance(node.ctx, ast.Load)):
                return None
            uses_cls += node.id == cls
        if isinstance(node, ast.Return):
            if not (isinstance(node.value, ast.Name) and node.value.id == values):
                return None
            returns += 1
            value_start, value_end = analysis.lines.node_span(node.value)
            edits.append(TextEdit(value_start, value_end, "self"))
    body = function.body
    index = 1 if _is_docstring(body[0]) else 0
    if not returns or index >= len(body):
        return None
    first = body[index]
    line_start = analysis.lines.line_starts[first.lineno - 1]
    if analysis.source[line_start : analysis.lines.node_span(first)[0]].strip():
        return None  # the statement shares its line (``def f(cls, values): return values``, ``a; b``)
    indent = line_indent(analysis, first.lineno - 1)
    prologue = f"{indent}{values} = self.__dict__\n" + (f"{indent}{cls} = type(self)\n" if uses_cls else "")
    edits.append(TextEdit(line_start, line_start, prologue))
    edits.append(TextEdit(analysis.lines.node_span(cls_arg)[0], analysis.lines.node_span(values_arg)[1], "self"))
    if function.returns is not None:
        returns_start, returns_end = analysis.lines.node_span(function.returns)
        edits.append(TextEdit(returns_start, returns_end, f'"{model.name}"'))
    return edits


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _after_body_edits(analysis: ModuleAnalysis, model: ast.ClassDef, function: Function) -> list[TextEdit] | None:
    """``values["f"]`` / ``values.get("f")`` -> ``self.f``, ``return values`` -> ``return self``."""
    cls_arg, values_arg = function.args.args
    if values_arg.annotation is not None or cls_arg.annotation is not None:
        return None
    cls, values = cls_arg.arg, values_arg.arg
    fields = {
        s.target.id for s in model.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.simple
    }
    edits: list[TextEdit] = []
    handled: set[int] = set()
    returns = 0
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id in ("self", cls):
            return None
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))
            and node is not function
        ):
            return None
        if isinstance(node, ast.Return):
            if not (isinstance(node.value, ast.Name) and node.value.id == values):
                return None
            handled.add(id(node.value))
            returns += 1
            value_start, value_end = analysis.lines.node_span(node.value)
            edits.append(TextEdit(value_start, value_end, "self"))
        field = _field_read(node, values)
        if field is not None:
            if field not in fields:
                return None
            target = node.value if isinstance(node, ast.Subscript) else node.func.value  # type: ignore[attr-defined]
            handled.add(id(target))
            node_start, node_end = analysis.lines.node_span(node)
            edits.append(TextEdit(node_start, node_end, f"self.{field}"))
    if not returns:
        return None
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == values and id(node) not in handled:
            return None  # ``values`` is written, passed on, iterated...
    cls_start = analysis.lines.node_span(cls_arg)[0]
    values_end = analysis.lines.node_span(values_arg)[1]
    edits.append(TextEdit(cls_start, values_end, "self"))
    return edits


def _field_read(node: ast.AST, values: str) -> str | None:
    """The field name of ``values["f"]`` (a load) or ``values.get("f")``."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name)
        and node.value.id == values
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.slice.value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == values
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None
