"""Which version of each library the project is moving to.

A finding counts only for the version the user migrates to. That version comes from, in
order: the command line or editor setting (``--target numpy==2.0``), ``[tool.recode]``
targets in pyproject.toml, pins in requirements files and ``[project].dependencies`` (and
``[project] requires-python`` for Python), and last the version installed in the project's
interpreter. The standard library's "version" is the Python version (``python==3.12``).

Every source may give a range (``numpy>=1.26,<2``); its target is the oldest version it
allows (:func:`lowest_allowed`), the same rule everywhere.
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
    "lowest_allowed",
    "parse_target",
    "pins_from_project",
    "resolve_targets",
    "static_installed_versions",
    "trusted_by_environment",
]

PYTHON = "python"

# A target or requirement: a name, optional extras, then version clauses ("numpy>=1.26,<2").
_NAMED_SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(?P<spec>.*)$")
_LOWER_BOUNDS = ("===", "==", "~=", ">=", ">")


def normalise_name(name: str) -> str:
    """PEP 503 normalisation, so ``SQLAlchemy`` and ``sqlalchemy`` are one library."""
    return re.sub(r"[-_.]+", "-", name).lower()


#: ``==VERSION`` alone (no wildcard, no other clause): :func:`lowest_allowed` is that version.
_EXACT = re.compile(r"\s*==\s*(?P<version>[0-9][0-9A-Za-z.+!_-]*)\s*")


def lowest_allowed(spec: str) -> Version:
    """The version a range of versions targets: the oldest one it allows.

    The code has to run on every version the range allows, so a change counts once the
    oldest of them has it: ``==2.0``, ``~=2.0``, ``>=2.0`` and ``>=2.0,<3`` give 2.0, ``==1.26.*``
    gives 1.26, and ``>1.26`` gives 1.26 (a change made after 1.26 is missing from some allowed
    version). Upper bounds (``<``, ``<=``) and ``!=`` only narrow the range. Raises
    :class:`ValueError` for a range with no lower bound, since it names no version to move
    to, and for one that allows nothing.
    """
    exact = _EXACT.fullmatch(spec)
    if exact is not None:
        # ``==2.0``, the common case, without ``packaging.specifiers`` (importing it and compiling
        # its pattern is a tenth of a warm ``recode-migrate`` run): the same version it gives.
        try:
            return Version(exact["version"])
        except InvalidVersion:
            pass  # the general path below gives the error
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        specifiers = SpecifierSet(spec)
    except InvalidSpecifier:
        raise ValueError(f"{spec!r} is not a version or a range of versions") from None
    lower: Version | None = None
    strict = False  # ``>X``: X itself is not allowed
    for specifier in specifiers:
        if specifier.operator not in _LOWER_BOUNDS:
            continue
        text = specifier.version.removesuffix(".*")
        try:
            version = Version(text)
        except InvalidVersion:
            raise ValueError(f"{text!r} is not a version") from None
        if lower is None or version > lower or (version == lower and specifier.operator == ">"):
            lower, strict = version, specifier.operator == ">"
    if lower is None:
        raise ValueError(
            f"{spec.strip()!r} has no lower bound: a target is the oldest version the code must run on; "
            "give one, e.g. '>=1.26,<2.0' or '==1.26'"
        )
    for specifier in specifiers:
        bound = specifier.operator in ("<", "<=") and Version(specifier.version)
        if bound and (lower > bound or (lower == bound and (strict or specifier.operator == "<"))):
            raise ValueError(f"{spec.strip()!r} allows no version")
    return lower


def parse_target(text: str) -> tuple[str, Version]:
    """Parse ``numpy==2.0`` (also ``numpy=2.0`` and ranges such as ``numpy>=1.26,<2``).

    Returns the library and its target, the oldest version the range allows
    (:func:`lowest_allowed`); raises :class:`ValueError` with a message for the user.
    """
    match = _NAMED_SPEC.match(text)
    spec = match["spec"].strip() if match else ""
    if match is None or not spec or spec[0] not in "=<>!~":
        raise ValueError(
            f"target {text!r} is not of the form LIBRARY==VERSION (or a range, LIBRARY>=VERSION,<VERSION)"
        )
    if spec.startswith("=") and not spec.startswith(("==", "===")):
        spec = "=" + spec  # ``numpy=2.0``, an old shorthand
    try:
        return normalise_name(match["name"]), lowest_allowed(spec)
    except ValueError as exc:
        raise ValueError(f"target {text!r}: {exc}") from None


def _pin_from_requirement(line: str) -> tuple[str, Version] | None:
    """The target a requirement gives (``numpy>=1.25,<2`` -> 1.25), if it has a lower bound."""
    line = line.split("#", 1)[0].split(";", 1)[0]
    line = line.split(" --", 1)[0].rstrip().removesuffix("\\")  # ``--hash=...`` options, continuations
    match = _NAMED_SPEC.match(line)
    if match is None or not match["spec"].strip() or match["spec"].strip()[0] not in "=<>!~":
        return None
    try:
        return normalise_name(match["name"]), lowest_allowed(match["spec"])
    except ValueError:
        return None


def _requires_python(project: dict[str, Any]) -> Version | None:
    """The lower bound of ``[project] requires-python`` (what ruff and pyupgrade target)."""
    requires = project.get("requires-python")
    if not isinstance(requires, str):
        return None
    try:
        return lowest_allowed(requires)
    except ValueError:
        return None


def pins_from_project(root: Path) -> dict[str, tuple[Version, str]]:
    """Versions pinned by requirement files and pyproject dependencies under ``root``.

    A requirement with a lower bound gives the version the project moves to, read as a
    ``--target`` range is (:func:`lowest_allowed`); one with none gives nothing. ``[project]
    requires-python`` gives the Python target. Returns name -> (version, file).
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
    python = _requires_python(project)
    if python is not None:
        found.setdefault(PYTHON, (python, "requires-python"))
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


#: Set to 1 to let an interpreter named by a project's settings run (as ``--trust-config-python``).
TRUST_ENV = "RECODE_TRUST_PYTHON"


def trusted_by_environment() -> bool:
    """Whether the user trusts the interpreters projects name (``RECODE_TRUST_PYTHON=1``)."""
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")


def _running_versions(names: Iterable[str]) -> dict[str, str]:
    from importlib import metadata

    raw = {PYTHON: ".".join(map(str, sys.version_info[:3]))}
    for name in names:
        try:
            raw[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return raw


def metadata_version(text: str) -> Version | None:
    """The ``Version`` header of a distribution's METADATA / PKG-INFO text (the headers end at the
    first blank line; reading them directly beats the email parser by milliseconds)."""
    for line in text.partition("\n\n")[0].splitlines():
        if line.startswith("Version:"):
            try:
                return Version(line.partition(":")[2].strip())
            except InvalidVersion:
                return None
    return None


def _metadata_field(path: Path, field: str) -> str | None:
    """One header of a METADATA / PKG-INFO file (read at most 64 KB; the headers come first)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(65536).decode("utf-8", "replace")
    except OSError:
        return None
    prefix = f"{field.lower()}:"
    for line in head.splitlines():
        if not line.strip():
            break  # the body starts
        if line.lower().startswith(prefix):
            return line[len(prefix) :].strip()
    return None


def _site_packages(environment: Path) -> list[Path]:
    found = sorted(environment.glob("lib/python*/site-packages")) + sorted(environment.glob("lib/pypy*/site-packages"))
    found += [environment / "Lib" / "site-packages"]
    return [folder for folder in found if folder.is_dir()]


def static_installed_versions(python: str, libraries: Iterable[str]) -> dict[str, str] | None:
    """Versions installed in the virtual environment of ``python``, read without running anything.

    The environment is the folder above ``python``'s folder holding ``pyvenv.cfg``
    (``.venv/bin/python``); its ``site-packages`` are read for ``*.dist-info/METADATA`` (and
    ``*.egg-info``), and ``pyvenv.cfg`` for the Python version. None when ``python`` is not in
    a virtual environment.
    """
    # Unresolved: a venv's python is a link to the base interpreter, outside the environment.
    executable = Path(os.path.abspath(python))
    environment = next(
        (folder for folder in (executable.parent.parent, executable.parent) if (folder / "pyvenv.cfg").is_file()),
        None,
    )
    if environment is None:
        return None
    wanted = {normalise_name(name) for name in libraries if name != PYTHON}
    raw: dict[str, str] = {}
    try:
        config = (environment / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        config = ""
    for line in config.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() in ("version", "version_info") and value.strip():
            raw[PYTHON] = ".".join(value.strip().split(".")[:3])
    folders = _site_packages(environment)
    if PYTHON not in raw:
        for folder in folders:
            series = folder.parent.name.removeprefix("python")
            if series[:1].isdigit():
                raw[PYTHON] = series
    for folder in folders:
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info"):
                info = folder / entry / "METADATA"
            elif entry.endswith(".egg-info"):
                info = folder / entry / "PKG-INFO" if (folder / entry).is_dir() else folder / entry
            else:
                continue
            # The folder name starts with the (normalised) project name: skip the rest unread.
            if normalise_name(entry.split("-", 1)[0]) not in wanted:
                continue
            name = _metadata_field(info, "Name")
            version = _metadata_field(info, "Version")
            if name and version and normalise_name(name) in wanted:
                raw.setdefault(normalise_name(name), version)
    return raw


def installed_versions(
    libraries: Iterable[str], python: str | None = None, *, run_python: bool = False
) -> dict[str, Version]:
    """Versions of ``libraries`` installed in the interpreter ``python`` (default: this one).

    Another interpreter runs only with ``run_python`` (the user named or trusted it): it is
    then asked in a subprocess, and imports nothing but reads metadata. Without it, nothing
    runs: the versions are read from the files of ``python``'s virtual environment
    (:func:`static_installed_versions`), or are this interpreter's when it is in none.
    """
    names = sorted({normalise_name(name) for name in libraries if name != PYTHON})
    # Compare unresolved paths: every venv's python links to the same base binary, but each
    # venv is its own environment.
    if python is None or os.path.abspath(python) == os.path.abspath(sys.executable):
        raw = _running_versions(names)
    elif not run_python:
        read = static_installed_versions(python, names)
        raw = _running_versions(names) if read is None else {**_running_versions([]), **read}
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
        if not isinstance(raw, dict):
            raise RuntimeError(f"cannot ask interpreter {python!r} for versions: it answered {raw!r}")
    versions: dict[str, Version] = {}
    for name, text in raw.items():
        try:
            versions[normalise_name(name)] = Version(text)
        except (InvalidVersion, TypeError):
            continue
    return versions


@dataclass(frozen=True)
class TargetSource:
    """A library's target version and where it came from (``--target``, a pin, the installed one)."""

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
    *,
    run_python: bool = False,
) -> Targets:
    """Decide each library's target version, in the documented order of precedence."""
    wanted = {normalise_name(name) for name in libraries}
    chosen: dict[str, TargetSource] = {}
    for name, version in (cli_targets or {}).items():
        chosen[normalise_name(name)] = TargetSource(version, "--target")
    for name, version in (config_targets or {}).items():
        chosen.setdefault(normalise_name(name), TargetSource(version, "[tool.recode]"))
    if project_root is not None and not wanted <= chosen.keys():  # else nothing to read (no TOML import)
        for name, (version, origin) in pins_from_project(project_root).items():
            if name in wanted:
                chosen.setdefault(name, TargetSource(version, origin))
    missing = wanted - chosen.keys()
    if use_installed and missing:
        for name, version in installed_versions(missing, python, run_python=run_python).items():
            if name in missing:
                chosen.setdefault(name, TargetSource(version, "installed"))
    return Targets(chosen)
