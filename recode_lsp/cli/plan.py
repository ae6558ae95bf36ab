"""``recode-migrate --plan``: what upgrading each library would take, and in which order.

For each library the project pins or imports (and that the knowledge base knows), the plan shows
the version the project is on now (the target a check uses: ``--target``, ``[tool.recode]``, the
pins, then the installed version), the installed and pinned versions, the newest release
(:mod:`recode_lsp.cli.plan_sources`), and for each candidate target version the findings a check
for that version raises. The candidates are the versions the knowledge base names for the library
(every ``deprecated_in`` / ``removed_in`` / ``restored_in`` above the current version) and the
newest release. Detection runs once per round of candidates: round ``k`` checks every library at
its ``k``-th candidate together (a finding counts only for its own library's target), through the
same pool and result cache as a check.

Nothing of the project runs: files are read, versions come from requirement files and metadata.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from recode_lsp import __version__
from recode_lsp.cli.plan_sources import NewestRelease
from recode_lsp.engine.changes import FixSafety, Severity
from recode_lsp.engine.versions import PYTHON, TargetSource, Version

if TYPE_CHECKING:
    from recode_lsp.cli.config import ProjectConfig
    from recode_lsp.cli.runner import FileResult
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.versions import Targets
    from recode_lsp.toonew.raise_pins import NeededName, PinRaise

#: The rule the upgrade order follows, as the output states it.
ORDER_RULE = (
    "a library comes after the libraries it requires (from the installed packages' metadata); "
    "otherwise libraries whose upgrade needs only safe fixes come first, then those with fewer errors, "
    "then fewer findings, then by name"
)
#: What the kinds of a candidate target mean.
KB_VERSION = "knowledge base"
NEWEST = "newest release"


@dataclass
class TargetRow:
    """The findings a check for one target version of one library raises."""

    version: Version
    #: The version the project is on now (the first row), not a candidate.
    current: bool = False
    #: Why this version is a candidate: "knowledge base" (an API changes there), "newest release".
    kinds: list[str] = field(default_factory=list)
    #: Whether the version is out (False: newer than the newest release); None when unknown.
    released: bool | None = None
    errors: int = 0
    warnings: int = 0
    safe: int = 0
    unsafe: int = 0
    display: int = 0
    files: int = 0

    @property
    def findings(self) -> int:
        return self.errors + self.warnings

    @property
    def safe_only(self) -> bool:
        """Every finding has a safe fix: ``--apply`` alone makes the code ready for this version."""
        return self.unsafe == 0 and self.display == 0


@dataclass
class LibraryPlan:
    library: str
    display_name: str
    #: Pinned version and the file that pins it (requirements*.txt, pyproject.toml).
    pinned: tuple[Version, str] | None
    installed: Version | None
    #: The version a check targets now, and where it comes from.
    current: TargetSource | None
    imported: bool
    newest: NewestRelease
    #: Other libraries of the plan this one requires.
    requires: list[str]
    rows: list[TargetRow] = field(default_factory=list)

    @property
    def candidates(self) -> list[TargetRow]:
        return [row for row in self.rows if not row.current]

    @property
    def goal(self) -> TargetRow | None:
        """The row to upgrade to: the newest release, else the newest version the knowledge base names."""
        candidates = self.candidates
        newest = [row for row in candidates if NEWEST in row.kinds]
        if newest:
            return newest[0]
        released = [row for row in candidates if row.released is not False]
        return released[-1] if released else None

    @property
    def safe_upgrade(self) -> TargetRow | None:
        """The newest released candidate that needs only safe fixes."""
        rows = [row for row in self.candidates if row.safe_only and row.released is not False]
        return rows[-1] if rows else None


@dataclass
class Plan:
    root: Path
    paths: list[str]
    files: int
    libraries: list[LibraryPlan]
    #: (library, why it is at its place), in the order to upgrade in.
    order: list[tuple[str, str]]
    #: With ``--too-new``: the pins that would have to rise for the code's too-new names (None: not asked).
    too_new: list[PinRaise] | None = None


def candidate_versions(kb: KnowledgeBase, library: str, current: Version | None) -> list[Version]:
    """Versions the knowledge base names for ``library`` above ``current`` (all of them when None)."""
    versions: set[Version] = set()
    for change in kb.changes:
        if change.library != library:
            continue
        for version in (change.deprecated_in, change.removed_in, change.restored_in):
            if version is not None and (current is None or version > current):
                versions.add(version)
    return sorted(versions)


def _rows_for(kb: KnowledgeBase, library: str, current: Version | None, newest: NewestRelease) -> list[TargetRow]:
    known = newest.source != "knowledge base" and newest.version is not None
    rows = [TargetRow(current, current=True)] if current is not None else []
    by_version: dict[Version, TargetRow] = {}
    for version in candidate_versions(kb, library, current):
        by_version[version] = TargetRow(version, kinds=[KB_VERSION])
    if known and newest.version is not None and (current is None or newest.version > current):
        by_version.setdefault(newest.version, TargetRow(newest.version)).kinds.append(NEWEST)
    rows += [by_version[version] for version in sorted(by_version)]
    if known and newest.version is not None:
        for row in rows:
            row.released = row.version <= newest.version
    return rows


def _count(rows: dict[str, TargetRow], results: Sequence[FileResult]) -> None:
    """Add each result's findings to the row of its library."""
    files: dict[str, set[str]] = {}
    for result in results:
        for record in result.records:
            row = rows.get(record.library)
            if row is None:
                continue
            if record.severity == Severity.ERROR.value:
                row.errors += 1
            else:
                row.warnings += 1
            if record.safety == FixSafety.SAFE.value:
                row.safe += 1
            elif record.safety == FixSafety.UNSAFE.value:
                row.unsafe += 1
            else:
                row.display += 1
            files.setdefault(record.library, set()).add(result.path)
    for library, paths in files.items():
        rows[library].files = len(paths)


def _order_key(plan: LibraryPlan) -> tuple[bool, int, int, str]:
    goal = plan.goal
    assert goal is not None
    return (not goal.safe_only, goal.errors, goal.findings, plan.library)


def upgrade_order(libraries: Sequence[LibraryPlan]) -> list[tuple[str, str]]:
    """The libraries with something to upgrade, in the order of :data:`ORDER_RULE`, each with why."""
    pending = {plan.library: plan for plan in libraries if plan.goal is not None}
    done: list[tuple[str, str]] = []
    placed: set[str] = set()
    while pending:
        ready = [plan for plan in pending.values() if not (set(plan.requires) & pending.keys())]
        # A cycle of requirements: take the best of them all.
        choice = min(ready or pending.values(), key=_order_key)
        goal = choice.goal
        assert goal is not None
        reasons = []
        needed_by = sorted(
            other.library for other in pending.values() if choice.library in other.requires and other is not choice
        )
        if needed_by:
            reasons.append(f"required by {', '.join(needed_by)}")
        after = sorted(set(choice.requires) & placed)
        if after:
            reasons.append(f"after {', '.join(after)}, which it requires")
        reasons.append(_fix_summary(goal))
        done.append((choice.library, "; ".join(reasons)))
        placed.add(choice.library)
        del pending[choice.library]
    return done


def _fix_summary(row: TargetRow) -> str:
    if row.findings == 0:
        return "no findings"
    counts = (
        f"{row.errors} error{'s' if row.errors != 1 else ''}, {row.warnings} warning{'s' if row.warnings != 1 else ''}"
    )
    if row.safe_only:
        return f"{counts}, safe fixes only"
    needs = []
    if row.unsafe:
        needs.append(f"{row.unsafe} unsafe fix{'es' if row.unsafe != 1 else ''}")
    if row.display:
        needs.append(f"{row.display} by hand (display-only)")
    return f"{counts}; needs {' and '.join(needs)}"


def apply_command(library: str, row: TargetRow, paths: Sequence[str]) -> str:
    """The command that makes the code ready for ``row`` (what to run next)."""
    where = " ".join(paths)
    if row.safe_only:
        return f"recode-migrate --apply --select {library} --target {library}=={row.version} {where}".rstrip()
    return (
        f"recode-migrate --diff --unsafe-fixes --select {library} --target {library}=={row.version} {where}".rstrip()
    )


# --- the run ---------------------------------------------------------------------------------------


def run_plan(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    """``recode-migrate --plan``: build the plan, print it (text or JSON), write ``--plan-report``."""
    from recode_lsp.cli.config import ConfigError, find_project_root, load_config
    from recode_lsp.cli.files import discover
    from recode_lsp.cli.main import EXIT_CLEAN, EXIT_ERROR, _interpreter, _split, _unknown_names
    from recode_lsp.cli.plan_sources import imported_modules, newest_releases, requirements_of
    from recode_lsp.cli.runner import ResultCache, RunSettings, run_files
    from recode_lsp.engine.facts import display_name, library_facts, library_of_module
    from recode_lsp.engine.knowledge import KnowledgeBaseError, load_knowledge_base
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.engine.versions import (
        installed_versions,
        normalise_name,
        parse_target,
        pins_from_project,
        resolve_targets,
    )

    paths: list[Path] = args.paths or [Path(".")]
    cli_targets: dict[str, Version] = {}
    for text in args.target:
        try:
            library, version = parse_target(text)
        except ValueError as exc:
            parser.error(str(exc))
        cli_targets[library] = version
    root = find_project_root(paths[0])
    try:
        config = load_config(root)
        kb = load_knowledge_base(config.extra_changes)
    except (ConfigError, KnowledgeBaseError) as exc:
        sys.stderr.write(f"recode-migrate: {exc}\n")
        return EXIT_ERROR
    unknown = _unknown_names(args, config, dict(cli_targets), kb)
    if unknown:
        sys.stderr.writelines(f"recode-migrate: {problem}\n" for problem in unknown)
        return EXIT_ERROR
    select = _split(args.select) or config.select
    ignore = _split(args.ignore) + config.ignore
    probe = DetectOptions(select=select, ignore=ignore, libraries=config.libraries)
    wanted = sorted({c.library for c in kb.changes if probe.severity(c) is not None})
    exclude = (_split(args.exclude) if args.exclude is not None else config.exclude) + _split(args.extend_exclude)
    # Notebooks as a check run finds them: --no-notebooks and [tool.recode] notebooks = false hold.
    notebooks = config.notebooks if args.notebooks is None else args.notebooks
    try:
        files = discover(paths, exclude, notebooks=notebooks)
    except FileNotFoundError as exc:
        sys.stderr.write(f"recode-migrate: {exc}\n")
        return EXIT_ERROR

    pins = pins_from_project(root)
    imported: set[str] = set()
    for module in imported_modules(files):
        facts = library_of_module(module)
        if facts is not None:
            imported.add(facts.library)
    named = set(pins) | set(config.targets) | set(cli_targets)
    python, run_python = _interpreter(args, config)
    try:
        targets = resolve_targets(
            wanted,
            cli_targets=cli_targets,
            config_targets=config.targets,
            project_root=root,
            python=python,
            run_python=run_python,
        )
        installed = installed_versions(wanted, python, run_python=run_python)
    except RuntimeError as exc:
        sys.stderr.write(f"recode-migrate: {exc}\n")
        return EXIT_ERROR
    # Python counts when the project names a version for it; every project "imports" it.
    libraries = [name for name in wanted if name in named or (name in imported and name != PYTHON)]

    distributions: dict[str, str | None] = {}
    fallback: dict[str, Version | None] = {}
    for library in libraries:
        facts = library_facts(library)
        distributions[library] = None if library == PYTHON else (facts.distribution if facts else library)
        known = candidate_versions(kb, library, None)
        fallback[library] = known[-1] if known else None
    newest = newest_releases(distributions, fallback)
    requirements = requirements_of([d for d in distributions.values() if d], python)

    plans: list[LibraryPlan] = []
    for library in libraries:
        distribution = distributions[library]
        needs = requirements.get(normalise_name(distribution), set()) if distribution else set()
        current = targets.by_library.get(library)
        plans.append(
            LibraryPlan(
                library=library,
                display_name=display_name(library),
                pinned=pins.get(library),
                installed=installed.get(library),
                current=current,
                imported=library in imported,
                newest=newest[library],
                requires=sorted(other for other in libraries if other != library and other in needs),
                rows=_rows_for(kb, library, current.version if current else None, newest[library]),
            )
        )

    # One detection run per round: round k checks every library at its k-th row.
    unsafe = config.unsafe_fixes if args.unsafe_fixes is None else args.unsafe_fixes
    jobs = args.jobs or os.cpu_count() or 1
    rounds = max((len(plan.rows) for plan in plans), default=0)
    for index in range(rounds):
        rows = {plan.library: plan.rows[index] for plan in plans if index < len(plan.rows)}
        options = DetectOptions(
            targets={library: row.version for library, row in rows.items()},
            select=select,
            ignore=ignore,
            libraries=sorted(rows),
        )
        cache = None if args.no_cache else ResultCache(root, kb, options)
        results = run_files(files, kb, RunSettings("check", unsafe, options), jobs, cache)
        _count(rows, results)

    shown_paths = [str(path) for path in args.paths]
    plan = Plan(root, shown_paths, len(files), plans, upgrade_order(plans))
    if getattr(args, "too_new", False):
        plan.too_new = _pins_to_raise(files, kb, pins, config, cli_targets, targets)
    if args.format == "json":
        out.write(json.dumps(plan_json(plan), indent=2) + "\n")
    else:
        write_plan_text(out, plan)
    if args.plan_report is not None:
        from recode_lsp.cli.plan_report import write_report

        try:
            write_report(args.plan_report, plan)
        except OSError as exc:
            sys.stderr.write(f"recode-migrate: cannot write {args.plan_report}: {exc.strerror or exc}\n")
            return EXIT_ERROR
        sys.stderr.write(f"recode-migrate: wrote the upgrade plan to {args.plan_report}\n")
    return EXIT_CLEAN


def _pins_to_raise(
    files: Sequence[str],
    kb: KnowledgeBase,
    pins: dict[str, tuple[Version, str]],
    config: ProjectConfig,
    cli_targets: dict[str, Version],
    targets: Targets,
) -> list[PinRaise]:
    """``--plan --too-new``: the too-new check against the versions the project is on (any library it
    pins or targets, and Python), each use dated (:mod:`recode_lsp.toonew.raise_pins`)."""
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.engine.versions import normalise_name
    from recode_lsp.toonew.raise_pins import raise_pins
    from recode_lsp.toonew.run import RELEASES_ENV, prepare

    origins: dict[str, tuple[Version, str]] = {}
    for name, (version, file) in pins.items():
        origins[normalise_name(name)] = (version, file)
    for name, version in config.targets.items():
        origins[normalise_name(name)] = (version, "[tool.recode]")
    for name, version in cli_targets.items():
        origins[normalise_name(name)] = (version, "--target")
    for name, source in targets.by_library.items():
        origins[normalise_name(name)] = (source.version, source.origin)
    versions = {name: version for name, (version, _) in origins.items()}
    dist_dir = Path(os.environ[RELEASES_ENV]) if os.environ.get(RELEASES_ENV) else None
    check = prepare(versions, kb, paths=files, warn=sys.stderr, dist_dir=dist_dir)
    options = DetectOptions(targets=dict(versions))
    return raise_pins(files, origins, check, options, dist_dir=dist_dir, warn=sys.stderr)


def too_new_json(raises: Sequence[PinRaise]) -> list[dict[str, object]]:
    """The ``too_new`` part of the plan's JSON."""
    from recode_lsp.engine.facts import display_name

    return [
        {
            "library": item.library,
            "display_name": display_name(item.library),
            "current": {"version": str(item.current), "source": item.origin},
            "release": item.release,
            "minimum": str(item.minimum) if item.minimum is not None else None,
            "undated": len(item.undated),
            "names": [
                {
                    "name": name.name,
                    "keyword": name.keyword,
                    "code": name.code,
                    "introduced": str(name.introduced) if name.introduced is not None else None,
                    "source": name.source,
                    "uses": name.uses,
                    "files": len(name.files),
                }
                for name in item.names
            ],
        }
        for item in raises
    ]


def describe_raise(item: PinRaise) -> str:
    """``python: on 3.10 (requires-python), needs 3.12 or newer`` (one line per library)."""
    line = f"{item.library}: on {item.current} ({item.origin})"
    minimum = item.minimum
    if minimum is not None:
        line += f", needs {minimum} or newer"
    undated = item.undated
    if undated:
        line += f"; {len(undated)} name{'s' if len(undated) != 1 else ''} in no release read"
    return line


def describe_name(name: NeededName) -> str:
    """One too-new use of a :class:`~recode_lsp.toonew.raise_pins.PinRaise`, for text and reports."""
    files = len(name.files)
    where = f"{name.uses} use{'s' if name.uses != 1 else ''} in {files} file{'s' if files != 1 else ''}"
    if name.introduced is None:
        return f"{name.label}: not in any release read ({name.code}); {where}"
    return f"{name.label}: added in {name.introduced} ({name.source}); {where}"


def write_too_new_text(out: TextIO, raises: Sequence[PinRaise]) -> None:
    out.write("\nPins that would have to rise for the code's too-new names (--too-new):\n")
    if not raises:
        out.write("  none: every name and keyword the code uses exists in the versions it is on\n")
        return
    for item in raises:
        out.write(f"  {describe_raise(item)}\n")
        out.writelines(f"      {describe_name(name)}\n" for name in item.names)


# --- output ----------------------------------------------------------------------------------------


def _row_json(library: str, row: TargetRow, paths: Sequence[str]) -> dict[str, object]:
    return {
        "version": str(row.version),
        "current": row.current,
        "kinds": list(row.kinds),
        "released": row.released,
        "findings": row.findings,
        "errors": row.errors,
        "warnings": row.warnings,
        "safe": row.safe,
        "unsafe": row.unsafe,
        "display": row.display,
        "files": row.files,
        "safe_only": row.safe_only,
        "command": apply_command(library, row, paths),
    }


def plan_json(plan: Plan) -> dict[str, object]:
    """The plan as plain values (``recode_lsp/cli/schemas/plan.schema.json``)."""
    libraries = []
    for item in plan.libraries:
        goal, safe = item.goal, item.safe_upgrade
        libraries.append(
            {
                "library": item.library,
                "display_name": item.display_name,
                "pinned": {"version": str(item.pinned[0]), "file": item.pinned[1]} if item.pinned else None,
                "installed": str(item.installed) if item.installed else None,
                "current": {"version": str(item.current.version), "source": item.current.origin}
                if item.current
                else None,
                "imported": item.imported,
                "newest": {
                    "version": str(item.newest.version) if item.newest.version else None,
                    "source": item.newest.source,
                    "reason": item.newest.reason,
                },
                "requires": item.requires,
                "goal": str(goal.version) if goal else None,
                "safe_upgrade_to": str(safe.version) if safe else None,
                "targets": [_row_json(item.library, row, plan.paths) for row in item.rows],
            }
        )
    return {
        "tool": {"name": "recode-migrate", "version": __version__},
        "root": str(plan.root),
        "files": plan.files,
        "libraries": libraries,
        "order": [
            {"library": library, "target": str(_goal_version(plan, library)), "reason": reason}
            for library, reason in plan.order
        ],
        "order_rule": ORDER_RULE,
        "too_new": too_new_json(plan.too_new) if plan.too_new is not None else None,
    }


def _goal_version(plan: Plan, library: str) -> Version | None:
    item = next(item for item in plan.libraries if item.library == library)
    return item.goal.version if item.goal else None


def describe_versions(item: LibraryPlan) -> str:
    parts = []
    if item.current is not None:
        parts.append(f"on {item.current.version} ({item.current.origin})")
    else:
        parts.append("no version pinned or installed")
    if item.pinned is not None and (item.current is None or item.current.origin != item.pinned[1]):
        parts.append(f"pinned {item.pinned[0]} ({item.pinned[1]})")
    if item.installed is not None:
        parts.append(f"installed {item.installed}")
    newest = item.newest
    if newest.source == "knowledge base":
        parts.append(f"newest the knowledge base knows {newest.version or 'unknown'}")
    else:
        parts.append(f"newest {newest.version or 'unknown'} ({newest.describe()})")
    return ", ".join(parts)


def write_plan_text(out: TextIO, plan: Plan) -> None:
    """The plan for a terminal."""
    out.write(f"Upgrade plan for {plan.root} ({plan.files} Python file{'s' if plan.files != 1 else ''})\n")
    if not plan.libraries:
        out.write("\nNo library the knowledge base knows is pinned or imported here.\n")
        if plan.too_new is not None:
            write_too_new_text(out, plan.too_new)
        return
    header = f"    {'target':<14}{'findings':>9}{'errors':>8}{'warnings':>10}{'safe':>6}{'unsafe':>8}{'display':>9}"
    for item in plan.libraries:
        out.write(f"\n{item.display_name} ({item.library}): {describe_versions(item)}\n")
        if item.requires:
            out.write(f"    requires {', '.join(item.requires)}\n")
        out.write(header + "\n")
        for row in item.rows:
            label = str(row.version) + (" (now)" if row.current else "")
            notes = []
            if NEWEST in row.kinds:
                notes.append("newest release")
            if row.released is False:
                notes.append("not released yet")
            if not row.current:
                notes.append("safe fixes only" if row.safe_only else "needs unsafe or manual fixes")
            out.write(
                f"    {label:<14}{row.findings:>9}{row.errors:>8}{row.warnings:>10}{row.safe:>6}{row.unsafe:>8}"
                f"{row.display:>9}  {'; '.join(notes)}\n".rstrip()
                + "\n"
            )
        goal, safe = item.goal, item.safe_upgrade
        if goal is None:
            out.write("    up to date: no newer version the knowledge base or the index knows of\n")
            continue
        if safe is not None:
            command = apply_command(item.library, safe, plan.paths)
            out.write(f"    can be raised to {safe.version} with safe fixes only: {command}\n")
        else:
            out.write("    no newer version can be reached with safe fixes only\n")
        if safe is None or safe.version != goal.version:
            out.write(f"    to reach {goal.version}: {apply_command(item.library, goal, plan.paths)}\n")
    if plan.order:
        out.write(f"\nOrder to upgrade in (rule: {ORDER_RULE}):\n")
        out.writelines(
            f"  {number}. {library} -> {_goal_version(plan, library)}: {reason}\n"
            for number, (library, reason) in enumerate(plan.order, 1)
        )
    fallbacks = [item for item in plan.libraries if item.newest.source == "knowledge base" and item.library != PYTHON]
    if fallbacks:
        reasons = sorted({item.newest.reason or "no answer" for item in fallbacks})
        reason = reasons[0] + (f"; {len(reasons) - 1} more" if len(reasons) > 1 else "")
        out.write(
            f"\nOffline: the package index did not answer for {', '.join(item.library for item in fallbacks)} "
            f"(pip: {reason}), so their newest version is the newest the knowledge base names. "
            "pip's own configuration decides which index is asked.\n"
        )
    if plan.too_new is not None:
        write_too_new_text(out, plan.too_new)
