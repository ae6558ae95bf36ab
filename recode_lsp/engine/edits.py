"""Small text edits between two versions of a source, and positions in an editor's encoding.

An editor applies a fix as a list of text edits. Sending the whole new file as one edit
works, but it moves the cursor, breaks undo granularity and makes the client re-parse
everything, so :func:`diff_edits` computes the few edits that turn one source into the
other: a line diff (:func:`~recode_lsp.engine.line_diff.line_opcodes`, about linear where
:mod:`difflib` is quadratic on modules of similar lines) after the common head and tail are cut
off, hunks that touch merged, and each hunk trimmed to the characters that actually change.

Editors count columns differently from Python. The engine's columns are code points; the
Language Server Protocol counts UTF-16 code units unless the client offered another
encoding at start-up (``general.positionEncodings``: ``utf-8``, ``utf-16``, ``utf-32``),
and it breaks lines at ``\\n``, ``\\r\\n`` and ``\\r``. :class:`PositionMap` converts
between string offsets, code-point columns and such positions. Nothing here imports an LSP
library: positions are plain ``(line, character)`` tuples.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from functools import lru_cache

from recode_lsp.engine.line_diff import line_opcodes
from recode_lsp.engine.model import TextEdit

__all__ = [
    "ENCODINGS",
    "UTF8",
    "UTF16",
    "UTF32",
    "PositionMap",
    "apply_text_edits",
    "common_prefix_length",
    "common_suffix_length",
    "diff_edits",
    "units",
]

UTF8 = "utf-8"
UTF16 = "utf-16"
UTF32 = "utf-32"
ENCODINGS = (UTF8, UTF16, UTF32)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def units(text: str, encoding: str) -> int:
    """Length of ``text`` in the code units of ``encoding``."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF16:
        return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
    if encoding == UTF8:
        return len(text.encode("utf-8", errors="surrogatepass"))
    raise ValueError(f"unknown position encoding {encoding!r}")


def position_map(source: str) -> PositionMap:
    """The :class:`PositionMap` of ``source``, shared by the requests on one document version.

    Building one walks the whole text (~3 ms for 3,000 lines); code actions, diagnostics and
    hover on the same version reuse it. A ``str`` caches its hash, so the lookup is cheap.
    """
    return _position_map(source)


class PositionMap:
    """Offsets into one source string <-> LSP ``(line, character)`` positions.

    Lines break at ``\\n``, ``\\r\\n`` and ``\\r``, as the protocol says; ``character``
    counts code units of the encoding given to each call.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        if "\r" in source:
            self.line_starts = [0, *(match.end() for match in _LINE_BREAK.finditer(source))]
        else:
            starts = [0]
            position = source.find("\n")
            while position != -1:
                starts.append(position + 1)
                position = source.find("\n", position + 1)
            self.line_starts = starts
        self._ascii = source.isascii()

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_end(self, line: int) -> int:
        """Offset of the end of ``line``'s text (before its line break)."""
        if line + 1 < len(self.line_starts):
            end = self.line_starts[line + 1]
            if self.source[end - 2 : end] == "\r\n":
                return end - 2
            return end - 1
        return len(self.source)

    def line_text(self, line: int) -> str:
        """Text of ``line`` without its line break ('' past the end)."""
        if line < 0 or line >= len(self.line_starts):
            return ""
        return self.source[self.line_starts[line] : self.line_end(line)]

    def position(self, offset: int, encoding: str = UTF16) -> tuple[int, int]:
        """The ``(line, character)`` of ``offset`` (clamped to the source)."""
        offset = max(0, min(offset, len(self.source)))
        line = bisect.bisect_right(self.line_starts, offset) - 1
        start = self.line_starts[line]
        # An offset inside a "\r\n" pair belongs to the end of its line.
        offset = min(offset, max(start, self.line_end(line)))
        if self._ascii or encoding == UTF32:
            return line, offset - start
        return line, units(self.source[start:offset], encoding)

    def offset(self, line: int, character: int, encoding: str = UTF16) -> int:
        """Offset of an LSP position; a character past the line's end means its end."""
        if line < 0:
            return 0
        if line >= len(self.line_starts):
            return len(self.source)
        start = self.line_starts[line]
        end = self.line_end(line)
        if character <= 0:
            return start
        if self._ascii or encoding == UTF32:
            return min(start + character, end)
        counted = 0
        for index in range(start, end):
            if counted >= character:
                return index
            counted += units(self.source[index], encoding)
        return end

    def to_units(self, line: int, column: int, encoding: str = UTF16) -> int:
        """A code-point ``column`` on ``line`` as a character count in ``encoding``."""
        if self._ascii or encoding == UTF32:
            return column
        start = self.line_starts[line] if line < len(self.line_starts) else len(self.source)
        return units(self.source[start : start + column], encoding)

    def from_units(self, line: int, character: int, encoding: str = UTF16) -> int:
        """A character count in ``encoding`` on ``line`` as a code-point column."""
        if line >= len(self.line_starts):
            return 0
        return self.offset(line, character, encoding) - self.line_starts[line]

    def range(self, start: int, end: int, encoding: str = UTF16) -> tuple[tuple[int, int], tuple[int, int]]:
        """LSP start and end positions of the offsets ``[start, end)``."""
        return self.position(start, encoding), self.position(end, encoding)


def _split_lines(text: str) -> list[str]:
    """Lines with their breaks; joining them gives ``text`` back."""
    return text.splitlines(keepends=True)


def common_prefix_length(a: str, b: str) -> int:
    """Length of the longest common prefix (binary search over slice comparisons, in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def common_suffix_length(a: str, b: str, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit``."""
    low, high = 0, min(len(a), len(b), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle :] == b[len(b) - middle :]:
            low = middle
        else:
            high = middle - 1
    return low


def trim_edit(old: str, start: int, end: int, text: str) -> TextEdit:
    """Shrink the edit ``old[start:end] -> text`` to the characters that differ.

    A boundary never falls between the ``\\r`` and ``\\n`` of a line break, where an LSP
    position cannot point.
    """
    removed = old[start:end]
    prefix = common_prefix_length(removed, text)
    suffix = common_suffix_length(removed, text, min(len(removed), len(text)) - prefix)
    new_start = start + prefix
    new_end = end - suffix
    if prefix and old[new_start - 1 : new_start + 1] == "\r\n":
        prefix -= 1
        new_start -= 1
    if suffix and old[new_end - 1 : new_end + 1] == "\r\n":
        suffix -= 1
        new_end += 1
    return TextEdit(new_start, new_end, text[prefix : len(text) - suffix])


def diff_edits(old: str, new: str) -> list[TextEdit]:
    """Edits (offsets into ``old``, sorted, not overlapping) that turn ``old`` into ``new``.

    The result is line-based (hunks of whole lines, adjacent hunks merged) and each hunk is
    then trimmed to the characters that change, so renaming one name on one line gives one
    edit of that name.
    """
    if old == new:
        return []
    old_lines = _split_lines(old)
    new_lines = _split_lines(new)
    head = 0
    limit = min(len(old_lines), len(new_lines))
    while head < limit and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while tail < limit - head and old_lines[-1 - tail] == new_lines[-1 - tail]:
        tail += 1
    old_middle = old_lines[head : len(old_lines) - tail]
    new_middle = new_lines[head : len(new_lines) - tail]
    # Offsets of each old line, from the first differing one.
    offset = sum(len(line) for line in old_lines[:head])
    old_offsets = [offset]
    for line in old_middle:
        offset += len(line)
        old_offsets.append(offset)
    hunks: list[tuple[int, int, int, int]] = []
    # Not difflib: quadratic on a legacy module's many similar lines (seconds for one fix).
    for tag, i1, i2, j1, j2 in line_opcodes(old_middle, new_middle):
        if tag == "equal":
            continue
        if hunks and hunks[-1][1] == i1 and hunks[-1][3] == j1:
            previous = hunks.pop()
            hunks.append((previous[0], i2, previous[2], j2))
        else:
            hunks.append((i1, i2, j1, j2))
    edits = []
    for i1, i2, j1, j2 in hunks:
        text = "".join(new_middle[j1:j2])
        edits.append(trim_edit(old, old_offsets[i1], old_offsets[i2], text))
    return edits


def apply_text_edits(source: str, edits: Sequence[TextEdit]) -> str:
    """Apply sorted, non-overlapping edits to ``source``."""
    pieces: list[str] = []
    cursor = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < cursor:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        pieces.append(source[cursor : edit.start])
        pieces.append(edit.text)
        cursor = edit.end
    pieces.append(source[cursor:])
    return "".join(pieces)


@lru_cache(maxsize=16)
def _position_map(source: str) -> PositionMap:
    return PositionMap(source)
