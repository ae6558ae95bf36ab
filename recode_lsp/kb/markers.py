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
import dataclasses
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
_POSITIONAL = re.compile(r"positional|keyword[-_ ]only|as keyword arg|nonkeyword|kwonly", re.IGNORECASE)
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
#: Names that say "I deprecate something": ``warn_deprecated``, ``_rename_parameter``,
#: ``delete_parameter``; not ``remove``, ``rename`` or ``RemovableHandle``.
_HELPER_NAME = re.compile(r"deprecat|warn|(?:renam|remov|delet)\w*(?:param|arg|kw|attr|alias)", re.IGNORECASE)
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


#: Warning classes every library may use: a deprecation by their category alone.
_BASE_CATEGORIES = frozenset(_CATEGORIES)
#: Calls whose name says "warn" but that issue no warning (filters, catchers, loggers' switches).
_NOT_WARNING_CALL = re.compile(r"filter|catch|suppress|ignore|disable|reset|show|format|assert", re.IGNORECASE)
#: Receivers of ``x.warning(...)`` / ``x.warn(...)`` that are loggers, not the warnings module.
_LOGGER = re.compile(r"(?:^|_)log(?:ger|ging)?s?$|logger$", re.IGNORECASE)


def _category_name(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Call):
        node = node.func
    return _last_name(node)


def _is_category(node: ast.expr | None, categories: frozenset[str] = _BASE_CATEGORIES) -> bool:
    """Whether ``node`` names a deprecation category: ``DeprecationWarning``, ``FutureWarning``,
    ``PendingDeprecationWarning``, any ``*DeprecationWarning`` / ``*FutureWarning``, or one of
    ``categories`` (the library's own classes derived from these, ``Pandas4Warning``)."""
    name = _category_name(node)
    return bool(name) and (name in categories or str(name).endswith(("DeprecationWarning", "FutureWarning")))


def _warning_category(call: ast.Call) -> ast.expr | None:
    category = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "category":
            category = keyword.value
    if category is None and call.args and isinstance(call.args[0], ast.Call):
        category = call.args[0]
    return category


def _is_warning_call(call: ast.Call) -> bool:
    """A call that issues a warning: ``warnings.warn``, ``_api.warn_external``, ``warn_deprecated``...;
    not ``filterwarnings``/``catch_warnings`` nor a logger's ``warning``."""
    name = _last_name(call.func) or ""
    if "warn" not in name.lower() or _NOT_WARNING_CALL.search(name):
        return False
    if isinstance(call.func, ast.Attribute):
        receiver = _last_name(call.func.value) if isinstance(call.func.value, (ast.Name, ast.Attribute)) else None
        if receiver and _LOGGER.search(receiver):
            return False
    return True


def _logger_warning(call: ast.Call) -> bool:
    """``logger.warning(...)`` / ``log.warn(...)``: a deprecation only when its message says so."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in ("warning", "warn")):
        return False
    receiver = _last_name(func.value) if isinstance(func.value, (ast.Name, ast.Attribute)) else None
    return bool(receiver) and bool(_LOGGER.search(receiver or ""))


def _is_deprecation_warn(
    call: ast.Call,
    constants: dict[str, str] | None = None,
    categories: frozenset[str] = _BASE_CATEGORIES,
    *,
    strict: bool = False,
) -> bool:
    """``warnings.warn(msg, SomeDeprecationWarning)`` or ``warn(SomeDeprecationWarning(msg))`` (a
    category of ``categories`` counts too); unless ``strict``, also ``warnings.warn(msg, UserWarning)``
    or ``warnings.warn(msg)`` when ``msg`` (a string, or a name in ``constants``) says the API is
    deprecated."""
    if not _is_warning_call(call):
        return (
            not strict
            and _logger_warning(call)
            and bool(call.args)
            and bool(_DEPRECATION_WORDS.search(_text(call.args[0], constants) or ""))
        )
    category = _warning_category(call)
    if _is_category(category, categories):
        return True
    if strict or (_last_name(call.func) or "") not in ("warn", "warn_explicit"):
        return False
    plain = category is None or _category_name(category) in _PLAIN_CATEGORIES
    if not plain or not call.args:
        return False
    message = _text(call.args[0], constants)
    return bool(message) and bool(_DEPRECATION_WORDS.search(message or ""))


@dataclass(frozen=True)
class _Imports:
    """Names a module binds by importing: from outside the package (``os``, ``logging``) and from it."""

    external: frozenset[str] = frozenset()
    internal: frozenset[str] = frozenset()


def _module_imports(tree: ast.Module, module: str, top: str, *, is_package: bool) -> _Imports:
    external: set[str] = set()
    internal: set[str] = set()
    for node in _module_statements(tree.body, conditional=True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                inside = alias.name == top or alias.name.startswith(top + ".")
                (internal if inside else external).add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            source = _imported_module(module, node, is_package=is_package) or ""
            inside = source == top or source.startswith(top + ".")
            for alias in node.names:
                (internal if inside else external).add(alias.asname or alias.name)
    return _Imports(frozenset(external), frozenset(internal))


def _callee(call: ast.Call, imports: _Imports) -> str | None:
    """The name a call may reach a helper of the package by: ``helper(...)``, ``self.helper(...)``,
    ``_api.helper(...)`` with ``_api`` imported from the package; not ``os.remove(...)``,
    ``logger.warning(...)`` or ``store.remove(...)`` (a method of some object), whose names only
    look like a helper's."""
    func = call.func
    if isinstance(func, ast.Name):
        return None if func.id in imports.external else func.id
    if not isinstance(func, ast.Attribute):
        return None
    root: ast.expr = func.value
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(root, ast.Call) and isinstance(root.func, ast.Name) and root.func.id == "super":
        return func.attr
    if isinstance(root, ast.Name) and (root.id in ("self", "cls") or root.id in imports.internal):
        return func.attr
    return None


def _category_params(node: ast.AST, categories: frozenset[str]) -> frozenset[str]:
    """Parameters of a function that carry the warning category it warns with: a deprecation
    category as default (``warn_category=ScrapyDeprecationWarning``) or in the annotation
    (``klass: type[Pandas4Warning]``)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return frozenset()
    found = set()
    args = node.args
    if re.search("deprecat", node.name, re.IGNORECASE):
        # ``deprecate_kwarg(klass, old_arg_name, new_arg_name)``: the decorator says what it warns
        # about; the category it is given is a deprecation's.
        return frozenset(_function_params(node))
    for parameter, default in _defaults(node):
        if _is_category(default, categories):
            found.add(parameter)
    for argument in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if argument.annotation is not None and any(
            isinstance(n, (ast.Name, ast.Attribute)) and _is_category(n, categories)
            for n in ast.walk(argument.annotation)
        ):
            found.add(argument.arg)
    return frozenset(found)


def _library_categories(modules: list[tuple[str, Path, ast.Module]]) -> frozenset[str]:
    """The deprecation categories of a library: the standard ones, and its classes whose bases are
    one of them (``class Pandas4Warning(PandasDeprecationWarning)``, through any depth) or names
    bound to one (``_CurrentDeprecationWarning = Pandas4Warning``)."""
    bases: dict[str, set[str]] = {}
    aliases: dict[str, str] = {}
    for _, _, tree in modules:
        for node in _module_statements(tree.body, conditional=True):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(n for n in map(_last_name, node.bases) if n)
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, (ast.Name, ast.Attribute))
            ):
                value = _last_name(node.value)
                if value and value.endswith("Warning"):
                    aliases[node.targets[0].id] = value
    found = set(_BASE_CATEGORIES)

    def known(name: str) -> bool:
        return name in found or name.endswith(("DeprecationWarning", "FutureWarning"))

    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if not known(name) and any(known(parent) for parent in parents):
                found.add(name)
                changed = True
        for name, value in aliases.items():
            if not known(name) and known(value):
                found.add(name)
                changed = True
    return frozenset(found)


_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class _CallSummary:
    """Per-definition facts about the calls under it, from one pass over each definition.

    ``whole(node)`` is (any deprecation warning, callee names) over every call in ``node``'s subtree;
    ``own(node)`` is the same restricted to calls made on another API's behalf (see
    :func:`_helper_evidence`), where only a warning of a deprecation category counts (a helper that
    warns with ``UserWarning`` or logs is no deprecation helper). Each node of a module is visited
    once (a fresh walk per definition was quadratic in the nesting and dominated a scrape's time).
    """

    def __init__(self, categories: frozenset[str] = _BASE_CATEGORIES, imports: _Imports | None = None) -> None:
        self.categories = categories
        self.imports = imports or _Imports()
        self._whole: dict[int, tuple[bool, bool, frozenset[str]]] = {}
        self._own: dict[int, tuple[bool, frozenset[str]]] = {}
        #: Category parameters of the functions a definition is nested in (a wrapper warning with
        #: its decorator's ``klass``).
        self._context: dict[int, frozenset[str]] = {}

    def whole(self, node: _Def) -> tuple[bool, frozenset[str]]:
        if id(node) not in self._whole:
            self._scan(node)
        warns, _, called = self._whole[id(node)]
        return warns, called

    def own(self, node: _Def) -> tuple[bool, frozenset[str]]:
        if id(node) not in self._own:
            self._scan(node)
        return self._own[id(node)]

    def _scan(self, node: _Def) -> None:
        is_function = not isinstance(node, ast.ClassDef)
        params = set(_function_params(node)) | {"self"} if is_function else set()  # type: ignore[arg-type]
        context = self._context.get(id(node), frozenset()) | _category_params(node, self.categories)
        categories = self.categories | context
        warns = strict_warns = own_warns = False
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
                if context:
                    self._context[id(child)] = context
                if id(child) not in self._whole:
                    self._scan(child)
                inner_warns, inner_strict, inner_called = self._whole[id(child)]
                warns = warns or inner_warns
                strict_warns = strict_warns or inner_strict
                called |= inner_called
                # In a function everything nested is a wrapper acting on its behalf; in a class
                # body each method speaks for itself.
                mine = (inner_strict, inner_called) if is_function else self.own(child)
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
            strict = _is_deprecation_warn(child, None, categories, strict=True)
            is_warn = strict or _is_deprecation_warn(child, None, categories)
            if not is_warn and assigns and child.args and isinstance(child.args[0], ast.Name):
                # A message kept in a local variable (``msg = "..."; warn(msg, UserWarning)``).
                if texts is None:
                    texts = _assigned_texts(assigns)
                is_warn = _is_deprecation_warn(child, texts, categories)
            callee = None if is_warn else _callee(child, self.imports)
            warns = warns or is_warn
            strict_warns = strict_warns or strict
            if callee:
                called.add(callee)
            if id(child) in passing:
                own_warns = own_warns or strict
                if callee:
                    own_called.add(callee)
        self._whole[id(node)] = (warns, strict_warns, frozenset(called))
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

    def __init__(
        self,
        node: ast.AST,
        constants: dict[str, str] | None = None,
        categories: frozenset[str] = _BASE_CATEGORIES,
    ) -> None:
        self.constants = dict(constants or {})
        self.categories = categories | _category_params(node, categories)
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
        return _is_deprecation_warn(call, self.at(call.lineno), self.categories)


def _function_params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return [n for n in names if n not in ("self", "cls")]


class Package:
    """The parsed sources of one release, with the deprecating helpers found in them."""

    def __init__(self, root: Path, top: str) -> None:
        self.root = root
        self.top = top
        self._imports: dict[str, _Imports] = {}
        self.modules: list[tuple[str, Path, ast.Module]] = []
        for module, path in module_files(root, top):
            tree = _parse(path)
            if tree is not None:
                self.modules.append((module, path, tree))
        self.summaries: dict[str, _CallSummary] = {}
        #: Every function and class by its (unqualified) name.
        self.definitions: dict[str, list[_Def]] = {}
        #: Deprecation categories: the standard ones and the library's classes derived from them.
        self.categories = _library_categories(self.modules)
        self.helpers = self._deprecating_helpers()
        #: Helpers about how arguments are passed (``_deprecate_positional_args``): no deprecation.
        self.positional_helpers = {
            name
            for name in self.helpers
            if _POSITIONAL.search(name)
            or any(
                isinstance(n, ast.Constant)
                and isinstance(n.value, str)
                and _POSITIONAL.search(n.value)
                and id(n) not in _docstrings(node)  # ``rename_parameter``'s docstring says "positionally" too
                for node in self.definitions.get(name, ())
                for n in ast.walk(node)
            )
        }
        self._warn_texts: dict[str, list[str]] = {}
        self._trees = {module: tree for module, _, tree in self.modules}
        self._constants: dict[str, dict[str, str]] = {}

    def imports(self, module: str, path: Path, tree: ast.Module) -> _Imports:
        if module not in self._imports:
            self._imports[module] = _module_imports(tree, module, self.top, is_package=path.name == "__init__.py")
        return self._imports[module]

    def helper_message(self, name: str, call: ast.Call, texts: dict[str, str]) -> str | None:
        """The deprecation message helper ``name`` issues for ``call``: a message of its template
        (``f"{name} is deprecated, use {alternative} instead"``) with the call's string arguments put
        in for its parameters; None unless one was put in and the rest is plain text."""
        for definition in self.definitions.get(name, ()):
            if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            args = definition.args
            positional = [a.arg for a in (*args.posonlyargs, *args.args)]
            values: dict[str, str] = {}
            for parameter, argument in zip(positional, call.args, strict=False):
                text = _text(argument, texts)
                if text is not None:
                    values[parameter] = text
            for keyword in call.keywords:
                text = _text(keyword.value, texts) if keyword.arg else None
                if keyword.arg and text is not None:
                    values[keyword.arg] = text
            if not values:
                continue
            for template in self.warn_texts(name):
                filled = template
                for parameter, value in values.items():
                    filled = filled.replace("{" + parameter + "}", value).replace("{" + parameter + "!r}", repr(value))
                if filled != template and "{" not in filled and _DEPRECATION_WORDS.search(filled):
                    return filled
        return None

    def constants(self, module: str) -> dict[str, str]:
        """The string constants a module binds at its top level (``_msg = "... is deprecated"``)."""
        if module not in self._constants:
            texts: dict[str, str] = {}
            tree = self._trees.get(module)
            for node in tree.body if tree is not None else []:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    text = _text(node.value)
                    if text is not None:
                        texts[node.targets[0].id] = text
            self._constants[module] = texts
        return self._constants[module]

    def warn_texts(self, name: str, *, classes: bool = False) -> list[str]:
        """Messages of the deprecation warnings issued in the functions called ``name`` (with
        ``classes``, also in the methods of the classes called so)."""
        key = f"{name}:{classes}"
        if key not in self._warn_texts:
            texts: list[str] = []
            for node in self.definitions.get(name, ()):
                if isinstance(node, ast.ClassDef) and not classes:
                    continue
                locals_ = _LocalTexts(node, categories=self.categories)
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
        warns from a nested function (the wrapper) or with a message built from its arguments, and
        with a deprecation category (``DeprecationWarning``, ``FutureWarning``, the library's own
        ``Pandas4Warning``): a function that logs, warns with ``UserWarning`` or merely has
        "remove" in its name is no helper. Only the latter are helpers: calling a deprecated
        function does not deprecate the caller.
        """
        direct: set[str] = set()
        calls: dict[str, set[str]] = {}
        for module, path, tree in self.modules:
            summary = self.summaries[module] = _CallSummary(self.categories, self.imports(module, path, tree))
            for node in _definitions(tree.body):
                self.definitions.setdefault(node.name, []).append(node)
                warns, called = _helper_evidence(node, summary)
                if warns:
                    direct.add(node.name)
                calls.setdefault(node.name, set()).update(called - {node.name})

        # Helpers are matched by name, so only names that say what they do count, at every step of
        # the fixpoint: a library's own ``max``, ``func`` or ``_dispatch`` that warns somewhere must
        # not deprecate every caller. Dunder methods warn for their class; nobody calls them by name.
        def named(name: str) -> bool:
            return not (name.startswith("__") and name.endswith("__")) and bool(_HELPER_NAME.search(name))

        helpers = {name for name in direct if named(name)}
        changed = True
        while changed:
            changed = False
            for name, callees in calls.items():
                if name not in helpers and named(name) and callees & helpers:
                    helpers.add(name)
                    changed = True
        return helpers

    def markers(self) -> list[Marker]:
        found: list[Marker] = []
        for module, path, tree in self.modules:
            relative = str(path.relative_to(self.root).as_posix())
            found.extend(_ModuleScan(self, module, relative, tree).run())
        return found

    def signatures(self) -> dict[str, Signature | None]:
        """The signature of every function and method of the ``.py`` sources, by qualified name
        (``pkg.mod.Class.method``); None where the source defines it twice, differently."""
        found: dict[str, Signature | None] = {}
        for module, path, tree in self.modules:
            relative = str(path.relative_to(self.root).as_posix())
            _collect_signatures(tree.body, module, relative, found)
        return found

    def unbound_names(self) -> set[str]:
        """``module.name`` of names the module binds but does not keep: deleted at module level (``del
        Arrayterator``), taken out of ``__all__`` by ``__all__.remove("x")``, or bound only under ``if
        __name__ == "__main__":``. griffe lists them; user code cannot reach them."""
        found: set[str] = set()
        for module, _, tree in self.modules:
            for node in _module_statements(tree.body, conditional=True):
                if isinstance(node, ast.Delete):
                    found.update(f"{module}.{t.id}" for t in node.targets if isinstance(t, ast.Name))
                elif (
                    isinstance(node, ast.If)
                    and isinstance(node.test, ast.Compare)
                    and isinstance(node.test.left, ast.Name)
                    and node.test.left.id == "__name__"
                ):
                    for inner in node.body:
                        for target in getattr(inner, "targets", [getattr(inner, "target", None)]):
                            if isinstance(target, ast.Name):
                                found.add(f"{module}.{target.id}")
        return found

    def conditional_names(self) -> set[str]:
        """``module.name`` of module attributes assigned only under an ``if`` on something run time
        decides (``if os.path.isfile(rocm_version_h): RE_MAJOR = ...``) or in an ``except`` block:
        griffe lists them, but whether a given interpreter has them is unknown, so their absence is
        no removal."""
        found: set[str] = set()
        for module, _, tree in self.modules:
            always: set[str] = set()
            sometimes: set[str] = set()
            _guarded_assignments(tree.body, False, always, sometimes)
            found.update(f"{module}.{name}" for name in sometimes - always)
        return found

    def lazy_names(self) -> set[str]:
        """``module.name`` of names a module ``__getattr__`` hands out by name (``if key == "hash_array":
        return ...``, ``if name in ("a", "b")``, ``if name in _table``): reachable, though not bound."""
        found: set[str] = set()
        for module, _, tree in self.modules:
            tables: dict[str, list[str]] = {}
            getattr_node = None
            for node in _module_statements(tree.body, conditional=True):
                if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                    getattr_node = node
                elif isinstance(node, ast.ClassDef) and node.name == "__getattr__":
                    # ``@caching_module_getattr class __getattr__:``: its attributes are the module's names.
                    for statement in node.body:
                        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            found.add(f"{module}.{statement.name}")
                        elif isinstance(statement, ast.Assign):
                            found.update(f"{module}.{t.id}" for t in statement.targets if isinstance(t, ast.Name))
                elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                    keys = [
                        k.value for k in node.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
                    ]
                    tables.update((t.id, keys) for t in node.targets if isinstance(t, ast.Name))
                elif isinstance(node, ast.Assign) and _string_list(node.value):
                    tables.update(
                        (t.id, _string_list(node.value) or []) for t in node.targets if isinstance(t, ast.Name)
                    )
            if getattr_node is None or not getattr_node.args.args:
                continue
            param = getattr_node.args.args[0].arg
            for table in _table_lookups(getattr_node, param, set(tables)).values():
                found.update(f"{module}.{name}" for name in tables[table])
            for branch in ast.walk(getattr_node):
                if not (isinstance(branch, ast.If) and isinstance(branch.test, ast.Compare)):
                    continue
                test = branch.test
                if not (isinstance(test.left, ast.Name) and test.left.id == param and len(test.ops) == 1):
                    continue
                if not any(isinstance(n, ast.Return) for statement in branch.body for n in ast.walk(statement)):
                    continue  # the branch raises: the name is gone
                right = test.comparators[0]
                names: list[str] = []
                if (
                    isinstance(test.ops[0], ast.Eq)
                    and isinstance(right, ast.Constant)
                    and isinstance(right.value, str)
                ):
                    names = [right.value]
                elif isinstance(test.ops[0], ast.In):
                    names = _string_list(right) or (tables.get(right.id, []) if isinstance(right, ast.Name) else [])
                found.update(f"{module}.{name}" for name in names)
        return found

    def compiled_stars(self) -> dict[str, set[str]]:
        """Module -> the modules it star-imports that have no Python source here (compiled code,
        ``from torch._C import *``): what such an import binds is known only at run time."""
        found: dict[str, set[str]] = {}
        sources = {module for module, _, _ in self.modules}
        for module, path, tree in self.modules:
            for node in _module_statements(tree.body, conditional=True):
                if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                    source = _imported_module(module, node, is_package=path.name == "__init__.py")
                    if source and source not in sources:
                        found.setdefault(module, set()).add(source)
        return found

    def forwarding_modules(self) -> set[str]:
        """Modules whose ``__getattr__`` may hand out names the module does not bind (it does not end
        by raising ``AttributeError``): a name missing there may still be reachable."""
        found = set()
        for module, _, tree in self.modules:
            for node in _module_statements(tree.body, conditional=True):
                if isinstance(node, ast.FunctionDef) and node.name == "__getattr__" and _forwards(node):
                    found.add(module)
        return found


@dataclass(frozen=True)
class Parameter:
    """One parameter of a function as its ``.py`` source spells it."""

    name: str
    #: ``positional-only``, ``positional``, ``*args``, ``keyword-only`` or ``**kwargs``.
    kind: str
    #: The default's source text (cut at 80 characters), None without one.
    default: str | None


@dataclass(frozen=True)
class Signature:
    """A function's parameters and where it is defined (``file``, ``line``)."""

    parameters: tuple[Parameter, ...]
    file: str
    line: int


@dataclass
class ReleaseScan:
    """What the :mod:`ast` pass over one release found (a process-pool task's result)."""

    markers: list[Marker]
    signatures: dict[str, Signature | None]
    forwarding: set[str]
    unbound: set[str]
    lazy: set[str]
    conditional: set[str]
    compiled_stars: dict[str, set[str]]


def release_markers(root: Path, top: str) -> list[Marker]:
    """The markers of the release whose package ``top`` sits under ``root``."""
    return Package(root, top).markers()


def release_scan(root: Path, top: str) -> ReleaseScan:
    """Markers, ``.py`` signatures, forwarding ``__getattr__`` modules and names deleted again of the
    release whose package ``top`` sits under ``root`` (a process-pool task)."""
    package = Package(root, top)
    return ReleaseScan(
        package.markers(),
        package.signatures(),
        package.forwarding_modules(),
        package.unbound_names(),
        package.lazy_names(),
        package.conditional_names(),
        package.compiled_stars(),
    )


_PROPERTY = re.compile(r"(?:^|\.)(?:property|cached_property|cache_readonly|setter|getter|deleter)$")
_OVERLOAD = re.compile(r"(?:^|\.)overload$")


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, file: str) -> Signature:
    args = node.args
    parameters: list[Parameter] = []
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for index, (argument, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = "positional-only" if index < len(args.posonlyargs) else "positional"
        parameters.append(Parameter(argument.arg, kind, _default_text(default)))
    if args.vararg is not None:
        parameters.append(Parameter(args.vararg.arg, "*args", None))
    for argument, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parameters.append(Parameter(argument.arg, "keyword-only", _default_text(kw_default)))
    if args.kwarg is not None:
        parameters.append(Parameter(args.kwarg.arg, "**kwargs", None))
    return Signature(tuple(parameters), file, node.lineno)


def _stands_in(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A Python stand-in for compiled code: decorated with a call given the compiled object of the same
    name (NumPy's ``@array_function_from_c_func_and_dispatcher(_multiarray_umath.concatenate)`` over
    ``def concatenate(arrays, axis=None, ...): return arrays``). Its signature is a dispatcher's."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and any(
            isinstance(a, ast.Attribute) and a.attr == node.name for a in decorator.args
        ):
            return True
    return False


def _default_text(node: ast.expr | None) -> str | None:
    return None if node is None else ast.unparse(node)[:80]


def _collect_signatures(body: list[ast.stmt], prefix: str, file: str, found: dict[str, Signature | None]) -> None:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorators = [ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list]
            if any(_OVERLOAD.search(d) or _PROPERTY.search(d) for d in decorators):
                continue
            path = f"{prefix}.{node.name}"
            if _stands_in(node):
                # A NumPy dispatcher (``def concatenate(arrays, axis=None, out=None): return (arrays,
                # out)``): compiled code does the work, with its own defaults.
                found[path] = None
                continue
            signature = _signature(node, file)
            if path in found:
                known = found[path]
                if known is None or known.parameters != signature.parameters:
                    found[path] = None  # two definitions (``if sys.version_info``): which one runs is unknown
                continue
            found[path] = signature
        elif isinstance(node, ast.ClassDef):
            _collect_signatures(node.body, f"{prefix}.{node.name}", file, found)
        elif isinstance(node, (ast.If, ast.Try)):
            for part in (node.body, node.orelse, getattr(node, "finalbody", [])):
                _collect_signatures(part, prefix, file, found)
            for handler in getattr(node, "handlers", []):
                _collect_signatures(handler.body, prefix, file, found)


def _forwards(getattr_node: ast.FunctionDef) -> bool:
    """Whether a module ``__getattr__`` can hand out a name it has no entry for: outside the branches
    that test the name (``if name in submodules:``), it looks the name up elsewhere
    (``getattr(_core, name)``, ``import_module(f"pkg.{name}")``, ``table[name]``), not in the
    module's own ``globals()``."""
    if not getattr_node.args.args:
        return False
    param = getattr_node.args.args[0].arg

    def tests_name(test: ast.expr) -> bool:
        return isinstance(test, ast.Compare) and any(
            isinstance(n, ast.Name) and n.id == param for n in (test.left, *test.comparators)
        )

    def own_globals(node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and _last_name(node.func) in ("globals", "vars", "locals")

    def looks_up(node: ast.AST) -> bool:
        for inner in ast.walk(node):
            uses = any(isinstance(n, ast.Name) and n.id == param for n in ast.walk(inner))
            if isinstance(inner, ast.Call) and uses:
                callee = _last_name(inner.func)
                if callee == "getattr" and inner.args and not own_globals(inner.args[0]):
                    return True
                if callee in ("import_module", "__import__"):
                    return True
            if isinstance(inner, ast.Subscript) and uses and not own_globals(inner.value):
                return True
        # ``return _sub_module_deprecation(..., attribute=name)``: what it hands out is its business.
        return isinstance(node, ast.Return) and isinstance(node.value, ast.Call) and _passes(node.value, [param])

    def visit(body: list[ast.stmt]) -> bool:
        for statement in body:
            if isinstance(statement, ast.If) and tests_name(statement.test):
                if visit(statement.orelse):
                    return True
                continue
            if isinstance(statement, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                parts = [getattr(statement, f, []) for f in ("body", "orelse", "finalbody")]
                parts += [h.body for h in getattr(statement, "handlers", [])]
                if any(visit(part) for part in parts):
                    return True
                continue
            if looks_up(statement):
                return True
        return False

    return visit(getattr_node.body)


@dataclass(frozen=True)
class _Owner:
    """The class whose body a method is in."""

    path: str
    #: Its constructor's parameters; None when the class body defines no ``__init__`` (inherited).
    params: list[str] | None
    #: Constant defaults of those parameters (``{"n_iter": "deprecated"}``).
    defaults: dict[str, object]
    #: The parameters the constructor keeps as they are (``self.n_iter = n_iter``, scikit-learn's
    #: convention): only for those is ``self.<name>`` in a method the parameter (``self.dtype`` of a
    #: pandas Series is a property). None when the class body defines no ``__init__``.
    stored: frozenset[str] | None = None


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
        self.imports = package.imports(module, package.root / file, tree)
        self.out: list[Marker] = []
        # Module-level message constants (``_msg = "... is deprecated ..."``), for ``warn(_msg % name)``,
        # also those imported from another module of the package (``from pandas.errors.cow import
        # _chained_assignment_method_msg``).
        self.constants: dict[str, str] = {}
        for node in _module_statements(tree.body, conditional=False):
            if isinstance(node, ast.ImportFrom):
                source = _imported_module(module, node, is_package=file.endswith("__init__.py"))
                texts = package.constants(source) if source else {}
                for alias in node.names:
                    if alias.name in texts:
                        self.constants[alias.asname or alias.name] = texts[alias.name]
        self.constants.update(package.constants(module))
        #: (path, keyword) of parameters with a ``deprecated`` sentinel default, with their function.
        self._sentinels: list[tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef, _Owner | None]] = []

    def run(self) -> list[Marker]:
        self._module_warnings()
        self._body(self.tree.body, self.module, owner=None)
        self._sentinel_markers()
        self._getattr_tables()
        self._dispatched_warnings()
        return self.out

    def _dispatched_warnings(self) -> None:
        """A warning in a private function that a decorator call receives is about the decorated one.

        NumPy 1.25 warns in ``_product_dispatcher``, handed to ``@array_function_dispatch(...)`` on
        ``product``: the dispatcher runs on every call of ``product``, so ``product`` is what is deprecated.
        """
        by_path: dict[str, list[Marker]] = {}
        for marker in self.out:
            by_path.setdefault(marker.path, []).append(marker)
        for node in _module_statements(self.tree.body, conditional=True):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if f"{self.module}.{node.name}" in by_path:
                continue  # its own evidence wins
            for decorator in node.decorator_list:
                arguments = decorator.args if isinstance(decorator, ast.Call) else []
                found = [
                    by_path[f"{self.module}.{argument.id}"]
                    for argument in arguments
                    if isinstance(argument, ast.Name)
                    and argument.id.startswith("_")
                    and f"{self.module}.{argument.id}" in by_path
                ]
                for marker in (m for markers in found[:1] for m in markers):
                    self.out.append(dataclasses.replace(marker, path=f"{self.module}.{node.name}"))

    def _add(self, path: str, state: str, message: str, evidence: str, line: int, **extra: object) -> None:
        message = message.strip()
        since = extra.pop("since", None) or replacement.deprecated_in(message)
        removal = extra.pop("removal", None) or replacement.removal_in(message)
        message = _filled(message, path, since, removal, keyword=extra.get("keyword")).replace(
            "{__name__}",
            self.module,  # ``f"Importing {__name__} was deprecated ..."``
        )
        self.out.append(
            Marker(path, state, message, evidence, self.file, line, since=since, removal=removal, **extra)  # type: ignore[arg-type]
        )

    def _module_warnings(self) -> None:
        """A deprecation warning issued when the module is imported deprecates the module."""
        if "." not in self.module:
            return  # the library itself
        for statement in _module_statements(self.tree.body, conditional=False, environment=True):
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
                continue
            call = statement.value
            callee = _callee(call, self.imports)
            if callee in self.package.positional_helpers:
                continue
            if _is_deprecation_warn(call, self.constants, self.package.categories) or callee in self.package.helpers:
                message = self._call_message(call, self.constants)[0] or f"`{self.module}` is deprecated."
                self._add(self.module, "deprecated", message, "warnings.warn", call.lineno)

    def _body(self, body: list[ast.stmt], prefix: str, *, owner: _Owner | None) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name == "__getattr__" and owner is None:
                self._getattr_class(node, prefix)
            elif isinstance(node, ast.ClassDef):
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
                    _stored_params(init) if init is not None else None,
                )
                self._body(node.body, path, owner=owner_of_body)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name == "__getattr__" and owner is None:
                    continue
                self._function(node, prefix, owner=owner)
            elif isinstance(node, ast.Assign):
                self._assigned_decorator(node, prefix, body)
                self._assigned_helper(node, prefix)
            elif isinstance(node, (ast.If, ast.Try)):
                # Definitions under ``if sys.version_info`` / ``try: import`` are still module-level.
                for part in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                    self._body(part, prefix, owner=owner)

    def _getattr_class(self, node: ast.ClassDef, prefix: str) -> None:
        """Matplotlib's ``@_api.caching_module_getattr class __getattr__:`` whose attributes are the
        module's lazy names: ``psDefs = _api.deprecated("3.8")(property(...))`` deprecates ``module.psDefs``."""
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._decorators(statement, f"{prefix}.{statement.name}", params=[])
            elif (
                isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Call)
                and isinstance(statement.value.func, ast.Call)
            ):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        self._decorator(
                            statement.value.func, f"{prefix}.{target.id}", params=[], line=statement.lineno
                        )

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
        summary = self.package.summaries.setdefault(self.module, _CallSummary(self.package.categories, self.imports))
        warns, called = summary.whole(node)
        if name in self.package.helpers:
            return  # a helper's warnings are about the APIs that call it (``warn_alias_replacement``)
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

    def _assigned_helper(self, node: ast.Assign, prefix: str) -> None:
        """``Old = create_deprecated_class("Old", New)``: a name bound to what a deprecation helper made
        (scrapy's ``create_deprecated_class``, pandas' ``deprecate("old", new)``)."""
        value = node.value
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) or node.targets[0].id.startswith("_"):
            return
        if not isinstance(value, ast.Call) or isinstance(value.func, ast.Call):
            return
        callee = _callee(value, self.imports)
        if (
            callee is None
            or callee not in self.package.helpers
            or callee in self.package.positional_helpers
            or not re.search("deprecat", callee, re.IGNORECASE)
        ):
            return
        name = node.targets[0].id
        message, since, alternative = self._call_message(value, self.constants)
        # The object it stands for: the first argument that is a name (``New``, ``mod.New``).
        named = [ast.unparse(a) for a in value.args if isinstance(a, (ast.Name, ast.Attribute))]
        alternative = alternative or (named[0] if named else None)
        if message and not _DEPRECATION_WORDS.search(message):
            message = None
        if not message:
            message = f"`{name}` is deprecated" + (f"; use `{alternative}` instead." if alternative else ".")
        self._add(
            f"{prefix}.{name}",
            "deprecated",
            message,
            f"{callee}()",
            node.lineno,
            since=since,
            alternative=alternative,
        )

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
        # A decorator is about how arguments are passed when its name says so (``make_keyword_only``,
        # ``deprecate_nonkeyword_arguments``); ``delete_parameter`` also warns about positional arguments
        # (those after the deleted one), but deprecates the parameter it names.
        if not pep702 and (name not in self.package.helpers or _POSITIONAL.search(name)):
            return
        label = f"@{ast.unparse(func)}"
        args = decorator.args if isinstance(decorator, ast.Call) else []
        keywords = {k.arg: k.value for k in decorator.keywords} if isinstance(decorator, ast.Call) else {}
        strings = [t for t in (_text(a) for a in args) if t is not None]
        since = (
            next((s for s in strings if _VERSION.match(s)), None)
            or _text(keywords.get("since"))
            or _text(keywords.get("version"))
            or _text(keywords.get("dep_version"))
        )
        removal = _text(keywords.get("removal"))
        removal = removal if removal and _VERSION.match(removal) else None
        words = [s for s in strings if s != since]
        identifiers = [s for s in words if _IDENT.match(s)]
        # ``@deprecate_kwarg(old_arg_name="quantile", new_arg_name="q")``: the names given by keyword.
        named = [_text(v) for k, v in keywords.items() if k and re.search(r"old|new|arg|param|name", k)]
        identifiers += [t for t in named if t and _IDENT.match(t) and t not in identifiers and t != since]
        lists = [_string_list(a) for a in args[:2]]
        if not pep702 and len(lists) == 2 and lists[0] and lists[1] and len(lists[0]) == len(lists[1]):
            # ``@_rename_parameter(["x", "y"], ["actual", "desired"], dep_version="2.0.0")``
            since = since or _text(keywords.get("dep_version"))
            pairs = [(o, n) for o, n in zip(lists[0], lists[1], strict=True) if n in params and o not in params]
            for old_name, new_name in pairs:
                self._add(
                    target,
                    "deprecated",
                    f"parameter {old_name!r} renamed to {new_name!r}",
                    label,
                    line,
                    keyword=old_name,
                    new_keyword=new_name,
                    since=since,
                    removal=removal,
                )
            if pairs or any(n in params for n in lists[1]):
                return
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
        while len(body) > 1 and _is_super_call(body[0]):
            body = body[1:]  # ``super().__init__(other)`` before the raise of a constructor
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
        texts = _LocalTexts(node, self.constants, self.package.categories)
        kwargs = node.args.kwarg.arg if node.args.kwarg is not None else None
        varargs = node.args.vararg.arg if node.args.vararg is not None else None
        defaults = _constant_defaults(node)

        def visit(statements: list[ast.stmt], conditions: list[ast.expr]) -> None:
            guards = list(conditions)
            for statement in statements:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    continue
                if isinstance(statement, ast.If) and _environment_test(statement.test):
                    # ``if sys.version_info >= (3, 12):`` says nothing about the call.
                    visit(statement.body, guards)
                    visit(statement.orelse, guards)
                    continue
                if isinstance(statement, ast.If):
                    visit(statement.body, [*guards, statement.test])
                    visit(statement.orelse, [*guards, statement.test])
                    if not statement.orelse and isinstance(
                        statement.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break)
                    ):
                        # ``if val is deprecated: return`` guards what follows. A guard about no
                        # parameter's being given (``if self.empty and len(self.axes[axis]): return``)
                        # still makes it conditional, but names no parameter.
                        given = _asks_given(statement.test, params, owner, kwargs, defaults)
                        guards.append(statement.test if given else ast.Constant(value=True))
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
                        varargs=varargs,
                        defaults=defaults,
                        categories=texts.categories,
                    )

        visit(node.body, [])

    def _call_message(self, call: ast.Call, texts: dict[str, str]) -> tuple[str | None, str | None, str | None]:
        """(message, version named, alternative) of a warning or a helper call."""
        message = _text(call.args[0], texts) if call.args else None
        callee = _callee(call, self.imports) or ""
        if callee not in self.package.helpers:
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
        # The helper's own message with the call's arguments in it (``_warn_deprecated("cuda_time",
        # "device_time")`` warns "cuda_time is deprecated, use device_time instead"), when it says more.
        filled = self.package.helper_message(callee, call, texts)
        if filled and not (message and _DEPRECATION_WORDS.search(message)):
            message = filled
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
        varargs: str | None,
        defaults: dict[str, object],
        categories: frozenset[str],
    ) -> None:
        callee = _callee(call, self.imports)
        helper = callee in self.package.helpers
        if helper and callee in self.package.positional_helpers:
            return
        if not (helper or _is_deprecation_warn(call, texts, categories)):
            return
        message, since, _ = self._call_message(call, texts)
        passed = [*params, *(n for n in (kwargs, varargs) if n)]
        if helper and _passes(call, passed) and not _DEPRECATION_WORDS.search(message or ""):
            # ``_deprecate_ci(errorbar, ci)``, ``maybe_warn_args_and_kwargs(cls, "sum", args, kwargs)``:
            # the helper decides about the arguments it is given; their values say whether it warns,
            # not this call.
            return
        if message and _POSITIONAL.search(message):
            return  # "Positional args are being deprecated, use kwargs": how arguments are passed
        # A message built at run time: say what is known rather than a bare placeholder. Under a
        # condition it is about some use of the API (a value, a type), not a parameter as such.
        runtime = not message
        message = message or f"`{target}` warns that it is deprecated (the message is built at run time)."
        evidence = "warnings.warn" if not helper else f"{ast.unparse(call.func)}()"
        refs = _condition_refs(conditions, params, owner, kwargs, defaults)
        ref = _attributed(refs, message, params, owner) if conditions else None
        if ref is None:
            # Conditional on something else, a ``FutureWarning`` that deprecates nothing ("now calls
            # reset_peak_memory_stats, which resets all peak stats") or about instantiating a class
            # meant to be subclassed: a behaviour, not the whole API.
            behaviour = bool(conditions) or (not helper and _announces_behaviour(call, message or ""))
            self._add(target, "deprecated", message, evidence, call.lineno, since=since, behaviour=behaviour)
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
        own = _LocalTexts(node, self.constants, self.package.categories)
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
        tables = _module_tables(self.tree.body, self.constants)
        getattr_node = None
        factories: list[ast.Assign] = []
        for node in _module_statements(self.tree.body, conditional=True):
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
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
        self._forwarding_deprecation(getattr_node)
        param = getattr_node.args.args[0].arg
        # ``replacement = _deprecated_attrs.get(name)`` then ``if replacement is not None: warn(...)``.
        looked_up = _table_lookups(getattr_node, param, set(tables))
        for branch in ast.walk(getattr_node):
            if not isinstance(branch, ast.If):
                continue
            names = {n.id for n in ast.walk(branch.test) if isinstance(n, ast.Name)}
            for variable in names & set(looked_up):
                state = self._branch_state(branch.body)
                if state is not None:
                    state_name, template, raises = state
                    self._table(
                        tables[looked_up[variable]][0], state_name, template, param, branch.lineno, raises=raises
                    )
        for attempt in ast.walk(getattr_node):
            # ``try: val, msg = __deprecated_attrs__[attr] except KeyError: pass else: warn(msg)`` (NumPy).
            if not isinstance(attempt, ast.Try) or not attempt.orelse:
                continue
            for table in _subscripted_tables(attempt.body, param, set(tables)):
                state = self._branch_state(attempt.orelse)
                if state is not None:
                    state_name, template, raises = state
                    self._table(tables[table][0], state_name, template, param, attempt.lineno, raises=raises)
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
            elif isinstance(test.ops[0], ast.In) and _string_list(right):
                # ``if name in ["NumericBlock", "ObjectBlock"]: warnings.warn(f"{name} is deprecated")``
                for name in _string_list(right) or []:
                    if _IDENT.match(name):
                        message = (template or "").replace("{" + param + "}", name)
                        self._add(f"{self.module}.{name}", state_name, message, "__getattr__", branch.lineno)

    def _forwarding_deprecation(self, getattr_node: ast.FunctionDef) -> None:
        """A ``__getattr__`` that hands out every name it is asked for with a deprecation warning (NumPy
        2's ``numpy.core``): the module is deprecated as a whole."""
        if "." not in self.module or not _forwards(getattr_node):
            return
        for statement in getattr_node.body:
            if not (isinstance(statement, (ast.Expr, ast.Return)) and isinstance(statement.value, ast.Call)):
                continue  # a warning under an ``if`` is about some names only
            call = statement.value
            callee = _callee(call, self.imports)
            if callee in self.package.positional_helpers:
                continue
            if _is_deprecation_warn(call, self.constants, self.package.categories) or callee in self.package.helpers:
                message = f"`{self.module}` is deprecated: its `__getattr__` warns for every name it hands out."
                self._add(self.module, "deprecated", message, "__getattr__", call.lineno)
                return

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
                    _is_deprecation_warn(call, self.constants, self.package.categories)
                    or _callee(call, self.imports) in self.package.helpers
                ):
                    found = ("deprecated", _text(call.args[0]) if call.args else None)
            for inner in _walk_unconditional(statement):
                if isinstance(inner, ast.Raise) and inner.exc is not None:
                    exc = inner.exc
                    if isinstance(exc, ast.Call) and _last_name(exc.func) == "AttributeError":
                        raises = True
                        if found is None:
                            return "removed", _text(exc.args[0]) if exc.args else None, True
        return (found[0], found[1], raises) if found is not None else None


def _filled(message: str, path: str, since: object, removal: object, *, keyword: object) -> str:
    """A deprecation helper's ``%``-template with what the marker knows put in (Matplotlib's "The %(name)s
    %(obj_type)s was deprecated in Matplotlib %(since)s and will be removed %(removal)s.")."""
    if "%(" not in message:
        return message
    values = {
        "name": str(keyword) if keyword else path.rpartition(".")[2],
        "obj_type": "parameter" if keyword else "class" if path.rpartition(".")[2][:1].isupper() else "function",
        "since": str(since) if since else "an earlier version",
        "removal": f"in {removal}" if removal else "in a future version",
    }

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        return repr(value) if match.group(2) == "r" else value

    return re.sub(r"%\((\w+)\)([sr])", fill, message)


def _docstrings(node: ast.AST) -> set[int]:
    """Ids of the docstring constants of ``node`` and the functions and classes inside it."""
    found = set()
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _imported_module(module: str, node: ast.ImportFrom, *, is_package: bool) -> str | None:
    """The module ``from X import ...`` in ``module`` reads (relative imports resolved)."""
    if not node.level:
        return node.module
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    if not base:
        return None
    return ".".join([*base, node.module]) if node.module else ".".join(base)


def _guarded_assignments(body: list[ast.stmt], guarded: bool, always: set[str], sometimes: set[str]) -> None:
    """Sort the names ``body`` assigns into those bound whatever happens at run time and the others."""
    for statement in body:
        if isinstance(statement, ast.If):
            if _environment_test(statement.test):
                _guarded_assignments(statement.body, guarded, always, sometimes)
                _guarded_assignments(statement.orelse, guarded, always, sometimes)
                continue
            # Both branches binding a name bind it whichever runs.
            both = {n for s in statement.body for n in _assigned_names(s)} & {
                n for s in statement.orelse for n in _assigned_names(s)
            }
            (sometimes if guarded else always).update(both)
            _guarded_assignments(statement.body, True, always, sometimes)
            _guarded_assignments(statement.orelse, True, always, sometimes)
        elif isinstance(statement, ast.Try):
            _guarded_assignments(statement.body, guarded, always, sometimes)
            for handler in statement.handlers:
                _guarded_assignments(handler.body, True, always, sometimes)
            _guarded_assignments(statement.orelse, guarded, always, sometimes)
            _guarded_assignments(statement.finalbody, guarded, always, sometimes)
        elif isinstance(statement, (ast.With, ast.For, ast.While)):
            _guarded_assignments(statement.body, guarded, always, sometimes)
        else:
            (sometimes if guarded else always).update(_assigned_names(statement))


def _assigned_names(statement: ast.stmt) -> Iterator[str]:
    """Names a simple assignment binds (``X = ...``, ``X: int = ...``)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else []
    if isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                yield node.id


def _string_list(node: ast.expr) -> list[str] | None:
    """``["x", "y"]`` as a list of strings (None for anything else)."""
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return None
    texts = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return texts if len(texts) == len(node.elts) else None


def _stored_params(init: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Parameters ``__init__`` keeps as they are: ``self.name = name``."""
    params = set(_function_params(init))
    return frozenset(
        target.attr
        for node in ast.walk(init)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in params
        for target in node.targets
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
        and target.attr == node.value.id
    )


def _announces_behaviour(call: ast.Call, message: str) -> bool:
    """A warning about how the API behaves or is used, not that it goes: a ``FutureWarning`` whose
    message deprecates nothing, one about instantiating (``Function`` "should not be instantiated") or
    one that says "The behavior of ... is deprecated"."""
    if re.search(r"\binstantiat|^\W*the behaviou?r of\b", message, re.IGNORECASE):
        return True  # "The behavior of X.to_pydatetime is deprecated": X stays, what it returns changes
    category = _category_name(_warning_category(call)) or ""
    return "Future" in category and not _DEPRECATION_WORDS.search(message)


def _walk_unconditional(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without what runs only on some interpreters (``if sys.version_info >= (3, 12):``)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, ast.If) and _environment_test(current.test):
            continue
        stack.extend(ast.iter_child_nodes(current))


def _module_tables(body: list[ast.stmt], constants: dict[str, str]) -> dict[str, tuple[ast.Dict, int]]:
    """Module-level dicts by name, as one literal each: ``T = {...}``, ``T: dict = {...}``, ``T = {k: v for
    k, v in LIST}`` over a literal list, ``T.update(...)`` of either, and ``T["name"] = value``."""
    tables: dict[str, tuple[ast.Dict, int]] = {}
    sequences: dict[str, ast.expr] = {}  # the latest literal list bound to each name, for comprehensions
    texts = dict(constants)  # the latest string bound to each name (NumPy rebinds ``_msg``)

    def literal(value: ast.expr | None) -> ast.Dict | None:
        if isinstance(value, ast.Dict):
            return value
        if isinstance(value, ast.DictComp):
            return _unrolled(value, sequences, texts)
        return None

    for node in _module_statements(body, conditional=True):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found = literal(node.value)
                    if found is not None:
                        tables[target.id] = (found, node.lineno)
                    if isinstance(node.value, (ast.List, ast.Tuple)):
                        sequences[target.id] = node.value
                    text = _text(node.value, texts)
                    if text is not None:
                        texts[target.id] = text
                elif (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in tables
                    and isinstance(target.slice, ast.Constant)
                    and node.value is not None
                ):
                    table = tables[target.value.id][0]
                    table.keys.append(ast.copy_location(ast.Constant(target.slice.value), node))
                    table.values.append(node.value)
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "update"
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id in tables
            and len(node.value.args) == 1
        ):
            added = literal(node.value.args[0])
            if added is not None:
                table = tables[node.value.func.value.id][0]
                table.keys.extend(added.keys)
                table.values.extend(added.values)
    return tables


def _unrolled(comprehension: ast.DictComp, sequences: dict[str, ast.expr], texts: dict[str, str]) -> ast.Dict | None:
    """``{n: (alias, _msg.format(n=n)) for n, alias in _type_info}`` over a literal ``_type_info``, as the
    dict literal it builds: keys the strings, values with the loop's strings put into the messages."""
    if len(comprehension.generators) != 1:
        return None
    loop = comprehension.generators[0]
    if loop.ifs or not isinstance(loop.iter, ast.Name) or loop.iter.id not in sequences:
        return None
    names = [loop.target] if isinstance(loop.target, ast.Name) else getattr(loop.target, "elts", [])
    if not names or not all(isinstance(n, ast.Name) for n in names):
        return None
    keys: list[ast.expr | None] = []
    values: list[ast.expr] = []
    for element in getattr(sequences[loop.iter.id], "elts", []):
        items = [element] if isinstance(loop.target, ast.Name) else getattr(element, "elts", [])
        if len(items) != len(names):
            return None
        bound = {n.id: item for n, item in zip(names, items, strict=True) if isinstance(n, ast.Name)}
        key = bound.get(comprehension.key.id) if isinstance(comprehension.key, ast.Name) else None
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        keys.append(key)
        values.append(_bound_value(comprehension.value, bound, texts))
    return ast.Dict(keys=keys, values=values)


def _bound_value(value: ast.expr, bound: dict[str, ast.expr], texts: dict[str, str]) -> ast.expr:
    """``value`` of one comprehension step: a ``template.format(n=n, ...)`` message filled in, ``None`` kept."""
    parts = value.elts if isinstance(value, (ast.Tuple, ast.List)) else [value]
    out: list[ast.expr] = []
    for part in parts:
        if isinstance(part, ast.Name) and part.id in bound:
            part = bound[part.id]
        elif isinstance(part, ast.Call) and isinstance(part.func, ast.Attribute) and part.func.attr == "format":
            template = _formatted(part, bound, texts)
            if template is not None:
                part = ast.Constant(template)
        elif isinstance(part, ast.JoinedStr):
            template = _text(part, texts) or ""
            for name, given in bound.items():
                filled = _text(given, texts)
                if filled is not None:
                    template = template.replace("{" + name + "}", filled)
            part = ast.Constant(template)
        out.append(part)
    return ast.Tuple(elts=out, ctx=ast.Load()) if len(out) > 1 else out[0]


def _formatted(call: ast.Call, bound: dict[str, ast.expr], texts: dict[str, str]) -> str | None:
    """``template.format(...)``'s text, with the arguments that are (or are bound to) known strings put in."""
    assert isinstance(call.func, ast.Attribute)
    template = _text(call.func.value, texts)
    if template is None:
        return None

    def text_of(node: ast.expr) -> str | None:
        node = bound.get(node.id, node) if isinstance(node, ast.Name) else node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return _formatted(node, bound, texts)
        return _text(node, texts)

    for argument in call.args:
        filled = text_of(argument)
        if filled is None or "{}" not in template:
            break
        template = template.replace("{}", filled, 1)
    for keyword in call.keywords:
        filled = text_of(keyword.value)
        if keyword.arg and filled is not None:
            template = template.replace("{" + keyword.arg + "}", filled)
    return template


def _subscripted_tables(body: list[ast.stmt], param: str, tables: set[str]) -> list[str]:
    """Tables a ``try`` body indexes with the looked-up name: ``msg = __expired_functions__[attr]``."""
    found = []
    for statement in body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Subscript):
            subscript = statement.value
            if (
                isinstance(subscript.value, ast.Name)
                and subscript.value.id in tables
                and isinstance(subscript.slice, ast.Name)
                and subscript.slice.id == param
            ):
                found.append(subscript.value.id)
    return found


def _table_lookups(getattr_node: ast.FunctionDef, param: str, tables: set[str]) -> dict[str, str]:
    """Local names a ``__getattr__`` binds to a table entry: ``replacement = _deprecated_attrs.get(name)``."""
    found: dict[str, str] = {}
    for node in ast.walk(getattr_node):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "get"
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id in tables
            and value.args
            and isinstance(value.args[0], ast.Name)
            and value.args[0].id == param
        ):
            found[node.targets[0].id] = value.func.value.id
    return found


def _is_super_call(statement: ast.stmt) -> bool:
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
        return False
    func = statement.value.func
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "super"
    )


def _function_defs(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    return (n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _module_statements(body: list[ast.stmt], *, conditional: bool, environment: bool = False) -> Iterator[ast.stmt]:
    """Module-level statements, also those under ``try`` (and ``if``, when ``conditional``; an ``if``
    on the interpreter, ``if sys.version_info >= (3, 12)``, when ``environment``)."""
    for statement in body:
        yield statement
        if (
            isinstance(statement, ast.Try)
            or (conditional and isinstance(statement, ast.If))
            or (environment and isinstance(statement, ast.If) and _environment_test(statement.test))
        ):
            for part in (statement.body, statement.orelse, getattr(statement, "finalbody", [])):
                yield from _module_statements(part, conditional=conditional, environment=environment)


#: Names an interpreter test is made of (``sys.version_info``, ``TYPE_CHECKING``, ``PY310``).
_ENVIRONMENT_NAMES = frozenset({"sys", "platform", "typing", "TYPE_CHECKING"})
_COMPAT_FLAG = re.compile(r"_?(?:PY|PYPY|IS_PYPY|WINDOWS|IS_WINDOWS|IS_MACOS|IS_LINUX)\d*\w*")


def _environment_test(test: ast.expr) -> bool:
    """Whether an ``if`` tests the interpreter or platform only, not the call (``sys.version_info >=
    (3, 12)``, ``sys.platform == "win32"``, ``TYPE_CHECKING``, ``PY310``)."""
    names = [n.id for n in ast.walk(test) if isinstance(n, ast.Name)]
    return bool(names) and all(
        n in _ENVIRONMENT_NAMES
        or _COMPAT_FLAG.fullmatch(n)
        or (n.startswith("__") and n.endswith("__") and n != "__name__")
        for n in names
    )


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
    owner_params = owner.stored if owner is not None else None

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
        if found is not None and found[1] and isinstance(parent, (ast.Attribute, ast.Subscript)):
            found = None  # ``self.index._should_fallback_to_positional``: an attribute of it, not its value
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


def _asks_given(
    test: ast.expr, params: list[str], owner: _Owner | None, kwargs: str | None, defaults: dict[str, object]
) -> bool:
    """Whether an ``if`` asks only whether parameters were given (``if val is deprecated``)."""
    refs = _condition_refs([test], params, owner, kwargs, defaults)
    return bool(refs) and not any(r.value for r in refs)


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
