"""The sandbox contains hostile programs: each is a failure of its own sample and harms nothing else.

The fork bomb uses a small process limit; pids cgroups and namespaces need root (CI and these machines run
as root), and the tests that depend on them skip with the reason otherwise.
"""

import os
import textwrap
import time
from pathlib import Path

import pytest

from model_training.eval import sandbox
from model_training.eval.sandbox import Limits, run_program, same_output

FAST = Limits(wall_seconds=5, cpu_seconds=5, memory_bytes=1 << 30, output_bytes=64 << 10, max_processes=16)
needs_ns = pytest.mark.skipif(not sandbox.namespaces_available(), reason="needs root and util-linux `unshare`")
needs_cgroup = pytest.mark.skipif(
    not os.access(sandbox.PIDS_ROOT, os.W_OK), reason="needs a writable cgroup-v1 pids hierarchy"
)


def run(code: str, **kwargs) -> sandbox.Verdict:
    kwargs.setdefault("limits", FAST)
    return run_program(textwrap.dedent(code), **kwargs)


def our_cgroups() -> list[str]:
    if not sandbox.PIDS_ROOT.is_dir():
        return []
    return [p.name for p in sandbox.PIDS_ROOT.iterdir() if p.name.startswith(f"{sandbox.CGROUP_PREFIX}{os.getpid()}-")]


@pytest.fixture(autouse=True)
def _no_leftovers():
    yield
    assert our_cgroups() == []


def test_plain_program_passes_and_output_is_compared():
    verdict = run("print('hello')\nprint(2 + 2)\n", expected_stdout="hello\n4")
    assert (verdict.passed, verdict.reason, verdict.exit_status) == (True, "ok", 0)
    assert verdict.stdout == "hello\n4\n"
    wrong = run("print('hello')\n", expected_stdout="bye\n")
    assert (wrong.passed, wrong.reason) == (False, "wrong_output")


def test_nonzero_exit_is_a_failure():
    verdict = run("import sys; sys.exit(3)")
    assert (verdict.passed, verdict.reason, verdict.exit_status) == (False, "exit_status", 3)


def test_stdin_and_extra_files():
    verdict = run("import sys; print(open('data.txt').read() + sys.stdin.read())", stdin="B", files={"data.txt": "A"})
    assert verdict.passed and verdict.stdout == "AB\n"


def test_same_output_ignores_trailing_space_only():
    assert same_output("a \nb\n\n", "a\nb")
    assert not same_output(" a\n", "a\n")


@needs_cgroup
def test_fork_bomb_is_contained():
    token = f"forkbomb-{os.getpid()}-{time.time_ns()}"  # in every fork's environment, to find leftovers
    limits = Limits(wall_seconds=3, cpu_seconds=5, memory_bytes=1 << 30, output_bytes=64 << 10, max_processes=8)
    verdict = run(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        limits=limits,
        env={"RECODE_TEST_TOKEN": token},
    )
    assert not verdict.passed and verdict.reason == "timeout"
    assert verdict.isolation["processes"] == "pids cgroup"
    time.sleep(0.2)
    assert [p for p in Path("/proc").iterdir() if p.name.isdigit() and _in_environ(p, token)] == []


def _in_environ(proc: Path, token: str) -> bool:
    try:
        return f"RECODE_TEST_TOKEN={token}".encode() in (proc / "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def test_infinite_loop_times_out():
    verdict = run("while True:\n    pass\n", limits=Limits(wall_seconds=2, cpu_seconds=10))
    assert (verdict.passed, verdict.reason) == (False, "timeout")
    assert verdict.seconds < 4


def test_cpu_limit_ends_a_busy_program_before_the_wall_clock():
    verdict = run("while True:\n    pass\n", limits=Limits(wall_seconds=20, cpu_seconds=1))
    assert (verdict.passed, verdict.reason) == (False, "cpu_limit")


def test_ten_gigabyte_allocation_fails():
    verdict = run("data = bytearray(10 * 2**30)\nprint(len(data))\n")
    assert (verdict.passed, verdict.reason) == (False, "memory_limit")


@needs_ns
def test_write_outside_its_folder_fails(tmp_path):
    target = tmp_path / "escaped.txt"
    verdict = run(f"open({str(target)!r}, 'w').write('x')\n")
    assert not verdict.passed and "Read-only file system" in verdict.stderr
    assert not target.exists()
    inside = run("open('ok.txt', 'w').write('x'); print(open('ok.txt').read())", expected_stdout="x")
    assert inside.passed


@needs_ns
def test_cannot_remount_or_leave_its_cgroup():
    verdict = run(
        """
        import os, subprocess
        rc = subprocess.run(['mount', '-o', 'remount,rw', '/'], capture_output=True).returncode
        print('mount', rc)
        open('/sys/fs/cgroup/pids/cgroup.procs', 'w').write(str(os.getpid()))
        """
    )
    assert not verdict.passed
    assert "mount 0" not in verdict.stdout and "Read-only file system" in verdict.stderr


@needs_ns
def test_network_connect_fails():
    verdict = run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)\n")
    assert not verdict.passed and verdict.reason == "exit_status"
    assert "unreachable" in verdict.stderr.lower()
    assert verdict.isolation["network"] == "namespace"


def test_killing_its_parent_harms_only_the_sample():
    verdict = run(
        """
        import os, signal, sys
        os.kill(os.getppid(), signal.SIGKILL)
        sys.exit(1)
        """
    )
    assert not verdict.passed  # and this test process is still alive to see it


@needs_ns
def test_kill_everything_reaches_only_its_own_namespace():
    verdict = run("import os, signal\nos.kill(-1, signal.SIGKILL)\nimport time; time.sleep(5)\n")
    assert not verdict.passed
    assert verdict.seconds < 4  # its own namespace died with it


def test_flood_of_output_is_capped():
    verdict = run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    assert (verdict.passed, verdict.reason) == (False, "output_limit")
    assert len(verdict.stdout) <= FAST.output_bytes


def test_background_child_does_not_outlive_the_run():
    token = f"60.{os.getpid()}{int(time.time()) % 100000}"  # a unique `sleep` argument to look for
    verdict = run(
        f"""
        import os
        if os.fork() == 0:
            os.setsid()
            os.execvp("sleep", ["sleep", "{token}"])
        print("parent done")
        """
    )
    assert verdict.passed
    time.sleep(0.3)
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _has_arg(p, token)]
    assert leftovers == []


def _has_arg(proc: Path, token: str) -> bool:
    try:
        return token.encode() in (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
