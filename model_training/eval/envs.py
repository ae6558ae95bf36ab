"""One cached virtual environment per (library, version), made with ``venv`` + ``pip`` and reused.

Cache: ``$RECODE_EVAL_CACHE`` or ``$XDG_CACHE_HOME/recode/eval-envs`` (default ``~/.cache/recode/eval-envs``).
Wheels only (``--only-binary :all:``): a version with no wheel for this Python fails in seconds instead of
compiling for an hour, and the failure is remembered (``FAILED`` file; ``retry_failed`` tries again).
Standard-library "versions" are Python versions: only the running interpreter's own version is available
(an environment with no packages), unless ``approximate_python`` lets it stand in for other 3.x versions.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Extra pins that old releases need to import at all (pandas < 2.2 was built against NumPy 1.x).
_COMPANIONS = {"pandas": lambda version: ["numpy<2"] if _tuple(version) < (2, 2) else []}


@dataclass(frozen=True)
class EnvResult:
    """An interpreter for the environment, or why there is none."""

    python: str | None
    note: str = ""


def cache_root() -> Path:
    if os.environ.get("RECODE_EVAL_CACHE"):
        return Path(os.environ["RECODE_EVAL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recode" / "eval-envs"


def _tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def requirement(library: str, version: str) -> str:
    """``numpy`` ``2.0`` -> ``numpy==2.0.*`` (any patch release); ``pandas`` ``1.0.0`` -> ``pandas==1.0.0``."""
    return f"{library}=={version}.*" if version.count(".") < 2 else f"{library}=={version}"


class EnvCache:
    """Environments under ``root``, created on first use (``pip`` reaches the package index)."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        retry_failed: bool = False,
        approximate_python: bool = False,
        install_timeout: float = 900.0,
    ) -> None:
        self.root = root or cache_root()
        self.retry_failed = retry_failed
        self.approximate_python = approximate_python
        self.install_timeout = install_timeout
        self._memo: dict[tuple[str, str], EnvResult] = {}

    def python_for(self, library: str, version: str, *, stdlib: bool = False) -> EnvResult:
        key = ("python" if stdlib else library, version)
        if key not in self._memo:
            self._memo[key] = self._python_version(version) if stdlib else self._package(library, version)
        return self._memo[key]

    def python_with(self, library: str, version: str, extras: Sequence[str]) -> EnvResult:
        """An environment with ``library==version`` and the pinned ``extras`` (named after a hash of them)."""
        if not extras:
            return self.python_for(library, version)
        digest = hashlib.sha256(" ".join(sorted(extras)).encode()).hexdigest()[:8]
        key = (library, f"{version}+{digest}")
        if key not in self._memo:
            self._memo[key] = self._create(library, key[1], [requirement(library, version), *extras])
        return self._memo[key]

    def _python_version(self, version: str) -> EnvResult:
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        wanted = _tuple(version)
        if wanted[:2] == sys.version_info[:2]:
            return self._create("python", here, [])
        if self.approximate_python and len(wanted) >= 2 and wanted[0] == 3 and wanted[1] >= 8:
            result = self._create("python", here, [])
            return EnvResult(result.python, f"Python {version} approximated by {here}")
        return EnvResult(None, f"Python {version} not available (this interpreter is {here})")

    def _package(self, library: str, version: str) -> EnvResult:
        requirements = [requirement(library, version), *_COMPANIONS.get(library, lambda _v: [])(version)]
        return self._create(library, version, requirements)

    def _create(self, library: str, version: str, requirements: list[str]) -> EnvResult:
        tag = f"py{sys.version_info.major}{sys.version_info.minor}"
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{library}-{version}-{tag}")
        folder = self.root / name
        python = folder / "bin" / "python"
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two runs creating the same environment wait for each other
            if (folder / "READY").is_file():
                return EnvResult(str(python))
            failed = folder / "FAILED"
            if failed.is_file() and not self.retry_failed:
                return EnvResult(None, failed.read_text(encoding="utf-8").strip())
            log.info("creating environment %s (%s)", folder, " ".join(requirements) or "no packages")
            note = self._install(folder, requirements)
            if note:
                folder.mkdir(parents=True, exist_ok=True)
                failed.write_text(note + "\n", encoding="utf-8")
                return EnvResult(None, note)
            failed.unlink(missing_ok=True)
            (folder / "READY").write_text(" ".join(requirements) + "\n", encoding="utf-8")
            return EnvResult(str(python))

    def _install(self, folder: Path, requirements: list[str]) -> str:
        """Empty on success, else a one-line reason."""
        base = getattr(sys, "_base_executable", sys.executable)
        steps = [[base, "-m", "venv", "--clear", str(folder)]]
        if requirements:
            pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            steps.append([*pip, "--no-input", "--only-binary", ":all:", *requirements])
        for step in steps:
            try:
                done = subprocess.run(step, check=False, capture_output=True, text=True, timeout=self.install_timeout)
            except subprocess.TimeoutExpired:
                return f"install of {' '.join(requirements)} timed out"
            if done.returncode != 0:
                lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
                return f"cannot install {' '.join(requirements) or 'venv'}: {lines[-1] if lines else done.returncode}"
        return ""
