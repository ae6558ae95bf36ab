"""Does a qualified name exist in the target version of its library? Answered statically.

The validator asks this of every name a fix introduces. The answer is read from the package
installed in the running interpreter, without importing it: the module file is found on
``sys.path`` and its top-level bindings are collected with :mod:`ast`. The check is made only
when the installed version is the target version (same major.minor); otherwise, or when a
module defines names dynamically (a star import, a module ``__getattr__``, a compiled module),
the answer is ``None``: cannot be checked.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from recode_lsp.engine.versions import PYTHON, Version, normalise_name


@lru_cache(maxsize=512)
def _module_file(module: str) -> Path | None:
    """Source file of ``module`` found without importing anything."""
    parts = module.split(".")
    spec = importlib.util.find_spec(parts[0]) if parts[0] not in sys.modules else None
    if spec is None:
        loaded = sys.modules.get(parts[0])
        origin = getattr(loaded, "__file__", None)
        if origin is None:
            return None
        location = Path(origin)
    else:
        if spec.origin in (None, "built-in", "frozen"):
            return None
        location = Path(spec.origin)
    for part in parts[1:]:
        if location.name not in ("__init__.py", "__init__.pyi"):
            return None  # a plain module has no submodules
        folder = location.parent
        for candidate in (folder / part / "__init__.py", folder / f"{part}.py", folder / f"{part}.pyi"):
            if candidate.is_file():
                location = candidate
                break
        else:
            return None
    return location if location.suffix in (".py", ".pyi") else None


@lru_cache(maxsize=512)
def _top_level(path: Path) -> tuple[frozenset[str], bool]:
    """Names bound at the top of a module, and whether it may bind others dynamically."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return frozenset(), True
    names: set[str] = set()
    dynamic = False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == "__getattr__" and node in tree.body:
                dynamic = True
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            if node.name == "*":
                dynamic = True
            else:
                names.add((node.asname or node.name).split(".", 1)[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            names.add(node.value)  # ``__all__`` entries and lazy-loader tables
    return frozenset(names), dynamic


def name_exists_in_installed(qname: str) -> bool | None:
    """Whether ``qname`` exists in what is installed (None: cannot be checked)."""
    if "." not in qname:
        if hasattr(builtins, qname):
            return True
        return _module_file(qname) is not None or None
    parts = qname.split(".")
    for split in range(len(parts), 0, -1):
        module = ".".join(parts[:split])
        path = _module_file(module)
        if path is None:
            continue
        rest = parts[split:]
        if not rest:
            return True
        names, dynamic = _top_level(path)
        if rest[0] in names:
            return True
        if dynamic or path.suffix == ".pyi":
            return None
        # The first attribute may be a submodule that exists as a file.
        return _module_file(f"{module}.{rest[0]}") is not None
    return None


class InstalledNames:
    """A ``NameChecker`` for the validator: checks only libraries installed at their target version."""

    def __init__(self, targets: Mapping[str, Version | None], installed: Mapping[str, Version]) -> None:
        self.targets = {normalise_name(k): v for k, v in targets.items()}
        self.installed = {normalise_name(k): v for k, v in installed.items()}

    def __call__(self, qname: str, library: str) -> bool | None:
        library = normalise_name(library)
        have = self.installed.get(library)
        if have is None:
            return None
        target = self.targets.get(library)
        if target is not None and (have.major, have.minor) != (target.major, target.minor):
            return None
        if library != PYTHON and qname.split(".", 1)[0] != library.replace("-", "_"):
            # A library's fix that introduces a name of another package (numpy -> math).
            return name_exists_in_installed(qname) if qname.split(".", 1)[0] in sys.stdlib_module_names else None
        return name_exists_in_installed(qname)


def first_answer(checkers: Sequence[Callable[[str, str], bool | None]]) -> Callable[[str, str], bool | None]:
    """A ``NameChecker`` that asks ``checkers`` in order and keeps the first definite answer."""

    def check(qname: str, library: str) -> bool | None:
        for checker in checkers:
            answer = checker(qname, library)
            if answer is not None:
                return answer
        return None

    return check
