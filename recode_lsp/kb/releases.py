"""Obtaining a library release's Python sources: from a local folder, or through pip.

Downloading reuses :class:`recode_lsp.api_docs.ApiDocs` (the user's pip configuration, a cache
shared with hover, only ``.py``/``.pyi`` files unpacked), so a release read for hover is not
fetched again for a scrape, and the other way round.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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
    try:
        src, exact = docs._fetch(dist, wanted)
    except api_docs.FetchError as exc:
        raise ReleaseError(f"could not fetch {dist}=={version}: {exc}") from None
    root = api_docs._package_root(src, top)
    if root is None:
        raise ReleaseError(f"{dist} {exact} has no Python sources for `{top}`")
    return Release(library, version, exact, top, root, "fetched")


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
        if entry.name.endswith(".whl"):
            wheel_name, wheel_version, _, _ = parse_wheel_filename(entry.name)
            return wheel_name, Version(str(wheel_version))
        sdist_name, sdist_version = parse_sdist_filename(entry.name)
        return sdist_name, Version(str(sdist_version))
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


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

        command = [sys.executable, "-m", "pip", "index", "versions", "--disable-pip-version-check", name]
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
