"""The record of a running server, in ``<state dir>/state.json``, and the proxy's admin token.

``start`` writes it once the server is healthy; ``status``, ``stop`` and the adapter commands
read it to find the processes and ports; ``load``, ``unload`` and ``promote`` update it (under
a file lock, so two commands cannot interleave their read-modify-write). Writes are atomic
(temporary file + rename): a reader never sees half a record. A record that is not what
``start`` writes (a field of the wrong type, a missing one) is a :class:`ServeError` that names
the field, never a traceback.

The folder is private (0700 when this module creates it): ``state.json`` holds the proxy's admin
token and vLLM's API key, and ``admin_token`` holds the token alone (mode 0600), for clients of a
proxy started without ``recode-serve start`` (``python -m serving.proxy``). Secrets are read only
from regular files of this user that no one else can read.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import stat
import typing
from collections.abc import Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from serving.config import ServeError

__all__ = ["ServerState", "StateStore", "new_secret"]

STATE_FILE = "state.json"
TOKEN_FILE = "admin_token"
STATE_FORMAT = 1
#: Fields older versions wrote that this one ignores (the rollback history now lives in the registry).
LEGACY_FIELDS = frozenset({"history"})


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
    #: vLLM's command line, exactly as ``/proc/<pid>/cmdline`` showed it once it was healthy.
    command: list[str] = field(default_factory=list)
    #: vLLM's API key (``start`` makes a random one, given through ``VLLM_API_KEY``); the proxy and
    #: the adapter commands send it, clients never see it.
    api_key: str = ""
    #: vLLM's start time (field 22 of ``/proc/<pid>/stat``, clock ticks after boot); 0: not recorded.
    pid_start: int = 0
    #: The proxy's start time and command line, as for vLLM.
    proxy_start: int = 0
    proxy_command: list[str] = field(default_factory=list)

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
        """The record in ``data``; :class:`ServeError` names what is wrong with it."""
        remove = "remove it if no server is running (or stop the processes by hand)"
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ServeError(f"{where}: not a recode-serve state file; {remove}")
        values = {k: v for k, v in data.items() if k != "format" and k not in LEGACY_FIELDS}
        hints = typing.get_type_hints(cls)
        known = {item.name for item in fields(cls)}
        required = {item.name for item in fields(cls) if item.default is MISSING and item.default_factory is MISSING}
        problems = []
        missing = sorted(required - set(values))
        if missing:
            problems.append("missing " + ", ".join(repr(name) for name in missing))
        unknown = sorted(set(values) - known)
        if unknown:
            problems.append("unknown " + ", ".join(repr(name) for name in unknown))
        for name, value in values.items():
            if name in known and not _valid(name, value, hints[name]):
                problems.append(f"{name!r} is {json.dumps(value)[:60]}, not {_describe(name, hints[name])}")
        if problems:
            raise ServeError(f"{where}: corrupt state: {'; '.join(problems)}; {remove}")
        return cls(**values)


#: Fields that hold a pid or a port: positive integers.
_POSITIVE = frozenset({"pid", "proxy_pid", "port", "vllm_port"})


def _valid(name: str, value: object, hint: object) -> bool:
    if not _matches(value, hint):
        return False
    if name in _POSITIVE:
        return isinstance(value, int) and 0 < value and ("pid" in name or value < 65536)
    return not (isinstance(value, int) and value < 0)


def _matches(value: object, hint: object) -> bool:
    """Whether JSON ``value`` has the type ``hint`` (int, str, None, unions, list[...], dict[str, ...])."""
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return isinstance(value, list) and all(_matches(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    if args:  # a union (X | None)
        return any(_matches(value, arg) for arg in args)
    return False


def _describe(name: str, hint: object) -> str:
    if name in _POSITIVE:
        return "a positive integer"
    return {int: "an integer", str: "a string"}.get(hint, str(hint).replace("typing.", ""))  # type: ignore[call-overload]


def new_secret() -> str:
    """A random token (32 bytes, URL-safe base64): the admin token, vLLM's API key."""
    return secrets.token_urlsafe(32)


def write_secret(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` atomically, readable by this user only (0600)."""
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    os.replace(temporary, path)


def read_secret(path: Path) -> str | None:
    """The secret in ``path`` (None when there is none); a file others could read or swap is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ServeError(f"cannot read {path}: {exc.strerror} (it must be a regular file, not a link)") from None
    with os.fdopen(fd, encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            raise ServeError(f"{path} is not a regular file of this user; remove it")
        if info.st_mode & 0o077:
            raise ServeError(
                f"{path} can be read by others (mode {stat.S_IMODE(info.st_mode):o}); "
                "remove it (a new token is made) or chmod 600 it"
            )
        value = handle.read().strip()
    if not value:
        raise ServeError(f"{path} is empty; remove it (a new token is made)")
    return value


class StateStore:
    """The state folder of one server: ``state.json``, the admin token, logs, the lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).expanduser()

    @property
    def file(self) -> Path:
        return self.folder / STATE_FILE

    @property
    def token_file(self) -> Path:
        return self.folder / TOKEN_FILE

    @property
    def vllm_log(self) -> Path:
        return self.folder / "vllm.log"

    @property
    def proxy_log(self) -> Path:
        return self.folder / "proxy.log"

    def ensure(self) -> None:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        except (OSError, UnicodeDecodeError) as exc:
            raise ServeError(f"cannot read {self.file}: {getattr(exc, 'strerror', None) or exc}") from None
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

    def write_admin_token(self, token: str) -> None:
        """Record the admin token of a proxy this folder's server runs (mode 0600)."""
        self.ensure()
        write_secret(self.token_file, token)

    def admin_token(self, *, create: bool = False) -> str | None:
        """The recorded admin token; with ``create``, a new random one when none is recorded."""
        token = read_secret(self.token_file)
        if token is None and create:
            self.ensure()
            token = new_secret()
            try:
                fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:  # made by another process just now
                return read_secret(self.token_file)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(token + "\n")
        return token

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
