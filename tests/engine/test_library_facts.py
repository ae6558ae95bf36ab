"""Library facts as data (issue 12): a library is its ``<library>.jsonl`` plus ``<library>.facts.json``.

The facts name the library (id prefix, display name, distribution, import names) and give the
analysis the types that member changes need: a factory's class (``plt.gca()`` -> ``Axes``), a
tuple of classes (``fig, ax = plt.subplots()``), a method's returned class, a library class's bases.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from recode_lsp.api_docs import distribution_of, top_package
from recode_lsp.engine import DetectOptions, detect
from recode_lsp.engine.changes import DISPLAY_NAMES
from recode_lsp.engine.facts import DATA_FOLDER, FactsError, all_library_facts, library_facts, parse_facts
from recode_lsp.engine.knowledge import KnowledgeBaseError, iter_jsonl, load_knowledge_base
from recode_lsp.engine.versions import Version
from tests.cli_process import run_migrate
from tests.conftest import make_kb

# --- a library added only as data files -------------------------------------------------------

ACME_ENTRY = {
    "id": "ACMEP001",
    "library": "acmeplot",
    "old": "acmeplot.axes.Axes.set_old_ticks",
    "kind": "rename",
    "scope": "member",
    "new": "acmeplot.axes.Axes.set_ticks",
    "deprecated_in": "2.0",
    "source": "acmeplot 2.0 release notes",
    "confidence": 0.9,
    "provenance": {"library": "acmeplot", "from": "1.0", "to": "2.0", "file": "acmeplot/axes.py", "line": 12},
}
ACME_FACTS = {
    "library": "acmeplot",
    "display_name": "AcmePlot",
    "id_prefix": "ACMEP",
    "distribution": "AcmePlot",
    "modules": ["acmeplot"],
    "factories": {
        "acmeplot.pyplot.gca": "acmeplot.axes.Axes",
        "acmeplot.pyplot.subplots": ["acmeplot.figure.Figure", "acmeplot.axes.Axes"],
    },
    "methods": {"acmeplot.figure.Figure.add_subplot": "acmeplot.axes.Axes"},
}
ACME_CODE = textwrap.dedent(
    """\
    import acmeplot.pyplot as plt

    ax = plt.gca()
    ax.set_old_ticks([1, 2])
    fig, ax2 = plt.subplots()
    ax2.set_old_ticks([3])
    fig.add_subplot(1, 1, 1).set_old_ticks([4])
    """
)


def _acme_project(root: Path, *, facts: bool) -> Path:
    (root / "kb").mkdir(parents=True)
    (root / "kb" / "acmeplot.jsonl").write_text(json.dumps(ACME_ENTRY) + "\n")
    if facts:
        (root / "kb" / "acmeplot.facts.json").write_text(json.dumps(ACME_FACTS))
    (root / "pyproject.toml").write_text(
        '[tool.recode]\ntargets = ["acmeplot==2.0"]\nextra-changes = ["kb/acmeplot.jsonl"]\nselect = ["ACMEP"]\n'
    )
    (root / "plots.py").write_text(ACME_CODE)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def test_a_library_added_as_data_files_is_detected_on_factory_typed_receivers(tmp_path: Path) -> None:
    root = _acme_project(tmp_path / "with_facts", facts=True)
    result = run_migrate("--format", "json", "--no-cache", "plots.py", cwd=root)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["code"], f["location"]["line"]) for f in findings] == [
        ("ACMEP001", 4),  # ax = plt.gca()
        ("ACMEP001", 6),  # fig, ax2 = plt.subplots()
        ("ACMEP001", 7),  # fig.add_subplot(...)
    ]
    # The display name comes from the facts file too.
    assert "is deprecated since AcmePlot 2.0" in findings[0]["message"]
    diff = run_migrate("--diff", "--no-cache", "plots.py", cwd=root).stdout
    assert "+ax.set_ticks([1, 2])" in diff and "+ax2.set_ticks([3])" in diff


def test_without_the_facts_file_the_receivers_are_unknown(tmp_path: Path) -> None:
    root = _acme_project(tmp_path / "no_facts", facts=False)
    result = run_migrate("--format", "json", "--no-cache", "plots.py", cwd=root)
    assert json.loads(result.stdout)["findings"] == []


def test_a_malformed_facts_file_names_itself(tmp_path: Path) -> None:
    root = _acme_project(tmp_path / "bad", facts=True)
    (root / "kb" / "acmeplot.facts.json").write_text(json.dumps({**ACME_FACTS, "factories": {"plt.gca": 3}}))
    result = run_migrate("plots.py", cwd=root)
    assert result.returncode == 2
    assert "acmeplot.facts.json" in result.stderr and "factories[plt.gca]" in result.stderr


# --- confidence and provenance -----------------------------------------------------------------


def test_confidence_and_provenance_are_kept_on_the_change(tmp_path: Path) -> None:
    path = tmp_path / "scraped.jsonl"
    path.write_text(json.dumps({**ACME_ENTRY, "id": "ACMEQ001"}) + "\n")
    change = load_knowledge_base([path]).by_id["ACMEQ001"]
    assert change.confidence == 0.9
    assert change.provenance == ACME_ENTRY["provenance"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"confidence": 1.5}, "confidence must be a number from 0 to 1"),
        ({"confidence": "high"}, "confidence must be a number from 0 to 1"),
        ({"provenance": "pip"}, "provenance must be an object"),
        ({"provenance": {"line": "12"}}, "provenance.line must be an integer"),
    ],
)
def test_bad_confidence_or_provenance_is_rejected(extra: dict[str, object], message: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=message):
        list(iter_jsonl(json.dumps({**ACME_ENTRY, **extra}), "x.jsonl"))


# --- the shipped facts -------------------------------------------------------------------------


def test_every_shipped_library_has_a_facts_file_and_uses_its_id_prefix() -> None:
    for path in sorted(DATA_FOLDER.glob("*.jsonl")):
        facts = library_facts(path.name.removesuffix(".jsonl"))
        assert facts is not None, f"{path.name} has no facts file"
        for change in iter_jsonl(path.read_text(encoding="utf-8"), path.name):
            assert change.library == facts.library, change.origin
            assert change.id.startswith(facts.id_prefix), change.origin


def test_names_and_distributions_come_from_the_facts() -> None:
    libraries = {facts.library for facts in all_library_facts()}
    paper = {"numpy", "pandas", "torch", "matplotlib", "scikit-learn", "scipy", "scrapy", "seaborn", "jax"}
    assert paper <= libraries
    assert top_package("scikit-learn") == "sklearn" and distribution_of("scikit-learn") == "scikit-learn"
    assert distribution_of("sqlalchemy") == "SQLAlchemy" and distribution_of("Scrapy") == "Scrapy"
    assert DISPLAY_NAMES["numpy"] == "NumPy" and DISPLAY_NAMES.get("torch") == "PyTorch"
    assert DISPLAY_NAMES.get("nosuchlib", "nosuchlib") == "nosuchlib"


def _member(change_id: str, library: str, old: str) -> dict[str, object]:
    return {"id": change_id, "library": library, "old": old, "kind": "removal", "scope": "member", "removed_in": "9.0"}


SHIPPED_TYPES = make_kb(
    [
        _member("MPL001", "matplotlib", "matplotlib.axes.Axes.old_axes_method"),
        _member("MPL002", "matplotlib", "matplotlib.figure.Figure.old_figure_method"),
        _member("TORCH001", "torch", "torch.Tensor.old_tensor_method"),
        _member("TORCH002", "torch", "torch.nn.Module.old_module_method"),
        _member("SKL001", "scikit-learn", "sklearn.base.BaseEstimator.old_estimator_method"),
        _member("SCIPY001", "scipy", "scipy.sparse.spmatrix.old_sparse_method"),
        _member("SNS001", "seaborn", "seaborn.FacetGrid.old_grid_method"),
        _member("JAX001", "jax", "jax.Array.old_array_method"),
        _member("SCRAPY001", "scrapy", "scrapy.Request.old_request_method"),
    ]
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.old_axes_method()\n", "MPL001"),
        ("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nfig.old_figure_method()\n", "MPL002"),
        ("import matplotlib.pyplot as plt\nax = plt.gca()\nax.old_axes_method()\n", "MPL001"),
        ("import matplotlib.pyplot as plt\nplt.figure().add_subplot(111).old_axes_method()\n", "MPL001"),
        ("import matplotlib.pyplot as plt\nax = plt.gca().twinx()\nax.old_axes_method()\n", "MPL001"),
        ("import torch\nt = torch.zeros(3).to('cpu')\nt.old_tensor_method()\n", "TORCH001"),
        ("from torch import nn\nm = nn.Linear(2, 2).eval()\nm.old_module_method()\n", "TORCH002"),
        (
            (
                "from sklearn.linear_model import LogisticRegression\n"
                "model = LogisticRegression().fit(X, y)\nmodel.old_estimator_method()\n"
            ),
            "SKL001",
        ),
        ("import scipy.sparse as sp\nm = sp.csr_matrix(a).tocsc()\nm.old_sparse_method()\n", "SCIPY001"),
        ("import seaborn as sns\ng = sns.catplot(data=df, x='a')\ng.old_grid_method()\n", "SNS001"),
        ("import jax.numpy as jnp\nx = jnp.array([1, 2])\nx.old_array_method()\n", "JAX001"),
        (
            (
                "import scrapy\nclass S(scrapy.Spider):\n    def parse(self, response: scrapy.http.TextResponse):\n"
                "        response.follow('/next').old_request_method()\n"
            ),
            "SCRAPY001",
        ),
    ],
)
def test_shipped_facts_type_receivers_for_member_changes(code: str, expected: str) -> None:
    assert [f.code for f in detect(code, SHIPPED_TYPES, DetectOptions())] == [expected]


def test_tuple_facts_need_matching_shapes() -> None:
    code = "import matplotlib.pyplot as plt\nfig, ax, extra = plt.subplots()\nax.old_axes_method()\n"
    assert detect(code, SHIPPED_TYPES, DetectOptions()) == []


def test_a_groupby_result_is_not_typed_as_the_groupby() -> None:
    """``returns_self_except``: ``gb.head()`` is a DataFrame, so its ``.dtypes`` is not the removed
    ``DataFrameGroupBy.dtypes``; ``gb.fillna`` itself still is the removed groupby method."""
    code = textwrap.dedent(
        """\
        import pandas as pd
        gb = pd.read_csv("x.csv").groupby("a")
        print(gb.head().dtypes, gb.rolling(3).mean().dtypes, gb.first().dtypes)
        print(gb.dtypes)
        gb.fillna(0)
        """
    )
    kb = load_knowledge_base()
    options = DetectOptions(targets={"pandas": Version("3.0")})
    found = [(f.range.start.line, f.change.old) for f in detect(code, kb, options)]
    assert found == [
        (3, "pandas.core.groupby.DataFrameGroupBy.dtypes"),
        (4, "pandas.core.groupby.DataFrameGroupBy.fillna"),
    ]


def test_a_member_of_a_deeper_base_is_found_when_a_nearer_class_has_other_entries() -> None:
    """``nn.Linear`` has its own entry; ``old_module_method`` is ``nn.Module``'s and must still be found."""
    kb = make_kb(
        [
            _member("TORCH001", "torch", "torch.nn.Linear.old_linear_method"),
            _member("TORCH002", "torch", "torch.nn.Module.old_module_method"),
        ]
    )
    code = "from torch import nn\nlayer = nn.Linear(2, 2)\nlayer.old_module_method()\nlayer.old_linear_method()\n"
    assert [f.code for f in detect(code, kb, DetectOptions())] == ["TORCH002", "TORCH001"]


def test_a_changed_default_is_not_reported_where_the_call_passes_the_keyword() -> None:
    code = textwrap.dedent(
        """\
        from scipy import stats
        import torch
        m = stats.mode(a)
        k = stats.mode(a, keepdims=True)
        w = torch.load("m.pt")
        v = torch.load("m.pt", weights_only=False)
        """
    )
    options = DetectOptions(targets={"scipy": Version("1.17"), "torch": Version("2.6")})
    found = [(f.range.start.line, f.change.old) for f in detect(code, load_knowledge_base(), options)]
    assert found == [(2, "scipy.stats.mode"), (4, "torch.load")]


ATTRIBUTE_TYPES = make_kb(
    [
        _member("PD001", "pandas", "pandas.Series.dt.old_accessor_member"),
        _member("PD002", "pandas", "pandas.Series.str.old_string_method"),
        _member("SCRAPY001", "scrapy", "scrapy.core.engine.ExecutionEngine.old_engine_method"),
    ]
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # ``attributes``: an accessor of a typed receiver, and a subscript with a string key (``items``).
        ("import pandas as pd\ns = pd.Series([1])\ns.dt.old_accessor_member\n", ["PD001"]),
        ("import pandas as pd\ndf = pd.read_csv('x.csv')\ndf['when'].dt.old_accessor_member\n", ["PD001"]),
        ("import pandas as pd\ndf = pd.read_csv('x.csv')\ndf['name'].str.old_string_method('a')\n", ["PD002"]),
        ("import pandas as pd\nidx = pd.Index(['a'])\nidx.str.old_string_method('a')\n", ["PD002"]),
        # An attribute on a local subclass of a library class (``self.crawler`` in a Spider).
        (
            (
                "import scrapy\nclass S(scrapy.Spider):\n    def parse(self, response):\n"
                "        self.crawler.engine.old_engine_method()\n"
            ),
            ["SCRAPY001"],
        ),
        # Not typed: a list key, an untyped receiver, an attribute the facts do not name.
        ("import pandas as pd\ndf = pd.read_csv('x.csv')\ndf[['a']].dt.old_accessor_member\n", []),
        ("def f(s):\n    s.dt.old_accessor_member\n", []),
        ("import pandas as pd\ns = pd.Series([1])\ns.values.old_accessor_member\n", []),
    ],
)
def test_facts_type_attributes_and_string_keyed_items(code: str, expected: list[str]) -> None:
    assert [f.code for f in detect(code, ATTRIBUTE_TYPES, DetectOptions())] == expected


def test_attribute_facts_must_name_a_class_member() -> None:
    with pytest.raises(FactsError, match="attributes key 'pandas.dt' must be module.Class.attribute"):
        parse_facts({"library": "pandas", "id_prefix": "PD", "attributes": {"pandas.dt": "pandas.X"}}, "f.json")
