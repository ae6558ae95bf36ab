"""The check-result cache: plain JSON in the user's cache folder, never in the analysed tree.

A cache is data, not code: entries are JSON (never pickle), and the folder is the user's own
(``$RECODE_CACHE_DIR``, else ``$XDG_CACHE_HOME/recode``, else ``~/.cache/recode``), so a cloned
repository cannot plant entries; a ``.recode_cache/`` committed to a project is never read.
One file holds one project's results: its name digests the project's absolute root, the tool
version, the knowledge base's fingerprint and the options. Inside, results are keyed by the
digest of a file's content; ``(size, mtime)`` per absolute path only saves re-hashing.
``--diff`` and ``--apply`` keep their fixes too (what was fixed, what was not and why, the
fixed bytes, compressed), keyed by the content digest and what else decides a fix: whether
unsafe fixes are on and the installed versions checked against (:func:`fix_key`); only the
latest content of each path keeps them.

Reading tolerates anything (a file of the wrong shape, truncated, huge, a symlink): the cache
is then empty. Writing never follows a symlink: the folder is opened with ``O_NOFOLLOW``,
the temporary file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random name, and
``os.replace`` renames it over the entry (a rename replaces a link, it does not write through it).
"""

from __future__ import annotations

import gc
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from recode_lsp import __version__
from recode_lsp.cache_home import cache_home
from recode_lsp.engine.digest import digest as content_digest

if TYPE_CHECKING:
    from recode_lsp.cli.runner import FileResult, Record, RunSettings
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.options import DetectOptions

#: Bump when the layout of a cache file changes; older files are then ignored.
FORMAT = 2
#: A cache file larger than this is ignored (a 10,000-file project needs ~2 MB).
MAX_CACHE_BYTES = 64 * 1024 * 1024
#: ``Record``'s fields in order, with their JSON types (a row that differs is dropped).
_RECORD_TYPES = (str, str, int, int, int, int, str, str, str, str)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def cache_key(*, root: Path, kb: KnowledgeBase, options: DetectOptions, check_syntax: bool = False) -> str:
    """What a cached result depends on besides the file's content, as one string.

    ``check_syntax`` (``--check-syntax``) adds to the key: without it a file the prefilter rules
    out is stored as clean without being parsed, which a run that reports syntax errors must
    not reuse.
    """
    parts: list[object] = [
        FORMAT,
        os.path.abspath(root),
        __version__,
        kb.fingerprint,
        sorted([k, str(v)] for k, v in options.targets.items()),
        list(options.select),
        list(options.ignore),
        sorted(options.libraries) if options.libraries is not None else None,
    ]
    if check_syntax:
        parts.append("check-syntax")
    return json.dumps(parts)


def fix_key(settings: RunSettings) -> str:
    """What a file's fixes depend on besides its content and :func:`cache_key`."""
    installed = sorted([name, str(version)] for name, version in settings.installed.items())
    return content_digest(json.dumps([settings.unsafe, installed]).encode(), 16)


T = TypeVar("T")

#: ``runner.FileResult`` and ``runner.Record``, imported at the first lookup (runner imports this
#: module): a warm run looks up every file, and an import statement per call was a tenth of it.
_RUNNER: tuple[type[FileResult], type[Record]] | None = None


def _import_runner() -> tuple[type[FileResult], type[Record]]:
    global _RUNNER
    from recode_lsp.cli.runner import FileResult, Record

    _RUNNER = (FileResult, Record)
    return _RUNNER


def _valid_row(row: object) -> bool:
    return type(row) is list and list(map(type, row)) == _ROW_TYPES  # one type each, as JSON gives them


_ROW_TYPES = list(_RECORD_TYPES)


def _valid_entry(entry: object) -> tuple[list[list[object]], str | None, bool] | None:
    """A stored check result, ``[rows, error, skipped by the prefilter]`` as JSON gives it, checked
    with exact type tests (a list is a list, never a subclass) and no generator per entry; None when
    it is of another shape."""
    if type(entry) is list and len(entry) == 3:
        rows, error, prefiltered = entry
        if (
            type(rows) is list
            and (error is None or type(error) is str)
            and type(prefiltered) is bool
            and (not rows or all(map(_valid_row, rows)))
        ):
            return rows, error, prefiltered
    return None


def _cached_result(path: str, rows: list[list[object]], error: str | None, prefiltered: bool) -> FileResult:
    """The result of ``path`` a stored entry gives back."""
    result_class, record_class = _RUNNER or _import_runner()
    result = result_class(path, [record_class(*row) for row in rows] if rows else [], error)  # type: ignore[arg-type]
    result.from_cache = True
    result.skipped_by_prefilter = prefiltered
    return result


def _rows(records: Iterable[Record]) -> list[list[object]]:
    """Records as stored: each one's fields in order."""
    return [list(vars(record).values()) for record in records]


def _without_collector(parse: Callable[[bytes], T], data: bytes) -> T:
    """``parse(data)`` with the cyclic garbage collector paused: parsing a cache file allocates an
    object or more per entry (tens of thousands on a large tree), none of them garbage, and the
    collections they triggered walked them again and again."""
    if not gc.isenabled():  # paused by the caller
        return parse(data)
    gc.disable()
    try:
        return parse(data)
    finally:
        gc.enable()


def _open_folder(folder: Path, *, create: bool) -> int | None:
    """A descriptor of ``folder`` opened without following a symlink; None when unusable.

    A folder that is a symlink, or is owned by another user, is refused: either could let
    someone else decide what is read or where it is written.
    """
    if create:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return None
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        getuid = getattr(os, "getuid", None)
        if not stat.S_ISDIR(info.st_mode) or (getuid is not None and info.st_uid != getuid()):
            os.close(fd)
            return None
    except OSError:
        os.close(fd)
        return None
    return fd


def read_entry(folder: Path, name: str, limit: int = MAX_CACHE_BYTES) -> bytes | None:
    """The bytes of the cache file ``name`` in ``folder``; None when it is missing, larger than
    ``limit``, not a regular file, or reached through a symlink (see :func:`_open_folder`)."""
    fd = _open_folder(folder, create=False)
    if fd is None:
        return None
    try:
        handle = os.open(name, os.O_RDONLY | _NOFOLLOW | _BINARY | _CLOEXEC, dir_fd=fd)
    except (OSError, NotImplementedError):
        return None
    finally:
        os.close(fd)
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        chunks = []
        left = limit + 1  # never trust st_size alone: read at most the cap
        while left > 0:
            chunk = os.read(handle, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(handle)


def write_entry(folder: Path, name: str, data: bytes, *, prune: str) -> None:
    """Write the cache file ``name`` in ``folder`` (see :func:`write_atomically`), then drop the
    files there named ``prune``... not written for a month; a failure only costs time."""
    fd = _open_folder(folder, create=True)
    if fd is None:
        return
    try:
        if write_atomically(fd, name, data):
            _prune(fd, keep=name, prefix=prune)
    except (OSError, NotImplementedError):
        pass
    finally:
        os.close(fd)


def _prune(fd: int, *, keep: str, max_age_days: int = 30, prefix: str = "check-") -> None:
    """Drop other projects' cache files not written for a month (one file per project and options)."""
    import time

    limit = time.time() - max_age_days * 86400
    try:
        names = os.listdir(fd)
    except OSError:
        return
    for name in names:
        if name == keep or not name.startswith(prefix) or not name.endswith(".json"):
            continue
        try:
            if os.stat(name, dir_fd=fd, follow_symlinks=False).st_mtime < limit:
                os.unlink(name, dir_fd=fd)
        except OSError:
            continue


class ResultCache:
    """Check results keyed by file content, in the user's cache folder (see the module docstring).

    Entries are looked up by (path, size, mtime) first, so unchanged files are not even read;
    a file whose stat changed is hashed and looked up by content.
    """

    def __init__(
        self,
        root: Path,
        kb: KnowledgeBase,
        options: DetectOptions,
        *,
        folder: Path | None = None,
        check_syntax: bool = False,
    ) -> None:
        key = cache_key(root=root, kb=kb, options=options, check_syntax=check_syntax)
        self.key = key
        self.folder = folder if folder is not None else cache_home() / "check"
        self.name = f"check-{content_digest(key.encode(), 16)}.json"
        #: absolute path -> (size, mtime_ns, content digest)
        self.by_stat: dict[str, tuple[int, int, str]] = {}
        #: content digest -> (record rows, error, skipped by the prefilter)
        self.by_hash: dict[str, tuple[list[list[object]], str | None, bool]] = {}
        #: "content digest:fix key" -> (fixed rows, not-fixed rows each with its reason last,
        #: the fixed bytes zlib-compressed in base64 or None)
        self.by_fix: dict[str, tuple[list[list[object]], list[list[object]], str | None]] = {}
        #: absolute path -> (size, mtime_ns) of the files a cold lookup did not read (see lookup)
        self._unread: dict[str, tuple[int, int]] = {}
        #: (size, mtime_ns) of files the caller took just before the lookups (``main._sized``):
        #: each serves the file's next lookup once, in place of another stat.
        self.stats: dict[str, tuple[int, int]] = {}
        #: The working folder with a trailing separator, taken once (see :meth:`_absolute`).
        self._base: str | None = None
        self.dirty = False
        self._load()

    # --- reading --------------------------------------------------------------------------

    def _read_bytes(self) -> bytes | None:
        return read_entry(self.folder, self.name)

    def _load(self) -> None:
        """Read the cache file; anything unexpected leaves the cache empty (it only costs time)."""
        data = self._read_bytes()
        if data is not None:
            _without_collector(self._parse, data)

    def _parse(self, data: bytes) -> None:
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            return
        if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("key") != self.key:
            return
        by_stat = document.get("by_stat")
        by_hash = document.get("by_hash")
        by_fix = document.get("by_fix", {})
        if not isinstance(by_stat, dict) or not isinstance(by_hash, dict) or not isinstance(by_fix, dict):
            return
        for key, entry in by_fix.items():
            if not (isinstance(entry, list) and len(entry) == 3):
                continue
            fixed, not_fixed, data = entry
            if (
                isinstance(fixed, list)
                and all(_valid_row(row) for row in fixed)
                and isinstance(not_fixed, list)
                and all(
                    isinstance(row, list) and _valid_row(row[:-1]) and isinstance(row[-1], str) for row in not_fixed
                )
                and (data is None or isinstance(data, str))
            ):
                self.by_fix[key] = (fixed, not_fixed, data)
        # Every entry of a warm run is looked up, so each is checked here, with exact type tests
        # (what JSON gives: a list is a list, never a subclass) and no generator per entry.
        own_stat = self.by_stat
        for path, entry in by_stat.items():
            if type(entry) is list and len(entry) == 3:
                size, mtime, digest = entry
                if type(size) is int and type(mtime) is int and type(digest) is str:
                    own_stat[path] = (size, mtime, digest)
        own_hash = self.by_hash
        for digest, entry in by_hash.items():
            valid = _valid_entry(entry)
            if valid is not None:
                own_hash[digest] = valid

    # --- lookups --------------------------------------------------------------------------

    def _stat(self, path: str) -> tuple[int, int] | None:
        taken = self.stats.pop(path, None)
        if taken is not None:
            return taken
        try:
            info = os.stat(path)
        except OSError:
            return None
        return info.st_size, info.st_mtime_ns

    def _absolute(self, path: str) -> str:
        """``os.path.abspath(path)``, without its per-call work where ``path`` is already normal.

        The files listed under a folder (``pkg/mod.py``) are relative, normal names: joined to
        the working folder, taken once, they are what ``abspath`` gives (issue 15: ``abspath``
        of every file was half of a warm run's cache lookups).
        """
        if (
            os.sep == "/"
            and path
            and path[0] not in "/."
            and "/." not in path
            and "//" not in path
            and not path.endswith("/")
        ):
            if self._base is None:
                cwd = os.getcwd()
                self._base = cwd if cwd.endswith("/") else cwd + "/"
            return self._base + path
        return os.path.abspath(path)

    def _digest(self, path: str) -> str | None:
        """Content digest of ``path``, trusted from the last run while its size and mtime hold."""
        current = self._stat(path)
        if current is None:
            return None
        absolute = self._absolute(path)
        known = self.by_stat.get(absolute)
        if known is not None and known[0] == current[0] and known[1] == current[1]:
            return known[2]
        try:
            digest = content_digest(Path(path).read_bytes())
        except OSError:
            return None
        self.by_stat[absolute] = (*current, digest)
        self.dirty = True
        return digest

    def lookup(self, path: str) -> FileResult | None:
        if not self.by_hash:
            # A cold cache holds no result to find: the file is not read and hashed here (44 MB on
            # the bench corpus, before any worker starts); its stat, taken now (before the worker
            # reads it, as :meth:`_digest` would), is stored with the digest of what the worker read.
            current = self._stat(path)
            if current is not None:
                self._unread[self._absolute(path)] = current
            return None
        # The warm path of :meth:`_digest`, inline: the stat ``main._sized`` took, matching the last run's.
        digest: str | None = None
        taken = self.stats.pop(path, None)
        if taken is not None:
            known = self.by_stat.get(self._absolute(path))
            if known is not None and known[0] == taken[0] and known[1] == taken[1]:
                digest = known[2]
            else:
                self.stats[path] = taken  # for _digest, which takes it again
        if digest is None:
            digest = self._digest(path)
        entry = self.by_hash.get(digest) if digest is not None else None
        if entry is None:
            return None
        result = _cached_result(path, *entry)
        result.read_digest = digest
        return result

    def lookup_fix(self, cached: FileResult, key: str) -> FileResult | None:
        """``cached`` (a check result from :meth:`lookup`) with the fixes a ``--diff`` / ``--apply``
        of the same bytes made, when they are known; None otherwise."""
        import base64
        import binascii
        import zlib

        from recode_lsp.cli.runner import Record

        entry = self.by_fix.get(f"{cached.read_digest}:{key}")
        if entry is None:
            return None
        fixed, not_fixed, data = entry
        if data is not None:
            from recode_lsp.cli.files import DecodeError, decode_source

            try:
                cached.new_bytes = zlib.decompress(base64.b64decode(data))
                cached.new_text = decode_source(cached.new_bytes).text
            except (binascii.Error, zlib.error, ValueError, DecodeError):
                return None
        cached.fixed = [Record(*row) for row in fixed]  # type: ignore[arg-type]
        cached.not_fixed = [(Record(*row[:-1]), str(row[-1])) for row in not_fixed]  # type: ignore[arg-type]
        return cached

    def store_fix(self, result: FileResult, key: str) -> None:
        """Remember the fixes of a ``--diff`` / ``--apply`` run under the digest of the bytes read."""
        import base64
        import zlib

        if result.read_digest is None or result.error is not None or result.model_fixed:
            return
        data = None
        if result.new_bytes is not None:
            data = base64.b64encode(zlib.compress(result.new_bytes, 6)).decode("ascii")
        fixed = _rows(result.fixed)
        not_fixed = [[*vars(record).values(), reason] for record, reason in result.not_fixed]
        self.by_fix[f"{result.read_digest}:{key}"] = (fixed, not_fixed, data)
        self.dirty = True

    def store(self, result: FileResult) -> None:
        """Remember ``result`` under the digest of the bytes it was computed from."""
        # The digest of what the worker read, not of the file now: it may have changed since.
        digest = result.read_digest or self._digest(result.path)
        if digest is None:
            return
        absolute = self._absolute(result.path)
        stat_before_read = self._unread.pop(absolute, None)
        if stat_before_read is not None and result.read_digest is not None:
            self.by_stat[absolute] = (*stat_before_read, result.read_digest)
        self.by_hash[digest] = (_rows(result.records), result.error, result.skipped_by_prefilter)
        self.dirty = True

    # --- writing --------------------------------------------------------------------------

    def save(self) -> None:
        """Write the cache atomically, never through a symlink; a failure only costs time."""
        if not self.dirty:
            return
        # Fixed bytes are kept for the latest content of each path only (they are whole files).
        current = {entry[2] for entry in self.by_stat.values()}
        document = {
            "format": FORMAT,
            "key": self.key,
            "by_stat": {path: list(entry) for path, entry in self.by_stat.items()},
            "by_hash": {digest: [rows, error, pre] for digest, (rows, error, pre) in self.by_hash.items()},
            "by_fix": {
                key: [fixed, not_fixed, data]
                for key, (fixed, not_fixed, data) in self.by_fix.items()
                if key.split(":", 1)[0] in current
            },
        }
        data = json.dumps(document, separators=(",", ":")).encode()
        if len(data) <= MAX_CACHE_BYTES:  # else it would be ignored when read
            write_entry(self.folder, self.name, data, prune="check-")


def write_atomically(folder_fd: int, name: str, data: bytes) -> bool:
    """Write ``name`` in the folder open as ``folder_fd``: a fresh temporary file (0600, never
    through a symlink) replaced in one step. False when it failed; no temporary file stays."""
    import secrets

    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    created = False
    try:
        handle = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC, 0o600, dir_fd=folder_fd
        )
        created = True
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
        finally:
            os.close(handle)
        os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        created = False
        return True
    except (OSError, NotImplementedError):
        return False
    finally:
        if created:
            try:
                os.unlink(temporary, dir_fd=folder_fd)
            except OSError:
                pass


class RunMemo:
    """The results of a whole ``--check`` run, for the next run over the same unchanged files.

    :class:`ResultCache` answers each file by its stat, then by its content's digest. When every
    file of a run has the (path, size, mtime) it had in the last run with the same settings, the
    results are the ones that run wrote there; this memo keeps them as one list, in the order of the
    files, so such a run reads one small file instead of the per-file cache and its thousands of
    lookups (issue 15: the warm run's cache work, 18 ms of 115 on 3,046 files, becomes 3 ms). Any
    change in the listing (a file edited, added, removed or touched) misses it, and the run goes
    through the per-file cache as before; a file that could not be read or hashed is never
    remembered this way.
    """

    def __init__(
        self, key: str, files: Sequence[str], stats: Mapping[str, tuple[int, int]], folder: Path | None = None
    ) -> None:
        """``key``: the settings (a :func:`cache_key`, plus what else picks the files and their
        results); ``stats``: the (size, mtime_ns) of each of ``files``, every one of them taken."""
        self.key = key
        self.files = list(files)
        self.folder = folder if folder is not None else cache_home() / "check"
        self.name = f"run-{content_digest(key.encode(), 16)}.json"
        listing = "".join(f"{path}\0{stats[path][0]}\0{stats[path][1]}\n" for path in self.files)
        self.listing = content_digest(listing.encode("utf-8", "surrogateescape"), 16)

    def results(self) -> list[FileResult] | None:
        """The remembered results, in the order of the files; None unless the listing is the same."""
        data = read_entry(self.folder, self.name)
        return None if data is None else _without_collector(self._results, data)

    def _results(self, data: bytes) -> list[FileResult] | None:
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            return None
        if (
            type(document) is not dict
            or document.get("format") != FORMAT
            or document.get("key") != self.key
            or document.get("listing") != self.listing
        ):
            return None
        entries = document.get("results")
        if type(entries) is not list or len(entries) != len(self.files):
            return None
        results: list[FileResult] = []
        for path, entry in zip(self.files, entries, strict=True):
            valid = _valid_entry(entry)
            if valid is None:
                return None
            results.append(_cached_result(path, *valid))
        return results

    def save(self, results: Sequence[FileResult]) -> None:
        """Remember ``results`` (of the files, in their order) when each was read and hashed."""
        if len(results) != len(self.files) or any(
            result.read_digest is None or result.path != path for result, path in zip(results, self.files, strict=True)
        ):
            return
        document = {
            "format": FORMAT,
            "key": self.key,
            "listing": self.listing,
            "results": [[_rows(result.records), result.error, result.skipped_by_prefilter] for result in results],
        }
        data = json.dumps(document, separators=(",", ":")).encode()
        if len(data) <= MAX_CACHE_BYTES:
            write_entry(self.folder, self.name, data, prune="run-")
