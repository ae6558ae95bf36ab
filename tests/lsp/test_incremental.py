"""Incremental analysis: after any edit, the findings of only the changed top-level statements
(and of those using a name whose binding changed) are computed again, and they are exactly the
findings of the whole module analysed again. Diagnostics are built from them as plain JSON."""

from __future__ import annotations

import random
import textwrap
from typing import Any

import pytest
from lsprotocol import types

from recode_lsp.engine import DetectOptions, load_knowledge_base
from recode_lsp.engine import document as document_module
from recode_lsp.engine.document import AnalysisContext, DocumentAnalysis, finding_key
from recode_lsp.engine.fixer import one_site
from recode_lsp.engine.model import Finding
from recode_lsp.engine.versions import Version
from recode_lsp.server.server import create_server

from .conftest import Session

HEADER = textwrap.dedent(
    '''\
    """A legacy module: é and 😀 here."""
    from __future__ import annotations

    from typing import Dict, List, Optional

    import numpy as np
    import pandas as pd

    try:
        import scipy
    except ImportError:
        scipy = None

    ALIAS = np.float_
    frame = pd.DataFrame({"a": [1]})
    values = [np.product(v) for v in range(3)]
    if (total := np.cumproduct([1, 2])) is not None:
        pass


    class Frame(pd.DataFrame):
        def iteritems(self):
            return super().items()


    def early():
        return late.iteritems()  # bound at the end of the module

    '''
)

#: One block of the module, repeated with ``{i}`` numbered.
BLOCK = textwrap.dedent(
    """\

    LIMIT_{i} = {i} * 10


    def compute_{i}(values: List[float], extra: Optional[Dict[str, int]] = None) -> float:
        arr = np.asfarray(values)
        df = pd.read_csv("x")
        for name, col in df.iteritems():
            arr = arr + np.float_(1)  # recode: ignore[NPY023]
        return float(np.product(arr)) + LIMIT_{i} + ALIAS(1)


    class Holder{i}(object):
        data: Dict[str, List[int]] = {{}}
        kind = np.float_

        class Inner:
            def get(self) -> "Holder{i}":
                return Holder{i}()

        @staticmethod
        def make(x) -> List[int]:
            return [np.round_(x), "é😀", np.NaN]

        def frames(self):
            plain = Frame()
            for k, v in plain.iteritems():
                yield k, v, frame.iteritems(), total
            return self.make(np.Inf)


    @property
    def decorated_{i}(x): y = np.float_(x); return y
    a_{i} = 1; b_{i} = np.NaN
    """
)

FOOTER = textwrap.dedent(
    """\

    late = pd.read_csv("y")


    def uses_late():
        return late.iteritems(), np.in1d([1], [2])
    """
)


def module(blocks: int = 12) -> str:
    return HEADER + "".join(BLOCK.format(i=i) for i in range(blocks)) + FOOTER


#: Lines an edit may insert (indented like the line they go before).
SNIPPETS = [
    "x = np.float_(1)",
    "y = np.product(values)",
    "z = pd.read_csv('f').iteritems()",
    "w = frame",
    "v = late.iteritems()",
    "u = LIMIT_3 + 1",
    "pass",
    "# a comment",
    "",
    "q = np.in1d(a, b)  # recode: ignore",
    "frame = None",
    "late = 1",
]
#: Lines an edit may insert at the top level.
TOP_LEVEL = [
    "frame = pd.DataFrame()",
    "frame = 1",
    "LIMIT_2 = np.float_(2)",
    "import numpy as xp",
    "from numpy import float_",
    "late = None",
    "ALIAS = np.float64",
    "class Holder1(Frame):\n    pass",
    "class Frame(object):\n    iteritems = 1",
    "def uses_late():\n    return 1",
    "total = np.Inf",
    "# recode: ignore",
]
#: Replacements an edit may make (at a random occurrence).
REPLACEMENTS = [
    ("import numpy as np", "import numpy as xp"),
    ("import pandas as pd", "import polars as pd"),
    ("class Frame(pd.DataFrame)", "class Frame(object)"),
    ("def iteritems(self)", "def items(self)"),
    ("late = pd.read_csv", "late = pd.read_json"),
    ("np.float_", "np.float64"),
    ("np.float64", "np.float_"),
    ("List[", "list["),
    ("(object)", "(Frame)"),
    ("10", "20"),
    ("frame.iteritems()", "frame.items()"),
    ("\n\n\n", "\n"),
    ("return", "return 1 +"),
    ("):", ")"),  # a syntax error
    ('"""A legacy', '"""A\nlegacy'),
]


@pytest.fixture(scope="module")
def context() -> AnalysisContext:
    targets = {"numpy": Version("2.0"), "python": Version("3.12"), "pandas": Version("2.0")}
    return AnalysisContext(load_knowledge_base(), DetectOptions(targets=targets))


def exact(analysis: DocumentAnalysis) -> list[tuple[Finding, object]]:
    """Findings as compared here: every field, the fixer's site details too."""
    return [(finding, finding.details) for finding in analysis.findings]


def from_runs(analysis: DocumentAnalysis) -> list[tuple[str, int, int]]:
    """The findings as :meth:`DocumentAnalysis.finding_runs` gives them, moved into place."""
    found = []
    for findings, chars, lines in analysis.finding_runs():
        for finding in findings:
            start, end = finding.range.start, finding.range.end
            key = f"{finding.code}:{start.line + lines}:{start.column}:{end.line + lines}:{end.column}"
            found.append((key, finding.start_offset + chars, finding.end_offset + chars))
    return found


def random_edit(rng: random.Random, source: str) -> str:
    lines = source.splitlines(keepends=True)
    kind = rng.randrange(6)
    if kind == 0:  # a line inserted at the indentation of the line it goes before
        index = rng.randrange(len(lines))
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
        if not lines[index].strip():
            indent = ""
        lines.insert(index, f"{indent}{rng.choice(SNIPPETS)}\n")
    elif kind == 1:  # a top-level statement inserted before one
        starts = [i for i, line in enumerate(lines) if line[:1].isalpha() and not line.startswith(("else", "except"))]
        lines.insert(rng.choice(starts), rng.choice(TOP_LEVEL) + "\n")
    elif kind == 2:  # a line deleted
        del lines[rng.randrange(len(lines))]
    elif kind == 3:  # one character typed or deleted
        text = "".join(lines)
        offset = rng.randrange(len(text))
        if rng.random() < 0.5:
            return text[:offset] + rng.choice("abx_1(). :\n'#") + text[offset:]
        return text[:offset] + text[offset + 1 :]
    else:  # a replacement at one of its occurrences
        text = "".join(lines)
        old, new = rng.choice([pair for pair in REPLACEMENTS if pair[0] in text] or [("", "")])
        if not old:
            return text
        places = [i for i in range(len(text)) if text.startswith(old, i)]
        offset = rng.choice(places)
        return text[:offset] + new + text[offset + len(old) :]
    return "".join(lines)


@pytest.mark.parametrize(
    ("seed", "line_break"), [(1, "\n"), (2, "\n"), (3, "\n"), (4, "\r\n")], ids=["1", "2", "3", "crlf"]
)
def test_random_edits_give_what_the_whole_module_gives(context: AnalysisContext, seed: int, line_break: str) -> None:
    rng = random.Random(seed)
    source = module().replace("\n", line_break)
    last_good = DocumentAnalysis.run(source, "m.py", context)
    incremental = 0
    steps = 60
    for _ in range(steps):
        source = random_edit(rng, source)
        result = DocumentAnalysis.run(source, "m.py", context, previous=last_good)
        full = DocumentAnalysis.run(source, "m.py", context)
        assert result.error == full.error
        assert exact(result) == exact(full)
        assert from_runs(result) == [(finding_key(f), f.start_offset, f.end_offset) for f in full.findings]
        if result.ok:
            incremental += result.incremental
            last_good = result
        elif rng.random() < 0.7:
            source = last_good.source  # the user fixes the syntax error
    assert incremental > steps // 3  # the test exercised the incremental path


@pytest.mark.parametrize(
    ("old", "new", "reanalysed"),
    [
        pytest.param("    arr = np.asfarray(values)\n", "    arr = np.asfarray(values) + 1\n", 1, id="function-body"),
        pytest.param("    kind = np.float_\n", "    kind = np.float64\n", 1, id="class-body"),
        pytest.param("LIMIT_3 = 3 * 10", "LIMIT_3 = 3 * 20", 1, id="module-constant"),
        pytest.param("\nLIMIT_3 = 3 * 10\n", "\nLIMIT_3 = 3 * 10\n\n# two lines\n", 1, id="lines-added"),
        pytest.param("def compute_3(", "def compute_three(", 1, id="function-renamed"),
        pytest.param('late = pd.read_csv("y")', 'late = pd.read_json("y")', 1, id="same-binding-facts"),
        pytest.param('late = pd.read_csv("y")', "late = 1", 3, id="binding-changed"),
    ],
)
def test_only_the_changed_statements_are_analysed_again(
    context: AnalysisContext, monkeypatch: pytest.MonkeyPatch, old: str, new: str, reanalysed: int
) -> None:
    source = module()
    previous = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace(old, new, 1)
    assert edited != source
    chunks = analysed_chunks(monkeypatch)
    result = DocumentAnalysis.run(edited, "m.py", context, previous=previous)
    assert result.incremental
    assert len(chunks) == reanalysed
    assert sum(chunk.count("\n") + 1 for chunk in chunks) < edited.count("\n") // 3
    assert exact(result) == exact(DocumentAnalysis.run(edited, "m.py", context))


def analysed_chunks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts detection will run on (filled as it runs)."""
    chunks: list[str] = []
    detect_chunk = document_module.detect_chunk

    def recording(analysis: Any, kb: Any, options: Any, path: str, chunk: str, first_line: int) -> Any:
        chunks.append(chunk)
        return detect_chunk(analysis, kb, options, path, chunk, first_line)

    monkeypatch.setattr(document_module, "detect_chunk", recording)
    return chunks


BIG_CLASS = textwrap.dedent(
    '''\
    import numpy as np
    import pandas as pd
    from typing import List


    class Big(pd.DataFrame):
        """Most of a legacy module is often one class."""

        kind = np.float_
    {methods}
        @property
        def last(self) -> List[int]:
            return [np.product(self.values), self.iteritems(), Dict[str, int]]


    from typing import Dict


    def after(big: Big):
        return big.iteritems(), Dict
    '''
)
METHOD = """
    def method_{i}(self, x) -> List[float]:
        y = np.float_(x) + {i}
        for k, v in self.iteritems():
            y = y + np.in1d(v, [1])
        return [y]
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("y = np.float_(x) + 7", "y = np.float64(x) + 7", id="finding-removed"),
        pytest.param("y = np.float_(x) + 7", "y = np.float_(x) + 7\n        z = np.NaN", id="line-added"),
        pytest.param(
            "        return [y]\n\n    def method_8", "        return [y, np.Inf]\n\n    def method_8", id="last-line"
        ),
        pytest.param("return [np.product(self.values)", "return [np.cumproduct(self.values)", id="decorated"),
    ],
)
def test_an_edit_in_a_method_analyses_that_method_alone(
    context: AnalysisContext, monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    source = BIG_CLASS.format(methods="".join(METHOD.format(i=i) for i in range(40)))
    previous = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace(old, new, 1)
    assert edited != source
    chunks = analysed_chunks(monkeypatch)
    result = DocumentAnalysis.run(edited, "m.py", context, previous=previous)
    assert result.incremental
    (chunk,) = chunks
    assert chunk.count("for k, v in self.iteritems()") <= 1  # the other methods are stubs
    assert "def method_3(): pass" in chunk
    assert exact(result) == exact(DocumentAnalysis.run(edited, "m.py", context))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("y = np.float_(x) + 7", "class Local:\n            pass", id="a-local-class"),
        pytest.param(
            "        return [y]\n\n    def method_8",
            "        return [y]\n    assert np.float_\n\n    def method_8",
            id="dedent",
        ),
    ],
)
def test_a_method_edit_that_changes_more_analyses_its_class(
    context: AnalysisContext, monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    source = BIG_CLASS.format(methods="".join(METHOD.format(i=i) for i in range(10)))
    previous = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace(old, new, 1)
    chunks = analysed_chunks(monkeypatch)
    result = DocumentAnalysis.run(edited, "m.py", context, previous=previous)
    assert result.incremental
    assert len(chunks) == 1 and chunks[0].count("for k, v in self.iteritems()") == 10
    assert exact(result) == exact(DocumentAnalysis.run(edited, "m.py", context))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("    def iteritems(self):", "    def items(self):", id="member-of-a-class-with-bases"),
        pytest.param("    arr = np.asfarray(values)\n", "    global np\n", id="global"),
        pytest.param("import numpy as np", "import numpy as xp", id="binding-used-everywhere"),
        pytest.param("frame = pd.DataFrame(", "frame = pd.DataFrameX(", id="binding-used-in-many-places"),
    ],
)
def test_edits_whose_effect_is_not_local_analyse_the_whole_module(
    context: AnalysisContext, old: str, new: str
) -> None:
    source = module()
    previous = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace(old, new, 1)
    result = DocumentAnalysis.run(edited, "m.py", context, previous=previous)
    assert not result.incremental
    assert exact(result) == exact(DocumentAnalysis.run(edited, "m.py", context))


def test_an_edit_above_the_imports_moves_the_groups_that_point_at_them(context: AnalysisContext) -> None:
    source = module()
    previous = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace("A legacy module", "A legacy module,\nedited", 1)
    result = DocumentAnalysis.run(edited, "m.py", context, previous=previous)
    assert result.incremental
    groups = {f.group for f in result.findings if f.group}
    assert groups and groups == {f.group for f in DocumentAnalysis.run(edited, "m.py", context).findings if f.group}
    assert exact(result) == exact(DocumentAnalysis.run(edited, "m.py", context))


def test_fixes_on_an_incremental_analysis_are_the_whole_modules(context: AnalysisContext) -> None:
    source = module(4)
    previous = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace("    kind = np.float_\n", "    kind = np.float_\n    other = np.product\n", 1)
    result = DocumentAnalysis.run(edited, "m.py", context, previous=previous)
    full = DocumentAnalysis.run(edited, "m.py", context)
    assert result.incremental
    for finding in [f for f in result.findings if f.fixable][::7]:
        match = full.find(finding_key(finding))
        assert match is not None
        # A quick fix of a ``List`` use is that use alone (issue 13).
        alone = one_site(match) or match
        assert result.fix(finding).source == full._fix([alone], unsafe=True, check=lambda: None).source


def test_a_group_fix_of_hundreds_of_lines_gives_small_edits(context: AnalysisContext) -> None:
    source = module(30)
    analysis = DocumentAnalysis.run(source, "m.py", context)
    uses = [f for f in analysis.findings if f.code == "PY117"]  # typing.List: the import and every use
    assert len(uses) > 60
    # The group (a quick fix of one use is that use alone: issue 13; fix-all fixes groups).
    result = analysis._fix([uses[-1]], unsafe=True, check=lambda: None)
    assert result.changed and len(result.applied) == len(uses)
    assert "List[" not in result.source and "list[" in result.source
    assert all(edit.end - edit.start <= len("List") for edit in result.edits[1:])
    rebuilt = result.source
    for edit in sorted(result.edits, key=lambda e: e.start, reverse=True):
        source = source[: edit.start] + edit.text + source[edit.end :]
    assert source == rebuilt


# --- diagnostics --------------------------------------------------------------------------------


@pytest.mark.parametrize("code_description", [True, False])
def test_json_diagnostics_are_the_lsprotocol_ones_unstructured(
    context: AnalysisContext, code_description: bool
) -> None:
    server = create_server()
    server.client.code_description = code_description
    server.client.deprecated_tag = True
    source = module(3)
    previous = DocumentAnalysis.run(source, "m.py", context)
    edited = source.replace("LIMIT_1 = 1 * 10", "LIMIT_1 = (\n    1 * 10\n)", 1)  # moves the rest down
    analysis = DocumentAnalysis.run(edited, "m.py", context, previous=previous)
    assert analysis.incremental
    items, _ = server.diagnostics.items(analysis, 7)
    objects, _ = server.diagnostics.convert(analysis, 7)
    converter = server.protocol._converter
    assert items == [converter.unstructure(diagnostic) for diagnostic in objects]
    some = analysis.findings[5:9]
    picked = server.diagnostics.for_findings(analysis, 7, some)
    assert list(picked.values()) == objects[5:9] and list(picked) == [finding_key(f) for f in some]
    # After "é😀" the client's UTF-16 columns are one past the engine's code points.
    shifted = [item for item in items if item["range"]["start"]["character"] != int(item["data"]["key"].split(":")[2])]
    assert shifted and all(item["code"] == "NPY033" for item in shifted)


async def test_diagnostics_after_edits_of_every_kind_are_a_fresh_documents(session: Session) -> None:
    """Over stdio: after each edit, the diagnostics equal those of the same text opened anew."""
    (session.root / "pyproject.toml").write_text(
        '[tool.recode]\ntargets = ["numpy==2.0", "pandas==2.0", "python==3.12"]\n'
    )
    uri = session.open("dense.py", module(8))
    assert len(await session.diagnostics(uri)) > 100
    edits = [
        ("    arr = np.asfarray(values)\n", "    arr = np.asfarray(values)\n    extra = np.product(arr)\n"),
        ("    kind = np.float_\n", "    kind = np.float64\n"),
        ("LIMIT_5 = 5 * 10", "LIMIT_5 = (\n    5 * 10\n)"),
        ('late = pd.read_csv("y")', "late = 1"),
        ("import pandas as pd", "import pandas as pd\nimport numpy as xp"),
    ]
    for number, (old, new) in enumerate(edits):
        session.replace(uri, old, new)
        got = await session.diagnostics(uri)
        fresh = session.open(f"fresh_{number}.py", session.texts[uri])
        expected = await session.diagnostics(fresh)
        assert [_comparable(d) for d in got] == [_comparable(d) for d in expected]


def _comparable(diagnostic: types.Diagnostic) -> tuple[Any, ...]:
    data = dict(diagnostic.data)
    data.pop("version")
    return (diagnostic.range, diagnostic.message, diagnostic.code, diagnostic.severity, diagnostic.tags, data)


def test_the_size_of_a_large_document_is_measured_without_encoding_it_whole() -> None:
    from recode_lsp.server.documents import _SIZE_CHUNK, _utf8_size

    text = "é" * (_SIZE_CHUNK - 1) + "😀" + "x" * 10 + "\udcff"  # a character across the chunk boundary
    assert _utf8_size(text) == len(text.encode("utf-8", errors="surrogatepass"))
    assert _utf8_size("plain") == 5
