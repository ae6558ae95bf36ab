"""Unit tests of recode_lsp.engine.edits: minimal edits and positions in LSP encodings."""

from __future__ import annotations

import random

import pytest

from recode_lsp.engine.edits import UTF8, UTF16, UTF32, PositionMap, apply_text_edits, diff_edits, units
from recode_lsp.engine.model import TextEdit


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("a\n", "a\n", id="same"),
        pytest.param("", "x = 1\n", id="from-empty"),
        pytest.param("x = 1\n", "", id="to-empty"),
        pytest.param("a\nb\nc\n", "a\nB\nc\n", id="one-line"),
        pytest.param("a\nb\nc", "a\nb\nc\nd", id="no-final-newline"),
        pytest.param("a\r\nb\r\nc\r\n", "a\r\nbb\r\nc\r\n", id="crlf"),
        pytest.param("a\r\nb\r\n", "a\nb\r\n", id="crlf-to-lf"),
        pytest.param("a\rb\rc", "a\rx\rc", id="cr"),
        pytest.param("import numpy as np\nx = np.float_\n", "import numpy as np\nx = np.float64\n", id="rename"),
        pytest.param("é😀\nb\n", "é😀!\nb\n", id="astral"),
    ],
)
def test_diff_edits_round_trip(old: str, new: str) -> None:
    edits = diff_edits(old, new)
    assert apply_text_edits(old, edits) == new
    if old == new:
        assert edits == []


def test_rename_gives_one_small_edit() -> None:
    old = "import numpy as np\n" + "y = 1\n" * 100 + "x = np.float_(1)\n" + "z = 2\n" * 100
    new = old.replace("np.float_", "np.float64")
    edits = diff_edits(old, new)
    assert len(edits) == 1
    edit = edits[0]
    assert old[edit.start : edit.end] == "_"
    assert edit.text == "64"


def test_far_apart_changes_stay_separate_edits() -> None:
    old = "a = 1\n" + "pass\n" * 50 + "b = 2\n"
    new = "from x import y\na = 1\n" + "pass\n" * 50 + "b = 3\n"
    edits = diff_edits(old, new)
    assert len(edits) == 2
    assert apply_text_edits(old, edits) == new


def test_fixes_across_a_module_of_similar_lines_are_small_edits_in_linear_time() -> None:
    """difflib is quadratic on near-identical lines (4.6 s for these 8,000): the line diff is not,
    and where no line is unique it still matches the lines a fix left in place."""
    import time

    from recode_lsp.engine.line_diff import line_opcodes

    lines = [f"    x = x + {i % 10}  # filler\n" for i in range(8000)]
    changed = list(lines)
    for index, text in ((0, "    y = 1\n"), (4000, "    z = np.float64(x)\n"), (7999, "    y = 2\n")):
        changed[index] = text
    old, new = "".join(lines), "".join(changed)
    began = time.perf_counter()
    edits = diff_edits(old, new)
    assert time.perf_counter() - began < 1.0
    assert apply_text_edits(old, edits) == new
    assert len(edits) == 3 and all(len(edit.text) < 30 and edit.end - edit.start < 30 for edit in edits)
    opcodes = line_opcodes(lines[1:-1], changed[1:-1])
    assert [op for op in opcodes if op[0] != "equal"] == [("replace", 3999, 4000, 3999, 4000)]


def test_edit_never_splits_crlf() -> None:
    old = "a\r\nb\r\n"
    new = "a\r\nc\r\n"
    for edit in diff_edits(old, new):
        assert old[edit.start - 1 : edit.start + 1] != "\r\n"
        assert old[edit.end - 1 : edit.end + 1] != "\r\n"


def test_random_round_trips() -> None:
    rng = random.Random(4)
    alphabet = ["a", "b", "\n", "\r\n", "é", "😀", " ", "np.float_"]
    for _ in range(300):
        old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        new = list(old)
        for _ in range(rng.randint(0, 4)):
            position = rng.randint(0, len(new))
            new[position:position] = rng.choice(alphabet)
            if new and rng.random() < 0.5:
                del new[rng.randrange(len(new))]
        text = "".join(new)
        assert apply_text_edits(old, diff_edits(old, text)) == text


def test_units() -> None:
    assert units("abc", UTF16) == 3
    assert units("é", UTF8) == 2
    assert units("é", UTF16) == 1
    assert units("😀", UTF16) == 2
    assert units("😀", UTF8) == 4
    assert units("😀", UTF32) == 1
    with pytest.raises(ValueError):
        units("é", "latin-1")


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [(UTF8, (1, 6)), (UTF16, (1, 3)), (UTF32, (1, 2))],
)
def test_position_of_offset_after_astral_character(encoding: str, expected: tuple[int, int]) -> None:
    source = "x\né😀 = np.float_\n"
    positions = PositionMap(source)
    offset = source.index(" =")
    assert positions.position(offset, encoding) == expected
    assert positions.offset(*expected, encoding) == offset


def test_positions_with_every_line_break() -> None:
    source = "a\r\nbb\rccc\nd"
    positions = PositionMap(source)
    assert positions.line_count == 4
    assert [positions.line_text(n) for n in range(4)] == ["a", "bb", "ccc", "d"]
    assert positions.position(source.index("d")) == (3, 0)
    assert positions.position(source.index("ccc") + 1) == (2, 1)
    # Inside "\r\n": the end of the first line.
    assert positions.position(2) == (0, 1)
    assert positions.offset(1, 1) == source.index("bb") + 1


def test_offset_clamps_past_line_end_and_file_end() -> None:
    source = "ab\ncd\n"
    positions = PositionMap(source)
    assert positions.offset(0, 99) == 2
    assert positions.offset(99, 0) == len(source)
    assert positions.position(999) == (2, 0)


def test_columns_to_units_and_back() -> None:
    source = "s = '😀'; np.float_\n"
    positions = PositionMap(source)
    column = source.index("np")
    assert positions.to_units(0, column, UTF16) == column + 1
    assert positions.to_units(0, column, UTF8) == column + 3
    assert positions.from_units(0, column + 1, UTF16) == column
    assert positions.from_units(0, column + 3, UTF8) == column


def test_apply_text_edits_rejects_overlap() -> None:
    with pytest.raises(ValueError):
        apply_text_edits("abcdef", [TextEdit(0, 3, "x"), TextEdit(2, 4, "y")])


def test_matches_pygls_codec() -> None:
    """Our conversion agrees with pygls's own position codec for every offset."""
    from lsprotocol import types
    from pygls.workspace.position_codec import PositionCodec

    source = "héllo 😀 wörld\nx = '😀😀'\n\nlast"
    lines = source.splitlines(keepends=True)
    positions = PositionMap(source)
    for kind, encoding in (
        (types.PositionEncodingKind.Utf8, UTF8),
        (types.PositionEncodingKind.Utf16, UTF16),
        (types.PositionEncodingKind.Utf32, UTF32),
    ):
        codec = PositionCodec(encoding=kind)
        for offset in range(len(source) + 1):
            line, character = positions.position(offset, encoding)
            line_start = positions.line_starts[line]
            from pygls.workspace.position_codec import ServerTextPosition

            expected = codec.position_to_client_units(lines, ServerTextPosition(line, offset - line_start))
            assert (expected.line, expected.character) == (line, character)
