"""What ``recode-migrate --plan`` learns besides the knowledge base, all without running project code.

- the newest release of each library: ``pip index versions`` with the user's own pip configuration
  (a subprocess with a timeout), cached for a day in the user's cache folder; when pip cannot
  answer (offline, no index), the newest version the knowledge base mentions, and the plan says so;
- which libraries the project imports: import statements read from the files' bytes;
- which library needs which: the ``Requires-Dist`` headers of the installed distributions, read
  from their metadata files (the environment of ``--python`` / ``[tool.recode] python`` read as
  files, or this interpreter's metadata).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from recode_lsp.cache_home import cache_home
from recode_lsp.cli.cache import _BINARY, _CLOEXEC, _NOFOLLOW, _open_folder, write_atomically
from recode_lsp.engine.versions import InvalidVersion, Version, normalise_name

#: How long a newest release read from the package index is trusted (seconds).
CACHE_SECONDS = 86400
#: Seconds one ``pip index versions`` may take.
PIP_TIMEOUT = 30.0
CACHE_FILE = "newest-releases.json"
_MAX_CACHE_BYTES = 1 << 20
_FIRST_LINE = re.compile(r"^\s*\S+\s+\(([^)\s]+)\)")
_IMPORT = re.compile(rb"^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)|import[ \t]+([A-Za-z_][\w. \t,]*))", re.MULTILINE)


@dataclass(frozen=True)
class NewestRelease:
    """The newest release of one library and where that answer came from."""

    version: Version | None
    #: "index" (asked now), "cache" (asked within a day) or "knowledge base" (the fallback).
    source: str
    #: Why the package index did not answer, when it did not.
    reason: str | None = None
    #: When the index was asked (seconds since the epoch), for "index" and "cache".
    checked: float | None = None

    def describe(self) -> str:
        if self.source == "index":
            return "package index"
        if self.source == "cache":
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.checked or 0))
            return f"package index, cached {stamp}"
        return "knowledge base"


def _cache_folder() -> Path:
    return cache_home() / "plan"


def _read_cache() -> dict[str, dict[str, object]]:
    fd = _open_folder(_cache_folder(), create=False)
    if fd is None:
        return {}
    try:
        handle = os.open(CACHE_FILE, os.O_RDONLY | _NOFOLLOW | _BINARY | _CLOEXEC, dir_fd=fd)
    except (OSError, NotImplementedError):
        return {}
    finally:
        os.close(fd)
    try:
        data = os.read(handle, _MAX_CACHE_BYTES + 1)
    except OSError:
        return {}
    finally:
        os.close(handle)
    try:
        document = json.loads(data) if len(data) <= _MAX_CACHE_BYTES else None
    except ValueError:
        return {}
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {name: entry for name, entry in entries.items() if isinstance(entry, dict)}


def _write_cache(entries: dict[str, dict[str, object]]) -> None:
    """Write the cache atomically, never through a symlink; a failure only costs a lookup."""
    data = json.dumps({"format": 1, "entries": entries}, sort_keys=True).encode()
    fd = _open_folder(_cache_folder(), create=True)
    if fd is None:
        return
    try:
        write_atomically(fd, CACHE_FILE, data)
    finally:
        os.close(fd)


def _cached(entry: dict[str, object] | None, now: float) -> tuple[Version, float] | None:
    if entry is None:
        return None
    text, checked = entry.get("version"), entry.get("checked")
    if not isinstance(text, str) or not isinstance(checked, (int, float)) or not 0 <= now - checked < CACHE_SECONDS:
        return None
    try:
        return Version(text), float(checked)
    except InvalidVersion:
        return None


def ask_pip(distribution: str, *, timeout: float = PIP_TIMEOUT) -> tuple[Version | None, str | None]:
    """``pip index versions DISTRIBUTION`` with the user's pip configuration: (version, why not)."""
    command = [sys.executable, "-m", "pip", "index", "versions", distribution, "--disable-pip-version-check"]
    environment = {**os.environ, "PIP_NO_INPUT": "1", "PIP_RETRIES": os.environ.get("PIP_RETRIES", "1")}
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, env=environment
        )
    except subprocess.TimeoutExpired:
        return None, f"pip took over {timeout:g} s"
    except OSError as exc:
        return None, f"cannot run pip: {exc.strerror or exc}"
    match = _FIRST_LINE.match(completed.stdout)
    if completed.returncode != 0 or match is None:
        errors = [line.strip() for line in completed.stderr.splitlines() if line.startswith("ERROR")]
        tail = errors[-1] if errors else (completed.stderr.strip().splitlines() or ["no answer"])[-1]
        return None, tail.removeprefix("ERROR: ")[:200]
    try:
        return Version(match[1]), None
    except InvalidVersion:
        return None, f"pip answered {match[1]!r}, not a version"


def newest_releases(
    distributions: dict[str, str | None], fallback: dict[str, Version | None]
) -> dict[str, NewestRelease]:
    """The newest release of each library (library -> its distribution on the index, None for none).

    Fresh cached answers are used as they are; the others are asked of pip in parallel; the
    answers are cached; a library pip cannot answer for gets ``fallback`` (the knowledge base's
    newest version) with the reason.
    """
    now = time.time()
    entries = _read_cache()
    found: dict[str, NewestRelease] = {}
    todo: list[tuple[str, str]] = []
    for library, distribution in sorted(distributions.items()):
        if distribution is None:
            found[library] = NewestRelease(fallback.get(library), "knowledge base", "not a package on the index")
            continue
        hit = _cached(entries.get(normalise_name(distribution)), now)
        if hit is not None:
            found[library] = NewestRelease(hit[0], "cache", checked=hit[1])
        else:
            todo.append((library, distribution))
    if todo:
        with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
            answers = list(pool.map(lambda pair: ask_pip(pair[1]), todo))
        changed = False
        for (library, distribution), (version, reason) in zip(todo, answers, strict=True):
            if version is None:
                found[library] = NewestRelease(fallback.get(library), "knowledge base", reason)
                continue
            found[library] = NewestRelease(version, "index", checked=now)
            entries[normalise_name(distribution)] = {"version": str(version), "checked": now}
            changed = True
        if changed:
            _write_cache(entries)
    return found


def _notebook_code(path: str, limit: int) -> bytes:
    """The code cells of the notebook at ``path``, one after another (empty when it cannot be read).

    Read whole (up to 16 times ``limit``: outputs make notebooks large): in the JSON text an
    import is a string in a list, which the line-anchored pattern never matches.
    """
    from recode_lsp.engine.notebook import NotebookError, parse_notebook

    try:
        with open(path, "rb") as handle:
            data = handle.read(16 * limit + 1)
        if len(data) > 16 * limit:
            return b""
        notebook = parse_notebook(data)
    except (OSError, NotebookError, RecursionError):
        return b""
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return "\n".join(code).encode("utf-8", "surrogatepass")


def imported_modules(paths: Iterable[str], *, limit: int = 2 << 20) -> set[str]:
    """Top-level module names the files import (``import a.b, c`` and ``from a import b``), read as bytes.

    A Jupyter notebook (``.ipynb``) counts by its code cells.
    """
    from recode_lsp.engine.notebook import NOTEBOOK_SUFFIX

    modules: set[str] = set()
    for path in paths:
        if path.endswith(NOTEBOOK_SUFFIX):
            data = _notebook_code(path, limit)
        else:
            try:
                with open(path, "rb") as handle:
                    data = handle.read(limit)
            except OSError:
                continue
        for match in _IMPORT.finditer(data):
            if match[1]:
                modules.add(match[1].decode())
                continue
            for part in match[2].split(b","):
                name = part.strip().split(b" ", 1)[0].split(b".", 1)[0]
                if name and re.fullmatch(rb"[A-Za-z_]\w*", name):
                    modules.add(name.decode())
    return modules


def _requirement_names(lines: Sequence[str]) -> set[str]:
    """Distribution names a list of ``Requires-Dist`` values needs (extras-only requirements left out)."""
    names: set[str] = set()
    for line in lines:
        if "extra" in line.partition(";")[2]:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match:
            names.add(normalise_name(match[1]))
    return names


def _metadata_requires(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return []
    found: list[str] = []
    for line in head.splitlines():
        if not line.strip():
            break  # the body starts
        if line.lower().startswith("requires-dist:"):
            found.append(line.split(":", 1)[1].strip())
    return found


def _environment_of(python: str) -> Path | None:
    executable = Path(os.path.abspath(python))
    for folder in (executable.parent.parent, executable.parent):
        if (folder / "pyvenv.cfg").is_file():
            return folder
    return None


def requirements_of(distributions: Iterable[str], python: str | None) -> dict[str, set[str]]:
    """What each installed distribution requires (normalised names), read from metadata files only.

    ``python`` names the interpreter whose environment counts: its virtual environment's
    ``site-packages`` are read; without one (or with no ``python``), this interpreter's metadata.
    A distribution that is not installed requires nothing as far as the plan knows.
    """
    wanted = {normalise_name(name) for name in distributions}
    environment = _environment_of(python) if python is not None else None
    found: dict[str, set[str]] = {}
    if environment is None:
        from importlib import metadata

        for name in sorted(wanted):
            try:
                found[name] = _requirement_names(metadata.requires(name) or [])
            except metadata.PackageNotFoundError:
                continue
        return found
    folders = sorted(environment.glob("lib/python*/site-packages")) + [environment / "Lib" / "site-packages"]
    for folder in folders:
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            name = normalise_name(entry.split("-", 1)[0])
            if name in wanted and name not in found:
                found[name] = _requirement_names(_metadata_requires(folder / entry / "METADATA"))
    return found
