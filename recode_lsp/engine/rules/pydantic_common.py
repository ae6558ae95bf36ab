"""Helpers shared by the pydantic code rules (no rule lives here)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

from recode_lsp.engine.imports import add_import_from, bound_names, guarded_roots

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import LocalClass, ModuleAnalysis
    from recode_lsp.engine.changes import ApiChange
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import TextEdit

#: Bases that make a class a pydantic model (SQLModel models are pydantic models).
MODEL_BASES = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic_settings.BaseSettings",
        "pydantic.BaseSettings",
        "pydantic.generics.GenericModel",
        "sqlmodel.SQLModel",
    }
)


def change_for(kb: KnowledgeBase, old: str) -> ApiChange | None:
    """The knowledge-base entry a rule reports, by its ``old`` name (None: not loaded)."""
    return kb.first_by_old.get(old)


def imports_pydantic(analysis: ModuleAnalysis) -> bool:
    """Whether the module imports pydantic (or SQLModel) at all: a cheap test before a rule walks the tree."""
    for statement in analysis.imports:
        if isinstance(statement, ast.ImportFrom):
            if statement.level == 0 and (statement.module or "").split(".", 1)[0] in ("pydantic", "sqlmodel"):
                return True
        elif any(alias.name.split(".", 1)[0] in ("pydantic", "sqlmodel") for alias in statement.names):
            return True
    return False


#: Decorators that only a pydantic model's methods carry.
VALIDATOR_DECORATORS = frozenset(
    {
        "pydantic.validator",
        "pydantic.class_validators.validator",
        "pydantic.root_validator",
        "pydantic.class_validators.root_validator",
    }
)
#: ``class Config`` keys too generic to tell a pydantic model by (other libraries use them too).
_GENERIC_CONFIG_KEYS = frozenset({"title", "frozen", "strict"})


def model_classes(analysis: ModuleAnalysis) -> list[LocalClass]:
    """The module's pydantic model classes (direct or inherited, or shown by their body)."""
    shown = shown_models(analysis)
    return [
        local
        for local in analysis.classes.values()
        if any(base in MODEL_BASES for base in local.bases) or local.key in shown
    ]


def shown_models(analysis: ModuleAnalysis) -> set[str]:
    """Keys of the classes with no pydantic base in sight that are models all the same.

    A model whose base comes from another module of the project (LangChain's ``ChatOpenAI``
    -> ``BaseChatModel`` -> ... -> ``BaseModel``) has no pydantic base this module can see;
    its body still says what it is (:func:`shows_model`), as it does to a reader. A subclass
    of such a class in the same module is one too.
    """
    shown: set[str] = set()
    if not imports_pydantic(analysis) or _uses_v1_layer(analysis):
        return shown  # a module on ``pydantic.v1`` stays V1 on purpose
    for local in analysis.classes.values():  # in source order: a base comes before its subclasses
        if any(base in MODEL_BASES or base.startswith("pydantic.") for base in local.bases):
            continue
        if any(base in shown for base in local.bases) or shows_model(analysis, local.node):
            shown.add(local.key)
    return shown


def _uses_v1_layer(analysis: ModuleAnalysis) -> bool:
    for statement in analysis.imports:
        if isinstance(statement, ast.ImportFrom):
            modules = [statement.module or ""]
        else:
            modules = [alias.name for alias in statement.names]
        if any(module == "pydantic.v1" or module.startswith("pydantic.v1.") for module in modules):
            return True
    return False


def shows_model(analysis: ModuleAnalysis, node: ast.ClassDef) -> bool:
    """Whether a class's own body marks it as a pydantic V1 model, whatever its bases.

    Either a method carries pydantic's ``@validator`` / ``@root_validator``, or an inner
    ``class Config`` sets only keys pydantic knows, one of them pydantic's own (not
    ``title`` alone). A class with no base (``class Mixin:``) is not a model.
    """
    if not [base for base in node.bases if not (isinstance(base, ast.Name) and base.id == "object")]:
        return False
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in statement.decorator_list:
                callee = decorator.func if isinstance(decorator, ast.Call) else decorator
                if is_qualified(analysis, callee, *VALIDATOR_DECORATORS):
                    return True
        elif isinstance(statement, ast.ClassDef) and statement.name == "Config" and _pydantic_config(statement):
            return True
    return False


def _pydantic_config(config: ast.ClassDef) -> bool:
    from recode_lsp.engine.rules.pydantic_config_class import V1_KEYS

    keys = []
    for index, statement in enumerate(config.body):
        if index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target: ast.expr = statement.targets[0]
        elif isinstance(statement, ast.AnnAssign):
            target = statement.target
        else:
            return False
        if not isinstance(target, ast.Name) or target.id not in V1_KEYS:
            return False
        keys.append(target.id)
    return any(key not in _GENERIC_CONFIG_KEYS for key in keys)


def enclosing_model(analysis: ModuleAnalysis, node: ast.AST) -> LocalClass | None:
    """The model class whose body holds ``node`` directly."""
    for local in model_classes(analysis):
        if any(statement is node for statement in local.node.body):
            return local
    return None


def name_reference(analysis: ModuleAnalysis, module: str, name: str) -> tuple[str, TextEdit | None] | None:
    """How to spell ``module.name`` here, and the import edit that makes it available.

    None when the name cannot be made available safely (taken by something else, or the
    module is imported under a guard).
    """
    qname = f"{module}.{name}"
    bindings = analysis.module_scope.bindings
    for local, found in bindings.items():
        if found[-1].qname == qname and found[-1].kind == "import_from":
            return local, None
    for local, found in bindings.items():
        if found[-1].qname == module and found[-1].kind == "import":
            return f"{local}.{name}", None
    if name in bound_names(analysis.tree):
        return None
    if module.split(".", 1)[0] in guarded_roots(analysis.tree):
        return None
    return name, add_import_from(analysis.tree, analysis.source, analysis.lines, module, name)


def is_qualified(analysis: ModuleAnalysis, node: ast.AST, *names: str) -> bool:
    """Whether ``node`` (a name or attribute) refers to one of the qualified ``names``."""
    if not isinstance(node, (ast.Name, ast.Attribute)):
        return False
    return analysis.qualified_name(node) in names


def line_indent(analysis: ModuleAnalysis, line: int) -> str:
    """Leading whitespace of 0-based ``line``."""
    start = analysis.lines.line_starts[line]
    text = analysis.source[start:]
    return text[: len(text) - len(text.lstrip(" \t"))]


def whole_module(analysis: ModuleAnalysis) -> bool:
    """Whether ``analysis`` saw the whole module (not an excerpt of the language server)."""
    try:
        return len(ast.parse(analysis.source).body) == len(analysis.tree.body)
    except SyntaxError:
        return False


def decorator_sites(
    analysis: ModuleAnalysis, qualified: tuple[str, ...]
) -> list[tuple[ast.ClassDef, ast.FunctionDef | ast.AsyncFunctionDef, ast.expr]]:
    """(model, method, decorator) for every method of a model decorated with one of ``qualified``."""
    found = []
    for local in model_classes(analysis):
        for statement in local.node.body:
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for decorator in statement.decorator_list:
                callee = decorator.func if isinstance(decorator, ast.Call) else decorator
                if is_qualified(analysis, callee, *qualified):
                    found.append((local.node, statement, decorator))
    return found


def drop_import_edit(
    analysis: ModuleAnalysis, local: str, qualified: tuple[str, ...], rename_to: str | None = None
) -> TextEdit | None:
    """Edit that removes ``local`` (a ``from M import local``) from its import statement.

    With ``rename_to``, the alias is renamed instead (``validator`` -> ``field_validator``).

    None when the alias cannot be removed cleanly (a comment next to it, a statement that
    shares its line, an alias with ``as``, a name listed in ``__all__``).
    """
    from recode_lsp.engine.imports import names_in_dunder_all
    from recode_lsp.engine.model import TextEdit

    if local in names_in_dunder_all(analysis.tree):
        return None
    source = analysis.source
    for statement in analysis.tree.body:
        if not isinstance(statement, ast.ImportFrom) or statement.level:
            continue
        for index, alias in enumerate(statement.names):
            if alias.asname or alias.name != local or f"{statement.module}.{alias.name}" not in qualified:
                continue
            start, end = analysis.lines.node_span(statement)
            if rename_to is not None:
                if statement.module != "pydantic":
                    return None
                alias_start, alias_end = analysis.lines.node_span(alias)
                return TextEdit(alias_start, alias_end, rename_to)
            if len(statement.names) == 1:
                line_start = source.rfind("\n", 0, start) + 1
                newline = source.find("\n", end)
                line_end = len(source) if newline == -1 else newline + 1
                if source[line_start:start].strip() or source[end:line_end].strip():
                    return None
                return TextEdit(line_start, line_end, "")
            alias_start, alias_end = analysis.lines.node_span(alias)
            if index + 1 < len(statement.names):
                cut = (alias_start, analysis.lines.node_span(statement.names[index + 1])[0])
            else:
                cut = (analysis.lines.node_span(statement.names[index - 1])[1], alias_end)
            if "#" in source[cut[0] : cut[1]]:
                return None
            return TextEdit(cut[0], cut[1], "")
    return None


def old_import_edit(
    analysis: ModuleAnalysis,
    node: ast.expr,
    qualified: tuple[str, ...],
    all_fixable: bool,
    rename_to: str | None = None,
) -> TextEdit | None:
    """The edit of the old import that goes with fixing the use ``node`` of an imported name.

    Only when every use of the name is a site the rule fixes: then every site's fix carries
    this same edit (the fixer keeps one copy), so the old import goes when the uses go, in
    the same round. The alias is renamed to ``rename_to`` when the new name still has to be
    imported, else removed.
    """
    if not (isinstance(node, ast.Name) and all_fixable and whole_module(analysis)):
        return None
    return drop_import_edit(analysis, node.id, qualified, rename_to)


DecoratorSite = tuple[ast.ClassDef, ast.FunctionDef | ast.AsyncFunctionDef, ast.expr]


def uses_are_sites(analysis: ModuleAnalysis, sites: list[DecoratorSite], qualified: tuple[str, ...]) -> bool:
    """Whether every reference to one of ``qualified`` in the module is one of the decorator sites."""
    callees = {id(d.func if isinstance(d, ast.Call) else d) for _, _, d in sites}
    return not any(
        isinstance(node, ast.Name) and id(node) not in callees and is_qualified(analysis, node, *qualified)
        for node in ast.walk(analysis.tree)
    )


def decorator_rename(
    analysis: ModuleAnalysis,
    sites: list[DecoratorSite],
    decorator: ast.expr,
    old: tuple[str, ...],
    new_name: str,
    fixable: Callable[[DecoratorSite], bool],
) -> tuple[str, TextEdit | None] | None:
    """How a fix of ``decorator`` names ``pydantic.<new_name>``, and the import edit that goes with it.

    The new name is imported (or reused); when every use of the old decorator is a site that
    ``fixable`` accepts, each fix carries the same edit of the old import instead, which renames
    it (or drops it). None: the new name cannot be had here.
    """
    reference = name_reference(analysis, "pydantic", new_name)
    if reference is None:
        return None
    name, import_edit = reference
    callee = decorator.func if isinstance(decorator, ast.Call) else decorator
    all_fixable = uses_are_sites(analysis, sites, old) and all(fixable(site) for site in sites)
    rename = name if import_edit is not None else None
    shared = old_import_edit(analysis, callee, old, all_fixable, rename)
    return name, shared if shared is not None else import_edit
