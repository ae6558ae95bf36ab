"""``recode-kb``: scrape, review, list and validate knowledge-base entries (no torch, no vLLM).

Exit status: 0 success, 1 invalid entries (validate/review), 2 usage or release errors.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from recode_lsp.engine.facts import FACTS_SUFFIX, FactsError, facts_path_for, read_facts
from recode_lsp.engine.knowledge import KnowledgeBaseError, iter_jsonl, shipped_files
from recode_lsp.engine.versions import InvalidVersion, Version
from recode_lsp.kb import overlay, review
from recode_lsp.kb.releases import Release, ReleaseError, available_versions, default_cache_dir, every_minor, obtain
from recode_lsp.kb.scrape import ScrapedEntry, default_prefix, first_free_number, scrape


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recode-kb", description="Curate ReCode's knowledge base of API changes.")
    commands = parser.add_subparsers(dest="command", required=True)

    s = commands.add_parser("scrape", help="learn API changes between releases of a library")
    s.add_argument("library", help="distribution name (numpy, scikit-learn, ...)")
    s.add_argument("--from", dest="old", help="old release")
    s.add_argument("--to", dest="new", help="new release")
    s.add_argument("--versions", help="a chain of releases V1,V2,...,Vn (one pass)")
    s.add_argument(
        "--every-minor",
        action="store_true",
        help="with --from/--to: the chain of every minor release in between (newest patch of each)",
    )
    s.add_argument(
        "--dist", type=Path, help="folder with the releases (name-version/ trees, wheels or sdists): offline"
    )
    s.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    s.add_argument("--format", choices=("jsonl", "text"), default="jsonl")
    s.add_argument(
        "--id-prefix",
        help="prefix of the entries' ids (default: the library's facts file's id_prefix, else the package name "
        "in capitals); numbers continue after the shipped entries'",
    )
    s.add_argument("--min-confidence", type=float, default=0.0, help="leave out entries below this confidence")
    s.add_argument("--cache-dir", type=Path, help="where fetched releases and results are kept")
    s.add_argument("--timeout", type=float, default=600.0, help="seconds for downloading one release")

    r = commands.add_parser("review", help="accept, reject or edit scraped entries into an overlay")
    r.add_argument("file", type=Path, help="scraped entries (recode-kb scrape --format jsonl)")
    r.add_argument("--overlay", type=Path, required=True, help="overlay to add accepted entries to")
    r.add_argument("--accept-all", action="store_true", help="accept every entry without asking")
    r.add_argument("--accept", help="accept these ids (comma-separated) without asking")
    r.add_argument("--min-confidence", type=float, default=0.0, help="review only entries at or above this")

    ls = commands.add_parser("list", help="libraries and entries of the knowledge base")
    ls.add_argument("--extra", type=Path, action="append", default=[], help="an overlay to include")
    ls.add_argument("--library", help="only this library")
    ls.add_argument("--entries", action="store_true", help="one line per entry")

    a = commands.add_parser(
        "additions",
        help="when a library gained each public name, read from a chain of its releases (writes what "
        "recode_lsp/toonew/data/added/LIB.json holds: the versions --too-new's messages give)",
    )
    a.add_argument("library", help="distribution name (numpy, pandas, ...)")
    a.add_argument("--from", dest="old", help="oldest release")
    a.add_argument("--to", dest="new", help="newest release")
    a.add_argument("--versions", help="the chain of releases V1,V2,...,Vn")
    a.add_argument("--every-minor", action="store_true", help="with --from/--to: the newest patch of every minor")
    a.add_argument("--dist", type=Path, help="folder with the releases (name-version/ trees, wheels or sdists)")
    a.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    a.add_argument("--cache-dir", type=Path, help="where fetched releases and their inventories are kept")
    a.add_argument("--timeout", type=float, default=600.0, help="seconds for downloading one release")

    h = commands.add_parser(
        "stdlib-history",
        help="when the standard library gained the names today's typeshed no longer guards, read from older "
        "typeshed snapshots (writes what recode_lsp/toonew/data/stdlib_added.json holds)",
    )
    h.add_argument(
        "--typeshed", type=Path, action="append", default=[], help="a typeshed checkout or its stdlib folder"
    )
    h.add_argument(
        "--mypy", action="append", default=[], help="a mypy release whose typeshed copy to read (fetched through pip)"
    )
    h.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    h.add_argument("--cache-dir", type=Path, help="where fetched mypy wheels and their typeshed are kept")

    v = commands.add_parser(
        "validate", help="check entries files (and the LIB.facts.json beside each) or facts files with the loader"
    )
    v.add_argument("files", type=Path, nargs="+")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "scrape":
            return _scrape(args)
        if args.command == "review":
            return _review(args)
        if args.command == "list":
            return _list(args)
        if args.command == "stdlib-history":
            return _stdlib_history(args)
        if args.command == "additions":
            return _additions(args)
        return _validate(args)
    except KeyboardInterrupt:
        return 130


def _additions(args: argparse.Namespace) -> int:
    """Read the inventory of each release of the chain (oldest first) and write the names each added
    (:mod:`recode_lsp.toonew.additions`)."""
    from recode_lsp.engine.facts import top_package, type_facts
    from recode_lsp.toonew import additions
    from recode_lsp.toonew.inventory import InventoryError, inventory_for

    try:
        labels = _versions(args)
    except ValueError as exc:
        print(f"recode-kb: {exc}", file=sys.stderr)
        return 2
    facts = type_facts()
    top = top_package(args.library)
    # The classes the type facts name (``pandas.core.groupby.DataFrameGroupBy``): the walk spells a typed
    # receiver's members so.
    spellings = {
        returned
        for returned in [*facts.factories.values(), *facts.methods.values()]
        if isinstance(returned, str) and returned.split(".", 1)[0] == top
    }
    chain: list[additions.Reading] = []
    for label in labels:
        try:
            inventory = inventory_for(
                args.library, Version(label), cache_dir=args.cache_dir, dist_dir=args.dist, timeout=args.timeout
            )
        except InventoryError as exc:
            print(f"recode-kb: {exc}", file=sys.stderr)
            return 2
        chain.append(additions.public_names(inventory, spellings))
        print(f"recode-kb: {args.library} {inventory.version}: {len(chain[-1].names)} public names", file=sys.stderr)
    added = additions.additions(chain)
    keywords = additions.keyword_additions(chain)
    _emit(additions.dumps(args.library, [reading.version for reading in chain], added, keywords), args.output)
    print(
        f"recode-kb: {len(added)} names and {len(keywords)} keywords added after {chain[0].version}", file=sys.stderr
    )
    return 0


def _stdlib_history(args: argparse.Namespace) -> int:
    """Read each typeshed snapshot (oldest first, by the oldest Python each still guards) and write the
    merged history (:mod:`recode_lsp.toonew.history`)."""
    from recode_lsp.toonew import history
    from recode_lsp.toonew.stdlib import typeshed_at

    roots: list[tuple[str, Path]] = [(f"typeshed at {path}", path) for path in args.typeshed]
    cache = args.cache_dir or default_cache_dir()
    for version in args.mypy:
        try:
            roots.append((f"typeshed of mypy {version}", history.fetch_mypy_typeshed(version, cache)))
        except OSError as exc:
            print(f"recode-kb: {exc}", file=sys.stderr)
            return 2
    if not roots:
        print("recode-kb: give --typeshed DIR or --mypy VERSION (one or more)", file=sys.stderr)
        return 2
    snapshots = []
    for label, root in roots:
        typeshed = typeshed_at(root / "stdlib") or typeshed_at(root)
        if typeshed is None:
            print(f"recode-kb: no typeshed stdlib folder (with VERSIONS) at {root}", file=sys.stderr)
            return 2
        floor = history.floor_of(typeshed)
        names = history.added_names(typeshed)
        print(f"recode-kb: {label}: {len(names)} names guarded, floor Python {floor[0]}.{floor[1]}", file=sys.stderr)
        snapshots.append((floor, label, names))
    snapshots.sort(key=lambda snapshot: snapshot[0])
    merged = history.merge([(names, floor) for floor, _, names in snapshots])
    _emit(history.dumps(merged, [label for _, label, _ in snapshots]), args.output)
    print(f"recode-kb: {len(merged)} names in the history", file=sys.stderr)
    return 0


def _emit(text: str, output: Path | None) -> None:
    """``text`` written to ``output`` (its folder made), or to standard output."""
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _versions(args: argparse.Namespace) -> list[str]:
    if args.versions:
        labels = [v.strip() for v in args.versions.split(",") if v.strip()]
    elif args.old and args.new and args.every_minor:
        try:
            labels = every_minor(args.old, args.new, available_versions(args.library, dist_dir=args.dist))
        except (ReleaseError, InvalidVersion) as exc:
            raise ValueError(str(exc)) from None
    elif args.old and args.new:
        labels = [args.old, args.new]
    else:
        raise ValueError("give --from OLD --to NEW, or --versions V1,V2,...")
    if len(labels) < 2:
        raise ValueError("a scrape needs at least two releases")
    try:
        labels.sort(key=Version)
    except InvalidVersion as exc:
        raise ValueError(str(exc)) from None
    return labels


def _scrape(args: argparse.Namespace) -> int:
    try:
        labels = _versions(args)
    except ValueError as exc:
        print(f"recode-kb: {exc}", file=sys.stderr)
        return 2
    cache = args.cache_dir or default_cache_dir()
    started = time.perf_counter()
    try:
        # Downloads wait on the network, not the CPU: fetch the releases side by side.
        with ThreadPoolExecutor(max_workers=min(4, len(labels))) as pool:
            releases = list(
                pool.map(
                    lambda v: obtain(args.library, v, dist_dir=args.dist, cache_dir=cache, timeout=args.timeout),
                    labels,
                )
            )
    except ReleaseError as exc:
        print(f"recode-kb: {exc}", file=sys.stderr)
        return 2
    entries, problems = _scrape_cached(args.library, releases, cache, args.id_prefix)
    entries = [e for e in entries if e.confidence >= args.min_confidence]
    _emit(overlay.dumps(entries) if args.format == "jsonl" else _text(entries), args.output)
    for problem in problems:
        print(f"recode-kb: left out: {problem}", file=sys.stderr)
    counts = Counter(e.record["kind"] for e in entries)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes"
    print(
        f"recode-kb: {args.library} {' -> '.join(labels)}: {len(entries)} entries ({summary}) "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


def _scrape_cached(
    library: str, releases: list[Release], cache: Path, prefix: str | None
) -> tuple[list[ScrapedEntry], list[str]]:
    """Scrape, reusing the result for fetched releases (they never change) and the same scraper code."""
    if any(r.origin != "fetched" for r in releases):
        return scrape(library, releases, id_prefix=prefix)
    code = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        code.update(module.read_bytes())
    # The ids depend on the shipped data (numbers continue after the shipped ones): part of the key.
    chosen = prefix or default_prefix(library)
    numbering = f"{chosen}{first_free_number(chosen)}"
    key = "-".join([library, *(f"{r.label}={r.exact}" for r in releases), numbering, code.hexdigest()[:12]])
    stored = cache / "scrapes" / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".jsonl")
    if stored.is_file():
        try:
            return overlay.loads(stored.read_text(encoding="utf-8"), str(stored)), []
        except (OSError, KnowledgeBaseError):
            pass
    entries, problems = scrape(library, releases, id_prefix=prefix)
    try:
        overlay.write(stored, entries)
    except OSError:
        pass
    return entries, problems


def _text(entries: list[ScrapedEntry]) -> str:
    return "".join(review.describe(e) + "\n" for e in entries)


def _review(args: argparse.Namespace) -> int:
    try:
        entries = overlay.loads(args.file.read_text(encoding="utf-8"), str(args.file))
        overlay.validate_text(args.file.read_text(encoding="utf-8"), str(args.file), with_shipped=False)
    except (OSError, KnowledgeBaseError) as exc:
        print(f"recode-kb: {exc}", file=sys.stderr)
        return 1
    entries = [e for e in entries if e.confidence >= args.min_confidence]
    if args.accept_all or args.accept:
        try:
            ids = [i.strip() for i in (args.accept or "").split(",") if i.strip()]
            accepted = review.select(entries, ids=ids, everything=args.accept_all)
        except KeyError as exc:
            print(f"recode-kb: no such id in {args.file}: {exc.args[0]}", file=sys.stderr)
            return 2
    else:
        accepted = review.interactive(entries, out=sys.stdout)
    merged = overlay.merge_into(args.overlay, accepted)
    try:
        overlay.validate_text(args.overlay.read_text(encoding="utf-8"), str(args.overlay))
    except KnowledgeBaseError as exc:
        print(f"recode-kb: the overlay does not load: {exc}", file=sys.stderr)
        return 1
    print(
        f"recode-kb: accepted {len(accepted)} of {len(entries)}; {args.overlay} holds {len(merged)} entries. "
        f'Name it in pyproject.toml: [tool.recode] extra-changes = ["{args.overlay}"]',
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    changes = [c for name, text in shipped_files() for c in iter_jsonl(text, name)]
    for path in args.extra:
        try:
            changes.extend(
                overlay.validate_text(path.read_text(encoding="utf-8"), str(path), with_shipped=False).changes
            )
        except (OSError, KnowledgeBaseError) as exc:
            print(f"recode-kb: {exc}", file=sys.stderr)
            return 1
    if args.library:
        changes = [c for c in changes if c.library == args.library.lower()]
    if args.entries:
        for change in changes:
            keyword = f"({change.old_keyword}=)" if change.old_keyword else ""
            print(
                f"{change.id}\t{change.library}\t{change.kind.value}\t{change.old}{keyword}\t{change.describe_new()}"
            )
        return 0
    by_library: dict[str, Counter[str]] = {}
    for change in changes:
        by_library.setdefault(change.library, Counter())[change.kind.value] += 1
    for library, counts in sorted(by_library.items()):
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        print(f"{library}: {sum(counts.values())} entries ({kinds})")
    return 0


def _validate(args: argparse.Namespace) -> int:
    """Entries files (with the facts file beside each, when there is one) and facts files."""
    status = 0
    for path in args.files:
        try:
            if path.name.endswith(FACTS_SUFFIX):
                alone = read_facts(path)
                print(f"{path}: facts of {alone.library} OK (id prefix {alone.id_prefix})")
                continue
            text = path.read_text(encoding="utf-8")
            kb = overlay.validate_text(text, str(path), instead_of=path)
            beside = facts_path_for(path)
            facts = read_facts(beside) if beside.is_file() else None
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
            status = 1
            continue
        except (KnowledgeBaseError, FactsError) as exc:
            print(str(exc), file=sys.stderr)
            status = 1
            continue
        own = [c for c in kb.changes if c.origin.startswith(str(path))]
        with_facts = f" (facts: {beside.name}, {facts.library})" if facts is not None else ""
        print(f"{path}: {len(own)} entries OK{with_facts}")
        if facts is not None:
            other = sorted({c.id for c in own if c.library == facts.library and not c.id.startswith(facts.id_prefix)})
            if other:
                print(
                    f"{path}: warning: {len(other)} {facts.library} id(s) do not start with the facts' prefix "
                    f"{facts.id_prefix}: {', '.join(other[:5])}",
                    file=sys.stderr,
                )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
