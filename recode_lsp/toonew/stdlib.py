"""The standard library of another Python, without that Python: typeshed's stubs, read per version.

Code written for a newer Python than the one a project targets (``itertools.batched`` on 3.10,
``datetime.UTC`` or ``import tomllib`` before 3.11) fails only at run time, like code newer than a
library's pin. The interpreter running ReCode has one standard library; the sources of the others
are not at hand. typeshed describes every version at once: ``stdlib/VERSIONS`` gives each module's
first (and last) version, and the stubs guard later names with ``if sys.version_info >= (3, 12):``.
Evaluating those guards for the targeted version and for each later one gives the module's names
at the target and the version that added each newer one.

typeshed is read where it is already installed (it is not vendored): ``RECODE_TYPESHED`` (a
typeshed checkout, or its ``stdlib`` folder), else the copy a package ships (``typeshed_client``,
``mypy``), found without importing the package. Without one, the standard library is not checked.

typeshed drops the guards of each Python it no longer supports (the copy a current mypy ships guards
nothing older than 3.11), so what older versions added (``itertools.pairwise``, 3.10; ``math.prod``,
3.8) comes from a history read once from older typeshed snapshots and shipped with ReCode
(:mod:`.history`).

Conservative by construction: every container is *soft* (:data:`~.inventory.BY_GETATTR`), so a name
the target lacks is reported only when a later version's stub has it (the inventory's ``added``);
a name no stub knows is "cannot tell", as is anything under a ``sys.platform`` test (both branches
count), a module the stubs end with a ``__getattr__``, and modules typeshed marks as removed.
Builtins (``str.removeprefix``) are not checked: the check follows names rooted at imports.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from recode_lsp.engine.digest import sha256_hex
from recode_lsp.engine.versions import PYTHON, Version
from recode_lsp.toonew import history
from recode_lsp.toonew.inventory import BY_GETATTR, OPEN, Inventory

__all__ = ["ENV", "Typeshed", "find_typeshed", "inventory_for_module", "modules"]

#: A typeshed checkout (or its ``stdlib`` folder) to read instead of an installed package's copy.
ENV = "RECODE_TYPESHED"
#: Packages that ship typeshed's stdlib stubs, and where in them.
_SHIPPED = (("typeshed_client", ("typeshed",)), ("mypy", ("typeshed", "stdlib")))
#: The newest minor version of Python 3 the evaluation goes up to (beyond what a typeshed knows is harmless).
_NEWEST_MINOR = 20


@dataclass(frozen=True)
class Typeshed:
    """typeshed's ``stdlib`` folder and what ``VERSIONS`` says: module -> (first, last or None)."""

    root: Path
    versions: dict[str, tuple[tuple[int, int], tuple[int, int] | None]]
    #: What a cached inventory depends on (the folder and its ``VERSIONS`` file's size and time).
    digest: str

    def span(self, module: str) -> tuple[tuple[int, int], tuple[int, int] | None] | None:
        """The versions ``module`` exists in: its own line of ``VERSIONS``, else its package's."""
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            found = self.versions.get(".".join(parts[:end]))
            if found is not None:
                return found
        return None

    def files(self, top: str) -> list[tuple[str, Path]]:
        """The stub files of ``top`` and its submodules, as (module name, path)."""
        single = self.root / f"{top}.pyi"
        if single.is_file():
            return [(top, single)]
        package = self.root / top
        if not package.is_dir():
            return []
        found = []
        for path in sorted(package.rglob("*.pyi")):
            parts = list(path.relative_to(self.root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if all(part.isidentifier() for part in parts):
                found.append((".".join(parts), path))
        return found


_found: dict[str, Typeshed | None] = {}
_guard = threading.Lock()


def _candidates() -> Iterable[Path]:
    configured = os.environ.get(ENV)
    if configured:
        root = Path(configured)
        yield root / "stdlib"
        yield root
        return
    for package, parts in _SHIPPED:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec is not None else []:
            yield Path(location).joinpath(*parts)


def find_typeshed() -> Typeshed | None:
    """The typeshed stdlib folder at hand (see the module notes), read once per process; None: none."""
    key = os.environ.get(ENV, "")
    with _guard:
        if key in _found:
            return _found[key]
    found = None
    for root in _candidates():
        # The shipped history of older versions (:mod:`.history`) goes into what a cached inventory
        # depends on: an inventory read with another history is read again.
        found = typeshed_at(root, extra=f"history={history.stamp()}")
        if found is not None:
            break
    with _guard:
        _found[key] = found
    return found


def typeshed_at(root: Path, extra: str = "") -> Typeshed | None:
    """The typeshed ``stdlib`` folder at ``root`` (its ``VERSIONS`` read), or None where there is none;
    ``extra``: more of what its digest stands for."""
    versions_file = root / "VERSIONS"
    try:
        text = versions_file.read_text(encoding="utf-8")
        stat = versions_file.stat()
    except OSError:
        return None
    versions = _parse_versions(text)
    if not versions:
        return None
    stamp = f"{root.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{extra}"
    return Typeshed(root, versions, sha256_hex(stamp.encode())[:12])


def _parse_versions(text: str) -> dict[str, tuple[tuple[int, int], tuple[int, int] | None]]:
    """``VERSIONS`` lines: ``tomllib: 3.11-``, ``asynchat: 3.0-3.11`` (comments after ``#``)."""
    versions: dict[str, tuple[tuple[int, int], tuple[int, int] | None]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        module, _, span = line.partition(":")
        low, _, high = span.strip().partition("-")
        try:
            first = _minor(low)
            last = _minor(high) if high.strip() else None
        except ValueError:
            continue
        versions[module.strip()] = (first, last)
    return versions


def _minor(text: str) -> tuple[int, int]:
    major, minor = text.strip().split(".")[:2]
    return int(major), int(minor)


def modules(target: Version, typeshed: Typeshed | None = None) -> list[str]:
    """Top-level modules of the standard library worth checking at ``target``: public, not removed
    before it (a module added later is checked: its import is reported)."""
    typeshed = typeshed or find_typeshed()
    if typeshed is None or target.major < 3:
        return []  # Python 2 is another language: nothing of it is checked
    wanted = (target.major, target.minor)
    return sorted(
        name
        for name, (_, last) in typeshed.versions.items()
        if "." not in name and not name.startswith("_") and (last is None or last >= wanted)
    )


# --- one module's inventory -------------------------------------------------------------------


def inventory_for_module(
    top: str, target: Version, typeshed: Typeshed | None = None, older: Mapping[str, str] | None = None
) -> Inventory | None:
    """The inventory of the standard library module ``top`` (and its submodules) at Python ``target``,
    with ``added``: each later name and the version that added it. None: typeshed has no such module,
    it was removed before ``target``, or no typeshed is at hand. ``older``: when names of ``top`` came,
    where this typeshed no longer guards them (:mod:`.history`: ``itertools.pairwise`` -> ``3.10``)."""
    typeshed = typeshed or find_typeshed()
    if typeshed is None or target.major < 3:
        return None
    span = typeshed.span(top)
    wanted = (target.major, target.minor)
    if span is None or (span[1] is not None and span[1] < wanted):
        return None
    version = f"{target.major}.{target.minor}"
    if span[0] > wanted:
        # The module itself is newer: ``import tomllib`` on 3.10 (an empty, soft inventory whose every
        # name is missing; only the module is known to be newer, so only its import is reported).
        inventory = Inventory(PYTHON, version, top, absent=True)
        inventory.added[top] = _text(span[0])
        return inventory
    files = typeshed.files(top)
    if not files:
        return None
    inventory = Inventory(PYTHON, version, top)
    reader = _reader(typeshed)
    later = [(target.major, minor) for minor in range(target.minor + 1, _NEWEST_MINOR + 1)]
    submodules: dict[str, list[str]] = {}
    for module, _ in files:
        parent, _, name = module.rpartition(".")
        if parent:
            submodules.setdefault(parent, []).append(name)
    for module, _ in files:
        module_span = typeshed.span(module)
        if module_span is None or (module_span[1] is not None and module_span[1] < wanted) or module_span[0] > wanted:
            continue  # removed, or newer (its parent lists it as added)
        now = reader.containers(module, wanted)
        if now is None:
            continue
        for version_at in later:
            for path_at, (_, names) in (reader.containers(module, version_at) or {}).items():
                present = now.get(path_at)
                if present is None or present[1] is None or names is None:
                    continue  # a class whose bases cannot be read: what it inherits is unknown
                for name in names - present[1]:
                    inventory.added.setdefault(f"{path_at}.{name}", _text(version_at))
        for path_at, (kind, names) in now.items():
            members = {name: "" for name in names or ()}
            is_open = BY_GETATTR if names is not None else OPEN
            if kind == "module":
                for sub in submodules.get(path_at, ()):
                    sub_span = typeshed.span(f"{path_at}.{sub}")
                    if sub_span is None or (sub_span[1] is not None and sub_span[1] < wanted):
                        continue
                    if sub_span[0] > wanted:
                        inventory.added.setdefault(f"{path_at}.{sub}", _text(sub_span[0]))
                    else:
                        members[sub] = ""
            inventory.containers[path_at] = (kind, is_open, members)
    if older:
        history.apply(inventory, wanted, older)
    return inventory


def _text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


_readers: dict[Path, _Reader] = {}


def _reader(typeshed: Typeshed) -> _Reader:
    """One reader per typeshed folder and process: a stub (``builtins.pyi``) is parsed once."""
    with _guard:
        reader = _readers.get(typeshed.root)
        if reader is None or reader.typeshed.digest != typeshed.digest:
            reader = _readers[typeshed.root] = _Reader(typeshed)
        return reader


_Names = set[str] | None
_Containers = dict[str, tuple[str, _Names]]


class _Reader:
    """typeshed's stubs read at one version: a module's names (star imports followed) and each class's
    members (its bases' included, through the stubs' imports). None wherever that cannot be known."""

    def __init__(self, typeshed: Typeshed) -> None:
        self.typeshed = typeshed
        self._trees: dict[str, ast.Module | None] = {}
        self._modules: dict[tuple[str, tuple[int, int]], _Names] = {}
        self._classes: dict[tuple[str, tuple[int, int]], _Names] = {}

    def tree(self, module: str) -> ast.Module | None:
        if module not in self._trees:
            base = self.typeshed.root.joinpath(*module.split("."))
            tree = None
            for path in (base.with_suffix(".pyi"), base / "__init__.pyi"):
                try:
                    tree = ast.parse(path.read_text(encoding="utf-8"))
                    break
                except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
                    continue
            self._trees[module] = tree
        return self._trees[module]

    def _package(self, module: str) -> str:
        """The package a module's relative imports start from."""
        base = self.typeshed.root.joinpath(*module.split("."))
        return module if (base / "__init__.pyi").is_file() else module.rpartition(".")[0]

    def _source(self, module: str, statement: ast.ImportFrom) -> str:
        if not statement.level:
            return statement.module or ""
        parts = self._package(module).split(".")
        parts = parts[: len(parts) - (statement.level - 1)] if statement.level > 1 else parts
        return ".".join([*parts, *([statement.module] if statement.module else [])])

    def module_names(self, module: str, version: tuple[int, int], depth: int = 0) -> _Names:
        """The names ``module`` has at ``version``; None: a star import or ``__getattr__`` hides some."""
        key = (module, version)
        if key in self._modules:
            return self._modules[key]
        self._modules[key] = None  # a cycle of star imports: unknown
        tree = self.tree(module)
        names: _Names = None
        if tree is not None and depth < 8:
            names = set()
            for statement in _at(tree.body, version):
                if isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names):
                    star = self.module_names(self._source(module, statement), version, depth + 1)
                    if star is None:
                        names = None
                        break
                    names.update(n for n in star if not n.startswith("_"))
                    continue
                names.update(_bound(statement))
                names.update(_all_names(statement))
            if names is not None and "__getattr__" in names:
                names = None  # an incomplete stub: any name may exist
        self._modules[key] = names
        return names

    def containers(self, module: str, version: tuple[int, int]) -> _Containers | None:
        """The module and its classes (nested ones too), each with its names at ``version``."""
        tree = self.tree(module)
        if tree is None:
            return None
        found: _Containers = {module: ("module", self.module_names(module, version))}

        def visit(statements: list[ast.stmt], owner: str) -> None:
            for statement in _at(statements, version):
                if isinstance(statement, ast.ClassDef):
                    path = f"{owner}.{statement.name}"
                    found[path] = ("class", self.class_members(module, path, version))
                    visit(statement.body, path)

        visit(tree.body, module)
        return found

    def class_members(self, module: str, path: str, version: tuple[int, int], depth: int = 0) -> _Names:
        """The members of the class at ``path`` (defined in ``module``), inherited ones included."""
        key = (path, version)
        if key in self._classes:
            return self._classes[key]
        self._classes[key] = None
        node = self._class_node(module, path, version)
        members: _Names = None
        if node is not None and depth < 24:
            members = set()
            for statement in _at(node.body, version):
                members.update(_bound(statement))
            for base in node.bases:
                inherited = self._base_members(module, base, version, depth)
                if inherited is None:
                    members = None
                    break
                members.update(inherited)
            if any(k.arg != "metaclass" or ast.unparse(k.value) not in _PLAIN_METACLASSES for k in node.keywords):
                members = None  # a metaclass may add members
        self._classes[key] = members
        return members

    def _class_node(self, module: str, path: str, version: tuple[int, int]) -> ast.ClassDef | None:
        tree = self.tree(module)
        if tree is None:
            return None
        statements: list[ast.stmt] = tree.body
        node: ast.ClassDef | None = None
        for part in path[len(module) + 1 :].split("."):
            node = next((s for s in _at(statements, version) if isinstance(s, ast.ClassDef) and s.name == part), None)
            if node is None:
                return None
            statements = node.body
        return node

    def _base_members(self, module: str, base: ast.expr, version: tuple[int, int], depth: int) -> _Names:
        while isinstance(base, ast.Subscript):
            base = base.value  # ``Mapping[K, V]``
        dotted = ast.unparse(base)
        if dotted in _EMPTY_BASES:
            return set()
        first, _, rest = dotted.partition(".")
        if not rest:
            found = self.lookup_class(module, first, version, depth + 1)
            if found is None and self._binding(module, first, version) is None:
                found = self.lookup_class("builtins", first, version, depth + 1)  # ``dict``, ``Exception``
            return found
        owner, _, name = dotted.rpartition(".")
        tree = self.tree(module)
        for statement in _at(tree.body if tree is not None else [], version):
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.asname is None and alias.name == owner:
                        return self.lookup_class(owner, name, version, depth + 1)  # ``import abc``: ``abc.ABC``
                    if alias.asname == owner:
                        return self.lookup_class(alias.name, name, version, depth + 1)
        return None

    def _binding(self, module: str, name: str, version: tuple[int, int]) -> ast.stmt | None:
        tree = self.tree(module)
        for statement in _at(tree.body if tree is not None else [], version):
            if name in _bound(statement):
                return statement
        return None

    def lookup_class(self, module: str, name: str, version: tuple[int, int], depth: int = 0) -> _Names:
        """The members of the class ``name`` reaches in ``module``: defined there, imported, or star-imported."""
        tree = self.tree(module)
        if tree is None or depth > 24:
            return None
        statement = self._binding(module, name, version)
        if isinstance(statement, ast.ClassDef):
            return self.class_members(module, f"{module}.{name}", version, depth + 1)
        if isinstance(statement, ast.ImportFrom):
            alias = next(a for a in statement.names if (a.asname or a.name) == name)
            return self.lookup_class(self._source(module, statement), alias.name, version, depth + 1)
        if statement is not None:
            return None  # an assignment (``Generic: type[_Generic]``) or a function: not a class we can read
        for star in _at(tree.body, version):
            if isinstance(star, ast.ImportFrom) and any(a.name == "*" for a in star.names):
                source = self._source(module, star)
                if name in (self.module_names(source, version) or ()):
                    return self.lookup_class(source, name, version, depth + 1)
        return None


#: Bases that add no members a check could miss.
_EMPTY_BASES = frozenset({"Generic", "Protocol", "object", "typing.Generic", "typing.Protocol", "builtins.object"})
#: Metaclasses that add no members to their classes' instances.
_PLAIN_METACLASSES = frozenset({"ABCMeta", "abc.ABCMeta", "EnumMeta", "EnumType", "enum.EnumMeta", "enum.EnumType"})


def _bound(statement: ast.stmt) -> set[str]:
    """The names one statement of a stub binds (imports included: they exist at run time too)."""
    if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return {statement.name}
    if isinstance(statement, (ast.Assign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return {t.id for t in targets if isinstance(t, ast.Name)}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names if a.name != "*"}
    if type(statement).__name__ == "TypeAlias":  # ``type X = ...`` (ast.TypeAlias: Python 3.12+)
        name = getattr(statement, "name", None)
        if isinstance(name, ast.Name):
            return {name.id}
    return set()


def _all_names(statement: ast.stmt) -> set[str]:
    """The strings of an ``__all__`` assignment (``__all__ = [...]``, ``__all__ += [...]``)."""
    if isinstance(statement, (ast.Assign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and isinstance(
            statement.value, (ast.List, ast.Tuple)
        ):
            return {e.value for e in statement.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def _at(statements: list[ast.stmt], version: tuple[int, int]) -> Iterable[ast.stmt]:
    """The statements a stub has at ``version``: ``if`` tests on ``sys.version_info`` evaluated, both
    branches of any other test (``sys.platform``: a name of some platform exists)."""
    for statement in statements:
        if isinstance(statement, ast.If):
            verdict = _test(statement.test, version)
            if verdict is not False:
                yield from _at(statement.body, version)
            if verdict is not True:
                yield from _at(statement.orelse, version)
        else:
            yield statement


def _test(node: ast.expr, version: tuple[int, int]) -> bool | None:
    """A stub's ``if`` test at ``version``: True, False, or None (not about the version)."""
    if isinstance(node, ast.BoolOp):
        values = [_test(value, version) for value in node.values]
        if isinstance(node.op, ast.And):
            return False if False in values else (True if all(v is True for v in values) else None)
        return True if True in values else (False if all(v is False for v in values) else None)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _test(node.operand, version)
        return None if inner is None else not inner
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and ast.unparse(node.left) == "sys.version_info"
        and isinstance(node.comparators[0], ast.Tuple)
    ):
        try:
            other = tuple(int(ast.literal_eval(e)) for e in node.comparators[0].elts)
        except (ValueError, TypeError):
            return None
        if len(other) > 2 and any(other[2:]):
            return None  # a patch release: the target names a minor version only
        left = version[: len(other)] if len(other) <= 2 else (*version, *(0,) * (len(other) - 2))
        op = node.ops[0]
        if isinstance(op, ast.GtE):
            return left >= other
        if isinstance(op, ast.Lt):
            return left < other
        if isinstance(op, ast.Gt):
            return left > other
        if isinstance(op, ast.LtE):
            return left <= other
    return None


# --- cached -----------------------------------------------------------------------------------

_MEMORY: dict[tuple[str, str, str], Inventory | None] = {}


def cached_inventory(top: str, target: Version, *, cache_dir: Path | None = None) -> Inventory | None:
    """:func:`inventory_for_module`, read once per machine: kept as JSON beside the releases'
    inventories (``python-3.10-<module>-<typeshed digest>.json``), and in memory per process."""
    from recode_lsp.toonew.inventory import _read, _write, default_cache_dir

    typeshed = find_typeshed()
    if typeshed is None:
        return None
    version = f"{target.major}.{target.minor}"
    key = (top, version, typeshed.digest)
    with _guard:
        if key in _MEMORY:
            return _MEMORY[key]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / "inventories" / f"python-{version}-{top}-{typeshed.digest}.json"
    inventory = _read(path)  # None when absent: one stat, no other test
    if inventory is None:
        inventory = inventory_for_module(top, Version(version), typeshed, history.shipped(top))
        if inventory is not None:
            _write(path, inventory)
    with _guard:
        _MEMORY[key] = inventory
    return inventory
