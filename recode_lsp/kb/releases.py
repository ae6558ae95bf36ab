"""Obtaining a library release's Python sources: from a local folder, or through pip.

Only the Python sources are read, so any platform's wheel or the sdist will do: the smallest file
of the release is downloaded. pip (the user's configuration: index, extra indexes, find-links,
proxy, certificates, credentials) lists the release's files, without downloading any; their sizes
come from the files themselves (``file:`` links) or a ``HEAD`` request; a wheel is then
downloaded by pip with that wheel's platform tags, an sdist fetched as it is (``pip download``
would build it to read its metadata). When the sizes cannot be learnt, pip's own choice is taken
(this platform's wheel, else any platform's, else the sdist).

Releases go to the cache :class:`recode_lsp.api_docs.ApiDocs` uses (only ``.py``/``.pyi`` files
unpacked), so a release read for hover is not fetched again for a scrape, and the other way round.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from recode_lsp import api_docs
from recode_lsp.engine.versions import InvalidVersion, Version


class ReleaseError(Exception):
    """A release could not be obtained; the message says why."""


@dataclass(frozen=True)
class Release:
    """One release's sources on disk, ready for griffe."""

    library: str
    #: The version as the user spelled it (``"2.0"``): entries use it.
    label: str
    #: The exact version obtained (``"2.0.2"``).
    exact: str
    #: Top-level package (``sklearn`` for ``scikit-learn``).
    top: str
    #: The folder that holds ``top`` (a griffe search path).
    root: Path
    #: ``"dist"`` (a local folder) or ``"fetched"`` (pip).
    origin: str


def default_cache_dir() -> Path:
    """The folder hover uses for fetched releases (shared on purpose)."""
    from recode_lsp.cache_home import api_docs_cache_dir

    return api_docs_cache_dir()


def obtain(
    library: str,
    version: str,
    *,
    dist_dir: Path | None = None,
    cache_dir: Path | None = None,
    timeout: float = 600.0,
) -> Release:
    """The sources of ``library`` at ``version``: from ``dist_dir`` when given, else through pip."""
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise ReleaseError(f"{version!r} is not a version") from None
    top = api_docs.top_package(library)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if dist_dir is not None:
        return _from_folder(library, version, wanted, top, Path(dist_dir), cache)
    dist = api_docs.distribution_of(library)
    docs = api_docs.ApiDocs(cache, timeout=timeout)
    fetched = docs._fetched(dist, wanted) or _fetch_smallest(docs, dist, wanted)
    try:
        src, exact = fetched or docs._fetch(dist, wanted)
    except api_docs.FetchError as exc:
        raise ReleaseError(f"could not fetch {dist}=={version}: {exc}") from None
    root = api_docs._package_root(src, top)
    if root is None:
        raise ReleaseError(f"{dist} {exact} has no Python sources for `{top}`")
    return Release(library, version, exact, top, root, "fetched")


@dataclass(frozen=True)
class IndexFile:
    """One file of a release on the package index."""

    filename: str
    url: str
    version: Version
    #: Bytes, when known.
    size: int | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


#: A platform no wheel has: pip lists every link of the project and downloads none.
_NO_PLATFORM = ["--platform", "recode_kb_list_only", "--python-version", "1", "--implementation", "cp"]
_LINK = re.compile(r"(?:Found link|Skipping link:.*?:) ((?:https?|file)://\S+)")
#: Requests for sizes run side by side (a SciPy release has some 40 wheels).
_SIZE_WORKERS = 8


def index_files(docs: api_docs.ApiDocs, dist: str, wanted: Version) -> list[IndexFile]:
    """The files of the release of ``dist`` that ``wanted`` names (the newest ``2.0.x`` for ``2.0``),
    as pip's configured indexes and find-links list them, with their sizes where they can be learnt."""
    listing = docs.cache_dir / f".listing-{os.getpid()}-{threading.get_ident()}"
    command = [*docs.pip_command, "download", "--no-deps", "--dest", str(listing), "-vv", "--only-binary=:all:"]
    try:
        _, output = docs._pip(
            [*command, *_NO_PLATFORM, api_docs._requirement(dist, wanted)], time.monotonic() + docs.timeout
        )
    finally:
        shutil.rmtree(listing, ignore_errors=True)
    name = canonicalize_name(dist)
    found: dict[str, IndexFile] = {}
    for line in output.splitlines():
        match = _LINK.search(line)
        if match is None:
            continue
        url = match.group(1)
        filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        identified = _identify_name(filename)
        if identified is None or identified[0] != name or not api_docs._matches(identified[1], wanted):
            continue
        found.setdefault(filename, IndexFile(filename, url, identified[1]))
    if not found:
        return []
    newest = max(f.version for f in found.values())
    files = [f for f in found.values() if f.version == newest]
    with ThreadPoolExecutor(max_workers=min(_SIZE_WORKERS, len(files))) as pool:
        sizes = list(pool.map(_size, (f.url for f in files)))
    return [IndexFile(f.filename, f.url, f.version, size) for f, size in zip(files, sizes, strict=True)]


def smallest(files: list[IndexFile]) -> IndexFile | None:
    """The smallest file whose size is known (a wheel on a tie), or None when no size is known."""
    sized = [f for f in files if f.size is not None]
    return min(sized, key=lambda f: (f.size, not f.is_wheel, f.filename)) if sized else None


def _ssl_context() -> ssl.SSLContext:
    """The certificates pip is told to trust (``PIP_CERT``), else the system's."""
    cafile = os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE")
    return ssl.create_default_context(cafile=cafile if cafile and os.path.isfile(cafile) else None)


def _local_path(url: str) -> Path | None:
    parts = urllib.parse.urlsplit(url)
    return Path(urllib.request.url2pathname(parts.path)) if parts.scheme == "file" else None


def _size(url: str) -> int | None:
    local = _local_path(url)
    try:
        if local is not None:
            return local.stat().st_size
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=20, context=_ssl_context()) as response:
            length = response.headers.get("Content-Length")
        return int(length) if length and length.isdigit() else None
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _fetch_smallest(docs: api_docs.ApiDocs, dist: str, wanted: Version) -> tuple[Path, str] | None:
    """Download the smallest file of the release into ``docs``' cache; None when pip should choose."""
    try:
        chosen = smallest(index_files(docs, dist, wanted))
    except OSError:
        return None
    if chosen is None:
        return None
    _, folder = docs._release_folder(dist, wanted)
    download = folder / f"dl-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(download, ignore_errors=True)
    try:
        download.mkdir(parents=True)
        archive = (
            _download_wheel(docs, dist, chosen, download) if chosen.is_wheel else _download_file(chosen, download)
        )
        if archive is None:
            return None
        identified = _identify_name(archive.name)
        exact = str(identified[1] if identified is not None else chosen.version)
        _store(archive, folder, exact)
    except (OSError, ReleaseError):
        return None
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return folder / "src", exact


def _download_wheel(docs: api_docs.ApiDocs, dist: str, chosen: IndexFile, download: Path) -> Path | None:
    """pip downloads the wheel, told that its platform is the wheel's (the user's pip configuration)."""
    _, _, _, tags = parse_wheel_filename(chosen.filename)
    # One tag of the wheel, a Python 3 one first (``py2.py3-none-any``).
    tag = min(tags, key=lambda t: (not t.interpreter[2:].startswith("3"), str(t)))
    digits = tag.interpreter[2:]
    python = f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits
    options = ["--platform", tag.platform, "--python-version", python, "--implementation", tag.interpreter[:2]]
    options += ["--abi", tag.abi]
    command = [*docs.pip_command, "download", "--no-deps", "--dest", str(download), "--only-binary=:all:", *options]
    ok, _ = docs._pip([*command, f"{dist}=={chosen.version}"], time.monotonic() + docs.timeout)
    wheels = sorted(download.glob("*.whl"))
    return wheels[0] if ok and wheels else None


def _download_file(chosen: IndexFile, download: Path) -> Path | None:
    """The file itself (an sdist): pip would build it to read its metadata."""
    target = download / chosen.filename
    local = _local_path(chosen.url)
    if local is not None:
        shutil.copyfile(local, target)
        return target
    try:
        with (
            urllib.request.urlopen(chosen.url, timeout=120, context=_ssl_context()) as response,
            target.open("wb") as out,
        ):
            shutil.copyfileobj(response, out)
    except urllib.error.URLError:
        return None
    return target


def _store(archive: Path, folder: Path, exact: str) -> None:
    """Unpack ``archive``'s Python files as ``folder/src`` and record the release (ApiDocs' layout)."""
    try:
        api_docs.store_release(archive, folder, exact)
    except Exception as exc:  # noqa: BLE001 - zipfile/tarfile raise many kinds of errors on bad archives
        raise ReleaseError(f"cannot unpack {archive.name}: {exc}") from None


def _identify_name(filename: str) -> tuple[str, Version] | None:
    """(canonical name, version) of a wheel or sdist file name."""
    try:
        if filename.endswith(".whl"):
            wheel_name, wheel_version, _, _ = parse_wheel_filename(filename)
            return wheel_name, Version(str(wheel_version))
        sdist_name, sdist_version = parse_sdist_filename(filename)
        return sdist_name, Version(str(sdist_version))
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _from_folder(library: str, label: str, wanted: Version, top: str, folder: Path, cache: Path) -> Release:
    """A release from ``folder``: an unpacked tree ``name-version/`` or a wheel/sdist file."""
    if not folder.is_dir():
        raise ReleaseError(f"--dist {folder} is not a folder")
    name = canonicalize_name(api_docs.distribution_of(library))
    for entry in sorted(folder.iterdir()):
        found = _identify(entry)
        if found is None or found[0] != name or found[1] != wanted:
            continue
        if entry.is_dir():
            root = api_docs._package_root(entry, top)
        else:
            root = api_docs._package_root(_unpacked(entry, cache), top)
        if root is None:
            raise ReleaseError(f"{entry} has no Python sources for `{top}`")
        return Release(library, label, str(found[1]), top, root, "dist")
    raise ReleaseError(f"no release {name} {label} in {folder} (expected {name}-{label}/, a wheel or an sdist)")


def _identify(entry: Path) -> tuple[str, Version] | None:
    """(canonical name, version) of a wheel, an sdist or a ``name-version`` folder."""
    try:
        if entry.is_dir():
            name, _, text = entry.name.rpartition("-")
            return (canonicalize_name(name), Version(text)) if name else None
    except InvalidVersion:
        return None
    return _identify_name(entry.name)


def _unpacked(archive: Path, cache: Path) -> Path:
    """``archive``'s Python files, unpacked once per archive content into the cache."""
    stat = archive.stat()
    key = hashlib.sha256(f"{archive.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    target = cache / "local" / f"{archive.name}-{key}"
    if target.is_dir():
        return target
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        api_docs._unpack(archive, staging)
        os.replace(staging, target)
    except Exception as exc:  # noqa: BLE001 - zipfile/tarfile raise many kinds of errors on bad archives
        shutil.rmtree(staging, ignore_errors=True)
        raise ReleaseError(f"cannot unpack {archive}: {exc}") from None
    return target


def available_versions(library: str, *, dist_dir: Path | None = None, timeout: float = 120.0) -> list[Version]:
    """Final releases of ``library``: those in ``dist_dir`` when given, else the index's (``pip index
    versions``, the user's pip configuration)."""
    name = canonicalize_name(api_docs.distribution_of(library))
    found: set[Version] = set()
    if dist_dir is not None:
        for entry in Path(dist_dir).iterdir():
            identified = _identify(entry)
            if identified is not None and identified[0] == name:
                found.add(identified[1])
    else:
        import subprocess
        import sys

        # Every release, whatever Python it needs: releases are read, never installed (a chain that skipped
        # SciPy 1.7 and 1.8, which need an older Python than this one, dated their names 1.9).
        command = [sys.executable, "-m", "pip", "index", "versions", "--disable-pip-version-check"]
        command += ["--ignore-requires-python", name]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReleaseError(f"cannot list the releases of {name}: {exc}") from None
        listed = next((line for line in result.stdout.splitlines() if "Available versions:" in line), None)
        if result.returncode != 0 or listed is None:
            raise ReleaseError(f"cannot list the releases of {name}: {result.stderr.strip() or result.stdout.strip()}")
        for text in listed.partition(":")[2].split(","):
            try:
                found.add(Version(text.strip()))
            except InvalidVersion:
                continue
    return sorted(v for v in found if not v.is_prerelease)


def every_minor(old: str, new: str, available: list[Version]) -> list[str]:
    """``old``, the newest patch of every minor release strictly between, and ``new``."""
    low, high = Version(old), Version(new)
    newest: dict[tuple[int, int], Version] = {}
    for version in available:
        minor = (version.major, version.minor)
        if (low.major, low.minor) < minor < (high.major, high.minor):
            newest[minor] = max(newest.get(minor, version), version)
    return [old, *(str(v) for _, v in sorted(newest.items())), new]
