"""The cold check's cheaper name analysis and start-up (issue 15).

``recode_lsp.engine.analysis._BindingCollector`` walks every syntax tree once, by a table of
plain functions per node type that skips contexts and operators (a quarter of the nodes). What
must hold: every node type has a handler, the fields skipped hold only contexts and operators,
and the walk sees what it saw before, in the same order (pinned on a module that uses every kind
of binding). It also needs one Python frame per level of nesting instead of two, so a long
generated sum is analysed instead of being reported as too deeply nested.

``main._sized`` hands the sizes it takes to ``runner.run_files``, which orders the pool's work by
them without a second ``stat`` per file; the results do not depend on the order.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

from recode_lsp.cli.kb_subset import load_for
from recode_lsp.cli.main import _sized
from recode_lsp.cli.runner import RunSettings, init_worker, process_data, run_files
from recode_lsp.engine import analysis as analysis_module
from recode_lsp.engine.analysis import ModuleAnalysis
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import parse_target

MODULE = textwrap.dedent(
    """\
    import numpy as np
    from os import path as p


    @np.vectorize
    def f(a: np.ndarray = np.zeros(3), *rest: int, key=p.join("a", "b"), **kw) -> np.float64:
        x = y = np.asarray(a, dtype=np.float_)
        x, (z, *w) = np.linalg.eig(y)
        x += np.sum(y, axis=0)
        for i, j in enumerate(np.arange(3)):
            with open(p.join("a", i)) as fh, np.errstate(all="ignore"):
                w = [k * np.pi for k in range(j) if k > np.e]
        g = lambda v=np.nan: v + np.inf
        return {k: v for k, v in kw.items()}[x.shape[0]:np.newaxis]


    class C(np.ndarray, metaclass=type):
        attr: np.ndarray = np.empty(0)

        def method(self, other=None):
            try:
                return self.view(np.matrix) if other is not None else -np.NaN
            except (ValueError, np.AxisError) as err:
                raise RuntimeError(str(err)) from err


    match np.int_(1):
        case np.int_(real=r) if r > 0:
            pass
        case {"k": q, **rest}:
            pass
        case [first, *others]:
            print(f"{first!r:>{np.size(others)}}")
    """
)

#: line:column and the type's initial (Call, Attribute, Name) of each expression recorded, in order
#: (as the walk by ``ast.NodeVisitor`` recorded them before issue 15's change).
EXPRESSIONS = (
    "6:22C 6:22A 6:22N 6:51C 6:51A 6:51N 5:1A 5:1N 6:9A 6:9N 6:42N 6:78A 6:78N 7:12C 7:12A 7:12N 7:23N "
    "7:32A 7:32N 7:4N 7:8N 8:17C 8:17A 8:17A 8:17N 8:31N 8:4N 8:8N 8:12N 9:4N 9:9C 9:9A 9:9N 9:16N 10:16C "
    "10:16N 10:26C 10:26A 10:26N 11:13C 11:13N 11:18C 11:18A 11:18N 11:30N 11:41C 11:41A 11:41N 12:36C "
    "12:36N 12:42N 12:48N 12:52A 12:52N 12:17N 12:21A 12:21N 12:12N 13:17A 13:17N 13:25N 13:29A 13:29N "
    "13:4N 14:29C 14:29A 14:29N 14:12N 14:15N 14:41A 14:41N 14:52A 14:52N 17:8A 17:8N 17:30N 18:23C "
    "18:23A 18:23N 18:10A 18:10N 22:43N 22:19C 22:19A 22:19N 22:29A 22:29N 22:67A 22:67N 23:16N 23:28A "
    "23:28N 24:18C 24:18N 24:31C 24:31N 24:35N 24:46N 27:6C 27:6A 27:6N 28:9A 28:9N 28:28N 33:8C 33:8N "
    "33:17N 33:27C 33:27A 33:27N 33:35N"
)

#: Each scope's bindings: name:kind[=qualified name][/type], one per binding, in order.
BINDINGS = [
    (
        "module np:import=numpy p:import_from=os.path f:def C:class=<local>.C#1 r:other q:other rest:other "
        "first:other others:other"
    ),
    (
        "function a:param/numpy.ndarray key:param rest:param kw:param x:assign/numpy.ndarray,assign,other "
        "y:assign/numpy.ndarray z:assign w:assign,assign i:other j:other fh:other g:assign"
    ),
    "comprehension k:other",
    "function v:param",
    "comprehension k:other v:other",
    "class attr:assign/numpy.ndarray method:def",
    "function self:param/<local>.C#1 other:param err:other",
]


def _bindings(analysis: ModuleAnalysis) -> list[str]:
    scopes = [analysis.module_scope, *(scope for _, _, scope in analysis._scope_spans)]
    return [
        " ".join(
            [scope.kind]
            + [
                f"{name}:"
                + ",".join(
                    b.kind + (f"={b.qname}" if b.qname else "") + (f"/{b.type_qname}" if b.type_qname else "")
                    for b in found
                )
                for name, found in scope.bindings.items()
            ]
        )
        for scope in scopes
    ]


def test_the_walk_records_the_same_expressions_and_bindings_in_the_same_order() -> None:
    analysis = ModuleAnalysis(ast.parse(MODULE), MODULE, None)
    recorded = [f"{e.lineno}:{e.col_offset}{type(e).__name__[0]}" for e in analysis.expressions]
    assert " ".join(recorded) == EXPRESSIONS
    assert _bindings(analysis) == BINDINGS
    calls = [node for node in ast.walk(analysis.tree) if isinstance(node, ast.Call)]
    assert all(analysis.is_callee(call.func) is call for call in calls)


def test_every_node_type_has_a_handler() -> None:
    def classes(base: type) -> list[type]:
        subclasses: list[type] = base.__subclasses__()
        return [kind for sub in subclasses for kind in (sub, *classes(sub))]

    missing = [kind.__name__ for kind in classes(ast.AST) if kind not in analysis_module._DISPATCH]
    assert not missing


def test_the_fields_the_walk_skips_hold_only_contexts_and_operators() -> None:
    leaf_types = {"expr_context", "operator", "unaryop", "boolop", "cmpop"}
    checked = 0
    for name in dir(ast):
        kind = getattr(ast, name)
        if not (isinstance(kind, type) and issubclass(kind, ast.AST)) or not kind.__doc__:
            continue
        # The node's signature, as ``ast`` documents it: ``BinOp(expr left, operator op, expr right)``.
        signature = re.match(rf"{kind.__name__}\((.*)\)", kind.__doc__.splitlines()[0])
        if signature is None:
            continue
        for declared in signature.group(1).split(", "):
            field_type, _, field = declared.rpartition(" ")
            if field in analysis_module._LEAF_FIELDS:
                assert field_type.rstrip("*?") in leaf_types, (kind.__name__, declared)
                checked += 1
    assert checked >= 10  # the fields of BinOp, Compare, Name, Attribute...


def test_a_long_generated_sum_is_analysed_not_reported_as_too_deep() -> None:
    kb = load_for(["numpy"], [], [])
    options = DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])
    init_worker(kb, RunSettings("check", False, options))
    source = "import numpy as np\nx = " + " + ".join(["np.NaN"] * 600) + "\n"
    result = process_data("generated.py", source.encode())
    assert result.error is None
    assert len(result.records) == 600


def test_sizes_taken_once_order_the_pool_and_results_do_not_depend_on_it(tmp_path: Path) -> None:
    paths = []
    for index in range(40):
        path = tmp_path / f"m{index:02}.py"
        body = "import numpy as np\n" + "x = np.float_(1)\n" * (index % 7) + "y = 1\n" * index
        path.write_text(body)
        paths.append(str(path))
    (tmp_path / "big.py").write_text("x = 1\n" * 100)
    stats: dict[str, tuple[int, int]] = {}
    sizes: dict[str, int] = {}
    kept, skipped = _sized([*paths, str(tmp_path / "big.py")], 400, stats, sizes)
    assert kept == paths and list(skipped) == [str(tmp_path / "big.py")]
    assert sizes == {path: Path(path).stat().st_size for path in [*paths, str(tmp_path / "big.py")]}
    assert {path: size for path, (size, _) in stats.items()} == sizes

    kb = load_for(["numpy"], [], [])
    options = DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])
    settings = RunSettings("check", False, options)
    serial = run_files(paths, kb, settings, 1, None)
    pooled = run_files(paths, kb, settings, 2, None, sizes=sizes)
    # Sizes that lie (every file "empty", or some missing) change the order of the work only.
    reordered = run_files(paths, kb, settings, 2, None, sizes={path: 0 for path in paths[::2]})
    for results in (pooled, reordered):
        assert [r.path for r in results] == paths
        assert [(r.records, r.error) for r in results] == [(r.records, r.error) for r in serial]
    assert sum(len(r.records) for r in serial) == sum(index % 7 for index in range(40))
