"""Run ReCode's console entry points in a child process, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_module(
    module: str,
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    cache: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` with text output; ``cache`` becomes ``RECODE_CACHE_DIR``."""
    environment = dict(os.environ)
    if cache is not None:
        environment["RECODE_CACHE_DIR"] = str(cache)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=timeout,
    )


def run_migrate(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    cache: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``recode-migrate ARGS`` (as ``python -m recode_lsp``)."""
    return run_module("recode_lsp", *args, cwd=cwd, env=env, cache=cache, timeout=timeout)
