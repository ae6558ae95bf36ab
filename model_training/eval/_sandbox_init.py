"""Runs inside the sandbox's namespaces, before the untrusted program (stdlib only, started with ``-I -S``).

``python -I -S _sandbox_init.py CONFIG_JSON``: makes every mount read-only except the work folder, drops
all capabilities (the process stays uid 0 so it can read the interpreter's files, but it can no longer
remount, write cgroup files or bypass file permissions), then forks the program and waits for it. This
process is pid 1 of a new pid namespace when ``isolate`` is set, so the program cannot see or signal
anything outside, and when it ends the kernel kills whatever the program left behind. The program's raw
wait status and the setup notes are written as one JSON line to ``status_fd``.
"""

import ctypes
import json
import os
import resource
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


def _mount_points() -> list[tuple[str, int]]:
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            flags = 0
            for option in fields[5].split(","):
                flags |= _FLAGS.get(option, 0)
            points.append((point, flags))
    return points


def read_only_except(libc: ctypes.CDLL, workdir: str) -> list[str]:
    """Bind the work folder onto itself, then remount every other mount read-only; returns failures."""
    failed = []
    if libc.mount(workdir.encode(), workdir.encode(), None, MS_BIND, None) != 0:
        return [f"bind {workdir}: errno {ctypes.get_errno()}"]
    for point, flags in _mount_points():
        if point == workdir or point.startswith(workdir.rstrip("/") + "/"):
            continue
        if libc.mount(None, point.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, None) != 0:
            failed.append(f"{point}: errno {ctypes.get_errno()}")
    return failed


def drop_capabilities(libc: ctypes.CDLL) -> None:
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def join_and_limit(config: dict) -> None:
    """Join the run's pids cgroup before anything else forks, then set the resource limits the program
    inherits (done here, not in a ``preexec_fn``, because the harness runs sandboxes from threads)."""
    if config.get("cgroup"):
        with open(os.path.join(config["cgroup"], "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))  # read in this process's own pid namespace
    limits = config.get("limits")
    if limits:
        cpu = limits["cpu_seconds"]
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["output_bytes"],) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if not config.get("cgroup"):
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["max_processes"],) * 2)


def main() -> int:
    config = json.loads(sys.argv[1])
    status_fd = config["status_fd"]
    notes: list[str] = []
    join_and_limit(config)
    if config["isolate"]:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = read_only_except(libc, config["workdir"])
        if any(item.startswith(("/:", "bind")) for item in failed):
            os.write(status_fd, (json.dumps({"setup_error": "; ".join(failed)}) + "\n").encode())
            return 120
        notes.extend(f"remount read-only failed: {item}" for item in failed)
        drop_capabilities(libc)
    os.chdir(config["workdir"])
    stdin_fd = os.open(config["stdin"], os.O_RDONLY) if config.get("stdin") else None
    pid = os.fork()
    if pid == 0:
        try:
            os.close(status_fd)
            if stdin_fd is not None:
                os.dup2(stdin_fd, 0)
            os.execve(config["argv"][0], config["argv"], config["env"])
        finally:
            os._exit(127)
    while True:
        waited, status = os.waitpid(-1, 0)  # pid 1 also reaps orphans the program leaves
        if waited == pid:
            break
    os.write(status_fd, (json.dumps({"status": status, "notes": notes}) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
