"""Deprecation markers that griffe cannot see, read from a release's source with :mod:`ast`.

Found generically, not per library:

* ``warnings.warn(..., DeprecationWarning | FutureWarning | PendingDeprecationWarning)`` (or any
  ``*DeprecationWarning``; a ``UserWarning`` or no category when the message says "deprecated",
  "will be removed" or "was renamed"), and calls of the library's own helpers whose implementation
  warns so (``matplotlib._api.warn_deprecated``): at the top of a function it deprecates the
  function (``__init__``: the class); under an ``if`` on a parameter (or after an ``if`` that
  returns early) it deprecates that parameter, or, when the ``if`` compares it with a value, that
  use of it (a behaviour); in a method, under an ``if`` on ``self.<name>`` where ``<name>`` is a
  parameter of the class, it deprecates the class's parameter (scikit-learn's ``fit``); at module
  level it deprecates the module;
* decorators whose implementation warns (PEP 702 ``@deprecated``, ``matplotlib._api.deprecated``,
  scikit-learn's ``deprecated`` class), applied with ``@`` or by assignment (``f =
  _api.deprecated("3.7")(_f)``), with ``rename_parameter``-style arguments read as keyword
  renames; decorators about how arguments are passed (``_deprecate_positional_args``) are skipped;
* parameters whose default is a ``deprecated`` sentinel (``ci="deprecated"``, ``ci=deprecated``);
* module ``__getattr__`` tables (``{name: message}`` dicts consulted by ``__getattr__``, or given
  to a ``__getattr__`` factory as JAX's ``deprecation_getattr(__name__, _deprecations)``): a warning
  there deprecates the names, an ``AttributeError`` (or a ``None`` object in the table's entry)
  marks them removed;
* stubs whose whole body raises with a "removed / use X" message.

The version a marker names (a decorator's ``"3.6"``, "deprecated since 1.2" in its message) is
``since``; the removal it announces ("will be removed in 1.4", ``removal="3.8"``) is ``removal``.

Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recode_lsp.api_docs import MAX_SOURCE_BYTES, SKIPPED_FOLDERS
from recode_lsp.kb import replacement

_CATEGORIES = ("DeprecationWarning", "FutureWarning", "PendingDeprecationWarning")
#: Categories that are deprecations only when the message says so (seaborn warns with ``UserWarning``).
_PLAIN_CATEGORIES = ("UserWarning", "Warning")
_DEPRECATION_WORDS = re.compile(
    r"\bdeprecat|\bwill be removed\b|\b(?:has|have) been (?:renamed|removed|moved)\b|"
    r"\b(?:was|were) (?:renamed|removed|moved)\b|\bno longer (?:supported|available)\b",
    re.IGNORECASE,
)
#: Decorators and helpers about how arguments are passed, not about the API (found by what they say).
_POSITIONAL = re.compile(r"positional|keyword[- ]only|as keyword arg|nonkeyword|kwonly", re.IGNORECASE)
#: A message about a default changing ("the default will change from 10 to 'auto'"), not about a
#: parameter ("leave `sparse` to its default value").
_DEFAULT_CHANGE = re.compile(
    r"\bdefault\b[^.]*\b(?:will|change[sd]?|becomes?|switch(?:es|ed)?)\b|"
    r"\b(?:change[sd]?|changing|switch(?:es|ed)?)\b[^.]*\bdefault\b",
    re.IGNORECASE,
)
#: Default values that mean "deprecated, not given" (``ci="deprecated"``, ``ci=deprecated``).
_SENTINEL_DEFAULT = re.compile(r"^_*deprecated$", re.IGNORECASE)
#: Values a parameter is compared with to ask "was it given?", not "which value was given?".
_GIVEN_SENTINELS = re.compile(
    r"^_*(deprecated|default|warn|no_?default|no_?value|sentinel|unset|missing)$", re.IGNORECASE
)
_VERSION = re.compile(r"^v?\d+(\.\d+)+")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REMOVED = re.compile(
    r"\b(removed|no longer (available|supported|exists?)|has been (renamed|moved)|was (renamed|moved))\b",
    re.IGNORECASE,
)
_HELPER_NAME = re.compile(r"deprecat|warn|renam|remov|delet", re.IGNORECASE)
#: Keyword arguments of deprecation decorators/helpers that carry text.
_TEXT_KEYWORDS = ("message", "msg", "addendum", "extra", "reason")  # ``alternative`` is added as "Use X instead."


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
    #: The version the removal is announced for ("will be removed in 1.4", ``removal="3.8"``).
    removal: str | None = None


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


def _is_deprecation_warn(call: ast.Call, constants: dict[str, str] | None = None) -> bool:
    """``warnings.warn(msg, SomeDeprecationWarning)`` or ``warn(SomeDeprecationWarning(msg))``; also
    ``warn(msg, UserWarning)`` or ``warn(msg)`` when ``msg`` (a string, or a name in ``constants``)
    says the API is deprecated."""
    name = _last_name(call.func) or ""
    if "warn" not in name.lower():
        return False
    category = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "category":
            category = keyword.value
    if category is None and call.args and isinstance(call.args[0], ast.Call):
        category = call.args[0]
    if _is_category(category):
        return True
    plain = category is None or _last_name(category.func if isinstance(category, ast.Call) else category) in (
        _PLAIN_CATEGORIES
    )
    if not plain or not call.args:
        return False
    message = _text(call.args[0], constants)
    return bool(message) and bool(_DEPRECATION_WORDS.search(message or ""))


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
        calls: list[ast.Call] = []
        assigns: list[ast.Assign] = []
        # Calls given one of the parameters (in an argument, however deep): each node travels with
        # the calls whose arguments it is part of, so that no argument is walked twice.
        passing: set[int] = set()
        stack: list[tuple[ast.AST, tuple[int, ...]]] = [(child, ()) for child in ast.iter_child_nodes(node)]
        while stack:
            child, chain = stack.pop()
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
                calls.append(child)
                inner_chain = (*chain, id(child))
                stack.append((child.func, chain))
                stack.extend((argument, inner_chain) for argument in child.args)
                stack.extend((keyword, inner_chain) for keyword in child.keywords)
                continue
            if isinstance(child, ast.Name):
                if chain and child.id in params:
                    passing.update(chain)
                continue
            if isinstance(child, ast.Assign) and is_function:
                assigns.append(child)
            stack.extend((grandchild, chain) for grandchild in ast.iter_child_nodes(child))
        texts: dict[str, str] | None = None
        for child in calls:
            is_warn = _is_deprecation_warn(child)
            if not is_warn and assigns and child.args and isinstance(child.args[0], ast.Name):
                # A message kept in a local variable (``msg = "..."; warn(msg, UserWarning)``).
                if texts is None:
                    texts = _assigned_texts(assigns)
                is_warn = _is_deprecation_warn(child, texts)
            callee = None if is_warn else _last_name(child.func)
            warns = warns or is_warn
            if callee:
                called.add(callee)
            if id(child) in passing:
                own_warns = own_warns or is_warn
                if callee:
                    own_called.add(callee)
        self._whole[id(node)] = (warns, frozenset(called))
        self._own[id(node)] = (own_warns, frozenset(own_called))


def _assigned_texts(assigns: list[ast.Assign]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for assign in sorted(assigns, key=lambda a: a.lineno):
        text = _text(assign.value, texts)
        if text is not None:
            texts.update((t.id, text) for t in assign.targets if isinstance(t, ast.Name))
    return texts


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


class _LocalTexts:
    """The strings a function assigns to local names (``msg = "..."``), as they stand at a line: a
    name assigned twice (one ``msg`` per warning) has, at each warning, the text assigned last
    before it. Module constants (``constants``) stand for names the function does not assign."""

    def __init__(self, node: ast.AST, constants: dict[str, str] | None = None) -> None:
        self.constants = dict(constants or {})
        self.assigns = sorted(
            (n for n in ast.walk(node) if isinstance(n, ast.Assign)), key=lambda a: (a.lineno, a.col_offset)
        )
        self._at: dict[int, dict[str, str]] = {}

    def at(self, line: int) -> dict[str, str]:
        if line not in self._at:
            texts = dict(self.constants)
            for assign in self.assigns:
                if assign.lineno > line:
                    break
                text = _text(assign.value, texts)
                for target in assign.targets:
                    if isinstance(target, ast.Name):
                        if text is None:
                            texts.pop(target.id, None)
                        else:
                            texts[target.id] = text
            self._at[line] = texts
        return self._at[line]

    def message(self, call: ast.Call) -> str | None:
        """The text of the call's first argument, where the call is."""
        return _text(call.args[0], self.at(call.lineno)) if call.args else None

    def is_deprecation_warn(self, call: ast.Call) -> bool:
        return _is_deprecation_warn(call, self.at(call.lineno))


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
        #: Every function and class by its (unqualified) name.
        self.definitions: dict[str, list[_Def]] = {}
        self.helpers = self._deprecating_helpers()
        #: Helpers about how arguments are passed (``_deprecate_positional_args``): no deprecation.
        self.positional_helpers = {
            name
            for name in self.helpers
            if _POSITIONAL.search(name)
            or any(
                isinstance(n, ast.Constant) and isinstance(n.value, str) and _POSITIONAL.search(n.value)
                for node in self.definitions.get(name, ())
                for n in ast.walk(node)
            )
        }
        self._warn_texts: dict[str, list[str]] = {}

    def warn_texts(self, name: str, *, classes: bool = False) -> list[str]:
        """Messages of the deprecation warnings issued in the functions called ``name`` (with
        ``classes``, also in the methods of the classes called so)."""
        key = f"{name}:{classes}"
        if key not in self._warn_texts:
            texts: list[str] = []
            for node in self.definitions.get(name, ()):
                if isinstance(node, ast.ClassDef) and not classes:
                    continue
                locals_ = _LocalTexts(node)
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and inner.args and locals_.is_deprecation_warn(inner):
                        text = locals_.message(inner)
                        if text:
                            texts.append(text)
            self._warn_texts[key] = texts
        return self._warn_texts[key]

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
                self.definitions.setdefault(node.name, []).append(node)
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


@dataclass(frozen=True)
class _Owner:
    """The class whose body a method is in."""

    path: str
    #: Its constructor's parameters; None when the class body defines no ``__init__`` (inherited).
    params: list[str] | None
    #: Constant defaults of those parameters (``{"n_iter": "deprecated"}``).
    defaults: dict[str, object]


@dataclass(frozen=True)
class _Ref:
    """A parameter a condition is about: ``copy`` in ``if copy is not None``, ``n_iter`` in ``if
    self.n_iter != "deprecated"`` (``on_self``)."""

    name: str
    on_self: bool
    #: The condition compares it with a value (``loss == "log"``, ``isinstance(x, str)``): a
    #: deprecation of that use, not of the parameter.
    value: bool
    #: The condition asks whether it was left out (``y is None``): a deprecation of leaving it out.
    absent: bool = False


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
        #: (path, keyword) of parameters with a ``deprecated`` sentinel default, with their function.
        self._sentinels: list[tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef, _Owner | None]] = []

    def run(self) -> list[Marker]:
        self._module_warnings()
        self._body(self.tree.body, self.module, owner=None)
        self._sentinel_markers()
        self._getattr_tables()
        return self.out

    def _add(self, path: str, state: str, message: str, evidence: str, line: int, **extra: object) -> None:
        message = message.strip()
        since = extra.pop("since", None) or replacement.deprecated_in(message)
        removal = extra.pop("removal", None) or replacement.removal_in(message)
        self.out.append(
            Marker(path, state, message, evidence, self.file, line, since=since, removal=removal, **extra)  # type: ignore[arg-type]
        )

    def _module_warnings(self) -> None:
        """A deprecation warning issued when the module is imported deprecates the module."""
        if "." not in self.module:
            return  # the library itself
        for statement in _module_statements(self.tree.body, conditional=False):
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
                continue
            call = statement.value
            callee = _last_name(call.func)
            if callee in self.package.positional_helpers:
                continue
            if _is_deprecation_warn(call, self.constants) or callee in self.package.helpers:
                message = self._call_message(call, self.constants)[0] or f"`{self.module}` is deprecated."
                self._add(self.module, "deprecated", message, "warnings.warn", call.lineno)

    def _body(self, body: list[ast.stmt], prefix: str, *, owner: _Owner | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                path = f"{prefix}.{node.name}"
                self._decorators(node, path, params=[])
                init = next(
                    (
                        n
                        for n in node.body
                        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "__init__"
                    ),
                    None,
                )
                owner_of_body = _Owner(
                    path,
                    _function_params(init) if init is not None else None,
                    _constant_defaults(init) if init is not None else {},
                )
                self._body(node.body, path, owner=owner_of_body)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name == "__getattr__" and owner is None:
                    continue
                self._function(node, prefix, owner=owner)
            elif isinstance(node, ast.Assign):
                self._assigned_decorator(node, prefix, body)
            elif isinstance(node, (ast.If, ast.Try)):
                # Definitions under ``if sys.version_info`` / ``try: import`` are still module-level.
                for part in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                    self._body(part, prefix, owner=owner)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, prefix: str, *, owner: _Owner | None) -> None:
        name = node.name
        if owner is not None and name in ("__init__", "__new__"):
            target = prefix  # warning in the constructor: the class is deprecated
        elif name.startswith("__") and name.endswith("__"):
            return
        else:
            target = f"{prefix}.{name}"
        params = _function_params(node)
        self._decorators(node, target, params=params)
        if self._raising_stub(node, target):
            return
        for parameter, default in _defaults(node):
            if _is_deprecated_sentinel(default):
                self._sentinels.append((target, parameter, node, owner))
        warns, called = self.package.summaries.setdefault(self.module, _CallSummary()).whole(node)
        if warns or called & self.package.helpers:  # most functions neither warn nor call a helper
            self._warnings(node, target, params, owner)

    def _assigned_decorator(self, node: ast.Assign, prefix: str, body: list[ast.stmt]) -> None:
        """``get_cmap = _api.deprecated("3.7", alternative="...")(_get_cmap)``: a decorator applied by hand."""
        value = node.value
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) or node.targets[0].id.startswith("__"):
            return
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Call) and len(value.args) == 1):
            return
        wrapped = value.args[0]
        params: list[str] = []
        if isinstance(wrapped, ast.Name):
            for statement in body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == wrapped.id:
                    params = _function_params(statement)
        self._decorator(value.func, f"{prefix}.{node.targets[0].id}", params=params, line=node.lineno)

    def _decorators(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, target: str, *, params: list[str]
    ) -> None:
        for decorator in node.decorator_list:
            self._decorator(decorator, target, params=params, line=decorator.lineno)

    def _decorator(self, decorator: ast.expr, target: str, *, params: list[str], line: int) -> None:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = _last_name(func)
        if name is None:
            return
        pep702 = name == "deprecated" and (
            isinstance(func, ast.Name) or _last_name(getattr(func, "value", func)) in ("warnings", "typing_extensions")
        )
        if not pep702 and (name not in self.package.helpers or name in self.package.positional_helpers):
            return
        label = f"@{ast.unparse(func)}"
        args = decorator.args if isinstance(decorator, ast.Call) else []
        keywords = {k.arg: k.value for k in decorator.keywords} if isinstance(decorator, ast.Call) else {}
        strings = [t for t in (_text(a) for a in args) if t is not None]
        since = (
            next((s for s in strings if _VERSION.match(s)), None)
            or _text(keywords.get("since"))
            or _text(keywords.get("version"))
        )
        removal = _text(keywords.get("removal"))
        removal = removal if removal and _VERSION.match(removal) else None
        words = [s for s in strings if s != since]
        identifiers = [s for s in words if _IDENT.match(s)]
        if identifiers and not pep702:
            in_params = [s for s in identifiers if s in params]
            outside = [s for s in identifiers if s not in params]
            if len(identifiers) == 2 and len(in_params) == 1 and len(outside) == 1:
                self._add(
                    target,
                    "deprecated",
                    f"parameter {outside[0]!r} renamed to {in_params[0]!r}",
                    label,
                    line,
                    keyword=outside[0],
                    new_keyword=in_params[0],
                    since=since,
                    removal=removal,
                )
                return
            if len(identifiers) == 1 and in_params and re.search(r"delete|remove|deprecat", name, re.IGNORECASE):
                self._add(
                    target,
                    "deprecated",
                    f"parameter {in_params[0]!r} is deprecated",
                    label,
                    line,
                    keyword=in_params[0],
                    since=since,
                    removal=removal,
                )
                return
            if in_params:
                return  # make_keyword_only and the like: about how a parameter is passed
        message = " ".join(w for w in words if not _IDENT.match(w) or len(words) == 1)
        texts = [_text(keywords.get(k)) for k in _TEXT_KEYWORDS]
        alternative = _text(keywords.get("alternative"))
        message = " ".join(t for t in [message, *texts] if t)
        if alternative and "instead" not in message:
            message = f"{message} Use {alternative} instead.".strip()
        if message and not re.search("deprecat", message, re.IGNORECASE):
            # ``alternative=`` alone: say what the decorator says (since when, removed when).
            head = f"Deprecated since {since}" if since else "Deprecated"
            message = f"{head}{f', to be removed in {removal}' if removal else ''}. {message}"
        self._add(
            target,
            "deprecated",
            message or f"`{target}` is marked deprecated by {label}.",
            label,
            line,
            since=since,
            removal=removal,
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

    def _warnings(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, target: str, params: list[str], owner: _Owner | None
    ) -> None:
        """Deprecation warnings issued by the function itself (not by functions nested in it)."""
        texts = _LocalTexts(node, self.constants)
        kwargs = node.args.kwarg.arg if node.args.kwarg is not None else None
        defaults = _constant_defaults(node)

        def visit(statements: list[ast.stmt], conditions: list[ast.expr]) -> None:
            guards = list(conditions)
            for statement in statements:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    continue
                if isinstance(statement, ast.If):
                    visit(statement.body, [*guards, statement.test])
                    visit(statement.orelse, [*guards, statement.test])
                    if not statement.orelse and isinstance(
                        statement.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break)
                    ):
                        # ``if val is deprecated: return`` guards what follows.
                        guards.append(statement.test)
                    continue
                for child_body in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(statement, child_body, None)
                    if isinstance(inner, list) and inner and isinstance(inner[0], (ast.stmt, ast.ExceptHandler)):
                        flat: list[ast.stmt] = []
                        for item in inner:
                            flat.extend(item.body if isinstance(item, ast.ExceptHandler) else [item])
                        visit(flat, guards)
                for call in _calls(statement):
                    self._warning(
                        call,
                        target,
                        params,
                        guards,
                        owner=owner,
                        texts=texts.at(call.lineno),
                        kwargs=kwargs,
                        defaults=defaults,
                    )

        visit(node.body, [])

    def _call_message(self, call: ast.Call, texts: dict[str, str]) -> tuple[str | None, str | None, str | None]:
        """(message, version named, alternative) of a warning or a helper call."""
        message = _text(call.args[0], texts) if call.args else None
        if _last_name(call.func) not in self.package.helpers:
            return message, None, None
        keywords = {k.arg: k.value for k in call.keywords}
        strings = [t for t in (_text(a, texts) for a in call.args) if t is not None]
        since = next((s for s in strings if _VERSION.match(s)), None)
        parts = [s for s in strings if s != since] + [
            t for t in (_text(keywords.get(k), texts) for k in _TEXT_KEYWORDS) if t
        ]
        message = " ".join(parts)
        alternative = _text(keywords.get("alternative"), texts)
        if alternative and "instead" not in message:
            message = f"{message} Use {alternative} instead.".strip()
        return message or None, since, alternative

    def _warning(
        self,
        call: ast.Call,
        target: str,
        params: list[str],
        conditions: list[ast.expr],
        *,
        owner: _Owner | None,
        texts: dict[str, str],
        kwargs: str | None,
        defaults: dict[str, object],
    ) -> None:
        callee = _last_name(call.func)
        helper = callee in self.package.helpers
        if helper and callee in self.package.positional_helpers:
            return
        if not (helper or _is_deprecation_warn(call, texts)):
            return
        message, since, _ = self._call_message(call, texts)
        if helper and not message and _passes(call, params):
            # ``_deprecate_ci(errorbar, ci)``: the helper decides about the parameters it is given;
            # their defaults (sentinels) say which, not this call.
            return
        # A message built at run time: say what is known rather than a bare placeholder. Under a
        # condition it is about some use of the API (a value, a type), not a parameter as such.
        runtime = not message
        message = message or f"`{target}` warns that it is deprecated (the message is built at run time)."
        evidence = "warnings.warn" if not helper else f"{ast.unparse(call.func)}()"
        refs = _condition_refs(conditions, params, owner, kwargs, defaults)
        ref = _attributed(refs, message, params, owner) if conditions else None
        if ref is None:
            if conditions:
                # Conditional on something else: a behaviour deprecation, not of the whole API.
                self._add(target, "deprecated", message, evidence, call.lineno, since=since, behaviour=True)
            else:
                self._add(target, "deprecated", message, evidence, call.lineno, since=since)
            return
        where = owner.path if ref.on_self and owner is not None else target
        if ref.absent or _DEFAULT_CHANGE.search(message):
            # Leaving it out, or its default: calls that do not pass it.
            self._add(where, "deprecated", message, evidence, call.lineno, since=since, behaviour=True)
            return
        # "`method='simplex'` is deprecated": a value of the parameter, not the parameter (calls
        # that pass it).
        shown = replacement.assigned_value(message, ref.name) is not None
        behaviour = ref.value or shown or runtime
        self._add(
            where, "deprecated", message, evidence, call.lineno, keyword=ref.name, since=since, behaviour=behaviour
        )

    def _sentinel_markers(self) -> None:
        """Parameters whose default says "deprecated", unless a warning about them was found."""
        found = {(m.path, m.keyword) for m in self.out}
        for target, parameter, node, owner in self._sentinels:
            if (target, parameter) in found:
                continue
            found.add((target, parameter))
            message = self._sentinel_message(parameter, node, owner)
            self._add(
                target,
                "deprecated",
                message or f"Parameter `{parameter}` is deprecated (its default is the `deprecated` sentinel).",
                "sentinel default",
                node.lineno,
                keyword=parameter,
            )

    def _sentinel_message(
        self, parameter: str, node: ast.FunctionDef | ast.AsyncFunctionDef, owner: _Owner | None
    ) -> str | None:
        """The deprecation message that names ``parameter``: warned by the function, by what it calls,
        or (a constructor's parameter) by the class's methods and its bases'."""
        names: list[str] = []
        for inner in ast.walk(node):
            if isinstance(inner, ast.Call):
                callee = _last_name(inner.func)
                if callee and callee not in names:
                    names.append(callee)
        classes: list[str] = []
        if owner is not None and node.name == "__init__":
            # The class and its bases in the package, nearest first (a few levels up).
            classes.append(owner.path.rpartition(".")[2])
            for cls in classes:
                if len(classes) > 12:
                    break
                for definition in self.package.definitions.get(cls, ()):
                    if isinstance(definition, ast.ClassDef):
                        bases = (_last_name(b) for b in definition.bases)
                        classes.extend(n for n in bases if n and n not in classes and n != "object")
        own = _LocalTexts(node, self.constants)
        candidates = [
            own.message(call)
            for call in ast.walk(node)
            if isinstance(call, ast.Call) and call.args and own.is_deprecation_warn(call)
        ]
        for name in names:
            candidates.extend(self.package.warn_texts(name))
        for name in classes:
            candidates.extend(self.package.warn_texts(name, classes=True))
        word = re.compile(rf"(?<![\w.]){re.escape(parameter)}(?![\w(])")
        return next((text for text in candidates if text and word.search(text)), None)

    def _getattr_tables(self) -> None:
        """``__getattr__`` that consults module-level dicts (or compares the name) before warning/raising,
        and ``__getattr__ = factory(__name__, table)`` (JAX's ``deprecation_getattr``)."""
        tables: dict[str, tuple[ast.Dict, int]] = {}
        getattr_node = None
        factories: list[ast.Assign] = []
        for node in _module_statements(self.tree.body, conditional=True):
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
            elif (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__getattr__" for t in node.targets)
                and isinstance(node.value, ast.Call)
            ):
                factories.append(node)
        for node in factories:
            call = node.value
            assert isinstance(call, ast.Call)
            callee = _last_name(call.func) or ""
            if callee not in self.package.helpers and not re.search("deprecat", callee, re.IGNORECASE):
                continue
            for argument in (*call.args, *(k.value for k in call.keywords)):
                if isinstance(argument, ast.Name) and argument.id in tables:
                    # The factory's wrapper warns for an entry with an object and raises for one
                    # whose object is None (the deprecation was finalised).
                    self._table(tables[argument.id][0], "deprecated", None, None, node.lineno, raises=True)
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
            state_name, template, raises = state
            right = test.comparators[0]
            if isinstance(test.ops[0], ast.In) and isinstance(right, ast.Name) and right.id in tables:
                self._table(tables[right.id][0], state_name, template, param, branch.lineno, raises=raises)
            elif isinstance(test.ops[0], ast.Eq) and isinstance(right, ast.Constant) and isinstance(right.value, str):
                message = (template or "").replace("{" + param + "}", right.value)
                self._add(f"{self.module}.{right.value}", state_name, message, "__getattr__", branch.lineno)

    def _table(
        self, table: ast.Dict, state: str, template: str | None, param: str | None, line: int, *, raises: bool
    ) -> None:
        for key, value in zip(table.keys, table.values, strict=False):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and _IDENT.match(key.value)):
                continue
            message = _value_message(value, self.constants) or (template or "").replace(
                "{" + (param or "name") + "}", key.value
            )
            entry_state = state
            if state == "deprecated" and raises and _holds_none(value):
                entry_state = "removed"
            self._add(
                f"{self.module}.{key.value}",
                entry_state,
                message,
                "__getattr__ table",
                getattr(key, "lineno", line),
            )

    def _branch_state(self, body: list[ast.stmt]) -> tuple[str, str | None, bool] | None:
        """("deprecated" or "removed", the message template, whether the branch can also raise)."""
        found: tuple[str, str | None] | None = None
        raises = False
        for statement in body:
            for call in _calls(statement):
                if found is None and (
                    _is_deprecation_warn(call, self.constants) or _last_name(call.func) in self.package.helpers
                ):
                    found = ("deprecated", _text(call.args[0]) if call.args else None)
            for inner in ast.walk(statement):
                if isinstance(inner, ast.Raise) and inner.exc is not None:
                    exc = inner.exc
                    if isinstance(exc, ast.Call) and _last_name(exc.func) == "AttributeError":
                        raises = True
                        if found is None:
                            return "removed", _text(exc.args[0]) if exc.args else None, True
        return (found[0], found[1], raises) if found is not None else None


def _function_defs(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    return (n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _module_statements(body: list[ast.stmt], *, conditional: bool) -> Iterator[ast.stmt]:
    """Module-level statements, also those under ``try`` (and ``if``, when ``conditional``)."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.Try) or (conditional and isinstance(statement, ast.If)):
            for part in (statement.body, statement.orelse, getattr(statement, "finalbody", [])):
                yield from _module_statements(part, conditional=conditional)


def _defaults(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[str, ast.expr]]:
    """(parameter, default) of every parameter with a default."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    for parameter, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True):
        yield parameter.arg, default
    for parameter, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if kw_default is not None:
            yield parameter.arg, kw_default


def _is_deprecated_sentinel(default: ast.expr) -> bool:
    """``"deprecated"``, ``deprecated`` or ``typing.deprecated``-like sentinels (not a call)."""
    if isinstance(default, ast.Constant):
        return isinstance(default.value, str) and bool(_SENTINEL_DEFAULT.match(default.value))
    name = _last_name(default)
    return name is not None and bool(_SENTINEL_DEFAULT.match(name))


def _passes(call: ast.Call, params: list[str]) -> bool:
    """Whether ``call`` is given one of the caller's parameters."""
    return any(
        isinstance(n, ast.Name) and n.id in params
        for argument in (*call.args, *(k.value for k in call.keywords))
        for n in ast.walk(argument)
    )


def _holds_none(value: ast.expr) -> bool:
    """A table entry whose object is None: ``("message", None)``."""
    return isinstance(value, (ast.Tuple, ast.List)) and any(
        isinstance(e, ast.Constant) and e.value is None for e in value.elts
    )


def _condition_refs(
    conditions: list[ast.expr],
    params: list[str],
    owner: _Owner | None,
    kwargs: str | None,
    defaults: dict[str, object] | None = None,
) -> list[_Ref]:
    """The parameters the conditions are about, in the order they appear.

    A parameter is tested for being given when the condition is the parameter itself, or compares
    it with None, a boolean or a sentinel (``is not None``, ``!= "deprecated"``, ``"x" in
    kwargs``, ``!= "auto"`` where ``"auto"`` is its default); any other use (``== "log"``,
    ``np.iscomplexobj(y)``, ``x < 0``) tests its value.
    """
    owner_params = owner.params if owner is not None else None

    def ref_of(node: ast.AST) -> tuple[str, bool] | None:
        if isinstance(node, ast.Name) and node.id in params:
            return node.id, False
        if (
            owner is not None
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and not node.attr.startswith("_")
            and (owner_params is None or node.attr in owner_params)
        ):
            return node.attr, True
        if (
            kwargs is not None
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == kwargs
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            return node.args[0].value, False
        return None

    order: list[tuple[str, bool]] = []
    values: set[tuple[str, bool]] = set()
    absent: set[tuple[str, bool]] = set()

    def visit(node: ast.AST, parent: ast.AST | None, negated: bool = False) -> None:
        if (
            kwargs is not None
            and isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and isinstance(node.comparators[0], ast.Name)
            and node.comparators[0].id == kwargs
        ):
            key = (node.left.value, False)
            if key not in order:
                order.append(key)
            return
        found = ref_of(node)
        if found is not None:
            if found not in order:
                order.append(found)
            default = (owner.defaults if found[1] and owner is not None else defaults or {}).get(found[0], _NO_DEFAULT)
            if not _tests_given(node, parent, default):
                values.add(found)
            elif _tests_absent(node, parent, negated):
                absent.add(found)
            return
        inverted = negated ^ (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))
        for child in ast.iter_child_nodes(node):
            visit(child, node, inverted)

    for condition in conditions:
        visit(condition, None)
    return [
        _Ref(name, on_self, (name, on_self) in values, (name, on_self) in absent and (name, on_self) not in values)
        for name, on_self in order
    ]


def _tests_absent(node: ast.AST, parent: ast.AST | None, negated: bool) -> bool:
    """Whether a given-test asks that the parameter was left out (``y is None``, ``not y``)."""
    if isinstance(parent, ast.Compare) and len(parent.ops) == 1:
        other = parent.comparators[0] if parent.left is node else parent.left
        missing = (isinstance(other, ast.Constant) and other.value is None) or _is_sentinel_value(other)
        equal = isinstance(parent.ops[0], (ast.Is, ast.Eq))
        return missing and (equal != negated)
    return negated


def _is_sentinel_value(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(_GIVEN_SENTINELS.match(node.value))
    name = _last_name(node) if isinstance(node, ast.expr) else None
    return name is not None and bool(_GIVEN_SENTINELS.match(name))


_NO_DEFAULT = object()


def _constant_defaults(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, object]:
    return {name: d.value for name, d in _defaults(node) if isinstance(d, ast.Constant)}


def _tests_given(node: ast.AST, parent: ast.AST | None, default: object = _NO_DEFAULT) -> bool:
    """Whether ``node`` (a parameter whose default is ``default``) is used in its condition only to ask
    if it was given."""
    if parent is None or isinstance(parent, (ast.BoolOp, ast.UnaryOp)):
        return True
    if isinstance(parent, ast.Compare) and len(parent.ops) == 1:
        other = parent.comparators[0] if parent.left is node else parent.left
        if isinstance(other, ast.Constant) and default is not _NO_DEFAULT and other.value == default:
            return True  # compared with its own default: ``eps != "auto"``
        return not _is_value(other)
    # ``kwargs.get("x")`` itself asks whether it was given.
    return isinstance(parent, ast.Call) and _last_name(parent.func) in ("get", "pop")


def _is_value(node: ast.expr) -> bool:
    """Whether comparing with ``node`` asks which value was given (``"log"``), not whether one was
    (None, a boolean, a ``deprecated``/``default`` sentinel)."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_value(e) for e in node.elts)
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, bool):
            return False
        return not (isinstance(node.value, str) and _GIVEN_SENTINELS.match(node.value))
    name = _last_name(node)
    return not (name is not None and _GIVEN_SENTINELS.match(name))


def _attributed(refs: list[_Ref], message: str, params: list[str], owner: _Owner | None) -> _Ref | None:
    """The parameter a conditional warning is about.

    The first parameter the conditions test that the message names, not as the replacement ("'tol'
    is deprecated in favour of 'rtol'" is about ``tol``); when they test none (``if
    meth.startswith(...)``), the first parameter the message quotes or calls a parameter; else the
    only parameter the conditions test; else none (several, and the message names none of them).
    """
    replacing = set(replacement.candidates(message))
    by_name = {r.name: r for r in refs}
    known = [*by_name, *params, *((owner.params or []) if owner is not None else [])]
    named = [(name, quoted) for name, quoted in _named(message, known) if name not in replacing]
    for name, _ in named:
        if name in by_name:
            return by_name[name]
    for name, quoted in named:
        if not quoted or refs:
            continue  # a parameter the message quotes, when the conditions test none
        if name in params:
            return _Ref(name, False, False)
        if owner is not None and owner.params is not None and name in owner.params:
            return _Ref(name, True, False)
    names = {(r.name, r.on_self) for r in refs}
    return refs[0] if len(names) == 1 else None


def _named(message: str, names: list[str]) -> list[tuple[str, bool]]:
    """(name, quoted) of each of ``names`` the message mentions, in the order it mentions them;
    quoted: in quotes or backticks, or next to the word "parameter", "argument" or "keyword"."""
    found: dict[str, tuple[int, bool]] = {}
    for name in dict.fromkeys(names):
        word = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message)
        if word is None:
            continue
        quoted = re.search(
            rf"[`'\"]{re.escape(name)}[`'\"=(]|\b(?:parameter|argument|keyword|kwarg)s?\s+{re.escape(name)}\b|"
            rf"\b{re.escape(name)}\s+(?:parameter|argument|keyword|kwarg)",
            message,
        )
        found[name] = (quoted.start() if quoted else word.start(), quoted is not None)
    return [(name, quoted) for name, (_, quoted) in sorted(found.items(), key=lambda item: item[1][0])]


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


def _value_message(value: ast.expr, constants: dict[str, str] | None = None) -> str | None:
    """The message a table value holds: a string (or a module constant), or the longest string of a tuple."""
    text = _text(value, constants)
    if text is not None and not isinstance(value, ast.Call):
        return text
    if isinstance(value, (ast.Tuple, ast.List)):
        texts = [t for t in (_text(e, constants) for e in value.elts) if t]
        return max(texts, key=len) if texts else None
    return None
