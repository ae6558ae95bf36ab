"""Setting the too-new check up for a run: which libraries, at which versions, read from where."""

from __future__ import annotations

import gc
import operator
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.versions import PYTHON, Version, normalise_name
from recode_lsp.toonew.check import TooNew
from recode_lsp.toonew.inventory import Inventory, InventoryError, default_cache_dir, inventory_for

#: A folder of releases (``name-version/`` trees, wheels or sdists, as ``recode-kb scrape --dist``
#: takes) read instead of installed or fetched ones: offline use and tests.
RELEASES_ENV = "RECODE_RELEASES_DIR"
#: Bytes of each file read to find its imports (imports come first in nearly every module).
_HEAD = 64 * 1024
#: The word after each ``import`` / ``from`` (a look-ahead: the word itself may start the next match); after
#: ``import``, the rest of a statement that lists more modules (``import os, numpy``: a backslash may
#: continue its line), else empty.
_IMPORTED_WORDS = re.compile(rb"import\s+(?=(\w+)(?:[\w.]*(?:[ \t]+as[ \t]+\w+)?[ \t]*,((?:[^\r\n#;\\]|\\\r?\n)*))?)")
_FROM_WORD = re.compile(rb"from\s+(?=(\w+))")
_FIRST_WORD = re.compile(rb"\s*(\w+)")
_FIRST, _REST = operator.itemgetter(0), operator.itemgetter(1)
#: Files from which the search for imports is worth a process of its own (:func:`_imported_tops_started`).
_FORK_FROM = 200
#: Files searched in the calling process before another is started (:func:`_imported_tops_started`).
_SEARCHED_HERE = 32
#: Ends what the searching process writes: a process that died midway is not read as "nothing imported".
_DONE = b"\0"


def candidate_targets(
    resolved: Mapping[str, Version | None], project_root: Path | None, extra: Mapping[str, Version] | None = None
) -> dict[str, Version]:
    """Each library with a known target version: the run's resolved targets (``--target``,
    ``[tool.recode]``, pins, installed) and any library the project pins, in or out of the knowledge
    base, and Python (its standard library is read from typeshed's stubs: :mod:`.stdlib`)."""
    found: dict[str, Version] = {}
    if project_root is not None:
        from recode_lsp.engine.versions import pins_from_project

        for name, (version, _) in pins_from_project(project_root).items():
            found[normalise_name(name)] = version
    for name, version in (extra or {}).items():
        found[normalise_name(name)] = version
    for name, target in resolved.items():
        if target is not None:
            found[normalise_name(name)] = target
    return found


def tops_of(targets: Mapping[str, Version]) -> dict[str, str]:
    """Top-level module -> library for the libraries of ``targets``; with a Python target, each public
    module of the standard library that typeshed knows at that version (none without a typeshed)."""
    from recode_lsp.engine.facts import top_package

    by_top = {top_package(library): library for library in targets if library != PYTHON}
    if PYTHON in targets:
        from recode_lsp.toonew.stdlib import modules

        for top in modules(targets[PYTHON]):
            by_top.setdefault(top, PYTHON)
    return by_top


def imported_tops(paths: Iterable[str], data: Iterable[bytes], tops: Iterable[str]) -> set[str]:
    """The packages among ``tops`` that the files (``paths``, plus ``data`` already read) import."""
    names = {name.encode() for name in tops}
    if not names:
        return set()
    found: set[bytes] = set()

    def scan(blob: bytes) -> None:
        # Each word after ``import`` / ``from``, looked up in a set: an alternation of the names (some
        # 200 with a Python target's standard library) tried at each import cost four times as much.
        imports = _IMPORTED_WORDS.findall(blob)
        found.update(names.intersection(map(_FIRST, imports)))
        for rest in filter(None, map(_REST, imports)):  # ``import os, numpy``: few statements list more
            for item in rest.replace(b"\\", b" ").split(b","):
                word = _FIRST_WORD.match(item)
                if word is not None and word.group(1) in names:
                    found.add(word.group(1))
        found.update(names.intersection(_FROM_WORD.findall(blob)))

    for blob in data:
        scan(blob)
    for path in paths:
        if len(found) == len(names):
            break
        # The head of each file read without a buffered file object (a third cheaper over 700 files).
        try:
            descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError:
            continue
        try:
            blob = os.read(descriptor, _HEAD)
        except OSError:
            continue
        finally:
            os.close(descriptor)
        scan(blob)
    return {name.decode() for name in found}


def _imported_tops_started(paths: Sequence[str], tops: Iterable[str]) -> Callable[[], set[str]] | None:
    """:func:`imported_tops` of ``paths``, searched in a forked process while the caller goes on with
    other work (its answer: the function returned, which waits for it); None where that is not worth
    it or cannot be done (then the caller searches the files itself).

    The search reads the head of every file (a tenth of a cold ``--check`` of scikit-learn's tree);
    ``recode-migrate`` builds its prefilter meanwhile on the other core. Only on Linux, where ``fork``
    is cheap and safe, with another core, and in a process with no other thread (a fork copies only
    the calling thread: a lock another one held would stay held in the copy)."""
    if (
        not sys.platform.startswith("linux")
        or len(paths) < _FORK_FROM
        or (os.cpu_count() or 1) < 2
        or threading.active_count() != 1
    ):
        return None
    names = list(tops)
    # The first files are searched here: where they import every one of ``tops`` (a run that checks a
    # library or two and not the standard library: NumPy is in the first file), the search ends with
    # them, and a process of its own would cost more than it saves.
    first = imported_tops(paths[:_SEARCHED_HERE], (), names)
    if len(first) == len(names):
        return lambda: first
    paths = paths[_SEARCHED_HERE:]
    names = [name for name in names if name not in first]
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    # The objects there are now are left alone by the collector while the process lives: a collection
    # would write to each (a copy of every page they are on, for the two processes to share no more).
    frozen = gc.get_freeze_count() == 0  # else the embedding program froze them: its to undo
    if frozen:
        gc.freeze()
    try:
        pid = os.fork()
    except OSError:
        if frozen:
            gc.unfreeze()
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the searching process: it writes its answer and ends, whatever happens
        status = 1
        try:
            os.close(read_end)
            unwritten = memoryview("\n".join(sorted(imported_tops(paths, (), names))).encode() + _DONE)
            while unwritten:
                unwritten = unwritten[os.write(write_end, unwritten) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def answer() -> set[str]:
        with open(read_end, "rb") as pipe:
            written = pipe.read()
        _, status = os.waitpid(pid, 0)
        if frozen:
            gc.unfreeze()
        if status != 0 or not written.endswith(_DONE):
            return first | imported_tops(paths, (), names)  # the process failed: the files are searched here
        return first | {name for name in written[: -len(_DONE)].decode().split("\n") if name}

    return answer


def prepare(
    targets: Mapping[str, Version],
    kb: KnowledgeBase,
    *,
    paths: Iterable[str] = (),
    data: Iterable[bytes] = (),
    warn: TextIO | None = None,
    dist_dir: Path | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> TooNew:
    """The check for the libraries with a target that the files import; a release that cannot be
    read is left out with a warning (its names are then not checked).

    ``meanwhile``: work of the caller's to do while the files are searched for their imports in another
    process (where :func:`_imported_tops_started` can). Where they are searched here it is left undone:
    the caller does it when it needs it (a run whose results are all cached needs no prefilter)."""
    if dist_dir is None and os.environ.get(RELEASES_ENV):
        dist_dir = Path(os.environ[RELEASES_ENV])
    by_top = tops_of(targets)
    paths = list(paths)
    started = _imported_tops_started(paths, by_top) if meanwhile is not None else None
    try:
        if started is not None and meanwhile is not None:
            meanwhile()
    finally:
        # Waited for even when ``meanwhile`` failed: no process is left behind.
        imported = started() if started is not None else imported_tops(paths, (), by_top)
    imported |= imported_tops((), data, by_top)
    inventories: list[Inventory] = []
    cache = default_cache_dir()  # once, not once per standard-library module
    for top in sorted(imported):
        library = by_top[top]
        if library == PYTHON:
            from recode_lsp.toonew.stdlib import cached_inventory

            module = cached_inventory(top, targets[PYTHON], cache_dir=cache)
            if module is not None and module.added:  # nothing newer: nothing to report there
                inventories.append(module)
            continue
        try:
            inventories.append(inventory_for(library, targets[library], dist_dir=dist_dir))
        except InventoryError as exc:
            if warn is not None:
                warn.write(f"recode-migrate: --too-new: {exc}; names of {library} are not checked\n")
    return TooNew.create(inventories, targets, kb)


def releases_read(check: TooNew) -> str:
    """``numpy-1.26.4,pandas-2.0.3``: what a cached result of the check depends on."""
    return ",".join(sorted(f"{i.library}-{i.version}" for i in check.inventories.values()))
