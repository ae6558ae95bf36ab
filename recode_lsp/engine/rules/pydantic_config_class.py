"""RC002: a pydantic V1 ``class Config:`` -> ``model_config = ConfigDict(...)``."""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.imports import add_import_from, bound_names, guarded_roots
from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule
from recode_lsp.engine.rules.pydantic_common import shown_models

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.changes import ApiChange
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding

OLD = "pydantic.BaseModel.Config"
MODEL_BASES = frozenset({"pydantic.BaseModel"})
SETTINGS_BASES = frozenset({"pydantic_settings.BaseSettings", "pydantic.BaseSettings"})

#: V1 key -> V2 key.
RENAMED = {
    "orm_mode": "from_attributes",
    "allow_population_by_field_name": "populate_by_name",
    "anystr_strip_whitespace": "str_strip_whitespace",
    "anystr_lower": "str_to_lower",
    "anystr_upper": "str_to_upper",
    "min_anystr_length": "str_min_length",
    "max_anystr_length": "str_max_length",
    "schema_extra": "json_schema_extra",
    "validate_all": "validate_default",
    "keep_untouched": "ignored_types",
}
#: V1 keys with no V2 equivalent: a person has to decide.
REMOVED = frozenset(
    {
        "fields",
        "getter_dict",
        "smart_union",
        "underscore_attrs_are_private",
        "json_loads",
        "json_dumps",
        "copy_on_model_validation",
        "post_init_call",
        "error_msg_templates",
    }
)
#: Keys of V2's ``ConfigDict``: kept as they are.
V2_KEYS = frozenset(
    {
        "title",
        "model_title_generator",
        "field_title_generator",
        "str_to_lower",
        "str_to_upper",
        "str_strip_whitespace",
        "str_min_length",
        "str_max_length",
        "extra",
        "frozen",
        "populate_by_name",
        "use_enum_values",
        "validate_assignment",
        "arbitrary_types_allowed",
        "from_attributes",
        "loc_by_alias",
        "alias_generator",
        "ignored_types",
        "allow_inf_nan",
        "json_schema_extra",
        "json_encoders",
        "strict",
        "revalidate_instances",
        "ser_json_timedelta",
        "ser_json_bytes",
        "ser_json_inf_nan",
        "validate_default",
        "validate_return",
        "protected_namespaces",
        "hide_input_in_errors",
        "defer_build",
        "plugin_settings",
        "json_schema_serialization_defaults_required",
        "json_schema_mode_override",
        "coerce_numbers_to_str",
        "regex_engine",
        "validation_error_cause",
        "use_attribute_docstrings",
        "cache_strings",
    }
)
#: Every key a V1 model's ``Config`` may set (V1 names and the V2 names kept as they are).
V1_KEYS = frozenset({*RENAMED, *REMOVED, *V2_KEYS, "allow_mutation"})
_EXTRA_VALUES = frozenset({"allow", "ignore", "forbid"})
_HEADER = re.compile(r"class\s+Config\b")
MAX_LINE = 88


class PydanticConfigClass(CodeRule):
    """## What it does
    Checks for an inner ``class Config:`` in a pydantic model (a subclass of
    ``pydantic.BaseModel`` or of ``BaseSettings``).

    ## Why is this bad?
    Pydantic 2.0 deprecated the ``Config`` class in favour of a ``model_config``
    attribute, and renamed many of its keys (``orm_mode`` is ``from_attributes``,
    ``allow_population_by_field_name`` is ``populate_by_name``, ...). Under V2 the old
    class still works with a warning, but a renamed key is ignored or rejected, so the
    model silently behaves differently.

    ## Example
    ```python
    from pydantic import BaseModel


    class User(BaseModel):
        name: str

        class Config:
            orm_mode = True
            allow_population_by_field_name = True
    ```

    Use instead:
    ```python
    from pydantic import BaseModel, ConfigDict


    class User(BaseModel):
        name: str

        model_config = ConfigDict(from_attributes=True, populate_by_name=True)
    ```

    ## Fix safety
    The fix is unsafe. Some keys changed behaviour as well as name: ``frozen=True`` also
    makes instances hashable, which ``allow_mutation = False`` did not; a
    ``json_schema_extra`` dict or callable now edits the V2 JSON schema, whose shape
    differs from V1's. Comments inside the class move into the ``ConfigDict(...)`` call.

    The fix maps every V1 key to its V2 name (``allow_mutation = False`` becomes
    ``frozen=True``, ``extra = Extra.forbid`` becomes ``extra="forbid"``), keeps values
    and comments as written, turns a docstring of ``Config`` into comments, and imports
    ``ConfigDict`` (``SettingsConfigDict`` from ``pydantic_settings`` for settings
    classes). A key it does not know (``env_prefix`` and the other pydantic-settings keys,
    a project's own flag) is kept as written, never dropped: V2 keeps unknown keys in
    ``model_config``. It leaves the class alone when the body holds anything but
    ``name = value`` assignments and a docstring (methods such as ``customise_sources``),
    a key that V2 removed (``fields``, ``getter_dict``, ``smart_union``, ``json_loads``,
    ...), when ``Config`` has bases or decorators, when the model already sets ``model_config``, or when the module
    refers to ``Model.Config``; those sites are reported without a fix.
    """

    code: ClassVar[str] = "RC002"
    name: ClassVar[str] = "pydantic-config-class"
    summary: ClassVar[str] = "Use `model_config = ConfigDict(...)`: Pydantic V1 `class Config:` in a model"
    triggers: ClassVar[tuple[bytes, ...]] = (b"Config",)

    def find(self, analysis: ModuleAnalysis, kb: KnowledgeBase, add: Callable[..., None]) -> None:
        change = _config_change(kb)
        if change is None:
            return
        shown = shown_models(analysis)
        for local in analysis.classes.values():
            if not _model_kind(local.bases) and local.key not in shown:
                continue
            for statement in local.node.body:
                if isinstance(statement, ast.ClassDef) and statement.name == "Config":
                    start = analysis.lines.node_span(statement)[0]
                    match = _HEADER.match(analysis.source, start)
                    if match is None:
                        continue
                    add(change, start, match.end(), Site.RULE)

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.RULE:
            return None  # ``Model.Config`` references: a person decides
        found = _config_at(analysis, finding.start_offset)
        if found is None:
            return None
        model, config = found
        local = analysis.classes.get(_class_key(analysis, model))
        kind = _model_kind(local.bases) if local is not None else None
        if kind is None and local is not None and local.key in shown_models(analysis):
            kind = "model"  # a model whose pydantic base is in another module
        if kind is None or config.bases or config.keywords or config.decorator_list:
            return None
        if _sets_model_config(model) or _config_referenced(analysis, model):
            return None
        items = _items(config, analysis)
        if items is None:
            return None
        module, factory = (
            ("pydantic_settings", "SettingsConfigDict") if kind == "settings" else ("pydantic", "ConfigDict")
        )
        reference = _factory_reference(analysis, module, factory)
        if reference is None:
            return None
        name, import_edit = reference
        start, end = _statement_span(analysis, config)
        comments = _comments(analysis, start, end)
        if comments is None:
            return None
        text = _render(analysis, config, items, name, comments)
        edits = [TextEdit(start, end, text)]
        if import_edit is not None:
            edits.append(import_edit)
        return edits


def _config_change(kb: KnowledgeBase) -> ApiChange | None:
    return kb.first_by_old.get(OLD)


def _model_kind(bases: list[str]) -> str | None:
    """``"settings"`` or ``"model"`` for pydantic classes, None for anything else."""
    if any(base in SETTINGS_BASES for base in bases):
        return "settings"
    if any(base in MODEL_BASES for base in bases):
        return "model"
    return None


def _config_at(analysis: ModuleAnalysis, offset: int) -> tuple[ast.ClassDef, ast.ClassDef] | None:
    for local in analysis.classes.values():
        for statement in local.node.body:
            if (
                isinstance(statement, ast.ClassDef)
                and statement.name == "Config"
                and analysis.lines.node_span(statement)[0] == offset
            ):
                return local.node, statement
    return None


def _class_key(analysis: ModuleAnalysis, node: ast.ClassDef) -> str:
    for key, local in analysis.classes.items():
        if local.node is node:
            return key
    return ""


def _sets_model_config(model: ast.ClassDef) -> bool:
    for statement in model.body:
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
            return True
    return False


def _config_referenced(analysis: ModuleAnalysis, model: ast.ClassDef) -> bool:
    """Whether the module reads ``Model.Config`` (or ``self.Config`` inside the model)."""
    key = _class_key(analysis, model)
    for node in ast.walk(analysis.tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "Config"):
            continue
        value = node.value
        if isinstance(value, (ast.Name, ast.Attribute)) and analysis.qualified_name(value) == key:
            return True
        if analysis.expression_type(value) == key:
            return True
        if isinstance(value, ast.Name) and value.id == model.name:
            return True
    return False


def _items(config: ast.ClassDef, analysis: ModuleAnalysis) -> list[tuple[ast.stmt, str, str]] | None:
    """(statement, V2 key, value text) per assignment of the body; None when unsupported."""
    items: list[tuple[ast.stmt, str, str]] = []
    source = analysis.source
    for index, statement in enumerate(config.body):
        if isinstance(statement, ast.Pass) or (index == 0 and _docstring(config) is not None):
            continue
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            value: ast.expr | None = statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.simple:
            target, value = statement.target, statement.value
        else:
            return None
        if not isinstance(target, ast.Name) or value is None:
            return None
        key = target.id
        start, end = analysis.lines.node_span(value)
        value_text = source[start:end]
        if not _is_one_keyword_value(value_text):
            value_text = f"({value_text})"  # ``key = a, b`` is one value; ``key=a, b`` is not
        if key in REMOVED:
            return None
        if key == "allow_mutation":
            if not (isinstance(value, ast.Constant) and value.value is False):
                return None
            key, value_text = "frozen", "True"
        elif key == "extra":
            mode = _extra_mode(value, analysis)
            if mode is None:
                return None
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                value_text = f'"{mode}"'
        else:
            key = RENAMED.get(key, key)
            # A key V2 does not know (``env_prefix`` of a settings class, a project's own
            # flag) is kept as written: V2 keeps unknown keys in ``model_config``.
        items.append((statement, key, value_text))
    keys = [key for _, key, _ in items]
    if len(set(keys)) != len(keys):
        return None  # ``orm_mode`` and ``from_attributes`` both given: a person decides
    return items


def _docstring(config: ast.ClassDef) -> str | None:
    """The docstring of ``class Config:``, when its body starts with one."""
    first = config.body[0] if config.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.value.value
    return None


def _is_one_keyword_value(text: str) -> bool:
    try:
        call = ast.parse(f"f(k={text})", mode="eval").body
    except SyntaxError:
        return False
    return isinstance(call, ast.Call) and not call.args and len(call.keywords) == 1


def _extra_mode(value: ast.expr, analysis: ModuleAnalysis) -> str | None:
    if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value in _EXTRA_VALUES:
        return value.value
    if isinstance(value, ast.Attribute) and value.attr in _EXTRA_VALUES:
        owner = analysis.qualified_name(value.value)
        if owner in ("pydantic.Extra", "pydantic.config.Extra"):
            return value.attr
    return None


def _factory_reference(analysis: ModuleAnalysis, module: str, name: str) -> tuple[str, TextEdit | None] | None:
    """How to spell ``module.name`` here, and the import edit that makes it available."""
    qname = f"{module}.{name}"
    bindings = analysis.module_scope.bindings
    for local, found in bindings.items():
        if found[-1].qname == qname and found[-1].kind == "import_from":
            return local, None
    for local, found in bindings.items():
        if found[-1].qname == module and found[-1].kind == "import":
            return f"{local}.{name}", None
    if name in bound_names(analysis.tree):
        return None  # ``ConfigDict`` means something else here
    if module.split(".", 1)[0] in guarded_roots(analysis.tree):
        return None  # pydantic is imported under a guard here: a module-level import would defeat it
    return name, add_import_from(analysis.tree, analysis.source, analysis.lines, module, name)


def _statement_span(analysis: ModuleAnalysis, config: ast.ClassDef) -> tuple[int, int]:
    """From ``class`` to the end of the last body statement, with its trailing comment."""
    start, end = analysis.lines.node_span(config)
    source = analysis.source
    newline = source.find("\n", end)
    rest = source[end : len(source) if newline == -1 else newline]
    if rest.strip().startswith("#"):
        end += len(rest.rstrip())
    return start, end


def _comments(analysis: ModuleAnalysis, start: int, end: int) -> dict[int, str] | None:
    """0-based line -> comment text, for the comments in ``[start, end)``."""
    first_line = analysis.lines.position(start)[0]
    segment = analysis.source[analysis.lines.line_starts[first_line] : end]
    found: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(segment).readline):
            if token.type == tokenize.COMMENT:
                found[first_line + token.start[0] - 1] = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return found


def _render(
    analysis: ModuleAnalysis,
    config: ast.ClassDef,
    items: list[tuple[ast.stmt, str, str]],
    factory: str,
    comments: dict[int, str],
) -> str:
    """``model_config = ConfigDict(...)``: one line when it fits, else one key per line."""
    header_line = config.lineno - 1
    indent = _line_indent(analysis, header_line)
    head = f"model_config = {factory}("
    single = head + ", ".join(f"{key}={value}" for _, key, value in items) + ")"
    docstring = _docstring(config)
    doc_lines = [f"# {line}".rstrip() for line in inspect.cleandoc(docstring).splitlines()] if docstring else []
    if "\n" not in single and set(comments) <= {header_line} and not doc_lines:
        one_line = single + (f"  {comments[header_line]}" if comments else "")
        if len(indent) + len(one_line) <= MAX_LINE:
            return one_line
    if config.body[0].lineno - 1 == header_line:
        body_indent = indent + ("\t" if "\t" in indent else "    ")
    else:
        body_indent = _line_indent(analysis, config.body[0].lineno - 1)
    used: set[int] = set()
    lines = [head]
    if header_line in comments:
        lines[0] += f"  {comments[header_line]}"
        used.add(header_line)
    lines.extend(f"{body_indent}{line}" for line in doc_lines)  # the docstring, as comments
    # The statement a trailing comment belongs to: the last one that ends on its line.
    last_on_line = {(s.end_lineno or s.lineno) - 1: s for s in config.body}
    values = {id(statement): (key, value) for statement, key, value in items}
    for statement in config.body:
        first = statement.lineno - 1
        last = (statement.end_lineno or statement.lineno) - 1
        for line in sorted(comments):
            if line < first and line not in used:  # comment lines above the statement
                lines.append(f"{body_indent}{comments[line]}")
                used.add(line)
        used.update(range(first, last))  # comments inside a value are part of its text
        if id(statement) not in values:
            continue  # ``pass``
        key, value = values[id(statement)]
        trailing = ""
        if last in comments and last not in used and last_on_line[last] is statement:
            trailing = f"  {comments[last]}"
            used.add(last)
        lines.append(f"{body_indent}{key}={value},{trailing}")
    lines.extend(f"{body_indent}{comments[line]}" for line in sorted(comments) if line not in used)
    lines.append(f"{indent})")
    return "\n".join(lines)


def _line_indent(analysis: ModuleAnalysis, line: int) -> str:
    start = analysis.lines.line_starts[line]
    text = analysis.source[start:]
    return text[: len(text) - len(text.lstrip(" \t"))]
