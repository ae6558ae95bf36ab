"""``recode-migrate`` against bump-pydantic on the same real pydantic-V1 files: speed and coverage.

What is measured
----------------
The corpus is the ``*.py`` files of old releases written for pydantic V1: FastAPI 0.95.2,
SQLModel 0.0.8, confection 0.0.4 and two folders of LangChain 0.0.200 (``chat_models`` and
``prompts``: root validators, ``class Config`` with a docstring, ``Optional`` fields) -- 85 files.
Their wheels are downloaded once with pip into ``bench/.cache/`` and unpacked into
``bench/.corpus/pydantic/``.

Each tool migrates its own fresh copy of the corpus in place, timed as wall-clock seconds around
``subprocess.run``, with the copy as working directory (bump-pydantic fails on a path outside the
current folder):

* ``recode-migrate --apply --unsafe-fixes --allow-dirty --no-cache --select pydantic
  --target pydantic==2.8 .`` (cold: no result cache);
* ``bump-pydantic .`` (0.8.0, from its own virtual environment: ``--bump-pydantic PATH``, else
  ``bench/.cache/bp-venv`` made with pip on first use).

Coverage is counted the same way for both, from the files before and after, per migration of
issue 15's list: a site counts as migrated when the V1 construct is gone from its place (or the
V2 one is there). Files that no longer parse after a tool ran are counted too.

Run ``python bench/pydantic_vs_bump.py [--bump-pydantic PATH] [--skip-download]``; the last
line (``pydantic_vs_bump: ...``) is the one to compare between runs. ``bench/cli_throughput.py``
runs it too (``--skip-pydantic`` leaves it out).
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from model_training.corpus import extract_py

BENCH = Path(__file__).resolve().parent
WHEEL_CACHE = BENCH / ".cache"
CORPUS = BENCH / ".corpus" / "pydantic"
BUMP_VENV = WHEEL_CACHE / "bp-venv"
BUMP_VERSION = "0.8.0"
#: (distribution, version, folders of the wheel to keep; empty: all).
RELEASES = (
    ("fastapi", "0.95.2", ()),
    ("sqlmodel", "0.0.8", ()),
    ("confection", "0.0.4", ()),
    ("langchain", "0.0.200", ("langchain/chat_models", "langchain/prompts")),
)
SPEED_TARGET = 50.0
TIMEOUT_S = 3600
RECODE_ARGS = ("--apply", "--unsafe-fixes", "--allow-dirty", "--no-cache", "--select", "pydantic",
               "--target", "pydantic==2.8", "--format", "json", "--quiet", ".")  # fmt: skip
MARKER = "# Marks this folder as its own project root for bench/pydantic_vs_bump.py.\n"


class BenchError(Exception):
    """Something the benchmark needs is missing or failed; the message says what."""


# --------------------------------------------------------------------------- corpus


def _wheel(name: str, version: str, skip_download: bool) -> Path:
    prefix = f"{name.replace('-', '_').lower()}-{version}-"
    found = sorted(p for p in WHEEL_CACHE.glob("*.whl") if p.name.lower().startswith(prefix))
    if found:
        return found[0]
    if skip_download:
        raise BenchError(f"no {name} {version} wheel in {WHEEL_CACHE}; run without --skip-download")
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    print(f"downloading {name}=={version} ...", flush=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"{name}=={version}", "-d", str(WHEEL_CACHE)]  # fmt: skip
    completed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=1800)
    found = sorted(p for p in WHEEL_CACHE.glob("*.whl") if p.name.lower().startswith(prefix))
    if completed.returncode != 0 or not found:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-10:])
        raise BenchError(f"pip download {name}=={version} failed:\n{tail}")
    return found[0]


def ensure_corpus(skip_download: bool) -> Path:
    """``bench/.corpus/pydantic/<name>-<version>/`` for each release; what exists is kept."""
    CORPUS.mkdir(parents=True, exist_ok=True)
    for name, version, keep in RELEASES:
        dest = CORPUS / f"{name}-{version}"
        if dest.is_dir() and any(dest.rglob("*.py")):
            continue
        staging = CORPUS / f".{name}-{version}.all"
        shutil.rmtree(staging, ignore_errors=True)
        extract_py(_wheel(name, version, skip_download), staging)
        if keep:
            for folder in keep:
                shutil.copytree(staging / folder, staging.parent / f".{name}.keep" / folder)
            shutil.rmtree(staging)
            staging = staging.parent / f".{name}.keep"
        os.replace(staging, dest)
    marker = CORPUS / "pyproject.toml"
    if not marker.exists():
        marker.write_text(MARKER, encoding="utf-8")
    return CORPUS


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not any(part.startswith(".") for part in p.relative_to(root).parts))


# --------------------------------------------------------------------------- tools


def bump_pydantic(explicit: str | None, skip_download: bool) -> str:
    """The bump-pydantic executable: the one given, else one in the bench's own virtual environment."""
    if explicit:
        return explicit
    program = BUMP_VENV / "bin" / "bump-pydantic"
    if program.is_file():
        return str(program)
    if skip_download:
        raise BenchError(f"{program} is missing; pass --bump-pydantic PATH or run without --skip-download")
    print(f"installing bump-pydantic=={BUMP_VERSION} into {BUMP_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(BUMP_VENV)], check=True, timeout=600)
    completed = subprocess.run(
        [str(BUMP_VENV / "bin" / "python"), "-m", "pip", "install", "-q", f"bump-pydantic=={BUMP_VERSION}"],
        check=False, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if completed.returncode != 0 or not program.is_file():
        raise BenchError(f"pip install bump-pydantic failed:\n{completed.stderr[-2000:]}")
    return str(program)


def recode_program() -> str:
    beside = Path(sys.executable).parent / "recode-migrate"
    if beside.is_file():
        return str(beside)
    found = shutil.which("recode-migrate")
    if found is None:
        raise BenchError(f"`recode-migrate` not found beside {sys.executable} or on PATH")
    return found


def timed_copy(
    corpus: Path, command: list[str], work: Path, label: str, ok_codes: tuple[int, ...]
) -> tuple[float, float]:
    """Copy the corpus to ``work`` and run ``command`` in it; the wall seconds and the CPU seconds
    (user + system, worker processes included)."""
    shutil.copytree(corpus, work)
    env = dict(os.environ)
    env["GIT_CEILING_DIRECTORIES"] = str(work.parent)  # the copy is in no git work tree
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, check=False, cwd=work, env=env, capture_output=True, text=True,
                               timeout=TIMEOUT_S)  # fmt: skip
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if completed.returncode not in ok_codes:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-20:])
        raise BenchError(f"{label} failed (exit {completed.returncode}): {' '.join(command)}\n{tail}")
    return elapsed, cpu


# --------------------------------------------------------------------------- coverage

#: Migration -> how many V1 sites a module has of it (counted before and after each tool).
CON_FUNCTIONS = frozenset(
    {"constr", "conint", "confloat", "conlist", "conset", "confrozenset", "condecimal", "condate", "conbytes"}
)


def _name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _classes(tree: ast.AST) -> list[ast.ClassDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


_MODES = frozenset({"before", "after", "wrap", "plain"})


def _valid_v2(name: str, decorator: ast.expr) -> bool:
    """Whether a ``model_validator`` / ``field_validator`` decorator is one pydantic 2 accepts.

    ``@model_validator()`` (no ``mode``) raises ``TypeError`` when the class is made, and
    ``skip_on_failure`` / ``pre`` / ``always`` / ``each_item`` are not V2 arguments.
    """
    if not isinstance(decorator, ast.Call):
        return False
    keywords = {keyword.arg: keyword.value for keyword in decorator.keywords}
    mode = keywords.pop("mode", None)
    if mode is not None and not (isinstance(mode, ast.Constant) and mode.value in _MODES):
        return False
    if name == "model_validator":
        return mode is not None and not keywords and not decorator.args
    return bool(decorator.args) and set(keywords) <= {"check_fields", "json_schema_input_type"}


def _decorator_names(tree: ast.AST) -> list[str]:
    """Decorator names; a V2 validator decorator pydantic 2 would reject counts as ``<name> (invalid)``."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                callee = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = (
                    callee.id
                    if isinstance(callee, ast.Name)
                    else callee.attr
                    if isinstance(callee, ast.Attribute)
                    else ""
                )
                if name in ("model_validator", "field_validator") and not _valid_v2(name, decorator):
                    name += " (invalid)"
                names.append(name)
    return names


def _is_optional(annotation: ast.expr) -> bool:
    if isinstance(annotation, ast.Subscript):
        head = annotation.value
        name = head.id if isinstance(head, ast.Name) else head.attr if isinstance(head, ast.Attribute) else ""
        if name == "Optional":
            return True
        if name == "Union":
            items = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
            return any(isinstance(i, ast.Constant) and i.value is None for i in items)
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return any(
            isinstance(side, ast.Constant) and side.value is None for side in (annotation.left, annotation.right)
        )
    return False


def _config_classes(tree: ast.AST) -> list[tuple[str, ast.ClassDef]]:
    return [
        (outer.name, inner)
        for outer in _classes(tree)
        for inner in outer.body
        if isinstance(inner, ast.ClassDef) and inner.name == "Config"
    ]


def _has_docstring(node: ast.ClassDef) -> bool:
    first = node.body[0] if node.body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


#: Classes whose annotated attributes are not model fields.
NOT_MODELS = frozenset({"TypedDict", "NamedTuple", "Protocol", "Enum"})


def v1_sites(tree: ast.AST) -> Counter[str]:
    """V1 sites per migration in a module (what a full migration leaves at 0)."""
    sites: Counter[str] = Counter()
    for outer in _classes(tree):
        if any(_name(base) in NOT_MODELS for base in outer.bases):
            continue
        for statement in outer.body:
            if (
                isinstance(statement, ast.AnnAssign)
                and statement.value is None
                and isinstance(statement.target, ast.Name)
                and _is_optional(statement.annotation)
            ):
                sites[f"optional-no-default {outer.name}.{statement.target.id}"] += 1
            target = statement.target if isinstance(statement, ast.AnnAssign) else None
            if isinstance(target, ast.Name) and target.id == "__root__":
                sites["__root__ -> RootModel"] += 1
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in (
                "__get_validators__",
                "__modify_schema__",
            ):
                sites["__get_validators__ / __modify_schema__"] += 1
    decorators = Counter(_decorator_names(tree))
    sites["validator -> field_validator"] = decorators["validator"]
    sites["root_validator -> model_validator"] = decorators["root_validator"]
    # Not V1 sites: what a migration turned them into (to tell valid V2 from invalid).
    for name in ("field_validator", "model_validator"):
        sites[f"~{name}"] = decorators[name]
        sites[f"~{name} (invalid)"] = decorators[f"{name} (invalid)"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = node.func
            name = (
                callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else ""
            )
            if name in CON_FUNCTIONS:
                sites["constr() / conlist() -> Annotated"] += 1
            if name == "Field":
                sites["Field(const= / allow_mutation=)"] += sum(
                    1 for keyword in node.keywords if keyword.arg in ("const", "allow_mutation")
                )
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                if _name(base) == "GenericModel":
                    sites["GenericModel"] += 1
    for _outer, config in _config_classes(tree):
        sites["Config -> model_config"] += 1
        if _has_docstring(config):
            sites["Config with docstring"] += 1
    return sites


INVALID = "validators made invalid V2"
MIGRATIONS = (
    "optional-no-default",
    "validator -> field_validator",
    "root_validator -> model_validator",
    "constr() / conlist() -> Annotated",
    "GenericModel",
    "Field(const= / allow_mutation=)",
    "__root__ -> RootModel",
    "__get_validators__ / __modify_schema__",
    "Config with docstring",
    "Config -> model_config",
)


def _by_migration(sites: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, count in sites.items():
        out[key.split(" ", 1)[0] if key.startswith("optional-no-default") else key] += count
    return out


def coverage(before: Path, after: Path) -> tuple[Counter[str], list[str]]:
    """Sites migrated per migration (V1 sites in ``before`` no longer there in ``after``), and
    the files of ``after`` that no longer parse."""
    migrated: Counter[str] = Counter()
    broken: list[str] = []
    for path in corpus_files(before):
        relative = path.relative_to(before)
        old = v1_sites(ast.parse(path.read_bytes()))
        try:
            new = v1_sites(ast.parse((after / relative).read_bytes()))
        except SyntaxError:
            broken.append(relative.as_posix())
            continue
        # Per site key (the Optional ones per field), what is gone counts...
        gone = Counter({key: max(0, old[key] - new.get(key, 0)) for key in old if not key.startswith("~")})
        # ... and a validator only when what replaced it is valid V2 (``@model_validator()`` is not).
        for v1, v2 in (("validator -> field_validator", "field_validator"),
                       ("root_validator -> model_validator", "model_validator")):  # fmt: skip
            valid = max(0, new[f"~{v2}"] - old[f"~{v2}"])
            invalid = gone[v1] - min(gone[v1], valid)
            gone[v1] -= invalid
            gone[INVALID] += invalid
        migrated.update(_by_migration(gone))
    return migrated, broken


def total_sites(root: Path) -> Counter[str]:
    total: Counter[str] = Counter()
    for path in corpus_files(root):
        sites = v1_sites(ast.parse(path.read_bytes()))
        total.update(_by_migration(Counter({k: v for k, v in sites.items() if not k.startswith("~")})))
    return total


# --------------------------------------------------------------------------- main


def run(bump: str | None = None, skip_download: bool = False, out: Callable[[str], None] = print) -> bool:
    """Run the comparison and print it; whether ReCode met both targets."""
    corpus = ensure_corpus(skip_download)
    files = corpus_files(corpus)
    program = bump_pydantic(bump, skip_download)
    version = subprocess.run([program, "--version"], check=False, capture_output=True, text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="pydantic-vs-bump-"))
    try:
        recode_s, recode_cpu = timed_copy(
            corpus, [recode_program(), *RECODE_ARGS], work / "recode", "recode-migrate", (0, 1)
        )
        bump_s, bump_cpu = timed_copy(corpus, [program, "."], work / "bump", "bump-pydantic", (0,))
        total = total_sites(corpus)
        ours, ours_broken = coverage(corpus, work / "recode")
        theirs, theirs_broken = coverage(corpus, work / "bump")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = bump_s / recode_s if recode_s > 0 else float("inf")
    out(f"pydantic corpus: {corpus} ({len(files)} files); {version or 'bump-pydantic'}")
    out(f"  recode-migrate {' '.join(RECODE_ARGS)}: {recode_s:.2f} s ({recode_cpu:.2f} s CPU)")
    out(f"  bump-pydantic .: {bump_s:.2f} s ({bump_cpu:.2f} s CPU)")
    verdict = "met" if ratio >= SPEED_TARGET else "MISSED"
    cpu_ratio = bump_cpu / recode_cpu if recode_cpu > 0 else float("inf")
    out(
        f"  speed: recode {ratio:.0f}x faster (target >= {SPEED_TARGET:g}x: {verdict}); CPU time {cpu_ratio:.0f}x less"
    )
    out(f"  {'migration':42} {'V1 sites':>8} {'recode':>7} {'bump':>7}")
    behind = []
    for migration in MIGRATIONS:
        out(f"  {migration:42} {total[migration]:8} {ours[migration]:7} {theirs[migration]:7}")
        if ours[migration] < theirs[migration]:
            behind.append(migration)
    out(f"  {INVALID + ' (not counted above)':42} {'':8} {ours[INVALID]:7} {theirs[INVALID]:7}")
    out(f"  files that no longer parse: recode {len(ours_broken)}, bump-pydantic {len(theirs_broken)}"
        + (f" (bump-pydantic: {', '.join(theirs_broken[:3])})" if theirs_broken else "")
        + (f" (recode: {', '.join(ours_broken[:3])})" if ours_broken else ""))  # fmt: skip
    covered = "at least bump-pydantic's" if not behind else f"BEHIND on {', '.join(behind)}"
    out(f"  coverage: {covered}")
    out(
        f"pydantic_vs_bump: files={len(files)} recode={recode_s:.2f}s bump={bump_s:.2f}s speed={ratio:.0f}x "
        f"sites recode={sum(ours[m] for m in MIGRATIONS)} bump={sum(theirs[m] for m in MIGRATIONS)} "
        f"of {sum(total[m] for m in MIGRATIONS)} "
        f"behind={len(behind)} invalid recode={ours[INVALID]} bump={theirs[INVALID]} "
        f"unparsable recode={len(ours_broken)} bump={len(theirs_broken)}"
    )
    return ratio >= SPEED_TARGET and not behind


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bump-pydantic", default=None, metavar="PATH", help="the bump-pydantic executable")
    parser.add_argument("--skip-download", action="store_true", help="never run pip")
    args = parser.parse_args(argv)
    try:
        run(args.bump_pydantic, args.skip_download)
    except (BenchError, subprocess.SubprocessError, OSError) as exc:
        print(f"pydantic_vs_bump: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
