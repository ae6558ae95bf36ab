"""Deprecation markers that griffe cannot see, read from a release's source with :mod:`ast`.

Found generically, not per library:

* ``warnings.warn(..., DeprecationWarning | FutureWarning | PendingDeprecationWarning)`` (or any
  ``*DeprecationWarning``), and calls of the library's own helpers whose implementation warns so
  (``matplotlib._api.warn_deprecated``): at the top of a function it deprecates the function
  (``__init__``: the class); under an ``if`` on a parameter it deprecates that parameter;
* decorators whose implementation warns (PEP 702 ``@deprecated``, ``matplotlib._api.deprecated``,
  scikit-learn's ``deprecated`` class), with ``rename_parameter``-style arguments read as
  keyword renames;
* module ``__getattr__`` tables (``{name: message}`` dicts consulted by ``__getattr__``): a warning
  there deprecates the names, an ``AttributeError`` marks them removed;
* stubs whose whole body raises with a "removed / use X" message.

Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recode_lsp.api_docs import MAX_SOURCE_BYTES, SKIPPED_FOLDERS

_CATEGORIES = ("DeprecationWarning", "FutureWarning", "PendingDeprecationWarning")
_VERSION = re.compile(r"^v?\d+(\.\d+)+")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REMOVED = re.compile(
    r"\b(removed|no longer (available|supported|exists?)|has been (renamed|moved)|was (renamed|moved))\b",
    re.IGNORECASE,
)
_HELPER_NAME = re.compile(r"deprecat|warn|renam|remov|delet", re.IGNORECASE)
#: Keyword arguments of deprecation decorators/helpers that carry text.
_TEXT_KEYWORDS = ("message", "msg", "alternative", "addendum", "extra", "reason")


@dataclass
class Marker:
    """One piece of evidence that an API is deprecated or removed."""

    #: Qualified name where the evidence sits (``pkg.mod.Class.method``), canonical location.
    path: str
    #: ``"deprecated"`` or ``"removed"``.
    state: str
    message: str
    #: What found it: ``warnings.warn``, ``@deprecated``, ``__getattr__ table``, ``raising stub``...
    evidence: str
    file: str
    line: int
    #: For parameter changes: the parameter, and its new name when renamed.
    keyword: str | None = None
    new_keyword: str | None = None
    #: Version the marker names (``@_api.deprecated("3.6")``), when it names one.
    since: str | None = None
    #: A replacement named outright (``alternative=``), before the message's.
    alternative: str | None = None
    #: A deprecation of a default or behaviour, not of the API itself.
    behaviour: bool = False


def module_files(root: Path, top: str) -> Iterator[tuple[str, Path]]:
    """(module path, file) of every Python source of package ``top`` under ``root``."""
    single = root / f"{top}.py"
    if single.is_file():
        yield top, single
        return
    base = root / top
    for path in sorted(base.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIPPED_FOLDERS & set(relative.parts[:-1]):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if all(_IDENT.match(p) for p in parts):
            yield ".".join(parts), path


def _parse(path: Path) -> ast.Module | None:
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return None
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _text(node: ast.expr | None, constants: dict[str, str] | None = None) -> str | None:
    """The text of a message expression: a string, an f-string, ``"..." % x``, ``"...".format()``;
    with ``constants`` (the module's string constants) also ``_MSG`` and ``_MSG % "name"``."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and constants is not None:
        return constants.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        template = _text(node.left, constants)
        values = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        if template is not None and all(isinstance(v, ast.Constant) for v in values):
            try:
                return template % tuple(v.value for v in values)  # type: ignore[attr-defined]
            except (TypeError, ValueError):
                pass
        return template
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and constants is not None:
        left, right = _text(node.left, constants), _text(node.right, constants)
        return left + right if left is not None and right is not None else left
    if isinstance(node, ast.JoinedStr):
        out = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                out.append(value.value)
            elif isinstance(value, ast.FormattedValue):
                out.append("{" + ast.unparse(value.value) + "}")
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        left, right = _text(node.left), _text(node.right)
        if isinstance(node.op, ast.Add) and left is not None and right is not None:
            return left + right
        return left
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _text(node.func.value)
    if isinstance(node, ast.Call) and node.args and (_last_name(node.func) or "").endswith(("Warning", "Error")):
        # ``SomeDeprecationWarning("message")`` as the first argument of warn (not any call's argument).
        return _text(node.args[0], constants)
    return None


def _is_category(node: ast.expr | None) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Call):
        node = node.func
    name = _last_name(node)
    return bool(name) and (name in _CATEGORIES or str(name).endswith("DeprecationWarning"))


def _is_deprecation_warn(call: ast.Call) -> bool:
    """``warnings.warn(msg, SomeDeprecationWarning)`` or ``warn(SomeDeprecationWarning(msg))``."""
    name = _last_name(call.func) or ""
    if "warn" not in name.lower():
        return False
    category = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "category":
            category = keyword.value
    if category is None and call.args and isinstance(call.args[0], ast.Call):
        category = call.args[0]
    return _is_category(category)


_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class _CallSummary:
    """Per-definition facts about the calls under it, from one pass over each definition.

    ``whole(node)`` is (any deprecation warning, callee names) over every call in ``node``'s subtree;
    ``own(node)`` is the same restricted to calls made on another API's behalf (see
    :func:`_helper_evidence`). Each node of a module is visited once (a fresh walk per definition
    was quadratic in the nesting and dominated a scrape's time).
    """

    def __init__(self) -> None:
        self._whole: dict[int, tuple[bool, frozenset[str]]] = {}
        self._own: dict[int, tuple[bool, frozenset[str]]] = {}

    def whole(self, node: _Def) -> tuple[bool, frozenset[str]]:
        if id(node) not in self._whole:
            self._scan(node)
        return self._whole[id(node)]

    def own(self, node: _Def) -> tuple[bool, frozenset[str]]:
        if id(node) not in self._own:
            self._scan(node)
        return self._own[id(node)]

    def _scan(self, node: _Def) -> None:
        is_function = not isinstance(node, ast.ClassDef)
        params = set(_function_params(node)) | {"self"} if is_function else set()  # type: ignore[arg-type]
        warns = own_warns = False
        called: set[str] = set()
        own_called: set[str] = set()
        stack = list(ast.iter_child_nodes(node))
        while stack:
            child = stack.pop()
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner_warns, inner_called = self.whole(child)
                warns = warns or inner_warns
                called |= inner_called
                # In a function everything nested is a wrapper acting on its behalf; in a class
                # body each method speaks for itself.
                mine = (inner_warns, inner_called) if is_function else self.own(child)
                own_warns = own_warns or mine[0]
                own_called |= mine[1]
                continue
            if isinstance(child, ast.Call):
                is_warn = _is_deprecation_warn(child)
                callee = None if is_warn else _last_name(child.func)
                warns = warns or is_warn
                if callee:
                    called.add(callee)
                if params and any(
                    isinstance(n, ast.Name) and n.id in params
                    for a in (*child.args, *(k.value for k in child.keywords))
                    for n in ast.walk(a)
                ):
                    own_warns = own_warns or is_warn
                    if callee:
                        own_called.add(callee)
            stack.extend(ast.iter_child_nodes(child))
        self._whole[id(node)] = (warns, frozenset(called))
        self._own[id(node)] = (own_warns, frozenset(own_called))


def _definitions(body: list[ast.stmt]) -> Iterator[_Def]:
    """Every function and class defined in ``body``, nested ones included (statements only)."""
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield statement
        for field_name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(statement, field_name, None)
            if isinstance(inner, list):
                for item in inner:
                    if isinstance(item, (ast.ExceptHandler, ast.match_case)):
                        yield from _definitions(item.body)
                    elif isinstance(item, ast.stmt):
                        yield from _definitions([item])


def _helper_evidence(node: _Def, summary: _CallSummary | None = None) -> tuple[bool, frozenset[str]]:
    """Whether ``node`` warns on another API's behalf, and what it calls that way.

    A call is on another API's behalf when it sits in a nested function (a decorator's wrapper)
    or passes one of the function's parameters (a message built from its arguments).
    """
    return (summary or _CallSummary()).own(node)


def _function_params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return [n for n in names if n not in ("self", "cls")]


class Package:
    """The parsed sources of one release, with the deprecating helpers found in them."""

    def __init__(self, root: Path, top: str) -> None:
        self.root = root
        self.modules: list[tuple[str, Path, ast.Module]] = []
        for module, path in module_files(root, top):
            tree = _parse(path)
            if tree is not None:
                self.modules.append((module, path, tree))
        self.summaries: dict[str, _CallSummary] = {}
        self.helpers = self._deprecating_helpers()

    def _deprecating_helpers(self) -> set[str]:
        """Names of functions/classes that warn about *another* API's deprecation (a fixpoint).

        A deprecated function warns about itself with a fixed message; a helper or decorator
        warns from a nested function (the wrapper) or with a message built from its arguments.
        Only the latter are helpers: calling a deprecated function does not deprecate the caller.
        """
        direct: set[str] = set()
        calls: dict[str, set[str]] = {}
        for module, _, tree in self.modules:
            summary = self.summaries[module] = _CallSummary()
            for node in _definitions(tree.body):
                warns, called = _helper_evidence(node, summary)
                if warns:
                    direct.add(node.name)
                calls.setdefault(node.name, set()).update(called - {node.name})
        helpers = set(direct)
        changed = True
        while changed:
            changed = False
            for name, callees in calls.items():
                if name not in helpers and callees & helpers:
                    helpers.add(name)
                    changed = True
        # Dunder methods warn for their class; they are not helpers anyone calls by name. Helpers
        # are matched by name, so only names that say what they do count: a library's own ``max``
        # or ``_dispatch`` that warns somewhere must not deprecate every caller.
        return {h for h in helpers if not (h.startswith("__") and h.endswith("__")) and _HELPER_NAME.search(h)}

    def markers(self) -> list[Marker]:
        found: list[Marker] = []
        for module, path, tree in self.modules:
            relative = str(path.relative_to(self.root).as_posix())
            found.extend(_ModuleScan(self, module, relative, tree).run())
        return found


def release_markers(root: Path, top: str) -> list[Marker]:
    """The markers of the release whose package ``top`` sits under ``root`` (a process-pool task)."""
    return Package(root, top).markers()


class _ModuleScan:
    def __init__(self, package: Package, module: str, file: str, tree: ast.Module) -> None:
        self.package = package
        self.module = module
        self.file = file
        self.tree = tree
        self.out: list[Marker] = []
        # Module-level message constants (``_msg = "... is deprecated ..."``), for ``warn(_msg % name)``.
        self.constants: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                text = _text(node.value)
                if text is not None:
                    self.constants[node.targets[0].id] = text

    def run(self) -> list[Marker]:
        self._body(self.tree.body, self.module, in_class=False)
        self._getattr_tables()
        return self.out

    def _add(self, path: str, state: str, message: str, evidence: str, line: int, **extra: object) -> None:
        self.out.append(Marker(path, state, message.strip(), evidence, self.file, line, **extra))  # type: ignore[arg-type]

    def _body(self, body: list[ast.stmt], prefix: str, *, in_class: bool) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                path = f"{prefix}.{node.name}"
                self._decorators(node, path, params=[])
                self._body(node.body, path, in_class=True)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name == "__getattr__" and not in_class:
                    continue
                self._function(node, prefix, in_class=in_class)
            elif isinstance(node, (ast.If, ast.Try)):
                # Definitions under ``if sys.version_info`` / ``try: import`` are still module-level.
                for part in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                    self._body(part, prefix, in_class=in_class)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str, *, in_class: bool) -> None:
        name = node.name
        if in_class and name in ("__init__", "__new__"):
            target = prefix  # warning in the constructor: the class is deprecated
        elif name.startswith("__") and name.endswith("__"):
            return
        else:
            target = f"{prefix}.{name}"
        params = _function_params(node)
        self._decorators(node, target, params=params)
        if self._raising_stub(node, target):
            return
        warns, called = self.package.summaries.setdefault(self.module, _CallSummary()).whole(node)
        if warns or called & self.package.helpers:  # most functions neither warn nor call a helper
            self._warnings(node, target, params)

    def _decorators(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, target: str, *, params: list[str]
    ) -> None:
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = _last_name(func)
            if name is None:
                continue
            pep702 = name == "deprecated" and (
                isinstance(func, ast.Name)
                or _last_name(getattr(func, "value", func)) in ("warnings", "typing_extensions")
            )
            if not pep702 and name not in self.package.helpers:
                continue
            label = f"@{ast.unparse(func)}"
            args = decorator.args if isinstance(decorator, ast.Call) else []
            keywords = {k.arg: k.value for k in decorator.keywords} if isinstance(decorator, ast.Call) else {}
            strings = [t for t in (_text(a) for a in args) if t is not None]
            since = (
                next((s for s in strings if _VERSION.match(s)), None)
                or _text(keywords.get("since"))
                or _text(keywords.get("version"))
            )
            words = [s for s in strings if s != since]
            identifiers = [s for s in words if _IDENT.match(s)]
            if identifiers and params is not None and not pep702:
                in_params = [s for s in identifiers if s in params]
                outside = [s for s in identifiers if s not in params]
                if len(identifiers) == 2 and len(in_params) == 1 and len(outside) == 1:
                    self._add(
                        target,
                        "deprecated",
                        f"parameter {outside[0]!r} renamed to {in_params[0]!r}",
                        label,
                        decorator.lineno,
                        keyword=outside[0],
                        new_keyword=in_params[0],
                        since=since,
                    )
                    continue
                if len(identifiers) == 1 and in_params and re.search(r"delete|remove|deprecat", name, re.IGNORECASE):
                    self._add(
                        target,
                        "deprecated",
                        f"parameter {in_params[0]!r} is deprecated",
                        label,
                        decorator.lineno,
                        keyword=in_params[0],
                        since=since,
                    )
                    continue
                if in_params:
                    continue  # make_keyword_only and the like: about how a parameter is passed
            message = " ".join(w for w in words if not _IDENT.match(w) or len(words) == 1)
            texts = [_text(keywords.get(k)) for k in _TEXT_KEYWORDS]
            alternative = _text(keywords.get("alternative"))
            message = " ".join(t for t in [message, *texts] if t)
            if alternative and "instead" not in message:
                message = f"{message} Use {alternative} instead.".strip()
            self._add(
                target,
                "deprecated",
                message or f"`{target}` is marked deprecated by {label}.",
                label,
                decorator.lineno,
                since=since,
                alternative=alternative,
            )

    def _raising_stub(self, node: ast.FunctionDef | ast.AsyncFunctionDef, target: str) -> bool:
        body = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
            return False
        exc = body[0].exc
        message = _text(exc.args[0], self.constants) if isinstance(exc, ast.Call) and exc.args else None
        if not message or not _REMOVED.search(message) and "instead" not in message.lower():
            return False
        self._add(target, "removed", message, "raising stub", body[0].lineno)
        return True

    def _warnings(self, node: ast.FunctionDef | ast.AsyncFunctionDef, target: str, params: list[str]) -> None:
        """Deprecation warnings issued by the function itself (not by functions nested in it)."""

        def visit(statements: list[ast.stmt], conditions: list[ast.expr]) -> None:
            for statement in statements:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    continue
                if isinstance(statement, ast.If):
                    visit(statement.body, [*conditions, statement.test])
                    visit(statement.orelse, [*conditions, statement.test])
                    continue
                for child_body in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(statement, child_body, None)
                    if isinstance(inner, list) and inner and isinstance(inner[0], (ast.stmt, ast.ExceptHandler)):
                        flat: list[ast.stmt] = []
                        for item in inner:
                            flat.extend(item.body if isinstance(item, ast.ExceptHandler) else [item])
                        visit(flat, conditions)
                for call in _calls(statement):
                    self._warning(call, target, params, conditions)

        visit(node.body, [])

    def _warning(self, call: ast.Call, target: str, params: list[str], conditions: list[ast.expr]) -> None:
        helper = _last_name(call.func) in self.package.helpers
        if not (_is_deprecation_warn(call) or helper):
            return
        message = _text(call.args[0], self.constants) if call.args else None
        keywords = {k.arg: k.value for k in call.keywords}
        since = None
        if helper:
            strings = [t for t in (_text(a) for a in call.args) if t is not None]
            since = next((s for s in strings if _VERSION.match(s)), None)
            texts = [s for s in strings if s != since] + [
                t for t in (_text(keywords.get(k)) for k in _TEXT_KEYWORDS) if t
            ]
            message = " ".join(texts)
            alternative = _text(keywords.get("alternative"))
            if alternative and "instead" not in message:
                message = f"{message} Use {alternative} instead.".strip()
        # A message built at run time: say what is known rather than a bare placeholder. Under a
        # condition it is about some use of the API (a value, a type), not a parameter as such.
        runtime = not message
        message = message or f"`{target}` warns that it is deprecated (the message is built at run time)."
        evidence = "warnings.warn" if not helper else f"{ast.unparse(call.func)}()"
        keyword = None
        mentioned: list[str] = []
        for condition in conditions:
            for inner in ast.walk(condition):
                if isinstance(inner, ast.Name) and inner.id in params:
                    mentioned.append(inner.id)
                elif (
                    isinstance(inner, ast.Constant)
                    and isinstance(inner.value, str)
                    and _IDENT.match(inner.value)
                    and re.search(rf"\b{re.escape(inner.value)}\b", message)
                ):
                    mentioned.append(inner.value)
        for name in mentioned:
            if re.search(rf"\b{re.escape(name)}\b", message):
                keyword = name
                break
        if keyword is None and mentioned and conditions:
            keyword = mentioned[0]
        if keyword is None and conditions:
            # Conditional on something else: a behaviour deprecation, not of the whole API.
            self._add(target, "deprecated", message, evidence, call.lineno, since=since, behaviour=True)
            return
        if keyword is not None and (runtime or re.search(r"\bdefault\b", message, re.IGNORECASE)):
            self._add(target, "deprecated", message, evidence, call.lineno, since=since, behaviour=True)
            return
        self._add(target, "deprecated", message, evidence, call.lineno, keyword=keyword, since=since)

    def _getattr_tables(self) -> None:
        """``__getattr__`` that consults module-level dicts (or compares the name) before warning/raising."""
        tables: dict[str, tuple[ast.Dict, int]] = {}
        getattr_node = None
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        tables[target.id] = (node.value, node.lineno)
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.value, ast.Dict)
                and isinstance(node.target, ast.Name)
            ):
                tables[node.target.id] = (node.value, node.lineno)
            elif isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                getattr_node = node
        if getattr_node is None or not getattr_node.args.args:
            return
        param = getattr_node.args.args[0].arg
        for branch in ast.walk(getattr_node):
            if not isinstance(branch, ast.If) or not isinstance(branch.test, ast.Compare):
                continue
            test = branch.test
            if not (isinstance(test.left, ast.Name) and test.left.id == param and len(test.ops) == 1):
                continue
            state = self._branch_state(branch.body)
            if state is None:
                continue
            state_name, template = state
            right = test.comparators[0]
            if isinstance(test.ops[0], ast.In) and isinstance(right, ast.Name) and right.id in tables:
                table, _ = tables[right.id]
                for key, value in zip(table.keys, table.values, strict=False):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and _IDENT.match(key.value):
                        message = _value_message(value) or (template or "").replace("{" + param + "}", key.value)
                        self._add(
                            f"{self.module}.{key.value}",
                            state_name,
                            message,
                            "__getattr__ table",
                            getattr(key, "lineno", branch.lineno),
                        )
            elif isinstance(test.ops[0], ast.Eq) and isinstance(right, ast.Constant) and isinstance(right.value, str):
                message = (template or "").replace("{" + param + "}", right.value)
                self._add(f"{self.module}.{right.value}", state_name, message, "__getattr__", branch.lineno)

    def _branch_state(self, body: list[ast.stmt]) -> tuple[str, str | None] | None:
        for statement in body:
            for call in _calls(statement):
                if _is_deprecation_warn(call) or _last_name(call.func) in self.package.helpers:
                    return "deprecated", _text(call.args[0]) if call.args else None
            for inner in ast.walk(statement):
                if isinstance(inner, ast.Raise) and inner.exc is not None:
                    exc = inner.exc
                    if isinstance(exc, ast.Call) and _last_name(exc.func) == "AttributeError":
                        return "removed", _text(exc.args[0]) if exc.args else None
        return None


def _calls(statement: ast.stmt) -> Iterator[ast.Call]:
    """Calls in a simple statement (not inside nested bodies, which are visited on their own)."""
    if isinstance(statement, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith)):
        heads: list[ast.AST] = []
        if isinstance(statement, (ast.If, ast.While)):
            heads.append(statement.test)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            heads.append(statement.iter)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            heads.extend(item.context_expr for item in statement.items)
        for head in heads:
            yield from (n for n in ast.walk(head) if isinstance(n, ast.Call))
        return
    for node in ast.walk(statement):
        if isinstance(node, ast.Call):
            yield node


def _value_message(value: ast.expr) -> str | None:
    """The message a table value holds: a string, or the longest string of a tuple."""
    text = _text(value)
    if text is not None and not isinstance(value, ast.Call):
        return text
    if isinstance(value, (ast.Tuple, ast.List)):
        texts = [t for t in (_text(e) for e in value.elts) if t]
        return max(texts, key=len) if texts else None
    return None
