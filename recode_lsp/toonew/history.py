"""When the standard library gained the names that today's typeshed no longer tells apart.

typeshed drops its version guards for each Python it stops supporting: the copy a current mypy ships
guards nothing older than 3.11, so ``itertools.pairwise`` (3.10), ``random.randbytes`` (3.9) or
``math.prod`` (3.8) look as old as their modules to it, and code for Python 3.8 that calls them was not
flagged (:mod:`.stdlib`). Older typeshed snapshots (the copies older mypy releases ship) still guard
them. ``recode-kb stdlib-history`` reads such snapshots once (:func:`added_names`, :func:`merge`) and
writes what they say to ``data/stdlib_added.json``, shipped with ReCode; :func:`apply` then takes those
names out of an inventory read for an older target and records the version that added each (its
``added``: only such names are reported under the standard library's soft containers).

Conservative: a name is taken out only where the typeshed at hand has it at the target (so nothing it
does not know of is reported) and the history says a later version added it; a snapshot's guard below
its own floor (the oldest Python it still supported) is not trusted over a newer snapshot's silence.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recode_lsp.toonew.inventory import Inventory

if TYPE_CHECKING:  # stdlib imports this module
    from recode_lsp.toonew.stdlib import Typeshed

__all__ = [
    "HISTORY_FILE",
    "added_names",
    "apply",
    "dumps",
    "fetch_mypy_typeshed",
    "floor_of",
    "merge",
    "shipped",
    "stamp",
]

#: The history shipped with ReCode (``recode-kb stdlib-history`` writes it).
HISTORY_FILE = Path(__file__).with_name("data") / "stdlib_added.json"
FORMAT = 1
#: Where the facts come from: typeshed's stubs, as mypy ships them.
LICENCE = "read from typeshed (https://github.com/python/typeshed), Apache License 2.0"
#: The newest minor version of Python 3 a snapshot is read at (beyond what it knows is harmless).
_NEWEST_MINOR = 20

_Minor = tuple[int, int]
#: A version guard of a stub (``sys.version_info >= (3, 8)``, ``sys.version_info < (3, 8)``).
_GUARD = r"sys\.version_info\s*(?:>=|<)\s*\(\s*3\s*,\s*(\d+)\s*\)"
_loaded: dict[str, dict[str, Any]] = {}
_guard = threading.Lock()


def added_names(typeshed: Typeshed) -> dict[str, str]:
    """Each public name of a typeshed snapshot's standard library (a module's or a class's member, by its
    dotted path) that a version guard keeps from the first version its module has, with the version
    that first has it (``itertools.pairwise`` -> ``3.10``)."""
    from recode_lsp.toonew.stdlib import _reader

    reader = _reader(typeshed)
    found: dict[str, str] = {}
    for top in sorted(typeshed.versions):
        if "." in top or top.startswith("_"):
            continue
        for module, _ in typeshed.files(top):
            span = typeshed.span(module)
            if span is None:
                continue
            start = max(span[0], (3, 0))
            end = span[1] or (3, _NEWEST_MINOR)
            first: dict[str, _Minor] = {}
            for minor in range(start[1], end[1] + 1) if start[0] == 3 else ():
                for path, (_, names) in (reader.containers(module, (3, minor)) or {}).items():
                    for name in names or ():
                        if not name.startswith("_"):
                            first.setdefault(f"{path}.{name}", (3, minor))
            for name, version in first.items():
                if version > start:
                    found.setdefault(name, f"{version[0]}.{version[1]}")
    return found


def floor_of(typeshed: Typeshed) -> _Minor:
    """The oldest Python a snapshot still tells apart from later ones: the version before its oldest
    guard (``sys.version_info >= (3, 8)`` at the oldest: 3.7). Names it has unguarded were there by then."""
    guard = re.compile(_GUARD)  # here, not on import: a check run imports this module, the builder alone reads guards
    oldest = _NEWEST_MINOR
    for path in Path(typeshed.root).rglob("*.pyi"):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for match in guard.finditer(text):
            oldest = min(oldest, int(match.group(1)))
    return (3, oldest - 1) if oldest > 0 else (2, 7)


def merge(snapshots: Sequence[tuple[Mapping[str, str], _Minor]]) -> dict[str, str]:
    """One history from several snapshots' :func:`added_names`, each with its :func:`floor_of`, oldest
    first: a newer snapshot's version wins; where a newer one has a name unguarded although its floor is
    older than what an older one says, the older guard was a mistake typeshed mended (dropped)."""
    history: dict[str, str] = {}
    for names, floor in snapshots:
        for name, version in list(history.items()):
            if name not in names and _minor(version) > floor:
                del history[name]  # the newer snapshot tells that version apart and has no guard there
        history.update(names)
    return history


def dumps(history: Mapping[str, str], sources: Iterable[str]) -> str:
    """The history as ``data/stdlib_added.json`` holds it: per top-level module, per version, the names
    that version added (``{"itertools": {"3.10": ["itertools.pairwise"]}}``)."""
    by_top: dict[str, dict[str, list[str]]] = {}
    for name in sorted(history):
        by_top.setdefault(name.split(".", 1)[0], {}).setdefault(history[name], []).append(name)
    payload = {"format": FORMAT, "sources": list(sources), "licence": LICENCE, "added": by_top}
    return json.dumps(payload, indent=1, sort_keys=True) + "\n"


def shipped(top: str, path: Path | None = None) -> dict[str, str]:
    """What the history says of the module ``top`` (``{"itertools.pairwise": "3.10"}``); the file read
    once per process, empty where it is missing or not of this format."""
    where = path or HISTORY_FILE
    key = str(where)
    with _guard:
        loaded = _loaded.get(key)
    if loaded is None:
        try:
            data = json.loads(where.read_text(encoding="utf-8"))
            loaded = data["added"] if data.get("format") == FORMAT and isinstance(data["added"], dict) else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            loaded = {}
        with _guard:
            _loaded[key] = loaded
    by_version = loaded.get(top)
    if not isinstance(by_version, dict):
        return {}
    return {str(name): str(version) for version, names in by_version.items() for name in names}


def stamp(path: Path | None = None) -> str:
    """What an inventory cached with the history applied depends on (the file's size and time)."""
    try:
        status = os.stat(path or HISTORY_FILE)
    except OSError:
        return "none"
    return f"{status.st_size}:{status.st_mtime_ns}"


def apply(inventory: Inventory, target: _Minor, history: Mapping[str, str]) -> None:
    """Take the names ``history`` says a version after ``target`` added out of a module's inventory read
    from a typeshed that no longer guards them, and record that version in its ``added``."""
    for name, version in history.items():
        if _minor(version) <= target or name in inventory.added:
            continue
        owner, _, member = name.rpartition(".")
        container = inventory.container(owner)
        if container is None or member not in container[2]:
            continue  # not at hand at the target (or under a name already taken out): nothing to say
        del container[2][member]
        for path in [path for path in inventory.containers if path == name or path.startswith(name + ".")]:
            del inventory.containers[path]
        inventory.added[name] = version


def fetch_mypy_typeshed(version: str, cache_dir: Path, timeout: float = 600.0) -> Path:
    """The typeshed ``stdlib`` folder a mypy release ships, unpacked under ``cache_dir`` from its
    pure-Python wheel (found in ``cache_dir/mypy-wheels``, else fetched there through pip; nothing of it
    runs). Raises :class:`OSError` saying why not."""
    import shutil
    import zipfile

    from recode_lsp.api_docs import _safe_relative

    folder = cache_dir / f"typeshed-of-mypy-{version}"
    stdlib = folder / "stdlib"
    if (stdlib / "VERSIONS").is_file():
        return stdlib
    wheels = cache_dir / "mypy-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob(f"mypy-{version}-*.whl"))
    if not found:
        _download_mypy(version, wheels, timeout)
        found = sorted(wheels.glob(f"mypy-{version}-*.whl"))
    if not found:
        raise OSError(f"pip download mypy=={version} left no wheel in {wheels}")
    prefix = "mypy/typeshed/stdlib/"
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # what a run that died midway left
    try:
        with zipfile.ZipFile(found[0]) as wheel:
            for info in wheel.infolist():
                path = _safe_relative(info.filename)
                if info.is_dir() or path is None or not info.filename.startswith(prefix):
                    continue  # elsewhere in the wheel, or a name that would leave the folder
                target = partial / "stdlib" / path.relative_to(prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(wheel.read(info))
    except zipfile.BadZipFile as exc:
        raise OSError(f"{found[0]}: not a wheel ({exc})") from None
    if not (partial / "stdlib" / "VERSIONS").is_file():
        shutil.rmtree(partial, ignore_errors=True)
        raise OSError(f"mypy {version} ships no typeshed with a VERSIONS file (mypy 0.900 and later do)")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return stdlib


def _download_mypy(version: str, wheels: Path, timeout: float) -> None:
    """mypy's pure-Python wheel at ``version`` into ``wheels`` (pip, no dependencies, nothing built)."""
    import subprocess
    import sys

    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--platform", "any"]
    command += ["--implementation", "py", "--python-version", here, "--dest", str(wheels), f"mypy=={version}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise OSError(f"pip download mypy=={version}: no answer in {timeout:.0f} s") from None
    if done.returncode != 0:
        raise OSError(f"pip download mypy=={version} failed: {(done.stderr or done.stdout).strip()[-300:]}")


def _minor(version: str) -> _Minor:
    major, _, minor = version.partition(".")
    return int(major), int(minor.split(".", 1)[0] or 0)
