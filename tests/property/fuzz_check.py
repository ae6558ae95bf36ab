"""Run ``recode-migrate --apply --unsafe-fixes`` twice over fuzz modules and judge every file.

A batch of :class:`~tests.property.fuzz_modules.FuzzModule` is written to a temporary project
(``pyproject.toml`` with ``[tool.recode] targets``) and the real CLI runs twice over it, either
in this process (``recode_lsp.cli.main.main``, fast) or as the console script (the path users
take). Per file it measures:

* **unparsable**: the bytes written do not compile with the running Python (decoding included:
  ``compile(bytes)`` honours the BOM and the coding cookie) although the original did.
* **changed by the second run**: the second ``--apply`` changed the bytes the first one wrote.
* **strings changed**: a string or bytes literal of the original that is *outside replaced
  code* is missing from the result. Literals are the ``ast.Constant`` ``str``/``bytes`` values,
  which includes the literal parts of f-strings and the text of ``f"{expr=}"`` (so rewriting an
  expression inside ``=`` changes printed text and counts). Compared as multisets, so moved
  code (a ``Config`` class becoming ``model_config = ConfigDict(...)``) does not count.
* **comments lost**: the same for ``#`` comments (``tokenize``, trailing blanks ignored).

*Replaced code* is what the first run reports as fixed (``--format json``, ``fixed``): the
finding's range; for a call template (``template_on: call`` in the knowledge base) the whole
call, whose arguments the template rewrites; for a code rule (``rule`` set) the enclosing
statement. A literal or comment counts as inside when it lies wholly within such a region;
those are counted separately (``*_in_replaced``), not as failures. Import statements are not
regions: rewriting ``from typing import (List,  # why`` must keep the comment.

Also counted, as findings to look at but not acceptance failures: the CLI crashing (exit 2,
``internal error``, stdout not JSON; an acceptance failure in the test), the engine rejecting a
file Python compiles, a variant (CRLF, CR, BOM, latin-1, ...) getting other findings than its
plain twin, a shebang or coding cookie moved, line endings changed, a fix introducing a
builtin name that the module binds, and a line that must not change (``frozen``) changed.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import contextlib
import difflib
import io
import json
import os
import re
import signal
import subprocess
import sys
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from tests.property.fuzz_modules import TARGETS, FuzzModule, compiles, decode_python

CLI_ARGS = ("--apply", "--unsafe-fixes", "--allow-dirty", "--no-cache", "--format", "json", "--jobs", "1", ".")
#: The acceptance counts (all must be 0) and the informational ones, in report order.
ACCEPTANCE = ("unparsable", "changed_by_second_run", "strings_changed", "comments_lost", "crashes")
INFO = (
    "rejected_valid",
    "twin_mismatch",
    "header_moved",
    "eol_changed",
    "builtin_shadowed",
    "name_captured",
    "name_undefined",
    "binding_clobbered",
    "import_unguarded",
    "reference_unbound",
    "frozen_changed",
    "strings_changed_in_replaced",
    "comments_lost_in_replaced",
)
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclass
class FileVerdict:
    """What happened to one module."""

    name: str
    origin: str
    variant: str
    findings: int = 0
    fixed: int = 0
    unparsable: str | None = None
    changed_by_second_run: bool = False
    strings_changed: list[str] = field(default_factory=list)
    comments_lost: list[str] = field(default_factory=list)
    strings_changed_in_replaced: list[str] = field(default_factory=list)
    comments_lost_in_replaced: list[str] = field(default_factory=list)
    rejected_valid: str | None = None
    twin_mismatch: str | None = None
    header_moved: list[str] = field(default_factory=list)
    eol_changed: str | None = None
    builtin_shadowed: list[str] = field(default_factory=list)
    name_captured: list[str] = field(default_factory=list)
    name_undefined: list[str] = field(default_factory=list)
    binding_clobbered: list[str] = field(default_factory=list)
    import_unguarded: list[str] = field(default_factory=list)
    reference_unbound: list[str] = field(default_factory=list)
    frozen_changed: list[str] = field(default_factory=list)
    crash: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "unparsable": int(self.unparsable is not None),
            "changed_by_second_run": int(self.changed_by_second_run),
            "strings_changed": int(bool(self.strings_changed)),
            "comments_lost": int(bool(self.comments_lost)),
            "crashes": int(self.crash is not None),
            "rejected_valid": int(self.rejected_valid is not None),
            "twin_mismatch": int(self.twin_mismatch is not None),
            "header_moved": int(bool(self.header_moved)),
            "eol_changed": int(self.eol_changed is not None),
            "builtin_shadowed": int(bool(self.builtin_shadowed)),
            "name_captured": int(bool(self.name_captured)),
            "name_undefined": int(bool(self.name_undefined)),
            "binding_clobbered": int(bool(self.binding_clobbered)),
            "import_unguarded": int(bool(self.import_unguarded)),
            "reference_unbound": int(bool(self.reference_unbound)),
            "frozen_changed": int(bool(self.frozen_changed)),
            "strings_changed_in_replaced": int(bool(self.strings_changed_in_replaced)),
            "comments_lost_in_replaced": int(bool(self.comments_lost_in_replaced)),
        }


@dataclass
class Example:
    """A failing module, kept for the report: its bytes (as text) and what the run wrote."""

    kind: str
    name: str
    origin: str
    variant: str
    detail: str
    notes: list[str]
    original: str
    diff: str


@dataclass
class BatchOutcome:
    verdicts: list[FileVerdict] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    #: Batch-level problems (exit status 2, stdout not JSON, timeouts) with their messages.
    crashes: list[str] = field(default_factory=list)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for verdict in self.verdicts:
            total.update(verdict.counts())
        total["modules"] = len(self.verdicts)
        total["fixed_findings"] = sum(v.fixed for v in self.verdicts)
        total["files_fixed"] = sum(1 for v in self.verdicts if v.fixed)
        return total


class BatchTimeout(BaseException):
    """Raised by SIGALRM in the in-process runner (a BaseException, so the CLI's handler lets it pass)."""


def console_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m recode_lsp``."""
    script = Path(sys.executable).with_name("recode-migrate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "recode_lsp"]


def run_cli(project: Path, *, runner: str, timeout: int) -> tuple[int, str, str]:
    """Run ``recode-migrate`` with :data:`CLI_ARGS` in ``project``; (exit status, stdout, stderr)."""
    if runner == "console":
        env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(project.parent)}
        try:
            done = subprocess.run(
                [*console_command(), *CLI_ARGS],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return -1, "", f"timed out after {timeout}s"
        return done.returncode, done.stdout, done.stderr
    from recode_lsp.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()

    def expire(signum: int, frame: object) -> None:
        raise BatchTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(timeout)
    os.chdir(project)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(CLI_ARGS))
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 2
    except BatchTimeout:
        status, err = -1, io.StringIO(f"timed out after {timeout}s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(here)
    return status, out.getvalue(), err.getvalue()


@lru_cache(maxsize=1)
def _region_kinds() -> tuple[frozenset[str], frozenset[str]]:
    """Ids whose fix rewrites the whole call, and ids fixed by a code rule (whole statement)."""
    data = Path(__file__).resolve().parents[2] / "recode_lsp" / "engine" / "data"
    calls: set[str] = set()
    rules: set[str] = set()
    for path in sorted(data.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                change = json.loads(line)
                if change.get("template_on") == "call":
                    calls.add(change["id"])
                if change.get("rule"):
                    rules.add(change["id"])
                    rules.add(change["rule"])
    return frozenset(calls), frozenset(rules)


class _Offsets:
    """Absolute offsets in a text from (1-based line, 0-based column in characters or UTF-8 bytes)."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def chars(self, line: int, column: int) -> int:
        index = min(max(line - 1, 0), len(self.lines) - 1)
        return self.starts[index] + column

    def utf8(self, line: int, column: int) -> int:
        index = min(max(line - 1, 0), len(self.lines) - 1)
        prefix = self.lines[index].encode("utf-8")[:column].decode("utf-8", "replace")
        return self.starts[index] + len(prefix)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)


def _span(offsets: _Offsets, node: ast.AST) -> tuple[int, int]:
    start = offsets.utf8(node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = offsets.utf8(node.end_lineno or node.lineno, node.end_col_offset or 0)  # type: ignore[attr-defined]
    return start, end


def replaced_regions(text: str, tree: ast.Module | None, fixed: Iterable[dict[str, object]]) -> list[tuple[int, int]]:
    """Character spans of ``text`` that the reported fixes replace (see the module docstring)."""
    offsets = _Offsets(text)
    calls, rules = _region_kinds()
    nodes: list[tuple[tuple[int, int], ast.AST]] = []
    if tree is not None:
        nodes = [(_span(offsets, n), n) for n in ast.walk(tree) if isinstance(n, (ast.Call, ast.stmt))]
    regions: list[tuple[int, int]] = []
    for record in fixed:
        location = record["location"]
        end_location = record["end_location"]
        assert isinstance(location, dict) and isinstance(end_location, dict)
        start = offsets.chars(int(location["line"]), int(location["column"]) - 1)
        end = offsets.chars(int(end_location["line"]), int(end_location["column"]) - 1)
        code = str(record["code"])
        best: tuple[int, int] | None = None
        for (node_start, node_end), node in nodes:
            if not (node_start <= start and end <= node_end):
                continue
            smaller = best is None or node_end - node_start < best[1] - best[0]
            if code in calls and isinstance(node, ast.Call):
                func_start, func_end = _span(offsets, node.func)
                if func_start <= start and end <= func_end and smaller:
                    best = (node_start, node_end)
            elif code in rules and isinstance(node, ast.stmt) and smaller:
                best = (node_start, node_end)
        regions.append(best or (start, end))
    return regions


def _inside(span: tuple[int, int], regions: Sequence[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in regions)


def string_literals(text: str, tree: ast.Module) -> list[tuple[tuple[int, int], str]]:
    """Every ``str``/``bytes`` constant (f-string parts included) with its span and ``repr``."""
    offsets = _Offsets(text)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            found.append((_span(offsets, node), repr(node.value)))
    return found


def comments(text: str) -> list[tuple[tuple[int, int], str]] | None:
    """Every comment with its span, or None where tokenize cannot read the text."""
    offsets = _Offsets(text)
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                start = offsets.chars(*token.start)
                found.append(((start, start + len(token.string)), token.string.rstrip()))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return found


def _lost(
    original: list[tuple[tuple[int, int], str]], result: list[str], regions: Sequence[tuple[int, int]]
) -> tuple[list[str], list[str]]:
    """Values of ``original`` missing from ``result`` (multisets): (outside regions, inside regions)."""
    outside = Counter(value for span, value in original if not _inside(span, regions))
    inside = Counter(value for span, value in original if _inside(span, regions))
    remaining = Counter(result)
    lost_outside = outside - remaining
    remaining -= outside
    lost_inside = inside - remaining
    return sorted(lost_outside.elements()), sorted(lost_inside.elements())


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _scope_bindings(nodes: Iterable[ast.AST], *, function: bool = False, imports: bool = True) -> set[str]:
    """Names bound directly in the scope made of ``nodes`` (nested scopes excluded, globals removed).

    ``imports=False``: names bound by import statements (also those under ``if``/``try``) left out.
    """
    bound: set[str] = set()
    declared: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if not imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                stack.extend([*node.bases, *node.keywords])
            else:
                stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)])
            continue
        if isinstance(node, ast.Lambda):
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)])
            continue
        if isinstance(node, _COMPREHENSIONS):
            stack.append(node.generators[0].iter)
            continue
        if isinstance(node, ast.AnnAssign) and node.value is None and not function:
            # A bare annotation binds nothing at module or class level (lookups fall through to builtins).
            stack.append(node.annotation)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        stack.extend(ast.iter_child_nodes(node))
    return bound - declared


def _arg_names(arguments: ast.arguments) -> set[str]:
    every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    return {a.arg for a in every if a is not None}


MODULE_DUNDERS = frozenset(
    {
        "__name__",
        "__file__",
        "__doc__",
        "__spec__",
        "__loader__",
        "__package__",
        "__path__",
        "__builtins__",
        "__annotations__",
        "__dict__",
        "__module__",
        "__qualname__",
        "__class__",
    }
)


def resolve_names(tree: ast.Module) -> Counter[tuple[str, str]]:
    """Every name load, by (name, where it resolves): "local", "module", "builtin" or "undefined".

    String annotations are parsed and their names counted too (``def f(x: 'List[int]')``).
    """
    found: Counter[tuple[str, str]] = Counter()
    module = _scope_bindings(tree.body) | {
        name for node in ast.walk(tree) if isinstance(node, ast.Global) for name in node.names
    }
    Chain = list[tuple[str, set[str]]]

    def where(name: str, chain: Chain) -> str:
        if len(chain) > 1 and name in chain[-1][1]:
            return "local"
        if any(name in names for kind, names in chain[1:-1] if kind != "class"):
            return "local"
        if name in module:
            return "module"
        if name in BUILTIN_NAMES or name in MODULE_DUNDERS:
            return "builtin"
        return "undefined"

    def annotation(node: ast.AST | None, chain: Chain) -> None:
        if node is None:
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                parsed = ast.parse(node.value.strip(), mode="eval")
            except (SyntaxError, ValueError, RecursionError):
                return
            visit(parsed.body, chain)
        else:
            visit(node, chain)

    def visit(node: ast.AST, chain: Chain) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            for child in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
                visit(child, chain)
            if not isinstance(node, ast.Lambda):
                for child in node.decorator_list:
                    visit(child, chain)
                for arg in ast.walk(args):
                    if isinstance(arg, ast.arg):
                        annotation(arg.annotation, chain)
                annotation(node.returns, chain)
            body: list[ast.AST] = list(node.body) if isinstance(node.body, list) else [node.body]
            inner = chain + [("function", _arg_names(args) | _scope_bindings(body, function=True))]
            for statement in body:
                visit(statement, inner)
        elif isinstance(node, ast.ClassDef):
            for outer_node in [*node.decorator_list, *node.bases, *node.keywords]:
                visit(outer_node, chain)
            inner = chain + [("class", _scope_bindings(node.body))]
            for statement in node.body:
                visit(statement, inner)
        elif isinstance(node, _COMPREHENSIONS):
            visit(node.generators[0].iter, chain)
            targets = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            inner = chain + [("function", targets)]
            parts: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for index, generator in enumerate(node.generators):
                parts += [generator.target, *generator.ifs] + ([generator.iter] if index else [])
            for part in parts:
                visit(part, inner)
        elif isinstance(node, ast.AnnAssign):
            visit(node.target, chain)
            annotation(node.annotation, chain)
            if node.value is not None:
                visit(node.value, chain)
        else:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                found[(node.id, where(node.id, chain))] += 1
            for sub in ast.iter_child_nodes(node):
                visit(sub, chain)

    for top in tree.body:
        visit(top, [("module", module)])
    return found


def _imports(tree: ast.Module) -> tuple[dict[str, str], set[str], set[str]]:
    """(module-level names bound by an unguarded import -> what, packages imported unguarded at module level,
    packages imported anywhere)."""
    top: dict[str, str] = {}
    unguarded: set[str] = set()
    anywhere: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            anywhere.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            anywhere.add(node.module.split(".")[0])
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                unguarded.add(alias.name.split(".")[0])
                top[(alias.asname or alias.name).split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            unguarded.add(node.module.split(".")[0])
            for alias in node.names:
                top[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return top, unguarded, anywhere


def _non_import_module_bindings(tree: ast.Module) -> set[str]:
    # An import under ``if TYPE_CHECKING:`` or ``try:`` is an import too: rewriting it is no clobbering.
    return _scope_bindings(tree.body, imports=False)


def name_changes(before: ast.Module, after: ast.Module) -> dict[str, list[str]]:
    """Scope problems a fix introduced (each a list of names; see :class:`FileVerdict`)."""
    problems: dict[str, list[str]] = {
        "builtin_shadowed": [],
        "name_captured": [],
        "name_undefined": [],
        "binding_clobbered": [],
        "import_unguarded": [],
    }
    star = any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(after))
    res_before, res_after = resolve_names(before), resolve_names(after)
    loads_before = Counter(name for (name, _), count in res_before.items() for _ in range(count))
    loads_after = Counter(name for (name, _), count in res_after.items() for _ in range(count))
    imports_before, unguarded_before, anywhere_before = _imports(before)
    imports_after, unguarded_after, _ = _imports(after)
    new_imports = {name for name, what in imports_after.items() if imports_before.get(name) != what}
    for name in sorted(set(loads_after) | {n for n, _ in res_after}):
        grew = loads_after[name] > loads_before[name]
        bound_after = res_after[(name, "local")] + res_after[(name, "module")]
        bound_before = res_before[(name, "local")] + res_before[(name, "module")]
        if grew and name in BUILTIN_NAMES and bound_after > bound_before:
            problems["builtin_shadowed"].append(name)
        if name in new_imports and res_after[(name, "local")] > res_before[(name, "local")]:
            problems["name_captured"].append(name)
        if not star and res_after[(name, "undefined")] > res_before[(name, "undefined")]:
            problems["name_undefined"].append(name)
    clobbered = new_imports & _non_import_module_bindings(before)
    problems["binding_clobbered"] = sorted(clobbered)
    problems["import_unguarded"] = sorted((unguarded_after - unguarded_before) & anywhere_before)
    return problems


def _all_bindings(tree: ast.Module) -> set[str]:
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names |= {(a.asname or a.name).split(".")[0] for a in ast.walk(tree) if isinstance(a, ast.alias)}
    names |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names


TYPE_COMMENT = re.compile(r"#\s*type:\s*(?!ignore\b)(.*)")


def referenced_by_text(text: str, tree: ast.Module) -> set[str]:
    """Names that ``__all__`` lists and that ``# type:`` comments use (not visible to ``ast`` loads)."""
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, (ast.Assign, ast.AugAssign)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = node.value
            if isinstance(value, (ast.List, ast.Tuple)):
                names |= {e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    found = comments(text) or []
    for _, comment in found:
        match = TYPE_COMMENT.match(comment)
        if match:
            names |= {word.split(".")[0] for word in re.findall(r"[A-Za-z_][\w.]*", match.group(1))}
    return names


def references_unbound(before_text: str, before: ast.Module, after_text: str, after: ast.Module) -> list[str]:
    """Names the result's ``__all__`` or type comments use that the original bound and the result does not."""
    referenced = referenced_by_text(after_text, after)
    return sorted((referenced & _all_bindings(before)) - _all_bindings(after))


def _header(text: str) -> list[str]:
    lines = text.split("\n")[:2]
    moved = []
    if lines and lines[0].startswith("#!"):
        moved.append(("shebang", lines[0]))
    for index, line in enumerate(lines):
        if COOKIE.match(line) and (index == 0 or lines[0].lstrip().startswith("#")):
            moved.append(("cookie", line))
    return [f"{kind}: {line}" for kind, line in moved]


def _eol(data: bytes) -> str:
    crlf = data.count(b"\r\n")
    cr = data.count(b"\r") - crlf
    lf = data.count(b"\n") - crlf
    if crlf and not cr and not lf:
        return "crlf"
    if cr and not crlf and not lf:
        return "cr"
    if lf and not crlf and not cr:
        return "lf"
    return "mixed" if (crlf or cr or lf) else "none"


def frozen_lines(module: FuzzModule) -> list[str]:
    """Lines of the module that no fix may change (from the tricky snippets), stripped."""
    from tests.property.fuzz_modules import FROZEN

    text = decode_python(module.data)
    present = {line.strip() for line in text.split("\n")}
    return [line for line in FROZEN if line in present]


def judge_file(module: FuzzModule, first: bytes, second: bytes, fixed: list[dict[str, object]]) -> FileVerdict:
    """Compare the original module with what the first and second run left on disk."""
    verdict = FileVerdict(module.name, module.origin, module.variant, fixed=len(fixed))
    verdict.changed_by_second_run = first != second
    if first == module.data:
        return verdict
    if not compiles(first):
        try:
            compile(first, module.name, "exec", dont_inherit=True)
        except Exception as exc:  # noqa: BLE001 - the message is the report
            verdict.unparsable = f"{type(exc).__name__}: {exc}"
        return verdict
    before = decode_python(module.data)
    after = decode_python(first)
    tree_before = ast.parse(before)
    tree_after = ast.parse(after)
    regions = replaced_regions(before, tree_before, fixed)
    verdict.strings_changed, verdict.strings_changed_in_replaced = _lost(
        string_literals(before, tree_before), [v for _, v in string_literals(after, tree_after)], regions
    )
    comments_before, comments_after = comments(before), comments(after)
    if comments_before is not None and comments_after is not None:
        verdict.comments_lost, verdict.comments_lost_in_replaced = _lost(
            comments_before, [v for _, v in comments_after], regions
        )
    header_before = _header(before)
    header_after = _header(after)
    verdict.header_moved = [line for line in header_before if line not in header_after]
    if module.data.startswith(b"\xef\xbb\xbf") and not first.startswith(b"\xef\xbb\xbf"):
        verdict.header_moved.append("BOM dropped")
    eol_before, eol_after = _eol(module.data), _eol(first)
    if eol_before in {"crlf", "cr", "lf"} and eol_after != eol_before:
        verdict.eol_changed = f"{eol_before} -> {eol_after}"
    try:
        problems = name_changes(tree_before, tree_after)
        problems["reference_unbound"] = references_unbound(before, tree_before, after, tree_after)
    except RecursionError:
        problems = {}
    for key, names in problems.items():
        setattr(verdict, key, names)
    lines_after = Counter(line.strip() for line in after.split("\n"))
    lines_before = Counter(line.strip() for line in before.split("\n"))
    verdict.frozen_changed = [line for line in frozen_lines(module) if lines_after[line] < lines_before[line]]
    return verdict


def _diff(module: FuzzModule, written: bytes, limit: int = 6000) -> str:
    try:
        before = decode_python(module.data).splitlines(keepends=True)
        after = decode_python(written).splitlines(keepends=True)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return f"(undecodable) first bytes written: {written[:300]!r}"
    text = "".join(difflib.unified_diff(before, after, "original", "written", n=2))
    return text[:limit]


def write_project(folder: Path, modules: Sequence[FuzzModule], targets: Sequence[str] = TARGETS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    quoted = ", ".join(json.dumps(t) for t in targets)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "fuzz"\nversion = "0"\n\n[tool.recode]\ntargets = [{quoted}]\n'
    )
    for module in modules:
        (folder / module.name).write_bytes(module.data)


def _parse_report(stdout: str) -> dict[str, object] | None:
    try:
        report = json.loads(stdout)
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def check_batch(
    modules: Sequence[FuzzModule],
    folder: Path,
    *,
    runner: str = "inprocess",
    targets: Sequence[str] = TARGETS,
    timeout: int = 600,
    keep_examples: int = 3,
    bisect_crashes: bool = True,
) -> BatchOutcome:
    """Write ``modules`` to ``folder`` (a new project), run the CLI twice, and judge each file."""
    outcome = BatchOutcome()
    write_project(folder, modules, targets)
    status, stdout, stderr = run_cli(folder, runner=runner, timeout=timeout)
    report = _parse_report(stdout)
    problem = None
    if status not in (0, 1):
        problem = f"first run exit {status}: {stderr.strip()[-800:]}"
    elif report is None:
        problem = f"first run: stdout is not one JSON document: {stdout[:300]!r}"
    elif "internal error" in stderr:
        problem = f"first run: {stderr.strip()[-800:]}"
    if problem is not None:
        if bisect_crashes and len(modules) > 1:
            return _bisect(
                modules, folder, runner=runner, targets=targets, timeout=timeout, keep_examples=keep_examples
            )
        outcome.crashes.append(f"{', '.join(m.name for m in modules)}: {problem}")
        for module in modules:
            verdict = FileVerdict(module.name, module.origin, module.variant, crash=problem)
            outcome.verdicts.append(verdict)
            outcome.examples.append(_example("crashes", module, module.data, problem))
        return outcome
    assert report is not None
    first = {m.name: (folder / m.name).read_bytes() for m in modules}
    status2, stdout2, stderr2 = run_cli(folder, runner=runner, timeout=timeout)
    if status2 not in (0, 1) or _parse_report(stdout2) is None:
        outcome.crashes.append(f"second run exit {status2}: {stderr2.strip()[-800:]}")
    second = {m.name: (folder / m.name).read_bytes() for m in modules}
    fixed: dict[str, list[dict[str, object]]] = {}
    records: dict[str, list[dict[str, object]]] = {}
    for key in ("fixed", "findings", "errors"):
        value = report.get(key)
        records[key] = [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
    for record in records["fixed"]:
        fixed.setdefault(Path(str(record["path"])).name, []).append(record)
    found: Counter[str] = Counter(Path(str(r["path"])).name for r in records["findings"])
    errors = {Path(str(e["path"])).name: str(e.get("error")) for e in records["errors"]}
    by_name = {}
    for module in modules:
        verdict = judge_file(module, first[module.name], second[module.name], fixed.get(module.name, []))
        verdict.findings = found[module.name]
        if module.name in errors:
            verdict.rejected_valid = errors[module.name]
        by_name[module.name] = verdict
        outcome.verdicts.append(verdict)
    for module in modules:
        if module.twin and module.twin in by_name:
            mine, twin = by_name[module.name], by_name[module.twin]
            if (mine.findings, mine.fixed) != (twin.findings, twin.fixed):
                mine.twin_mismatch = (
                    f"{module.variant}: {mine.findings} findings / {mine.fixed} fixed; "
                    f"plain twin: {twin.findings} / {twin.fixed}"
                )
    for module in modules:
        verdict = by_name[module.name]
        for kind, count in verdict.counts().items():
            if count and sum(1 for e in outcome.examples if e.kind == kind) < keep_examples:
                outcome.examples.append(
                    _example(kind, module, first[module.name], _detail(kind, verdict), second[module.name])
                )
    return outcome


def _detail(kind: str, verdict: FileVerdict) -> str:
    value = {
        "unparsable": verdict.unparsable,
        "changed_by_second_run": "second run changed the file",
        "strings_changed": verdict.strings_changed,
        "comments_lost": verdict.comments_lost,
        "crashes": verdict.crash,
        "rejected_valid": verdict.rejected_valid,
        "twin_mismatch": verdict.twin_mismatch,
        "header_moved": verdict.header_moved,
        "eol_changed": verdict.eol_changed,
        "builtin_shadowed": verdict.builtin_shadowed,
        "name_captured": verdict.name_captured,
        "name_undefined": verdict.name_undefined,
        "binding_clobbered": verdict.binding_clobbered,
        "import_unguarded": verdict.import_unguarded,
        "reference_unbound": verdict.reference_unbound,
        "frozen_changed": verdict.frozen_changed,
        "strings_changed_in_replaced": verdict.strings_changed_in_replaced,
        "comments_lost_in_replaced": verdict.comments_lost_in_replaced,
    }[kind]
    return str(value)[:2000]


def _example(kind: str, module: FuzzModule, written: bytes, detail: str, second: bytes | None = None) -> Example:
    try:
        original = decode_python(module.data)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        original = module.data.decode("latin-1")
    diff = _diff(module, written)
    if kind == "changed_by_second_run" and second is not None:
        diff = "first run:\n" + diff + "\nsecond run:\n" + _diff(FuzzModule(module.name, written, ""), second)
    return Example(kind, module.name, module.origin, module.variant, detail, module.notes, original, diff)


def _bisect(
    modules: Sequence[FuzzModule],
    folder: Path,
    *,
    runner: str,
    targets: Sequence[str],
    timeout: int,
    keep_examples: int,
) -> BatchOutcome:
    """Re-run a crashed batch one module per project, to name the modules that crash it."""
    outcome = BatchOutcome()
    for index, module in enumerate(modules):
        group = [module]
        if module.twin:
            continue  # checked together with its twin below
        twin_of = [m for m in modules if m.twin == module.name]
        group = [*twin_of, module]
        single = check_batch(
            group,
            folder.with_name(f"{folder.name}-{index}"),
            runner=runner,
            targets=targets,
            timeout=timeout,
            keep_examples=keep_examples,
            bisect_crashes=False,
        )
        outcome.verdicts.extend(single.verdicts)
        outcome.examples.extend(single.examples)
        outcome.crashes.extend(single.crashes)
    return outcome


def summary_line(totals: Counter[str], seconds: float) -> str:
    """``fuzz_apply: modules=… unparsable=… … time=…s`` (the acceptance counts first)."""
    keys = ["modules", "files_fixed", "fixed_findings", *ACCEPTANCE, *INFO]
    return "fuzz_apply: " + " ".join(f"{key}={totals.get(key, 0)}" for key in keys) + f" time={seconds:.0f}s"


def example_dict(example: Example) -> dict[str, object]:
    return asdict(example)
