"""Execution check of teacher targets: where a snippet can run, the new code must behave as the old code did.

The engine's validation (old API gone, nothing new flagged, no new undefined name) says a teacher's
answer *looks* migrated; it cannot say the answer does the same thing. Where the snippet can run on
its own, this module runs the old code under the old release and the new code under the new release
in the evaluation sandbox (:func:`model_training.eval.sandbox.run_program`, environments from
:class:`model_training.eval.envs.EnvCache`) and compares what they print.

**What "the snippet can run" means** (:func:`why_not_runnable`; conservative on purpose, so that a
"behaves the same" verdict means something and a teacher entry is never dropped for a reason that has
nothing to do with its migration):

* both snippets parse, and every import is absolute and of the change's own package (the top-level
  module of the change's old or new API) or of the standard library, minus the modules that do I/O
  or are nondeterministic by design (``os``, ``sys``, ``subprocess``, ``socket``, ``pathlib``,
  ``shutil``, ``tempfile``, ``random``, ``time``, ``threading``, ... see :data:`FORBIDDEN_MODULES`);
* no call of ``open``, ``input``, ``exec``, ``eval``, ``compile``, ``__import__``, ``breakpoint``,
  ``exit``, ``quit``, ``globals``, ``locals`` or ``vars``;
* the snippet does something at module level: besides imports, functions and classes it has at least
  one top-level statement, and it binds at least one public module-level name (no leading ``_``)
  or calls ``print``. A function alone (the usual teacher region) has no inputs: it *cannot run*;
* old and new code bind the same public module-level names (a renamed variable cannot be compared).

**Inputs and output**: the inputs are the snippet's own top-level code; the output is what it prints
followed by ``name = repr(value)`` for each public name it binds at module level (modules, functions
and classes left out), in sorted order.

**Releases** (:func:`releases`): the old code runs under the release that deprecated the old API (it
still works there) and the new code under the release that removed it; with no removal recorded both
run under the deprecating release; with no deprecation recorded no old release is known and the
snippet cannot run. Standard-library "releases" are Python versions: only the running interpreter's
unless ``approximate_python`` lets it stand in (:class:`~model_training.eval.envs.EnvCache`).

**Verdicts** (:class:`ExecOutcome`): ``same`` (kept, ``target_origin: execution-checked``);
``different`` (the old code ran, the new code failed or printed something else: dropped); anything
else means the check could not run (not runnable, no environment, the old code failed under the old
release, or two runs of the old code printed different things): the entry stays ``teacher``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model_training.eval.envs import EnvCache
    from recode_lsp.engine.changes import ApiChange

#: Standard-library modules a runnable snippet may not import: I/O, processes, threads, the
#: interpreter itself, and nondeterminism by design.
FORBIDDEN_MODULES = frozenset(
    {
        "os", "sys", "subprocess", "socket", "socketserver", "ssl", "select", "selectors", "signal",
        "shutil", "pathlib", "tempfile", "glob", "fnmatch", "io", "fileinput", "filecmp", "mmap",
        "urllib", "http", "ftplib", "smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "webbrowser",
        "threading", "_thread", "multiprocessing", "concurrent", "asyncio", "sched", "queue",
        "ctypes", "importlib", "builtins", "gc", "inspect", "pdb", "code", "runpy", "site", "sysconfig",
        "random", "secrets", "uuid", "time", "resource", "pty", "tty", "termios", "fcntl", "pwd", "grp",
        "sqlite3", "dbm", "shelve", "pickle", "marshal", "logging", "getpass", "platform", "tkinter",
        "zipfile", "tarfile", "gzip", "bz2", "lzma", "zipimport", "distutils", "venv", "ensurepip",
    }
)  # fmt: skip
FORBIDDEN_CALLS = frozenset(
    {
        "open",
        "input",
        "exec",
        "eval",
        "compile",
        "__import__",
        "breakpoint",
        "exit",
        "quit",
        "globals",
        "locals",
        "vars",
    }
)


@dataclass(frozen=True)
class ExecCheckSettings:
    """How teacher answers are run. ``env_root``: where the environments live (default: the eval cache)."""

    enabled: bool = True
    env_root: str | None = None
    #: Let this interpreter stand in for other Python 3 versions (standard-library changes).
    approximate_python: bool = False
    wall_seconds: float = 20.0
    cpu_seconds: int = 20


@dataclass(frozen=True)
class ExecOutcome:
    """``status``: ``same``, ``different``, ``not runnable``, ``no environment``, ``old code failed``,
    ``nondeterministic``; ``detail`` says why; ``releases`` the (old, new) releases used."""

    status: str
    detail: str = ""
    releases: tuple[str, str] | None = None

    @property
    def ran(self) -> bool:
        """Whether both programs ran, so that the verdict is a comparison."""
        return self.status in ("same", "different")


def _import_roots(change: ApiChange) -> set[str]:
    roots = set()
    for name in (change.old, change.new):
        if name:
            roots.add(name.split("(", 1)[0].split(".", 1)[0])
    return roots


def _module_level_names(tree: ast.Module) -> set[str]:
    """Public names bound by top-level assignments (functions, classes and imports not counted)."""
    names: set[str] = set()

    def targets(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                targets(element)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                targets(target)
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and statement.value is not None:
            targets(statement.target)
        elif isinstance(statement, (ast.For, ast.With)):
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return {name for name in names if not name.startswith("_")}


def why_not_runnable(code: str, allowed_roots: set[str]) -> str | None:
    """Why ``code`` cannot run on its own (see the module docstring), or None when it can."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "does not parse"
    stdlib = set(sys.stdlib_module_names)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or not node.module):
            return "relative import"
        modules = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        for module in modules:
            root = module.split(".", 1)[0]
            if root in FORBIDDEN_MODULES or (root not in stdlib and root not in allowed_roots):
                return f"imports {root}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            return f"calls {node.func.id}"
    active = [
        s
        for s in tree.body
        if not isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))  # a docstring
    ]
    if not active:
        return "no module-level code (definitions only)"
    prints = any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
        for node in ast.walk(tree)
    )
    if not _module_level_names(tree) and not prints:
        return "no module-level value to compare"
    return None


def program(code: str) -> str:
    """``code`` followed by the lines that print its public module-level values (``name = repr``)."""
    names = sorted(_module_level_names(ast.parse(code)))
    return (
        code.rstrip("\n")
        + "\n\n\ndef __recode_show():\n"
        + "    import builtins as __b, types as __t\n"
        + "    __g = globals()\n"
        + f"    for __n in {names!r}:\n"
        + "        __v = __g.get(__n, '<unbound>')\n"
        + "        if isinstance(__v, (__t.ModuleType, __t.FunctionType, __t.BuiltinFunctionType, type)):\n"
        + "            continue\n"
        + "        __b.print(__n, '=', __b.repr(__v))\n"
        + "\n\n__recode_show()\n"
    )


def releases(change: ApiChange) -> tuple[str, str] | None:
    """(old release, new release) for a change, or None when no release of the old API is known."""
    deprecated, removed = change.deprecated_in, change.removed_in
    if deprecated is None:
        return None
    return str(deprecated), str(removed if removed is not None else deprecated)


def _python(envs: EnvCache, library: str, version: str) -> tuple[str | None, str]:
    result = envs.python_for(library, version, stdlib=library == "python")
    return result.python, result.note


def check_behaviour(
    old_code: str, new_code: str, change: ApiChange, envs: EnvCache, settings: ExecCheckSettings
) -> ExecOutcome:
    """Run old under the old release and new under the new release; compare what they print."""
    from model_training.eval.sandbox import Limits, run_program, same_output

    roots = _import_roots(change)
    for label, code in (("old", old_code), ("new", new_code)):
        reason = why_not_runnable(code, roots)
        if reason:
            return ExecOutcome("not runnable", f"{label} code: {reason}")
    if _module_level_names(ast.parse(old_code)) != _module_level_names(ast.parse(new_code)):
        return ExecOutcome("not runnable", "old and new code bind different module-level names")
    pair = releases(change)
    if pair is None:
        return ExecOutcome("not runnable", "no release of the old API known (no deprecated_in)")
    old_release, new_release = pair
    old_python, old_note = _python(envs, change.library, old_release)
    new_python, new_note = _python(envs, change.library, new_release)
    if old_python is None or new_python is None:
        return ExecOutcome("no environment", old_note or new_note, pair)
    limits = Limits(wall_seconds=settings.wall_seconds, cpu_seconds=settings.cpu_seconds)
    first = run_program(program(old_code), python=old_python, limits=limits)
    if not first.passed:
        return ExecOutcome("old code failed", f"{first.reason}: {first.stderr.strip()[-200:]}", pair)
    second = run_program(program(old_code), python=old_python, limits=limits)
    if not second.passed or not same_output(second.stdout, first.stdout):
        return ExecOutcome("nondeterministic", "two runs of the old code printed different things", pair)
    new = run_program(program(new_code), python=new_python, limits=limits)
    if not new.passed:
        return ExecOutcome("different", f"new code {new.reason}: {new.stderr.strip()[-200:]}", pair)
    if not same_output(new.stdout, first.stdout):
        return ExecOutcome(
            "different", f"printed {new.stdout.strip()[:200]!r}, old {first.stdout.strip()[:200]!r}", pair
        )
    return ExecOutcome("same", first.stdout.strip()[:200], pair)


def env_cache(settings: ExecCheckSettings) -> EnvCache:
    """The environments for ``settings`` (created on first use, reused across builds)."""
    from model_training.eval.envs import EnvCache

    return EnvCache(
        Path(settings.env_root) if settings.env_root else None, approximate_python=settings.approximate_python
    )
