"""The shipped NumPy and pandas entries know NumPy 2.3/2.4 and pandas 3.0/3.1: a report script written
against numpy 2.0 and pandas 2.2 is flagged through the real ``recode-migrate`` command line, with the
right ids and "removed" or "deprecated" depending on the target, and the mechanical changes migrate."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from recode_lsp.engine.knowledge import load_knowledge_base
from tests.cli_process import run_migrate

# A monthly sales report as it was written for numpy 2.0 / pandas 2.2 (every marked line is flagged).
OLD_CODE = textwrap.dedent(
    """\
    \"\"\"Monthly sales report.\"\"\"
    import numpy as np
    import pandas as pd
    from numpy.compat import basestring
    from numpy.testing import assert_array_equal

    sales = pd.read_csv("sales.csv", delim_whitespace=True)
    sales = sales.fillna(method="ffill")
    sales = sales.applymap(str.strip)
    recent = sales.first("7D")
    single = sales.bool()
    by_region = sales.groupby("region")
    filled = by_region.fillna(0)
    counts = pd.value_counts(sales["region"])
    amounts = pd.Series([1.0, 2.0, 4.0])
    bits = amounts.view("int64")
    smooth = amounts.rolling(3).quantile(quantile=0.9)
    regions = pd.Categorical(["north", "south"])
    names = regions.to_list()
    stamp = pd.Timestamp.utcnow()
    wide = sales.astype(float, copy=False)
    sales.dropna(inplace=True)
    values = np.asarray(amounts)
    raw = values.tostring()
    p90 = np.percentile(values, 90, interpolation="nearest")
    hits = np.in1d(values, [1.0, 2.0])
    area = np.trapz(values)
    assert_array_equal(x=values, y=values)
    is_text = isinstance(names[0], basestring)
    """
)

# line -> (id, severity, words of the message) with targets numpy==2.3 and pandas==3.0.
EXPECTED = {
    4: (
        "NPY012",
        "error",
        "`numpy.compat` was removed in NumPy 2.3 (deprecated since 1.26) with no direct replacement",
    ),
    7: ("PD191", "error", "Use `sep=r'\\s+'`: `pandas.read_csv(delim_whitespace=...)` changed in pandas 3.0"),
    8: ("PD178", "error", "`DataFrame.bfill()`: `pandas.DataFrame.fillna(method=...)` changed in pandas 3.0"),
    9: ("PD173", "error", "Use `pandas.DataFrame.map`: `pandas.DataFrame.applymap` was removed in pandas 3.0"),
    10: ("PD181", "error", "`pandas.DataFrame.first` was removed in pandas 3.0 (deprecated since 2.1)"),
    11: (
        "PD194",
        "error",
        "Use `bool(df.squeeze())` for a one-element DataFrame: `pandas.DataFrame.bool` was removed",
    ),
    13: (
        "PD233",
        "error",
        "`pandas.core.groupby.DataFrameGroupBy.fillna` was removed in pandas 3.0 (deprecated since 2.2)",
    ),
    14: ("PD188", "error", "Use `pandas.Series(obj).value_counts()`: `pandas.value_counts` was removed in pandas 3.0"),
    16: ("PD189", "error", "`pandas.Series.view` was removed in pandas 3.0 (deprecated since 2.2)"),
    17: ("PD281", "error", "Use `q=`: `pandas.core.window.rolling.Rolling.quantile(quantile=...)` was removed"),
    19: ("PD262", "error", "Use `pandas.Categorical.tolist`: `pandas.Categorical.to_list` was removed in pandas 3.0"),
    20: (
        "PD317",
        "warning",
        "Use `pandas.Timestamp.now('UTC')`: `pandas.Timestamp.utcnow` is deprecated since pandas 3.0",
    ),
    21: ("PD289", "warning", "Remove the argument: "),
    24: ("NPY131", "error", "Use `numpy.ndarray.tobytes`: `numpy.ndarray.tostring` was removed in NumPy 2.3"),
    25: ("NPY133", "warning", "Use `method=`: `numpy.percentile(interpolation=...)` was removed in NumPy 2.4"),
    26: ("NPY067", "warning", "Use `numpy.isin`: `numpy.in1d` was removed in NumPy 2.4 (deprecated since 2.0)"),
    27: ("NPY069", "warning", "Use `numpy.trapezoid`: `numpy.trapz` was removed in NumPy 2.4 (deprecated since 2.0)"),
    28: ("NPY150", "error", "Use `actual=`: `numpy.testing.assert_array_equal(x=...)` was removed in NumPy 2.3"),
}
# Line 22 (inplace=) is deprecated only from pandas 3.1; line 29 uses a name imported on line 4.
NOT_YET = {22: "PD339"}

TARGETS = ("--target", "numpy==2.3", "--target", "pandas==3.0")

# After `--apply` (safe fixes only): every rename, keyword rename and exact template, nothing else.
MIGRATED = textwrap.dedent(
    """\
    \"\"\"Monthly sales report.\"\"\"
    import numpy as np
    import pandas as pd
    from numpy.compat import basestring
    from numpy.testing import assert_array_equal

    sales = pd.read_csv("sales.csv", delim_whitespace=True)
    sales = sales.fillna(method="ffill")
    sales = sales.map(str.strip)
    recent = sales.first("7D")
    single = sales.bool()
    by_region = sales.groupby("region")
    filled = by_region.fillna(0)
    counts = pd.value_counts(sales["region"])
    amounts = pd.Series([1.0, 2.0, 4.0])
    bits = amounts.view("int64")
    smooth = amounts.rolling(3).quantile(q=0.9)
    regions = pd.Categorical(["north", "south"])
    names = regions.tolist()
    stamp = pd.Timestamp.now("UTC")
    wide = sales.astype(float, copy=False)
    sales.dropna(inplace=True)
    values = np.asarray(amounts)
    raw = values.tobytes()
    p90 = np.percentile(values, 90, method="nearest")
    hits = np.in1d(values, [1.0, 2.0])
    area = np.trapezoid(values)
    assert_array_equal(actual=values, desired=values)
    is_text = isinstance(names[0], basestring)
    """
)


def _findings(result: Any) -> list[dict[str, Any]]:
    payload = json.loads(result.stdout)
    return list(payload["findings"] if isinstance(payload, dict) else payload)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.py"
    path.write_text(OLD_CODE, encoding="utf-8")
    return path


def test_shipped_entries_record_the_removals() -> None:
    changes = {c.id: c for c in load_knowledge_base().changes}
    assert (changes["NPY012"].old, str(changes["NPY012"].removed_in)) == ("numpy.compat", "2.3")
    assert (changes["NPY067"].old, str(changes["NPY067"].removed_in)) == ("numpy.in1d", "2.4")
    assert (changes["NPY069"].old, str(changes["NPY069"].removed_in)) == ("numpy.trapz", "2.4")
    for pid, old in (
        ("PD173", "pandas.DataFrame.applymap"),
        ("PD176", "pandas.DataFrame.swapaxes"),
        ("PD188", "pandas.value_counts"),
        ("PD189", "pandas.Series.view"),
        ("PD190", "pandas.Series.ravel"),
    ):
        assert (changes[pid].old, str(changes[pid].removed_in)) == (old, "3.0"), pid
    # pandas 3.x still only deprecates the dtype-check helpers (Pandas4Warning), so they stay warnings.
    assert changes["PD183"].removed_in is None


def test_old_code_is_flagged_as_removed_or_deprecated_for_the_targets(report: Path) -> None:
    result = run_migrate("--check", "--no-cache", "--format", "json", *TARGETS, str(report))
    assert result.returncode == 1, result.stderr
    by_line: dict[int, list[dict[str, Any]]] = {}
    for finding in _findings(result):
        by_line.setdefault(finding["location"]["line"], []).append(finding)
    for line, (code, severity, words) in EXPECTED.items():
        found = {f["code"]: f for f in by_line.get(line, [])}
        assert code in found, (line, code, by_line.get(line))
        assert found[code]["severity"] == severity, (line, found[code])
        assert words in found[code]["message"], (line, found[code]["message"])
    assert by_line[28][1]["code"] == "NPY151"  # the y= keyword of the same call
    for line, code in NOT_YET.items():
        assert code not in {f["code"] for f in by_line.get(line, [])}, line
    assert set(by_line) <= set(EXPECTED) | {29}, sorted(set(by_line) - set(EXPECTED))


def test_newer_targets_turn_the_deprecations_into_removals(report: Path) -> None:
    result = run_migrate(
        "--check", "--no-cache", "--format", "json", "--target", "numpy==2.4", "--target", "pandas==3.1", str(report)
    )
    severity = {(f["location"]["line"], f["code"]): f["severity"] for f in _findings(result)}
    assert severity[(25, "NPY133")] == "error"
    assert severity[(26, "NPY067")] == "error"
    assert severity[(27, "NPY069")] == "error"
    assert severity[(22, "PD339")] == "warning"  # DataFrame.dropna(inplace=) is deprecated in pandas 3.1 (PDEP-8)
    assert severity[(20, "PD317")] == "warning"  # Timestamp.utcnow: deprecated in 3.0, not removed yet


def test_older_targets_report_only_what_they_deprecated(report: Path) -> None:
    """Against the releases the code was written for, nothing is removed yet and later deprecations are silent."""
    result = run_migrate(
        "--check", "--no-cache", "--format", "json", "--target", "numpy==2.0", "--target", "pandas==2.2", str(report)
    )
    severity = {f["code"]: f["severity"] for f in _findings(result)}
    assert {"PD317", "PD289", "PD339"} & set(severity) == set()  # deprecated in pandas 3.0 / 3.1
    for code in ("NPY012", "NPY131", "NPY067", "NPY069", "PD173", "PD189", "PD194"):
        assert severity[code] == "warning", code


def test_mechanical_changes_are_applied_exactly(report: Path) -> None:
    result = run_migrate("--apply", "--no-cache", *TARGETS, str(report))
    assert result.returncode in (0, 1), result.stderr
    assert report.read_text(encoding="utf-8") == MIGRATED


def test_unsafe_fixes_add_the_close_replacements(report: Path) -> None:
    result = run_migrate("--diff", "--unsafe-fixes", "--no-cache", *TARGETS, str(report))
    removed = [line[1:] for line in result.stdout.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in result.stdout.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert "hits = np.in1d(values, [1.0, 2.0])" in removed
    assert "hits = np.isin(values, [1.0, 2.0])" in added
    assert report.read_text(encoding="utf-8") == OLD_CODE  # --diff writes nothing


# Names only found through the new type facts (np.ndindex, masked arrays) and the moved submodules.
NUMPY_EXTRAS = textwrap.dedent(
    """\
    import numpy as np
    from numpy.linalg.linalg import norm

    grid = np.ndindex(2, 3)
    grid.ndincr()
    readings = np.ma.masked_invalid(np.array([1.0, np.nan]))
    payload = readings.tostring()
    circle = np.lib.math.pi * norm(np.ones(3))
    """
)
NUMPY_EXTRAS_MIGRATED = textwrap.dedent(
    """\
    import numpy as np
    from numpy.linalg.linalg import norm
    import math

    grid = np.ndindex(2, 3)
    next(grid)
    readings = np.ma.masked_invalid(np.array([1.0, np.nan]))
    payload = readings.tobytes()
    circle = math.pi * norm(np.ones(3))
    """
)


def test_numpy_receivers_from_type_facts_are_found_and_fixed(tmp_path: Path) -> None:
    path = tmp_path / "grid.py"
    path.write_text(NUMPY_EXTRAS, encoding="utf-8")
    check = run_migrate("--check", "--no-cache", "--format", "json", "--target", "numpy==2.4", str(path))
    found = {(f["location"]["line"], f["code"], f["severity"]) for f in _findings(check)}
    assert found == {
        (2, "NPY146", "error"),  # numpy.linalg.linalg: removed in 2.4 (display: the import is not rewritten)
        (5, "NPY145", "error"),  # ndindex.ndincr()
        (7, "NPY132", "error"),  # MaskedArray.tostring()
        (8, "NPY149", "warning"),  # numpy.lib.math: deprecated since 1.25, not removed
    }
    result = run_migrate("--apply", "--unsafe-fixes", "--no-cache", "--target", "numpy==2.4", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert path.read_text(encoding="utf-8") == NUMPY_EXTRAS_MIGRATED
