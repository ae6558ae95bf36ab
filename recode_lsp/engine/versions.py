"""Which version of each library the project is moving to.

A finding counts only for the version the user migrates to. That version comes from, in
order: the command line or editor setting (``--target numpy==2.0``), ``[tool.recode]``
targets in pyproject.toml, pins in requirements files and ``[project].dependencies``, and
last the version installed in the project's interpreter. The standard library's "version"
is the Python version (``python==3.12``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

__all__ = [
    "InvalidVersion",
    "TargetSource",
    "Targets",
    "Version",
    "installed_versions",
    "parse_target",
    "pins_from_project",
    "resolve_targets",
]

PYTHON = "python"

# A requirement line: name, optional extras, then the first version clause.
_REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*"
    r"(?P<op>===|==|~=|>=)\s*(?P<version>[0-9][A-Za-z0-9.*+!-]*)"
)


def normalise_name(name: str) -> str:
    """PEP 503 normalisation, so ``SQLAlchemy`` and ``sqlalchemy`` are one library."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_target(text: str) -> tuple[str, Version]:
    """Parse ``numpy==2.0`` (also ``numpy=2.0``) into a library and a version."""
    name, sep, version = text.partition("==")
    if not sep:
        name, sep, version = text.partition("=")
    name, version = name.strip(), version.strip()
    if not sep or not name or not version:
        raise ValueError(f"target {text!r} is not of the form LIBRARY==VERSION")
    try:
        return normalise_name(name), Version(version)
    except InvalidVersion as exc:
        raise ValueError(f"target {text!r}: {version!r} is not a version") from exc


def _pin_from_requirement(line: str) -> tuple[str, Version] | None:
    line = line.split("#", 1)[0].split(";", 1)[0]
    match = _REQUIREMENT.match(line)
    if match is None:
        return None
    try:
        return normalise_name(match["name"]), Version(match["version"].rstrip(".*"))
    except InvalidVersion:
        return None


def pins_from_project(root: Path) -> dict[str, tuple[Version, str]]:
    """Versions pinned by requirement files and pyproject dependencies under ``root``.

    ``==``, ``===``, ``~=`` and ``>=`` give the version the project moves to (the lower bound
    of a range is the oldest version the code must run on). Returns name -> (version, file).
    """
    found: dict[str, tuple[Version, str]] = {}
    candidates = sorted(root.glob("requirements*.txt")) + sorted(root.glob("requirements/*.txt"))
    for path in candidates:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            pin = _pin_from_requirement(line)
            if pin is not None:
                found.setdefault(pin[0], (pin[1], path.name))
    pyproject = _read_pyproject(root / "pyproject.toml")
    project = pyproject.get("project", {}) if isinstance(pyproject, dict) else {}
    dependencies = list(project.get("dependencies", []) or [])
    for group in (project.get("optional-dependencies", {}) or {}).values():
        dependencies.extend(group)
    for requirement in dependencies:
        if isinstance(requirement, str):
            pin = _pin_from_requirement(requirement)
            if pin is not None:
                found.setdefault(pin[0], (pin[1], "pyproject.toml"))
    return found


def _read_pyproject(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


_PROBE = (
    "import json, sys, importlib.metadata as m\n"
    "out = {'python': '.'.join(map(str, sys.version_info[:3]))}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        out[name] = m.version(name)\n"
    "    except Exception:\n"
    "        pass\n"
    "print(json.dumps(out))\n"
)


def installed_versions(libraries: Iterable[str], python: str | None = None) -> dict[str, Version]:
    """Versions of ``libraries`` installed in the interpreter ``python`` (default: this one).

    Another interpreter is asked in a subprocess; nothing is imported, only metadata read.
    """
    names = sorted({normalise_name(name) for name in libraries if name != PYTHON})
    # Compare unresolved paths: every venv's python links to the same base binary, but each
    # venv is its own environment.
    if python is None or os.path.abspath(python) == os.path.abspath(sys.executable):
        from importlib import metadata

        raw = {PYTHON: ".".join(map(str, sys.version_info[:3]))}
        for name in names:
            try:
                raw[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
    else:
        import json
        import subprocess

        try:
            completed = subprocess.run(
                [python, "-c", _PROBE, *names],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            raw = json.loads(completed.stdout)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise RuntimeError(f"cannot ask interpreter {python!r} for versions: {exc}") from exc
    versions: dict[str, Version] = {}
    for name, text in raw.items():
        try:
            versions[normalise_name(name)] = Version(text)
        except InvalidVersion:
            continue
    return versions


@dataclass(frozen=True)
class TargetSource:
    version: Version
    #: Where the version came from: "--target", "[tool.recode]", a file name, "installed".
    origin: str


@dataclass
class Targets:
    """The version each library moves to; a library with no entry is assumed newest."""

    by_library: dict[str, TargetSource]

    def version(self, library: str) -> Version | None:
        source = self.by_library.get(normalise_name(library))
        return source.version if source else None

    def describe(self) -> list[str]:
        return [f"{name}=={source.version} ({source.origin})" for name, source in sorted(self.by_library.items())]


def resolve_targets(
    libraries: Iterable[str],
    cli_targets: Mapping[str, Version] | None = None,
    config_targets: Mapping[str, Version] | None = None,
    project_root: Path | None = None,
    python: str | None = None,
    use_installed: bool = True,
) -> Targets:
    """Decide each library's target version, in the documented order of precedence."""
    wanted = {normalise_name(name) for name in libraries}
    chosen: dict[str, TargetSource] = {}
    for name, version in (cli_targets or {}).items():
        chosen[normalise_name(name)] = TargetSource(version, "--target")
    for name, version in (config_targets or {}).items():
        chosen.setdefault(normalise_name(name), TargetSource(version, "[tool.recode]"))
    if project_root is not None:
        for name, (version, origin) in pins_from_project(project_root).items():
            if name in wanted:
                chosen.setdefault(name, TargetSource(version, origin))
    missing = wanted - chosen.keys()
    if use_installed and missing:
        for name, version in installed_versions(missing, python).items():
            if name in missing:
                chosen.setdefault(name, TargetSource(version, "installed"))
    return Targets(chosen)
