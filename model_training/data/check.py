"""``recode-train data check``: what a ReCode-format training set teaches, and where it leaks.

Reads one or more JSONL files in the ReCode format (a folder stands for its ``train``,
``validation`` and ``test`` files; each file is one split, named after it) and reports:

* **mix**: entries per library, per change kind (from the knowledge base, through the entry's
  ``change_id``; ``unknown`` without one, e.g. the published ReCode set), per library *and* kind
  (with the mechanical entries of each library), per target origin (the entry's
  ``target_origin``: ``rule``, ``teacher`` or ``execution-checked``; ``rule`` for entries the
  builder made with a rule fix; ``unknown`` otherwise), and the share of *mechanical* entries (a
  change the rule engine fixes on its own);
* **leaks** across splits: normalised ``old_code`` snippets in two splits, and change families in
  two splits (a family is the library plus where the old API lived and where the new one lives,
  e.g. ``python:typing->collections.abc``; keyword changes add the callee);
* **incomplete targets**: ``new_code`` in which the project's detector still finds a change of
  the entry's library for the entry's target version (a half migration the reward would teach);
* **duplicates**: entries whose normalised old *and* new code repeat an earlier entry;
* **copy ES\\***: the ES* score of answering the old code unchanged (mean and standard error): how
  much the plain reward pays for doing nothing.

``--json`` prints the report as JSON; ``--strict`` exits 1 when anything leaks, a target is
incomplete or an entry is duplicated.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_training.data.recode_data import ReCodeRecord, load_recode_jsonl
from model_training.rewards import es_star, normalise_code
from recode_lsp.prompt import clean_version

if TYPE_CHECKING:
    from recode_lsp.engine.changes import ApiChange
    from recode_lsp.engine.knowledge import KnowledgeBase

SPLIT_FILES = ("train", "validation", "test")


@dataclass
class CheckReport:
    """The numbers :func:`check` finds (see the module docstring)."""

    splits: dict[str, int]
    libraries: dict[str, dict[str, int]]
    kinds: dict[str, int]
    origins: dict[str, int]
    mechanical: int
    total: int
    shared_snippets: int
    shared_families: list[str]
    incomplete: int
    duplicates: int
    copy_es_mean: float
    copy_es_stderr: float
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: Library -> change kind -> entries, plus ``mechanical`` (that library's mechanical entries).
    library_kinds: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def mechanical_share(self) -> float:
        return self.mechanical / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return not (self.shared_snippets or self.shared_families or self.incomplete or self.duplicates)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "splits": self.splits,
            "libraries": self.libraries,
            "kinds": self.kinds,
            "library_kinds": self.library_kinds,
            "target_origins": self.origins,
            "mechanical": self.mechanical,
            "mechanical_share": round(self.mechanical_share, 4),
            "snippets_in_two_splits": self.shared_snippets,
            "families_in_two_splits": self.shared_families,
            "incomplete_targets": self.incomplete,
            "duplicates": self.duplicates,
            "copy_es_star": {"mean": round(self.copy_es_mean, 4), "stderr": round(self.copy_es_stderr, 4)},
            "examples": self.examples,
        }


def load_splits(paths: Sequence[str | Path]) -> dict[str, list[ReCodeRecord]]:
    """Split name -> records; a folder gives its ``train``/``validation``/``test`` files."""
    splits: dict[str, list[ReCodeRecord]] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and any((path / f"{name}.jsonl").is_file() for name in SPLIT_FILES):
            for name in SPLIT_FILES:
                if (path / f"{name}.jsonl").is_file():
                    splits.setdefault(name, []).extend(load_recode_jsonl(path / f"{name}.jsonl"))
        else:
            splits.setdefault(path.stem, []).extend(load_recode_jsonl(path))
    return splits


def _parent(name: str | None) -> str:
    if not name:
        return "?"
    name = name.split("(", 1)[0]
    return name.rsplit(".", 1)[0] if "." in name else "builtins"


def change_family(change: ApiChange) -> str:
    """``library:old parent->new parent`` (plus the callee for keyword changes).

    ``typing.Callable -> collections.abc.Callable`` and ``typing.Sequence ->
    collections.abc.Sequence`` are one family, ``python:typing->collections.abc``.

    >>> from recode_lsp.engine import load_knowledge_base
    >>> kb = load_knowledge_base()
    >>> change_family(kb.by_id["PY128"])
    'python:typing->collections.abc'
    """
    if change.old_keyword:
        return f"{change.library}:{change.old}(keyword)"
    return f"{change.library}:{_parent(change.old)}->{_parent(change.new or change.replacement)}"


def target_origin(record: ReCodeRecord) -> str:
    """``target_origin`` when recorded; ``rule`` for entries the builder made; else ``unknown``."""
    origin = record.extra.get("target_origin")
    if isinstance(origin, str) and origin:
        return origin
    provenance = record.extra.get("provenance")
    if isinstance(provenance, dict) and "fix_safety" in provenance:
        return "rule"
    return "unknown"


def remaining_changes(dependency: str, new_version: str, new_code: str, kb: KnowledgeBase) -> list[str] | None:
    """Change ids of ``dependency`` the detector still finds in ``new_code`` for ``new_version``.

    The builder drops an entry when this is not empty (a half migration); None when the code
    cannot be read.
    """
    from recode_lsp.engine import DetectOptions, SourceError, detect
    from recode_lsp.engine.versions import Version

    try:
        options = DetectOptions(targets={dependency: Version(clean_version(new_version))})
    except (ValueError, TypeError):
        options = DetectOptions()
    try:
        findings = detect(new_code, kb, options)
    except (SourceError, RecursionError, ValueError):
        return None
    return sorted({finding.code for finding in findings if finding.change.library == dependency})


def incomplete_target(record: ReCodeRecord, kb: KnowledgeBase) -> bool:
    """Whether the detector finds a change of the record's library in ``new_code`` for its version."""
    return bool(remaining_changes(record.dependency, record.new_version, record.new_code, kb))


def check(splits: dict[str, list[ReCodeRecord]], kb: KnowledgeBase | None = None) -> CheckReport:
    """The report for the records of ``splits`` (split name -> records)."""
    if kb is None:
        from recode_lsp.engine import load_knowledge_base

        kb = load_knowledge_base()
    libraries: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(splits, 0))
    kinds: Counter[str] = Counter()
    library_kinds: dict[str, Counter[str]] = defaultdict(Counter)
    origins: Counter[str] = Counter()
    snippet_splits: dict[str, set[str]] = defaultdict(set)
    family_splits: dict[str, set[str]] = defaultdict(set)
    seen_pairs: set[tuple[str, str]] = set()
    examples: dict[str, list[str]] = defaultdict(list)
    mechanical = incomplete = duplicates = total = 0
    copy_scores: list[float] = []
    for split, records in splits.items():
        for record in records:
            total += 1
            libraries[record.dependency][split] += 1
            change = kb.by_id.get(record.change_id or "")
            kind = change.kind.value if change is not None else "unknown"
            kinds[kind] += 1
            library_kinds[record.dependency][kind] += 1
            library_kinds[record.dependency]["mechanical"] += change is not None and change.has_mechanical_fix
            origins[target_origin(record)] += 1
            if change is not None:
                mechanical += change.has_mechanical_fix
                family_splits[change_family(change)].add(split)
            old, new = normalise_code(record.old_code), normalise_code(record.new_code)
            snippet_splits[old].add(split)
            if (old, new) in seen_pairs:
                duplicates += 1
            seen_pairs.add((old, new))
            if incomplete_target(record, kb):
                incomplete += 1
                if len(examples["incomplete"]) < 3:
                    examples["incomplete"].append(record.change_id or record.old_code[:60])
            copy_scores.append(es_star(record.old_code, record.new_code))
    mean = sum(copy_scores) / len(copy_scores) if copy_scores else 0.0
    variance = sum((s - mean) ** 2 for s in copy_scores) / (len(copy_scores) - 1) if len(copy_scores) > 1 else 0.0
    return CheckReport(
        splits={name: len(records) for name, records in splits.items()},
        libraries={k: dict(v) for k, v in sorted(libraries.items())},
        kinds=dict(kinds.most_common()),
        origins=dict(origins.most_common()),
        mechanical=mechanical,
        total=total,
        shared_snippets=sum(1 for names in snippet_splits.values() if len(names) > 1),
        shared_families=sorted(f for f, names in family_splits.items() if len(names) > 1),
        incomplete=incomplete,
        duplicates=duplicates,
        copy_es_mean=mean,
        copy_es_stderr=math.sqrt(variance / len(copy_scores)) if copy_scores else 0.0,
        examples=dict(examples),
        library_kinds={library: dict(counts) for library, counts in sorted(library_kinds.items())},
    )


def format_report(report: CheckReport) -> str:
    """The report as a few text tables."""
    names = list(report.splits)
    lines = [f"{'library':<20} " + " ".join(f"{n:>10}" for n in names) + f" {'total':>7}"]
    for library, row in report.libraries.items():
        lines.append(f"{library:<20} " + " ".join(f"{row[n]:>10}" for n in names) + f" {sum(row.values()):>7}")
    lines.append(f"{'all':<20} " + " ".join(f"{report.splits[n]:>10}" for n in names) + f" {report.total:>7}")
    lines.append("kinds: " + ", ".join(f"{k} {v}" for k, v in report.kinds.items()))
    lines.extend(library_kind_table(report))
    lines.append("target origins: " + ", ".join(f"{k} {v}" for k, v in report.origins.items()))
    lines.append(f"mechanical entries: {report.mechanical} ({report.mechanical_share:.0%})")
    lines.append(f"snippets in two splits: {report.shared_snippets}")
    families = ", ".join(report.shared_families[:5]) + (" ..." if len(report.shared_families) > 5 else "")
    lines.append(
        f"change families in two splits: {len(report.shared_families)}" + (f" ({families})" if families else "")
    )
    lines.append(f"incomplete targets: {report.incomplete}")
    lines.append(f"duplicates: {report.duplicates}")
    lines.append(f"ES* of copying the old code: {report.copy_es_mean:.3f} +- {report.copy_es_stderr:.3f} (max 2.0)")
    return "\n".join(lines)


def library_kind_table(report: CheckReport) -> list[str]:
    """Entries per library (rows) and change kind (columns, most common first), and each library's mechanical ones."""
    columns = [*report.kinds, "mechanical"]
    lines = [f"{'library':<20} " + " ".join(columns)]
    for library, counts in report.library_kinds.items():
        lines.append(f"{library:<20} " + " ".join(f"{counts.get(k, 0):>{len(k)}}" for k in columns))
    return lines


def add_parser(sub: Any) -> None:
    """``recode-train data check FILE...`` on the CLI's sub-parsers."""
    data = sub.add_parser("data", help="inspect training data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    c = data_sub.add_parser("check", help="mix, leaks across splits, incomplete targets, duplicates, copy ES*")
    c.add_argument("files", nargs="+", help="ReCode-format JSONL files, or a folder with train/validation/test.jsonl")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--strict", action="store_true", help="exit 1 on leaks, incomplete targets or duplicates")


def main(args: argparse.Namespace) -> int:
    """Run ``recode-train data check``."""
    from model_training.data.recode_data import ReCodeDataError

    try:
        splits = load_splits(args.files)
    except ReCodeDataError as exc:
        print(f"recode-train: {exc}")
        return 2
    report = check(splits)
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_report(report))
    return 1 if args.strict and not report.ok else 0
