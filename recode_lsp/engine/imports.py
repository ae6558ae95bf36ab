"""Import edits as text edits: add ``from M import a``, drop an alias, reuse what exists.

The fixer calls these on a freshly parsed module. Each function returns :class:`TextEdit`
values against that module's source; nothing here formats code beyond the one import
statement it rewrites, so the rest of the file (comments, layout) is left as it was.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import sys
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from recode_lsp.engine.analysis import LineIndex, dotted_parts
from recode_lsp.engine.model import TextEdit

MAX_LINE = 88

_COMMENT = re.compile(r"#[^\r\n]*")


def comment_spans(source: str) -> tuple[tuple[int, int], ...]:
    """Offsets ``(start, end)`` of every comment in ``source``, in order."""
    if "#" not in source:
        return ()
    return _comment_spans(source)


@lru_cache(maxsize=8)
def _comment_spans(source: str) -> tuple[tuple[int, int], ...]:
    lines = LineIndex(source)
    spans: list[tuple[int, int]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                start = lines.line_starts[token.start[0] - 1] + token.start[1]
                spans.append((start, start + len(token.string)))
    except (tokenize.TokenError, SyntaxError, IndentationError, IndexError):
        # Cannot tokenize: treat every ``#`` as a comment, which only makes callers keep more.
        return tuple(match.span() for match in _COMMENT.finditer(source))
    return tuple(spans)


def comments_between(source: str, start: int, end: int) -> list[str]:
    """Text of the comments that start in ``source[start:end]``."""
    if "#" not in source[start:end]:
        return []
    return [source[s:e] for s, e in comment_spans(source) if start <= s < end]


def keeping_comments(source: str, lines: LineIndex, statement: ast.stmt, start: int, end: int, text: str) -> str:
    """``text`` for the edit ``[start, end)`` of ``statement``, with the comments it removes.

    A rewritten import keeps its comments on lines of their own above it (at the statement's
    indentation); a removed one leaves them where it stood.
    """
    found = comments_between(source, start, end)
    if not found:
        return text
    line_start = lines.line_starts[statement.lineno - 1]
    line_end = source.find("\n", line_start)
    line = source[line_start : line_end if line_end != -1 else len(source)]
    indent = line[: len(line) - len(line.lstrip())]
    if not text:  # the statement's whole lines go: the comments stay as lines
        return "".join(f"{indent}{comment}\n" for comment in found)
    return "".join(f"{comment}\n{indent}" for comment in found) + text


def alias_text(alias: ast.alias) -> str:
    return f"{alias.name} as {alias.asname}" if alias.asname else alias.name


def render_import_from(module: str, level: int, names: list[str], indent: str = "") -> str:
    head = f"from {'.' * level}{module} import "
    single = head + ", ".join(names)
    if len(indent) + len(single) <= MAX_LINE:
        return single
    body = "".join(f"{indent}    {name},\n" for name in names)
    return f"{head}(\n{body}{indent})"


def render_import(names: list[str]) -> str:
    return "import " + ", ".join(names)


def _indent_of(source: str, lines: LineIndex, statement: ast.stmt) -> str:
    start = lines.line_starts[statement.lineno - 1]
    text = source[start : lines.offset(statement.lineno, statement.col_offset)]
    return text if not text.strip() else ""


def statement_span_with_line(source: str, lines: LineIndex, statement: ast.stmt) -> tuple[int, int]:
    """Span of a statement that sits alone on its lines, including the line break."""
    start, end = lines.node_span(statement)
    line_start = lines.line_starts[statement.lineno - 1]
    before = source[line_start:start]
    after_end = source.find("\n", end)
    after = source[end : after_end if after_end != -1 else len(source)]
    if before.strip() or after.split("#", 1)[0].strip():
        return start, end  # shares its line with other code (``import a; b()``)
    return line_start, (after_end + 1 if after_end != -1 else len(source))


def _is_only_statement(tree: ast.Module, statement: ast.stmt) -> bool:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if isinstance(block, list) and statement in block:
                return len(block) == 1 and node is not tree
    return False


def remove_aliases(
    tree: ast.Module,
    source: str,
    lines: LineIndex,
    statement: ast.Import | ast.ImportFrom,
    remove: Iterable[ast.alias],
) -> TextEdit:
    """Edit that drops ``remove`` from ``statement`` (the whole statement when none remain)."""
    removing = set(map(id, remove))
    kept = [alias for alias in statement.names if id(alias) not in removing]
    if kept:
        indent = _indent_of(source, lines, statement)
        names = [alias_text(alias) for alias in kept]
        if isinstance(statement, ast.ImportFrom):
            text = render_import_from(statement.module or "", statement.level, names, indent)
        else:
            text = render_import(names)
        start, end = lines.node_span(statement)
        return TextEdit(start, end, keeping_comments(source, lines, statement, start, end, text))
    if _is_only_statement(tree, statement):
        start, end = lines.node_span(statement)
        return TextEdit(start, end, keeping_comments(source, lines, statement, start, end, "pass"))
    start, end = statement_span_with_line(source, lines, statement)
    if (start, end) == lines.node_span(statement):
        return TextEdit(start, end, keeping_comments(source, lines, statement, start, end, "pass"))
    return TextEdit(start, end, keeping_comments(source, lines, statement, start, end, ""))


def top_level_import_from(tree: ast.Module, module: str) -> ast.ImportFrom | None:
    """An existing unconditional ``from module import ...`` at module level."""
    for statement in tree.body:
        if (
            isinstance(statement, ast.ImportFrom)
            and statement.level == 0
            and statement.module == module
            and not any(alias.name == "*" for alias in statement.names)
        ):
            return statement
    return None


def header_end(source: str) -> int:
    """Offset after the module's leading comment lines (shebang, coding cookie, licence...).

    Nothing may go above a ``#!`` line or a coding cookie (the file would run with another
    interpreter or stop decoding), and a comment block at the top belongs to the file.
    """
    offset = 1 if source.startswith("\ufeff") else 0
    end = offset
    for line in source[offset:].splitlines(keepends=True):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
        offset += len(line)
        if stripped:
            end = offset
    return end


def insertion_point(tree: ast.Module, source: str, lines: LineIndex) -> int:
    """Offset for a new import: after the leading comments, docstring and top-level imports.

    Only unconditional top-level imports are passed over; an import inside ``try:`` (a
    guard) or ``if`` is never entered, so a new import goes above it.
    """
    offset = header_end(source)
    body = tree.body
    index = 0
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        offset = _line_end(source, lines, body[0])
        index = 1
    while index < len(body) and isinstance(body[index], (ast.Import, ast.ImportFrom)):
        offset = _line_end(source, lines, body[index])
        index += 1
    return offset


def _line_end(source: str, lines: LineIndex, statement: ast.stmt) -> int:
    _, end = lines.node_span(statement)
    newline = source.find("\n", end)
    return len(source) if newline == -1 else newline + 1


def import_edits(
    tree: ast.Module, source: str, lines: LineIndex, needed: Iterable[tuple[str, str, str | None]]
) -> list[TextEdit]:
    """Edits that make every ``(module, name, asname)`` importable at module level.

    A name joins an existing unconditional ``from module import ...``; the others become new
    lines after the module's leading imports. An empty name means ``import module``.
    """
    by_module: dict[str, list[str]] = {}
    for module, name, asname in dict.fromkeys(needed):
        wanted = f"{name} as {asname}" if asname else name
        names = by_module.setdefault(module, [])
        if wanted not in names:
            names.append(wanted)
    edits: list[TextEdit] = []
    new_lines: list[str] = []
    for module, names in by_module.items():
        if names == [""]:
            new_lines.append(f"import {module}\n")
            continue
        names = [name for name in names if name]
        existing = top_level_import_from(tree, module)
        if existing is not None:
            current = [alias_text(alias) for alias in existing.names]
            merged = current + [n for n in names if n not in current]
            start, end = lines.node_span(existing)
            text = keeping_comments(source, lines, existing, start, end, render_import_from(module, 0, merged))
            edits.append(TextEdit(start, end, text))
        else:
            new_lines.append(render_import_from(module, 0, names) + "\n")
    if new_lines:
        offset = insertion_point(tree, source, lines)
        text = "".join(new_lines)
        if offset == len(source) and source and not source.endswith("\n"):
            text = "\n" + text
        edits.append(TextEdit(offset, offset, text))
    return edits


def add_import_from(
    tree: ast.Module, source: str, lines: LineIndex, module: str, name: str, asname: str | None = None
) -> TextEdit:
    """Edit that makes ``from module import name [as asname]`` available at module level."""
    (edit,) = import_edits(tree, source, lines, [(module, name, asname)])
    return edit


def bound_names(tree: ast.Module) -> set[str]:
    """Every name bound or used anywhere in the module (a new import must not collide)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".", 1)[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def names_in_dunder_all(tree: ast.Module) -> set[str]:
    exported: set[str] = set()
    for statement in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)) and statement.value is not None:
            targets, value = [statement.target], statement.value
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and isinstance(
            value, (ast.List, ast.Tuple)
        ):
            exported.update(e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return exported


def loaded_names(tree: ast.Module) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store)}


_TYPE_COMMENT = re.compile(r"#\s*type:\s*(?!ignore\b)(?P<text>.*)")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAST_NAMES = frozenset({"cast", "TypeVar", "NewType"})


def _names_in_string(text: str, depth: int = 0) -> set[str]:
    """Names a string annotation (``'List[int]'``, ``'Optional["Dict"]'``) refers to."""
    try:
        expression = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return set()
    names: set[str] = set()
    for node in ast.walk(expression):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and depth < 3:
            names |= _names_in_string(node.value, depth + 1)
    return names


def _strings_in(node: ast.AST | None) -> Iterable[str]:
    if node is None:
        return
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            yield inner.value


def annotation_strings(node: ast.AST) -> list[str]:
    """The strings ``node`` itself (not its children) holds where a type is read: an argument's or a
    return annotation, a subscript (``List['Model']``), ``cast('T', x)``, a ``TypeAlias`` value."""
    strings: list[str] = []
    for child in typed_children(node):
        strings.extend(_strings_in(child))
    return strings


def typed_children(node: ast.AST) -> list[ast.AST]:
    """The children of ``node`` below which every string is read as a type (see
    :func:`annotation_strings`): a walk of a whole tree can carry that down to the strings
    instead of walking each of these subtrees again (nested subscripts were walked once per
    level)."""
    children: list[ast.expr | None]
    if isinstance(node, ast.arg):
        children = [node.annotation]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        children = [node.returns]
    elif isinstance(node, ast.AnnAssign):
        children = [node.annotation]
        annotation = dotted_name(node.annotation)
        if annotation is not None and annotation.rpartition(".")[2] == "TypeAlias":
            children.append(node.value)
    elif isinstance(node, ast.Subscript):
        children = [node.slice]
    elif isinstance(node, ast.Call):
        callee = dotted_name(node.func)
        if callee is None or callee.rpartition(".")[2] not in _CAST_NAMES:
            return []
        children = [*node.args, *(keyword.value for keyword in node.keywords)]
    elif type(node).__name__ == "TypeAlias":  # ``type X = 'List[int]'`` (3.12)
        children = [getattr(node, "value", None)]
    else:
        return []
    return [child for child in children if child is not None]


def string_annotation_names(tree: ast.Module) -> set[str]:
    """Names referred to from string annotations and other typing strings.

    Covers annotations of parameters, returns and variables, string subscripts anywhere
    (``Optional['Dict']``), ``cast('List[int]', x)``, ``TypeVar('T', bound='List')`` and
    ``X: TypeAlias = 'List[int]'``. Read conservatively: a name counted here keeps its import.
    """
    names: set[str] = set()
    for text in type_strings(tree):
        names |= _names_in_string(text)
    return names


def type_strings(tree: ast.AST) -> set[str]:
    """Every string below ``tree`` that :func:`annotation_strings` reads as a type, in one walk.

    The walk carries "below a type" down to the strings (see :func:`typed_children`), where
    asking :func:`annotation_strings` of every node walked each annotation again, nested
    subscripts once per level: most of the time of ``string_annotation_names`` on a typed module.
    """
    strings: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, typed = stack.pop()
        if isinstance(node, ast.Constant):
            if typed and isinstance(node.value, str):
                strings.add(node.value)
            continue
        below = () if typed else {id(child) for child in typed_children(node)}
        for child in ast.iter_child_nodes(node):
            # A keyword's value (``bound='List'``) is a grandchild: its keyword carries it.
            stack.append((child, typed or id(child.value if isinstance(child, ast.keyword) else child) in below))
    return strings


def type_comment_names(source: str) -> set[str]:
    """Every identifier in ``# type:`` comments (``# type: Dict[str, int]``, ``# type: (List[int]) -> None``)."""
    if "type:" not in source:
        return set()
    names: set[str] = set()
    for start, end in comment_spans(source):
        match = _TYPE_COMMENT.match(source, start, end)
        if match is not None:
            names.update(_IDENTIFIER.findall(match.group("text")))
    return names


def dotted_name(node: ast.AST | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = dotted_parts(node) if node is not None else None
    return ".".join(parts) if parts is not None else None


def referenced_outside_code(tree: ast.Module, source: str) -> set[str]:
    """Names used where no ``ast.Name`` shows them: string annotations, ``__all__``, type comments.

    An import binding named here stays, even when the code no longer loads it.
    """
    return string_annotation_names(tree) | names_in_dunder_all(tree) | type_comment_names(source)


@dataclass
class ImportRoots:
    """Where the module imports each top-level package."""

    #: Imported by an unconditional statement at module level.
    unconditional: set[str] = dataclasses.field(default_factory=set)
    #: Imported under ``try:`` / ``if`` / ``with`` somewhere (an import guard).
    guarded: set[str] = dataclasses.field(default_factory=set)
    #: Imported inside a function or class body (a lazy import).
    nested: set[str] = dataclasses.field(default_factory=set)


def import_roots(tree: ast.Module) -> ImportRoots:
    """The packages the module imports, by how: a new module-level import of a package that is
    only imported under a guard or lazily would defeat that (an optional dependency)."""
    roots = ImportRoots()

    def visit(statements: list[ast.stmt], guarded: bool, nested: bool) -> None:
        for statement in statements:
            names: list[str] = []
            if isinstance(statement, ast.Import):
                names = [alias.name.split(".", 1)[0] for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
                names = [statement.module.split(".", 1)[0]]
            if names:
                (roots.guarded if guarded else roots.nested if nested else roots.unconditional).update(names)
                continue
            inner_nested = nested or isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            inner_guarded = (
                guarded
                or isinstance(
                    statement, (ast.Try, ast.If, ast.With, ast.AsyncWith, ast.While, ast.For, ast.AsyncFor, ast.Match)
                )
                or type(statement).__name__ == "TryStar"
            )
            for name in ("body", "orelse", "finalbody"):
                block = getattr(statement, name, None)
                if isinstance(block, list):
                    visit(block, inner_guarded, inner_nested)
            for handler in getattr(statement, "handlers", ()):
                visit(handler.body, True, inner_nested)
            for case in getattr(statement, "cases", ()):
                visit(case.body, True, inner_nested)

    visit(tree.body, False, False)
    return roots


def guarded_roots(tree: ast.Module) -> set[str]:
    """Packages a new module-level import must not pull out of a guard or a lazy import.

    Such a package may be an optional dependency: importing it at module level would make the
    module fail where it is missing. The standard library is always there, so a lazily
    imported stdlib module may be imported at module level; a guarded one may not
    (``try: import tomllib``).
    """
    roots = import_roots(tree)
    lazy = {root for root in roots.nested if root not in sys.stdlib_module_names}
    return (roots.guarded | lazy) - roots.unconditional


def unused_import_edits(tree: ast.Module, source: str, lines: LineIndex, candidates: set[str]) -> list[TextEdit]:
    """Drop import aliases named in ``candidates`` that nothing in the module uses any more.

    Used means loaded in code, named in a string read as a type, in ``__all__`` or in a ``# type:``
    comment (:func:`loaded_names` and :func:`referenced_outside_code`). One walk of the tree
    gathers the loads, the type strings and the import statements: four walks (one per question)
    were a good part of a quick fix in a finding-dense module.
    """
    if not candidates:
        return []
    used: set[str] = set()
    strings: set[str] = set()
    #: Import statements not directly in a class body (there an import is also a class attribute,
    #: ``Holder.collections``: it stays).
    statements: list[ast.Import | ast.ImportFrom] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, typed = stack.pop()
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Store):
                used.add(node.id)
            continue
        if isinstance(node, ast.Constant):
            if typed and isinstance(node.value, str):
                strings.add(node.value)
            continue
        if isinstance(node, ast.ClassDef):
            in_class = {
                id(statement) for statement in node.body if isinstance(statement, (ast.Import, ast.ImportFrom))
            }
        else:
            in_class = set()
        below = () if typed else {id(child) for child in typed_children(node)}
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if id(child) not in in_class:
                    statements.append(child)
                continue  # its aliases load nothing
            # A keyword's value (``bound='List'``) is a grandchild: its keyword carries it.
            stack.append((child, typed or id(child.value if isinstance(child, ast.keyword) else child) in below))
    for text in strings:
        used |= _names_in_string(text)
    used |= names_in_dunder_all(tree) | type_comment_names(source)
    edits: list[TextEdit] = []
    for statement in sorted(statements, key=lambda s: (s.lineno, s.col_offset)):
        dead = [
            alias
            for alias in statement.names
            if alias.name != "*"
            and (alias.asname or alias.name.split(".", 1)[0]) in candidates
            and (alias.asname or alias.name.split(".", 1)[0]) not in used
        ]
        if dead:
            edits.append(remove_aliases(tree, source, lines, statement, dead))
    return edits


def apply_edits(source: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping edits (raises ValueError on overlap)."""
    ordered = sorted(edits, key=lambda edit: (edit.start, edit.end))
    pieces: list[str] = []
    cursor = 0
    for edit in ordered:
        if edit.start < cursor:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        pieces.append(source[cursor : edit.start])
        pieces.append(edit.text)
        cursor = edit.end
    pieces.append(source[cursor:])
    return "".join(pieces)
