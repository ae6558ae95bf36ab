"""A slice of the notebook fuzz (``bench/notebook_fuzz.py`` is the long run): 0 broken notebooks."""

from __future__ import annotations

from pathlib import Path

from tests.notebooks.notebook_fuzz import ACCEPTANCE, check_notebooks, notebooks_from
from tests.property.fuzz_modules import generate_modules

SEED = 20261206


def test_notebooks_from_fuzzed_modules_are_never_broken(tmp_path: Path) -> None:
    modules = list(generate_modules(60, SEED, max_source_bytes=20_000, hypothesmith_share=0.0))
    notebooks = notebooks_from(modules, SEED)
    assert len(notebooks) >= 25
    assert sum(len(notebook.magics) for notebook in notebooks) >= 10  # IPython text is really there
    outcome = check_notebooks(notebooks, tmp_path / "project")
    assert outcome.totals["notebooks_changed"] >= len(notebooks) // 2, "the fuzz must exercise the fixer"
    problems = [example for example in outcome.examples if example["kind"] != "ok"]
    assert {key: outcome.totals.get(key, 0) for key in ACCEPTANCE} == dict.fromkeys(ACCEPTANCE, 0), problems[:3]


def test_the_judge_sees_a_broken_notebook() -> None:
    import json
    import random

    from tests.notebooks.notebook_fuzz import judge, make_notebook
    from tests.property.fuzz_modules import FuzzModule

    module = FuzzModule("m.py", b"import numpy as np\nx = np.float_(1)\ny = 2\nz = 3\n", "test")
    notebook = next(
        n for seed in range(50) if (n := make_notebook(random.Random(seed), module, "m.ipynb")) and n.magics
    )
    assert judge(notebook, notebook.text, notebook.text) == []
    document = json.loads(notebook.text)
    index, magic = notebook.magics[0]
    cell = document["cells"][index]
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = source.replace(magic, "pass")
    assert any("IPython text changed" in p for p in judge(notebook, json.dumps(document), json.dumps(document)))
    document = json.loads(notebook.text)
    document["metadata"]["kernelspec"]["name"] = "other"
    assert judge(notebook, json.dumps(document), json.dumps(document)) == ["changed more than code cells' sources"]
    assert judge(notebook, notebook.text, notebook.text + " ") == ["changed by the second run"]
