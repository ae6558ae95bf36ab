"""``recode_lsp.engine.notebook``: reading a notebook, its virtual module, writing cells back byte-faithfully."""

from __future__ import annotations

import ast
import json

import pytest

from recode_lsp.engine.notebook import NotebookError, build_module, parse_notebook


def code(source: object, **extra: object) -> dict[str, object]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source, **extra}


def notebook(cells: list[dict[str, object]], *, language: str = "python", **dump: object) -> str:
    document = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "K", "language": language, "name": "k"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    options: dict[str, object] = {"indent": 1, "ensure_ascii": False}
    options.update(dump)
    return json.dumps(document, **options) + "\n"  # type: ignore[arg-type]


# --- bad notebooks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"cells": [', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not an object"),
        (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "nbformat 3 notebook"),
        (notebook([code("x <- 1")], language="R").encode(), "kernel runs r, not Python"),
        (
            json.dumps({"nbformat": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": 3}]}).encode(),
            "not text",
        ),
    ],
)
def test_a_bad_notebook_is_a_typed_error(data: bytes, message: str) -> None:
    with pytest.raises(NotebookError, match=message):
        parse_notebook(data)


# --- the virtual module ----------------------------------------------------------------------------

MAGICS = [
    "%matplotlib inline\n",
    "import numpy as np\n",
    "!pip install numpy\n",
    "files = !ls\n",
    "x, y = %who_ls\n",
    "np.float_?\n",
    "?np.float_\n",
    "for i in range(2):\n",
    "    %time np.float_(i)\n",
    "!echo one \\\n",
    "   two\n",
    "z = np.float_(1)",
]


def test_magics_are_masked_and_never_rewritten() -> None:
    nb = parse_notebook(notebook([code(MAGICS), code("%%bash\necho np.float_\n"), code("%%time\nw = np.float_(2)\n")]))
    module = build_module(nb)
    ast.parse(module.text)  # the whole module is Python
    assert "%%bash" in module.skipped[1]
    assert module.cells == [0, 2]  # the bash cell is left out, the %%time body is checked
    assert "pip" not in module.text and "echo" not in module.text and "%" not in module.text
    assert "z = np.float_(1)" in module.text and "w = np.float_(2)" in module.text
    # Rewriting every line of the module that is not a mask changes no masked line.
    fixed = module.text.replace("np.float_", "np.float64")
    sources = module.cell_sources(fixed)
    assert sources[0] == "".join(MAGICS).replace("z = np.float_(1)", "z = np.float64(1)")
    assert sources[2] == "%%time\nw = np.float64(2)\n"
    assert module.cell_sources(module.text) == {}


def test_module_lines_map_to_cells() -> None:
    nb = parse_notebook(
        notebook(
            [
                code("import numpy as np\n"),
                {"cell_type": "markdown", "metadata": {}, "source": "# t"},
                code(["a = 1\n", "b = np.float_(1)"]),
            ]
        )
    )
    module = build_module(nb)
    lines = module.text.splitlines()
    where = next(number for number, line in enumerate(lines) if "np.float_" in line)
    assert module.locate(where) == (2, 1)  # cell index 2 (markdown counted), its second line
    assert module.locate(0) is None  # the module's own header line


def test_a_cell_that_is_not_python_is_left_out() -> None:
    nb = parse_notebook(notebook([code("def f(:\n"), code("x = 1\n", metadata={"vscode": {"languageId": "sql"}})]))
    module = build_module(nb)
    assert module.skipped == {0: "not valid Python", 1: "a sql cell"}
    assert module.cells == []


@pytest.mark.parametrize("broken", ["drop-boundary", "drop-mask", "move-mask"])
def test_a_fix_that_breaks_a_boundary_or_a_mask_is_refused(broken: str) -> None:
    nb = parse_notebook(notebook([code("!ls\nimport numpy as np\n"), code("y = 1\n")]))
    module = build_module(nb)
    lines = module.text.splitlines(keepends=True)
    boundary = next(i for i, line in enumerate(lines) if line.startswith("# recode-cell"))
    mask = next(i for i, line in enumerate(lines) if line.startswith("# recode-magic"))
    if broken == "drop-boundary":
        del lines[boundary]
    elif broken == "drop-mask":
        del lines[mask]
    else:
        lines.insert(boundary + 1, lines.pop(mask))
    with pytest.raises(NotebookError):
        module.cell_sources("".join(lines))


# --- writing back -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dump",
    [
        {"indent": 1, "ensure_ascii": False},
        {"indent": 2, "ensure_ascii": True},
        {"indent": None, "ensure_ascii": False},
        {"indent": 4, "ensure_ascii": False, "separators": (",", ": ")},
    ],
)
@pytest.mark.parametrize("as_list", [True, False])
def test_only_the_changed_source_changes(dump: dict[str, object], as_list: bool) -> None:
    first = "import numpy as np  # é\nx = np.float_(1)\n"
    second = "y = 2"
    cells = [
        code(
            first.splitlines(keepends=True) if as_list else first,
            outputs=[{"output_type": "stream", "name": "stdout", "text": ["ü\n"]}],
        ),
        code(second.splitlines(keepends=True) if as_list else second),
    ]
    text = notebook(cells, **dump)
    nb = parse_notebook(text)
    new = nb.with_sources({0: first.replace("float_", "float64"), 1: second})
    # Byte for byte: the old text with just that one JSON string replaced.
    old_line = json.dumps("x = np.float_(1)\n" if as_list else first, ensure_ascii=bool(dump["ensure_ascii"]))
    new_line = json.dumps(
        "x = np.float64(1)\n" if as_list else first.replace("float_", "float64"),
        ensure_ascii=bool(dump["ensure_ascii"]),
    )
    assert text.count(old_line) == 1
    assert new == text.replace(old_line, new_line)
    assert parse_notebook(new).with_sources({0: first}) == text


def test_an_unchanged_line_keeps_its_spelling_and_a_new_line_follows_the_layout() -> None:
    text = (
        '{\n "cells": [\n  {\n   "cell_type": "code",\n   "metadata": {},\n   "outputs": [],\n'
        '   "source": [\n    "s = \'\\u00e9\'\\n",\n    "x = 1"\n   ]\n  },\n'
        '  {\n   "cell_type": "code",\n   "metadata": {},\n   "outputs": [],\n   "source": []\n  }\n'
        ' ],\n "metadata": {},\n "nbformat": 4,\n "nbformat_minor": 2\n}'
    )
    nb = parse_notebook(text)
    assert nb.ensure_ascii  # the file escapes non-ASCII: new strings do too
    new = nb.with_sources({0: "s = 'é'\nx = 2\ny = 'ü'", 1: "import os\n"})
    assert '    "s = \'\\u00e9\'\\n",\n    "x = 2\\n",\n    "y = \'\\u00fc\'"\n   ]' in new
    assert '   "source": [\n    "import os\\n"\n   ]\n  }\n ],' in new
    assert not new.endswith("\n")  # no newline at the end before, none after
    assert json.loads(new)["cells"][1]["source"] == ["import os\n"]


def test_a_byte_order_mark_is_kept() -> None:
    text = notebook([code("x = 1\n")])
    nb = parse_notebook(b"\xef\xbb\xbf" + text.encode())
    assert nb.encode(nb.with_sources({0: "x = 2\n"})).startswith(b"\xef\xbb\xbf{")
