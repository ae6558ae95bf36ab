"""Which pins would have to rise to make the code valid (``recode-migrate --plan --too-new``).

The too-new check says what the targeted release lacks; a plan wants the other half: the version
that has it. For each library, every too-new name and keyword the code uses (against the version
the project is on: pinned, targeted or installed) is given the first version that has it:

* from the knowledge base (an entry whose ``new`` it is) or typeshed (the standard library), as
  the check's own message says;
* else from the inventories of newer releases (:func:`first_releases`): the first release of each
  later ``major.minor`` is a candidate, the newest is read first (a name it lacks too is in no
  release: a typo, or a name from another library), then the candidates are bisected, a name
  being assumed to stay once added. At most ``max_reads`` releases are read per library (each read
  once per machine, cached like the check's); when the bisection stops early, the version found
  has the name but may not be the first (``source`` says "release inventories (bound)").

The library's minimum is the highest of those versions; a name no source knows is listed apart
(the plan cannot say which version would have it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import PYTHON, Version
from recode_lsp.toonew.check import TooNew, TooNewChange
from recode_lsp.toonew.inventory import FOUND, Inventory, InventoryError, inventory_for

__all__ = ["NeededName", "PinRaise", "first_releases", "raise_pins"]

KNOWLEDGE_BASE = "knowledge base"
TYPESHED = "typeshed"
INVENTORIES = "release inventories"
BOUND = "release inventories (bound)"
#: Releases read per library at most to date names (the newest, then a bisection).
MAX_READS = 6


@dataclass
class NeededName:
    """A too-new name (or a keyword of a call) the code uses, and the first version that has it."""

    name: str
    keyword: str | None
    code: str
    introduced: Version | None = None
    #: Where ``introduced`` comes from (:data:`KNOWLEDGE_BASE`, :data:`TYPESHED`, :data:`INVENTORIES`,
    #: :data:`BOUND`), or None when no source knows it.
    source: str | None = None
    uses: int = 0
    files: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.name}({self.keyword}=)" if self.keyword else self.name


@dataclass
class PinRaise:
    """One library's too-new uses, and the version its pin would have to rise to."""

    library: str
    current: Version
    #: Where ``current`` comes from (a pin's file, ``--target``, ``[tool.recode]``, ``installed``).
    origin: str
    #: The exact release read (``1.26.4``; for Python, the ``major.minor`` typeshed was read at).
    release: str
    names: list[NeededName]

    @property
    def minimum(self) -> Version | None:
        """The lowest version that has every dated name (None: no name is dated)."""
        dated = [name.introduced for name in self.names if name.introduced is not None]
        return max(dated) if dated else None

    @property
    def undated(self) -> list[NeededName]:
        return [name for name in self.names if name.introduced is None]


def find_uses(
    paths: Iterable[str], check: TooNew, options: DetectOptions
) -> dict[str, dict[tuple[str, str | None], NeededName]]:
    """The too-new uses in ``paths``, per library, per (name, keyword): the check run on each file
    whose text may hold one (the check's lexical pre-check first, as in a ``--check`` run)."""
    from recode_lsp.cli.files import DecodeError, decode_source
    from recode_lsp.engine.detector import SourceError, analyse
    from recode_lsp.toonew.first_party import own_package

    found: dict[str, dict[tuple[str, str | None], NeededName]] = {}
    packages: dict[str, str | None] = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        package = own_package(path, packages)  # not a pin of its own (as a --check run leaves it out)
        if not check.needs_analysis(data, package=package):
            continue
        try:
            text = decode_source(data).text
            module = analyse(text, path)
        except (DecodeError, SourceError, RecursionError):
            continue
        for finding in check.findings(module, options, path, package=package):
            change = finding.change
            if not isinstance(change, TooNewChange):
                continue
            key = (change.old, change.old_keyword)
            entry = found.setdefault(change.library, {}).get(key)
            if entry is None:
                source = None
                if change.introduced is not None:
                    source = TYPESHED if change.library == PYTHON else KNOWLEDGE_BASE
                entry = found[change.library][key] = NeededName(
                    change.old, change.old_keyword, finding.code, change.introduced, source
                )
            entry.uses += 1
            entry.files.add(path)
    return found


def _has(inventory: Inventory, name: NeededName) -> bool:
    resolved = inventory.resolve(name.name)
    if resolved.state != FOUND:
        return False
    if name.keyword is None:
        return True
    return resolved.canonical is not None and inventory.accepts(resolved.canonical, name.keyword) is True


def first_releases(
    library: str,
    current: Version,
    names: Sequence[NeededName],
    *,
    dist_dir: Path | None = None,
    warn: TextIO | None = None,
    max_reads: int = MAX_READS,
) -> None:
    """Date the undated ``names`` of ``library`` from the inventories of releases newer than
    ``current`` (see the module notes); a name no release read has stays undated."""
    from recode_lsp.kb.releases import ReleaseError, available_versions

    pending = [name for name in names if name.introduced is None]
    if not pending:
        return
    try:
        versions = available_versions(library, dist_dir=dist_dir)
    except ReleaseError as exc:
        if warn is not None:
            warn.write(f"recode-migrate: --plan --too-new: {exc}; newer names of {library} are not dated\n")
        return
    firsts: dict[tuple[int, int], Version] = {}
    for version in versions:
        series = (version.major, version.minor)
        if series > (current.major, current.minor) and (series not in firsts or version < firsts[series]):
            firsts[series] = version
    candidates = [firsts[series] for series in sorted(firsts)]
    if not candidates:
        return
    read: dict[Version, Inventory | None] = {}

    def inventory(version: Version) -> Inventory | None:
        if version not in read:
            if len(read) >= max_reads:
                return None
            try:
                read[version] = inventory_for(library, version, dist_dir=dist_dir)
            except InventoryError as exc:
                if warn is not None:
                    warn.write(f"recode-migrate: --plan --too-new: {exc}\n")
                read[version] = None
        return read[version]

    for name in pending:
        newest = inventory(candidates[-1])
        if newest is None or not _has(newest, name):
            continue  # in no release (or the newest cannot be read): undated
        low, high, complete = 0, len(candidates) - 1, True
        while low < high:
            middle = (low + high) // 2
            found = inventory(candidates[middle])
            if found is None:
                complete = False
                break
            if _has(found, name):
                high = middle
            else:
                low = middle + 1
        name.introduced = candidates[high]
        name.source = INVENTORIES if complete else BOUND


def raise_pins(
    paths: Sequence[str],
    targets: Mapping[str, tuple[Version, str]],
    check: TooNew,
    options: DetectOptions,
    *,
    dist_dir: Path | None = None,
    warn: TextIO | None = None,
) -> list[PinRaise]:
    """Per library with a too-new use in ``paths``: its uses, each dated, and so the version its pin
    would have to rise to. ``targets``: library -> (the version it is on, where that comes from)."""
    uses = find_uses(paths, check, options)
    releases = {inventory.library: inventory.version for inventory in check.inventories.values()}
    raises = []
    for library in sorted(uses):
        if library not in targets:
            continue
        current, origin = targets[library]
        names = sorted(uses[library].values(), key=lambda n: (n.name, n.keyword or ""))
        if library != PYTHON:
            first_releases(library, current, names, dist_dir=dist_dir, warn=warn)
        raises.append(PinRaise(library, current, origin, releases.get(library, str(current)), names))
    return raises
