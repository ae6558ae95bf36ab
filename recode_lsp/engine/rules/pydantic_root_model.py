"""RC007: a pydantic V1 custom root type (``__root__: T``) -> ``RootModel`` with ``root: T``."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import (
    change_for,
    drop_import_edit,
    is_qualified,
    model_classes,
    name_reference,
    whole_module,
)

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding

OLD = "pydantic.BaseModel.custom_root_type"
BASE_MODEL = ("pydantic.BaseModel", "pydantic.main.BaseModel")


class PydanticRootModel(CodeRule):
    """## What it does
    Checks for a pydantic model with a custom root type: a ``__root__`` field.

    ## Why is this bad?
    Pydantic 2.0 removed ``__root__``: a model that declares it fails at class creation
    (``PydanticUserError``). V2 spells a custom root type as a ``pydantic.RootModel``
    subclass whose field is ``root``.

    ## Example
    ```python
    from typing import List

    from pydantic import BaseModel


    class Tags(BaseModel):
        __root__: List[str]

        def __iter__(self):
            return iter(self.__root__)
    ```

    Use instead:
    ```python
    from typing import List

    from pydantic import BaseModel, RootModel


    class Tags(RootModel):
        root: List[str]

        def __iter__(self):
            return iter(self.root)
    ```

    ## Fix safety
    The fix is unsafe: ``model_dump()`` of a ``RootModel`` returns the root value itself,
    where V1's ``.dict()`` returned ``{"__root__": value}``, and a ``RootModel`` accepts
    no ``extra`` configuration. The fix applies to a class whose only base is
    ``BaseModel`` and whose body holds the ``__root__`` field, a docstring and methods that
    read ``self.__root__`` (rewritten to ``self.root``); a class with a ``Config``,
    validators naming ``__root__``, subclasses, or a module that reads ``__root__`` anywhere
    else is reported without a fix.
    """

    code: ClassVar[str] = "RC007"
    name: ClassVar[str] = "pydantic-root-model"
    summary: ClassVar[str] = "Use `RootModel` with `root`: Pydantic V1 custom root type `__root__`"
    triggers: ClassVar[tuple[bytes, ...]] = (b"__root__",)

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        change = change_for(kb, OLD)
        if change is None:
            return
        for local in model_classes(analysis):
            root = _root_field(local.node)
            if root is not None:
                start, end = analysis.lines.node_span(root.target)
                add(change, start, end, Site.RULE)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.RULE:
            return None
        for local in model_classes(analysis):
            root = _root_field(local.node)
            if root is None or analysis.lines.node_span(root.target)[0] != finding.start_offset:
                continue
            return _edits(analysis, local.node, root)
        return None


def _root_field(model: ast.ClassDef) -> ast.AnnAssign | None:
    for statement in model.body:
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == "__root__"
        ):
            return statement
    return None


def _edits(analysis: ModuleAnalysis, model: ast.ClassDef, root: ast.AnnAssign) -> list[TextEdit] | None:
    if len(model.bases) != 1 or model.keywords or not is_qualified(analysis, model.bases[0], *BASE_MODEL):
        return None
    if any(
        isinstance(local.node, ast.ClassDef) and any(_names(base) == model.name for base in local.node.bases)
        for local in analysis.classes.values()
    ):
        return None  # subclassed here: its subclasses would need the same change
    methods: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for index, statement in enumerate(model.body):
        if statement is root:
            continue
        if index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # docstring
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and not statement.decorator_list:
            methods.append(statement)
            continue
        return None
    edits: list[TextEdit] = []
    allowed: set[int] = set()
    for method in methods:
        if not method.args.args:
            return None
        self_name = method.args.args[0].arg
        for node in ast.walk(method):
            if isinstance(node, ast.Constant) and node.value == "__root__":
                return None
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "__root__"
                and isinstance(node.value, ast.Name)
                and node.value.id == self_name
            ):
                allowed.add(id(node))
                end = analysis.lines.node_span(node)[1]
                if analysis.source[end - len("__root__") : end] != "__root__":
                    return None  # an attribute split over lines
                edits.append(TextEdit(end - len("__root__"), end, "root"))
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.Attribute) and node.attr == "__root__" and id(node) not in allowed:
            return None
        if isinstance(node, ast.Constant) and node.value == "__root__":
            return None
    reference = name_reference(analysis, "pydantic", "RootModel")
    if reference is None:
        return None
    name, import_edit = reference
    base_start, base_end = analysis.lines.node_span(model.bases[0])
    target_start, target_end = analysis.lines.node_span(root.target)
    edits.extend([TextEdit(base_start, base_end, name), TextEdit(target_start, target_end, "root")])
    base = model.bases[0]
    uses = [
        node
        for node in ast.walk(analysis.tree)
        if isinstance(node, ast.Name) and isinstance(base, ast.Name) and node.id == base.id
    ]
    if isinstance(base, ast.Name) and uses == [base] and whole_module(analysis):
        # ``BaseModel`` served only this class: its import goes (renamed to ``RootModel``
        # when that still has to be imported).
        rename = name if import_edit is not None else None
        old_import = drop_import_edit(analysis, base.id, BASE_MODEL, rename)
        if old_import is not None:
            import_edit = old_import
    if import_edit is not None:
        edits.append(import_edit)
    return edits


def _names(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):
        return _names(node.value)
    return None
