"""The adapter registry on disk: format, immutability, corrupt folders (no server, no torch)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from serving.cli import main
from serving.registry import (
    FORMAT,
    METADATA_FILE,
    AdapterRegistry,
    RegistryError,
    adapter_rank,
    default_registry_dir,
    register,
)


def fake_adapter(folder: Path, rank: int = 8, base: str = "Qwen/Qwen2.5-Coder-7B-Instruct") -> Path:
    """A folder shaped as PEFT writes a LoRA adapter (the weights are placeholder bytes)."""
    folder.mkdir(parents=True)
    config = {"peft_type": "LORA", "r": rank, "base_model_name_or_path": base, "target_modules": ["q_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    (folder / "adapter_model.safetensors").write_bytes(b"weights-" + str(rank).encode())
    return folder


def test_register_copies_and_writes_the_documented_metadata(tmp_path: Path) -> None:
    source = fake_adapter(tmp_path / "trained", rank=16)
    root = tmp_path / "registry"
    when = datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc)
    version = AdapterRegistry(root).register(source, "recode-v2", None, "sha256:abc", {"pass@1": 0.41}, created=when)
    assert version.path == (root / "recode-v2").resolve()
    meta = json.loads((root / "recode-v2" / METADATA_FILE).read_text())
    assert meta == {
        "format": FORMAT,
        "name": "recode-v2",
        "base_model": "Qwen/Qwen2.5-Coder-7B-Instruct",
        "data_hash": "sha256:abc",
        "scores": {"pass@1": 0.41},
        "created": "2026-12-02T13:00:00+00:00",
        "rank": 16,
        "files": {  # the manifest: every file but the metadata
            "adapter_config.json": {
                "size": (source / "adapter_config.json").stat().st_size,
                "sha256": hashlib.sha256((source / "adapter_config.json").read_bytes()).hexdigest(),
            },
            "adapter_model.safetensors": {
                "size": len(b"weights-16"),
                "sha256": hashlib.sha256(b"weights-16").hexdigest(),
            },
        },
        "digest": meta["digest"],
    }
    unsigned = {key: value for key, value in meta.items() if key != "digest"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    assert meta["digest"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert (root / "recode-v2" / "adapter_config.json").exists()
    assert not any(p.name.startswith(".") for p in root.iterdir())  # no staging folder left
    again = AdapterRegistry(root).get("recode-v2")
    assert again == version
    again.verify()


def test_register_in_place_writes_only_metadata(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    fake_adapter(root / "recode-v3")  # the trainer saved straight into the registry
    version = register(root / "recode-v3", "recode-v3", base_model="base", registry=root)
    assert version.base_model == "base" and (root / "recode-v3" / METADATA_FILE).exists()
    assert [v.name for v in AdapterRegistry(root).versions()] == ["recode-v3"]


def test_versions_are_immutable(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    register(fake_adapter(tmp_path / "a"), "v1", registry=root)
    with pytest.raises(RegistryError, match="already registered.*new name"):
        register(fake_adapter(tmp_path / "b"), "v1", registry=root)


@pytest.mark.parametrize("name", ["", "recode/v1", "-x", "a b", "x" * 65])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(RegistryError, match="invalid adapter name"):
        register(fake_adapter(tmp_path / "a"), name, registry=tmp_path / "registry")


def test_not_an_adapter_and_bad_scores(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RegistryError, match="no adapter_config.json"):
        register(empty, "v1", registry=tmp_path / "registry")
    with pytest.raises(RegistryError, match="not a folder"):
        register(tmp_path / "missing", "v1", registry=tmp_path / "registry")
    no_weights = fake_adapter(tmp_path / "nw")
    (no_weights / "adapter_model.safetensors").unlink()
    with pytest.raises(RegistryError, match="no adapter weights"):
        register(no_weights, "v1", registry=tmp_path / "registry")
    with pytest.raises(RegistryError, match="score 'pass@1' is not a number"):
        register(fake_adapter(tmp_path / "a"), "v1", scores={"pass@1": "high"}, registry=tmp_path / "registry")  # type: ignore[dict-item]


def test_corrupt_folders_are_listed_with_their_problem_and_refused(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    register(fake_adapter(tmp_path / "a"), "good", registry=root)
    fake_adapter(root / "unregistered")
    bad_json = fake_adapter(root / "badjson")
    (bad_json / METADATA_FILE).write_text("{not json")
    wrong = fake_adapter(root / "wrongname")
    (wrong / METADATA_FILE).write_text(json.dumps({"format": FORMAT, "name": "other", "base_model": "b"}))
    registry = AdapterRegistry(root)
    problems = {item.name: item.problem for item in registry.entries()}
    assert problems["good"] is None
    assert "no recode_adapter.json" in str(problems["unregistered"])
    assert "corrupt metadata" in str(problems["badjson"])
    assert "lies in folder 'wrongname'" in str(problems["wrongname"])
    assert [v.name for v in registry.versions()] == ["good"]
    with pytest.raises(RegistryError, match="corrupt metadata"):
        registry.get("badjson")
    with pytest.raises(RegistryError, match=r"unknown adapter 'nope'.*registered: badjson, good"):
        registry.get("nope")


def test_verify_notices_changed_weights(tmp_path: Path) -> None:
    version = register(fake_adapter(tmp_path / "a"), "v1", registry=tmp_path / "registry")
    (version.path / "adapter_model.safetensors").write_bytes(b"weights-9")  # same size, other bytes
    with pytest.raises(RegistryError, match="changed since it was registered"):
        version.verify()


def test_registry_root_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(RegistryError, match="is not a folder"):
        AdapterRegistry(tmp_path / "file")


def test_rank_and_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fake_adapter(tmp_path / "a", rank=8)
    config = json.loads((folder / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "rank_pattern": {"o_proj": 32}}))
    assert adapter_rank(folder) == 32
    monkeypatch.setenv("RECODE_ADAPTER_REGISTRY", str(tmp_path / "r"))
    assert default_registry_dir() == tmp_path / "r"
    monkeypatch.delenv("RECODE_ADAPTER_REGISTRY")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_registry_dir() == tmp_path / "cache" / "recode" / "adapters"


def test_cli_add_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "registry"
    state = tmp_path / "state"
    source = fake_adapter(tmp_path / "a")
    args = ["--registry", str(root), "--state-dir", str(state), "adapters"]
    assert main([*args, "add", "v1", str(source), "--data-hash", "h1", "--scores", '{"pass@1": 0.5}']) == 0
    assert "registered v1" in capsys.readouterr().out
    assert main([*args, "add", "v2", str(source), "--scores", "[1]"]) == 1
    assert "--scores must be a JSON object" in capsys.readouterr().err
    fake_adapter(root / "broken")
    assert main([*args, "list"]) == 0
    out = capsys.readouterr().out
    assert "v1" in out and "pass@1=0.5" in out and "broken" in out and "CORRUPT" in out
    assert main([*args, "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["problem"] is None) for r in rows] == [("broken", False), ("v1", True)]
    # Server commands without a server: a clear message, exit 1.
    assert main([*args, "promote", "v1"]) == 1
    assert "no server is running" in capsys.readouterr().err


def test_a_trainer_output_folder_gives_its_facts(tmp_path: Path) -> None:
    """``recode-train`` writes its own recode_adapter.json (no format key): its base model, data hash
    and scores become the defaults, and its record is kept as training.json."""
    source = tmp_path / "run" / "adapter"
    source.mkdir(parents=True)
    (source / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "r": 16, "base_model_name_or_path": "x"})
    )
    (source / "adapter_model.safetensors").write_bytes(b"weights")
    trained = {
        "name": "grpo",
        "base_model": "Qwen/Qwen2.5-Coder-7B-Instruct",
        "data_hash": "sha256:abc",
        "scores": {"eval_reward": 2.1},
        "created": "2026-12-02T10:00:00+00:00",
        "config": {"method": "grpo"},
        "reward_curve": [[1, 0.5]],
    }
    (source / "recode_adapter.json").write_text(json.dumps(trained))
    version = AdapterRegistry(tmp_path / "registry").register(source, "recode-v7")
    assert (version.base_model, version.data_hash, version.scores) == (
        "Qwen/Qwen2.5-Coder-7B-Instruct",
        "sha256:abc",
        {"eval_reward": 2.1},
    )
    assert json.loads((version.path / "training.json").read_text()) == trained
    assert AdapterRegistry(tmp_path / "registry").get("recode-v7").data_hash == "sha256:abc"
