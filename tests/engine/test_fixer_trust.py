"""Fixes a user can trust: where imports go, scopes, builtins, f-string ``=`` and comments.

Each case is a module the fuzz of issue 11 broke, run through detection, the fixer and the
validator with the shipped knowledge base and unsafe fixes on: the result must be what a
person would write, or the file must be left alone with a reason.
"""

from __future__ import annotations

import ast
import io
import textwrap
import tokenize

import pytest

from recode_lsp.engine import load_knowledge_base
from tests.conftest import Migration, migrate

KB = load_knowledge_base()


def fix(source: str) -> Migration:
    result = migrate(source, KB, unsafe=True)
    ast.parse(result.source)
    # A second run changes nothing.
    assert migrate(result.source, KB, unsafe=True, dedent=False).source == result.source
    return result


def reasons(result: Migration) -> str:
    return "\n".join(reason for _, reason in result.outcome.skipped)


def comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


# --- where a new import goes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            # -*- coding: latin-1 -*-
            x = 1
            import collections
            def f(x):
                return isinstance(x, collections.Mapping)
            """,
            """\
            # -*- coding: latin-1 -*-
            from collections.abc import Mapping
            x = 1
            def f(x):
                return isinstance(x, Mapping)
            """,
            id="after-coding-cookie",
        ),
        pytest.param(
            """\
            #!/usr/bin/env python
            # A tool.

            x = 1
            import collections
            def f(x):
                return isinstance(x, collections.Mapping)
            """,
            """\
            #!/usr/bin/env python
            # A tool.
            from collections.abc import Mapping

            x = 1
            def f(x):
                return isinstance(x, Mapping)
            """,
            id="after-shebang-and-leading-comments",
        ),
        pytest.param(
            """\
            #!/usr/bin/env python
            '''Doc.'''
            from __future__ import annotations
            x = 1
            import collections
            def f(x):
                return isinstance(x, collections.Mapping)
            """,
            """\
            #!/usr/bin/env python
            '''Doc.'''
            from __future__ import annotations
            from collections.abc import Mapping
            x = 1
            def f(x):
                return isinstance(x, Mapping)
            """,
            id="after-docstring-and-future-imports",
        ),
        pytest.param(
            """\
            # coding: utf-8
            from __future__ import annotations
            x = 1
            import collections
            def f(y):
                return isinstance(y, collections.Mapping)
            """,
            """\
            # coding: utf-8
            from __future__ import annotations
            from collections.abc import Mapping
            x = 1
            def f(y):
                return isinstance(y, Mapping)
            """,
            id="after-future-import-without-docstring",
        ),
    ],
)
def test_new_import_goes_after_the_module_header(before: str, after: str) -> None:
    result = fix(before)
    assert result.source == textwrap.dedent(after)


def test_latin1_file_still_decodes_after_the_fix() -> None:
    source = "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\nimport collections\ndef f(x):\n"
    source += "    return isinstance(x, collections.Mapping)\n"
    result = fix(source)
    assert "Mapping)" in result.source
    data = result.source.encode("latin-1")
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    assert encoding == "iso-8859-1"


def test_import_guard_is_not_defeated() -> None:
    before = """\
        try:
            import numpy as np
        except ImportError:
            np = None

        err = np.AxisError
        """
    result = fix(before)
    assert "NPY" in " ".join(result.codes)
    # ``from numpy.exceptions import AxisError`` at the top would raise without numpy.
    assert result.source == textwrap.dedent(before)
    assert "guard" in reasons(result) or "conditionally" in reasons(result)


def test_import_guard_keeps_its_import_and_new_import_goes_above_it() -> None:
    before = """\
        import collections
        try:
            import numpy as np
        except ImportError:
            np = None

        def f(x):
            return isinstance(x, collections.Mapping)
        """
    after = """\
        from collections.abc import Mapping
        try:
            import numpy as np
        except ImportError:
            np = None

        def f(x):
            return isinstance(x, Mapping)
        """
    assert fix(before).source == textwrap.dedent(after)


# --- builtins and scopes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "code"),
    [
        pytest.param(
            """\
            import xml.etree.ElementTree as ET
            list = [1, 2]
            e = ET.Element("a")
            children = e.getchildren()
            """,
            "PY165",
            id="list-rebound-at-module-level",
        ),
        pytest.param(
            """\
            import numpy as np
            float = np.float32
            y = np.asfarray([1, 2])
            """,
            "NPY005",
            id="float-rebound-template-keyword",
        ),
        pytest.param(
            """\
            import numpy as np
            def sub(issubclass, a, b):
                return np.issubclass_(a, b)
            """,
            "NPY029",
            id="builtin-is-a-parameter",
        ),
        pytest.param(
            """\
            from numpy import issubclass_
            def sub(issubclass, a, b):
                return issubclass_(a, b)
            """,
            "NPY029",
            id="builtin-is-a-parameter-from-import",
        ),
        pytest.param(
            """\
            import numpy as np
            class K:
                float = 1
                y = np.asfarray([1, 2])
            """,
            "NPY005",
            id="float-bound-in-class-body",
        ),
    ],
)
def test_fix_that_needs_a_shadowed_builtin_is_not_applied(source: str, code: str) -> None:
    result = fix(source)
    assert code in result.codes
    assert result.source == textwrap.dedent(source)
    assert "shadowed" in reasons(result)


def test_builtin_bound_only_in_another_function_does_not_block() -> None:
    result = fix(
        """\
        import numpy as np
        def other(float):
            return float
        y = np.asfarray([1, 2])
        """
    )
    assert "np.asarray([1, 2], dtype=float)" in result.source


def test_class_attribute_in_first_comprehension_iterable_is_not_the_module() -> None:
    source = """\
        import numpy as np
        class K:
            np = [[1.0]]
            rows = [r for r in np]
            cols = [c for c in np.float_]
        """
    result = fix(source)
    assert result.source == textwrap.dedent(source)


def test_comprehension_body_in_class_sees_the_module() -> None:
    result = fix(
        """\
        import numpy as np
        class K:
            np = [[1.0]]
            rows = [np.float_ for r in range(2)]
        """
    )
    assert "rows = [np.float64 for r in range(2)]" in result.source
    assert "    np = [[1.0]]" in result.source


# --- f-string ``=`` and comments -----------------------------------------------------


def test_self_documenting_fstring_is_left_alone() -> None:
    source = 'import numpy as np\nprint(f"{np.float_=}")\nprint(f"{np.float_ = }")\n'
    result = fix(source)
    assert "NPY" in " ".join(result.codes)
    assert result.source == source
    assert "f-string" in reasons(result)


def test_plain_fstring_is_still_fixed() -> None:
    result = fix('import numpy as np\nprint(f"x={np.float_}", f"{np.float_!r}")\n')
    assert 'f"x={np.float64}", f"{np.float64!r}"' in result.source


def test_comment_in_removed_import_is_kept() -> None:
    result = fix(
        """\
        from typing import (List,  # the list
            Dict)
        x: List[int] = []
        y: Dict[str, int] = {}
        """
    )
    assert "x: list[int] = []" in result.source
    assert comments(result.source) == ["# the list"]


def test_comment_in_rewritten_import_is_kept() -> None:
    result = fix(
        """\
        from typing import (List,  # the list
            Any)  # trailing
        x: List[Any] = []
        """
    )
    assert "x: list[Any] = []" in result.source
    assert "from typing import Any" in result.source
    assert comments(result.source) == ["# the list", "# trailing"]


def test_comment_on_removed_import_line_is_kept() -> None:
    result = fix("import collections  # noqa: F401\nisinstance(x, collections.Mapping)\n")
    assert "isinstance(x, Mapping)" in result.source
    assert comments(result.source) == ["# noqa: F401"]


def test_comment_inside_replaced_call_is_kept_or_not_fixed() -> None:
    source = "import numpy as np\ny = np.asfarray(  # why\n    [1, 2])\n"
    result = fix(source)
    assert comments(result.source) == ["# why"]


# --- wrong unsafe fixes --------------------------------------------------------------


def test_validate_arguments_is_not_renamed() -> None:
    source = """\
        from pydantic import validate_arguments
        def f(x: int) -> int:
            return x
        validated = validate_arguments(f, config={"arbitrary_types_allowed": True})
        print(validated.model)
        """
    result = fix(source)
    assert "PYD047" in result.codes
    assert result.source == textwrap.dedent(source)


def test_self_dict_with_own_override_is_not_rewritten() -> None:
    source = """\
        from pydantic import BaseModel
        class M(BaseModel):
            a: int
            def dict(self, **kwargs):
                return {"a": self.a}
            def export(self):
                return self.dict()
        class N(M):
            def export_all(self):
                return self.dict()
        class P(BaseModel):
            def export(self):
                return self.dict()
        """
    result = fix(source)
    assert result.source.count("self.dict()") == 2
    assert result.source.count("self.model_dump()") == 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            try:
                from collections import Mapping, OrderedDict
            except ImportError:
                Mapping = dict
            """,
            """\
            try:
                from collections import OrderedDict
                from collections.abc import Mapping
            except ImportError:
                Mapping = dict
            """,
            id="guarded-import-rewritten-in-the-guard",
        ),
        pytest.param(
            "try: from collections import Mapping\nexcept ImportError: Mapping = dict\n",
            "try: from collections.abc import Mapping\nexcept ImportError: Mapping = dict\n",
            id="guarded-import-on-the-try-line",
        ),
        pytest.param(
            """\
            def f():
                from collections import Mapping  # lazy
                return Mapping
            """,
            """\
            def f():
                from collections.abc import Mapping  # lazy
                return Mapping
            """,
            id="function-import-rewritten-in-the-function",
        ),
    ],
)
def test_nested_import_is_moved_where_it_stands(before: str, after: str) -> None:
    assert fix(before).source == textwrap.dedent(after)


def test_class_attribute_set_to_none_hides_the_module() -> None:
    source = """\
        import numpy as np
        class Holder:
            np = None
            kind = np.float_
        """
    result = fix(source)
    assert result.codes == []
    assert result.source == textwrap.dedent(source)


def test_self_documenting_raw_fstring_is_left_alone() -> None:
    source = 'import numpy as np\nprint(fR"{np.float_=}")\n'
    assert fix(source).source == source


# --- an import stays while text still names it (issue 11 fuzz) -----------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            from typing import List
            def f(x) -> 'List[int]':
                return x
            def g(y: List[int]) -> None:
                pass
            """,
            """\
            from typing import List
            def f(x) -> 'List[int]':
                return x
            def g(y: list[int]) -> None:
                pass
            """,
            id="string-annotation",
        ),
        pytest.param(
            """\
            from typing import List
            __all__ = ['List', 'f']
            def f(x: List[int]):
                return x
            """,
            """\
            from typing import List
            __all__ = ['List', 'f']
            def f(x: list[int]):
                return x
            """,
            id="dunder-all",
        ),
        pytest.param(
            """\
            from typing import Dict, List
            counts = {}  # type: Dict[str, int]
            first: List[int] = []
            def h(a):
                # type: (List[int]) -> None
                b: Dict[str, int] = {}
            """,
            """\
            from typing import Dict, List
            counts = {}  # type: Dict[str, int]
            first: list[int] = []
            def h(a):
                # type: (List[int]) -> None
                b: dict[str, int] = {}
            """,
            id="type-comments",
        ),
        pytest.param(
            """\
            import typing
            x: typing.List[int] = []
            y: 'typing.Dict[str, int]' = {}
            """,
            """\
            import typing
            x: list[int] = []
            y: 'typing.Dict[str, int]' = {}
            """,
            id="module-import-in-string-annotation",
        ),
    ],
)
def test_import_named_outside_code_is_kept(before: str, after: str) -> None:
    assert fix(before).source == textwrap.dedent(after)


def test_moved_import_that_keeps_its_name_is_still_fixed() -> None:
    before = "from collections import Mapping\n__all__ = ['Mapping']\nx: 'Mapping[str, int]' = {}\n"
    after = "from collections.abc import Mapping\n__all__ = ['Mapping']\nx: 'Mapping[str, int]' = {}\n"
    assert fix(before).source == after


def test_import_named_only_in_string_annotation_under_type_checking_is_left_alone() -> None:
    source = """\
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from typing import List
        items: 'List[int]' = []
        """
    result = fix(source)
    assert result.codes == ["PY117"]
    assert result.source == textwrap.dedent(source)
    assert "string annotation" in reasons(result)


# --- a local or class-body import is never widened to module level -------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            def f():
                import asyncio
                return asyncio.Task.current_task()
            """,
            """\
            def f():
                import asyncio
                return asyncio.current_task()
            """,
            id="member-template-reuses-local-module",
        ),
        pytest.param(
            """\
            def g():
                import pandas
                return pandas.np.nan
            """,
            """\
            def g():
                import numpy
                return numpy.nan
            """,
            id="new-module-import-next-to-local-import",
        ),
        pytest.param(
            """\
            def f(x):
                import collections  # lazy
                return isinstance(x, collections.Mapping)
            """,
            """\
            def f(x):
                # lazy
                from collections.abc import Mapping
                return isinstance(x, Mapping)
            """,
            id="moved-name-imported-in-the-function",
        ),
        pytest.param(
            """\
            class Holder:
                import collections
                class Registry(collections.MutableMapping):
                    pass
            """,
            """\
            class Holder:
                import collections
                from collections.abc import MutableMapping
                class Registry(MutableMapping):
                    pass
            """,
            id="class-body-import-stays-a-class-attribute",
        ),
        pytest.param(
            "def f(x): import collections; return isinstance(x, collections.Mapping)\n",
            "def f(x): pass; from collections.abc import Mapping; return isinstance(x, Mapping)\n",
            id="import-on-the-def-line",
        ),
    ],
)
def test_import_needed_by_a_local_use_goes_next_to_the_local_import(before: str, after: str) -> None:
    assert fix(before).source == textwrap.dedent(after)


def test_name_reached_through_a_guarded_import_is_not_widened() -> None:
    source = """\
        try:
            import pandas as pd
        except ImportError:
            pd = None
        x = pd.np.nan
        """
    result = fix(source)
    assert "PD131" in result.codes
    assert result.source == textwrap.dedent(source)
    assert "guard" in reasons(result)


# --- attribute targets in store or delete context --------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("import numpy as np\nx = [np.float_ for np.float_ in ()]\n", id="comprehension-target"),
        pytest.param("import numpy as np\nnp.float_ = float\ny = np.float_\n", id="assigned-then-read"),
        pytest.param("import numpy as np\ny = np.float_(1)\ndel np.float_\n", id="deleted"),
        pytest.param("import numpy as np\nfor np.float_ in ():\n    print(np.float_)\n", id="loop-target"),
    ],
)
def test_attribute_assigned_in_the_module_is_left_alone(source: str) -> None:
    result = fix(source)
    assert "NPY023" in result.codes
    assert result.source == source
    assert "assigned or deleted" in reasons(result)


def test_a_name_moved_to_a_top_level_module_becomes_an_import_of_it() -> None:
    """``from sklearn.externals import joblib`` -> ``import joblib`` (the new home is a module, not a builtin)."""
    result = fix(
        """\
        from sklearn.externals import joblib
        model = joblib.load("model.pkl")


        def save(obj):
            from sklearn.externals import joblib
            joblib.dump(obj, "x")
        """
    )
    assert result.source == textwrap.dedent(
        """\
        import joblib
        model = joblib.load("model.pkl")


        def save(obj):
            import joblib
            joblib.dump(obj, "x")
        """
    )


def test_an_aliased_import_of_a_moved_module_is_left_with_a_reason() -> None:
    result = fix("from sklearn.externals import joblib as jl\njl.load('m')\n")
    assert result.source == "from sklearn.externals import joblib as jl\njl.load('m')\n"
    assert "`jl` would have to become `joblib`: import `joblib` by hand" in reasons(result)
