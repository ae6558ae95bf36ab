"""Current API docs: the new API's signature and docstring as the *target* version defines it.

Why this exists: mid-migration the project usually has the old release installed (NumPy 1)
while it moves to a new one (NumPy 2). Hover, the model prompt and the validator's "does this
name exist in the target version" check all need the target release's definitions, not what
happens to be installed, and not a paraphrase. So, for a qualified name and a target version:

1. If the workspace's interpreter has that release installed (same major.minor; no target means
   whatever is installed), the package is read from there.
2. Otherwise that release is fetched once, with ``pip download``, from the package index the
   user's pip is configured for (pip.conf, ``PIP_INDEX_URL``, ``PIP_FIND_LINKS``: private
   mirrors and offline wheel folders work as they do for installs). A wheel is preferred (the
   running platform's, else any platform's, found from pip's own list of the release's files),
   then the sdist. Only the package's ``.py``/``.pyi`` files are unpacked into the cache; a
   second lookup of the same release never runs pip, and what was read from a release is
   remembered beside it (a release never changes), so a new process does not parse it again.
3. Offline, or on any failure, the knowledge base's text is returned, with a note that says why.

Packages are always read *statically* with griffe (``allow_inspection=False``): importing a
library the user has not installed, or one built for another platform or Python, could fail or
run arbitrary code; parsing cannot. Re-exports are followed (``numpy.isin`` is defined in
``numpy.lib._arraysetops_impl``), stubs are merged with the sources, and overloads declared only
in stubs are rendered one per line.

Everything here blocks (pip runs, griffe parses a large package in seconds): the language server
calls it from a worker thread. Nothing raises; failures become notes.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache, partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from recode_lsp.engine.changes import DISPLAY_NAMES, ApiChange
from recode_lsp.engine.facts import distribution_of, top_package
from recode_lsp.engine.facts import package_root as _package_root
from recode_lsp.engine.versions import PYTHON, InvalidVersion, Version, metadata_version, normalise_name

if TYPE_CHECKING:
    import griffe

__all__ = ["ApiDoc", "ApiDocs", "distribution_of"]


#: How long a failed fetch is remembered before pip is asked again (hover must not hammer pip).
RETRY_FAILED_AFTER = 300.0
#: A fetch without a target version ("the newest release") is refreshed after this long.
LATEST_MAX_AGE = 7 * 86400.0
#: Loaded packages kept in memory (NumPy's tree is tens of megabytes; a stdlib module is small).
LOADED_PACKAGES = 8
#: Source files larger than this are not unpacked (generated tables, vendored blobs).
MAX_SOURCE_BYTES = 8 * 1024 * 1024
#: Folder names never unpacked: tests are most of the files of big packages and never API.
SKIPPED_FOLDERS = frozenset({"tests", "__pycache__"})
#: What a release folder holds (``release.json``'s ``layout``): 2 adds the compiled modules' stand-ins.
#: A folder of an older layout is fetched again when it can be (and used as it is when it cannot).
RELEASE_LAYOUT = 2
#: The suffix of the empty file that stands for a compiled module in an unpacked release (its ``.so``,
#: ``.pyd`` or Cython source, or a build file's extension), so that the name is known to exist there.
COMPILED_STAND_IN = ".compiled"
#: Files that are (the source of) a compiled module of the same name.
_COMPILED_SUFFIXES = (".so", ".pyd", ".pyx")
#: Build files that name extension modules: meson's ``extension_module('name', ...)``, numpy.distutils'
#: ``config.add_extension('name', ...)``, setuptools' ``Extension('pkg.name', ...)``.
_BUILD_FILES = frozenset({"meson.build", "setup.py"})
_EXTENSION_NAMES = re.compile(
    rb"""(?:extension_module|add_extension|Extension)\(\s*(?:name\s*=\s*)?['"]([\w.]+)['"]"""
)

STDLIB = sys.stdlib_module_names | {"builtins"}


@dataclass
class ApiDoc:
    """What a target version says about one API."""

    qualified_name: str
    signature: str | None
    docstring: str | None
    #: ``"installed"``, ``"fetched"`` or ``"knowledge-base"``.
    origin: str
    #: Version the text comes from (``"2.0.2"``), or the target version for knowledge-base text.
    version: str | None
    #: Where the text comes from, or why the knowledge base's text is shown.
    note: str
    #: ``"function"``, ``"class"``, ``"attribute"``, ``"module"``... (None for knowledge-base text).
    kind: str | None = None


class FetchError(Exception):
    """A release could not be fetched or unpacked; the message says why."""


@dataclass(frozen=True)
class _Package:
    """Where to read one package from, statically."""

    top: str
    search_paths: tuple[str, ...]
    version: str
    #: ``"installed"`` or ``"fetched"``.
    origin: str
    #: For notes: "installed in /path/python" or "fetched from the package index".
    where: str
    #: Load other top-level modules that re-exports point to (the standard library's
    #: ``collections.abc`` re-exports ``_collections_abc``); a library's own package suffices.
    external: bool = False
    #: File that remembers what was read (fetched releases only: they never change).
    memo: str | None = None


#: Bump when what is read from a package changes, so remembered answers are read again.
MEMO_FORMAT = 1


@dataclass(frozen=True)
class _Entry:
    """What a package says about one name."""

    #: ``"found"``, ``"missing"``, ``"dynamic"`` (may exist at run time) or ``"unreadable"``.
    state: str
    kind: str | None = None
    signature: str | None = None
    docstring: str | None = None
    error: str = ""


def _read_memo(path: Path) -> dict[str, _Entry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != MEMO_FORMAT:
            return {}
        return {name: _Entry(**fields) for name, fields in data["entries"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def _write_memo(path: Path, memo: dict[str, _Entry]) -> None:
    entries = {name: asdict(entry) for name, entry in memo.items() if entry.state != "unreadable"}
    temporary = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
    try:
        temporary.write_text(json.dumps({"format": MEMO_FORMAT, "entries": entries}), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


@dataclass
class _Interpreter:
    executable: str
    python: Version
    stdlib: str
    paths: list[str] = field(default_factory=list)


_PROBE = (
    "import json, sys, sysconfig\n"
    "print(json.dumps({'python': '.'.join(map(str, sys.version_info[:3])),"
    " 'stdlib': sysconfig.get_paths()['stdlib'], 'path': sys.path}))\n"
)


def _is_qualified_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _kill(process: subprocess.Popen[str]) -> None:
    """End ``process`` and everything it started (its own session), then reap it."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except OSError:
        pass
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=5)


def _same_interpreter(a: str, b: str) -> bool:
    """Same binary *and* same folder: every venv's ``python`` links to one base binary."""
    first, second = Path(a).absolute(), Path(b).absolute()
    return first.resolve() == second.resolve() and first.parent.resolve() == second.parent.resolve()


def _same_series(a: Version, b: Version) -> bool:
    return (a.major, a.minor) == (b.major, b.minor)


def _requirement(dist: str, version: Version | None) -> str:
    """``numpy==2.0.*`` for a two-part target (the newest 2.0.x), ``numpy==2.0.1`` for a full one."""
    if version is None:
        return dist
    if len(version.release) <= 2 and not (version.pre or version.post or version.dev or version.local):
        return f"{dist}=={version}.*"
    return f"{dist}=={version}"


def _pip_error(output: str) -> str:
    """The line of pip's output that says what went wrong."""
    errors = [line[len("ERROR:") :].strip() for line in output.splitlines() if line.startswith("ERROR:")]
    errors = [line for line in errors if line and not line.startswith("Exception")]
    if errors:
        return errors[0][:300]
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "pip failed without a message"


def _safe_relative(name: str) -> PurePosixPath | None:
    """An archive member's path, or None when it could escape the folder it is unpacked into."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or ":" in name:
        return None
    return path


def _wanted_source(path: PurePosixPath) -> bool:
    return path.suffix in (".py", ".pyi") and not (SKIPPED_FOLDERS & set(path.parts[:-1]))


class ApiDocs:
    """Signatures and docstrings of a library's API at a target version (see the module docs).

    ``interpreter`` is the workspace's Python (default: this one): it decides what is installed.
    ``pip_command`` runs pip (default: this interpreter's ``-m pip``); ``env`` overrides
    environment variables for it (tests point ``PIP_FIND_LINKS`` at a folder). ``timeout``
    bounds one fetch, all pip runs together.
    """

    def __init__(
        self,
        cache_dir: Path,
        interpreter: str | None = None,
        pip_command: list[str] | None = None,
        timeout: float = 60.0,
        *,
        env: Mapping[str, str] | None = None,
        retry_failed_after: float = RETRY_FAILED_AFTER,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.interpreter = interpreter
        self.pip_command = list(pip_command) if pip_command else [sys.executable, "-m", "pip"]
        self.timeout = timeout
        self.env = dict(env or {})
        self.retry_failed_after = retry_failed_after
        #: How many times pip ran (tests check the cache with it).
        self.pip_runs = 0
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, tuple[float, str]] = {}
        #: Names whose release :meth:`name_checker` is reading in the background (once each).
        self._background: set[tuple[str, str, str]] = set()
        self._loaded: OrderedDict[_Package, griffe.Module] = OrderedDict()
        self._probed: _Interpreter | None = None
        self._memos: dict[str, dict[str, _Entry]] = {}

    # --- public API --------------------------------------------------------------------

    def lookup(
        self, qualified_name: str, library: str, version: Version | None, change: ApiChange | None = None
    ) -> ApiDoc:
        """Signature and docstring of ``qualified_name`` in ``library`` at ``version``. Never raises."""
        try:
            return self._lookup(qualified_name, library, version, change)
        except Exception as exc:  # noqa: BLE001 - documentation must never break hover or a fix
            return self._knowledge(qualified_name, version, change, f"could not read {qualified_name}: {exc}")

    def exists(self, qualified_name: str, library: str, version: Version | None, *, fetch: bool = True) -> bool | None:
        """Whether ``qualified_name`` is defined in ``library`` at ``version``; None: cannot tell.

        With ``fetch=False`` only an installed or an earlier fetched release is consulted (no network).
        """
        return self._answer(qualified_name, library, version, fetch=fetch, at_hand=False)

    def known(self, qualified_name: str, library: str, version: Version | None) -> bool | None:
        """Like :meth:`exists`, answered only from what is at hand: never fetches nor loads.

        A name is known when its release (installed, or fetched before) was already loaded or
        its answer remembered on disk; anything else is None (cannot tell yet).
        """
        return self._answer(qualified_name, library, version, fetch=False, at_hand=True)

    def _answer(
        self, qualified_name: str, library: str, version: Version | None, *, fetch: bool, at_hand: bool
    ) -> bool | None:
        if not _is_qualified_name(qualified_name):
            return None
        try:
            where, library, version = self._route(qualified_name, library, version)
            if where.startswith("builtins."):
                return True
            package = self._package(where, library, version, fetch=fetch)
            if isinstance(package, str):
                return None
            entry = self._entry_at_hand(package, where) if at_hand else self._read(package, where)
        except Exception:  # noqa: BLE001 - "cannot tell" is the honest answer to any failure
            return None
        return {"found": True, "missing": False}.get(entry.state) if entry is not None else None

    def _entry_at_hand(self, package: _Package, where: str) -> _Entry | None:
        """What :meth:`_read` would say, if it can be said without loading the package."""
        memo = self._memo(package)
        with self._guard:
            entry = memo.get(where) if memo is not None else None
            module = self._loaded.get(package)
        if entry is not None or module is None:
            return entry
        found, dynamic = self._find(module, where)
        return _Entry("found" if found is not None else "dynamic" if dynamic else "missing")

    def name_checker(
        self, targets: Mapping[str, Version | None], *, fetch: bool = True, wait: bool = True
    ) -> Callable[[str, str], bool | None]:
        """A validator ``NameChecker``: ``(qualified name, library) -> bool | None`` at ``targets``.

        ``wait=False`` is for the language server, where a quick fix must never wait for a
        download or for griffe to read a package: the checker answers what is :meth:`known`
        now, and otherwise says "cannot tell" and reads the release in a background thread, so
        that the next fix that introduces a name of that release is checked.
        """

        def check(qualified_name: str, library: str) -> bool | None:
            version = targets.get(library)
            if wait:
                return self.exists(qualified_name, library, version, fetch=fetch)
            answer = self.known(qualified_name, library, version)
            if answer is None:
                self._read_in_background(qualified_name, library, version, fetch)
            return answer

        return check

    def _read_in_background(self, qualified_name: str, library: str, version: Version | None, fetch: bool) -> None:
        key = (qualified_name, library, str(version))
        with self._guard:
            if key in self._background:
                return
            self._background.add(key)
        threading.Thread(
            target=self.exists,
            args=(qualified_name, library, version),
            kwargs={"fetch": fetch},
            name="recode-api-docs-names",
            daemon=True,
        ).start()

    # --- lookup ------------------------------------------------------------------------

    def _route(self, qualified_name: str, library: str, version: Version | None) -> tuple[str, str, Version | None]:
        """The package that really defines ``qualified_name``, and the version that applies to it.

        A library's change may point at the standard library (``numpy.NINF`` -> ``math.inf``), a
        builtin (``numpy.bool_`` -> ``bool``) or a sibling distribution (``pydantic`` ->
        ``pydantic_settings.BaseSettings``), whose version is not the library's target: for
        those, whatever is installed, else the newest release, is read.
        """
        top = qualified_name.split(".", 1)[0]
        if "." not in qualified_name and hasattr(builtins, qualified_name):
            return f"builtins.{qualified_name}", PYTHON, version if library == PYTHON else None
        if top in sys.stdlib_module_names and top != top_package(library):
            return qualified_name, PYTHON, version if library == PYTHON else None
        if (library != PYTHON and top != top_package(library)) or (library == PYTHON and top not in STDLIB):
            return qualified_name, top.replace("_", "-"), None
        return qualified_name, library, version

    def _lookup(self, qualified_name: str, library: str, version: Version | None, change: ApiChange | None) -> ApiDoc:
        if not _is_qualified_name(qualified_name):
            return self._knowledge(qualified_name, version, change, f"{qualified_name!r} is not a qualified name")
        where, library, routed = self._route(qualified_name, library, version)
        if where.startswith("builtins."):
            why = f"`{qualified_name}` is a Python builtin, compiled code with no signature in the sources"
            return self._knowledge(qualified_name, version, change, why)
        package = self._package(where, library, routed, fetch=True)
        if isinstance(package, str):
            return self._knowledge(qualified_name, version, change, package)
        name = DISPLAY_NAMES.get(library, library)
        entry = self._read(package, where)
        if entry.state == "unreadable":
            why = f"`{package.top}` cannot be read statically from {name} {package.version} {package.where}"
            return self._knowledge(qualified_name, version, change, f"{why} ({entry.error})")
        if entry.state in ("missing", "dynamic"):
            why = "may be defined at run time" if entry.state == "dynamic" else "is not defined"
            return self._knowledge(
                qualified_name, version, change, f"`{qualified_name}` {why} in {name} {package.version}"
            )
        kind, signature, docstring = entry.kind, entry.signature, entry.docstring
        note = f"from {name} {package.version} {package.where}"
        if kind == "alias":
            # The name exists, but what it points to is compiled code with no static docs.
            return self._knowledge(
                qualified_name,
                version,
                change,
                f"{name} {package.version} defines `{qualified_name}` in compiled code (no signature in the sources)",
            )
        if docstring is None and change is not None and (change.doc or change.note):
            docstring = change.doc or change.note
            note += "; the docstring is the knowledge base's (none in the sources)"
        return ApiDoc(qualified_name, signature, docstring, package.origin, package.version, note, kind)

    def _knowledge(self, qualified_name: str, version: Version | None, change: ApiChange | None, why: str) -> ApiDoc:
        text = (change.doc or change.note or None) if change is not None else None
        return ApiDoc(
            qualified_name,
            None,
            text,
            "knowledge-base",
            str(version) if version is not None else None,
            f"{why}; showing the knowledge base's text" if text else why,
        )

    def _package(self, qualified_name: str, library: str, version: Version | None, *, fetch: bool) -> _Package | str:
        """Where to read the package of ``qualified_name`` from, or why it cannot be read."""
        top = qualified_name.split(".", 1)[0]
        interpreter = self._interpreter()
        if library == PYTHON:
            if version is not None and not _same_series(version, interpreter.python):
                return (
                    f"Python {version}'s standard library is not available here "
                    f"(the interpreter runs Python {interpreter.python})"
                )
            return _Package(
                top, (interpreter.stdlib,), str(interpreter.python), "installed", "(standard library)", external=True
            )
        dist = distribution_of(library)
        installed = _installed_version(dist, interpreter.paths)
        if installed is not None and (version is None or _same_series(installed, version)):
            paths = tuple(p for p in interpreter.paths if Path(p).is_dir())
            return _Package(top, paths, str(installed), "installed", f"installed in {interpreter.executable}")
        if not fetch:
            # No network: a release fetched before is as good as an installed one.
            release = self._fetched(dist, version)
            if release is None:
                return f"{library} {version} is not installed"
            src, fetched = release
        else:
            wanted = f"{dist}=={version}" if version is not None else f"{dist} (newest release)"
            try:
                src, fetched = self._fetch(dist, version)
            except FetchError as exc:
                return f"could not fetch {wanted}: {exc}"
        root = _package_root(src, top)
        if root is None:
            return f"{dist} {fetched} has no Python sources for `{top}`"
        memo = str(src.parent / f"docs-{top}-{fetched}.json")
        return _Package(top, (str(root),), fetched, "fetched", "fetched from the package index", memo=memo)

    def _read(self, package: _Package, where: str) -> _Entry:
        """What the package says about ``where``; remembered on disk for fetched releases."""
        memo = self._memo(package)
        if memo is not None:
            with self._guard:
                known = memo.get(where)
            if known is not None:
                return known
        try:
            module = self._load(package)
        except Exception as exc:  # noqa: BLE001 - griffe raises many kinds of errors on odd packages
            return _Entry("unreadable", error=f"{type(exc).__name__}: {exc}")
        found, dynamic = self._find(module, where)
        if found is None:
            entry = _Entry("dynamic" if dynamic else "missing")
        else:
            kind, signature, docstring = _describe(found, where.rsplit(".", 1)[-1])
            entry = _Entry("found", kind, signature, docstring)
        if memo is not None and package.memo is not None:
            with self._guard:
                memo[where] = entry
                _write_memo(Path(package.memo), memo)
        return entry

    def _memo(self, package: _Package) -> dict[str, _Entry] | None:
        """Answers already read from a fetched release (immutable, so they never go stale)."""
        if package.memo is None:
            return None
        with self._guard:
            memo = self._memos.get(package.memo)
            if memo is None:
                memo = self._memos[package.memo] = _read_memo(Path(package.memo))
            return memo

    # --- interpreter -------------------------------------------------------------------

    def _interpreter(self) -> _Interpreter:
        executable = self.interpreter
        if executable is None or _same_interpreter(executable, sys.executable):
            # Read every time: the current process's path may change (and tests change it).
            return _Interpreter(
                sys.executable,
                Version(".".join(map(str, sys.version_info[:3]))),
                _own_stdlib(),
                [p for p in sys.path if p and p != "."],
            )
        with self._guard:
            if self._probed is not None:
                return self._probed
        try:
            completed = subprocess.run(
                [executable, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
            )
            data = json.loads(completed.stdout)
            probed = _Interpreter(
                executable, Version(data["python"]), data["stdlib"], [p for p in data["path"] if p and p != "."]
            )
        except (OSError, subprocess.SubprocessError, ValueError, KeyError, InvalidVersion) as exc:
            raise RuntimeError(f"cannot ask interpreter {executable} for its paths: {exc}") from exc
        with self._guard:
            self._probed = probed
        return probed

    # --- fetching ----------------------------------------------------------------------

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _release_folder(self, dist: str, version: Version | None) -> tuple[str, Path]:
        key = f"{normalise_name(dist)}-{version if version is not None else 'latest'}"
        return key, self.cache_dir / key

    def _fetched(self, dist: str, version: Version | None, *, stale: bool = False) -> tuple[Path, str] | None:
        """The release if it was fetched before (no network, no lock), else None; ``stale``: one unpacked
        in an older layout (:data:`RELEASE_LAYOUT`) too."""
        _, folder = self._release_folder(dist, version)
        cached = self._cached(folder, latest=version is None, stale=stale)
        return (folder / "src", cached) if cached is not None else None

    def _fetch(self, dist: str, version: Version | None) -> tuple[Path, str]:
        """Folder of the release's unpacked sources, and its exact version."""
        key, folder = self._release_folder(dist, version)
        cached = self._cached(folder, latest=version is None)
        if cached is None:
            with self._lock(key):
                cached = self._cached(folder, latest=version is None)
                if cached is None:
                    try:
                        cached = self._download_once(key, dist, version, folder)
                    except FetchError:
                        # A release unpacked in an older layout still answers (offline, say).
                        cached = self._cached(folder, latest=version is None, stale=True)
                        if cached is None:
                            raise
        return folder / "src", cached

    def _download_once(self, key: str, dist: str, version: Version | None, folder: Path) -> str:
        """:meth:`_download`, unless it failed within :attr:`retry_failed_after`: then its error again."""
        failed = self._failures.get(key)
        if failed is not None and time.monotonic() - failed[0] < self.retry_failed_after:
            raise FetchError(failed[1])
        try:
            exact = self._download(dist, version, folder)
        except FetchError as exc:
            self._failures[key] = (time.monotonic(), str(exc))
            raise
        self._failures.pop(key, None)
        return exact

    @staticmethod
    def _cached(folder: Path, latest: bool, stale: bool = False) -> str | None:
        marker = folder / "release.json"
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
            if latest and time.time() - float(data.get("fetched", 0)) > LATEST_MAX_AGE:
                return None
            if data.get("layout") != RELEASE_LAYOUT and not stale:
                return None  # fetched before compiled modules got their stand-ins: fetch it again
            version = str(data["version"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return version if (folder / "src").is_dir() else None

    def _download(self, dist: str, version: Version | None, folder: Path) -> str:
        deadline = time.monotonic() + self.timeout
        download = folder / "dl"
        shutil.rmtree(download, ignore_errors=True)
        try:
            download.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FetchError(f"cannot create the cache folder {folder}: {exc.strerror}") from None
        requirement = _requirement(dist, version)
        base = [*self.pip_command, "download", "--no-deps", "--dest", str(download)]
        # 1. A wheel for this platform; -vv makes pip list the release's other wheels.
        ok, output = self._pip([*base, "--only-binary=:all:", "-vv", requirement], deadline)
        reasons = [_pip_error(output)]
        if not ok:
            # 2. Any wheel of the release, whatever its platform: the Python files are the same.
            for tags in _other_wheel_tags(output, dist, version):
                ok, again = self._pip([*base, "--only-binary=:all:", *tags, requirement], deadline)
                if ok:
                    break
                reasons.append(_pip_error(again))
        if not ok:
            # 3. The sdist: its metadata is prepared with what is installed first, else isolated.
            for isolation in (["--no-build-isolation"], []):
                ok, again = self._pip([*base, "--no-binary=:all:", *isolation, requirement], deadline)
                if ok:
                    break
                reasons.append(_pip_error(again))
        if not ok:
            # "not found" from one attempt is less telling than another attempt's real failure.
            telling = [r for r in reasons if not r.startswith(("Could not find a version", "No matching"))]
            raise FetchError(telling[-1] if telling else reasons[0])
        archive = _find_archive(download, dist)
        if archive is None:
            raise FetchError(f"pip reported success but left no archive of {dist} in {download}")
        exact = archive[1]
        try:
            store_release(archive[0], folder, exact)
        except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
            raise FetchError(f"cannot unpack {archive[0].name}: {exc}") from None
        # Only the sources are kept: a NumPy wheel is 16 MB, its Python files a fraction of it.
        shutil.rmtree(download, ignore_errors=True)
        return exact

    def _pip(self, command: list[str], deadline: float) -> tuple[bool, str]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, f"ERROR: pip did not finish within {self.timeout:g} s"
        env = dict(os.environ)
        env.update(
            {
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_INPUT": "1",
                # The project's constraints pin what it installs, not which docs may be read.
                "PIP_CONSTRAINT": "",
            }
        )
        env.update(self.env)
        self.pip_runs += 1
        try:
            # A session of its own, so that a timeout also ends the builds pip started.
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                env=env,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            return False, f"ERROR: cannot run {command[0]}: {exc.strerror or exc}"
        try:
            output, _ = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill(process)
            return False, f"ERROR: pip did not finish within {self.timeout:g} s"
        return process.returncode == 0, output or ""

    # --- reading -----------------------------------------------------------------------

    def _load(self, package: _Package) -> griffe.Module:
        with self._lock(f"load:{package}"):
            with self._guard:
                module = self._loaded.get(package)
                if module is not None:
                    self._loaded.move_to_end(package)
                    return module
            import griffe

            loader = griffe.GriffeLoader(
                search_paths=list(package.search_paths),
                allow_inspection=False,
                store_source=False,
                extensions=griffe.load_extensions(_stub_exports_extension()),
            )
            # Only from the search paths: not a same-named folder of the working directory.
            loaded = loader.load(package.top, submodules=True, try_relative_path=False)
            # Expands wildcard imports and ``__all__`` so that re-exports can be followed, loading
            # a private sibling when that is where they point (``collections.abc`` -> ``_collections_abc``).
            loader.resolve_aliases(implicit=False, external=True if package.external else None)
            if not isinstance(loaded, griffe.Module):
                raise TypeError(f"{package.top} is not a module")
            with self._guard:
                self._loaded[package] = loaded
                while len(self._loaded) > LOADED_PACKAGES:
                    self._loaded.popitem(last=False)
            return loaded

    @staticmethod
    def _find(module: griffe.Module, qualified_name: str, depth: int = 0) -> tuple[Any | None, bool]:
        """The object named ``qualified_name`` (aliases followed), and whether a miss is uncertain."""
        import griffe

        current: Any = module
        parts = qualified_name.split(".")[1:]
        for index in range(len(parts) + 1):
            if current.is_alias:
                try:
                    current = current.final_target
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    # The target is no object griffe built: maybe overloads only (a stub), else
                    # compiled code or another package; the name exists, its members are unknown.
                    target = getattr(current, "target_path", "")
                    if depth < 8 and target.split(".", 1)[0] == module.name:
                        found, _ = ApiDocs._find(module, ".".join([target, *parts[index:]]), depth + 1)
                        if found is not None:
                            return found, False
                    return (current, False) if index == len(parts) else (None, True)
            if index == len(parts):
                return current, False
            part = parts[index]
            members = current.all_members if current.is_class else current.members
            member = members.get(part)
            if member is None:
                overloads = getattr(current, "overloads", None)
                if isinstance(overloads, dict) and overloads.get(part):
                    return _Overloaded(part, overloads[part]), False
                stubbed = _stub_overloads(current, part)
                if stubbed:
                    return _Overloaded(part, stubbed), False
                dynamic = current.is_module and "__getattr__" in current.members
                return None, dynamic or bool(current.is_class and _has_unknown_base(current))
            current = member
        return current, False


def _stub_exports_extension() -> Any:
    """A griffe extension: a stub's bare ``__all__: list[str]`` does not hide the module's exports.

    NumPy's stubs declare ``__all__: list[str]`` without a value; griffe reads that as an empty
    list, merges it over the ``.py`` file's real ``__all__``, and then ``from .fromnumeric import *``
    brings nothing, so ``numpy.all`` would point nowhere.
    """
    import griffe

    class StubExports(griffe.Extension):
        def on_module_members(self, *, mod: griffe.Module, **kwargs: Any) -> None:
            path = mod.filepath
            if not isinstance(path, list) and path.suffix == ".pyi" and mod.exports == []:
                mod.exports = None

    return StubExports()


@dataclass
class _Overloaded:
    """A function declared only by ``@overload`` signatures (usual in ``.pyi`` stubs)."""

    name: str
    overloads: list[Any]
    is_alias: bool = False


#: Bases that add no members a user would look up.
_TYPING_BASES = frozenset({"object", "Generic", "Protocol", "typing.Generic", "typing.Protocol"})


def _has_unknown_base(cls: Any) -> bool:
    """A class with a base griffe cannot see may inherit the member that was looked for."""
    try:
        named = [b for b in cls.bases if str(b).split("[", 1)[0] not in _TYPING_BASES]
        return len(cls.resolved_bases) < len(named)
    except Exception:  # noqa: BLE001 - griffe raises several kinds of errors on odd bases
        return True


def _stub_overloads(owner: Any, name: str) -> list[Any] | None:
    """Overloads of ``name`` declared only in the ``.pyi`` stub next to ``owner``'s module.

    Griffe merges a stub into its module and drops overloads that have no implementation in the
    ``.py`` file, which is how compiled libraries declare methods (``numpy.ndarray.astype``).
    """
    try:
        owners = [owner, *owner.mro()[1:]] if owner.is_class else [owner]
    except Exception:  # noqa: BLE001 - an inheritance griffe cannot linearise
        owners = [owner]
    for candidate in owners:
        module = candidate if candidate.is_module else candidate.module
        path = module.filepath
        if isinstance(path, list) or path.suffix != ".py":
            continue
        stub = _visit_stub(str(path.with_suffix(".pyi")), module.path)
        if stub is None:
            continue
        target: Any = stub
        relative = candidate.path[len(module.path) + 1 :] if candidate is not module else ""
        for part in relative.split(".") if relative else []:
            target = target.members.get(part)
            if target is None:
                break
        overloads = getattr(target, "overloads", None)
        if isinstance(overloads, dict) and overloads.get(name):
            return list(overloads[name])
    return None


@lru_cache(maxsize=64)
def _visit_stub(path: str, module_path: str) -> Any | None:
    """A stub file parsed alone (not merged), or None when there is none."""
    import griffe

    try:
        code = Path(path).read_text(encoding="utf-8")
        return griffe.visit(module_path.rsplit(".", 1)[-1], Path(path), code)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None


def _describe(found: Any, name: str) -> tuple[str, str | None, str | None]:
    """Kind, rendered signature and docstring of a griffe object."""
    import griffe

    if isinstance(found, _Overloaded):
        rendered = "\n".join(f.signature(return_type=True, name=name) for f in found.overloads)
        docs = [f.docstring.value for f in found.overloads if f.docstring]
        return "function", rendered or None, docs[0] if docs else None
    target = found
    if found.is_alias:
        try:
            target = found.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return "alias", None, None
    docstring: str | None = target.docstring.value if target.docstring else None
    if target.is_function:
        overloads = target.overloads or []
        signatures = [f.signature(return_type=True, name=name) for f in overloads] or [
            target.signature(return_type=True, name=name)
        ]
        return "function", "\n".join(signatures), docstring
    if target.is_class:
        signature = None
        members = target.all_members
        for special in ("__init__", "__new__"):
            method: Any = members.get(special)
            if isinstance(method, griffe.Alias):
                try:
                    method = method.final_target
                except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                    method = None
            if isinstance(method, griffe.Function):
                overloads = method.overloads or []
                signature = "\n".join(f.signature(return_type=False, name=name) for f in (overloads or [method]))
                if docstring is None and method.docstring:
                    docstring = method.docstring.value
                break
            if target.overloads.get(special):
                signature = "\n".join(f.signature(return_type=False, name=name) for f in target.overloads[special])
                break
        return "class", signature, docstring
    if target.is_module:
        return "module", None, docstring
    return str(getattr(target.kind, "value", "attribute")), None, docstring


@lru_cache(maxsize=1)
def _own_stdlib() -> str:
    import sysconfig

    return sysconfig.get_paths()["stdlib"]


def _installed_version(dist: str, paths: Sequence[str]) -> Version | None:
    """Version of ``dist`` installed on ``paths`` (metadata only, nothing imported)."""
    from importlib import metadata

    for found in metadata.Distribution.discover(name=dist, path=list(paths)):
        # The Version header, read directly: ``found.version`` parses the whole METADATA with
        # the email parser (milliseconds for a long description, and the validator asks often).
        return metadata_version(found.read_text("METADATA") or found.read_text("PKG-INFO") or "")
    return None


def _other_wheel_tags(output: str, dist: str, version: Version | None) -> Iterator[list[str]]:
    """pip options that select each incompatible wheel pip saw for the release, best first.

    ``pip download -vv`` logs ``Skipping link: none of the wheel's tags (...) are compatible
    ...: URL`` for every wheel built for another platform or Python; its file name says which
    ``--platform``/``--python-version``/``--implementation``/``--abi`` make pip take it.
    """
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

    found: dict[tuple[str, str, str, str], Version] = {}
    for line in output.splitlines():
        if "Skipping link: none of the wheel's tags" not in line:
            continue
        filename = line.rstrip().rsplit("/", 1)[-1].split("#", 1)[0]
        try:
            name, wheel_version, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if name != canonicalize_name(dist) or (version is not None and not _matches(wheel_version, version)):
            continue
        for tag in tags:
            interpreter = tag.interpreter
            implementation = interpreter[:2]
            digits = interpreter[2:]
            if not digits.isdigit() or implementation not in ("cp", "py", "pp"):
                continue
            python = f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits
            found.setdefault((tag.platform, python, implementation, tag.abi), wheel_version)

    seen: set[tuple[str, str, str]] = set()
    for (platform, python, implementation, abi), _ in sorted(found.items(), key=_sort_key):
        key = (platform, python, implementation)
        if key in seen:
            continue
        seen.add(key)
        yield ["--platform", platform, "--python-version", python, "--implementation", implementation, "--abi", abi]
        if len(seen) >= 2:
            return


def _sort_key(item: tuple[tuple[str, str, str, str], Version]) -> tuple[int, int, Any]:
    (platform, python, _, _), wheel_version = item
    preferred = 0 if platform == "any" else 1 if "manylinux" in platform and "x86_64" in platform else 2
    minor = int(python.split(".")[1]) if "." in python else 0
    return (preferred, -minor, _Descending(wheel_version))


@dataclass(frozen=True)
class _Descending:
    value: Version

    def __lt__(self, other: _Descending) -> bool:
        return self.value > other.value


def _matches(found: Version, target: Version) -> bool:
    """Whether ``found`` satisfies :func:`_requirement` for ``target``."""
    if len(target.release) == 1:
        return found.major == target.major
    if len(target.release) == 2:
        return _same_series(found, target)
    return found == target


def _find_archive(folder: Path, dist: str) -> tuple[Path, str] | None:
    """The downloaded wheel or sdist of ``dist`` and its exact version."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    for entry in sorted(folder.iterdir()):
        try:
            if entry.name.endswith(".whl"):
                name, version, _, _ = parse_wheel_filename(entry.name)
            else:
                name, version = parse_sdist_filename(entry.name)
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        if name == canonicalize_name(dist):
            return entry, str(version)
    return None


def store_release(archive: Path, folder: Path, exact: str) -> None:
    """Unpack ``archive`` as ``folder/src`` (through a staging folder, so a reader never sees half of
    it) and record the release in ``folder/release.json`` (:data:`RELEASE_LAYOUT`)."""
    staging = folder / f"src.tmp{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _unpack(archive, staging)
        target = folder / "src"
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    marker = folder / "release.json"
    temporary = marker.with_suffix(f".tmp{os.getpid()}")
    record = {"version": exact, "file": archive.name, "fetched": time.time(), "layout": RELEASE_LAYOUT}
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(temporary, marker)


def _unpack(archive: Path, destination: Path) -> None:
    """Unpack only the ``.py``/``.pyi`` files of a wheel or sdist into ``destination``, and an empty
    stand-in (``name.compiled``) for each compiled module it holds or builds: the release's inventory
    then knows the name exists (what it holds is unknown) instead of finding it missing."""
    destination.mkdir(parents=True)
    compiled: set[PurePosixPath] = set()
    for path, size, read in _members(archive):
        build_file, source = path.name in _BUILD_FILES, _wanted_source(path)
        if size > MAX_SOURCE_BYTES or not (build_file or source):
            compiled.update(_compiled_module(path))
            continue
        data = read()
        if data is None:
            continue
        if build_file:
            compiled.update(_built_extensions(path, data))
        if source:
            _write(destination / path, data)
    for module in compiled:
        # Only beside the package's Python files (a build file's example names nothing there), and never
        # over a module of that name.
        stand_in = destination / module.with_name(module.name + COMPILED_STAND_IN)
        if stand_in.parent.is_dir() and not (destination / module.with_name(module.name + ".py")).exists():
            stand_in.write_bytes(b"")


def _members(archive: Path) -> Iterator[tuple[PurePosixPath, int, Callable[[], bytes | None]]]:
    """Each file of a wheel or sdist outside the skipped folders: its path in the release, its size,
    and how to read it."""
    if archive.name.endswith((".whl", ".zip")):
        wheel = archive.name.endswith(".whl")
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                path = None if info.is_dir() else _member_path(info.filename, wheel, wanted=_outside_skipped)
                if path is not None:
                    yield path, info.file_size, partial(opened.read, info)
        return
    with tarfile.open(archive) as opened:
        for member in opened:
            path = _member_path(member.name, False, wanted=_outside_skipped) if member.isfile() else None
            if path is not None:
                yield path, member.size, partial(_read_member, opened, member)


def _read_member(opened: tarfile.TarFile, member: tarfile.TarInfo) -> bytes | None:
    handle = opened.extractfile(member)
    return handle.read() if handle is not None else None


def _outside_skipped(path: PurePosixPath) -> bool:
    return not (SKIPPED_FOLDERS & set(path.parts[:-1]))


def _compiled_module(path: PurePosixPath) -> list[PurePosixPath]:
    """``pkg/sub/name`` for a compiled module's file (``name.cpython-311-x86_64-linux-gnu.so``,
    ``name.pyx``), else nothing."""
    if path.name.endswith(_COMPILED_SUFFIXES):
        stem = path.name.split(".", 1)[0]
        if stem.isidentifier():
            return [path.with_name(stem)]
    return []


def _built_extensions(path: PurePosixPath, data: bytes) -> list[PurePosixPath]:
    """The extension modules a build file names, as ``pkg/sub/name`` (a dotted name from the release's
    root, a plain one beside the build file)."""
    found = []
    for name in _EXTENSION_NAMES.findall(data):
        parts = name.decode("ascii", "replace").split(".")
        if all(part.isidentifier() for part in parts):
            found.append(PurePosixPath(*parts) if len(parts) > 1 else path.with_name(parts[0]))
    return found


def _member_path(
    name: str, wheel: bool, wanted: Callable[[PurePosixPath], bool] = _wanted_source
) -> PurePosixPath | None:
    path = _safe_relative(name)
    if path is None or not wanted(path):
        return None
    parts = path.parts
    if wheel:
        if parts[0].endswith(".dist-info"):
            return None
        if parts[0].endswith(".data"):
            if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                return None
            return PurePosixPath(*parts[2:])
        return path
    # An sdist holds one folder, ``name-version/``.
    return PurePosixPath(*parts[1:]) if len(parts) > 1 else None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
