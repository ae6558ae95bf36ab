"""The byte diff behind ``--diff``: valid opcodes, patches git applies, linear time (issue 11)."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

from recode_lsp.cli.report import unified_diff_bytes
from recode_lsp.engine.line_diff import line_opcodes


def _edit(lines: list[bytes], rng: random.Random) -> list[bytes]:
    edited = list(lines)
    for _ in range(rng.randint(1, 5)):
        roll = rng.random()
        if roll < 0.3 and edited:
            edited.pop(rng.randrange(len(edited)))
        elif roll < 0.6:
            edited.insert(rng.randint(0, len(edited)), rng.choice([b"new\n", b"x0\n", b"\n"]))
        elif edited:
            edited[rng.randrange(len(edited))] = b"changed\n"
    return edited


def test_opcodes_cover_both_sides_and_equal_means_equal() -> None:
    rng = random.Random(11)
    for _ in range(2000):
        vocabulary = [b"x%d\n" % k for k in range(rng.randint(1, 6))]
        a = [rng.choice(vocabulary) for _ in range(rng.randint(0, 30))]
        b = _edit(a, rng)
        i = j = 0
        for tag, i1, i2, j1, j2 in line_opcodes(a, b):
            assert (i1, j1) == (i, j)
            if tag == "equal":
                assert a[i1:i2] == b[j1:j2]
            i, j = i2, j2
        assert (i, j) == (len(a), len(b))


def test_patches_apply_with_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    rng = random.Random(3)
    for _ in range(60):
        vocabulary = [b"x%d\r\n" % k for k in range(3)] + [b"u%d\n" % k for k in range(20)] + [b"a\rb\n"]
        original = b"".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 30)))
        new = b"".join(_edit(original.splitlines(keepends=True), rng))
        if rng.random() < 0.3:
            new = new.rstrip(b"\n")
        if new == original:
            continue
        (tmp_path / "f.py").write_bytes(original)
        patch = unified_diff_bytes("f.py", original, new, tmp_path)
        applied = subprocess.run(["git", "apply", "-"], cwd=tmp_path, input=patch, capture_output=True, check=False)
        assert applied.returncode == 0, (original, new, patch, applied.stderr)
        assert (tmp_path / "f.py").read_bytes() == new


def test_a_repetitive_module_diffs_in_linear_time() -> None:
    block = "\ndef f_{i}(values):\n    total = 0\n    arr = np.asarray(values, dtype=np.float_)\n    return total\n"
    original = ("import numpy as np\n" + "".join(block.format(i=i) for i in range(8000))).encode()
    fixed = original.replace(b"np.float_)", b"np.float64)")
    started = time.process_time()
    patch = unified_diff_bytes("big.py", original, fixed, Path("."))
    # difflib took minutes on such a file (quadratic); this is well under a second.
    assert time.process_time() - started < 5
    assert patch.count(b"\n+    arr = np.asarray(values, dtype=np.float64)\n") == 8000
