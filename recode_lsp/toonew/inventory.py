"""What user code can reach in one release of a library: its *inventory*, read once and cached on disk.

The too-new check (:mod:`recode_lsp.toonew.check`) asks, for a qualified name the code uses
(``numpy.trapezoid``) or a keyword it passes, whether the release the project targets has it. The
release is read statically, as the scraper reads it (:func:`recode_lsp.kb.scrape.read`: griffe with
``allow_inspection=False`` plus an :mod:`ast` scan for ``__getattr__`` tables and names deleted again),
and boiled down to plain data:

* ``containers``: every module and class of the package, by canonical path, with its member names
  (inherited ones included) and where each points (an alias's target); a container is *open* when
  names may exist there that the sources do not show (a forwarding ``__getattr__``, a star import of
  compiled code, ``globals()`` / ``setattr`` at module level, a class with a base griffe cannot read
  or a ``__getattr__``): nothing missing under an open container is reported;
* ``keywords``: the keyword names each plain function accepts, only where that set is certain (a
  ``.py`` signature without ``**kwargs``, no decorator that may change the signature).

The JSON is written beside the fetched releases (``<api-docs cache>/inventories/``), keyed by the
library, the exact version and the folder read, so a release is read once per machine; loading it
back takes milliseconds.
"""

from __future__ import annotations

import ast
import contextlib
import json
import marshal
import mmap
import os
import re
import struct
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recode_lsp.engine.digest import sha256_hex
from recode_lsp.engine.versions import InvalidVersion, Version, metadata_version, normalise_name

__all__ = ["FOUND", "MISSING", "UNKNOWN", "Inventory", "InventoryError", "Resolution", "inventory_for"]

#: Bump when what an inventory holds changes: older files are read again from the release. 8: compiled
#: modules' stand-ins (``api_docs.COMPILED_STAND_IN``) make their names unknown, not missing.
FORMAT = 8

FOUND = "found"
#: How open a container is: every name it lacks is missing; any may exist; only what a ``__getattr__``
#: hands out may exist (a missing name is reported when the knowledge base says it is newer).
CLOSED, OPEN, BY_GETATTR = 0, 1, 2
MISSING = "missing"
UNKNOWN = "unknown"

#: Folders a fetched release leaves out (``api_docs.SKIPPED_FOLDERS``): a name under them is unknown.
_NOT_UNPACKED = frozenset({"tests", "conftest"})
#: Module source that may bind names the static reading does not see.
_DYNAMIC_BINDING = re.compile(r"\bglobals\(\)|\bsetattr\(|\b__dict__\b|\bexec\(|\bsys\.modules\[|\blocals\(\)")
#: Decorators known to keep the signature of what they decorate (everything else may change it).
_KEEPS_SIGNATURE = re.compile(
    r"(?:^|\.)(?:staticmethod|classmethod|set_module|array_function_dispatch|final|doc|Appender|Substitution"
    r"|overload|abstractmethod|wraps|_wraps|deprecate_nonkeyword_arguments|override)$"
)


#: Statements that hold others (function and class bodies are not module-level code).
_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.Try, ast.With, ast.For, ast.While)


class InventoryError(Exception):
    """A release could not be obtained or read; the message says why."""


@dataclass(frozen=True)
class Resolution:
    """What a release says about a dotted name."""

    #: :data:`FOUND`, :data:`MISSING` or :data:`UNKNOWN`.
    state: str
    #: For MISSING: how many parts of the name exist (``numpy.trapezoid`` -> 1: ``numpy``).
    present: int = 0
    #: For MISSING: ``"module"`` or ``"class"``, what the name was looked up in.
    owner_kind: str | None = None
    #: For FOUND: the canonical path of the object (its keywords are looked up by it).
    canonical: str | None = None
    #: For MISSING: the owner has a ``__getattr__`` (only a name known to be newer is reported).
    soft: bool = False


@dataclass
class Inventory:
    """The reachable names and certain keyword sets of one release (see the module docs)."""

    library: str
    version: str
    top: str
    #: canonical path -> (kind "module"/"class", CLOSED/OPEN/BY_GETATTR, {member: "" (itself) | target | "?"}).
    containers: dict[str, tuple[str, int, dict[str, str]]] = field(default_factory=dict)
    #: canonical function path -> the names it accepts as keywords (only where certain).
    keywords: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Names later releases add, with the version that added each (``itertools.batched`` -> ``3.12``),
    #: where the source read knows it (typeshed for the standard library: :mod:`.stdlib`).
    added: dict[str, str] = field(default_factory=dict)
    #: The top module itself is not in this release (``tomllib`` on Python 3.10): every name is missing.
    absent: bool = False
    #: What the compact cache file holds and was not asked for yet: each container and keyword set
    #: marshalled apart (:func:`_read_compact`), decoded into ``containers`` / ``keywords`` when first
    #: looked up. A run resolves a few hundred of a release's thousands of entries: the rest is never
    #: decoded, so loading a release takes a millisecond or two, not the tens a whole JSON takes.
    packed_containers: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    packed_keywords: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    def container(self, path: str) -> tuple[str, int, dict[str, str]] | None:
        """The container at ``path`` (decoded from the compact cache on first use), or None."""
        found = self.containers.get(path)
        if found is None:
            raw = self.packed_containers.get(path)
            if raw is not None:
                # ``get``, not ``pop``: the language server resolves from several threads.
                found = self.containers[path] = marshal.loads(raw)
        return found

    def keyword_names(self, canonical: str) -> frozenset[str] | None:
        """The keywords the function at ``canonical`` accepts, where certain; None: cannot tell."""
        names = self.keywords.get(canonical)
        if names is None:
            raw = self.packed_keywords.get(canonical)
            if raw is not None:
                names = self.keywords[canonical] = marshal.loads(raw)
        return names

    def unpacked(self) -> Inventory:
        """This inventory with every packed entry decoded (what writing or comparing it needs)."""
        for path in list(self.packed_containers):
            self.container(path)
        for path in list(self.packed_keywords):
            self.keyword_names(path)
        return self

    def resolve(self, path: str) -> Resolution:
        """Whether ``path`` (``numpy.linalg.norm``) is reachable in this release."""
        parts = path.split(".")
        if parts[0] != self.top:
            return Resolution(UNKNOWN)
        if self.absent:
            return Resolution(MISSING, 0, "module", soft=True)
        current = self.top
        # A part after a dot that starts with ``_``: ``._`` in the name (no generator per name resolved).
        if "._" in path or not _NOT_UNPACKED.isdisjoint(parts[1:]):
            # Private parts: compiled helpers, stubs that lag the code; test packages: not unpacked.
            return Resolution(UNKNOWN)
        for index, part in enumerate(parts[1:], start=1):
            container = self.container(current)
            if container is None:
                return Resolution(UNKNOWN)  # a function, a constant or something outside the package
            kind, is_open, members = container
            target = members.get(part)
            if target is None:
                # Private and dunder names: compiled helpers, module attributes Python adds.
                if is_open == OPEN or part.startswith("_"):
                    return Resolution(UNKNOWN)
                return Resolution(MISSING, index, kind, soft=is_open == BY_GETATTR)
            if target == "?":
                return Resolution(UNKNOWN)
            current = f"{current}.{part}" if target == "" else target
        return Resolution(FOUND, len(parts), canonical=current)

    def accepts(self, canonical: str, keyword: str) -> bool | None:
        """Whether the function at ``canonical`` accepts ``keyword``; None: cannot tell."""
        names = self.keyword_names(canonical)
        if names is None:
            return None
        return keyword in names

    def to_json(self) -> dict[str, Any]:
        self.unpacked()
        return {
            "format": FORMAT,
            "library": self.library,
            "version": self.version,
            "top": self.top,
            "containers": {path: [kind, int(o), members] for path, (kind, o, members) in self.containers.items()},
            "keywords": {path: sorted(names) for path, names in self.keywords.items()},
            "added": self.added,
            "absent": self.absent,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inventory:
        if data.get("format") != FORMAT:
            raise ValueError("another format")
        return cls(
            str(data["library"]),
            str(data["version"]),
            str(data["top"]),
            # As read (no copies): a large release's inventory loads in tens of milliseconds.
            {path: (k, o, m) for path, (k, o, m) in data["containers"].items()},
            {path: frozenset(names) for path, names in data["keywords"].items()},
            {str(k): str(v) for k, v in data.get("added", {}).items()},
            bool(data.get("absent", False)),
        )


# --- building --------------------------------------------------------------------------------


def build(snapshot: Any) -> Inventory:
    """The inventory of a release read by :func:`recode_lsp.kb.scrape.read`."""
    import griffe

    release = snapshot.release
    top = release.top
    inventory = Inventory(release.library, release.exact, top)
    stack = [snapshot.module]
    seen: set[str] = set()
    stars: dict[str, list[str]] = {}
    dynamic_all: set[str] = set()
    #: Modules whose ``__all__`` grows by calls (``__all__.append``): what star-imports them is soft.
    grown_all: set[str] = set()

    def inside(path: str) -> bool:
        return path == top or path.startswith(top + ".")

    while stack:
        obj = stack.pop()
        if obj.path in seen:
            continue
        seen.add(obj.path)
        is_open = CLOSED
        try:
            members = dict(obj.all_members if obj.is_class else obj.members)
        except Exception:  # noqa: BLE001 - an inheritance griffe cannot resolve
            members, is_open = dict(obj.members), OPEN
        entries: dict[str, str] = {}
        for name, member in members.items():
            path = f"{obj.path}.{name}"
            if "*" in name:
                is_open = OPEN  # a star import griffe could not expand
                continue
            if obj.is_module and path in snapshot.unbound:
                continue
            target = member
            if member.is_alias:
                try:
                    target = member.final_target
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    entries[name] = "?"
                    continue
                except Exception:  # noqa: BLE001 - griffe raises several kinds of errors on odd aliases
                    entries[name] = "?"
                    continue
            if not inside(target.path):
                entries[name] = "?"  # exists; what it holds is another package's business
                continue
            entries[name] = "" if target.path == path else target.path
            if target.is_module or target.is_class:
                stack.append(target)
            elif target.is_function:
                _add_keywords(inventory, snapshot, target)
        # Methods a stub declares only with ``@overload`` (griffe keeps them apart), bases' included.
        try:
            lineage = [obj, *obj.mro()] if obj.is_class else [obj]
        except Exception:  # noqa: BLE001 - an inheritance griffe cannot linearise
            lineage, is_open = [obj], OPEN
        for owner in lineage:
            for name in _overloaded(owner):
                entries.setdefault(name, "?")
        if obj.is_module:
            is_open = OPEN if _module_open(obj, snapshot, entries) else is_open
            if is_open == CLOSED and not _stub_beside(obj) and _loop_binds(obj):
                # Names bound in a loop: any may exist; only a name the knowledge base knows is newer
                # is reported missing there (NumPy 1.16's ``numpy.float32`` exists, ``trapezoid`` not).
                is_open = BY_GETATTR
            prefix = obj.path + "."
            for lazy in snapshot.lazy:
                if lazy.startswith(prefix) and "." not in lazy[len(prefix) :]:
                    entries.setdefault(lazy[len(prefix) :], "?")
            for name in _files_beside(obj):
                entries.setdefault(name, "?")  # submodules griffe skipped (no __init__.py, compiled code)
        else:
            is_open = OPEN if is_open == OPEN else _class_open(obj)
        inventory.containers[obj.path] = ("class" if obj.is_class else "module", is_open, entries)
        if obj.is_module:
            _read_exports(obj, stars, dynamic_all, grown_all)
    # A star import of a module whose ``__all__`` is computed (SciPy's ``_distn_names + ...``) brings
    # names griffe cannot list: the importing module, and what star-imports it, is open.
    open_by_star: dict[str, bool] = {}

    def star_open(path: str, depth: int = 0) -> bool:
        if path not in open_by_star:
            open_by_star[path] = False  # a cycle of star imports ends here
            open_by_star[path] = depth < 32 and any(
                source in dynamic_all or star_open(source, depth + 1) for source in stars.get(path, ())
            )
        return open_by_star[path]

    for path, (kind, is_open, entries) in list(inventory.containers.items()):
        if kind == "module" and is_open != OPEN and star_open(path):
            inventory.containers[path] = (kind, OPEN, entries)
    soft_by_star: dict[str, bool] = {}

    def star_soft(path: str, depth: int = 0) -> bool:
        if path not in soft_by_star:
            soft_by_star[path] = False
            soft_by_star[path] = depth < 32 and any(
                source in grown_all or star_soft(source, depth + 1) for source in stars.get(path, ())
            )
        return soft_by_star[path]

    for path, (kind, is_open, entries) in list(inventory.containers.items()):
        if kind == "module" and is_open == CLOSED and (path in grown_all or star_soft(path)):
            inventory.containers[path] = (kind, BY_GETATTR, entries)
    return inventory


def _read_exports(module: Any, stars: dict[str, list[str]], dynamic_all: set[str], grown_all: set[str]) -> None:
    """Note the modules ``module`` star-imports, and whether its own ``__all__`` is computed."""
    filepath = module.filepath
    files = filepath if isinstance(filepath, list) else [filepath]
    for file in files:
        try:
            text = Path(file).read_text(encoding="utf-8", errors="replace")
        except (OSError, TypeError):
            continue
        if "import *" not in text and "__all__" not in text:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            dynamic_all.add(module.path)
            continue
        package = module.path if module.is_init_module else module.path.rpartition(".")[0]
        for statement in _top_level(tree.body):
            if isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names):
                base = package.split(".")
                if statement.level:
                    base = base[: len(base) - (statement.level - 1)] if statement.level > 1 else base
                    source = ".".join([*base, *([statement.module] if statement.module else [])])
                else:
                    source = statement.module or ""
                stars.setdefault(module.path, []).append(source)
            elif _assigns_all(statement) and not _static_all(statement):
                dynamic_all.add(module.path)
            elif _grows_all(statement) and not _stub_beside(module):
                grown_all.add(module.path)  # ``__all__.append(key)`` in a loop (NumPy 1.16's numerictypes)


def _grows_all(statement: ast.stmt) -> bool:
    """Whether module-level code adds to ``__all__`` by a call (``__all__.extend(...)``), loops included."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("append", "extend", "insert")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "__all__"
        for node in _walk_code(statement)
    )


def _assigns_all(statement: ast.stmt) -> bool:
    targets = (
        statement.targets
        if isinstance(statement, ast.Assign)
        else [statement.target]
        if isinstance(statement, (ast.AugAssign, ast.AnnAssign))
        else []
    )
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _static_all(statement: ast.stmt) -> bool:
    """Whether an ``__all__`` assignment is one griffe reads: literal lists, ``mod.__all__``, their sums."""
    value = getattr(statement, "value", None)

    def static(node: ast.expr | None) -> bool:
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
        if isinstance(node, ast.Attribute):
            return node.attr == "__all__"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return static(node.left) and static(node.right)
        return False

    return value is None or static(value)


def _overloaded(owner: Any) -> set[str]:
    """Names ``owner`` declares only with ``@overload``, in the merged tree or in the ``.pyi`` stub beside
    its module (griffe drops, on merging, overloads the ``.py`` has no implementation for)."""
    from recode_lsp.api_docs import _visit_stub

    names = {name for name, declared in (getattr(owner, "overloads", None) or {}).items() if declared}
    try:
        module = owner if owner.is_module else owner.module
        path = module.filepath
    except Exception:  # noqa: BLE001 - odd objects
        return names
    if isinstance(path, list) or path is None or path.suffix != ".py":
        return names
    stub = _visit_stub(str(path.with_suffix(".pyi")), module.path)
    if stub is None:
        return names
    target: Any = stub
    relative = owner.path[len(module.path) + 1 :] if owner is not module else ""
    # A stub read alone has aliases nothing resolves: what cannot be read adds nothing.
    with contextlib.suppress(Exception):
        for part in relative.split(".") if relative else []:
            target = target.members.get(part)
            if target is None or target.is_alias:
                return names
        names.update(target.members)
        names.update(name for name, declared in (getattr(target, "overloads", None) or {}).items() if declared)
    return names


def _module_open(module: Any, snapshot: Any, entries: dict[str, str]) -> bool:
    if snapshot.compiled_stars.get(module.path):
        return True
    filepath = module.filepath
    if not isinstance(filepath, list) and filepath is not None and filepath.suffix == ".pyi":
        return True  # a stub of compiled code: it may lag what the extension defines
    if module.path in snapshot.forwarding:
        names = _table_names(module)
        if names is None:
            return True
        for name in names:
            entries.setdefault(name, "?")
    getattr_member = module.members.get("__getattr__")
    if getattr_member is not None and not getattr_member.is_function:
        return True  # ``__getattr__, __dir__, __all__ = lazy.attach(...)``: a table the scan cannot read
    files = module.filepath if isinstance(module.filepath, list) else [module.filepath]
    for file in files:
        try:
            text = Path(file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
        if _DYNAMIC_BINDING.search(text) and _binds_dynamically(text):
            return True
    return False


def _loop_binds(module: Any) -> bool:
    files = module.filepath if isinstance(module.filepath, list) else [module.filepath]
    for file in files:
        try:
            text = Path(file).read_text(encoding="utf-8", errors="replace")
        except (OSError, TypeError):
            continue
        if _DYNAMIC_BINDING.search(text) and _binds_in_loops(text):
            return True
    return False


def _binds_dynamically(text: str) -> bool:
    """Whether module-level code (not function bodies) binds names the sources do not spell:
    ``globals()[...] =``, ``globals().update``, ``setattr(module, ...)``, ``exec``, ``sys.modules[...]``."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return True
    for statement in _top_level(tree.body):
        if isinstance(statement, _COMPOUND):
            continue  # the blocks' statements come one by one from _top_level
        if any(_binds_by_name(node) for node in ast.walk(statement)):
            return True
    return False


def _binds_by_name(node: ast.AST) -> bool:
    """Whether ``node`` can bind a name given as data: a call of ``globals``/``locals``/``setattr``/
    ``exec``/``vars``, or a ``__dict__`` / ``sys.modules`` attribute."""
    if isinstance(node, ast.Call):
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        return callee in ("globals", "locals", "setattr", "exec", "vars")
    return isinstance(node, ast.Attribute) and node.attr in ("__dict__", "modules")


def _binds_in_loops(text: str) -> bool:
    """Whether a module-level loop binds names the sources do not spell (``for key in allTypes:
    globals()[key] = allTypes[key]``, NumPy 1.16's numerictypes)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return True
    for statement in _top_level(tree.body):
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            inner_nodes = (n for inner in [*statement.body, *statement.orelse] for n in _walk_code(inner))
            if any(_binds_by_name(node) for node in inner_nodes):
                return True
    return False


def _stub_beside(module: Any) -> bool:
    """Whether a ``.pyi`` stub sits beside the module's ``.py`` (it declares the module's names)."""
    filepath = module.filepath
    if isinstance(filepath, list) or filepath is None or filepath.suffix != ".py":
        return False
    return bool(filepath.with_suffix(".pyi").is_file())


def _walk_code(statement: ast.stmt) -> Iterable[ast.AST]:
    """The nodes of a statement, without the bodies of the functions and classes it defines."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
        )


def _table_names(module: Any) -> set[str] | None:
    """The names a forwarding module ``__getattr__`` can hand out, when it only looks them up in tables
    of the module's own (``__deprecated_attrs__[attr]``) and ends by raising ``AttributeError``: every
    string the statements that fill those tables hold (NumPy 1.x). None: it may hand out anything."""
    filepath = module.filepath
    if isinstance(filepath, list) or filepath is None or filepath.suffix != ".py":
        return None
    try:
        tree = ast.parse(filepath.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    # Simple statements only: a compound one's inner statements come one by one from _top_level.
    statements = [s for s in _top_level(tree.body) if not isinstance(s, _COMPOUND)]
    function = next(
        (s for s in _top_level(tree.body) if isinstance(s, ast.FunctionDef) and s.name == "__getattr__"), None
    )
    if function is None or not function.args.args or not isinstance(function.body[-1], ast.Raise):
        return None
    param = function.args.args[0].arg
    tables = set()
    for node in ast.walk(function):
        uses = any(isinstance(n, ast.Name) and n.id == param for n in ast.walk(node))
        if isinstance(node, ast.Call) and uses:
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if callee in ("getattr", "import_module", "__import__") or node.func is None:
                return None  # ``getattr(_core, name)``, ``importlib.import_module(...)``: anything
        if isinstance(node, ast.Subscript) and any(
            isinstance(n, ast.Name) and n.id == param for n in ast.walk(node.slice)
        ):
            if not isinstance(node.value, ast.Name):
                return None
            tables.add(node.value.id)
    # The statements that fill the tables, and those that assign the names they read (``_type_info``).
    filling = [s for s in statements if _names_in(s) & tables]
    feeding = set().union(*(_names_in(s) for s in filling)) - tables if filling else set()
    filling += [
        s
        for s in statements
        if isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id in feeding for t in s.targets)
    ]
    names: set[str] = set()
    for statement in filling:
        for node in ast.walk(statement):
            keys: list[ast.expr | None] = (
                list(node.keys)
                if isinstance(node, ast.Dict)
                else [node.key]
                if isinstance(node, ast.DictComp)
                else [node.slice]
                if isinstance(node, ast.Subscript)
                else []
            )
            if any(isinstance(key, ast.JoinedStr) for key in keys):
                return None  # keys spelled at run time
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                names.add(node.value)
    return names


def _names_in(statement: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}


def _top_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            for part in ("body", "orelse", "finalbody"):
                yield from _top_level(getattr(statement, part, []))
            for handler in getattr(statement, "handlers", []):
                yield from _top_level(handler.body)


def _class_open(cls: Any) -> int:
    """:data:`CLOSED`, :data:`OPEN`, or :data:`BY_GETATTR` (a ``__getattr__``, pandas' column access)."""
    from recode_lsp.api_docs import _has_unknown_base

    if _has_unknown_base(cls):
        return OPEN
    try:
        names = cls.all_members
    except Exception:  # noqa: BLE001 - an inheritance griffe cannot resolve
        return OPEN
    # A metaclass may add members the class body does not show.
    if "__getattribute__" in names or any("meta" in str(k).lower() for k in getattr(cls, "keywords", {}) or ()):
        return OPEN
    return BY_GETATTR if "__getattr__" in names else CLOSED


def _files_beside(module: Any) -> Iterable[str]:
    """Names of the files and folders in a package's folder that may be submodules."""
    filepath = module.filepath
    if isinstance(filepath, list) or filepath is None or filepath.stem != "__init__":
        return ()
    names = []
    try:
        for entry in filepath.parent.iterdir():
            stem = entry.name.split(".", 1)[0]
            if stem.isidentifier() and stem != "__init__":
                names.append(stem)
    except OSError:
        pass
    return names


def _add_keywords(inventory: Inventory, snapshot: Any, function: Any) -> None:
    """Record the keywords ``function`` accepts, when its ``.py`` signature says so for certain."""
    signature = snapshot.signatures.get(function.path)
    if signature is None:
        return  # compiled code, a stub-only or a stand-in signature: cannot tell
    if any(p.kind in ("**kwargs",) for p in signature.parameters):
        return
    for decorator in getattr(function, "decorators", ()) or ():
        text = str(decorator.value).split("(", 1)[0]
        if not _KEEPS_SIGNATURE.search(text):
            return
    inventory.keywords[function.path] = frozenset(
        p.name for p in signature.parameters if p.kind in ("positional", "keyword-only")
    )


# --- obtaining, with the disk cache ---------------------------------------------------------

_MEMORY: dict[tuple[str, str, str | None], Inventory] = {}
_GUARD = threading.Lock()
#: First item of a compact file (:func:`_write_compact`): what else could sit at that path is not read.
_COMPACT_MAGIC = "recode-inventory"


def default_cache_dir() -> Path:
    from recode_lsp.cache_home import api_docs_cache_dir

    return api_docs_cache_dir()


def inventory_for(
    library: str,
    version: Version,
    *,
    cache_dir: Path | None = None,
    dist_dir: Path | None = None,
    timeout: float = 600.0,
) -> Inventory:
    """The inventory of ``library`` at ``version`` (same major.minor installed here, a release in
    ``dist_dir``, or fetched through pip as hover fetches it). Raises :class:`InventoryError`."""
    key = (normalise_name(library), str(version), str(dist_dir) if dist_dir else None)
    with _GUARD:
        known = _MEMORY.get(key)
    if known is not None:
        return known
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    # Where the release lies, found without importing the fetching machinery (``kb.releases``, a
    # tenth of a second of imports) when it was read before; else obtained (and fetched) in full.
    located = None if dist_dir is not None else _located(library, version, cache)
    release = None
    if located is None:
        release = _release(library, version, cache_dir=cache_dir, dist_dir=dist_dir, timeout=timeout)
        located = (release.root, release.exact)
    root, exact = located
    digest = sha256_hex(str(root.resolve()).encode())[:12]
    path = cache / "inventories" / f"{normalise_name(library)}-{exact}-{digest}.json"
    inventory = _read(path)
    if inventory is None:
        from recode_lsp.kb.scrape import read

        if release is None:
            release = _release(library, version, cache_dir=cache_dir, dist_dir=dist_dir, timeout=timeout)
        try:
            inventory = build(read(release))
        except Exception as exc:  # noqa: BLE001 - griffe raises many kinds of errors on odd packages
            raise InventoryError(f"cannot read {library} {release.exact}: {type(exc).__name__}: {exc}") from None
        _write(path, inventory)
    with _GUARD:
        _MEMORY[key] = inventory
    return inventory


def _located(library: str, version: Version, cache: Path) -> tuple[Path, str] | None:
    """(root, exact version) of the release :func:`_release` would return, when it needs no fetch: the
    installed release of the target's series, else one fetched before (``kb.releases.obtain``'s first
    step). None: ask :func:`_release`."""
    from recode_lsp.toonew.locate import fetched

    installed = _installed_root(library, version)
    if installed is not None:
        return installed
    try:
        return fetched(cache, library, version)
    except Exception:  # noqa: BLE001 - whatever fails here, the full path says why
        return None


def _release(library: str, version: Version, *, cache_dir: Path | None, dist_dir: Path | None, timeout: float) -> Any:
    from recode_lsp.kb.releases import ReleaseError, obtain

    if dist_dir is None:
        installed = _installed(library, version)
        if installed is not None:
            return installed
    try:
        return obtain(library, str(version), dist_dir=dist_dir, cache_dir=cache_dir, timeout=timeout)
    except ReleaseError as exc:
        raise InventoryError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - pip and unpacking fail in many ways
        raise InventoryError(f"cannot obtain {library} {version}: {exc}") from None


def _installed_root(library: str, version: Version) -> tuple[Path, str] | None:
    """(folder, exact version) of the release installed in this interpreter when it is of the target's
    series (no download)."""
    from recode_lsp.engine.facts import distribution_of, top_package

    paths = [p for p in sys.path if p and p != "."]
    top = top_package(library)
    folder = next((f for f in paths if (Path(f) / top).is_dir() or (Path(f) / f"{top}.py").is_file()), None)
    if folder is None:
        return None  # not installed: ``importlib.metadata`` (a twentieth of a second to import) need not be asked
    found = _installed_version(distribution_of(library), paths)
    if found is None or (found.major, found.minor) != (version.major, version.minor):
        return None
    return Path(folder), str(found)


#: What ``importlib.metadata`` reduces a distribution's name to before comparing (``scikit_learn``).
_DIST_SEPARATORS = re.compile(r"[-_.]+")


def _installed_version(dist: str, paths: list[str]) -> Version | None:
    """``api_docs._installed_version``: the version of the first ``.dist-info`` / ``.egg-info`` folder
    of ``dist`` on ``paths`` (``importlib.metadata``'s order), read from the folders' listings:
    ``importlib.metadata``'s discovery took a sixtieth of a second of each ``--too-new`` run. Where a
    path is not a plain folder (a zip) or holds an ``.egg``, ``importlib.metadata`` is asked."""
    wanted = _DIST_SEPARATORS.sub("_", dist).lower()
    for entry in paths:
        try:
            children = os.listdir(entry)
        except FileNotFoundError:
            continue
        except OSError:  # a zip on the path (or a folder that cannot be read): as importlib.metadata reads it
            return _metadata_installed_version(dist, paths)
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                if _DIST_SEPARATORS.sub("_", low.rpartition(".")[0].partition("-")[0]) == wanted:
                    return _metadata_version(Path(entry, child))
            elif low.endswith(".egg") or low == "egg-info":
                return _metadata_installed_version(dist, paths)
    return None


def _metadata_installed_version(dist: str, paths: list[str]) -> Version | None:
    from recode_lsp import api_docs

    return api_docs._installed_version(dist, paths)


def _metadata_version(folder: Path) -> Version | None:
    """The ``Version`` header of a ``.dist-info`` / ``.egg-info`` folder's metadata, as
    ``api_docs._installed_version`` reads it."""
    text = ""
    for name in ("METADATA", "PKG-INFO"):
        try:
            text = (folder / name).read_text(encoding="utf-8")
        except (OSError, KeyError):
            continue
        if text:
            break
    return metadata_version(text)


def _installed(library: str, version: Version) -> Any:
    """:func:`_installed_root` as a release :func:`recode_lsp.kb.scrape.read` can read."""
    found = _installed_root(library, version)
    if found is None:
        return None
    from recode_lsp import api_docs
    from recode_lsp.kb.releases import Release

    return Release(library, str(version), found[1], api_docs.top_package(library), found[0], "installed")


def _read(path: Path) -> Inventory | None:
    """The inventory cached at ``path`` (JSON), from its compact copy when that is current, else from
    the JSON (and the compact copy is written for the next run)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_size, stat.st_mtime_ns)
    compact = _compact_path(path)
    inventory = _read_compact(compact, stamp)
    if inventory is not None:
        return inventory
    try:
        inventory = Inventory.from_json(json.loads(path.read_bytes()))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, InvalidVersion):
        return None
    _write_compact(compact, inventory, stamp)
    return inventory


def _write(path: Path, inventory: Inventory) -> None:
    temporary = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(inventory.to_json(), separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, path)
        stat = path.stat()
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
        return
    _write_compact(_compact_path(path), inventory, (stat.st_size, stat.st_mtime_ns))


# --- the compact copy ------------------------------------------------------------------------
#
# The JSON is the cache's durable form (any Python reads it; a person can too). Beside it, a copy in
# :mod:`marshal` with each container and keyword set marshalled apart, stamped with the JSON's size
# and modification time: the check loads it in a millisecond or two and decodes only the entries it
# looks up (:meth:`Inventory.container`); a whole JSON took 15 to 70 ms per large release, most of a
# cold ``--too-new`` run's fixed cost. A copy that is stale, of another format, or that this Python
# cannot read is ignored and written again from the JSON.
#
# Layout: :data:`_COMPACT_PREFIX`, the header's length, the header (marshal: the stamp, the release,
# ``added``, and where each entry lies), then the entries one after the other. Only the header is
# decoded when the release is loaded; the entries are mapped into memory (a large release's; a small
# one's are read), and an entry's bytes are decoded when it is first looked up. A whole copy read and
# unmarshalled at once (a dict of a bytes object per entry) took 4 to 9 ms per large release (pandas:
# 3.9 MB, 3,326 containers) and as many pages, for the few hundred entries a run looks up.


#: The first bytes of a compact copy (an older layout, a plain marshalled tuple, starts otherwise).
_COMPACT_PREFIX = b"RCNINV2\0"
_HEADER_LENGTH = struct.Struct("<Q")
#: An entry's place after the header: its offset times this, plus its length.
_PLACE = 1 << 32
#: Entries of this many bytes or more are mapped, fewer read at once: a mapping holds a file descriptor
#: while the process lives (a run loads a standard-library module's copy, a few kB, for each module the
#: files import; macOS allows 256 descriptors by default), and only a large release's copy is worth it.
_MAP_FROM = 1 << 20


class _Packed(Mapping[str, bytes]):
    """The entries of a compact copy, by path, each read from the copy's mapping when asked for."""

    __slots__ = ("_base", "_data", "_places")

    def __init__(self, places: dict[str, int], data: mmap.mmap | bytes, base: int) -> None:
        self._places = places
        self._data = data
        self._base = base

    def __getitem__(self, path: str) -> bytes:
        place = self._places[path]
        start = self._base + place // _PLACE
        return self._data[start : start + place % _PLACE]

    def get(self, path: str, default: Any = None) -> Any:
        return self[path] if path in self._places else default

    def __contains__(self, path: object) -> bool:
        return path in self._places

    def __iter__(self) -> Iterator[str]:
        return iter(self._places)

    def __len__(self) -> int:
        return len(self._places)

    def __reduce__(self) -> tuple[Any, ...]:
        # A process started by spawning gets the entries themselves (a mapping is not pickled).
        return (dict, (dict(self.items()),))


def _compact_path(path: Path) -> Path:
    return path.with_suffix(".marshal")


def _read_compact(path: Path, stamp: tuple[int, int]) -> Inventory | None:
    try:
        with open(path, "rb") as file:
            prefix = file.read(len(_COMPACT_PREFIX) + _HEADER_LENGTH.size)
            if not prefix.startswith(_COMPACT_PREFIX):
                return None
            (length,) = _HEADER_LENGTH.unpack_from(prefix, len(_COMPACT_PREFIX))
            header = marshal.loads(file.read(length))
            magic, form, size, mtime, library, version, top, absent, added, containers, keywords, entries = header
            if magic != _COMPACT_MAGIC or form != FORMAT or (size, mtime) != stamp:
                return None
            if not (isinstance(added, dict) and isinstance(containers, dict) and isinstance(keywords, dict)):
                return None
            base = len(prefix) + length
            data: mmap.mmap | bytes
            if entries >= _MAP_FROM:
                # The entries stay where they are until looked up (the mapping outlives the file object).
                data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
            else:
                data, base = file.read(entries + 1), 0
            if len(data) != base + entries:
                return None  # cut short (or longer): an entry looked up later would not decode
    except (OSError, ValueError, EOFError, TypeError, struct.error):
        return None
    return Inventory(
        str(library),
        str(version),
        str(top),
        added=added,
        absent=bool(absent),
        packed_containers=_Packed(containers, data, base),
        packed_keywords=_Packed(keywords, data, base),
    )


def _write_compact(path: Path, inventory: Inventory, stamp: tuple[int, int]) -> None:
    inventory.unpacked()
    entries: list[bytes] = []
    offset = 0

    def place(entry: Any) -> int:
        nonlocal offset
        packed = marshal.dumps(entry)
        entries.append(packed)
        offset += len(packed)
        return (offset - len(packed)) * _PLACE + len(packed)

    containers = {name: place(entry) for name, entry in inventory.containers.items()}
    keywords = {name: place(frozenset(names)) for name, names in inventory.keywords.items()}
    header = marshal.dumps(
        (
            _COMPACT_MAGIC,
            FORMAT,
            *stamp,
            inventory.library,
            inventory.version,
            inventory.top,
            inventory.absent,
            dict(inventory.added),
            containers,
            keywords,
            offset,  # the entries' length
        )
    )
    temporary = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    try:
        with open(temporary, "wb") as file:
            file.write(_COMPACT_PREFIX + _HEADER_LENGTH.pack(len(header)) + header)
            file.writelines(entries)
        os.replace(temporary, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            temporary.unlink()
