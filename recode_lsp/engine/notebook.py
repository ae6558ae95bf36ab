"""Jupyter notebooks (``.ipynb``, nbformat 4) as one virtual Python module, and back.

The code cells, in order, become one module, so an import in an early cell binds its names in
the later ones (as running the notebook top to bottom does). IPython syntax that is not Python
(``%timeit``, ``!pip``, ``x = !ls``, ``obj?``, a ``%%bash`` cell) is masked: a line becomes a
comment (``pass`` plus a comment inside a block), a cell in another language is left out. A
masked line carries a token and is put back as it was, so a fix never rewrites it.

Writing back edits only the changed cells' ``source`` values in the original JSON text: every
other byte (metadata, outputs, key order, indentation, escaping, trailing newline) stays as it
was, and within a changed cell an unchanged line keeps its original JSON spelling.

No LSP or CLI imports here: the command line and the language server both build on it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]

__all__ = [
    "NOTEBOOK_SUFFIX",
    "NOT_PYTHON",
    "CellSource",
    "Notebook",
    "NotebookError",
    "VirtualModule",
    "build_module",
    "notebook_of_cells",
    "parse_notebook",
]

NOTEBOOK_SUFFIX = ".ipynb"

#: Why a code cell is left out of the module when it meant to be Python and is not (a user hears of
#: it); a cell magic or another language's cell is left out by design.
NOT_PYTHON = "not valid Python"

#: Cell magics whose body is Python: only the ``%%`` line is masked, the body is checked.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "mprun", "pypy", "python"})

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")
#: A line IPython transforms and Python cannot parse: a shell escape, a line magic, help
#: (``?obj``, ``obj?``, ``obj??``) or an assignment from one (``x = !ls``, ``y = %env``).
_MAGIC_LINE = re.compile(
    r"[ \t]*(?:[!%?]|[A-Za-z_][\w.]*\?\??[ \t]*$|[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*[!%])"
)
_NON_ASCII_ESCAPE = re.compile(
    r"(?<!\\)\\u(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})"
)


class NotebookError(ValueError):
    """Not a notebook this tool reads or writes (the message says why); the file is left untouched."""


@dataclass
class CellSource:
    """One cell of the notebook and where its ``source`` value sits in the JSON text."""

    index: int
    cell_type: str
    source: str
    #: Offsets of the ``source`` value (a string or an array of strings) in the JSON text.
    start: int
    end: int
    #: For an array: each element's (start, end) offsets and decoded text; None for a string.
    elements: list[tuple[int, int, str]] | None
    #: Offset of the ``"source"`` key (its line's indentation is the cell's).
    key_start: int
    language: str | None = None


@dataclass
class Notebook:
    """A parsed notebook: the JSON text as read, its data, and each cell's source span."""

    text: str
    data: dict[str, object]
    cells: list[CellSource]
    bom: bool = False

    @functools.cached_property
    def ensure_ascii(self) -> bool:
        """Whether new JSON strings escape non-ASCII characters (as the file already does)."""
        if any(ord(ch) > 127 for ch in self.text):
            return False
        return _NON_ASCII_ESCAPE.search(self.text) is not None

    def with_sources(self, sources: dict[int, str]) -> str:
        """The JSON text with the ``source`` of each cell in ``sources`` (by cell index) replaced.

        Only those values' text changes. The result is checked to load as the same notebook
        with just those sources changed; :class:`NotebookError` otherwise (nothing written).
        """
        changed = {index: text for index, text in sources.items() if text != self.cells[index].source}
        if not changed:
            return self.text
        pieces: list[str] = []
        position = 0
        for index in sorted(changed):
            cell = self.cells[index]
            pieces.append(self.text[position : cell.start])
            pieces.append(self._value(cell, changed[index]))
            position = cell.end
        pieces.append(self.text[position:])
        text = "".join(pieces)
        self._check(text, changed)
        return text

    def encode(self, text: str) -> bytes:
        return ("\ufeff" if self.bom else "").encode("utf-8") + text.encode("utf-8")

    def _value(self, cell: CellSource, source: str) -> str:
        """``source`` as a JSON value in the layout of the cell's current one."""
        ensure_ascii = self.ensure_ascii
        if cell.elements is None:
            return json.dumps(source, ensure_ascii=ensure_ascii)
        lines = source.splitlines(keepends=True)  # nbformat's own split (nbformat.v4.rwbase)
        if not lines:
            return "[]"
        spelled = {decoded: self.text[start:end] for start, end, decoded in cell.elements}
        items = [spelled.get(line) or json.dumps(line, ensure_ascii=ensure_ascii) for line in lines]
        elements = cell.elements
        if elements:
            opening = self.text[cell.start + 1 : elements[0][0]]
            closing = self.text[elements[-1][1] : cell.end - 1]
            separator = self.text[elements[0][1] : elements[1][0]] if len(elements) > 1 else "," + opening
        else:  # "source": [] before: indent one step deeper than the key, as nbformat writes it
            newline = "\r\n" if "\r\n" in self.text else "\n"
            line_start = self.text.rfind("\n", 0, cell.key_start) + 1
            indent = self.text[line_start : cell.key_start]
            if line_start == 0 or indent.strip():
                opening, closing = "", ""  # compact JSON: no layout to follow
            else:
                step = _indent_step(self.text)
                opening, closing = newline + indent + step, newline + indent
            separator = "," + opening if opening else ","
        return "[" + opening + separator.join(items) + closing + "]"

    def _check(self, text: str, changed: dict[int, str]) -> None:
        try:
            data = json.loads(text)
        except ValueError as exc:  # a bug here, never the user's notebook: say so, write nothing
            raise NotebookError(f"internal error: the rewritten notebook is not valid JSON ({exc})") from None
        before = json.loads(self.text)
        cells_after, cells_before = data.get("cells"), before.get("cells")
        assert isinstance(cells_after, list) and isinstance(cells_before, list)
        for index, cell in enumerate(cells_after):
            if not isinstance(cell, dict) or "source" not in cell:
                continue
            source = cell.get("source")
            joined = "".join(source) if isinstance(source, list) else source
            if joined != changed.get(index, self.cells[index].source):
                raise NotebookError(f"internal error: cell {index + 1}'s rewritten source does not read back")
            cell["source"] = cells_before[index]["source"]
        if data != before:
            raise NotebookError("internal error: the rewrite changed more than cell sources")


def _indent_step(text: str) -> str:
    """The file's indentation unit: the indentation of its first key (nbformat writes 1 space)."""
    match = re.match(r"\ufeff?\{(\r?\n)([ \t]+)\"", text)
    return match[2] if match else " "


def _skip(text: str, position: int) -> int:
    match = _WS.match(text, position)
    assert match is not None
    return match.end()


def _value_end(text: str, position: int) -> int:
    """The offset after the JSON value starting at ``position`` (the text is valid JSON)."""
    char = text[position]
    if char == '"':
        return int(scanstring(text, position + 1)[1])
    if char in "{[":
        closer = "}" if char == "{" else "]"
        position = _skip(text, position + 1)
        if text[position] == closer:
            return position + 1
        while True:
            if char == "{":
                position = _skip(text, int(scanstring(text, position + 1)[1]))
                position = _skip(text, position + 1)  # the colon
            position = _skip(text, _value_end(text, position))
            if text[position] == closer:
                return position + 1
            position = _skip(text, position + 1)  # the comma
    match = _SCALAR.match(text, position)
    if match is None:
        raise NotebookError(f"not valid JSON at offset {position}")
    return match.end()


def _members(text: str, position: int) -> list[tuple[str, int, int, int]]:
    """The members of the JSON object at ``position``: (key, key offset, value start, value end)."""
    members: list[tuple[str, int, int, int]] = []
    position = _skip(text, position + 1)
    if text[position] == "}":
        return members
    while True:
        key, after = scanstring(text, position + 1)
        key_start = position
        position = _skip(text, _skip(text, after) + 1)
        end = _value_end(text, position)
        members.append((key, key_start, position, end))
        position = _skip(text, end)
        if text[position] == "}":
            return members
        position = _skip(text, position + 1)


def _elements(text: str, position: int) -> list[tuple[int, int]]:
    """The (start, end) offsets of the elements of the JSON array at ``position``."""
    elements: list[tuple[int, int]] = []
    position = _skip(text, position + 1)
    if text[position] == "]":
        return elements
    while True:
        end = _value_end(text, position)
        elements.append((position, end))
        position = _skip(text, end)
        if text[position] == "]":
            return elements
        position = _skip(text, position + 1)


def _language(metadata: object) -> str | None:
    """The kernel's language named in the notebook metadata, lower-cased (None: not said)."""
    if not isinstance(metadata, dict):
        return None
    for key, name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(name), str):
            return str(section[name]).lower()
    return None


def parse_notebook(data: bytes | str) -> Notebook:
    """Read an nbformat 4 notebook of a Python kernel; :class:`NotebookError` says why not."""
    bom = False
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotebookError(f"not UTF-8 text ({exc}); a notebook is UTF-8 JSON") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        bom, text = True, text[1:]
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise NotebookError(f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise NotebookError("not a notebook: the JSON is not an object")
    version = document.get("nbformat")
    if version != 4:
        if isinstance(version, int):
            raise NotebookError(
                f"nbformat {version} notebook: only nbformat 4 is read "
                "(convert it with `jupyter nbconvert --to notebook --nbformat 4`)"
            )
        raise NotebookError("not a notebook: no nbformat version")
    language = _language(document.get("metadata"))
    if language is not None and not language.startswith(("python", "ipython")):
        raise NotebookError(f"the notebook's kernel runs {language}, not Python")
    raw_cells = document.get("cells")
    if not isinstance(raw_cells, list):
        raise NotebookError("not a notebook: no list of cells")
    top = _skip(text, 0)
    cells_value = next(((start, end) for key, _, start, end in _members(text, top) if key == "cells"), None)
    assert cells_value is not None and text[cells_value[0]] == "["
    spans = _elements(text, cells_value[0])
    cells: list[CellSource] = []
    for index, (raw, (start, _)) in enumerate(zip(raw_cells, spans, strict=True)):
        if not isinstance(raw, dict) or not isinstance(raw.get("cell_type"), str):
            raise NotebookError(f"cell {index + 1} is not a notebook cell")
        source = raw.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            joined = "".join(source)
        elif isinstance(source, str):
            joined = source
        else:
            raise NotebookError(f"cell {index + 1}: source is not text")
        members = [m for m in _members(text, start) if m[0] == "source"]
        if not members:  # no source key at all: nothing to check or rewrite
            continue
        _, key_start, value_start, value_end = members[-1]  # json.loads keeps the last of duplicate keys
        elements = None
        if text[value_start] == "[":
            elements = [(s, e, json.loads(text[s:e])) for s, e in _elements(text, value_start)]
        metadata = raw.get("metadata")
        vscode = metadata.get("vscode") if isinstance(metadata, dict) else None
        cell_language = vscode.get("languageId") if isinstance(vscode, dict) else None
        cells.append(
            CellSource(
                index,
                raw["cell_type"],
                joined,
                value_start,
                value_end,
                elements,
                key_start,
                cell_language if isinstance(cell_language, str) else None,
            )
        )
    by_index = {cell.index: cell for cell in cells}
    # Cells without a "source" key are kept out of every rewrite; index them densely for with_sources.
    dense = [
        by_index.get(i) or CellSource(i, str(raw_cells[i].get("cell_type")), "", -1, -1, None, -1)
        for i in range(len(raw_cells))
    ]
    return Notebook(text, document, dense, bom)


def notebook_of_cells(cells: Sequence[tuple[str, str, str | None]]) -> Notebook:
    """A notebook an editor holds (LSP notebook documents): (cell type, source, language) per cell.

    It has no JSON text of its own: only :func:`build_module` and the cell sources are used.
    """
    text = json.dumps([source for _, source, _ in cells])  # what the module's nonce is derived from
    parts = [CellSource(i, kind, source, 0, 0, None, 0, language) for i, (kind, source, language) in enumerate(cells)]
    return Notebook(text, {}, parts)


# --- the virtual module ------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (ended by "\\n", "\\r\\n" or "\\r"), with their ends."""
    lines: list[str] = []
    pending = ""
    for piece in text.splitlines(keepends=True):
        pending += piece
        if pending.endswith(("\n", "\r")):
            lines.append(pending)
            pending = ""
    if pending:
        lines.append(pending)
    return lines


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _split_end(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


@dataclass
class VirtualModule:
    """The code cells of a notebook as one module, with the way back to the cells."""

    notebook: Notebook
    text: str
    #: Per module line (0-based): (cell index, line in the cell, 0-based); None for lines of ours.
    line_map: list[tuple[int, int] | None]
    #: Cells in the module, in order.
    cells: list[int]
    #: Cells left out, with why (another language, a non-Python cell magic, not valid Python).
    skipped: dict[int, str] = field(default_factory=dict)
    #: Masked lines: token -> (cell index, the original line without its end).
    masks: dict[int, tuple[int, str]] = field(default_factory=dict)
    nonce: str = ""

    def locate(self, line: int) -> tuple[int, int] | None:
        """(cell index, line in the cell), both 0-based, of module line ``line`` (0-based)."""
        return self.line_map[line] if 0 <= line < len(self.line_map) else None

    def cell_sources(self, module_text: str) -> dict[int, str]:
        """The cells' sources in ``module_text`` (this module after fixes): only the changed ones.

        Masked lines are put back as they were; :class:`NotebookError` when the module's cell
        boundaries or masked lines did not survive (nothing is written then).
        """
        header, marker = self._header(), self._marker_prefix()
        chunks: list[list[str]] = [[]]
        header_state = 0  # 1: the first header line was just seen, 2: both were
        for line in _lines(module_text):
            body, _ = _split_end(line)
            if header_state < 2 and body == header[header_state] and len(chunks) == 1:
                header_state += 1
                continue
            if header_state == 1:
                header_state = 2
            if body.startswith(marker):
                expected = f"{marker}{self.cells[len(chunks) - 1]}" if len(chunks) <= len(self.cells) else None
                if body != expected:
                    raise NotebookError("a fix moved a cell boundary; the notebook is left unchanged")
                chunks.append([])
                continue
            chunks[-1].append(line)
        if len(chunks) != len(self.cells) + 1 or any(line.strip() for line in chunks[-1]):
            raise NotebookError("a fix moved a cell boundary; the notebook is left unchanged")
        restored: dict[int, str] = {}
        seen: set[int] = set()
        mask = re.compile(rf"[ \t]*(?:pass  )?# recode-magic {self.nonce} ([0-9]+)")
        for cell_index, lines in zip(self.cells, chunks, strict=False):
            out = []
            for line in lines:
                body, end = _split_end(line)
                match = mask.fullmatch(body)
                if match is not None:
                    token = int(match[1])
                    if token in seen or self.masks.get(token, (None,))[0] != cell_index:
                        raise NotebookError("a fix moved a masked IPython line; the notebook is left unchanged")
                    seen.add(token)
                    line = self.masks[token][1] + end
                out.append(line)
            text = "".join(out)
            original = self.notebook.cells[cell_index].source
            if not original.endswith(("\n", "\r")) and text.endswith("\n"):
                text = text[:-1]  # the newline the module added after the cell's last line
            if text != original:
                restored[cell_index] = text
        if seen != set(self.masks):
            raise NotebookError("a fix removed a masked IPython line; the notebook is left unchanged")
        return restored

    def _header(self) -> tuple[str, str]:
        return (f"# recode-notebook {self.nonce}", "#")

    def _marker_prefix(self) -> str:
        return f"# recode-cell {self.nonce} "


def _mask_cell(source: str, cell_index: int, nonce: str, masks: dict[int, tuple[int, str]]) -> list[str] | None:
    """The cell's lines with IPython-only lines masked; None when it is still not Python."""
    lines = _lines(source)
    out: list[str] = []
    continuing = False
    masked: dict[int, tuple[int, str]] = {}
    first = True
    for line in lines:
        body, end = _split_end(line)
        magic = continuing or _MAGIC_LINE.match(body) is not None
        if first and body.startswith("%%"):
            name = body[2:].split(maxsplit=1)[0] if body[2:].strip() else ""
            if name not in PYTHON_CELL_MAGICS:
                return None
            magic = True
        first = False
        if not magic:
            out.append(line)
            continue
        token = len(masks) + len(masked)
        masked[token] = (cell_index, body)
        indent = body[: len(body) - len(body.lstrip(" \t"))] if not continuing else ""
        comment = f"# recode-magic {nonce} {token}"
        # A comment at the top level (a new import can go below it); ``pass`` inside a block.
        out.append(f"{indent}pass  {comment}{end or chr(10)}" if indent else f"{comment}{end or chr(10)}")
        continuing = body.endswith("\\")
    if not out or out == lines:
        return None
    if not _parses("".join(out)):
        return None
    masks.update(masked)
    return out


def build_module(notebook: Notebook) -> VirtualModule:
    """The code cells as one module: two header lines, then each cell and a boundary comment."""
    nonce = hashlib.sha256(notebook.text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    module = VirtualModule(notebook, "", [], [], nonce=nonce)
    header = module._header()
    pieces = [f"{header[0]}\n{header[1]}\n"]
    line_map: list[tuple[int, int] | None] = [None, None]
    for cell in notebook.cells:
        if cell.cell_type != "code" or cell.start < 0:
            continue
        if cell.language is not None and cell.language.lower() != "python":
            module.skipped[cell.index] = f"a {cell.language} cell"
            continue
        lines = _lines(cell.source)
        if not _parses(cell.source) or cell.source.lstrip().startswith("%%"):
            masked = _mask_cell(cell.source, cell.index, nonce, module.masks)
            if masked is None:
                first = cell.source.lstrip().split("\n", 1)[0]
                module.skipped[cell.index] = f"cell magic {first.split()[0]}" if first.startswith("%%") else NOT_PYTHON
                continue
            lines = masked
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += "\n"
        pieces.extend(lines)
        line_map.extend((cell.index, number) for number in range(len(lines)))
        pieces.append(f"{module._marker_prefix()}{cell.index}\n")
        line_map.append(None)
        module.cells.append(cell.index)
    module.text = "".join(pieces)
    module.line_map = line_map
    return module
