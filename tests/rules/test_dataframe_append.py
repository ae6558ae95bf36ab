"""RC001 dataframe-append: ``df.append(other)`` -> ``pd.concat([df, other])``."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from recode_lsp.engine.changes import FixSafety, Severity
from recode_lsp.engine.detector import DetectOptions
from recode_lsp.engine.model import Site
from recode_lsp.engine.rules import rule_by_code
from recode_lsp.engine.rules.dataframe_append import DataFrameAppend
from recode_lsp.engine.versions import Version

if TYPE_CHECKING:
    from .conftest import Pipeline

CODE = "PD101"


def test_registered() -> None:
    rule = rule_by_code("RC001")
    assert isinstance(rule, DataFrameAppend)
    assert rule.name == "dataframe-append"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = df.append(pd.read_csv("b.csv"))
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = pd.concat([df, pd.read_csv("b.csv")])
            """,
            id="assignment",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df = df.append(other, ignore_index=True)
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df = pd.concat([df, other], ignore_index=True)
            """,
            id="statement-form-with-ignore-index",
        ),
        pytest.param(
            """\
            import pandas
            frame = pandas.DataFrame({"a": [1]})
            print(frame.append(extra, sort=True, verify_integrity=False))
            """,
            """\
            import pandas
            frame = pandas.DataFrame({"a": [1]})
            print(pandas.concat([frame, extra], sort=True, verify_integrity=False))
            """,
            id="plain-module-name-and-concat-keywords",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df = df.append({"a": 1, "b": f(2)}, ignore_index=True)
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df = pd.concat([df, pd.DataFrame([{"a": 1, "b": f(2)}])], ignore_index=True)
            """,
            id="dict-row",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df = df.append([{"a": 1}, {"a": 2}])
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df = pd.concat([df, pd.DataFrame([{"a": 1}, {"a": 2}])])
            """,
            id="list-of-dict-rows",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            everything = df.append([first, second])
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            everything = pd.concat([df, first, second])
            """,
            id="list-of-frames-is-spliced",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = df.append(dict(a=1, b=2), ignore_index=True)
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = pd.concat([df, pd.DataFrame([dict(a=1, b=2)])], ignore_index=True)
            """,
            id="dict-call-row",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            row = pd.Series({"a": 1}, name="new")
            df2 = df.append(row)
            df3 = df.append(pd.Series({"a": 2}), ignore_index=True)
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            row = pd.Series({"a": 1}, name="new")
            df2 = pd.concat([df, row.to_frame().T])
            df3 = pd.concat([df, pd.Series({"a": 2}).to_frame().T], ignore_index=True)
            """,
            id="series-row-on-frame",
        ),
        pytest.param(
            """\
            import pandas as pd


            def grow(df: pd.DataFrame, row):
                out = df.append(
                    row,
                    ignore_index=True,
                )
                return out
            """,
            """\
            import pandas as pd


            def grow(df: pd.DataFrame, row):
                out = pd.concat([df, row], ignore_index=True)
                return out
            """,
            id="annotated-parameter-multiline-call",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            out = df.copy().append(  other  )
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            out = pd.concat([df.copy(), other])
            """,
            id="receiver-expression",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            out = (df
                   .append(other))
            """,
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            out = (pd.concat([df, other]))
            """,
            id="call-broken-over-lines",
        ),
    ],
)
def test_fix(pipeline: Pipeline, before: str, after: str) -> None:
    pipeline.check(before, after, CODE)


def test_fix_series(pipeline: Pipeline) -> None:
    pipeline.check(
        """\
        import pandas as pd
        s = pd.Series([1, 2])
        t = s.append(pd.Series([3]))
        u = s.append([s, t], ignore_index=True)
        """,
        """\
        import pandas as pd
        s = pd.Series([1, 2])
        t = pd.concat([s, pd.Series([3])])
        u = pd.concat([s, s, t], ignore_index=True)
        """,
        "PD102",
    )


def test_dict_row_on_series_is_not_fixed(pipeline: Pipeline) -> None:
    source = """\
    import pandas as pd
    s = pd.Series([1])
    t = s.append({"a": 1}, ignore_index=True)
    """
    pipeline.unchanged(source, "PD102")


def test_noop(pipeline: Pipeline) -> None:
    source = """\
    import pandas as pd
    df = pd.concat([pd.read_csv("a.csv"), pd.read_csv("b.csv")])
    rows = []
    rows.append(df)
    """
    result = pipeline.run(source)
    assert result.findings == []
    assert result.source == textwrap.dedent(source)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = df.append({"a": 1})
            """,
            id="dict-without-ignore-index",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = df.append(a, b)
            """,
            id="two-positional",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = df.append(*frames)
            """,
            id="starred",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = df.append(other, **options)
            """,
            id="double-star",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            add = df.append
            """,
            id="not-called",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            df2 = pd.DataFrame.append(df, other)
            """,
            id="unbound-method",
        ),
        pytest.param(
            """\
            from pandas import DataFrame, read_csv
            df = read_csv("a.csv")
            df2 = df.append(DataFrame())
            """,
            id="pandas-module-not-bound",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")


            def f(pd):
                return df.append(other)
            """,
            id="pandas-alias-shadowed",
        ),
    ],
)
def test_unsupported_shape(pipeline: Pipeline, source: str) -> None:
    result = pipeline.unchanged(source, CODE)
    reasons = [reason for finding, reason in result.outcome.skipped if finding.code == CODE]
    assert reasons and all("RC001" in reason for reason in reasons)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")
            note = "use df.append(other) no more"  # df.append(other) is gone
            """,
            id="string-and-comment",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = []
            df.append(pd.read_csv("a.csv"))
            """,
            id="list-named-df",
        ),
        pytest.param(
            """\
            import pandas as pd
            df = pd.read_csv("a.csv")


            def f(df):
                df.append(1)
            """,
            id="parameter-shadows-frame",
        ),
    ],
)
def test_not_fooled(pipeline: Pipeline, source: str) -> None:
    result = pipeline.run(source)
    assert result.findings == []
    assert not result.outcome.changed


def test_finding_is_unsafe_and_needs_opt_in(pipeline: Pipeline) -> None:
    source = """\
    import pandas as pd
    df = pd.read_csv("a.csv")
    df2 = df.append(other)
    """
    result = pipeline.run(source, unsafe=False)
    [finding] = result.findings
    assert finding.safety is FixSafety.UNSAFE
    assert finding.site is Site.MEMBER
    assert (finding.range.start.line, finding.range.start.column) == (2, 9)
    assert not result.outcome.changed
    assert result.outcome.skipped == []
    assert result.source == textwrap.dedent(source)


@pytest.mark.parametrize(
    ("target", "severity"),
    [
        ("1.3", None),
        ("1.5", Severity.WARNING),
        ("2.0", Severity.ERROR),
        ("2.2", Severity.ERROR),
    ],
)
def test_version_aware(pipeline: Pipeline, target: str, severity: Severity | None) -> None:
    source = """\
    import pandas as pd
    df = pd.read_csv("a.csv")
    df2 = df.append(other)
    """
    options = DetectOptions(targets={"pandas": Version(target)})
    result = pipeline.run(source, options=options)
    assert [f.severity for f in result.findings] == ([] if severity is None else [severity])


def test_two_calls_on_one_line(pipeline: Pipeline) -> None:
    pipeline.check(
        """\
        import pandas as pd
        a = pd.read_csv("a.csv")
        b = pd.read_csv("b.csv")
        c = [a.append(x), b.append(y, ignore_index=False)]
        """,
        """\
        import pandas as pd
        a = pd.read_csv("a.csv")
        b = pd.read_csv("b.csv")
        c = [pd.concat([a, x]), pd.concat([b, y], ignore_index=False)]
        """,
        CODE,
    )


def test_chained_statement_form(pipeline: Pipeline) -> None:
    pipeline.check(
        """\
        import pandas as pd
        df = pd.read_csv("a.csv")
        df = df.append(a)
        df = df.append(b)
        """,
        """\
        import pandas as pd
        df = pd.read_csv("a.csv")
        df = pd.concat([df, a])
        df = pd.concat([df, b])
        """,
        CODE,
    )
