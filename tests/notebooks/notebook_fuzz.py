"""Fuzz notebooks for ``recode-migrate --apply``: the fuzzed modules of ``tests/property``, as notebooks.

Each module from :func:`tests.property.fuzz_modules.generate_modules` (its text, decoded) is
split into code cells at random top-level statement boundaries; markdown cells, IPython lines
(``%matplotlib inline``, ``!pip install``, ``files = !ls``, ``np.float_?``), ``%%time`` cells
and whole ``%%bash`` cells holding old API text are inserted; a cell's source is written as a
list of lines or one string; the JSON gets 1, 2 or 4 spaces of indentation or none, escaped or
raw non-ASCII, a final newline or not, and outputs in some cells.

A notebook is **broken** (the acceptance count, must be 0) when after ``--apply --unsafe-fixes``:
it is not valid JSON or not a valid nbformat 4 notebook (when nbformat is installed); anything
but code cells' sources changed; an IPython line or a ``%%bash`` cell changed; the Python
cells no longer compile as one module; or a second run changed it again. A crash (an internal
error, or an error reported for a notebook that was readable) counts too.
"""

from __future__ import annotations

import ast
import json
import random
import shutil
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.property.fuzz_check import run_cli
from tests.property.fuzz_modules import TARGETS, FuzzModule, decode_python

ACCEPTANCE = ("broken", "changed_by_second_run", "crashes")
LINE_MAGICS = ("%matplotlib inline", "!pip install numpy==1.26", "files = !ls", "np.float_?", "%load_ext autoreload")
BASH_CELL = "%%bash\necho np.float_ pd.DataFrame.append\nls -l"
MARKDOWN = ("# Notes\n\nThe old `np.float_` API, with é and ü.", "Some *text*")


@dataclass
class FuzzNotebook:
    name: str
    text: str
    origin: str
    #: Each IPython-only line or cell inserted, with the cell it went into (index in the cells array).
    magics: list[tuple[int, str]] = field(default_factory=list)


def _boundaries(text: str) -> list[int]:
    """0-based line numbers where a top-level statement (with its decorators) starts."""
    tree = ast.parse(text)
    starts = []
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        starts.append(min([node.lineno, *(d.lineno for d in decorators)]) - 1)
    return starts


def make_notebook(rng: random.Random, module: FuzzModule, name: str) -> FuzzNotebook | None:
    """A notebook from ``module``'s text; None when the text does not split (it does not parse here)."""
    try:
        text = decode_python(module.data)
        starts = _boundaries(text)
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    lines = text.splitlines(keepends=True)
    cuts = sorted(set(rng.sample(starts[1:], k=min(len(starts) - 1, rng.randint(1, 6))))) if len(starts) > 1 else []
    pieces = ["".join(lines[a:b]) for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    cells: list[dict[str, object]] = []
    notebook = FuzzNotebook(name, "", module.origin)

    def add(source: str, cell_type: str = "code") -> None:
        as_list = rng.random() < 0.7
        value: object = source.splitlines(keepends=True) if as_list else source
        cell: dict[str, object] = {"cell_type": cell_type, "metadata": {}, "source": value}
        if cell_type == "code":
            cell["execution_count"] = rng.choice([None, len(cells) + 1])
            cell["outputs"] = (
                [{"name": "stdout", "output_type": "stream", "text": ["out ✓\n"]}] if rng.random() < 0.3 else []
            )
        cells.append(cell)

    add(rng.choice(MARKDOWN), "markdown")
    for piece in pieces:
        if rng.random() < 0.3:
            magic = rng.choice(LINE_MAGICS)
            notebook.magics.append((len(cells), magic))
            piece = magic + "\n" + piece
        if rng.random() < 0.1 and not piece.startswith("%"):
            notebook.magics.append((len(cells), "%%time"))
            piece = "%%time\n" + piece
        if piece.endswith("\n") and rng.random() < 0.6:
            piece = piece[:-1]  # Jupyter keeps no newline after a cell's last line
        add(piece)
        if rng.random() < 0.15:
            notebook.magics.append((len(cells), BASH_CELL))
            add(BASH_CELL)
        if rng.random() < 0.2:
            add(rng.choice(MARKDOWN), "markdown")
    document = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": rng.choice([2, 4]),
    }
    indent = rng.choice([1, 1, 2, 4, None])
    notebook.text = json.dumps(document, indent=indent, ensure_ascii=rng.random() < 0.3) + (
        "\n" if rng.random() < 0.8 else ""
    )
    return notebook


def _sources(document: dict[str, object]) -> list[str]:
    cells = document["cells"]
    assert isinstance(cells, list)
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]


def _without_code_sources(document: dict[str, object]) -> dict[str, object]:
    cells = document["cells"]
    assert isinstance(cells, list)
    return {
        **document,
        "cells": [{k: v for k, v in c.items() if not (k == "source" and c["cell_type"] == "code")} for c in cells],
    }


def _python_module(sources: Sequence[str], document: dict[str, object]) -> str:
    """The Python cells' code, IPython lines and non-Python cells blanked, as one module."""
    from recode_lsp.engine.notebook import build_module, parse_notebook

    module = build_module(parse_notebook(json.dumps(document)))
    return module.text


def judge(notebook: FuzzNotebook, first: str, second: str) -> list[str]:
    """Why the notebook written by the first run (``first``) is broken; [] when it is not."""
    problems: list[str] = []
    try:
        before, after = json.loads(notebook.text), json.loads(first)
    except ValueError as exc:
        return [f"not JSON after the fix: {exc}"]
    try:
        import nbformat
    except ImportError:
        nbformat = None
    if nbformat is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                nbformat.validate(nbformat.reads(first, as_version=4))
            except Exception as exc:  # noqa: BLE001  # nbformat raises ValidationError and others
                problems.append(f"nbformat: {type(exc).__name__}: {str(exc)[:200]}")
    if _without_code_sources(before) != _without_code_sources(after):
        problems.append("changed more than code cells' sources")
    sources = _sources(after)
    for index, magic in notebook.magics:
        if index >= len(sources) or magic not in sources[index]:
            problems.append(f"IPython text changed in cell {index + 1}: {magic!r}")
    try:
        compile(_python_module(sources, after), "<notebook>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        problems.append(f"the Python cells do not compile: {exc}")
    if second != first:
        problems.append("changed by the second run")
    return problems


@dataclass
class Outcome:
    totals: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, object]] = field(default_factory=list)


def check_notebooks(
    notebooks: Sequence[FuzzNotebook], folder: Path, *, runner: str = "inprocess", timeout: int = 600
) -> Outcome:
    """Write ``notebooks`` to a project in ``folder``, ``--apply`` twice, judge each one."""
    outcome = Outcome()
    folder.mkdir(parents=True, exist_ok=True)
    quoted = ", ".join(json.dumps(t) for t in TARGETS)
    (folder / "pyproject.toml").write_text(f"[tool.recode]\ntargets = [{quoted}]\n")
    for notebook in notebooks:
        (folder / notebook.name).write_bytes(notebook.text.encode("utf-8"))
    status, stdout, stderr = run_cli(folder, runner=runner, timeout=timeout)
    firsts = {n.name: (folder / n.name).read_bytes().decode("utf-8") for n in notebooks}
    status2, _, stderr2 = run_cli(folder, runner=runner, timeout=timeout)
    outcome.totals["notebooks"] += len(notebooks)
    if status not in (0, 1) or status2 not in (0, 1) or "internal error" in stderr + stderr2:
        outcome.totals["crashes"] += 1
        outcome.examples.append({"kind": "crash", "stderr": (stderr + stderr2)[-3000:]})
    try:
        report = json.loads(stdout)
    except ValueError:
        report = {"errors": [], "fixed": []}
    for error in report.get("errors", []):
        outcome.totals["crashes"] += 1
        outcome.examples.append({"kind": "error reported", "detail": error})
    fixed_paths = Counter(item["path"] for item in report.get("fixed", []))
    for notebook in notebooks:
        first = firsts[notebook.name]
        second = (folder / notebook.name).read_bytes().decode("utf-8")
        outcome.totals["findings_fixed"] += fixed_paths.get(notebook.name, 0)
        outcome.totals["notebooks_changed"] += first != notebook.text
        problems = judge(notebook, first, second)
        if second != first:
            outcome.totals["changed_by_second_run"] += 1
        if problems:
            outcome.totals["broken"] += 1
            outcome.examples.append(
                {
                    "kind": "broken",
                    "name": notebook.name,
                    "origin": notebook.origin,
                    "problems": problems,
                    "before": notebook.text[:20000],
                }
            )
    shutil.rmtree(folder, ignore_errors=True)
    return outcome


def notebooks_from(modules: Sequence[FuzzModule], seed: int) -> list[FuzzNotebook]:
    rng = random.Random(seed)
    made = []
    for module in modules:
        if module.twin is not None or module.variant != "plain":
            continue  # byte variants are a module matter; a notebook is UTF-8 JSON
        notebook = make_notebook(rng, module, f"{Path(module.name).stem}.ipynb")
        if notebook is not None:
            made.append(notebook)
    return made
