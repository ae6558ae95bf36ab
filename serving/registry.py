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
        recode_adapter.json            the metadata, written last (its presence marks a complete version)
        training.json                  what recode-train recorded (config, reward curve), when it trained it

``recode_adapter.json``::

    {
      "format": "recode-adapter/1",
      "name": "recode-v2",
      "base_model": "Qwen/Qwen2.5-Coder-7B-Instruct",   # the model the adapter was trained on
      "data_hash": "sha256:…",                           # hash of the training data (any string)
      "scores": {"pass@1": 0.41, "recode_reward": 1.32}, # evaluation scores (name -> number)
      "created": "2026-12-02T13:00:00+00:00",            # UTC, ISO 8601
      "rank": 8,                                         # LoRA rank (from adapter_config.json)
      "files": {"adapter_model.safetensors": {"size": 1234, "sha256": "…"}}
    }

A trainer may write the PEFT files straight into ``<registry>/<name>/`` and then call
:func:`register` with that same folder: nothing is copied, only the metadata is written. Any
other folder is copied into the registry (to a temporary name first, then renamed, so a
half-copied version is never visible). Names are ``[A-Za-z0-9][A-Za-z0-9._-]*`` (at most 64
characters): they become vLLM model names and folder names. Versions are never overwritten:
a retrained adapter is a new version with a new name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from serving.config import cache_folder

__all__ = [
    "FORMAT",
    "METADATA_FILE",
    "AdapterRegistry",
    "AdapterVersion",
    "RegistryError",
    "adapter_rank",
    "check_adapter_folder",
    "default_registry_dir",
    "register",
]

FORMAT = "recode-adapter/1"
METADATA_FILE = "recode_adapter.json"
#: The trainer's own record of a version (config, reward curve), kept beside the metadata.
TRAINING_FILE = "training.json"
PEFT_CONFIG = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


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
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    files: dict[str, dict[str, object]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "name": self.name,
            "base_model": self.base_model,
            "data_hash": self.data_hash,
            "scores": dict(self.scores),
            "created": self.created,
            "rank": self.rank,
            "files": self.files,
        }

    @classmethod
    def from_folder(cls, folder: Path) -> AdapterVersion:
        """Read and check one version folder; :class:`RegistryError` says what is wrong with it."""
        meta_file = folder / METADATA_FILE
        try:
            data = json.loads(meta_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RegistryError(
                f"{folder}: no {METADATA_FILE} (an incomplete or foreign folder in the registry; "
                "register it with `recode-serve adapters add` or remove it)"
            ) from None
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{meta_file}: corrupt metadata: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise RegistryError(f"{meta_file}: not {FORMAT} metadata (format: {found!r})")
        try:
            name = str(data["name"])
            base_model = str(data["base_model"])
            scores_raw = data.get("scores") or {}
            if not isinstance(scores_raw, dict):
                raise TypeError("scores must be an object")
            scores = {str(k): float(v) for k, v in scores_raw.items()}
            files = data.get("files") or {}
            if not isinstance(files, dict):
                raise TypeError("files must be an object")
            version = cls(
                name=name,
                path=folder,
                base_model=base_model,
                data_hash=str(data.get("data_hash") or ""),
                scores=scores,
                created=str(data.get("created") or ""),
                rank=int(data.get("rank") or 8),
                files=files,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RegistryError(f"{meta_file}: corrupt metadata: {type(exc).__name__}: {exc}") from None
        if name != folder.name:
            raise RegistryError(f"{meta_file}: names version {name!r} but lies in folder {folder.name!r}")
        check_adapter_folder(folder)
        return version

    def verify(self) -> None:
        """Check the weight files against the sizes and hashes recorded at registration."""
        for file_name, facts in self.files.items():
            target = self.path / file_name
            if not target.is_file():
                raise RegistryError(f"adapter {self.name!r}: {file_name} is missing from {self.path}")
            size = facts.get("size")
            if isinstance(size, int) and target.stat().st_size != size:
                raise RegistryError(f"adapter {self.name!r}: {file_name} changed size since it was registered")
            digest = facts.get("sha256")
            if isinstance(digest, str) and _sha256(target) != digest:
                raise RegistryError(f"adapter {self.name!r}: {file_name} changed since it was registered")


@dataclass(frozen=True)
class ListedVersion:
    """A registry folder as ``list`` shows it: the version, or why it cannot be used."""

    name: str
    version: AdapterVersion | None
    problem: str | None = None


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
            if entry.is_dir() and not entry.name.startswith("."):
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
        return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None and (self.root / name).is_dir()

    def get(self, name: str) -> AdapterVersion:
        """The version called ``name``; an unknown or corrupt one raises :class:`RegistryError`."""
        check_name(name)
        folder = self.root / name
        if not folder.is_dir():
            known = ", ".join(self.names()) or "none"
            raise RegistryError(f"unknown adapter {name!r} in the registry {self.root} (registered: {known})")
        return AdapterVersion.from_folder(folder)

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
        source = Path(path).expanduser().resolve()
        config = check_adapter_folder(source)
        # What ``recode-train`` wrote beside the adapter gives the defaults.
        trained = _training_metadata(source)
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
        self.root.mkdir(parents=True, exist_ok=True)
        target = (self.root / name).resolve()
        in_place = source == target
        if not in_place and target.exists():
            raise RegistryError(
                f"adapter {name!r} is already registered ({target}); versions are immutable, "
                "register the new adapter under a new name"
            )
        if in_place and (target / METADATA_FILE).exists() and not trained:
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
            files = {
                weights: {"size": (folder / weights).stat().st_size, "sha256": _sha256(folder / weights)}
                for weights in WEIGHT_FILES
                if (folder / weights).is_file()
            }
            stamp = (created or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
            version = AdapterVersion(
                name=name,
                path=target,
                base_model=base_model,
                data_hash=data_hash,
                scores=clean_scores,
                created=stamp,
                rank=adapter_rank(folder),
                files=files,
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
