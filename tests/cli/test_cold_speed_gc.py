"""``process_data`` pauses Python's cyclic garbage collector per file and always restores it (issue 15).

Building and analysing a syntax tree triggers collections that walk the growing tree again and
again; the pause cut a third of the parse time on the bench corpus. What must hold: the
collector is on again after every file (whatever the file, broken ones included), a caller
that paused it itself keeps it paused, and the results are those of a run with it on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from recode_lsp.cli.kb_subset import load_for
from recode_lsp.cli.runner import RunSettings, _process_data, init_worker, process_data
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import parse_target

SOURCES = {
    "legacy.py": b"import numpy as np\n\nEPS = np.finfo(np.float_).eps\nx = np.array([1], copy=False)\n",
    "broken.py": b"import numpy as np\n\ndef f(:\n    return np.NaN\n",
    "binary.py": b"x = 1\n\x00\xff",
    "nested.py": b"import numpy as np\nx = " + b"[" * 200 + b"np.NaN" + b"]" * 200 + b"\n",
}


@pytest.fixture(autouse=True)
def worker() -> Iterator[None]:
    kb = load_for(["numpy"], [], [])
    options = DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])
    init_worker(kb, RunSettings("check", False, options))
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_the_collector_is_on_again_after_each_file(name: str) -> None:
    assert gc.isenabled()
    result = process_data(name, SOURCES[name])
    assert gc.isenabled()
    assert result.records or result.error


def test_a_caller_that_paused_the_collector_keeps_it_paused() -> None:
    gc.disable()
    process_data("legacy.py", SOURCES["legacy.py"])
    assert not gc.isenabled()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_results_do_not_depend_on_the_pause(name: str) -> None:
    paused = process_data(name, SOURCES[name])
    with_collector = _process_data(name, SOURCES[name], as_module=False)  # the same work, collector on
    assert gc.isenabled()
    assert (paused.records, paused.error) == (with_collector.records, with_collector.error)
