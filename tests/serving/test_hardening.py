"""The model server's attack surface (issue 13), against real HTTP servers, files and processes.

* The proxy (against the fake vLLM of ``fake_vllm.py`` on loopback, raw HTTP so that no client
  normalises the path first): only the OpenAI-compatible paths ReCode uses reach vLLM, whatever
  the spelling; the admin and status endpoints need the token; there is no token-less mode; a
  client's ``Authorization`` never reaches vLLM, the proxy's own key does.
* The registry (real folders): a manifest hashes every file of a version; edited metadata,
  edited or extra files, symlinks and corrupt metadata are refused, never skipped.
* The state (real files, real processes): malformed state is a message, not a traceback; ``stop``
  ends only the processes it started (start time and exact command), not any process whose
  command line mentions vllm.
* End to end (``recode-serve start`` with the fake vLLM as its vLLM module): vLLM gets a random
  API key through its environment, never its command line; the rollback history survives a
  restart; a version changed after loading is refused at promote.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from serving import launcher
from serving.cli import main
from serving.config import ADMIN_HEADER, TOKEN_ENV, ServeError
from serving.control import AdapterControl
from serving.proxy import AliasProxy, ProxyConfig
from serving.registry import METADATA_FILE, AdapterRegistry, AdapterVersion, RegistryError, register
from serving.state import ServerState, StateStore
from tests.serving.fake_vllm import RECORD_ENV, FakeVllm
from tests.serving.test_registry import fake_adapter

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "admin-secret"
UPSTREAM_KEY = "upstream-key"
BASE = "Qwen2.5-Coder-7B-Instruct"  # fake_adapter's adapters name Qwen/<this> as their base model


# --- the proxy -----------------------------------------------------------------------------


@dataclass
class Stack:
    proxy: AliasProxy
    port: int
    upstream: FakeVllm
    upstream_url: str


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def running(**config: Any) -> AsyncIterator[Stack]:
    """The fake vLLM (needing ``upstream_key`` when one is given) with the alias proxy in front."""
    key = config.get("upstream_key")
    fake = FakeVllm("base", api_keys=(key,) if key else ())
    upstream_runner, upstream_port = await _serve(fake.app())
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    proxy = AliasProxy(ProxyConfig(upstream_url, aliases={"recode": "base"}, admin_token=TOKEN, **config))
    proxy_runner, port = await _serve(proxy.app())
    try:
        yield Stack(proxy, port, fake, upstream_url)
    finally:
        await proxy_runner.cleanup()
        await upstream_runner.cleanup()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


async def raw(port: int, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> Answer:
    """One request with ``path`` sent byte for byte (httpx and aiohttp would normalise it first)."""

    def send() -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            data = None if body is None else json.dumps(body).encode()
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read().decode(errors="replace"))
        finally:
            connection.close()

    return await asyncio.to_thread(send)


def chat(model: str = "recode") -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


ADAPTER_PATH_SPELLINGS = [
    "/v1/load_lora_adapter",
    "/v1/./load_lora_adapter",
    "/v1/x/../load_lora_adapter",
    "//v1/load_lora_adapter",
    "/v1//load_lora_adapter",
    "/v1/load_lora_adapter/",
    "/V1/load_lora_adapter",
    "/v1/LOAD_LORA_ADAPTER",
    "/v1/%6coad_lora_adapter",
    "/v1%2Fload_lora_adapter",
    "/v1/%2e/load_lora_adapter",
    "/v1/%252e/load_lora_adapter",
    "/v1/./unload_lora_adapter/",
]


@pytest.mark.parametrize("path", ADAPTER_PATH_SPELLINGS)
async def test_no_spelling_of_the_adapter_endpoints_reaches_vllm(path: str) -> None:
    async with running() as stack:
        answer = await raw(stack.port, "POST", path, {"lora_name": "evil", "lora_path": "/tmp"})
    assert answer.status == 403, answer.text
    assert "recode-serve adapters" in answer.json()["error"]["message"]
    assert stack.upstream.requests == []


OTHER_VLLM_ENDPOINTS = [
    ("GET", "/health"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("POST", "/v1/tokenize"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/responses"),
    ("POST", "/sleep"),
    ("POST", "/v1/../sleep"),
    ("POST", "/collective_rpc"),
    ("POST", "/v1/chat/completions;x"),
    ("POST", "/v1/chat/completions%00"),
    ("POST", "/v1/chat/completions/%2e%2e/%2e%2e/reset_prefix_cache"),
    ("POST", "/recode/../v1/load_lora_adapter/.."),
]


@pytest.mark.parametrize(("method", "path"), OTHER_VLLM_ENDPOINTS)
async def test_paths_outside_the_allow_list_are_refused_with_a_json_error(method: str, path: str) -> None:
    async with running() as stack:
        answer = await raw(stack.port, method, path, chat() if method == "POST" else None)
    assert answer.status in (403, 404), answer.text
    assert answer.json()["error"]["message"]
    assert stack.upstream.requests == []


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions", "/V1//chat/completions/", "/v1/./chat/completions", "/v1/x/../chat/%63ompletions"]
)
async def test_allowed_paths_are_normalised_before_they_are_sent(path: str) -> None:
    async with running() as stack:
        answer = await raw(stack.port, "POST", path, chat())
        models = await raw(stack.port, "GET", "//v1/models/")
        wrong_method = await raw(stack.port, "GET", path)
    assert answer.status == 200, answer.text
    assert answer.json()["model"] == "base" and answer.headers["X-Recode-Model"] == "base"
    assert models.status == 200 and "recode" in [card["id"] for card in models.json()["data"]]
    assert wrong_method.status == 405 and wrong_method.json()["error"]["message"]
    assert [(seen["method"], seen["path"]) for seen in stack.upstream.requests] == [
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
    ]


async def test_the_client_authorization_is_replaced_by_the_upstream_key() -> None:
    async with running(upstream_key=UPSTREAM_KEY) as stack:
        client = {"Authorization": "Bearer client-secret", ADMIN_HEADER: TOKEN}
        answer = await raw(stack.port, "POST", "/v1/chat/completions", chat(), client)
        models = await raw(stack.port, "GET", "/v1/models", headers=client)
        anonymous = await raw(stack.port, "POST", "/v1/completions", {"model": "recode", "prompt": "x"})
        around = await raw(int(stack.upstream_url.rsplit(":", 1)[1]), "POST", "/v1/chat/completions", chat("base"))
    assert (answer.status, models.status, anonymous.status) == (200, 200, 200), answer.text
    assert around.status == 401  # the fake vLLM, like vLLM, wants the key
    seen = [request["headers"] for request in stack.upstream.requests[:3]]
    assert [headers.get("Authorization") for headers in seen] == [f"Bearer {UPSTREAM_KEY}"] * 3
    assert not any(ADMIN_HEADER in headers for headers in seen)


async def test_status_and_admin_endpoints_need_the_token() -> None:
    async with running() as stack:
        anonymous = await raw(stack.port, "GET", "/recode/status")
        respelled = await raw(stack.port, "GET", "/Recode//status/")
        wrong = await raw(stack.port, "GET", "/recode/status", headers={ADMIN_HEADER: "no"})
        not_ascii = await raw(stack.port, "GET", "/recode/status", headers={ADMIN_HEADER: "s\xe9cret"})
        switch = await raw(stack.port, "POST", "/recode/alias", {"alias": "recode", "target": "x"})
        allowed = await raw(stack.port, "GET", "/recode/status", headers={ADMIN_HEADER: TOKEN})
    for refused in (anonymous, respelled, wrong, not_ascii, switch):
        assert refused.status == 403, refused.text
        assert stack.upstream_url not in refused.text and "error" in refused.json()
    assert allowed.status == 200 and allowed.json()["upstream"] == stack.upstream_url
    assert stack.proxy.aliases == {"recode": "base"}


def test_the_proxy_has_no_token_less_mode() -> None:
    with pytest.raises(ValueError, match="admin token"):
        AliasProxy(ProxyConfig("http://127.0.0.1:1", admin_token=""))


def test_the_proxy_alone_makes_a_private_token_file(tmp_path: Path) -> None:
    """``python -m serving.proxy`` without ``RECODE_PROXY_ADMIN_TOKEN``: a random token in a 0600 file."""
    port = launcher.free_port()
    env = {key: value for key, value in os.environ.items() if key != TOKEN_ENV}
    command = [sys.executable, "-m", "serving.proxy", "--upstream", "http://127.0.0.1:1", "--port", str(port)]
    log = tmp_path / "proxy.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*command, "--state-dir", str(tmp_path / "state")], cwd=ROOT, env=env, stderr=log_file
        )
    try:
        status = None
        deadline = time.monotonic() + 20
        while status is None and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                status = httpx.get(f"http://127.0.0.1:{port}/recode/status", trust_env=False)
            time.sleep(0.1)
        assert status is not None, log.read_text()
        token_file = tmp_path / "state" / "admin_token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and len(token) >= 32
        assert status.status_code == 403
        headers = {ADMIN_HEADER: token}
        allowed = httpx.get(f"http://127.0.0.1:{port}/recode/status", headers=headers, trust_env=False)
        assert allowed.status_code == 200
        assert token.encode() not in Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert str(tmp_path / "state" / "admin_token") in log.read_text() and token not in log.read_text()
    finally:
        process.terminate()
        process.wait(10)


# --- the registry --------------------------------------------------------------------------


def _edit_metadata(version: AdapterVersion, change: Callable[[dict[str, Any]], None]) -> None:
    meta_file = version.path / METADATA_FILE
    data = json.loads(meta_file.read_text())
    change(data)
    meta_file.write_text(json.dumps(data, indent=2))


def _null_hashes(data: dict[str, Any]) -> None:
    for facts in data["files"].values():
        facts["sha256"] = None


def _symlink_weights(version: AdapterVersion) -> None:
    weights = version.path / "adapter_model.safetensors"
    outside = version.path.parent.parent / "outside.safetensors"
    outside.write_bytes(weights.read_bytes())  # the same bytes: only the link is wrong
    weights.unlink()
    weights.symlink_to(outside)


TAMPERING: dict[str, tuple[Callable[[AdapterVersion], object], str]] = {
    "files emptied": (lambda v: _edit_metadata(v, lambda d: d.update(files={})), "edited after registration"),
    "hashes nulled": (lambda v: _edit_metadata(v, _null_hashes), "edited after registration"),
    "base model edited": (lambda v: _edit_metadata(v, lambda d: d.update(base_model="x")), "edited after"),
    "scores edited": (lambda v: _edit_metadata(v, lambda d: d.update(scores={"pass@1": 1})), "edited after"),
    "config edited": (
        lambda v: (v.path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 64})),
        "adapter_config.json changed since it was registered",
    ),
    "extra weights": (lambda v: (v.path / "adapter_model.bin").write_bytes(b"other"), "adapter_model.bin"),
    "unknown file": (lambda v: (v.path / "notes.txt").write_text("x"), "not in its manifest: notes.txt"),
    "weights symlinked": (_symlink_weights, "symbolic link"),
    "weights missing": (lambda v: (v.path / "adapter_model.safetensors").unlink(), "missing"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_a_changed_version_is_refused(tmp_path: Path, case: str) -> None:
    root = tmp_path / "registry"
    version = register(fake_adapter(tmp_path / "a"), "v1", registry=root)
    AdapterRegistry(root).get("v1").verify()
    tamper, message = TAMPERING[case]
    tamper(version)
    with pytest.raises(RegistryError, match=message):
        AdapterRegistry(root).get("v1").verify()
    [listed] = AdapterRegistry(root).entries()  # the listing sees it too (without hashing: sizes, names, links)
    assert listed.version is None and listed.problem is not None


def test_a_version_folder_linked_from_outside_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    register(fake_adapter(tmp_path / "a"), "v1", registry=root)
    elsewhere = register(fake_adapter(tmp_path / "b"), "v2", registry=tmp_path / "elsewhere")
    (root / "v2").symlink_to(elsewhere.path, target_is_directory=True)
    registry = AdapterRegistry(root)
    with pytest.raises(RegistryError, match="symbolic link"):
        registry.get("v2").verify()
    problems = {item.name: item.problem for item in registry.entries()}
    assert problems["v1"] is None and "symbolic link" in str(problems["v2"])


def test_a_version_of_the_old_format_is_refused_until_sealed_again(tmp_path: Path) -> None:
    """``recode-adapter/1`` hashed only the weights: refused, then ``adapters add`` in place seals every file."""
    import hashlib

    root = tmp_path / "registry"
    folder = fake_adapter(root / "v1")
    weights = (folder / "adapter_model.safetensors").read_bytes()
    old = {
        "format": "recode-adapter/1", "name": "v1", "base_model": "b", "data_hash": "sha256:d",
        "scores": {"pass@1": 0.3}, "created": "2026-01-02T03:04:05+00:00", "rank": 8,
        "files": {"adapter_model.safetensors": {"size": len(weights), "sha256": hashlib.sha256(weights).hexdigest()}},
    }  # fmt: skip
    (folder / METADATA_FILE).write_text(json.dumps(old))
    with pytest.raises(RegistryError, match="older recode-serve.*adapters add v1"):
        AdapterRegistry(root).get("v1")
    sealed = AdapterRegistry(root).register(folder, "v1")
    assert (sealed.base_model, sealed.data_hash, sealed.scores, sealed.created) == (
        "b",
        "sha256:d",
        {"pass@1": 0.3},
        "2026-01-02T03:04:05+00:00",
    )
    assert set(sealed.files) == {"adapter_config.json", "adapter_model.safetensors"}
    AdapterRegistry(root).get("v1").verify()
    # Weights changed since the old registration cannot be sealed.
    other = fake_adapter(root / "v2")
    (other / METADATA_FILE).write_text(json.dumps({**old, "name": "v2"}))
    (other / "adapter_model.safetensors").write_bytes(b"weights-X")
    with pytest.raises(RegistryError, match="changed since it was registered; cannot re-seal"):
        AdapterRegistry(root).register(other, "v2")


def test_the_rollback_history_file_is_checked(tmp_path: Path) -> None:
    registry = AdapterRegistry(tmp_path / "registry")
    assert registry.history("recode") == []
    first = registry.record_promotion("recode", "v1", "/p/v1", "v2")
    registry.record_promotion("other", None, None, "v9")
    assert AdapterRegistry(tmp_path / "registry").history("recode") == [first]
    registry.forget_promotion("recode", first)
    assert registry.history("recode") == [] and [e.promoted for e in registry.history("other")] == ["v9"]
    for garbage in ("{not json", '{"format": "recode-history/1", "aliases": {"recode": [{"previous": 5}]}}', "[]"):
        registry.history_file.write_text(garbage)
        with pytest.raises(RegistryError, match="corrupt rollback history"):
            registry.history("recode")


def state_record(tmp_path: Path, **changes: object) -> dict[str, object]:
    """A state.json record as ``start`` writes it (without the process identities), with ``changes``."""
    record: dict[str, object] = {
        "format": 1, "pid": 999_999_999, "proxy_pid": 999_999_998, "host": "127.0.0.1", "port": 1,
        "vllm_port": 2, "model": BASE, "served_model_name": BASE, "alias": "recode", "current": "v1",
        "device": "cpu", "log": str(tmp_path / "vllm.log"), "proxy_log": str(tmp_path / "proxy.log"),
        "started": "2026-01-01T00:00:00+00:00", "admin_token": "t", "adapters": {}, "known": {},
    }  # fmt: skip
    record.update(changes)
    return record


def test_corrupt_metadata_is_an_error_even_for_an_adapter_the_server_knows(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    version = register(fake_adapter(tmp_path / "a"), "v1", registry=root)
    (version.path / METADATA_FILE).write_text("{not json")
    state = ServerState.from_json(state_record(tmp_path, known={"v1": str(version.path)}), tmp_path / "state.json")
    control = AdapterControl(StateStore(tmp_path / "state"), AdapterRegistry(root))
    with pytest.raises(ServeError, match="corrupt metadata"):
        control.adapter_path(state, "v1")


# --- the state -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pid": "abc"}, "pid"),
        ({"pid": -3}, "pid"),
        ({"proxy_pid": 1.5}, "proxy_pid"),
        ({"port": "8000"}, "port"),
        ({"adapters": ["v1"]}, "adapters"),
        ({"current": 5}, "current"),
        ({"pid": None}, "pid"),
    ],
)
@pytest.mark.parametrize("command", ["stop", "status"])
def test_malformed_state_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, object], field: str, command: str
) -> None:
    (tmp_path / "state.json").write_text(json.dumps(state_record(tmp_path, **changes)))
    assert main([command, "--state-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "corrupt state" in err and repr(field) in err and "Traceback" not in err


def test_missing_fields_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = state_record(tmp_path)
    del record["pid"], record["alias"]
    (tmp_path / "state.json").write_text(json.dumps(record))
    assert main(["stop", "--state-dir", str(tmp_path)]) == 1
    assert "corrupt state: missing 'alias', 'pid'" in capsys.readouterr().err


IMPOSTER = (
    "import subprocess, time; child = subprocess.Popen(['sleep', '300']); "
    "print(child.pid, flush=True); time.sleep(300)"
)


@contextlib.contextmanager
def imposter(word: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A process (in its own group, with a child) whose command line contains ``word``."""
    process = subprocess.Popen(
        [sys.executable, "-c", IMPOSTER, word, "--port", "1"], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert process.stdout is not None
        child = int(process.stdout.readline())
        yield process, child
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


def running_pid(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("recorded", ["nothing", "another start time", "another command"])
def test_stop_leaves_alone_a_process_that_only_looks_like_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], recorded: str
) -> None:
    """The recorded pids now belong to other processes whose command lines mention vllm and serving.proxy."""
    with (
        imposter("vllm.entrypoints.openai.api_server") as (vllm, vllm_child),
        imposter("serving.proxy") as (proxy, proxy_child),
    ):
        record = state_record(tmp_path, pid=vllm.pid, proxy_pid=proxy.pid)
        if recorded != "nothing":
            real_vllm = launcher.read_identity(vllm.pid)
            real_proxy = launcher.read_identity(proxy.pid)
            assert real_vllm is not None and real_proxy is not None
            shift = 1 if recorded == "another start time" else 0
            suffix = [] if recorded == "another start time" else ["--other"]
            record.update(
                pid_start=real_vllm.start - shift,
                command=[*real_vllm.cmdline, *suffix],
                proxy_start=real_proxy.start - shift,
                proxy_command=[*real_proxy.cmdline, *suffix],
            )
        (tmp_path / "state.json").write_text(json.dumps(record))
        status = main(["status", "--state-dir", str(tmp_path), "--json"])
        report = json.loads(capsys.readouterr().out)
        assert status == 1 and report["vllm_alive"] is False and report["proxy_alive"] is False
        assert main(["stop", "--state-dir", str(tmp_path)]) == 0
        err = capsys.readouterr().err
        time.sleep(0.3)
        assert all(running_pid(pid) for pid in (vllm.pid, vllm_child, proxy.pid, proxy_child)), err
        assert f"pid {vllm.pid}" in err and "not running" in err


def test_stop_ends_the_recorded_process_and_its_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (
        imposter("vllm.entrypoints.openai.api_server") as (vllm, vllm_child),
        imposter("serving.proxy") as (proxy, proxy_child),
    ):
        identities = [launcher.read_identity(pid) for pid in (vllm.pid, proxy.pid)]
        assert identities[0] is not None and identities[1] is not None
        record = state_record(
            tmp_path,
            pid=vllm.pid,
            pid_start=identities[0].start,
            command=list(identities[0].cmdline),
            proxy_pid=proxy.pid,
            proxy_start=identities[1].start,
            proxy_command=list(identities[1].cmdline),
        )
        (tmp_path / "state.json").write_text(json.dumps(record))
        assert main(["stop", "--state-dir", str(tmp_path)]) == 0
        assert vllm.wait(10) is not None and proxy.wait(10) is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (running_pid(vllm_child) or running_pid(proxy_child)):
            time.sleep(0.05)
        assert not running_pid(vllm_child) and not running_pid(proxy_child)
    err = capsys.readouterr().err
    assert f"stopped vLLM (pid {vllm.pid})" in err and f"stopped proxy (pid {proxy.pid})" in err


# --- end to end, with the fake vLLM as vLLM ----------------------------------------------------


@dataclass
class Server:
    args: list[str]
    port: int
    registry: Path
    state_dir: Path
    record: Path

    def state(self) -> dict[str, Any]:
        data = json.loads((self.state_dir / "state.json").read_text())
        assert isinstance(data, dict)
        return data

    def chat(self, model: str = "recode", headers: dict[str, str] | None = None) -> httpx.Response:
        url = f"http://127.0.0.1:{self.port}/v1/chat/completions"
        return httpx.post(url, json=chat(model), headers=headers, timeout=10, trust_env=False)

    def start(self, adapter: str) -> None:
        command = ["start", "--model", str(self.registry.parent / BASE), "--adapter", adapter]
        assert main([*self.args, *command, "--port", str(self.port), "--startup-timeout", "60"]) == 0

    def seen(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(launcher, "vllm_installed", lambda: True)
    monkeypatch.setattr(launcher, "VLLM_MODULE", "tests.serving.fake_vllm")
    monkeypatch.setattr(launcher, "detect_device", lambda choice="auto": "cpu")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(RECORD_ENV, str(tmp_path / "requests.jsonl"))
    monkeypatch.setenv("VLLM_API_KEY", "a-key-from-the-environment")
    (tmp_path / BASE).mkdir()
    registry = tmp_path / "registry"
    register(fake_adapter(tmp_path / "a1"), "v1", registry=registry)
    register(fake_adapter(tmp_path / "a2", rank=16), "v2", registry=registry)
    state_dir = tmp_path / "state"
    args = ["--state-dir", str(state_dir), "--registry", str(registry)]
    served = Server(args, launcher.free_port(), registry, state_dir, tmp_path / "requests.jsonl")
    served.start("v1")
    try:
        yield served
    finally:
        if (state_dir / "state.json").exists():
            main([*args, "stop"])


def test_vllm_key_is_random_private_and_added_by_the_proxy(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    state = server.state()
    key, token = state["api_key"], state["admin_token"]
    assert len(key) >= 32 and key != "a-key-from-the-environment"
    for pid in (state["pid"], state["proxy_pid"]):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert key.encode() not in cmdline and token.encode() not in cmdline
    assert f"VLLM_API_KEY={key}".encode() in Path(f"/proc/{state['pid']}/environ").read_bytes().split(b"\0")
    assert stat.S_IMODE((server.state_dir / "admin_token").stat().st_mode) == 0o600
    assert (server.state_dir / "admin_token").read_text().strip() == token
    # A local process going around the proxy is refused; clients of the proxy are served.
    vllm_url = f"http://127.0.0.1:{state['vllm_port']}"
    around = httpx.post(vllm_url + "/v1/load_lora_adapter", json={"lora_name": "x", "lora_path": "/"}, trust_env=False)
    assert around.status_code == 401
    answer = server.chat(headers={"Authorization": "Bearer client-secret"})
    assert answer.status_code == 200 and answer.json()["model"] == "v1"
    assert main([*server.args, "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] and report["aliases"] == {"recode": "v1"} and "v1" in report["models"]
    authorizations = {request["headers"].get("Authorization") for request in server.seen()}
    assert f"Bearer {key}" in authorizations and "Bearer client-secret" not in authorizations
    unkeyed = [
        r
        for r in server.seen()
        if r["path"].startswith("/v1") and r["headers"].get("Authorization") != f"Bearer {key}"
    ]
    assert [(r["method"], r["path"]) for r in unkeyed] == [("POST", "/v1/load_lora_adapter")]  # the one around


def test_rollback_history_survives_a_restart(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*server.args, "adapters", "promote", "v2"]) == 0
    assert "recode -> v2 (was v1)" in capsys.readouterr().out
    first = server.state()
    assert main([*server.args, "stop"]) == 0
    assert not running_pid(first["pid"]) and not running_pid(first["proxy_pid"])
    server.start("v2")
    assert server.chat().json()["model"] == "v2"
    capsys.readouterr()
    assert main([*server.args, "adapters", "rollback"]) == 0
    assert "recode -> v1 (was v2)" in capsys.readouterr().out
    assert server.chat().json()["model"] == "v1"
    assert main([*server.args, "adapters", "rollback"]) == 1
    assert "nothing to roll back to" in capsys.readouterr().err


def test_a_version_changed_after_loading_is_refused_at_promote(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*server.args, "adapters", "load", "v2"]) == 0
    (server.registry / "v2" / "adapter_model.bin").write_bytes(b"swapped in after the load")
    assert main([*server.args, "adapters", "promote", "v2"]) == 1
    assert "adapter_model.bin" in capsys.readouterr().err
    assert server.chat().json()["model"] == "v1" and server.state()["current"] == "v1"
    shutil.rmtree(server.registry / "v2")
    (server.registry / "v2").mkdir()
    assert main([*server.args, "adapters", "load", "v2"]) == 0  # loaded already: nothing to read
    assert main([*server.args, "adapters", "promote", "v2"]) == 1
    assert "no recode_adapter.json" in capsys.readouterr().err
