"""The record of a running server, in ``<state dir>/state.json``.

``start`` writes it once the server is healthy; ``status``, ``stop`` and the adapter commands
read it to find the processes and ports; ``load``, ``unload``, ``promote`` and ``rollback``
update it (under a file lock, so two commands cannot interleave their read-modify-write).
Writes are atomic (temporary file + rename): a reader never sees half a record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from serving.config import ServeError

__all__ = ["ServerState", "StateStore"]

STATE_FILE = "state.json"
STATE_FORMAT = 1


@dataclass
class ServerState:
    """Processes, ports, the base model and the adapters of one running server."""

    pid: int
    proxy_pid: int
    host: str
    port: int
    vllm_port: int
    model: str
    #: The base model's name in vLLM (``--served-model-name``, else ``model``).
    served_model_name: str
    alias: str
    #: The adapter the alias serves now (None: the base model).
    current: str | None
    device: str
    log: str
    proxy_log: str
    started: str
    admin_token: str
    #: Loaded adapters: name -> folder.
    adapters: dict[str, str] = field(default_factory=dict)
    #: Every adapter this server has served: name -> folder (rollback loads from here).
    known: dict[str, str] = field(default_factory=dict)
    #: Adapters the alias served before, oldest first; rollback returns to the last one.
    history: list[str | None] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    #: vLLM's ``--api-key`` (or ``VLLM_API_KEY``), which the adapter commands must send; "" when none.
    api_key: str = ""

    @property
    def url(self) -> str:
        """Where clients connect (the alias proxy)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        return f"http://{host}:{self.port}"

    @property
    def vllm_url(self) -> str:
        return f"http://127.0.0.1:{self.vllm_port}"

    @property
    def alias_target(self) -> str:
        """The vLLM model name the alias resolves to."""
        return self.current or self.served_model_name

    def to_json(self) -> dict[str, object]:
        return {"format": STATE_FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: object, where: Path) -> ServerState:
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ServeError(f"{where}: not a recode-serve state file; remove it if no server is running")
        values = {k: v for k, v in data.items() if k != "format"}
        try:
            return cls(**values)
        except TypeError as exc:
            raise ServeError(f"{where}: corrupt state ({exc}); remove it if no server is running") from None


class StateStore:
    """The state folder of one server: ``state.json``, logs, the lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).expanduser()

    @property
    def file(self) -> Path:
        return self.folder / STATE_FILE

    @property
    def vllm_log(self) -> Path:
        return self.folder / "vllm.log"

    @property
    def proxy_log(self) -> Path:
        return self.folder / "proxy.log"

    def ensure(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServeError(f"cannot create the state folder {self.folder}: {exc.strerror}") from None
        if not self.folder.is_dir():
            raise ServeError(f"the state folder {self.folder} is not a folder")

    def load(self) -> ServerState | None:
        """The recorded server, or None when none is recorded."""
        try:
            text = self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ServeError(f"cannot read {self.file}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise ServeError(f"{self.file}: corrupt state (not JSON); remove it if no server is running") from None
        return ServerState.from_json(data, self.file)

    def require(self) -> ServerState:
        state = self.load()
        if state is None:
            raise ServeError(f"no server is running (nothing recorded in {self.folder}); see recode-serve start")
        return state

    def save(self, state: ServerState) -> None:
        self.ensure()
        temporary = self.file.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the admin token
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state.to_json(), handle, indent=2)
            handle.write("\n")
        os.replace(temporary, self.file)

    def clear(self) -> None:
        self.file.unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state folder's lock (one adapter command at a time)."""
        self.ensure()
        with open(self.folder / "lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def new_admin_token() -> str:
    return secrets.token_urlsafe(24)
