"""Detection on a chunk of a module: some top-level statements, analysed in the environment
the rest of the module gives them, find what detection on the whole module finds there."""

from __future__ import annotations

import ast
import textwrap
from collections import Counter

import pytest

from recode_lsp.engine import DetectOptions, load_knowledge_base
from recode_lsp.engine.analysis import Binding, Environment, LocalClass, ModuleAnalysis, class_key_name
from recode_lsp.engine.detector import analyse, detect, detect_chunk
from recode_lsp.engine.knowledge import KnowledgeBase
from recode_lsp.engine.model import Finding
from recode_lsp.engine.versions import Version

TARGETS = {"numpy": Version("2.0"), "pandas": Version("2.0"), "python": Version("3.12")}

MODULE = textwrap.dedent(
    '''\
    """A legacy module: é and 😀 on the first line."""
    from __future__ import annotations

    from typing import Dict, List, Optional

    import numpy as np
    import pandas as pd

    try:
        import scipy
    except ImportError:
        scipy = None

    LIMIT = 10
    ALIAS = np.float_
    frame = pd.DataFrame({"a": [1]})
    values = [np.product(v) for v in range(3)]
    if (total := np.cumproduct([1, 2])) is not None:
        pass


    def compute(values: List[float], extra: Optional[Dict[str, int]] = None) -> float:
        arr = np.asfarray(values)
        df = pd.read_csv("x")
        for name, col in df.iteritems():
            arr = arr + np.float_(1)  # recode: ignore[NPY023]
        return float(np.product(arr)) + LIMIT + ALIAS(1)


    class Frame(pd.DataFrame):
        def iteritems(self):
            return super().items()


    class Plain(Frame):
        pass


    class Holder(object):
        data: Dict[str, List[int]] = {}
        kind = np.float_

        class Inner:
            def get(self) -> "Holder":
                return Holder()

        @staticmethod
        def make(x) -> List[int]:
            return [np.round_(x)]

        def frames(self):
            plain = Plain()
            for k, v in plain.iteritems():
                yield k, v, frame.iteritems(), total
            return self.make(np.NaN)


    class Holder(Holder):
        other = np.Inf


    @property
    def decorated(x): y = np.float_(x); return y


    a = 1; b = np.NaN
    late = pd.read_csv("y")


    def uses_late():
        return late.iteritems(), np.in1d([1], [2])
    '''
)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def _lines(node: ast.stmt) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    return first - 1, (node.end_lineno or node.lineno) - 1


def _environment(whole: ModuleAnalysis, start: int, end: int, first: int, last: int) -> Environment:
    """The environment of the chunk ``[start, end]`` (lines ``first``..``last``), from the whole module."""
    environment = Environment()
    for name, found in whole.module_scope.bindings.items():
        for binding in found:
            if start <= binding.offset <= end:
                continue
            node_offset = whole.lines.node_span(binding.node)[0] if binding.kind.startswith("import") else None
            fact = Binding(
                name, binding.qname, binding.kind, binding.offset, binding.type_qname, node_offset=node_offset
            )
            side = environment.before if binding.offset < start else environment.after
            side.setdefault(name, []).append(fact)
    for key, local in whole.classes.items():
        line = local.node.lineno - 1
        if line < first:
            environment.classes_before[key] = local
            environment.class_counts[class_key_name(key)] += 1
        elif line > last:
            environment.classes_after[key] = local
    return environment


def _chunk_findings(kb: KnowledgeBase, source: str, whole: ModuleAnalysis, low: int, high: int) -> list[Finding]:
    """Detection on the top-level statements ``low:high`` alone, in their environment."""
    statements = whole.tree.body[low:high]
    first, last = _lines(statements[0])[0], _lines(statements[-1])[1]
    starts = whole.lines.line_starts
    start = starts[first]
    end = starts[last + 1] - 1 if last + 1 < len(starts) else len(source)
    chunk = source[start:end]
    tree = ast.parse("\n" * first + chunk)
    environment = _environment(whole, start, end, first, last)
    analysis = ModuleAnalysis(tree, source, environment=environment, lines=whole.lines)
    return detect_chunk(analysis, kb, DetectOptions(targets=TARGETS), "m.py", chunk, first)


def _with_details(findings: list[Finding]) -> list[tuple[Finding, object]]:
    return [(finding, finding.details) for finding in findings]


def test_every_run_of_statements_finds_what_the_whole_module_finds_there(kb: KnowledgeBase) -> None:
    whole = analyse(MODULE, "m.py")
    full = detect(MODULE, kb, DetectOptions(targets=TARGETS), "m.py", analysis=whole)
    assert len(full) > 20
    body = whole.tree.body
    for low in range(len(body)):
        for high in (low + 1, min(len(body), low + 3)):
            first, last = _lines(body[low])[0], _lines(body[high - 1])[1]
            expected = [f for f in full if first <= f.range.start.line <= last]
            got = _chunk_findings(kb, MODULE, whole, low, high)
            assert _with_details(got) == _with_details(expected), ast.unparse(body[low])[:60]


def test_the_environment_is_what_makes_the_difference(kb: KnowledgeBase) -> None:
    whole = analyse(MODULE, "m.py")
    index = next(i for i, node in enumerate(whole.tree.body) if getattr(node, "name", "") == "uses_late")
    node = whole.tree.body[index]
    first, last = _lines(node)
    starts = whole.lines.line_starts
    chunk = MODULE[starts[first] : starts[last + 1] - 1]
    alone = ModuleAnalysis(ast.parse("\n" * first + chunk), MODULE, lines=whole.lines)
    without = detect_chunk(alone, kb, DetectOptions(targets=TARGETS), "m.py", chunk, first)
    assert without == []  # neither ``np`` nor ``late`` means anything on its own
    with_environment = _chunk_findings(kb, MODULE, whole, index, index + 1)
    assert sorted(f.code for f in with_environment) == ["NPY067", "PD003"]


def test_later_bindings_are_seen_by_functions_only_after_the_walk(kb: KnowledgeBase) -> None:
    # While the module is walked a function body sees the names bound so far; the detector,
    # afterwards, sees the module's final state: ``late`` is a DataFrame in ``uses_late``.
    source = "import pandas as pd\n\ndef f():\n    return late.iteritems()\n\nlate = pd.read_csv('y')\n"
    whole = analyse(source)
    assert [f.code for f in detect(source, kb, DetectOptions(targets=TARGETS), "m.py", analysis=whole)] == ["PD003"]
    assert [f.code for f in _chunk_findings(kb, source, whole, 1, 2)] == ["PD003"]


def test_local_class_keys_count_classes_of_a_name_not_lines() -> None:
    whole = analyse(MODULE)
    keys = sorted(whole.classes)
    assert keys == [
        "<local>.Frame#1",
        "<local>.Holder#1",
        "<local>.Holder#2",
        "<local>.Holder.Inner#1",
        "<local>.Plain#1",
    ]
    moved = analyse("\n\n# three lines above\n" + MODULE)
    assert sorted(moved.classes) == keys
    assert moved.classes["<local>.Plain#1"].bases == ["<local>.Frame#1", "pandas.DataFrame"]
    second = moved.classes["<local>.Holder#2"]
    assert (
        second.bases == ["<local>.Holder#1"]
        and second.node.lineno == whole.classes["<local>.Holder#2"].node.lineno + 3
    )


def test_class_table_lookups_see_the_environment_iteration_does_not() -> None:
    whole = analyse(MODULE)
    environment = Environment(
        before={"Frame": [Binding("Frame", "<local>.Frame#1", "class", 0)]},
        classes_before={key: local for key, local in whole.classes.items() if key.startswith("<local>.Frame")},
        class_counts=Counter({"Frame": 1}),
    )
    chunk = "class Frame(Frame):\n    pass\n"
    analysis = ModuleAnalysis(ast.parse(chunk), chunk, environment=environment)
    assert list(analysis.classes) == ["<local>.Frame#2"]  # the chunk's own
    assert "<local>.Frame#1" in analysis.classes
    inherited = analysis.classes.get("<local>.Frame#1")
    assert isinstance(inherited, LocalClass) and inherited.bases == ["pandas.DataFrame"]
    assert analysis.classes["<local>.Frame#2"].bases == ["<local>.Frame#1", "pandas.DataFrame"]
    assert analysis.classes.get("<local>.Missing#1") is None


def test_detection_stops_when_asked(kb: KnowledgeBase) -> None:
    class Stop(Exception):
        pass

    def stop() -> None:
        raise Stop

    with pytest.raises(Stop):
        detect(MODULE, kb, DetectOptions(targets=TARGETS), check=stop)
