"""``[tool.recode]`` in pyproject.toml: the project's own settings.

```toml
[tool.recode]
targets = ["numpy==2.0", "pandas==2.2"]   # or a table: targets = { numpy = "2.0" }
select = ["NPY", "pandas"]                  # ids, id prefixes or library names
ignore = ["PY105"]
extra-changes = ["migrations/changes.jsonl"]  # the project's own knowledge-base entries
unsafe-fixes = false
exclude = ["legacy/vendored"]
python = ".venv/bin/python"                  # interpreter whose installed versions count
notebooks = false                            # leave Jupyter notebooks (.ipynb) out of folder walks
```

``python`` comes with the project, so it is not run unless the user trusts it
(``--trust-config-python``, ``RECODE_TRUST_PYTHON=1``, or the editor's
``recode.trustProjectInterpreter``); otherwise the versions are read from its virtual
environment's files (:func:`recode_lsp.engine.versions.static_installed_versions`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from recode_lsp.engine.versions import Version, parse_target

KNOWN_KEYS = {
    "targets",
    "select",
    "ignore",
    "extra-changes",
    "unsafe-fixes",
    "exclude",
    "python",
    "libraries",
    "max-file-size",
    "notebooks",
}


class ConfigError(ValueError):
    """``[tool.recode]`` is malformed; the message names the file and key."""


@dataclass
class ProjectConfig:
    """The ``[tool.recode]`` settings of a project (defaults where the table says nothing)."""

    root: Path
    #: pyproject.toml that was read, if any.
    path: Path | None = None
    targets: dict[str, Version] = field(default_factory=dict)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    extra_changes: list[Path] = field(default_factory=list)
    unsafe_fixes: bool = False
    exclude: list[str] = field(default_factory=list)
    python: str | None = None
    libraries: list[str] | None = None
    #: ``max-file-size`` in bytes (0: no limit); None: the default.
    max_file_size: int | None = None
    #: Whether a folder walk finds ``.ipynb`` notebooks (``notebooks``, default true).
    notebooks: bool = True


def find_project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding pyproject.toml or .git."""
    start = start.resolve()
    current = start if start.is_dir() else start.parent
    for folder in (current, *current.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return current


def _strings(value: object, key: str, where: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(f"{where}: [tool.recode] {key} must be a string or a list of strings")


#: The folder, in the user's cache folder, of the ``[tool.recode]`` tables read before.
CONFIG_CACHE = "config"
#: Bump when what a config cache file holds changes; older files are then ignored.
_CONFIG_FORMAT = 1


def _parse_section(path: Path, data: bytes) -> object:
    """The ``[tool.recode]`` table of ``data``, the bytes of pyproject.toml at ``path`` (None: none)."""
    # Imported here: a run without a pyproject.toml, or served from the config cache, reads no
    # TOML (the parser's import was about 3 ms of a warm run).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        document = tomllib.loads(data.decode())  # what tomllib.load does with the file
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return document.get("tool", {}).get("recode")


def _cached_section(path: Path, data: bytes) -> object:
    """:func:`_parse_section`, kept by the digest of the bytes in the user's cache folder.

    Only a table that JSON gives back equal is kept (no dates, NaN or infinities); a cache file
    that is not what was written is a miss. Nothing that is not valid TOML is kept: it fails each time.
    """
    import json

    from recode_lsp.cache_home import cache_home
    from recode_lsp.cli.cache import read_entry, write_entry
    from recode_lsp.engine.digest import digest

    folder = cache_home() / CONFIG_CACHE
    name = f"pyproject-{digest(data, 16)}.json"
    stored = read_entry(folder, name, limit=1 << 20)
    if stored is not None:
        try:
            entry = json.loads(stored)
        except (ValueError, RecursionError):
            entry = None
        if isinstance(entry, dict) and entry.get("format") == _CONFIG_FORMAT and "recode" in entry:
            return entry["recode"]
    section = _parse_section(path, data)
    try:
        text = json.dumps({"format": _CONFIG_FORMAT, "recode": section}, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return section  # a date or a float JSON cannot hold
    if json.loads(text)["recode"] == section:
        write_entry(folder, name, text.encode(), prune="pyproject-")
    return section


def load_config(root: Path, *, cached: bool = False) -> ProjectConfig:
    """``[tool.recode]`` of ``root``'s pyproject.toml; ``cached``: as read before from the same bytes,
    kept in the user's cache folder (``recode-migrate`` without ``--no-cache``)."""
    path = root / "pyproject.toml"
    config = ProjectConfig(root=root)
    if not path.is_file():
        return config
    data = path.read_bytes()
    section = _cached_section(path, data) if cached else _parse_section(path, data)
    if section is None:
        return config
    config.path = path
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.recode] must be a table")
    unknown = sorted(set(section) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: [tool.recode] has unknown key(s): {', '.join(unknown)}")
    targets = section.get("targets", [])
    try:
        if isinstance(targets, dict):
            for name, version in targets.items():
                spec = (
                    version if isinstance(version, str) and version.lstrip()[:1] in tuple("<>=!~") else f"=={version}"
                )
                library, parsed = parse_target(f"{name}{spec}")
                config.targets[library] = parsed
        else:
            for text in _strings(targets, "targets", path):
                library, parsed = parse_target(text)
                config.targets[library] = parsed
    except ValueError as exc:
        raise ConfigError(f"{path}: [tool.recode] targets: {exc}") from None
    config.select = _strings(section.get("select", []), "select", path)
    config.ignore = _strings(section.get("ignore", []), "ignore", path)
    config.exclude = _strings(section.get("exclude", []), "exclude", path)
    config.extra_changes = [root / p for p in _strings(section.get("extra-changes", []), "extra-changes", path)]
    if "libraries" in section:
        config.libraries = [name.lower() for name in _strings(section["libraries"], "libraries", path)]
    unsafe = section.get("unsafe-fixes", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{path}: [tool.recode] unsafe-fixes must be true or false")
    config.unsafe_fixes = unsafe
    notebooks = section.get("notebooks", True)
    if not isinstance(notebooks, bool):
        raise ConfigError(f"{path}: [tool.recode] notebooks must be true or false")
    config.notebooks = notebooks
    if "max-file-size" in section:
        from recode_lsp.cli.files import parse_size

        try:
            config.max_file_size = parse_size(section["max-file-size"])
        except ValueError as exc:
            raise ConfigError(f"{path}: [tool.recode] max-file-size: {exc}") from None
    python = section.get("python")
    if python is not None:
        if not isinstance(python, str):
            raise ConfigError(f"{path}: [tool.recode] python must be a path")
        config.python = str(root / python) if not Path(python).is_absolute() and "/" in python else python
    return config
