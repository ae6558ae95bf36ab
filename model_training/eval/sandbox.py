"""Run one untrusted Python program with limits, and say whether it passed.

Each run gets its own temporary work folder and subprocess, with

- ``RLIMIT_CPU`` (CPU seconds), ``RLIMIT_AS`` (memory), ``RLIMIT_FSIZE`` (largest file, and so the
  captured output: stdout and stderr go to files, so a flood of output ends in ``SIGXFSZ``);
- a wall-clock timeout, after which the whole process group and every process of its pids cgroup are
  killed (also when the run ends normally: nothing it started outlives it);
- process count: a cgroup-v1 ``pids`` child group per run with ``pids.max`` (root ignores
  ``RLIMIT_NPROC``), else ``RLIMIT_NPROC`` as a weaker fallback;
- when running as root with util-linux ``unshare``: new network (no interfaces but a down loopback),
  mount and pid namespaces; every mount but the work folder read-only; all capabilities dropped
  (:mod:`model_training.eval._sandbox_init`). Without them the verdict's ``isolation`` says so and a
  warning is logged once.

:func:`run_program` returns a :class:`Verdict`; ``passed`` is exit status 0 and, when an expected
output is given, the same stdout (trailing whitespace of each line ignored).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

PIDS_ROOT = Path("/sys/fs/cgroup/pids")
CGROUP_PREFIX = "recode-eval-"
INIT_SCRIPT = Path(__file__).with_name("_sandbox_init.py")
_warned: set[str] = set()


@dataclass(frozen=True)
class Limits:
    """Per-run limits. ``output_bytes`` caps each of stdout and stderr (and any file the program writes)."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_bytes: int = 2 << 30
    output_bytes: int = 1 << 20
    max_processes: int = 32


@dataclass
class Verdict:
    """What one run did. ``reason``: ``ok``, ``wrong_output``, ``exit_status``, ``timeout``, ``cpu_limit``,
    ``memory_limit``, ``output_limit``, ``signal`` or ``sandbox_error``."""

    passed: bool
    reason: str
    exit_status: int | None
    seconds: float
    output_bytes: int
    stdout: str = ""
    stderr: str = ""
    isolation: dict[str, str] = field(default_factory=dict)

    def as_dict(self, *, with_output: bool = False) -> dict[str, object]:
        data = asdict(self)
        if not with_output:
            data.pop("stdout")
            data.pop("stderr")
        return data


def same_output(actual: str, expected: str) -> bool:
    """Equal up to trailing whitespace on each line and trailing blank lines."""

    def norm(text: str) -> list[str]:
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    return norm(actual) == norm(expected)


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def namespaces_available() -> bool:
    """Root with ``unshare`` on the path: network, mount and pid namespaces are used."""
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def _make_cgroup(max_processes: int) -> Path | None:
    if not os.access(PIDS_ROOT, os.W_OK):
        return None
    path = PIDS_ROOT / f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(max_processes))
    except OSError as exc:
        _warn_once("cgroup", f"sandbox: cannot use the pids cgroup ({exc}); falling back to RLIMIT_NPROC")
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    return path


def _kill_cgroup(path: Path) -> None:
    """SIGKILL every process in the cgroup until it is empty (forks racing the kill are caught next round)."""
    for _ in range(200):
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _remove_cgroup(path: Path) -> None:
    _kill_cgroup(path)
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
    log.warning("sandbox: could not remove cgroup %s", path)


def _read_capped(path: Path, cap: int) -> tuple[str, int]:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        data = handle.read(cap)
    return data.decode("utf-8", "replace"), size


def _program_env(extra: Mapping[str, str] | None, workdir: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        # BLAS thread pools reserve address space per thread; one thread keeps RLIMIT_AS meaningful.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.update(extra or {})
    return env


def run_program(
    source: str,
    *,
    python: str | None = None,
    limits: Limits | None = None,
    stdin: str | None = None,
    expected_stdout: str | None = None,
    files: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Verdict:
    """Run ``source`` as ``main.py`` with ``python`` (default: this interpreter) in a fresh sandbox."""
    limits = limits or Limits()
    python = python or sys.executable
    isolate = namespaces_available()
    if not isolate:
        _warn_once(
            "ns", "sandbox: not root or no `unshare`: network and filesystem are NOT isolated for sandboxed programs"
        )
    base = Path(tempfile.mkdtemp(prefix="recode-sbx-"))
    workdir = base / "work"
    workdir.mkdir()
    (workdir / "main.py").write_text(source, encoding="utf-8")
    for name, text in (files or {}).items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    stdin_path = None
    if stdin is not None:
        stdin_path = base / "stdin"
        stdin_path.write_text(stdin, encoding="utf-8")
    cgroup = _make_cgroup(limits.max_processes)
    isolation = {
        "network": "namespace" if isolate else "off",
        "filesystem": "read-only except work folder" if isolate else "off",
        "processes": "pids cgroup" if cgroup else "RLIMIT_NPROC",
    }
    status_r, status_w = os.pipe()
    program_env = _program_env(env, str(workdir))
    config = {
        "workdir": str(workdir),
        "isolate": isolate,
        "status_fd": status_w,
        "stdin": str(stdin_path) if stdin_path else None,
        "argv": [python, "main.py"],
        "cgroup": str(cgroup) if cgroup else None,
        "limits": {
            "cpu_seconds": max(1, int(limits.cpu_seconds)),
            "memory_bytes": limits.memory_bytes,
            "output_bytes": limits.output_bytes,
            "max_processes": limits.max_processes,
        },
        "env": program_env,
    }
    command = [sys.executable, "-I", "-S", str(INIT_SCRIPT), json.dumps(config)]
    if isolate:
        ns = ["--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private"]
        command = [shutil.which("unshare") or "unshare", *ns, "--", *command]
    out_path, err_path = base / "stdout", base / "stderr"
    start = time.monotonic()
    timed_out = False
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                pass_fds=(status_w,),
                cwd=str(workdir),
                env=program_env,
            )
            os.close(status_w)
            status_w = -1
            try:
                proc.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                if cgroup is not None:
                    _kill_cgroup(cgroup)
                proc.wait()
        seconds = time.monotonic() - start
        with os.fdopen(status_r, "rb") as handle:
            status_r = -1
            status_line = handle.read(1 << 16).decode("utf-8", "replace").strip()
        stdout, out_size = _read_capped(out_path, limits.output_bytes)
        stderr, err_size = _read_capped(err_path, limits.output_bytes)
    finally:
        for fd in (status_r, status_w):
            if fd >= 0:
                os.close(fd)
        if cgroup is not None:
            _remove_cgroup(cgroup)
        shutil.rmtree(base, ignore_errors=True)
    return _judge(
        proc.returncode,
        status_line,
        timed_out,
        seconds,
        stdout,
        stderr,
        out_size + err_size,
        limits,
        expected_stdout,
        isolation,
    )


def _judge(
    init_rc: int,
    status_line: str,
    timed_out: bool,
    seconds: float,
    stdout: str,
    stderr: str,
    output_bytes: int,
    limits: Limits,
    expected: str | None,
    isolation: dict[str, str],
) -> Verdict:
    def verdict(passed: bool, reason: str, exit_status: int | None) -> Verdict:
        return Verdict(passed, reason, exit_status, round(seconds, 4), output_bytes, stdout, stderr, isolation)

    if timed_out:
        return verdict(False, "timeout", None)
    try:
        status = json.loads(status_line) if status_line else {}
    except json.JSONDecodeError:
        status = {}
    if "setup_error" in status:
        return verdict(False, "sandbox_error", None)
    if "status" not in status:
        # The launcher died before reporting: killed by a limit, or by the program (its parent).
        sig = -init_rc if init_rc < 0 else None
        return verdict(False, _signal_reason(sig) if sig else "sandbox_error", init_rc)
    raw = int(status["status"])
    if os.WIFSIGNALED(raw):
        sig = os.WTERMSIG(raw)
        return verdict(False, _signal_reason(sig), -sig)
    code = os.WEXITSTATUS(raw)
    if output_bytes >= 2 * limits.output_bytes or max(len(stdout), len(stderr)) >= limits.output_bytes:
        return verdict(False, "output_limit", code)
    if code != 0:
        memory = "MemoryError" in stderr[-2000:]
        return verdict(False, "memory_limit" if memory else "exit_status", code)
    if expected is not None and not same_output(stdout, expected):
        return verdict(False, "wrong_output", code)
    return verdict(True, "ok", code)


def _signal_reason(sig: int) -> str:
    if sig == signal.SIGXCPU:
        return "cpu_limit"
    if sig == signal.SIGXFSZ:
        return "output_limit"
    return "signal"
