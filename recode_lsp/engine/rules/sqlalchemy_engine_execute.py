"""RC003: ``engine.execute(...)`` -> ``with engine.begin() as conn: conn.execute(...)``."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.imports import add_import_from, bound_names, guarded_roots
from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule

if TYPE_CHECKING:
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.model import Finding

#: Qualified names of ``text`` that an existing import may already provide.
_TEXT_NAMES = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})
_CONNECTION_NAMES = ("conn", "connection")


class EngineExecute(CodeRule):
    """## What it does
    Checks for calls of ``Engine.execute`` (SQLAlchemy's "connectionless execution").

    ## Why is this bad?
    ``Engine.execute`` was deprecated in SQLAlchemy 1.4 and removed in 2.0, together with
    autocommit and the execution of plain SQL strings. In 2.0 a statement runs on an
    explicit ``Connection``, and a textual statement must be wrapped in ``text()``.

    ## Example
    ```python
    from sqlalchemy import create_engine

    engine = create_engine(url)
    engine.execute("DELETE FROM users WHERE id = :id", {"id": 5})
    ```

    Use instead:
    ```python
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": 5})
    ```

    ## Fix safety
    The fix is unsafe. Autocommit in 1.x committed only statements that looked like data
    changes, while ``begin()`` always commits; a SQL string held in a variable is not
    wrapped in ``text()`` and fails in 2.0, and so do positional parameters held in a
    variable as a tuple (a tuple literal is not fixed).

    The fix handles a call that is a whole statement on its own lines, with a statement
    and optionally one parameters argument (no keywords, no ``*args``). ``engine.begin()``
    commits at the end of the block, as autocommit did. A string or f-string statement is
    wrapped in ``text()``, imported from ``sqlalchemy`` (or spelled ``sa.text`` when the
    module imports ``sqlalchemy as sa``). The connection is named ``conn``, or
    ``connection`` / ``conn_1`` when that name is taken. A call whose result is used
    (``rows = engine.execute(...)``) is not fixed: its result would be read after the
    connection is closed. Other forms are reported without a fix.
    """

    code: ClassVar[str] = "RC003"
    name: ClassVar[str] = "engine-execute"
    summary: ClassVar[str] = "Execute on a connection: `Engine.execute` was removed in SQLAlchemy 2.0"

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.MEMBER:
            return None
        expression = finding.details.expression
        if expression is None or finding.details.call is None:
            return None
        call = _call_at(analysis, expression)
        if call is None or not _supported_shape(call):
            return None
        statement = analysis.parents.get(id(call))
        if not isinstance(statement, ast.Expr) or not _alone_on_lines(analysis, statement):
            return None
        func = call.func
        assert isinstance(func, ast.Attribute)
        source = analysis.source
        receiver_start, receiver_end = analysis.lines.node_span(func.value)
        receiver = source[receiver_start:receiver_end]
        if "\n" in receiver:
            return None
        _, func_end = analysis.lines.node_span(func)
        call_start, call_end = analysis.lines.node_span(call)
        taken = bound_names(analysis.tree)
        conn = _connection_name(taken)
        edits: list[TextEdit] = []
        statement_sql = call.args[0]
        sql_start, sql_end = analysis.lines.node_span(statement_sql)
        if _is_string(statement_sql):
            wrapped = _text_reference(analysis, call, taken)
            if wrapped is None:
                return None
            text_name, import_edit = wrapped
            if import_edit is not None:
                edits.append(import_edit)
            arguments = (
                source[func_end:sql_start] + f"{text_name}({source[sql_start:sql_end]})" + source[sql_end:call_end]
            )
        else:
            arguments = source[func_end:call_end]
        indent = _indent(analysis, statement)
        step = "\t" if "\t" in indent else "    "
        body = _reindent(arguments, analysis, call, func_end, step)
        text = f"with {receiver}.begin() as {conn}:\n{indent}{step}{conn}.execute{body}"
        edits.append(TextEdit(call_start, call_end, text))
        return edits


def _call_at(analysis: ModuleAnalysis, expression: tuple[int, int]) -> ast.Call | None:
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.Attribute) and node.attr == "execute" and analysis.lines.node_span(node) == expression:
            return analysis.is_callee(node)
    return None


def _supported_shape(call: ast.Call) -> bool:
    if call.keywords or not 1 <= len(call.args) <= 2:
        return False
    if any(isinstance(arg, ast.Starred) for arg in call.args):
        return False
    # 1.x took positional parameters as a tuple; 2.0 takes a dict or a list of dicts.
    return not (len(call.args) == 2 and isinstance(call.args[1], ast.Tuple))


def _is_string(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _alone_on_lines(analysis: ModuleAnalysis, statement: ast.stmt) -> bool:
    """Nothing but whitespace before the statement and nothing but a comment after it."""
    source = analysis.source
    start, end = analysis.lines.node_span(statement)
    line_start = analysis.lines.line_starts[statement.lineno - 1]
    if source[line_start:start].strip():
        return False
    newline = source.find("\n", end)
    after = source[end : len(source) if newline == -1 else newline].strip()
    return not after or after.startswith("#")


def _indent(analysis: ModuleAnalysis, statement: ast.stmt) -> str:
    line_start = analysis.lines.line_starts[statement.lineno - 1]
    start = analysis.lines.node_span(statement)[0]
    return analysis.source[line_start:start]


def _connection_name(taken: set[str]) -> str:
    for name in _CONNECTION_NAMES:
        if name not in taken:
            return name
    number = 1
    while f"conn_{number}" in taken:
        number += 1
    return f"conn_{number}"


def _text_reference(analysis: ModuleAnalysis, call: ast.Call, taken: set[str]) -> tuple[str, TextEdit | None] | None:
    """How to spell ``sqlalchemy.text`` at ``call``, and the import edit that it needs."""
    offset = analysis.lines.node_span(call)[0]
    scope = analysis.scope_at(call)
    for name, bindings in analysis.module_scope.bindings.items():
        if not any(b.qname in _TEXT_NAMES for b in bindings):
            continue
        seen = analysis.lookup(name, scope, offset)
        if seen is not None and seen.qname in _TEXT_NAMES:
            return name, None
    for name, bindings in analysis.module_scope.bindings.items():
        if not any(b.qname == "sqlalchemy" and b.kind == "import" for b in bindings):
            continue
        seen = analysis.lookup(name, scope, offset)
        if seen is not None and seen.qname == "sqlalchemy" and seen.kind == "import":
            return f"{name}.text", None
    if "text" in taken:
        return None  # ``text`` is some other name here
    if "sqlalchemy" in guarded_roots(analysis.tree):
        return None  # sqlalchemy is imported under a guard here: a module-level import would defeat it
    return "text", add_import_from(analysis.tree, analysis.source, analysis.lines, "sqlalchemy", "text")


def _reindent(arguments: str, analysis: ModuleAnalysis, call: ast.Call, base: int, step: str) -> str:
    """Indent the continuation lines of ``arguments`` one step, except inside strings."""
    if "\n" not in arguments:
        return arguments
    strings = [
        analysis.lines.node_span(node)
        for node in ast.walk(call)
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))
    ]
    # ``arguments`` may be longer than the source it came from (``text(`` was inserted):
    # map its newlines back to source offsets by counting them in order.
    source_newlines = [i for i in range(base, analysis.lines.node_span(call)[1]) if analysis.source[i] == "\n"]
    pieces = arguments.split("\n")
    out = [pieces[0]]
    for index, piece in enumerate(pieces[1:]):
        offset = source_newlines[index] if index < len(source_newlines) else -1
        inside = any(start <= offset < end for start, end in strings)
        out.append(piece if inside or not piece.strip() else step + piece)
    return "\n".join(out)
