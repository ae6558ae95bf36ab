"""RC001: ``DataFrame.append`` / ``Series.append`` -> ``pandas.concat``."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, ClassVar

from recode_lsp.engine.model import Site, TextEdit
from recode_lsp.engine.rules import CodeRule

if TYPE_CHECKING:
    import libcst as cst

    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.model import Finding

#: Keywords of ``append`` that ``concat`` takes under the same name, with the same default.
_PASSED_KEYWORDS = frozenset({"ignore_index", "verify_integrity", "sort"})
_CLASSES = frozenset({"pandas.DataFrame", "pandas.Series"})


class DataFrameAppend(CodeRule):
    """## What it does
    Checks for calls of ``DataFrame.append`` and ``Series.append``.

    ## Why is this bad?
    Both methods were deprecated in pandas 1.4 and removed in pandas 2.0: the call raises
    ``AttributeError``. ``pandas.concat`` does the same job, and building the list of
    frames first and concatenating once is much faster than appending in a loop.

    ## Example
    ```python
    import pandas as pd

    df = df.append(other, ignore_index=True)
    df = df.append({"a": 1, "b": 2}, ignore_index=True)
    ```

    Use instead:
    ```python
    import pandas as pd

    df = pd.concat([df, other], ignore_index=True)
    df = pd.concat([df, pd.DataFrame([{"a": 1, "b": 2}])], ignore_index=True)
    ```

    ## Fix safety
    The fix is unsafe. The type of ``other`` is often unknown, and ``append`` treated kinds
    of values differently: a variable that holds a *list* of frames had its items
    concatenated, and a ``Series`` was appended to a frame as one row; after the fix the
    list is one object passed to ``concat`` (which fails) and the series becomes a column.
    ``append`` also reindexed appended rows to the frame's columns and could upcast dtypes
    differently from ``concat`` (empty or all-NA frames), and comments between the call's
    arguments are dropped.

    The fix handles a call with one positional argument and, optionally, the keywords
    ``ignore_index``, ``verify_integrity`` and ``sort`` (``concat`` has the same ones). A
    list literal of frames is spliced into the list (``df.append([a, b])`` becomes
    ``pd.concat([df, a, b])``); a dict (a row) or a list of dicts is wrapped in
    ``pd.DataFrame([...])``, and a single dict needs ``ignore_index=True``, as ``append``
    did. A value known to be a ``Series`` (``pd.Series(...)``) is a row of a frame and
    becomes ``row.to_frame().T``. pandas must be imported as a module
    (``import pandas as pd``); the fix reuses that name and adds no import. Other forms are
    reported without a fix.
    """

    code: ClassVar[str] = "RC001"
    name: ClassVar[str] = "dataframe-append"
    summary: ClassVar[str] = "Use `pandas.concat`: `DataFrame.append` / `Series.append` were removed in pandas 2.0"

    def fix(self, finding: Finding, analysis: ModuleAnalysis) -> list[TextEdit] | None:
        if finding.site is not Site.MEMBER:
            return None
        call_span = finding.details.call
        expression = finding.details.expression
        if call_span is None or expression is None:
            return None
        call = _call_at(analysis, expression)
        if call is None or analysis.lines.node_span(call) != call_span:
            return None
        shape = _shape(call, analysis, is_series=finding.change.owner_class == "pandas.Series")
        if shape is None:
            return None
        pandas_name = _pandas_name(analysis, call)
        if pandas_name is None:
            return None
        text = analysis.source[call_span[0] : call_span[1]]
        new_text = _rewrite(text, pandas_name, shape)
        if new_text is None:
            return None
        return [TextEdit(call_span[0], call_span[1], new_text)]


def _call_at(analysis: ModuleAnalysis, expression: tuple[int, int]) -> ast.Call | None:
    """The call whose callee is the ``.append`` attribute at ``expression``."""
    for node in ast.walk(analysis.tree):
        if isinstance(node, ast.Attribute) and node.attr == "append" and analysis.lines.node_span(node) == expression:
            return analysis.is_callee(node)
    return None


def _shape(call: ast.Call, analysis: ModuleAnalysis, is_series: bool) -> str | None:
    """What ``append`` is given: ``"row"``, ``"rows"``, ``"series-row"``, ``"frames"``, ``"frame"``.

    None when the call is not supported.
    """
    if len(call.args) != 1 or isinstance(call.args[0], (ast.Starred, ast.GeneratorExp)):
        return None
    if any(keyword.arg not in _PASSED_KEYWORDS for keyword in call.keywords):
        return None  # ``**kwargs`` (arg None) or a keyword concat does not take
    func = call.func
    assert isinstance(func, ast.Attribute)
    receiver = func.value
    if isinstance(receiver, (ast.Name, ast.Attribute)):
        qname = analysis.qualified_name(receiver)
        if qname is not None and (qname in _CLASSES or qname in analysis.classes):
            return None  # ``pd.DataFrame.append(df, other)``: the unbound method
    other = call.args[0]
    if isinstance(other, ast.Tuple):
        return None  # ``append`` treated tuples differently for frames and series
    if isinstance(other, ast.List) and not other.elts:
        return None
    row = _is_dict(other, analysis)
    rows = isinstance(other, ast.List) and all(_is_dict(element, analysis) for element in other.elts)
    if is_series:
        return None if row or rows else ("frames" if isinstance(other, ast.List) else "frame")
    if row:
        ignore_index = next((k.value for k in call.keywords if k.arg == "ignore_index"), None)
        # ``append`` refused a dict without ``ignore_index=True``; keep that contract visible.
        if not (isinstance(ignore_index, ast.Constant) and ignore_index.value is True):
            return None
        return "row"
    if rows:
        return "rows"
    if isinstance(other, ast.List):
        return "frames"
    if analysis.expression_type(other) == "pandas.Series":
        return "series-row"  # ``DataFrame.append(series)`` appended one row
    return "frame"


def _is_dict(node: ast.expr, analysis: ModuleAnalysis) -> bool:
    """A dict display or a call of the builtin ``dict``."""
    if isinstance(node, ast.Dict):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "dict"
        and analysis.binding_of(node.func) is None
    )


def _pandas_name(analysis: ModuleAnalysis, call: ast.Call) -> str | None:
    """A name bound to the ``pandas`` module at module level and visible at the call."""
    offset = analysis.lines.node_span(call)[0]
    scope = analysis.scope_at(call)
    for name, bindings in analysis.module_scope.bindings.items():
        if not any(b.qname == "pandas" and b.kind == "import" for b in bindings):
            continue
        seen = analysis.lookup(name, scope, offset)
        if seen is not None and seen.qname == "pandas" and seen.kind == "import":
            return name
    return None


def _rewrite(text: str, pandas_name: str, shape: str) -> str | None:
    import libcst as cst  # only when fixing: the check path never pays for libcst

    """``X.append(other, kw=...)`` -> ``pd.concat([X, other], kw=...)``, arguments verbatim."""
    try:
        # Parenthesised, so that a call broken over lines inside outer brackets parses.
        node = cst.parse_expression(f"({text})")
    except cst.ParserSyntaxError:
        return None
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return None
    positional = [arg for arg in node.args if arg.keyword is None]
    keywords = [arg for arg in node.args if arg.keyword is not None]
    if len(positional) != 1 or positional[0].star:
        return None
    other = positional[0].value
    frames: list[cst.BaseElement]
    if shape in ("row", "rows"):
        rows = cst.List([cst.Element(other)]) if shape == "row" else other
        frames = [cst.Element(_attribute_call(pandas_name, "DataFrame", [cst.Arg(rows)]))]
    elif shape == "series-row":
        if not isinstance(other, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            other = other.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        to_frame = cst.Call(func=cst.Attribute(value=other, attr=cst.Name("to_frame")))
        frames = [cst.Element(cst.Attribute(value=to_frame, attr=cst.Name("T")))]
    elif shape == "frames":
        assert isinstance(other, cst.List)
        frames = list(other.elements)
        frames[-1] = frames[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    else:
        frames = [cst.Element(other)]
    receiver = node.func.value
    args = [cst.Arg(cst.List([cst.Element(receiver), *frames]))]
    args.extend(
        arg.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=cst.SimpleWhitespace(""))
        for arg in keywords
    )
    try:
        return cst.Module([]).code_for_node(_attribute_call(pandas_name, "concat", args))
    except cst.CSTValidationError:
        return None


def _attribute_call(module: str, attr: str, args: list[cst.Arg]) -> cst.Call:
    import libcst as cst

    return cst.Call(func=cst.Attribute(value=cst.Name(module), attr=cst.Name(attr)), args=args)
