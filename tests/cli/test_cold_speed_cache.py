"""A cold ``--check`` does not read and hash every file before the workers start (issue 15).

With an empty cache there is no result to look up, so the main process only takes each file's
stat; the digest stored beside it is the one of the bytes the worker read. These tests check
that what is stored is still right: a warm run serves every file, and an edited file is read
again.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from recode_lsp.engine.digest import digest
from tests.cli_process import run_migrate

LEGACY = b"import numpy as np\n\nEPS = np.finfo(np.float_).eps\n"
CLEAN = b"import numpy as np\n\nEPS = np.finfo(np.float64).eps\n"


def check(root: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return run_migrate(
        "--check", "--select", "numpy", "--target", "numpy==2.0", "--format", "json", "pkg", cwd=root, cache=cache
    )


def test_a_cold_run_stores_each_files_stat_with_the_digest_of_its_bytes(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    files = {root / "pkg" / f"m{index}.py": (LEGACY if index % 3 == 0 else CLEAN) for index in range(40)}
    for path, content in files.items():
        path.write_bytes(content)
    cache = tmp_path / "cache"
    cold = check(root, cache)
    assert cold.returncode == 1, cold.stderr
    (entry,) = (cache / "check").glob("check-*.json")
    by_stat = json.loads(entry.read_bytes())["by_stat"]
    for path, content in files.items():
        info = os.stat(path)
        assert by_stat[str(path.resolve())] == [info.st_size, info.st_mtime_ns, digest(content)]
    assert json.loads(check(root, cache).stdout) == json.loads(cold.stdout)
    # An edited file is read again (its stat changed), not served from the cache.
    edited = root / "pkg" / "m1.py"
    edited.write_bytes(LEGACY + b"# edited\n")
    warm = json.loads(check(root, cache).stdout)
    assert "pkg/m1.py" in {finding["path"] for finding in warm["findings"]}
