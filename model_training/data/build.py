"""Build a ReCode-format training set from real code and the knowledge base's mechanical fixes.

For every knowledge-base change that has a mechanical fix (a rename, module move, keyword
rename, template or code rule), the builder finds real uses of the old API in a corpus of
real ``.py`` files (by default the sources of old library releases from PyPI, which predate
the changes), and turns each use into one ReCode entry:

* ``old_code``: the innermost enclosing function (or, outside any function, the top-level
  class) with the module-level imports it uses, dedented; units longer than ``--max-lines`` are
  skipped. This is the cut inference makes (:func:`recode_lsp.model_fix.prompt_code`);
* ``new_code``: the same unit (and its imports) taken from the module after the engine fixed
  every use of that change through the one fix pipeline,
  :func:`recode_lsp.engine.pipeline.run_fix_pipeline` (the validator's checks: parses, old
  API gone, nothing new flagged, no new undefined name or builtin shadow, idempotent);
* ``update_info``: the change's note, the new API's doc and an ``old -> new`` line;
  ``description``: the change's message; ``dependency``: the library;
  ``new_version``: ``"==" + (removed_in or deprecated_in)``;
* ``change_id`` and ``provenance`` (source package and version, file, lines, unit, change id,
  fix safety, tool version, knowledge-base fingerprint).

An entry is kept only when its ``new_code`` parses, differs from ``old_code`` after
normalisation, the detector finds the change in ``old_code`` but not in ``new_code`` (both
read alone, as the model will see them), and the target is *complete*: the detector, targeting
the entry's library at its ``new_version``, finds nothing of that library left in ``new_code``
(a unit using two old APIs, fixed for one, is dropped; ``--allow-incomplete`` keeps it).

With ``--teacher-endpoint`` (an OpenAI-compatible server), each use of a *display-only* change
(no mechanical fix) is sent to it as a model fix is (:func:`recode_lsp.model_fix.propose_sync`:
the same prompt, answer reader and engine validation); only validated, complete answers become
entries. Where the snippet can run on its own (:mod:`model_training.data.exec_check`: a self-contained
module-level snippet with no I/O), the old code runs under the old release and the answer under the new
release in the evaluation sandbox, and what they print is compared: the same, the entry's origin is
``execution-checked``; different, the answer is dropped; not runnable, it stays ``teacher``
(``--no-exec-check`` turns this off). Every entry records ``target_origin`` (``rule``, ``teacher`` or
``execution-checked``) and ``mechanical``.

Entries are deduplicated by normalised ``old_code`` plus change id, capped per change
(``--max-per-change``) and per *change family* (``--max-per-family``), and mechanical entries
(the rule engine fixes them alone) are kept to at most ``--max-mechanical-share`` of the set
(default 30%: a rule-only build keeps none). A change family
(:func:`model_training.data.check.change_family`) is the library plus where the old API lived
and where the new one lives (``python:typing->collections.abc`` holds ``typing.Callable`` and
``typing.Sequence``; keyword changes are one family per callee). The split puts entries that
share a family *or* a normalised old snippet (comments and blank lines ignored) in one group,
and each group whole into one split (stratified per library, ~80/10/10 by count, deterministic
for a seed); :func:`leaks` checks the result (no snippet, no family in two splits).

Run ``python -m model_training.data.build --corpus bench/.corpus --out data/built/``.
``--fetch`` first downloads the wheels of :data:`DEFAULT_CORPORA` with pip (only their ``.py``
files are unpacked into ``<corpus>/<name>-<version>/``; wheels are cached in
``<corpus>/.wheels/``), so the output can be regenerated from nothing but the network.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from model_training.corpus import extract_py
from model_training.data.check import change_family, remaining_changes
from model_training.data.exec_check import ExecCheckSettings, check_behaviour, env_cache
from model_training.data.recode_data import ReCodeRecord, write_recode_jsonl
from model_training.rewards import normalise_code
from recode_lsp import model_fix
from recode_lsp.model_fix import (
    dedent_block,
    describe_update,
    import_header,  # noqa: F401 - re-exported: the builder's public helpers
    module_classes,
    prompt_code,
    target_version,
)

if TYPE_CHECKING:
    from recode_lsp.api_docs import ApiDoc
    from recode_lsp.engine.changes import ApiChange
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.model import Finding

#: Old releases (Python 3.8 era, before the knowledge base's changes) whose sources are mined.
#: The first three are the benchmark corpus of ``bench/cli_throughput.py``.
DEFAULT_CORPORA: tuple[tuple[str, str], ...] = (
    ("pandas", "1.3.5"),
    ("scikit-learn", "0.24.2"),
    ("networkx", "2.5"),
    ("scipy", "1.5.4"),
    ("matplotlib", "3.3.4"),
    ("statsmodels", "0.12.2"),
    ("seaborn", "0.11.2"),
    ("xarray", "0.16.2"),
    ("scikit-image", "0.17.2"),
    ("astropy", "4.2"),
    ("dask", "2021.3.0"),
    ("fastapi", "0.95.2"),
    ("sqlmodel", "0.0.8"),
    ("pydantic", "1.10.13"),
    ("alembic", "1.6.5"),
    ("flask-sqlalchemy", "2.5.1"),
    ("Django", "3.2.25"),
    ("requests", "2.25.1"),
    ("Sphinx", "3.5.4"),
    ("tornado", "6.1"),
    ("ipython", "7.22.0"),
    ("geopandas", "0.9.0"),
    ("librosa", "0.8.1"),
    ("mne", "0.23.0"),
    ("nilearn", "0.7.1"),
    ("lifelines", "0.25.11"),
    ("pvlib", "0.8.1"),
    ("pymc3", "3.11.2"),
    ("category_encoders", "2.2.2"),
    ("imbalanced-learn", "0.8.0"),
    ("mlxtend", "0.18.0"),
    ("pandera", "0.6.5"),
    ("xgboost", "1.3.3"),
    ("spacy", "3.0.6"),
    ("thinc", "8.0.3"),
    ("ormar", "0.10.15"),
    ("SQLAlchemy-Utils", "0.37.8"),
    ("GeoAlchemy2", "0.9.4"),
    ("databases", "0.4.3"),
)
SPLITS = ("train", "validation", "test")
SPLIT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}
MAX_FILE_BYTES = 2_000_000
#: Mechanical entries (the rule engine fixes them alone) are a capped minority of a set.
DEFAULT_MECHANICAL_SHARE = 0.3
_SOURCE_FOLDER = re.compile(r"^(?P<name>.+?)-(?P<version>[0-9][A-Za-z0-9.+!_-]*)$")


class BuildError(Exception):
    """The corpus or the output cannot be used; the message says why."""


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class SourceFile:
    """One ``.py`` file of the corpus and the package release it belongs to."""

    path: Path
    #: ``pandas==1.3.5`` (from the folder name ``pandas-1.3.5``), or the folder's name.
    source: str
    #: Path inside the release folder, posix style.
    relative: str
    #: Dotted module name (relative imports resolve through it).
    module: str | None


def source_label(folder_name: str) -> str:
    """``pandas-1.3.5`` -> ``pandas==1.3.5``; a name without a version is kept.

    >>> source_label("scikit-learn-0.24.2"), source_label("legacy_src")
    ('scikit-learn==0.24.2', 'legacy_src')
    """
    match = _SOURCE_FOLDER.match(folder_name)
    return f"{match['name']}=={match['version']}" if match else folder_name


def _module_name(relative: PurePosixPath) -> str | None:
    parts = list(relative.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def corpus_files(corpus: Path) -> list[SourceFile]:
    """Every ``.py`` file under ``corpus``, outside hidden folders, in a stable order.

    Each non-hidden sub-folder is one source (a release); ``.py`` files directly in
    ``corpus`` belong to a source named after ``corpus`` itself.
    """
    if not corpus.is_dir():
        raise BuildError(f"{corpus}: no such folder (run with --fetch to download the default corpora)")
    out: list[SourceFile] = []
    paths: list[Path] = []
    for folder, folders, names in os.walk(corpus, followlinks=True):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        paths.extend(Path(folder, name) for name in names if name.endswith(".py"))
    for path in sorted(paths):
        relative = path.relative_to(corpus)
        if len(relative.parts) == 1:
            source, inner = corpus.name, PurePosixPath(relative.as_posix())
        else:
            source, inner = relative.parts[0], PurePosixPath(*relative.parts[1:])
        out.append(SourceFile(path, source_label(source), inner.as_posix(), _module_name(inner)))
    return out


def _wheel_prefix(name: str, version: str) -> str:
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"


def _find_wheel(folder: Path, name: str, version: str) -> Path | None:
    prefix = _wheel_prefix(name, version)
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.glob("*.whl") if p.name.lower().startswith(prefix))
    return found[0] if found else None


def fetch_corpora(corpus: Path, packages: Sequence[tuple[str, str]] = DEFAULT_CORPORA) -> None:
    """Download (pip, wheels only, no dependencies) and unpack the ``.py`` files of ``packages``.

    Releases already unpacked in ``corpus/<name>-<version>/`` are kept; wheels are cached in
    ``corpus/.wheels/``.
    """
    wheels = corpus / ".wheels"
    for name, version in packages:
        dest = corpus / f"{name}-{version}"
        if dest.is_dir() and any(dest.rglob("*.py")):
            continue
        wheel = _find_wheel(wheels, name, version)
        if wheel is None:
            command = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--python-version", "3.8", "--platform", "manylinux2014_x86_64", "--platform", "any",
                f"{name}=={version}", "-d", str(wheels),
            ]  # fmt: skip
            print(f"downloading {name}=={version} ...", flush=True)
            completed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=1800)
            wheel = _find_wheel(wheels, name, version)
            if completed.returncode != 0 or wheel is None:
                tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-10:])
                raise BuildError(f"pip download {name}=={version} failed (exit {completed.returncode}):\n{tail}")
        count = extract_py(wheel, dest)
        print(f"extracted {count} .py files of {wheel.name} into {dest}", flush=True)


# --------------------------------------------------------------------------- units and snippets


@dataclass(frozen=True)
class Unit:
    """A function (or class) of a module: where it is and how to find it again after a fix."""

    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    #: ``Class.method`` style path, plus the occurrence index among equal paths.
    key: tuple[str, int]
    start: int  # offset of the first decorator or the ``def``/``class`` line's start
    end: int
    first_line: int  # 1-based
    last_line: int

    @property
    def kind(self) -> str:
        return "class" if isinstance(self.node, ast.ClassDef) else "function"

    @property
    def lines(self) -> int:
        return self.last_line - self.first_line + 1


def module_units(tree: ast.Module, line_starts: Sequence[int], source_length: int) -> list[Unit]:
    """Every function and class of a module with its offsets (decorators included)."""
    units: list[Unit] = []
    seen: Counter[str] = Counter()

    def visit(node: ast.AST, path: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = ".".join((*path, child.name))
                index = seen[name]
                seen[name] += 1
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                last = child.end_lineno or child.lineno
                start = line_starts[first - 1]
                end = line_starts[last] if last < len(line_starts) else source_length
                units.append(Unit(child, (name, index), start, end, first, last))
                visit(child, (*path, child.name))
            else:
                visit(child, path)

    visit(tree, ())
    return units


def _line_starts(source: str) -> list[int]:
    starts = [0]
    position = source.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = source.find("\n", position + 1)
    return starts


def innermost_unit(units: Sequence[Unit], offset: int) -> Unit | None:
    """The smallest function containing ``offset``; else the largest class (the top-level statement); else None.

    The same region inference cuts (:func:`recode_lsp.model_fix.enclosing_region`: the innermost
    function, else the top-level statement), so training snippets look like served prompts.
    """
    containing = [u for u in units if u.start <= offset < u.end]
    functions = [u for u in containing if u.kind == "function"]
    if functions:
        return min(functions, key=lambda u: u.end - u.start)
    return max(containing, key=lambda u: u.end - u.start) if containing else None


def enclosing_unit(units: Sequence[Unit], unit: Unit) -> Unit | None:
    """The smallest unit that strictly contains ``unit``, or None."""
    around = [u for u in units if u.start <= unit.start and unit.end <= u.end and u is not unit]
    return min(around, key=lambda u: u.end - u.start) if around else None


def dedent_unit(source: str, unit: Unit) -> str:
    """The unit's lines with its own indentation removed (lines indented less are kept as is)."""
    return dedent_block(source[unit.start : unit.end])


def context_classes(tree: ast.Module, unit: Unit, max_lines: int = 40) -> list[str]:
    """Names of the short module-level classes ``unit`` uses (:func:`recode_lsp.model_fix.context_classes`)."""
    return model_fix.context_classes(tree, unit.node, max_lines)


def snippet(source: str, tree: ast.Module, unit: Unit, context: Sequence[ast.ClassDef] = ()) -> str:
    """The unit as a self-contained snippet: its imports, a blank line, its dedented code.

    ``context`` holds module-level classes to put (whole) between the imports and the unit.
    Cut by :func:`recode_lsp.model_fix.prompt_code`, as the served model sees a region.
    """
    return prompt_code(source, tree, source[unit.start : unit.end], [unit.node], context)


# --------------------------------------------------------------------------- update text


def _record(
    change: ApiChange,
    old_code: str,
    new_code: str,
    change_id: str,
    *,
    mechanical: bool,
    origin: str,
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """One training entry, whoever wrote its target (``origin``: a rule or the teacher)."""
    return {
        "dependency": change.library,
        "new_version": new_version(change),
        "description": change.message(),
        "update_info": update_info(change),
        "old_code": old_code,
        "new_code": new_code,
        "change_id": change_id,
        "family": change_family(change),
        "mechanical": mechanical,
        "target_origin": origin,
        "provenance": provenance,
    }


def update_info(change: ApiChange, docs: ApiDoc | None = None) -> str:
    """The update information of a change, built as inference builds it.

    :func:`recode_lsp.model_fix.describe_update` for the change's own version (what
    :func:`new_version` writes): the change's message with its version history, the note, and
    the new API's signature and docstring (``docs`` when given, else the knowledge base's text).
    """
    from recode_lsp.engine import DetectOptions

    return describe_update(change, docs, target_version(change, DetectOptions()))


def new_version(change: ApiChange) -> str:
    version = change.removed_in or change.deprecated_in
    return f"=={version}" if version is not None else ""


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return f"recode-migrate {version('recode-migrate')}"
    except Exception:  # noqa: BLE001 - not installed: fall back to the package's own number
        import recode_lsp

        return f"recode-migrate {getattr(recode_lsp, '__version__', 'unknown')}"


# --------------------------------------------------------------------------- mining one file


@dataclass(frozen=True)
class TeacherSettings:
    """An OpenAI-compatible endpoint that writes migrations for display-only changes."""

    endpoint: str
    model: str = "teacher"
    timeout: float = 120.0
    max_tokens: int = 2048
    api_key: str | None = None


@dataclass
class BuildSettings:
    """What the workers need (sent once to each process)."""

    max_lines: int = 80
    unsafe: bool = True
    tool: str = ""
    #: Drop entries whose new_code the detector still flags for the target version.
    complete_targets: bool = True
    #: Ask this endpoint for targets of display-only changes (no teacher: rule entries only).
    teacher: TeacherSettings | None = None
    #: Run teacher answers whose snippets can run (None: the defaults; ``enabled=False``: never).
    exec_check: ExecCheckSettings | None = None
    #: Knowledge-base overlays loaded with the shipped data (the update loop mines its scraped entries).
    extra_changes: tuple[str, ...] = ()


_WORKER: dict[str, Any] = {}


def _worker_init(settings: BuildSettings) -> None:
    from recode_lsp.engine import DetectOptions, load_knowledge_base
    from recode_lsp.engine.prefilter import Prefilter
    from recode_lsp.engine.rules import rule_triggers

    kb = load_knowledge_base(settings.extra_changes)
    _WORKER["kb"] = kb
    _WORKER["options"] = DetectOptions()
    _WORKER["settings"] = settings
    mechanical = [change for change in kb.changes if change.has_mechanical_fix]
    # With a teacher, display-only changes are mined too: the prefilter must let their files through.
    _WORKER["prefilter"] = Prefilter(kb.changes if settings.teacher else mechanical, rule_triggers())
    _WORKER["client"] = None
    _WORKER["envs"] = None
    if settings.teacher is not None:
        from recode_lsp.model_client import ModelClient

        teacher = settings.teacher
        _WORKER["client"] = ModelClient(
            teacher.endpoint, teacher.model, timeout=teacher.timeout, api_key=teacher.api_key
        )
        exec_settings = settings.exec_check or ExecCheckSettings()
        if exec_settings.enabled:
            _WORKER["envs"] = env_cache(exec_settings)


def _detected_ids(code: str, kb: KnowledgeBase) -> set[str] | None:
    from recode_lsp.engine import DetectOptions, SourceError, detect

    try:
        return {finding.code for finding in detect(code, kb, DetectOptions())}
    except (SourceError, RecursionError, ValueError):
        return None


def mine_file(item: SourceFile) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Candidate entries from one file, and why other uses were dropped (reason -> count)."""
    stats: Counter[str] = Counter()
    try:
        data = item.path.read_bytes()
    except OSError:
        stats["file unreadable"] += 1
        return [], stats
    if len(data) > MAX_FILE_BYTES:
        stats["file too large"] += 1
        return [], stats
    if not _WORKER["prefilter"].may_match(data):
        return [], stats
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        stats["file not UTF-8"] += 1
        return [], stats
    try:
        found = _mine_source(source, item, stats)
        if _WORKER["settings"].teacher is not None:
            found.extend(_teach_source(source, item, stats))
        return found, stats
    except RecursionError:
        stats["file too deeply nested"] += 1
        return [], stats


def _mine_source(source: str, item: SourceFile, stats: Counter[str]) -> list[dict[str, Any]]:
    from recode_lsp.engine import SourceError, analyse, detect
    from recode_lsp.engine.fixer import wanted
    from recode_lsp.engine.pipeline import run_fix_pipeline

    kb: KnowledgeBase = _WORKER["kb"]
    options = _WORKER["options"]
    settings: BuildSettings = _WORKER["settings"]
    path = item.relative
    try:
        analysis = analyse(source, path, item.module)
        findings = detect(source, kb, options, path, item.module, analysis=analysis)
    except SourceError:
        stats["file does not parse"] += 1
        return []
    usable = [f for f in findings if f.change.has_mechanical_fix and wanted(f, settings.unsafe)]
    if not usable:
        return []
    starts = _line_starts(source)
    units = module_units(analysis.tree, starts, len(source))
    # change id -> unit key -> findings of that change inside that unit
    by_change: dict[str, dict[tuple[str, int], list[Finding]]] = defaultdict(lambda: defaultdict(list))
    unit_of: dict[tuple[str, int], Unit] = {}
    for finding in usable:
        unit = innermost_unit(units, finding.start_offset)
        if unit is None:
            if finding.site.value != "import_from":  # imports are fixed with their uses
                stats["use outside any function or class"] += 1
            continue
        by_change[finding.code][unit.key].append(finding)
        unit_of[unit.key] = unit
    for finding in findings:
        if finding.change.has_mechanical_fix and not wanted(finding, settings.unsafe):
            stats["site not fixable mechanically"] += 1
    out: list[dict[str, Any]] = []
    for change_id in sorted(by_change):
        per_unit = by_change[change_id]
        selected = [f for f in usable if f.code == change_id]
        # The one fix pipeline (as the CLI and the language server fix), one round: the entry
        # pairs the module before and after this change's fixes, nothing else.
        outcome = run_fix_pipeline(
            analysis=analysis,
            findings=findings,
            kb=kb,
            options=options,
            unsafe=settings.unsafe,
            selected=selected,
            path=path,
            module_name=item.module,
            max_rounds=1,
        )
        if not outcome.applied:
            stats["fix rejected or not applicable"] += len(per_unit)
            continue
        applied = {_finding_key(f) for f in outcome.applied}
        try:
            fixed_tree = ast.parse(outcome.source)
        except SyntaxError:
            stats["fixed module does not parse"] += len(per_unit)
            continue
        fixed_units = {u.key: u for u in module_units(fixed_tree, _line_starts(outcome.source), len(outcome.source))}
        change = kb.by_id[change_id]
        done: set[tuple[str, int]] = set()
        for key in sorted(per_unit):
            unit = unit_of[key]
            # A fix may remove the unit itself (a rule replacing a nested ``class Config``):
            # then take the unit around it.
            while unit is not None and unit.key not in fixed_units:
                unit = enclosing_unit(units, unit)
            if unit is None:
                stats["unit not found after the fix"] += 1
                continue
            if unit.key in done:
                continue
            done.add(unit.key)
            sites = [f for f in selected if unit.start <= f.start_offset < unit.end]
            if unit.lines > settings.max_lines:
                stats["unit too long"] += 1
                continue
            if not all(_finding_key(f) in applied for f in sites):
                stats["fix rejected at this site"] += 1
                continue
            new_unit = fixed_units[unit.key]
            context: list[str] = []
            old_code = snippet(source, analysis.tree, unit)
            new_code = snippet(outcome.source, fixed_tree, new_unit)
            reason = _check_pair(old_code, new_code, change_id, kb)
            if reason == NOT_DETECTED_ALONE:
                # A member use (``user.dict()``) is recognised through the receiver's class:
                # add the short module-level classes the unit uses, and try again.
                context = context_classes(analysis.tree, unit)
                if context:
                    old_classes = module_classes(analysis.tree, context)
                    new_classes = module_classes(fixed_tree, context)
                    if old_classes is None or new_classes is None:
                        reason = "context class not found after the fix"
                    else:
                        old_code = snippet(source, analysis.tree, unit, old_classes)
                        new_code = snippet(outcome.source, fixed_tree, new_unit, new_classes)
                        reason = _check_pair(old_code, new_code, change_id, kb)
            if not reason and settings.complete_targets:
                # Complete targets only: a new_code still flagged for the target version (another
                # change of the library left in the unit) would teach a half migration.
                left = remaining_changes(change.library, new_version(change), new_code, kb)
                if left is None or left:
                    reason = INCOMPLETE_TARGET
            if reason:
                stats[reason] += 1
                continue
            out.append(
                _record(
                    change,
                    old_code,
                    new_code,
                    change_id,
                    mechanical=change.has_mechanical_fix,
                    origin="rule",
                    provenance={
                        "source": item.source,
                        "path": item.relative,
                        "line": sites[0].range.start.line + 1,
                        "lines": sorted({f.range.start.line + 1 for f in sites}),
                        "unit": unit.kind,
                        "name": unit.key[0],
                        "unit_line": unit.first_line,
                        "context": context,
                        "change_id": change_id,
                        "fix_safety": max((f.safety.value for f in sites), key=("safe", "unsafe").index),
                        "tool": settings.tool,
                        "knowledge_base": kb.fingerprint,
                    },
                )
            )
            stats["entries"] += 1
    return out


def _teach_source(source: str, item: SourceFile, stats: Counter[str]) -> list[dict[str, Any]]:
    """Teacher entries: the endpoint migrates each use of a display-only change, as a model fix does.

    One site per (change, region): the prompt, the answer reader and the validation are
    :func:`recode_lsp.model_fix.propose_sync`'s (old API gone from the region, nothing new
    flagged, no new undefined name); then the entry must pass the builder's own checks on the
    snippets alone (:func:`_check_pair`) and have a complete target. Rejected answers are only counted.
    """
    from recode_lsp.engine import SourceError, analyse, detect
    from recode_lsp.model_fix import enclosing_region, propose_sync, region_code

    kb: KnowledgeBase = _WORKER["kb"]
    options = _WORKER["options"]
    settings: BuildSettings = _WORKER["settings"]
    teacher = settings.teacher
    assert teacher is not None
    try:
        analysis = analyse(source, item.relative, item.module)
        findings = detect(source, kb, options, item.relative, item.module, analysis=analysis)
    except SourceError:
        return []
    out: list[dict[str, Any]] = []
    asked: set[tuple[str, int]] = set()
    for finding in findings:
        change = finding.change
        if change.has_mechanical_fix:
            continue
        region = enclosing_region(source, finding, analysis.tree)
        if region is None:
            stats["teacher: use outside any function or statement"] += 1
            continue
        if (finding.code, region.start) in asked:
            continue
        asked.add((finding.code, region.start))
        if source.count("\n", region.start, region.end) + 1 > settings.max_lines:
            stats["unit too long"] += 1
            continue
        stats["teacher: sites asked"] += 1
        result = propose_sync(
            source, finding, kb, options, _WORKER["client"], path=item.relative, max_tokens=teacher.max_tokens
        )
        if not result.ok or result.new_source is None or result.new_text is None:
            stats["teacher: answer rejected by the engine"] += 1
            continue
        old_code, context = region_code(source, analysis.tree, region, finding.code, kb, options)
        new_code = _answer_snippet(result.new_source, result.new_text, context)
        if new_code is None:
            stats["teacher: answer snippet cannot be cut"] += 1
            continue
        reason = _check_pair(old_code, new_code, finding.code, kb)
        if not reason:
            left = remaining_changes(change.library, new_version(change), new_code, kb)
            if left is None or left:
                reason = INCOMPLETE_TARGET
        if reason:
            stats[f"teacher: {reason}"] += 1
            continue
        origin, execution = "teacher", None
        if _WORKER["envs"] is not None:
            outcome = check_behaviour(
                old_code, new_code, change, _WORKER["envs"], settings.exec_check or ExecCheckSettings()
            )
            if outcome.status == "different":
                stats["teacher: ran and behaved differently"] += 1
                continue
            if outcome.status == "same":
                origin = "execution-checked"
            else:
                stats[f"teacher: not execution-checked ({outcome.status})"] += 1
            execution = {"status": outcome.status, "detail": outcome.detail}
            if outcome.releases is not None:
                execution["releases"] = f"{change.library} {outcome.releases[0]} -> {outcome.releases[1]}"
        line = finding.range.start.line + 1
        out.append(
            _record(
                change,
                old_code,
                new_code,
                finding.code,
                mechanical=False,
                origin=origin,
                provenance={
                    "source": item.source,
                    "path": item.relative,
                    "line": line,
                    "lines": [line],
                    "unit": region.kind,
                    "unit_line": source.count("\n", 0, region.start) + 1,
                    "context": list(context),
                    "change_id": finding.code,
                    "teacher": teacher.model,
                    **({"execution": execution} if execution is not None else {}),
                    "tool": settings.tool,
                    "knowledge_base": kb.fingerprint,
                },
            )
        )
        stats["teacher entries"] += 1
        if origin == "execution-checked":
            stats["teacher: execution-checked"] += 1
    return out


def _answer_snippet(new_source: str, new_text: str, context: Sequence[str]) -> str | None:
    """The validated answer cut as the old code was (imports it uses, the same context classes)."""
    import textwrap

    try:
        tree = ast.parse(new_source)
        nodes: list[ast.AST] = [ast.parse(textwrap.dedent(new_text))]
    except SyntaxError:
        return None
    classes = module_classes(tree, list(context)) if context else []
    if classes is None:
        return None
    return prompt_code(new_source, tree, new_text, nodes, classes)


def _finding_key(finding: Finding) -> tuple[int, int, str]:
    return (finding.start_offset, finding.end_offset, finding.code)


NOT_DETECTED_ALONE = "old API not detected in the unit alone"
INCOMPLETE_TARGET = "target incomplete (other changes of the target version left)"


def _check_pair(old_code: str, new_code: str, change_id: str, kb: KnowledgeBase) -> str | None:
    """Why an (old, new) pair is not a usable entry, or None when it is."""
    try:
        ast.parse(new_code)
    except SyntaxError:
        return "new_code does not parse"
    if normalise_code(old_code) == normalise_code(new_code):
        return "unit unchanged by the fix"
    old_ids = _detected_ids(old_code, kb)
    if old_ids is None:
        return "old_code does not parse alone"
    if change_id not in old_ids:
        return NOT_DETECTED_ALONE
    new_ids = _detected_ids(new_code, kb)
    if new_ids is None or change_id in new_ids:
        return "old API still detected after the fix"
    return None


# --------------------------------------------------------------------------- dedup and split


def dedup_key(entry: dict[str, Any]) -> str:
    """Normalised old code plus change id, hashed."""
    text = normalise_code(entry["old_code"]) + "\0" + entry["change_id"]
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def deduplicate(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first entry of each (normalised old_code, change id), in order."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        key = dedup_key(entry)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def _cap_by(entries: list[dict[str, Any]], key: str, cap: int, seed: int) -> list[dict[str, Any]]:
    if cap <= 0:
        return entries
    groups: dict[str, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        groups[entry_key(entry, key)].append(index)
    keep: set[int] = set()
    for name in sorted(groups):
        indices = groups[name]
        if len(indices) > cap:
            indices = random.Random(f"{seed}:{name}").sample(indices, cap)
        keep.update(indices)
    return [entry for index, entry in enumerate(entries) if index in keep]


def entry_key(entry: dict[str, Any], key: str) -> str:
    """The entry's ``change_id`` or ``family`` (a family defaults to the change id)."""
    if key == "family":
        return str(entry.get("family") or entry["change_id"])
    return str(entry[key])


def cap_per_change(entries: list[dict[str, Any]], cap: int, seed: int) -> list[dict[str, Any]]:
    """At most ``cap`` entries per change id (a seeded sample; order kept). 0 keeps all."""
    return _cap_by(entries, "change_id", cap, seed)


def cap_per_family(entries: list[dict[str, Any]], cap: int, seed: int) -> list[dict[str, Any]]:
    """At most ``cap`` entries per change family (a seeded sample; order kept). 0 keeps all."""
    return _cap_by(entries, "family", cap, seed)


def cap_mechanical(entries: list[dict[str, Any]], share: float, seed: int) -> list[dict[str, Any]]:
    """Keep mechanical entries (the rule engine fixes them alone) to at most ``share`` of the set.

    Non-mechanical entries are all kept; mechanical ones are taken round-robin over change ids
    (each change's entries in a seeded order), so the ones kept cover as many changes as
    possible. ``share >= 1`` keeps all; with no non-mechanical entry nothing mechanical is kept.
    """
    if share >= 1:
        return entries
    mechanical = [index for index, entry in enumerate(entries) if entry.get("mechanical", True)]
    others = len(entries) - len(mechanical)
    allowed = math.floor(max(share, 0.0) * others / (1 - share) + 1e-9) if share > 0 else 0
    if len(mechanical) <= allowed:
        return entries
    by_change: dict[str, list[int]] = defaultdict(list)
    for index in mechanical:
        by_change[entries[index]["change_id"]].append(index)
    queues = []
    for change_id in sorted(by_change):
        indices = list(by_change[change_id])
        random.Random(f"{seed}:mechanical:{change_id}").shuffle(indices)
        queues.append(indices)
    random.Random(f"{seed}:mechanical").shuffle(queues)
    keep: set[int] = set()
    while len(keep) < allowed:
        for queue in queues:
            if queue and len(keep) < allowed:
                keep.add(queue.pop())
    dropped = set(mechanical) - keep
    return [entry for index, entry in enumerate(entries) if index not in dropped]


def _groups(entries: Sequence[dict[str, Any]]) -> list[int]:
    """Entry -> group: entries sharing a change family or a normalised old snippet are one group."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    nodes = []
    for entry in entries:
        family = ("family", entry_key(entry, "family"))
        find(family)
        if "old_code" in entry:
            other = find(("snippet", normalise_code(entry["old_code"])))
            parent[find(family)] = other
        nodes.append(family)
    roots: dict[tuple[str, str], int] = {}
    return [roots.setdefault(find(node), len(roots)) for node in nodes]


def assign_splits(entries: Sequence[dict[str, Any]], seed: int) -> dict[str, str]:
    """Change id -> split, so that no change family and no normalised old snippet is in two splits.

    Entries sharing a family (:func:`model_training.data.check.change_family`: library, where the
    old API lived, where the new one lives) or a normalised ``old_code`` (comments and blank
    lines ignored) form one group, and a group goes whole to one split. Per library (a group's
    most common one), groups are taken largest first (ties in a seeded random order) and each
    goes to the split furthest below its share (80/10/10) of that library's entries.
    """
    group_of = _groups(entries)
    sizes: Counter[int] = Counter(group_of)
    libraries: dict[int, Counter[str]] = defaultdict(Counter)
    for entry, group in zip(entries, group_of, strict=True):
        libraries[group][entry["dependency"]] += 1
    per_library: dict[str, list[int]] = defaultdict(list)
    for group, counts in libraries.items():
        per_library[max(sorted(counts), key=lambda name: counts[name])].append(group)
    # A stable name per group (its smallest change id) so the seeded order does not depend on input order.
    names: dict[int, str] = {}
    for entry, group in zip(entries, group_of, strict=True):
        names[group] = min(names.get(group, entry["change_id"]), entry["change_id"])
    split_of_group: dict[int, str] = {}
    for library in sorted(per_library):
        groups = per_library[library]
        total = sum(sizes[g] for g in groups)
        order = sorted(groups, key=lambda g: names[g])
        random.Random(f"{seed}:{library}").shuffle(order)
        rank = {group: index for index, group in enumerate(order)}
        filled = dict.fromkeys(SPLITS, 0)
        for group in sorted(groups, key=lambda g: (-sizes[g], rank[g])):
            split = max(SPLITS, key=lambda s: (SPLIT_SHARES[s] * total - filled[s], -SPLITS.index(s)))
            split_of_group[group] = split
            filled[split] += sizes[group]
    return {entry["change_id"]: split_of_group[group] for entry, group in zip(entries, group_of, strict=True)}


def leaks(splits: dict[str, list[dict[str, Any]]]) -> tuple[int, list[str]]:
    """Normalised old snippets in two splits (count) and change families in two splits (names)."""
    snippets: dict[str, set[str]] = defaultdict(set)
    families: dict[str, set[str]] = defaultdict(set)
    for name, entries in splits.items():
        for entry in entries:
            snippets[normalise_code(entry["old_code"])].add(name)
            families[entry_key(entry, "family")].add(name)
    shared = sum(1 for names in snippets.values() if len(names) > 1)
    return shared, sorted(f for f, names in families.items() if len(names) > 1)


# --------------------------------------------------------------------------- the build


@dataclass
class BuildResult:
    """What a build produced."""

    splits: dict[str, list[dict[str, Any]]]
    assignment: dict[str, str]
    stats: Counter[str]
    files: int
    sources: list[str]
    seconds: float

    @property
    def total(self) -> int:
        return sum(len(entries) for entries in self.splits.values())


def build(
    corpus: Path,
    jobs: int | None = None,
    max_lines: int = 80,
    unsafe: bool = True,
    seed: int = 0,
    max_per_change: int = 0,
    progress: bool = False,
    max_per_family: int = 0,
    max_mechanical_share: float = DEFAULT_MECHANICAL_SHARE,
    complete_targets: bool = True,
    teacher: TeacherSettings | None = None,
    extra_changes: Sequence[str | Path] = (),
    exec_check: ExecCheckSettings | None = None,
) -> BuildResult:
    """Mine ``corpus`` and return deduplicated, capped entries split by change family and snippet.

    ``max_per_change``/``max_per_family`` cap entries per change id / change family (0: no cap);
    ``max_mechanical_share`` caps mechanical entries to that share of the set (1.0: no cap; see
    :func:`cap_mechanical`). ``complete_targets`` drops entries whose ``new_code`` the detector
    still flags for the target version (another change of the library left). ``teacher`` adds
    entries for display-only changes whose targets an endpoint wrote (:func:`_teach_source`);
    ``exec_check`` says how their snippets are run where they can run (None: the defaults, on).
    ``extra_changes``: knowledge-base overlays loaded with the shipped data (the update loop's
    scraped entries). Nothing is written. Raises :class:`BuildError` when the split leaks.
    """
    started = time.perf_counter()
    files = corpus_files(corpus)
    settings = BuildSettings(
        max_lines=max_lines,
        unsafe=unsafe,
        tool=tool_version(),
        complete_targets=complete_targets,
        teacher=teacher,
        extra_changes=tuple(str(path) for path in extra_changes),
        exec_check=exec_check,
    )
    stats: Counter[str] = Counter()
    entries: list[dict[str, Any]] = []
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1:
        _worker_init(settings)
        results: Iterable[tuple[list[dict[str, Any]], Counter[str]]] = map(mine_file, files)
        _consume(results, entries, stats, len(files), progress)
    else:
        with ProcessPoolExecutor(jobs, initializer=_worker_init, initargs=(settings,)) as pool:
            results = pool.map(mine_file, files, chunksize=8)
            _consume(results, entries, stats, len(files), progress)
    stats["candidates"] = len(entries)
    entries = deduplicate(entries)
    stats["after dedup"] = len(entries)
    entries = cap_per_change(entries, max_per_change, seed)
    entries = cap_per_family(entries, max_per_family, seed)
    stats["after caps per change and family"] = len(entries)
    entries = cap_mechanical(entries, max_mechanical_share, seed)
    stats["after mechanical cap"] = len(entries)
    assignment = assign_splits(entries, seed)
    splits: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLITS}
    for entry in entries:
        splits[assignment[entry["change_id"]]].append(entry)
    shared_snippets, shared_families = leaks(splits)
    if shared_snippets or shared_families:  # the grouping guarantees none: a bug if it happens
        raise BuildError(f"split leaks: {shared_snippets} snippets, families {shared_families} in two splits")
    sources = sorted({item.source for item in files})
    return BuildResult(splits, assignment, stats, len(files), sources, time.perf_counter() - started)


def _consume(
    results: Iterable[tuple[list[dict[str, Any]], Counter[str]]],
    entries: list[dict[str, Any]],
    stats: Counter[str],
    total: int,
    progress: bool,
) -> None:
    for done, (found, file_stats) in enumerate(results, start=1):
        entries.extend(found)
        stats.update(file_stats)
        if progress and (done % 500 == 0 or done == total):
            print(f"  {done}/{total} files, {len(entries)} candidate entries", file=sys.stderr, flush=True)


def write_result(result: BuildResult, out: Path, seed: int) -> dict[str, Any]:
    """Write ``train/validation/test.jsonl`` and ``manifest.json`` into ``out``; return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    for name, entries in result.splits.items():
        records = [_to_record(entry) for entry in entries]
        write_recode_jsonl(records, out / f"{name}.jsonl")
    manifest = {
        "tool": tool_version(),
        "seed": seed,
        "sources": result.sources,
        "files": result.files,
        "total": result.total,
        "splits": {name: len(entries) for name, entries in result.splits.items()},
        "libraries": library_table(result),
        "changes": {
            change_id: {"split": split, "entries": _count_change(result, change_id)}
            for change_id, split in sorted(result.assignment.items())
        },
        "dropped": {k: v for k, v in sorted(result.stats.items()) if k not in ("entries",)},
        "seconds": round(result.seconds, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _count_change(result: BuildResult, change_id: str) -> int:
    return sum(1 for entries in result.splits.values() for e in entries if e["change_id"] == change_id)


def _to_record(entry: dict[str, Any]) -> ReCodeRecord:
    fields = ("dependency", "new_version", "description", "update_info", "old_code", "new_code")
    return ReCodeRecord(
        **{name: entry[name] for name in fields},
        extra={
            "change_id": entry["change_id"],
            "change_family": entry_key(entry, "family"),
            "target_origin": entry.get("target_origin", "rule"),
            "provenance": entry["provenance"],
        },
    )


def library_table(result: BuildResult) -> dict[str, dict[str, int]]:
    """Library -> split -> entries (plus ``total`` and ``changes``)."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: {**dict.fromkeys(SPLITS, 0), "total": 0})
    changes: dict[str, set[str]] = defaultdict(set)
    for name, entries in result.splits.items():
        for entry in entries:
            row = table[entry["dependency"]]
            row[name] += 1
            row["total"] += 1
            changes[entry["dependency"]].add(entry["change_id"])
    for library, row in table.items():
        row["changes"] = len(changes[library])
    return dict(sorted(table.items()))


def report(result: BuildResult) -> str:
    """Per-library and per-split counts as text."""
    lines = [f"{'library':<12} {'changes':>7} {'entries':>7} {'train':>6} {'valid':>6} {'test':>6}"]
    for library, row in library_table(result).items():
        lines.append(
            f"{library:<12} {row['changes']:>7} {row['total']:>7} "
            f"{row['train']:>6} {row['validation']:>6} {row['test']:>6}"
        )
    split_changes = Counter(result.assignment.values())
    lines.append(
        "splits: " + ", ".join(f"{n} {len(result.splits[n])} entries / {split_changes[n]} changes" for n in SPLITS)
    )
    lines.append(
        f"total {result.total} entries from {result.files} files of {len(result.sources)} sources "
        f"in {result.seconds:.0f} s (candidates {result.stats['candidates']}, "
        f"after dedup {result.stats['after dedup']}, after caps {result.stats['after caps per change and family']}, "
        f"after the mechanical cap {result.stats['after mechanical cap']})"
    )
    lines.append("leak check: 0 snippets and 0 change families in two splits")
    counts = ("entries", "candidates", "after dedup", "after caps per change and family", "after mechanical cap")
    dropped = {k: v for k, v in result.stats.items() if k not in counts}
    if dropped:
        lines.append("dropped uses: " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items(), key=lambda i: -i[1])))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m model_training.data.build``; exit 1 when fewer than ``--min-entries``."""
    parser = argparse.ArgumentParser(prog="python -m model_training.data.build", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path("bench/.corpus"), help="folder of <name>-<version>/ sources"
    )
    parser.add_argument("--out", type=Path, default=Path("data/built"), help="output folder")
    parser.add_argument("--fetch", action="store_true", help="download the default old releases first (pip)")
    parser.add_argument("--min-entries", type=int, default=2000, help="exit 1 when fewer entries are built")
    parser.add_argument("--max-lines", type=int, default=80, help="skip functions longer than this")
    parser.add_argument("--max-per-change", type=int, default=0, help="cap entries per change id (0: no cap)")
    parser.add_argument("--max-per-family", type=int, default=0, help="cap entries per change family (0: no cap)")
    parser.add_argument(
        "--max-mechanical-share",
        type=float,
        default=DEFAULT_MECHANICAL_SHARE,
        help="keep mechanical entries (ones the rule engine fixes) to at most this share of the set (1: no cap)",
    )
    parser.add_argument(
        "--allow-incomplete", action="store_true", help="keep entries whose new_code is still flagged for the target"
    )
    parser.add_argument(
        "--teacher-endpoint",
        help="OpenAI-compatible endpoint that writes targets for display-only changes (key: $RECODE_TEACHER_API_KEY)",
    )
    parser.add_argument("--teacher-model", default="teacher", help="model name sent to the teacher endpoint")
    parser.add_argument("--teacher-timeout", type=float, default=120.0, help="seconds per teacher answer")
    parser.add_argument(
        "--no-exec-check", action="store_true", help="do not run teacher answers (origin stays teacher)"
    )
    parser.add_argument(
        "--exec-env-root", help="where the old/new release environments live (default: the eval cache)"
    )
    parser.add_argument(
        "--exec-approximate-python",
        action="store_true",
        help="let this interpreter stand in for other Python 3 versions (standard-library changes)",
    )
    parser.add_argument("--safe-only", action="store_true", help="only fixes the knowledge base marks safe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU count)")
    args = parser.parse_args(argv)
    try:
        if args.fetch:
            fetch_corpora(args.corpus)
        result = build(
            args.corpus,
            jobs=args.jobs,
            max_lines=args.max_lines,
            unsafe=not args.safe_only,
            seed=args.seed,
            max_per_change=args.max_per_change,
            max_per_family=args.max_per_family,
            max_mechanical_share=args.max_mechanical_share,
            complete_targets=not args.allow_incomplete,
            teacher=TeacherSettings(
                args.teacher_endpoint,
                args.teacher_model,
                timeout=args.teacher_timeout,
                api_key=os.environ.get("RECODE_TEACHER_API_KEY") or None,
            )
            if args.teacher_endpoint
            else None,
            exec_check=ExecCheckSettings(
                enabled=not args.no_exec_check,
                env_root=args.exec_env_root,
                approximate_python=args.exec_approximate_python,
            ),
            progress=True,
        )
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_result(result, args.out, args.seed)
    print(report(result))
    print(f"wrote {', '.join(str(args.out / f'{n}.jsonl') for n in SPLITS)} and manifest.json")
    capped = result.stats["after caps per change and family"] - result.stats["after mechanical cap"]
    if capped:
        print(
            f"{capped} mechanical entries dropped to keep them at most {args.max_mechanical_share:.0%} of the set "
            "(add teacher targets with --teacher-endpoint, or raise --max-mechanical-share)",
            file=sys.stderr,
        )
    if result.total < args.min_entries:
        print(
            f"only {result.total} entries, fewer than --min-entries {args.min_entries}: "
            "add old-release corpora (--fetch, or folders under --corpus)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
