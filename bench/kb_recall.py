"""Held-out recall of the scraper and of the shipped knowledge base, on release pairs and code not used to build it.

    python bench/kb_recall.py [--libraries numpy,pandas] [--offline DIR] [--cache-dir DIR] [--no-scrape]
                              [--json FILE]

Data (``bench/data/kb_recall/``): ``changes.json`` lists, per library, a release pair and 13-15 real API changes
between its two releases (removals, renames, keyword removals and renames, deprecations), each checked in the
release sources (the evidence, file and line, is in the entry); ``old_code/<library>.py`` is a user module written
against the old release whose every old use ends with ``# old-api: <change>`` (``name`` or ``name(keyword)``).

Two numbers per library:

* **scraper recall**: ``recode-kb scrape LIB --from OLD --to NEW`` runs and the changes it finds are counted. An
  entry finds a change when its ``old`` is the change's name or one of its aliases (where the library defines it),
  or that name's ``__init__``, or a module or class the name is a member of (an entry about that whole module or
  class, not a behaviour or signature change); a keyword change also needs the entry's ``old_keyword``.
* **flag rate of the shipped knowledge base**: ``recode-migrate --check --format json --no-cache --target LIB==NEW
  --select LIB`` on the old module; a marked line is flagged when a finding starts on it. ``--diff`` (and
  ``--diff --unsafe-fixes``) count the marked lines that get a fix; ``mechanical`` is the changes whose fix is a
  drop-in name or keyword (``"mechanical": true``), the ones a rule should migrate.

The first run downloads both releases of each pair through pip into ``--cache-dir`` (default ``bench/.cache/
kb_recall``, git-ignored); later runs read that cache and need no network. ``--offline DIR`` passes ``--dist DIR``
to the scraper (a folder of ``name-version/`` trees, wheels or sdists). The flag rate never needs the network.
The last line is the one to compare:

    kb_recall: scraper_recall=X/Y (P%) flagged=A/B (Q%) fixed=C/A safe, D/A unsafe, mechanical=E/F
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "kb_recall"
DEFAULT_CACHE = ROOT / "bench" / ".cache" / "kb_recall"
#: ``# old-api: numpy.float`` or ``# old-api: pandas.read_csv(squeeze)``.
MARKER = re.compile(r"#\s*old-api:\s*(?P<name>[\w.]+)(?:\((?P<keyword>\w+)\))?\s*$")
#: Entries about a whole module or class that do not say it went away.
NOT_GONE = {"behaviour_change", "signature_change"}


@dataclass(frozen=True)
class Change:
    """One real change of ``changes.json``."""

    old: str
    keyword: str | None
    kind: str
    mechanical: bool
    aliases: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.old}({self.keyword})" if self.keyword else self.old

    def found_by(self, entry: dict[str, Any]) -> bool:
        """Whether a scraped entry describes this change."""
        names = (self.old, *self.aliases)
        old, keyword = entry.get("old"), entry.get("old_keyword")
        if not isinstance(old, str):
            return False
        if self.keyword is not None:
            return keyword == self.keyword and any(old in (name, f"{name}.__init__") for name in names)
        if keyword is not None:
            return False
        if any(old in (name, f"{name}.__init__") for name in names):
            return True
        whole = old.count(".") >= 1 and entry.get("kind") not in NOT_GONE
        return whole and any(name.startswith(old + ".") for name in names)


@dataclass
class Library:
    """One library's release pair, changes and old module."""

    name: str
    old: str
    new: str
    target: str
    changes: list[Change]

    @property
    def code(self) -> Path:
        return DATA / "old_code" / f"{self.name}.py"


@dataclass
class Result:
    """What the benchmark measured for one library."""

    library: str
    pair: str
    changes: int = 0
    found: int = 0
    scrape_missed: list[str] = field(default_factory=list)
    #: Missed change -> entries with its last name and keyword under another qualified name.
    near: dict[str, list[str]] = field(default_factory=dict)
    entries: int | None = None
    scrape_seconds: float | None = None
    scrape_error: str | None = None
    marked: int = 0
    flagged: int = 0
    kb_missed: list[str] = field(default_factory=list)
    fixed: int = 0
    fixed_unsafe: int = 0
    mechanical: int = 0
    mechanical_fixed: int = 0
    not_fixed_mechanical: list[str] = field(default_factory=list)


def load(libraries: list[str] | None) -> list[Library]:
    data = json.loads((DATA / "changes.json").read_text(encoding="utf-8"))
    out = []
    for name, pair in data["libraries"].items():
        if libraries and name not in libraries:
            continue
        changes = [
            Change(c["old"], c["keyword"], c["kind"], bool(c["mechanical"]), tuple(c.get("aliases", ())))
            for c in pair["changes"]
        ]
        target = pair.get("target") or f"{name}=={pair['to']}"
        out.append(Library(name, pair["from"], pair["to"], target, changes))
    unknown = set(libraries or ()) - {library.name for library in out}
    if unknown:
        raise SystemExit(f"kb_recall: no such library in changes.json: {', '.join(sorted(unknown))}")
    return out


def marked_lines(library: Library) -> dict[int, Change]:
    """Line number -> change for every ``# old-api:`` comment (comments only, not strings)."""
    by_label = {change.label: change for change in library.changes}
    source = library.code.read_text(encoding="utf-8")
    marks: dict[int, Change] = {}
    code_lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_lines.add(token.start[0])
        if token.type != tokenize.COMMENT:
            continue
        match = MARKER.search(token.string)
        if match is None:
            continue
        where = f"{library.code}:{token.start[0]}"
        label = f"{match['name']}({match['keyword']})" if match["keyword"] else match["name"]
        if label not in by_label:
            raise SystemExit(f"kb_recall: {where}: {label} is not a change of changes.json")
        if token.start[0] not in code_lines:
            raise SystemExit(f"kb_recall: {where}: a marker must end the line of the old use")
        marks[token.start[0]] = by_label[label]
    return marks


def scrape(library: Library, result: Result, *, cache: Path, dist: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="kb-recall-") as tmp:
        output = Path(tmp) / "entries.jsonl"
        command = [sys.executable, "-m", "recode_lsp.kb.cli", "scrape", library.name]
        command += ["--from", library.old, "--to", library.new, "--output", str(output), "--cache-dir", str(cache)]
        if dist is not None:
            command += ["--dist", str(dist)]
        started = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        result.scrape_seconds = time.perf_counter() - started
        if run.returncode != 0 or not output.exists():
            tail = run.stderr.strip().splitlines()[-1:] or [f"exit status {run.returncode}"]
            result.scrape_error = tail[0]
            result.scrape_missed = [change.label for change in library.changes]
            return
        entries = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    result.entries = len(entries)
    for change in library.changes:
        if any(change.found_by(entry) for entry in entries):
            result.found += 1
            continue
        result.scrape_missed.append(change.label)
        last = change.old.rsplit(".", 1)[-1]
        near = [
            f"{entry['old']}({entry['old_keyword']})" if entry.get("old_keyword") else str(entry["old"])
            for entry in entries
            if str(entry.get("old", "")).rsplit(".", 1)[-1] == last and entry.get("old_keyword") == change.keyword
        ]
        if near:
            result.near[change.label] = near[:3]


def _migrate(workdir: Path, path: Path, library: Library, *extra: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "recode_lsp.cli.main", *extra, "--format", "json", "--no-cache"]
    command += ["--target", library.target, "--select", library.name, "--jobs", "1", path.name]
    env = {**os.environ, "RECODE_CACHE_DIR": str(workdir / ".cache"), "GIT_CEILING_DIRECTORIES": str(workdir.parent)}
    run = subprocess.run(command, capture_output=True, text=True, check=False, cwd=workdir, env=env)
    try:
        report: dict[str, Any] = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"kb_recall: {' '.join(command)} failed ({run.returncode}): {run.stderr.strip()}") from None
    if report.get("errors"):
        raise SystemExit(f"kb_recall: recode-migrate reported errors on {library.code}: {report['errors']}")
    return report


def _lines(findings: list[dict[str, Any]]) -> set[int]:
    return {finding["location"]["line"] for finding in findings}


def flag(library: Library, result: Result) -> None:
    """Check, diff and unsafe diff of the old module, in a scratch project of its own."""
    marks = marked_lines(library)
    result.marked = len(marks)
    with tempfile.TemporaryDirectory(prefix="kb-recall-") as tmp:
        workdir = Path(tmp) / "project"
        workdir.mkdir()
        # A neutral name: a module called numpy.py would shadow the library it uses.
        path = workdir / f"old_{library.name.replace('-', '_')}.py"
        shutil.copyfile(library.code, path)
        (workdir / "pyproject.toml").write_text('[project]\nname = "kb-recall-old-code"\nversion = "0"\n')
        flagged = _lines(_migrate(workdir, path, library, "--check")["findings"])
        fixed = _lines(_migrate(workdir, path, library, "--diff").get("fixed", []))
        fixed_unsafe = _lines(_migrate(workdir, path, library, "--diff", "--unsafe-fixes").get("fixed", []))
    for line, change in sorted(marks.items()):
        if line in flagged:
            result.flagged += 1
            result.fixed += line in fixed
            result.fixed_unsafe += line in fixed_unsafe
        else:
            result.kb_missed.append(change.label)
        if change.mechanical:
            result.mechanical += 1
            if line in fixed_unsafe:
                result.mechanical_fixed += 1
            else:
                result.not_fixed_mechanical.append(change.label)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--libraries", help="comma-separated (default: all of changes.json)")
    parser.add_argument("--offline", type=Path, metavar="DIR", help="scrape from this folder of releases (--dist)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="the scraper's release cache")
    parser.add_argument("--no-scrape", action="store_true", help="only the knowledge base's flag rate")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    libraries = load([name.strip() for name in args.libraries.split(",")] if args.libraries else None)
    if not args.no_scrape:
        dist = f" --dist {args.offline}" if args.offline else ""
        print(f"scrape: recode-kb scrape LIB --from OLD --to NEW --cache-dir {args.cache_dir}{dist}")
    print("check: recode-migrate --check --format json --no-cache --target LIB==NEW --select LIB (then --diff)")
    results = []
    for library in libraries:
        result = Result(library.name, f"{library.old}->{library.new}", changes=len(library.changes))
        if not args.no_scrape:
            scrape(library, result, cache=args.cache_dir, dist=args.offline)
        flag(library, result)
        results.append(result)
        line = f"{library.name} {result.pair}:"
        if not args.no_scrape:
            timing = result.scrape_error or f"{result.entries} entries, {result.scrape_seconds:.1f} s"
            line += f" scraper {result.found}/{result.changes} ({_pct(result.found, result.changes)}) [{timing}];"
        line += (
            f" flagged {result.flagged}/{result.marked} ({_pct(result.flagged, result.marked)});"
            f" fixed {result.fixed}/{result.flagged} safe, {result.fixed_unsafe}/{result.flagged} unsafe;"
            f" mechanical fixed {result.mechanical_fixed}/{result.mechanical}"
        )
        print(line)
        if result.scrape_missed and not args.no_scrape:
            print(f"  scraper missed: {', '.join(result.scrape_missed)}")
        for label, near in result.near.items():
            print(f"    {label} found only as: {', '.join(near)}")
        if result.kb_missed:
            print(f"  not flagged: {', '.join(result.kb_missed)}")
        if result.not_fixed_mechanical:
            print(f"  mechanical, not fixed: {', '.join(result.not_fixed_mechanical)}")
    found, changes = sum(r.found for r in results), sum(r.changes for r in results)
    flagged, marked = sum(r.flagged for r in results), sum(r.marked for r in results)
    fixed, fixed_unsafe = sum(r.fixed for r in results), sum(r.fixed_unsafe for r in results)
    mechanical, mechanical_fixed = sum(r.mechanical for r in results), sum(r.mechanical_fixed for r in results)
    recall = "n/a (--no-scrape)" if args.no_scrape else f"{found}/{changes} ({_pct(found, changes)})"
    print(
        f"kb_recall: scraper_recall={recall} flagged={flagged}/{marked} ({_pct(flagged, marked)})"
        f" fixed={fixed}/{flagged} safe, {fixed_unsafe}/{flagged} unsafe,"
        f" mechanical={mechanical_fixed}/{mechanical} ({_pct(mechanical_fixed, mechanical)}) libraries={len(results)}"
    )
    if args.json is not None:
        payload = {"scraped": not args.no_scrape, "libraries": [r.__dict__ for r in results]}
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
