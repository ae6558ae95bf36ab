"""Knowledge-base fixes as before/after source pairs, plus no-op and refusal cases."""

from __future__ import annotations

import textwrap

import pytest

from recode_lsp.engine import FixSafety
from tests.conftest import make_kb, migrate

KB = make_kb(
    [
        {
            "id": "NPY009",
            "library": "numpy",
            "old": "numpy.alltrue",
            "kind": "rename",
            "new": "numpy.all",
            "deprecated_in": "1.25",
            "removed_in": "2.0",
        },
        {
            "id": "NPY001",
            "library": "numpy",
            "old": "numpy.float_",
            "kind": "rename",
            "new": "numpy.float64",
            "removed_in": "2.0",
        },
        {
            "id": "NPY002",
            "library": "numpy",
            "old": "numpy.AxisError",
            "kind": "module_move",
            "new": "numpy.exceptions.AxisError",
            "removed_in": "2.0",
        },
        {
            "id": "NPY003",
            "library": "numpy",
            "old": "numpy.NINF",
            "kind": "removal_with_replacement",
            "replacement": "-numpy.inf",
            "template": "-{q:numpy.inf}",
            "fix": "safe",
            "removed_in": "2.0",
        },
        {
            "id": "NPY004",
            "library": "numpy",
            "old": "numpy.asfarray",
            "kind": "removal_with_replacement",
            "replacement": "numpy.asarray(a, dtype=float)",
            "template": "{q:numpy.asarray}({arg0}, dtype=float)",
            "template_on": "call",
            "fix": "unsafe",
            "removed_in": "2.0",
        },
        {
            "id": "NPY005",
            "library": "numpy",
            "old": "numpy.bool",
            "kind": "rename",
            "new": "bool",
            "deprecated_in": "1.20",
            "removed_in": "1.24",
        },
        {
            "id": "NPY006",
            "library": "numpy",
            "old": "numpy.in1d",
            "kind": "rename",
            "new": "numpy.isin",
            "deprecated_in": "2.0",
            "fix": "unsafe",
        },
        {"id": "NPY007", "library": "numpy", "old": "numpy.lookfor", "kind": "removal", "removed_in": "2.0"},
        {
            "id": "NPY008",
            "library": "numpy",
            "old": "numpy.ndarray.ptp",
            "scope": "member",
            "kind": "removal_with_replacement",
            "replacement": "numpy.ptp(arr)",
            "template": "{q:numpy.ptp}({recv})",
            "template_on": "call",
            "fix": "safe",
            "removed_in": "2.0",
        },
        {
            "id": "PD001",
            "library": "pandas",
            "old": "pandas.DataFrame.iteritems",
            "scope": "member",
            "kind": "rename",
            "new": "pandas.DataFrame.items",
            "deprecated_in": "1.5",
            "removed_in": "2.0",
        },
        {
            "id": "PD002",
            "library": "pandas",
            "old": "pandas.DataFrame.to_csv",
            "scope": "member",
            "kind": "keyword_rename",
            "old_keyword": "line_terminator",
            "new_keyword": "lineterminator",
            "deprecated_in": "1.5",
            "removed_in": "2.0",
        },
        {
            "id": "PY001",
            "library": "python",
            "old": "collections.Mapping",
            "kind": "module_move",
            "new": "collections.abc.Mapping",
            "deprecated_in": "3.3",
            "removed_in": "3.10",
        },
        {
            "id": "PY002",
            "library": "python",
            "old": "unittest.TestCase.assertEquals",
            "scope": "member",
            "kind": "rename",
            "new": "unittest.TestCase.assertEqual",
            "deprecated_in": "3.2",
            "removed_in": "3.12",
        },
        {
            "id": "PY003",
            "library": "python",
            "old": "typing.List",
            "kind": "rename",
            "new": "list",
            "deprecated_in": "3.9",
        },
    ]
)


def check(before: str, after: str, unsafe: bool = False) -> None:
    result = migrate(before, KB, unsafe=unsafe)
    assert result.source == textwrap.dedent(after)
    # Applying the fixes a second time changes nothing.
    assert migrate(result.source, KB, unsafe=unsafe, dedent=False).source == result.source


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "import numpy as np\nx = np.float_(1)\n",
            "import numpy as np\nx = np.float64(1)\n",
            id="rename-reuses-alias",
        ),
        pytest.param(
            "import numpy\nx = numpy.float_\n", "import numpy\nx = numpy.float64\n", id="rename-plain-import"
        ),
        pytest.param(
            "from numpy import float_, zeros\nx = float_(1) + zeros(2)\n",
            "from numpy import float64, zeros\nx = float64(1) + zeros(2)\n",
            id="rename-from-import-and-uses",
        ),
        pytest.param(
            "from numpy import float_ as F\nx = F(1)\n",
            "from numpy import float64 as F\nx = F(1)\n",
            id="rename-from-import-with-alias-keeps-uses",
        ),
        pytest.param(
            "from numpy import float_, float64\nx = float_(1)\n",
            "from numpy import float64\nx = float64(1)\n",
            id="rename-to-an-already-imported-name",
        ),
        pytest.param(
            '"""Doc."""\nimport numpy as np\n\ntry:\n    pass\nexcept np.AxisError:\n    pass\n',
            '"""Doc."""\nfrom numpy.exceptions import AxisError\n\ntry:\n    pass\nexcept AxisError:\n    pass\n',
            id="move-adds-import",
        ),
        pytest.param(
            "import numpy as np\nfrom numpy.exceptions import AxisError\nraise np.AxisError\n",
            "from numpy.exceptions import AxisError\nraise AxisError\n",
            id="move-reuses-existing-import-and-drops-unused-alias",
        ),
        pytest.param(
            "from collections import Mapping, OrderedDict\nclass M(Mapping):\n    pass\n",
            "from collections import OrderedDict\nfrom collections.abc import Mapping\nclass M(Mapping):\n    pass\n",
            id="move-from-import-splits-statement",
        ),
        pytest.param(
            "from collections import Mapping\nclass M(Mapping):\n    pass\n",
            "from collections.abc import Mapping\nclass M(Mapping):\n    pass\n",
            id="move-from-import-replaces-statement",
        ),
        pytest.param(
            "import collections\nisinstance(x, collections.Mapping)\n",
            "from collections.abc import Mapping\nisinstance(x, Mapping)\n",
            id="move-drops-import-that-became-unused",
        ),
        pytest.param(
            "import collections\nisinstance(x, collections.Mapping)\ncollections.OrderedDict()\n",
            "import collections\nfrom collections.abc import Mapping\n"
            "isinstance(x, Mapping)\ncollections.OrderedDict()\n",
            id="move-keeps-import-still-used",
        ),
        pytest.param("import numpy as np\nx = np.bool(1)\n", "x = bool(1)\n", id="rename-to-builtin"),
        pytest.param(
            "import numpy as np\nx = np.bool(np.zeros(1))\n",
            "import numpy as np\nx = bool(np.zeros(1))\n",
            id="builtin-keeps-used-alias",
        ),
        pytest.param(
            "from typing import List\nx: List[int] = []\n", "x: list[int] = []\n", id="from-import-to-builtin"
        ),
        pytest.param(
            "import numpy as np\ny = x * np.NINF\n", "import numpy as np\ny = x * (-np.inf)\n", id="template-expr"
        ),
        pytest.param(
            "import numpy as np\ny = np.NINF\n", "import numpy as np\ny = -np.inf\n", id="template-expr-bare"
        ),
        pytest.param(
            "import numpy as np\ny = np.NINF ** 2\n",
            "import numpy as np\ny = (-np.inf) ** 2\n",
            id="template-expr-parenthesised",
        ),
        pytest.param(
            "import numpy as np\ndef f(a: np.ndarray):\n    return a.ptp()\n",
            "import numpy as np\ndef f(a: np.ndarray):\n    return np.ptp(a)\n",
            id="member-template-call",
        ),
        pytest.param(
            "import pandas as pd\ndf = pd.read_csv('a')\nfor k, v in df.iteritems():\n    pass\n",
            "import pandas as pd\ndf = pd.read_csv('a')\nfor k, v in df.items():\n    pass\n",
            id="member-rename",
        ),
        pytest.param(
            "import pandas as pd\ndf = pd.DataFrame()\ndf.to_csv('x', line_terminator='\\n')\n",
            "import pandas as pd\ndf = pd.DataFrame()\ndf.to_csv('x', lineterminator='\\n')\n",
            id="keyword-rename",
        ),
        pytest.param(
            "import unittest\nclass T(unittest.TestCase):\n    def test(self):\n        self.assertEquals(1, 1)\n",
            "import unittest\nclass T(unittest.TestCase):\n    def test(self):\n        self.assertEqual(1, 1)\n",
            id="member-rename-on-self",
        ),
        pytest.param(
            "import numpy as np\r\nx = np.float_\r\n".replace("\r\n", "\n"),
            "import numpy as np\nx = np.float64\n",
            id="newline-style-is-the-cli's-job",
        ),
    ],
)
def test_safe_fixes(before, after):
    check(before, after)


def test_unsafe_fix_needs_opt_in():
    before = "import numpy as np\nnp.in1d(a, b)\nnp.asfarray(v)\n"
    result = migrate(before, KB)
    assert result.source == before
    assert [f.safety for f in result.findings] == [FixSafety.UNSAFE, FixSafety.UNSAFE]
    check(before, "import numpy as np\nnp.isin(a, b)\nnp.asarray(v, dtype=float)\n", unsafe=True)


def test_template_call_with_other_shape_is_display_only():
    before = "import numpy as np\nnp.asfarray(v, dtype=np.float32)\nf = np.asfarray\n"
    result = migrate(before, KB, unsafe=True)
    assert result.source == before
    assert [f.safety for f in result.findings] == [FixSafety.DISPLAY_ONLY, FixSafety.DISPLAY_ONLY]


def test_removal_without_replacement_is_display_only():
    before = "import numpy as np\nnp.lookfor('sum')\n"
    result = migrate(before, KB, unsafe=True)
    assert result.codes == ["NPY007"]
    assert result.findings[0].safety is FixSafety.DISPLAY_ONLY
    assert result.source == before


def test_no_op_when_nothing_is_found():
    before = "import numpy as np\nx = np.float64(1)  # np.float_\ns = 'np.float_'\n"
    result = migrate(before, KB, unsafe=True)
    assert result.findings == [] and result.source == before


def test_name_collision_falls_back_to_a_module_import():
    before = "import numpy as np\nAxisError = 3\ntry:\n    pass\nexcept np.AxisError:\n    pass\n"
    after = "import numpy.exceptions\nAxisError = 3\ntry:\n    pass\nexcept numpy.exceptions.AxisError:\n    pass\n"
    check(before, after)


def test_local_import_alias_is_reused_and_builtins_are_not_shadowed():
    before = "def f(x):\n    import numpy as np\n    return np.alltrue(x) and np.float_(1)\n"
    check(before, "def f(x):\n    import numpy as np\n    return np.all(x) and np.float64(1)\n")


def test_import_of_a_builtin_name_is_refused():
    before = "from numpy import alltrue\nalltrue([1])\n"
    result = migrate(before, KB)
    assert result.source == before
    assert "shadow the builtin `all`" in result.outcome.skipped[0][1]


def test_shadowed_builtin_is_refused():
    before = "import numpy as np\nbool = 1\nx = np.bool(1)\n"
    result = migrate(before, KB)
    assert result.source == before
    assert "shadowed" in result.outcome.skipped[0][1]


def test_comments_and_layout_survive():
    before = "import numpy as np  # numerics\n\n\n# keep me\nx = np.float_(1)  # cast\n"
    check(before, "import numpy as np  # numerics\n\n\n# keep me\nx = np.float64(1)  # cast\n")


def test_only_import_in_block_becomes_pass():
    before = "try:\n    from collections import Mapping\nexcept ImportError:\n    Mapping = dict\n"
    result = migrate(before, KB)
    assert result.source.startswith("try:\n    pass\nexcept ImportError:\n") or "collections.abc" in result.source
    compile(result.source, "<fixed>", "exec")


def test_a_suppressed_use_does_not_block_fixing_the_others():
    before = "import numpy as np\na = np.float_  # recode: ignore[NPY001]\nb = np.float_\n"
    check(before, "import numpy as np\na = np.float_  # recode: ignore[NPY001]\nb = np.float64\n")


def test_one_quick_fix_when_the_change_is_used_twice():
    from recode_lsp.engine import DetectOptions, analyse, detect, fix_and_validate

    source = "import numpy as np\na = np.float_\nb = np.float_\n"
    analysis = analyse(source)
    findings = detect(source, KB, DetectOptions(), analysis=analysis)
    outcome = fix_and_validate(analysis, findings, KB, DetectOptions(), selected=[findings[1]])
    assert outcome.source == "import numpy as np\na = np.float_\nb = np.float64\n"
    assert outcome.skipped == []
