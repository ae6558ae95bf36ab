"""Writing fixed files back (``--apply``) without losing anyone's work.

Every write:

* goes to the file a ``.py`` symlink points to when that file is inside the link's project
  (the link stays a link), and is refused for a link that leads out of it;
* is refused for a read-only file (no write bit, decided from the mode bits, so it holds for
  root too) and for a file deleted since it was read;
* is atomic: a temporary file, created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` next to the
  target, fsync'ed, given the file's mode (and owner, where allowed), renamed over it;
* re-checks, right before that rename, that the file still holds the bytes the fix was
  computed from: a file changed since it was read (an edit saved during the run) is skipped.

A failed write does not stop the others; every failure is returned for the report. SIGINT,
SIGTERM and SIGHUP stop the run between two files, so a signal leaves no ``*.recode-tmp`` file
behind and no file half-written. Only SIGKILL (or a crash) can leave one: a later ``--apply``
removes ``.NAME.<12 hex digits>.recode-tmp`` next to a file NAME it writes, when that is a
regular file of this user not modified for :data:`LEFTOVER_AGE` seconds, and reports it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from recode_lsp.engine.digest import digest as content_digest

if TYPE_CHECKING:
    from recode_lsp.cli.runner import FileResult

TEMP_SUFFIX = ".recode-tmp"
#: A leftover temporary untouched this long (seconds) belongs to no running write: one file's
#: write takes well under a second, and another run still writing would keep touching it.
LEFTOVER_AGE = 600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: Signals that stop a run between two files, never in the middle of one.
_STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class WriteRefused(Exception):
    """A file that is deliberately not written; the message says why."""


@dataclass(frozen=True)
class WriteProblem:
    """A file that was not written, and why (shown to the user)."""

    path: str
    reason: str


@dataclass
class WriteOutcome:
    written: list[str] = field(default_factory=list)
    problems: list[WriteProblem] = field(default_factory=list)
    #: Files with fixes that were not attempted because a signal stopped the run.
    not_attempted: list[str] = field(default_factory=list)
    #: The name of the signal that stopped the run ("SIGTERM"), if one did.
    interrupted: str | None = None
    #: Temporary files of an earlier, killed run that were removed (see :func:`remove_leftovers`).
    removed_leftovers: list[str] = field(default_factory=list)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def write_target(path: str) -> str:
    """The file a write of ``path`` goes to: ``path``, or the target of a ``.py`` symlink.

    A symlink is followed only to a file inside the project the link lives in (the nearest
    folder above it with ``pyproject.toml`` or ``.git``); :class:`WriteRefused` otherwise.
    """
    if not os.path.islink(path):
        return path
    from recode_lsp.cli.config import find_project_root

    real = os.path.realpath(path)
    tree = os.path.realpath(find_project_root(Path(os.path.abspath(path)).parent))
    if not _inside(real, tree):
        raise WriteRefused(f"a symlink to {real}, outside the project {tree}; the target is left unchanged")
    return real


def _read_all(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY | _CLOEXEC)
    try:
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def write_checked(path: str | os.PathLike[str], data: bytes, *, expected_digest: str | None) -> str:
    """Replace the content of ``path`` with ``data`` atomically; returns the path written.

    ``expected_digest``: the digest (:func:`recode_lsp.engine.digest.digest`) of the bytes the
    new content was computed from; the write is refused when the file no longer holds them
    (None: no check). Raises :class:`WriteRefused` for a deliberate refusal and
    :class:`OSError` for a failed write; either way the file is unchanged and no temporary
    file is left.
    """
    target = write_target(os.fspath(path))
    try:
        info = os.stat(target)
    except FileNotFoundError:
        raise WriteRefused("deleted since it was read; not recreated") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteRefused("not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    # Decided from the mode bits: as root os.access() says yes, and a rename ignores them anyway.
    if not mode & 0o222:
        raise WriteRefused(f"read-only file (mode {mode:04o}); make it writable to let --apply change it")
    if not os.access(target, os.W_OK):
        raise WriteRefused(f"not writable by this user (mode {mode:04o})")
    folder, name = os.path.split(os.path.abspath(target))
    temporary = f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
    dir_fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    created = False
    try:
        fd = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY | _CLOEXEC,
            0o600,
            dir_fd=dir_fd,
        )
        created = True
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.fchmod(fd, mode)
            with contextlib.suppress(OSError):  # keep the owner where we may (root rewriting a user's file)
                os.fchown(fd, info.st_uid, info.st_gid)
        finally:
            os.close(fd)
        # Right before the rename: the file must still be what the fix was computed from.
        if expected_digest is not None:
            try:
                current = _read_all(target)
            except FileNotFoundError:
                raise WriteRefused("deleted since it was read; not recreated") from None
            if content_digest(current) != expected_digest:
                raise WriteRefused("changed since it was read; not overwritten (run again to fix it)")
        os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        created = False
    finally:
        if created:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=dir_fd)
        os.close(dir_fd)
    return target


def remove_leftovers(target: str, *, listing: dict[str, list[str]]) -> list[str]:
    """Remove the temporaries a killed write of ``target`` left next to it; returns their paths.

    Only names this module creates for ``target`` (``.NAME.<12 hex>.recode-tmp``), only regular
    files (never a link or a folder) owned by this user and unmodified for :data:`LEFTOVER_AGE`
    seconds: a recent one may belong to a run still writing. ``listing`` caches each folder's
    candidate names, so a folder is listed once per run. Failures are ignored (it is tidying).
    """
    import time

    folder, name = os.path.split(os.path.abspath(target))
    if folder not in listing:
        try:
            listing[folder] = [entry for entry in os.listdir(folder) if entry.endswith(TEMP_SUFFIX)]
        except OSError:
            listing[folder] = []
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{12}}{re.escape(TEMP_SUFFIX)}")
    candidates = [entry for entry in listing[folder] if pattern.fullmatch(entry)]
    if not candidates:
        return []
    removed: list[str] = []
    getuid = getattr(os, "getuid", None)
    limit = time.time() - LEFTOVER_AGE
    try:
        dir_fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except OSError:
        return []
    try:
        for entry in candidates:
            try:
                info = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
                if (
                    stat.S_ISREG(info.st_mode)
                    and (getuid is None or info.st_uid == getuid())
                    and info.st_mtime < limit
                ):
                    # Unlinking by name in this folder: were it swapped for a link meanwhile, the link goes.
                    os.unlink(entry, dir_fd=dir_fd)
                    removed.append(os.path.join(os.path.dirname(target), entry))
            except OSError:
                continue
    finally:
        os.close(dir_fd)
    return removed


class _StopRequest:
    """The first stop signal that arrived while files were written (None: none did)."""

    signum: int | None = None

    @property
    def name(self) -> str | None:
        if self.signum is None:
            return None
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


@contextlib.contextmanager
def _stop_between_files() -> Iterator[_StopRequest]:
    """Turn SIGINT, SIGTERM and SIGHUP into a request to stop after the file being written.

    The handler only records the signal, so a write is never cut in the middle (no
    ``*.recode-tmp`` left, no half-written file); the loop stops before the next file. Signals
    the user already ignores (``nohup``) stay ignored; handlers are restored afterwards.
    """
    request = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, frame: object) -> None:
        if request.signum is None:
            request.signum = signum

    previous = {}
    for signum in _STOP_SIGNALS:
        try:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue
            previous[signum] = signal.signal(signum, handler)
        except (OSError, ValueError):
            continue
    try:
        yield request
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def not_written(result: FileResult, reason: str) -> None:
    """Report ``result``'s fixes as not applied (the report must not count them as fixed)."""
    result.not_fixed.extend((record, f"not written: {reason}") for record in result.fixed)
    result.fixed = []
    result.new_text = None
    result.new_bytes = None


def write_results(results: Iterable[FileResult]) -> WriteOutcome:
    """Write every result that has new bytes; keep going after a failure, report them all.

    Results that were not written are changed in place so that the report says so: their
    fixes move to ``not_fixed`` with the reason, and ``new_text`` / ``new_bytes`` are cleared.
    """
    outcome = WriteOutcome()
    pending = [result for result in results if result.new_bytes is not None]
    # The real file each write went to, with the bytes written: a symlink and its target
    # are both listed by a walk, and the second write of the same fix is no change.
    done: dict[str, bytes] = {}
    listing: dict[str, list[str]] = {}
    with _stop_between_files() as stop:
        for index, result in enumerate(pending):
            if stop.signum is not None:
                outcome.interrupted = stop.name
                outcome.not_attempted = [r.path for r in pending[index:]]
                for rest in pending[index:]:
                    not_written(rest, f"interrupted by {stop.name}")
                break
            data = result.new_bytes
            assert data is not None
            try:
                real = os.path.realpath(result.path)
                if real in done:
                    if done[real] != data:
                        raise WriteRefused("another path to the same file was written first")
                    continue
                outcome.removed_leftovers += remove_leftovers(write_target(result.path), listing=listing)
                write_checked(result.path, data, expected_digest=result.read_digest)
                done[real] = data
                outcome.written.append(result.path)
            except WriteRefused as exc:
                outcome.problems.append(WriteProblem(result.path, str(exc)))
                not_written(result, str(exc))
            except OSError as exc:
                reason = f"cannot write: {exc.strerror or exc}"
                outcome.problems.append(WriteProblem(result.path, reason))
                not_written(result, reason)
        # A signal after the last write stops nothing: every file was written.
    return outcome
