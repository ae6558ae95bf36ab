# ruff: noqa: E501
# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Sales report written against pandas 1.5 (benchmark input: kb_recall, target pandas==2.0.3).

Every line that uses an API changed by 2.0.3 ends with ``# old-api: <change>``.
"""

import pandas as pd
import pandas.util.testing as tm  # old-api: pandas.util.testing


def load_sales(path):
    """Read the daily sales file; the first column is the date."""
    return pd.read_csv(path, parse_dates=["day"], date_parser=lambda s: pd.to_datetime(s, format="%Y%m%d"))  # old-api: pandas.read_csv(date_parser)


def load_ids(path):
    """Read a one-column file of shop ids as a Series."""
    return pd.read_csv(path, squeeze=True)  # old-api: pandas.read_csv(squeeze)


def add_totals(sales: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Append the extra rows and the grand total."""
    combined = sales.append(extra, ignore_index=True)  # old-api: pandas.DataFrame.append
    return combined


def column_report(sales: pd.DataFrame):
    """One line per column."""
    lines = []
    for name, column in sales.iteritems():  # old-api: pandas.DataFrame.iteritems
        lines.append(f"{name}: {column.dtype}")
    spread = sales.mad()  # old-api: pandas.DataFrame.mad
    return lines, spread


def shop_labels(shops: pd.Series, extra: pd.Series) -> pd.Series:
    """All shop labels, with the extra ones at the end."""
    labels = shops.append(extra)  # old-api: pandas.Series.append
    for position, label in labels.iteritems():  # old-api: pandas.Series.iteritems
        print(position, label)
    return labels


def prices_for(sales: pd.DataFrame, rows, cols):
    """The price of each (row, column) pair."""
    return sales.lookup(rows, cols)  # old-api: pandas.DataFrame.lookup


def lagged(sales: pd.DataFrame) -> pd.DataFrame:
    """Sales shifted by one day on a daily index."""
    return sales.tshift(1, freq="D")  # old-api: pandas.DataFrame.tshift


def check_sorted(index: pd.Index) -> bool:
    """Whether an index is sorted."""
    return index.is_monotonic  # old-api: pandas.Index.is_monotonic


def shop_index(ids):
    """An integer index of shop ids and a float index of prices."""
    ints = pd.Int64Index(ids)  # old-api: pandas.Int64Index
    floats = pd.Float64Index([float(i) for i in ids])  # old-api: pandas.Float64Index
    return ints, floats


def export(sales: pd.DataFrame, path):
    """Write the report with Windows line endings."""
    sales.to_csv(path, line_terminator="\r\n")  # old-api: pandas.DataFrame.to_csv(line_terminator)


def encode(values):
    """Codes of the values, missing values coded as -1."""
    codes, uniques = pd.factorize(values, na_sentinel=-1)  # old-api: pandas.factorize(na_sentinel)
    return codes, uniques


def assert_same(left, right):
    tm.assert_frame_equal(left, right)
