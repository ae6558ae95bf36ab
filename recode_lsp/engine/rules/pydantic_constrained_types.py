"""RC009: pydantic V1 ``constr()`` / ``conint()`` / ``conlist()`` ... -> ``Annotated[T, ...]``."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.changes import FixSafety
from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import (
    change_for,
    imports_pydantic,
    model_classes,
    name_reference,
    old_import_edit,
)

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding

OLD = "pydantic.types.con_types"
#: Function -> (V2 base type, positional item type?, V1 keyword -> V2 keyword).
_NUMBER = {"strict": "strict", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le", "multiple_of": "multiple_of"}
FUNCTIONS: dict[str, tuple[str, bool, dict[str, str]]] = {
    "constr": (
        "str",
        False,
        {
            "strip_whitespace": "strip_whitespace",
            "to_upper": "to_upper",
            "to_lower": "to_lower",
            "strict": "strict",
            "min_length": "min_length",
            "max_length": "max_length",
            "regex": "pattern",
        },
    ),
    "conint": ("int", False, _NUMBER),
    "confloat": ("float", False, {**_NUMBER, "allow_inf_nan": "allow_inf_nan"}),
    "condecimal": ("Decimal", False, {**_NUMBER, "max_digits": "max_digits", "decimal_places": "decimal_places"}),
    "condate": ("date", False, {"strict": "strict", "gt": "gt", "ge": "ge", "lt": "lt", "le": "le"}),
    "conlist": ("list", True, {"min_items": "min_length", "max_items": "max_length"}),
    "conset": ("set", True, {"min_items": "min_length", "max_items": "max_length"}),
    "confrozenset": ("frozenset", True, {"min_items": "min_length", "max_items": "max_length"}),
}
#: Base types that are not builtins: where they are imported from.
_BASE_MODULES = {"Decimal": "decimal", "date": "datetime"}
_QUALIFIED = {f"{module}.{name}": name for name in FUNCTIONS for module in ("pydantic", "pydantic.types")}


class PydanticConstrainedTypes(CodeRule):
    """## What it does
    Checks for the pydantic V1 constrained-type functions ``constr()``, ``conint()``,
    ``confloat()``, ``condecimal()``, ``condate()``, ``conlist()``, ``conset()`` and
    ``confrozenset()``.

    ## Why is this bad?
    Pydantic 2.0 changed their signatures: ``constr(regex=...)`` and
    ``conlist(min_items=..., max_items=...)`` raise ``TypeError``; the V2 documentation
    recommends ``typing.Annotated`` with ``StringConstraints`` or ``Field`` instead, which
    type checkers understand (a call in an annotation is not a valid type).
    ``condecimal(max_digits=10, decimal_places=2)`` becomes
    ``Annotated[Decimal, Field(max_digits=10, decimal_places=2)]`` and ``condate(gt=d)``
    ``Annotated[date, Field(gt=d)]``, importing ``Decimal`` / ``date`` where needed.

    ## Example
    ```python
    from pydantic import BaseModel, conint, conlist, constr


    class Item(BaseModel):
        name: constr(strip_whitespace=True, min_length=1)
        quantity: conint(gt=0)
        tags: conlist(str, min_items=1)
    ```

    Use instead:
    ```python
    from typing import Annotated

    from pydantic import BaseModel, Field, StringConstraints


    class Item(BaseModel):
        name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
        quantity: Annotated[int, Field(gt=0)]
        tags: Annotated[list[str], Field(min_length=1)]
    ```

    ## Fix safety
    Safe in the annotation of a model field: the constraints are the same, under their V2
    names (``min_items`` is ``min_length``). Unsafe elsewhere (``Name = constr(...)``: V1
    returned a class, which code may call or pass to ``isinstance``; ``Annotated`` is not
    one) and for ``constr(regex=...)``: V2's ``pattern`` is searched anywhere in the
    string, V1's ``regex`` was matched at its start. A call with other arguments
    (``unique_items``, ``curtail_length``, ``**kwargs``) is reported without a fix, as is
    one where ``Field`` or ``StringConstraints`` is bound to something else (SQLModel's
    ``Field``).
    """

    code: ClassVar[str] = "RC009"
    name: ClassVar[str] = "pydantic-constrained-types"
    summary: ClassVar[str] = "Use `Annotated[T, ...]`: Pydantic V1 `constr()` / `conint()` / `conlist()` ..."
    triggers: ClassVar[tuple[bytes, ...]] = (b"con",)

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        change = change_for(kb, OLD)
        if change is None:
            return
        in_fields = _field_annotation_calls(analysis)
        for call, function in _calls(analysis):
            start, end = analysis.lines.node_span(call)
            regex = any(keyword.arg == "regex" for keyword in call.keywords)
            safe = id(call) in in_fields and not regex and _arguments(analysis, call, function) is not None
            add(change, start, end, Site.RULE, FixSafety.SAFE if safe else FixSafety.UNSAFE)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.RULE:
            return None
        calls = _calls(analysis)
        for call, function in calls:
            start, end = analysis.lines.node_span(call)
            if start != finding.start_offset:
                continue
            arguments = _arguments(analysis, call, function)
            if arguments is None:
                return None
            base, keywords = arguments
            holder_name = "StringConstraints" if function == "constr" else "Field"
            annotated = name_reference(analysis, "typing", "Annotated")
            holder = name_reference(analysis, "pydantic", holder_name)
            module = _BASE_MODULES.get(base)
            base_reference = name_reference(analysis, module, base) if module else (base, None)
            if annotated is None or holder is None or base_reference is None:
                return None
            text = f"{annotated[0]}[{base_reference[0]}, {holder[0]}({', '.join(keywords)})]"
            edits = [TextEdit(start, end, text)]
            edits.extend(_joined_insertions([annotated[1], base_reference[1]]))
            # When every use of the imported ``constr`` is fixed, its import goes with them:
            # every such fix carries the same edit of the old import (the fixer keeps one).
            all_fixable = all(
                _arguments(analysis, other, name) is not None for other, name in calls if name == function
            ) and _uses_are_calls(analysis, calls, function)
            if holder[1] is None:
                shared = old_import_edit(analysis, call.func, tuple(_QUALIFIED), all_fixable)
            elif _first_import_for(analysis, holder_name) == function:
                shared = old_import_edit(analysis, call.func, tuple(_QUALIFIED), all_fixable, holder_name)
            else:
                shared = None
            if shared is None and holder[1] is not None:
                shared = holder[1]
            if shared is not None and not any(_overlap(shared, edit) for edit in edits):
                edits.append(shared)
            elif shared is not None:
                return None
            return edits
        return None


def _first_import_for(analysis: ModuleAnalysis, holder_name: str) -> str | None:
    """The first con* function imported from ``pydantic`` whose V2 form uses ``holder_name``."""
    for statement in analysis.imports:
        if isinstance(statement, ast.ImportFrom) and statement.module == "pydantic":
            for alias in statement.names:
                if (
                    alias.name in FUNCTIONS
                    and ("StringConstraints" if alias.name == "constr" else "Field") == holder_name
                ):
                    return alias.name
    return None


def _joined_insertions(edits: list[TextEdit | None]) -> list[TextEdit]:
    """The import edits, new import lines that go in at one place joined into one edit."""
    out: list[TextEdit] = []
    for edit in edits:
        if edit is None:
            continue
        same = next((i for i, o in enumerate(out) if o.start == o.end == edit.start == edit.end), None)
        if same is None:
            out.append(edit)
        else:
            out[same] = TextEdit(edit.start, edit.end, out[same].text + edit.text)
    return out


def _overlap(a: TextEdit, b: TextEdit) -> bool:
    return a.start < b.end and b.start < a.end or a.start == b.start


def _calls(analysis: ModuleAnalysis) -> list[tuple[ast.Call, str]]:
    found: list[tuple[ast.Call, str]] = []
    if not imports_pydantic(analysis):
        return found  # the walk below resolves every call's name: too slow for every NumPy module
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            function = _QUALIFIED.get(analysis.qualified_name(node.func) or "")
            if function is not None:
                found.append((node, function))
    return found


def _uses_are_calls(analysis: ModuleAnalysis, calls: list[tuple[ast.Call, str]], function: str) -> bool:
    callees = {id(call.func) for call, _ in calls}
    return not any(
        isinstance(node, ast.Name)
        and id(node) not in callees
        and _QUALIFIED.get(analysis.qualified_name(node) or "") == function
        for node in ast.walk(analysis.tree)
    )


def _field_annotation_calls(analysis: ModuleAnalysis) -> set[int]:
    """Ids of the con* calls that are the whole annotation of a model field."""
    found: set[int] = set()
    for local in model_classes(analysis):
        for statement in local.node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.annotation, ast.Call):
                found.add(id(statement.annotation))
    return found


def _arguments(analysis: ModuleAnalysis, call: ast.Call, function: str) -> tuple[str, list[str]] | None:
    """(the V2 base type, the V2 keywords); None when the call has an unsupported argument."""
    base, takes_item, renames = FUNCTIONS[function]
    source = analysis.source

    def text(node: ast.AST) -> str:
        start, end = analysis.lines.node_span(node)
        return source[start:end]

    args = list(call.args)
    keywords = list(call.keywords)
    if takes_item:
        item: ast.expr | None = args.pop(0) if args else None
        for keyword in list(keywords):
            if keyword.arg == "item_type":
                item = keyword.value
                keywords.remove(keyword)
        if item is None or isinstance(item, ast.Starred):
            return None
        base = f"{base}[{text(item)}]"
    if args:
        return None
    converted: list[str] = []
    for keyword in keywords:
        if keyword.arg is None or keyword.arg not in renames:
            return None
        value = text(keyword.value)
        if "\n" in value:
            return None
        converted.append(f"{renames[keyword.arg]}={value}")
    return base, converted
