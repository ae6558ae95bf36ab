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
from pathlib import Path
from typing import Any

from recode_lsp.engine.versions import InvalidVersion, Version
from recode_lsp.toonew.inventory import _NOT_UNPACKED, CLOSED, FOUND, Inventory

__all__ = ["ADDITIONS_DIR", "additions", "dumps", "public_names", "shipped", "version_of"]

#: The additions shipped with ReCode, one file per library (``recode-kb additions`` writes them).
ADDITIONS_DIR = Path(__file__).with_name("data") / "added"
FORMAT = 1
#: How deep the walk from the top package goes (``pandas.api.types.is_any_real_numeric_dtype``: 4 parts).
_MAX_PARTS = 6

_loaded: dict[str, dict[str, str]] = {}
_guard = threading.Lock()


def public_names(inventory: Inventory, spellings: Iterable[str] = ()) -> tuple[set[str], set[str]]:
    """The public dotted names of a release: each member of each module and class reached from the top
    package, under that container's shortest public path, and each member of the classes ``spellings``
    name (as the type facts spell them); and the paths of those containers the reading lists whole
    (closed: no ``__getattr__``, no star import it could not follow)."""
    inventory.unpacked()
    names: set[str] = set()
    closed: set[str] = set()
    seen: set[str] = set()
    queue = deque([(inventory.top, inventory.top)])
    while queue:
        path, canonical = queue.popleft()
        if canonical in seen:
            continue
        seen.add(canonical)
        container = inventory.containers.get(canonical)
        if container is None:
            continue
        if container[1] == CLOSED:
            closed.add(path)
        for member, target in container[2].items():
            if member.startswith("_") or target == "?" or member in _NOT_UNPACKED:
                continue
            name = f"{path}.{member}"
            names.add(name)
            child = f"{canonical}.{member}" if target == "" else target
            entry = inventory.containers.get(child)
            # A module another one imports (``ibase`` in ``pandas.core.series``) is named where it lives,
            # not under each importer; a class is named where it is re-exported too (``pandas.DataFrame``).
            if entry is not None and (target == "" or entry[0] == "class") and name.count(".") < _MAX_PARTS - 1:
                queue.append((name, child))
    for spelled in spellings:
        resolved = inventory.resolve(spelled)
        container = inventory.containers.get(resolved.canonical or "") if resolved.state == FOUND else None
        if container is not None:
            names.update(f"{spelled}.{member}" for member in container[2] if not member.startswith("_"))
            if container[1] == CLOSED:
                closed.add(spelled)
    return names, closed


def additions(chain: Sequence[tuple[str, set[str], set[str]]]) -> dict[str, str]:
    """Each name the oldest release of ``chain`` (version and :func:`public_names`, oldest first) lacks
    and a later one adds to a module or class the release before it lists whole, with the first release
    that has it (``major.minor``), where every later release has it too.

    Releases are read statically, and one reading reaches further than another (a compiled class whose
    members one release's stubs list and an older one's do not; pandas before 2.1 adding
    ``DataFrame.add`` at run time; NumPy 2.3's ``distutils``): a name counts as added only where its
    owner was read whole before it came, and only if it stays. The members of a new module or class are
    not listed: the walk reports the first missing part (``numpy.dtypes``, 1.25)."""
    added: dict[str, str] = {}
    seen: set[str] = set(chain[0][1]) if chain else set()
    for index in range(1, len(chain)):
        version, names, _ = chain[index]
        closed_before = chain[index - 1][2]
        later = [other for _, other, _ in chain[index + 1 :]]
        label = _minor(version)
        for name in names - seen:
            if name.rpartition(".")[0] in closed_before and all(name in other for other in later):
                added[name] = label
        seen |= names
    return added


def dumps(library: str, versions: Sequence[str], added: Mapping[str, str]) -> str:
    """What ``data/added/<library>.json`` holds: the chain read, and per version the names it added."""
    by_version: dict[str, list[str]] = {}
    for name in sorted(added):
        by_version.setdefault(added[name], []).append(name)
    payload = {"format": FORMAT, "library": library, "releases": list(versions), "added": by_version}
    return json.dumps(payload, indent=1, sort_keys=True) + "\n"


def shipped(library: str, folder: Path | None = None) -> dict[str, str]:
    """Name -> the version that added it, for ``library`` (empty where nothing is shipped); read once
    per process."""
    where = (folder or ADDITIONS_DIR) / f"{library}.json"
    key = str(where)
    with _guard:
        known = _loaded.get(key)
    if known is None:
        known = {}
        try:
            data: Any = json.loads(where.read_text(encoding="utf-8"))
            if data.get("format") == FORMAT and isinstance(data.get("added"), dict):
                known = {str(name): str(version) for version, names in data["added"].items() for name in names}
        except (OSError, ValueError, TypeError, AttributeError):
            known = {}
        with _guard:
            _loaded[key] = known
    return known


def version_of(library: str, name: str, target: Version, folder: Path | None = None) -> Version | None:
    """The version that added ``name`` to ``library``, when the shipped additions know it and it is later
    than ``target`` (else the name's absence is another story: None)."""
    known = shipped(library, folder).get(name)
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
