"""When a library gained each of its public names: read once from a chain of its releases, shipped.

The check reports a name the targeted release lacks (``numpy.unstack`` on NumPy 1.26); the version that
added it was known only where the knowledge base renames something to it. ``recode-kb additions LIB
--from A --to B --every-minor`` reads the inventory of each release of the chain (:mod:`.inventory`:
installed, or fetched and cached, read statically) and writes, for each public name the oldest release
lacks, the first release that has it (``data/added/<library>.json``). A finding's message then says
which version added the name (:func:`version_of`: read on the first finding of a run, not before).

Only the message uses it. A static reading misses what a release adds at run time (pandas before 2.1
added ``DataFrame.add`` and the other flexible operators with ``setattr``; 2.1 defines them), so the
list holds such names too: taken as "known to be newer", they would make findings under pandas' soft
classes for methods that were always there. Where the walk reports a name missing anyway, the version
is safe to show.

The chain's readings differ in how far they reach, so a name counts as added only where the release
before it listed the name's module or class whole (:func:`additions`).

A name is a dotted path as code spells it: each module and class reached from the top package by its
shortest public path (``pandas.DataFrame``, not ``pandas.core.frame.DataFrame``), and each class the
type facts name (``pandas.core.groupby.DataFrameGroupBy``), with their members.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recode_lsp.engine.versions import InvalidVersion, Version
from recode_lsp.toonew.inventory import _NOT_UNPACKED, CLOSED, FOUND, Inventory

__all__ = [
    "ADDITIONS_DIR",
    "Reading",
    "additions",
    "dumps",
    "keyword_additions",
    "public_names",
    "shipped",
    "version_of",
]

#: The additions shipped with ReCode, one file per library (``recode-kb additions`` writes them).
ADDITIONS_DIR = Path(__file__).with_name("data") / "added"
FORMAT = 1
#: How deep the walk from the top package goes (``pandas.api.types.is_any_real_numeric_dtype``: 4 parts).
_MAX_PARTS = 6

_loaded: dict[str, dict[str, str]] = {}
_guard = threading.Lock()


@dataclass
class Reading:
    """What one release has, for :func:`additions`: its public dotted names, the paths of the modules and
    classes the reading lists whole (closed: no ``__getattr__``, no star import it could not follow),
    and the keywords of each public function whose keywords are certain (``pandas.read_csv``)."""

    version: str
    names: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    keywords: dict[str, frozenset[str]] = field(default_factory=dict)


def public_names(inventory: Inventory, spellings: Iterable[str] = ()) -> Reading:
    """The :class:`Reading` of a release: each member of each module and class reached from the top
    package, under that container's shortest public path, and each member of the classes ``spellings``
    name (as the type facts spell them)."""
    inventory.unpacked()
    reading = Reading(inventory.version)
    seen: set[str] = set()
    queue = deque([(inventory.top, inventory.top)])

    def member(path: str, canonical: str) -> None:
        reading.names.add(path)
        keywords = inventory.keyword_names(canonical)
        if keywords is not None:
            reading.keywords[path] = keywords

    while queue:
        path, canonical = queue.popleft()
        if canonical in seen:
            continue
        seen.add(canonical)
        container = inventory.containers.get(canonical)
        if container is None:
            continue
        if container[1] == CLOSED:
            reading.closed.add(path)
        for name, target in container[2].items():
            if name.startswith("_") or target == "?" or name in _NOT_UNPACKED:
                continue
            spelled = f"{path}.{name}"
            child = f"{canonical}.{name}" if target == "" else target
            member(spelled, child)
            entry = inventory.containers.get(child)
            # A module another one imports (``ibase`` in ``pandas.core.series``) is named where it lives,
            # not under each importer; a class is named where it is re-exported too (``pandas.DataFrame``).
            if entry is not None and (target == "" or entry[0] == "class") and spelled.count(".") < _MAX_PARTS - 1:
                queue.append((spelled, child))
    for spelled in spellings:
        resolved = inventory.resolve(spelled)
        home = resolved.canonical if resolved.state == FOUND else None
        container = inventory.containers.get(home) if home is not None else None
        if home is None or container is None:
            continue
        for name, target in container[2].items():
            if not name.startswith("_") and target != "?":
                member(f"{spelled}.{name}", f"{home}.{name}" if target == "" else target)
        if container[1] == CLOSED:
            reading.closed.add(spelled)
    return reading


def additions(chain: Sequence[Reading]) -> dict[str, str]:
    """Each name the oldest release of ``chain`` (oldest first) lacks and a later one adds to a module or
    class the release before it lists whole, with the first release that has it (``major.minor``), where
    every later release has it too.

    Releases are read statically, and one reading reaches further than another (a compiled class whose
    members one release's stubs list and an older one's do not; pandas before 2.1 adding
    ``DataFrame.add`` at run time; NumPy 2.3's ``distutils``): a name counts as added only where its
    owner was read whole before it came, and only if it stays. The members of a new module or class are
    not listed: the walk reports the first missing part (``numpy.dtypes``, 1.25)."""
    added: dict[str, str] = {}
    seen: set[str] = set(chain[0].names) if chain else set()
    for index in range(1, len(chain)):
        reading, before = chain[index], chain[index - 1]
        later = chain[index + 1 :]
        label = _minor(reading.version)
        for name in reading.names - seen:
            if name.rpartition(".")[0] in before.closed and all(name in other.names for other in later):
                added[name] = label
        seen |= reading.names
    return added


def keyword_additions(chain: Sequence[Reading]) -> dict[tuple[str, str], str]:
    """Each keyword a function of ``chain`` gained: where the release before had the function's keywords
    for certain without it, no earlier release had it, and every later release whose keywords of the
    function are certain has it (``("pandas.read_csv", "dtype_backend")`` -> ``2.0``)."""
    added: dict[tuple[str, str], str] = {}
    seen: dict[str, set[str]] = {}
    for name, keywords in chain[0].keywords.items() if chain else ():
        seen[name] = set(keywords)
    for index in range(1, len(chain)):
        reading, before = chain[index], chain[index - 1]
        later = chain[index + 1 :]
        label = _minor(reading.version)
        for name, keywords in reading.keywords.items():
            previous = before.keywords.get(name)
            known = seen.setdefault(name, set())
            if previous is not None:
                for keyword in keywords - previous - known:
                    if all(keyword in other.keywords[name] for other in later if name in other.keywords):
                        added[(name, keyword)] = label
            known |= keywords
    return added


def dumps(
    library: str, versions: Sequence[str], added: Mapping[str, str], keywords: Mapping[tuple[str, str], str]
) -> str:
    """What ``data/added/<library>.json`` holds: the chain read, per version the names it added, and per
    version the keywords it added (``pandas.read_csv(dtype_backend)``)."""
    by_version: dict[str, list[str]] = {}
    for name in sorted(added):
        by_version.setdefault(added[name], []).append(name)
    keywords_by_version: dict[str, list[str]] = {}
    for callee, keyword in sorted(keywords):
        keywords_by_version.setdefault(keywords[(callee, keyword)], []).append(f"{callee}({keyword})")
    payload = {
        "format": FORMAT,
        "library": library,
        "releases": list(versions),
        "added": by_version,
        "keywords": keywords_by_version,
    }
    return json.dumps(payload, indent=1, sort_keys=True) + "\n"


def shipped(library: str, folder: Path | None = None) -> dict[str, str]:
    """Name -> the version that added it, for ``library``; a keyword's as ``callee(keyword)`` (empty where
    nothing is shipped); read once per process."""
    where = (folder or ADDITIONS_DIR) / f"{library}.json"
    key = str(where)
    with _guard:
        known = _loaded.get(key)
    if known is None:
        known = {}
        try:
            data: Any = json.loads(where.read_text(encoding="utf-8"))
            if data.get("format") == FORMAT and isinstance(data.get("added"), dict):
                for part in ("added", "keywords"):
                    for version, names in (data.get(part) or {}).items():
                        known.update((str(name), str(version)) for name in names)
        except (OSError, ValueError, TypeError, AttributeError):
            known = {}
        with _guard:
            _loaded[key] = known
    return known


def version_of(
    library: str, name: str, target: Version, folder: Path | None = None, keyword: str | None = None
) -> Version | None:
    """The version that added ``name`` to ``library`` (or ``keyword`` to the function ``name``), when the
    shipped additions know it and it is later than ``target`` (else the absence is another story: None)."""
    known = shipped(library, folder).get(name if keyword is None else f"{name}({keyword})")
    if known is None:
        return None
    try:
        version = Version(known)
    except InvalidVersion:
        return None  # a file edited by hand: no version rather than no finding
    return version if (version.major, version.minor) > (target.major, target.minor) else None


def _minor(version: str) -> str:
    parsed = Version(version)
    return f"{parsed.major}.{parsed.minor}"
