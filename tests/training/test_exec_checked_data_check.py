"""``recode-train data check`` on entries of all three target origins: the mix per library *and* change kind."""

from __future__ import annotations

from model_training.data.check import check, format_report
from model_training.data.recode_data import ReCodeRecord


def entry(library: str, change_id: str, old: str, new: str, origin: str) -> ReCodeRecord:
    return ReCodeRecord(library, "==2.0", "d", "u", old, new, extra={"change_id": change_id, "target_origin": origin})


def test_the_report_has_a_library_by_kind_table_and_the_execution_checked_origin() -> None:
    records = [
        # numpy: a rename the rules fix (NPY042, np.product) and a display-only removal (NPY019)
        entry(
            "numpy",
            "NPY042",
            "import numpy as np\nx = np.product(a)\n",
            "import numpy as np\nx = np.prod(a)\n",
            "rule",
        ),
        entry(
            "numpy",
            "NPY019",
            "import numpy as np\nx = np.fastCopyAndTranspose(a)\n",
            "import numpy as np\nx = np.asarray(a).T.copy()\n",
            "teacher",
        ),
        # python: a display-only change (PY073, utcfromtimestamp) whose answer ran the same
        entry(
            "python",
            "PY073",
            "import datetime\nE = datetime.datetime.utcfromtimestamp(0)\n",
            "import datetime\nE = datetime.datetime.fromtimestamp(0, datetime.UTC).replace(tzinfo=None)\n",
            "execution-checked",
        ),
    ]
    report = check({"train": records})
    assert report.origins == {"rule": 1, "teacher": 1, "execution-checked": 1}
    assert report.library_kinds == {
        "numpy": {"rename": 1, "removal_with_replacement": 1, "mechanical": 1},
        "python": {"removal_with_replacement": 1, "mechanical": 0},
    }
    assert report.as_dict()["library_kinds"] == report.library_kinds
    text = format_report(report)
    header = next(line for line in text.splitlines() if line.startswith("library") and "mechanical" in line)
    assert header.split() == ["library", "removal_with_replacement", "rename", "mechanical"]
    assert [line.split() for line in text.splitlines() if line.startswith(("numpy ", "python "))][-2:] == [
        ["numpy", "1", "1", "1"],
        ["python", "1", "0", "0"],
    ]
