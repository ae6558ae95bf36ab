"""The adapter registry: every trained ReCode LoRA adapter, one immutable version per folder.

Why a registry: the server hot-swaps adapters and must be able to go back. A rollback is only
safe when the previous version still exists exactly as it was served, and a promotion is only
sensible when one can see what a version was trained on and how it scored. So each version is
kept, whole and unchanged, with those facts beside it.

Format (the trainer writes adapters this way; :func:`register` does it for any PEFT folder)::

    <registry>/                        default ~/.cache/recode/adapters, env RECODE_ADAPTER_REGISTRY
      <name>/                          one version; <name> is also its vLLM model name, e.g. recode-v2
        adapter_config.json            PEFT's files, as ``PeftModel.save_pretrained`` writes them
        adapter_model.safetensors
        recode_adapter.json            the metadata and manifest, written last (it marks a complete version)
        training.json                  what recode-train recorded (config, reward curve), when it trained it
      .history.json                    the promotions, per alias (``adapters rollback`` reads it)

``recode_adapter.json``::

    {
      "format": "recode-adapter/2",
      "name": "recode-v2",
      "base_model": "Qwen/Qwen2.5-Coder-7B-Instruct",   # the model the adapter was trained on
      "data_hash": "sha256:…",                           # hash of the training data (any string)
      "scores": {"pass@1": 0.41, "recode_reward": 1.32}, # evaluation scores (name -> number)
      "created": "2026-12-02T13:00:00+00:00",            # UTC, ISO 8601
      "rank": 8,                                         # LoRA rank (from adapter_config.json)
      "files": {                                         # the manifest: every other file of the folder
        "adapter_config.json": {"size": 712, "sha256": "…"},
        "adapter_model.safetensors": {"size": 1234, "sha256": "…"}
      },
      "digest": "sha256:…"                               # of the canonical JSON of all the keys above
    }

The manifest lists every file in the version folder except ``recode_adapter.json``; a version
is used (``load``, ``promote``, ``start --adapter NAME``) only when the folder holds exactly
those files, as regular files (no symbolic links, and the version folder is not one), with
those sizes and hashes, and the metadata still matches its digest. Anything else is refused
with what changed; corrupt metadata is an error, never a reason to skip the check. The digest
catches edits to the metadata (``"files": {}``, a nulled hash, another base model); it is not
a signature: whoever can write the registry can re-register a version.

A trainer may write the PEFT files straight into ``<registry>/<name>/`` and then call
:func:`register` with that same folder: nothing is copied, only the metadata is written. Any
other folder is copied into the registry (to a temporary name first, then renamed, so a
half-copied version is never visible). Names are ``[A-Za-z0-9][A-Za-z0-9._-]*`` (at most 64
characters): they become vLLM model names and folder names. Versions are never overwritten:
a retrained adapter is a new version with a new name. A version registered by an older
recode-serve (``recode-adapter/1``, whose manifest held only the weights) is refused until it
is registered again in place (``recode-serve adapters add NAME <registry>/NAME``), which
checks its weights against the old hashes and seals every file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from serving.config import cache_folder

__all__ = [
    "FORMAT",
    "METADATA_FILE",
    "AdapterRegistry",
    "AdapterVersion",
    "Promotion",
    "RegistryError",
    "adapter_rank",
    "check_adapter_folder",
    "default_registry_dir",
    "register",
]

FORMAT = "recode-adapter/2"
#: The format before the manifest covered every file; such versions must be registered again.
LEGACY_FORMAT = "recode-adapter/1"
METADATA_FILE = "recode_adapter.json"
#: The trainer's own record of a version (config, reward curve), kept beside the metadata.
TRAINING_FILE = "training.json"
PEFT_CONFIG = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
#: The promotions of every alias served from this registry, newest last (``adapters rollback``).
HISTORY_FILE = ".history.json"
HISTORY_FORMAT = "recode-history/1"
#: Promotions kept per alias.
HISTORY_LIMIT = 100


class RegistryError(Exception):
    """A registry operation failed; the message says why and what to do."""


def default_registry_dir() -> Path:
    """``$RECODE_ADAPTER_REGISTRY``, else ``$XDG_CACHE_HOME/recode/adapters`` (``~/.cache/...``)."""
    return cache_folder("RECODE_ADAPTER_REGISTRY", "adapters")


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise RegistryError(
            f"invalid adapter name {name!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 64 characters)"
        )
    return name


def check_adapter_folder(path: Path) -> dict[str, object]:
    """The PEFT config of the adapter in ``path``; raises :class:`RegistryError` when it is not one."""
    if not path.is_dir():
        raise RegistryError(f"{path}: not a folder (expected a PEFT LoRA adapter folder)")
    config_file = path / PEFT_CONFIG
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{path}: no {PEFT_CONFIG} (not a PEFT adapter folder)") from None
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{config_file}: unreadable: {exc}") from None
    if not isinstance(config, dict):
        raise RegistryError(f"{config_file}: not a JSON object")
    if str(config.get("peft_type", "LORA")).upper() != "LORA":
        raise RegistryError(f"{path}: a {config.get('peft_type')} adapter; vLLM serves LoRA adapters only")
    if not any((path / weights).is_file() for weights in WEIGHT_FILES):
        raise RegistryError(f"{path}: no adapter weights ({' or '.join(WEIGHT_FILES)})")
    return config


def adapter_rank(path: Path) -> int:
    """The largest LoRA rank in the adapter's config (``r`` and any ``rank_pattern`` values)."""
    config = check_adapter_folder(path)
    ranks = [int(str(config.get("r") or 8))]
    pattern = config.get("rank_pattern")
    if isinstance(pattern, dict):
        ranks.extend(int(value) for value in pattern.values())
    return max(ranks)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest(metadata: Mapping[str, object]) -> str:
    """The hash of the metadata's canonical JSON, without its ``digest`` key."""
    payload = {key: value for key, value in metadata.items() if key != "digest"}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _folder_files(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` but its metadata (relative path -> size); links and odd files are refused."""
    if folder.is_symlink():
        raise RegistryError(
            f"{folder} is a symbolic link (to {os.readlink(folder)}); a version must be a real folder in the registry"
        )
    found: dict[str, int] = {}
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError as exc:
            raise RegistryError(f"cannot read {current}: {exc.strerror}") from None
        for entry in entries:
            relative = Path(entry.path).relative_to(folder).as_posix()
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                raise RegistryError(
                    f"{entry.path} is a symbolic link (to {os.readlink(entry.path)}); "
                    "a version holds regular files only (copy the file instead)"
                )
            if stat.S_ISDIR(info.st_mode):
                pending.append(Path(entry.path))
            elif not stat.S_ISREG(info.st_mode):
                raise RegistryError(f"{entry.path} is not a regular file")
            elif relative != METADATA_FILE:
                found[relative] = info.st_size
    return found


def _manifest(folder: Path) -> dict[str, dict[str, object]]:
    """The manifest of ``folder``: size and SHA-256 of every file but the metadata."""
    return {
        name: {"size": size, "sha256": _sha256(folder / name)} for name, size in sorted(_folder_files(folder).items())
    }


def _check_manifest(files: object, meta_file: Path) -> dict[str, dict[str, object]]:
    if not isinstance(files, dict) or not files:
        raise RegistryError(f"{meta_file}: corrupt metadata: 'files' must list every file of the version")
    for name, facts in files.items():
        parts = str(name).split("/")
        if not isinstance(name, str) or name.startswith("/") or "" in parts or "." in parts or ".." in parts:
            raise RegistryError(
                f"{meta_file}: corrupt metadata: the manifest names {name!r}, not a file in the folder"
            )
        if (
            not isinstance(facts, dict)
            or set(facts) != {"size", "sha256"}
            or not isinstance(facts["size"], int)
            or isinstance(facts["size"], bool)
            or facts["size"] < 0
            or not isinstance(facts["sha256"], str)
            or not SHA256_PATTERN.fullmatch(facts["sha256"])
        ):
            raise RegistryError(
                f"{meta_file}: corrupt metadata: the manifest entry of {name} needs a size and a sha256"
            )
    if PEFT_CONFIG not in files or not any(weights in files for weights in WEIGHT_FILES):
        raise RegistryError(f"{meta_file}: corrupt metadata: the manifest lacks {PEFT_CONFIG} or the adapter weights")
    return files


@dataclass(frozen=True)
class AdapterVersion:
    """One registered adapter version (the contents of its ``recode_adapter.json``)."""

    name: str
    path: Path
    base_model: str
    data_hash: str
    scores: dict[str, float] = field(default_factory=dict)
    created: str = ""
    rank: int = 8
    #: The manifest: every file of the folder but the metadata -> {"size": bytes, "sha256": hex}.
    files: dict[str, dict[str, object]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "format": FORMAT,
            "name": self.name,
            "base_model": self.base_model,
            "data_hash": self.data_hash,
            "scores": dict(self.scores),
            "created": self.created,
            "rank": self.rank,
            "files": self.files,
        }
        data["digest"] = _digest(data)
        return data

    @classmethod
    def from_folder(cls, folder: Path) -> AdapterVersion:
        """Read and check one version folder (all but the file hashes: :meth:`verify`).

        :class:`RegistryError` says what is wrong.
        """
        meta_file = folder / METADATA_FILE
        if folder.is_symlink():
            _folder_files(folder)  # raises: says where the link points
        data = _read_metadata(meta_file)
        if data.get("format") == LEGACY_FORMAT:
            raise RegistryError(
                f"{meta_file}: registered by an older recode-serve ({LEGACY_FORMAT}: only the weights were hashed); "
                f"register it again to seal every file: recode-serve adapters add {folder.name} {folder}"
            )
        if data.get("format") != FORMAT:
            raise RegistryError(f"{meta_file}: not {FORMAT} metadata (format: {data.get('format')!r})")
        if data.get("name") != folder.name:
            raise RegistryError(f"{meta_file}: names version {data.get('name')!r} but lies in folder {folder.name!r}")
        if data.get("digest") != _digest(data):
            raise RegistryError(
                f"{meta_file}: the metadata was edited after registration (its digest does not match); "
                "versions are immutable: register the adapter again under a new name"
            )
        try:
            scores_raw = data.get("scores") or {}
            if not isinstance(scores_raw, dict):
                raise TypeError("scores must be an object")
            version = cls(
                name=str(data["name"]),
                path=folder,
                base_model=str(data["base_model"]),
                data_hash=str(data.get("data_hash") or ""),
                scores={str(k): float(v) for k, v in scores_raw.items()},
                created=str(data.get("created") or ""),
                rank=int(data.get("rank") or 8),
                files=_check_manifest(data.get("files"), meta_file),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RegistryError(f"{meta_file}: corrupt metadata: {type(exc).__name__}: {exc}") from None
        version._check_files(hashes=False)
        return version

    def verify(self) -> None:
        """Check the folder against the manifest: the same files, regular ones, with the same sizes and hashes."""
        self._check_files(hashes=True)
        check_adapter_folder(self.path)

    def _check_files(self, *, hashes: bool) -> None:
        where = f"adapter {self.name!r} ({self.path})"
        present = _folder_files(self.path)
        missing = sorted(set(self.files) - set(present))
        if missing:
            raise RegistryError(
                f"{where}: {', '.join(missing)} is missing (registered files: {', '.join(self.files)})"
            )
        unknown = sorted(set(present) - set(self.files))
        if unknown:
            raise RegistryError(
                f"{where}: files not in its manifest: {', '.join(unknown)}; a version is immutable: "
                "remove them, or register the changed adapter under a new name"
            )
        for file_name, facts in self.files.items():
            if present[file_name] != facts["size"] or (hashes and _sha256(self.path / file_name) != facts["sha256"]):
                raise RegistryError(
                    f"{where}: {file_name} changed since it was registered; a version is immutable: "
                    "register the changed adapter under a new name"
                )


def _read_metadata(meta_file: Path) -> dict[str, Any]:
    try:
        data = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(
            f"{meta_file.parent}: no {METADATA_FILE} (an incomplete or foreign folder in the registry; "
            "register it with `recode-serve adapters add` or remove it)"
        ) from None
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{meta_file}: corrupt metadata: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{meta_file}: corrupt metadata: not a JSON object")
    return data


@dataclass(frozen=True)
class ListedVersion:
    """A registry folder as ``list`` shows it: the version, or why it cannot be used."""

    name: str
    version: AdapterVersion | None
    problem: str | None = None


@dataclass(frozen=True)
class Promotion:
    """One promote of an alias, as ``.history.json`` records it (rollback returns to ``previous``)."""

    #: The adapter the alias served before (None: the base model) and its folder then.
    previous: str | None
    path: str | None
    #: The adapter promoted over it, and when (UTC, ISO 8601).
    promoted: str
    at: str

    def to_json(self) -> dict[str, object]:
        return {"previous": self.previous, "path": self.path, "promoted": self.promoted, "at": self.at}


class AdapterRegistry:
    """The folder of adapter versions (see the module docstring for the format)."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_registry_dir()
        if self.root.exists() and not self.root.is_dir():
            raise RegistryError(f"the adapter registry {self.root} is not a folder")

    def _folders(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for entry in sorted(self.root.iterdir()):
            if (entry.is_dir() or entry.is_symlink()) and not entry.name.startswith("."):
                yield entry

    def entries(self) -> list[ListedVersion]:
        """Every version folder, usable or not (a corrupt one is listed with its problem)."""
        listed: list[ListedVersion] = []
        for folder in self._folders():
            try:
                listed.append(ListedVersion(folder.name, AdapterVersion.from_folder(folder)))
            except RegistryError as exc:
                listed.append(ListedVersion(folder.name, None, str(exc)))
        return sorted(listed, key=lambda item: (item.version.created if item.version else "", item.name))

    def versions(self) -> list[AdapterVersion]:
        """The usable versions, oldest first."""
        return [item.version for item in self.entries() if item.version is not None]

    def names(self) -> list[str]:
        return [folder.name for folder in self._folders()]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
            return False
        folder = self.root / name
        return folder.is_dir() or folder.is_symlink()

    def get(self, name: str) -> AdapterVersion:
        """The version called ``name``; an unknown or corrupt one raises :class:`RegistryError`."""
        check_name(name)
        if name not in self:
            known = ", ".join(self.names()) or "none"
            raise RegistryError(f"unknown adapter {name!r} in the registry {self.root} (registered: {known})")
        return AdapterVersion.from_folder(self.root / name)

    def register(
        self,
        path: Path | str,
        name: str,
        base_model: str | None = None,
        data_hash: str = "",
        scores: Mapping[str, float] | None = None,
        *,
        created: datetime | None = None,
    ) -> AdapterVersion:
        """Add the PEFT adapter in ``path`` as version ``name`` (copied unless it is already in place)."""
        check_name(name)
        if (self.root / name).is_symlink():
            raise RegistryError(
                f"{self.root / name} is a symbolic link; a version must be a real folder in the registry"
            )
        source = Path(path).expanduser().resolve()
        config = check_adapter_folder(source)
        # What ``recode-train`` wrote beside the adapter gives the defaults.
        trained = _training_metadata(source)
        self.root.mkdir(parents=True, exist_ok=True)
        target = (self.root / name).resolve()
        in_place = source == target
        legacy = _legacy_metadata(target) if in_place else {}
        if legacy:
            base_model = base_model or str(legacy.get("base_model") or "")
            data_hash = data_hash or str(legacy.get("data_hash") or "")
            legacy_scores = legacy.get("scores")
            if scores is None and isinstance(legacy_scores, dict):
                scores = legacy_scores
            if created is None:
                with contextlib.suppress(ValueError):
                    created = datetime.fromisoformat(str(legacy.get("created")))
        if base_model is None:
            base_model = str(trained.get("base_model") or config.get("base_model_name_or_path") or "")
            if not base_model:
                raise RegistryError(f"{source}: the adapter does not name its base model; pass base_model")
        data_hash = data_hash or str(trained.get("data_hash") or "")
        trained_scores = trained.get("scores")
        if scores is None and isinstance(trained_scores, Mapping):
            scores = {str(k): v for k, v in trained_scores.items() if isinstance(v, (int, float))}
        clean_scores: dict[str, float] = {}
        for key, value in (scores or {}).items():
            try:
                clean_scores[str(key)] = float(value)
            except (TypeError, ValueError):
                raise RegistryError(f"score {key!r} is not a number: {value!r}") from None
        if not in_place and target.exists():
            raise RegistryError(
                f"adapter {name!r} is already registered ({target}); versions are immutable, "
                "register the new adapter under a new name"
            )
        if in_place and (target / METADATA_FILE).exists() and not trained and not legacy:
            raise RegistryError(f"adapter {name!r} is already registered ({target})")
        staging: Path | None = None
        folder = target
        if not in_place:
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.root))
            shutil.copytree(source, staging, dirs_exist_ok=True)
            (staging / METADATA_FILE).unlink(missing_ok=True)
            folder = staging
        try:
            if trained:
                # The trainer's record (its config, reward curve) stays with the version.
                (folder / TRAINING_FILE).write_text(json.dumps(trained, indent=2) + "\n", encoding="utf-8")
            stamp = (created or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
            version = AdapterVersion(
                name=name,
                path=target,
                base_model=base_model,
                data_hash=data_hash,
                scores=clean_scores,
                created=stamp,
                rank=adapter_rank(folder),
                files=_manifest(folder),
            )
            meta_tmp = folder / f".{METADATA_FILE}.tmp"
            meta_tmp.write_text(json.dumps(version.to_json(), indent=2) + "\n", encoding="utf-8")
            os.replace(meta_tmp, folder / METADATA_FILE)
            if staging is not None:
                os.rename(staging, target)
                staging = None
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        return version

    # --- the promotion history ---------------------------------------------------------

    @property
    def history_file(self) -> Path:
        return self.root / HISTORY_FILE

    @contextlib.contextmanager
    def _history_locked(self) -> Iterator[dict[str, list[dict[str, Any]]]]:
        """The history (alias -> promotions, oldest first) under the registry's lock; written back after."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(self.root / ".history.lock", "a+")  # noqa: SIM115 (held across the yield)
        except OSError as exc:
            raise RegistryError(f"cannot write the rollback history in {self.root}: {exc.strerror}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            history = self._read_history()
            before = json.dumps(history, sort_keys=True)
            yield history
            if json.dumps(history, sort_keys=True) != before:
                data = {"format": HISTORY_FORMAT, "aliases": history}
                temporary = self.history_file.with_name(f"{HISTORY_FILE}.tmp{os.getpid()}")
                temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
                os.replace(temporary, self.history_file)

    def _read_history(self) -> dict[str, list[dict[str, Any]]]:
        try:
            data = json.loads(self.history_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise RegistryError(
                f"{self.history_file}: corrupt rollback history ({exc}); remove it to start anew"
            ) from None
        aliases = data.get("aliases") if isinstance(data, dict) and data.get("format") == HISTORY_FORMAT else None
        valid = isinstance(aliases, dict) and all(
            isinstance(entries, list)
            and all(
                isinstance(entry, dict)
                and isinstance(entry.get("promoted"), str)
                and isinstance(entry.get("at"), str)
                and all(isinstance(entry.get(key), (str, type(None))) for key in ("previous", "path"))
                for entry in entries
            )
            for entries in aliases.values()
        )
        if not valid:
            raise RegistryError(
                f"{self.history_file}: corrupt rollback history (not {HISTORY_FORMAT}); remove it to start anew"
            )
        return aliases  # type: ignore[return-value]

    def history(self, alias: str) -> list[Promotion]:
        """The promotions of ``alias`` served from this registry, oldest first."""
        entries = self._read_history().get(alias, [])
        return [Promotion(e["previous"], e["path"], e["promoted"], e["at"]) for e in entries]

    def record_promotion(self, alias: str, previous: str | None, path: str | None, promoted: str) -> Promotion:
        """Record that ``promoted`` replaced ``previous`` (folder ``path``) under ``alias``."""
        entry = Promotion(previous, path, promoted, datetime.now(timezone.utc).isoformat(timespec="seconds"))
        with self._history_locked() as history:
            entries = history.setdefault(alias, [])
            entries.append(entry.to_json())
            del entries[:-HISTORY_LIMIT]
        return entry

    def forget_promotion(self, alias: str, entry: Promotion) -> None:
        """Drop ``entry`` (the last promotion of ``alias``, after a rollback undid it)."""
        with self._history_locked() as history:
            entries = history.get(alias, [])
            if entries and entries[-1] == entry.to_json():
                entries.pop()
            if not entries:
                history.pop(alias, None)


def _training_metadata(folder: Path) -> dict[str, object]:
    """The ``recode_adapter.json`` that ``recode-train`` writes (no ``format`` key), else {}.

    The trainer and the registry share the file name: a trainer's output folder carries its
    base model, data hash, scores, config and reward curve, which :meth:`AdapterRegistry.register`
    takes as defaults and keeps in ``training.json``.
    """
    try:
        data = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and "format" not in data else {}


def _legacy_metadata(folder: Path) -> dict[str, Any]:
    """The metadata of a version ``recode-adapter/1`` registered, its weights checked against it; else {}."""
    try:
        data = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != LEGACY_FORMAT:
        return {}
    files = data.get("files")
    weights = [name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not isinstance(files, dict) or not weights or set(weights) - set(files):
        raise RegistryError(f"{folder}: its {LEGACY_FORMAT} metadata does not record its weights; cannot re-seal it")
    for name in weights:
        facts = files[name]
        if not isinstance(facts, dict) or facts.get("sha256") != _sha256(folder / name):
            raise RegistryError(f"{folder}: {name} changed since it was registered; cannot re-seal it")
    return data


def register(
    path: Path | str,
    name: str,
    base_model: str | None = None,
    data_hash: str = "",
    scores: Mapping[str, float] | None = None,
    *,
    registry: Path | str | None = None,
) -> AdapterVersion:
    """Register the adapter in ``path`` as ``name`` in ``registry`` (default: :func:`default_registry_dir`).

    The trainer calls this after evaluating a new adapter; ``recode-serve adapters promote NAME``
    then puts it in front of the clients.
    """
    return AdapterRegistry(registry).register(path, name, base_model, data_hash, scores)
