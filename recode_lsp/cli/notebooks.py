"""Notebooks in the CLI: check and fix an ``.ipynb`` through its virtual module.

A notebook's code cells are checked as one module (:mod:`recode_lsp.engine.notebook`) by the
same worker code as a ``.py`` file (:func:`recode_lsp.cli.runner.process_data`); findings are
moved to their cell and line, and the fixed module's cells are written back into the JSON
(only the changed cells' sources change). The write itself is the modules' one
(:mod:`recode_lsp.cli.writes`: no symlink out of the project, nothing changed since read).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from recode_lsp.cli.runner import FileResult, Record

if TYPE_CHECKING:
    from recode_lsp.cli.report import FileDiff
    from recode_lsp.engine.notebook import VirtualModule

#: What a notebook's name ends with (``recode_lsp.engine.notebook.NOTEBOOK_SUFFIX``; that module and
#: ``difflib`` are imported where a notebook is read: every report imports this one, issue 15).
NOTEBOOK_SUFFIX = ".ipynb"


@dataclass(frozen=True)
class NotebookRecord(Record):
    """A finding in a notebook: ``line``/``end_line`` count in cell ``cell`` (1-based, all cells counted)."""

    cell: int = 0


@dataclass
class NotebookResult(FileResult):
    """A notebook's result: also the code cells left unchecked, as (1-based cell, why)."""

    unchecked_cells: list[tuple[int, str]] = field(default_factory=list)


def cell_notes(result: FileResult) -> list[tuple[int, str]]:
    """The notes on ``result``'s unchecked cells: (1-based cell, message); none for a ``.py`` file."""
    cells = result.unchecked_cells if isinstance(result, NotebookResult) else []
    return [(cell, f"cell not checked: {why} (even with IPython syntax masked)") for cell, why in cells]


def is_notebook(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


def _in_cell(record: Record, module: VirtualModule) -> NotebookRecord | None:
    start = module.locate(record.line - 1)
    if start is None:
        return None
    end = module.locate(record.end_line - 1)
    cell, line = start
    # A range that ends past its cell (never expected: cells are whole statements) ends with the line.
    end_line, end_column = (end[1] + 1, record.end_column) if end is not None and end[0] == cell else (line + 1, 10**6)
    values = dict(vars(record))
    values.update(line=line + 1, end_line=end_line, end_column=end_column, cell=cell + 1)
    return NotebookRecord(**values)


def _moved(records: Iterable[Record], module: VirtualModule) -> list[NotebookRecord]:
    moved = (_in_cell(record, module) for record in records)
    return [record for record in moved if record is not None]


def process_notebook(path_text: str, data: bytes) -> NotebookResult:
    """Check (and in diff/apply mode fix) the notebook ``data``; never raises for bad input."""
    from recode_lsp.cli.runner import process_data
    from recode_lsp.engine.notebook import NOT_PYTHON, NotebookError, build_module, parse_notebook

    result = NotebookResult(path_text)
    from recode_lsp.engine.digest import digest

    result.read_digest = digest(data)
    try:
        notebook = parse_notebook(data)
        module = build_module(notebook)
    except NotebookError as exc:
        result.error = str(exc)
        return result
    except RecursionError:
        result.error = "too deeply nested to read"
        return result
    result.unchecked_cells = [(index + 1, why) for index, why in sorted(module.skipped.items()) if why == NOT_PYTHON]
    inner = process_data(path_text, module.text.encode("utf-8"), as_module=True)
    result.skipped_by_prefilter = inner.skipped_by_prefilter
    if inner.error is not None:
        result.error = f"{inner.error} (in the notebook's code cells read as one module)"
        return result
    result.records = list(_moved(inner.records, module))
    result.fixed = list(_moved(inner.fixed, module))
    result.not_fixed = [(moved, reason) for record, reason in inner.not_fixed if (moved := _in_cell(record, module))]
    if inner.new_text is None:
        return result
    try:
        text = notebook.with_sources(module.cell_sources(inner.new_text))
    except NotebookError as exc:
        result.not_fixed += [(record, f"not written: {exc}") for record in result.fixed]
        result.fixed = []
        return result
    if text != notebook.text:
        result.original_text = notebook.text
        result.new_text = text
        result.new_bytes = notebook.encode(text)
    return result


def notebook_diff(result: FileResult, root: Path) -> FileDiff | str | None:
    """The fixed cells as unified diffs of their sources (``--- a/NB.ipynb:cell 3``), as ruff shows them.

    Not a patch ``git apply`` takes (a notebook's JSON is not line-shaped); a readable one.
    """
    import difflib

    from recode_lsp.cli.report import FileDiff, relative
    from recode_lsp.engine.digest import digest
    from recode_lsp.engine.notebook import NotebookError, parse_notebook

    if result.new_bytes is None or result.new_text is None:
        return None
    try:
        original = Path(result.path).read_bytes()
    except OSError as exc:
        return f"cannot read it again for the diff: {exc}"
    if result.read_digest is not None and digest(original) != result.read_digest:
        return "the file changed during the run; run again"
    try:
        before, after = parse_notebook(original), parse_notebook(result.new_text)
    except NotebookError as exc:
        return f"cannot read it again for the diff: {exc}"
    name = relative(result.path, root)
    chunks: list[str] = []
    for old, new in zip(before.cells, after.cells, strict=True):
        if old.source == new.source:
            continue
        label = f"{name}:cell {old.index + 1}"
        lines = difflib.unified_diff(
            _diff_lines(old.source), _diff_lines(new.source), f"a/{label}", f"b/{label}", lineterm="\n"
        )
        chunks.extend(lines)
    if not chunks:
        return None
    return FileDiff(name, "".join(chunks).encode("utf-8"), "utf-8")


def _diff_lines(source: str) -> list[str]:
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of cell\n"
    return lines


def hold_back(results: Sequence[FileResult], reason: str) -> None:
    """Leave the notebooks among ``results`` unfixed, saying why (``--test``, model fixes)."""
    from recode_lsp.cli.writes import not_written

    for result in results:
        if is_notebook(result.path) and result.new_bytes is not None:
            not_written(result, reason)
