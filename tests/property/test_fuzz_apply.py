"""The fuzz, bounded for CI: ``recode-migrate --apply --unsafe-fixes`` twice over generated modules.

About 400 modules (real standard-library / site-packages files with old APIs spliced in, and
hypothesmith modules; see ``fuzz_modules.py``), seeded, in a few temporary projects, through
the installed console script (the path users take). Acceptance: no unparsable write, no file
changed by the second run, no string literal changed and no comment lost outside replaced code,
no crash (see ``fuzz_check.py`` for how each is measured). The long run is ``bench/fuzz_apply.py``.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import pytest

from tests.property.fuzz_check import (
    ACCEPTANCE,
    check_batch,
    judge_file,
    name_changes,
    run_cli,
    summary_line,
    write_project,
)
from tests.property.fuzz_modules import FuzzModule, generate_modules, hypothesmith_sources

SEED = 20240611
BATCHES = 4
PER_BATCH = 100


def _show(outcome_examples: list, kinds: tuple[str, ...]) -> str:
    lines = []
    for example in outcome_examples:
        if example.kind in kinds:
            lines.append(f"--- {example.kind}: {example.name} ({example.variant}, {example.origin})\n{example.detail}")
            lines.append(example.diff[:1500])
    return "\n".join(lines[:40])


def test_fuzz_apply_twice_through_the_console_script(tmp_path: Path) -> None:
    generated = hypothesmith_sources(40, SEED)
    totals: Counter[str] = Counter()
    examples = []
    crashes: list[str] = []
    for batch in range(BATCHES):
        modules = list(
            generate_modules(
                PER_BATCH, SEED + batch, max_source_bytes=20_000, generated=generated, hypothesmith_share=0.15
            )
        )
        outcome = check_batch(modules, tmp_path / f"batch{batch}", runner="console", timeout=300)
        totals.update(outcome.totals())
        examples.extend(outcome.examples)
        crashes.extend(outcome.crashes)
    assert totals["modules"] >= BATCHES * PER_BATCH * 0.95
    assert totals["files_fixed"] > totals["modules"] // 2, "the fuzz must actually exercise the fixer"
    failing = {key: totals[key] for key in ACCEPTANCE if totals[key]}
    assert not failing and not crashes, (
        summary_line(totals, 0) + "\n" + "\n".join(crashes[:5]) + "\n" + _show(examples, ACCEPTANCE)
    )


# Known shapes, checked one by one so that a regression names itself (each also occurs in the fuzz).
SHAPES = {
    "latin1_cookie": (
        b"# -*- coding: latin-1 -*-\n# Fran\xe7ois\nx = np.float_(1)\n",
        "import numpy as np",
    ),
    "shebang": (b"#!/usr/bin/env python\nx = np.float_(1)\n", "import numpy as np"),
    "import_guard": (
        b"try:\n    import numpy as np\nexcept ImportError:\n    np = None\n\n"
        + b"x = np.float_(1)\ntry:\n    pass\nexcept np.AxisError:\n    pass\n",
        "",
    ),
    "comments_in_import_list": (
        b"from typing import (  # typing names\n    List,  # lists\n    Dict,  # dicts\n    Optional,  # kept\n)\n\n"
        + b"def f(a: List[int]) -> Dict[str, Optional[int]]:\n    return {}\n",
        "",
    ),
    "fstring_debug": (b"import numpy as np\nprint(f'{np.float_=}')\nmsg = f'{np.NaN=!r:>10}'\n", ""),
    "comment_in_call": (b"import numpy as np\nv = np.asfarray(  # convert\n    [1, 2],  # data\n)  # done\n", ""),
    "crlf": (b"import numpy as np\r\nx = np.float_(1)\r\ny = np.NaN\r\n", ""),
    "lone_cr": (b"import numpy as np\rx = np.float_(1)\ry = np.NaN\r", ""),
    "bom": (b"\xef\xbb\xbfimport numpy as np\nx = np.float_(1)\n", ""),
    "typing_two_runs": (b"from typing import AbstractSet, Set\n\ndef f(a: AbstractSet[int], b: Set[int]): ...\n", ""),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_fuzz_shape_in_process(shape: str, tmp_path: Path) -> None:
    data, imports = SHAPES[shape]
    if imports:
        head, _, rest = data.partition(b"\n") if data.startswith((b"#!", b"# -*-")) else (b"", b"", data)
        if data.startswith(b"# -*-"):
            second, _, rest = rest.partition(b"\n")
            head = head + b"\n" + second
        data = (head + b"\n" if head else b"") + imports.encode() + b"\n" + rest
    module = FuzzModule(f"{shape}.py", data, "shape")
    outcome = check_batch([module], tmp_path / "project", runner="inprocess", timeout=120)
    assert not outcome.crashes, outcome.crashes
    (verdict,) = outcome.verdicts
    counts = {key: value for key, value in verdict.counts().items() if key in ACCEPTANCE and value}
    assert not counts, (counts, _show(outcome.examples, ACCEPTANCE))


def test_checker_catches_a_lost_comment_and_a_changed_string(tmp_path: Path) -> None:
    """The measure itself: a write that drops a comment and edits a literal is counted (no CLI involved)."""
    module = FuzzModule("m.py", b"x = 'a'  # keep me\ny = f'{x=}'\n", "self-test")
    written = b"x = 'b'\ny = f'{x=}'\n"
    verdict = judge_file(module, written, written, fixed=[])
    assert verdict.comments_lost == ["# keep me"]
    assert verdict.strings_changed == ["'a'"]
    broken = judge_file(module, b"x = (\n", b"x = (\n", fixed=[])
    assert broken.unparsable is not None
    unstable = judge_file(module, module.data, b"x = 1\n", fixed=[])
    assert unstable.changed_by_second_run


def test_checker_counts_a_clobbered_binding_but_not_a_rewritten_guarded_import() -> None:
    """A new import over a module variable is counted; rewriting ``if TYPE_CHECKING:`` imports is not."""
    guarded = "from typing import TYPE_CHECKING, Iterable\nif TYPE_CHECKING:\n    from typing import Iterable\n"
    both_moved = guarded.replace("from typing import Iterable", "from collections.abc import Iterable")
    both_moved = both_moved.replace("TYPE_CHECKING, Iterable", "TYPE_CHECKING\nfrom collections.abc import Iterable")
    assert name_changes(ast.parse(guarded), ast.parse(both_moved))["binding_clobbered"] == []
    variable = "Iterable = list\nx: Iterable = []\n"
    clobbered = "from collections.abc import Iterable\n" + variable
    assert name_changes(ast.parse(variable), ast.parse(clobbered))["binding_clobbered"] == ["Iterable"]


def test_console_script_reports_json(tmp_path: Path) -> None:
    project = tmp_path / "p"
    write_project(project, [FuzzModule("a.py", b"import numpy as np\nx = np.float_(1)\n", "t")])
    status, stdout, stderr = run_cli(project, runner="console", timeout=120)
    assert status == 1, stderr
    report = json.loads(stdout)
    assert [record["code"] for record in report["fixed"]] == ["NPY023"]
    assert (project / "a.py").read_bytes() == b"import numpy as np\nx = np.float64(1)\n"
