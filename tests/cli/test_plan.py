"""``recode-migrate --plan`` (issue 15), through the real console entry point, with no network.

pip is pointed at a dead index with no configuration file (``PIP_NO_INDEX``), so the newest
release falls back to the knowledge base, or comes from a local ``--find-links`` folder of wheel
names, which pip lists as an index would.
"""

from __future__ import annotations

import json
import os
import time
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cli_process import run_migrate

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "examples" / "legacy_project"
OFFLINE = {
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_INDEX_URL": "http://127.0.0.1:9/",
    "PIP_NO_INDEX": "1",
    "PIP_FIND_LINKS": "",
}

APP = """\
import numpy as np
import pandas as pd


def total(values):
    return np.product(values)


def member(a, b):
    return np.in1d(a, b)


def columns(path):
    df = pd.read_csv(path)
    return [name for name, _ in df.iteritems()]
"""


def _schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads(
        resources.files("recode_lsp.cli").joinpath("schemas/plan.schema.json").read_text()
    )
    return schema


def _plan_json(*args: str, cwd: Path, cache: Path, env: dict[str, str] | None = None) -> Any:
    completed = run_migrate("--plan", "--format", "json", *args, cwd=cwd, cache=cache, env={**OFFLINE, **(env or {})})
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    jsonschema.Draft202012Validator(_schema()).validate(document)
    return document


def _library(document: Any, name: str) -> Any:
    return next(item for item in document["libraries"] if item["library"] == name)


def _rows(item: Any) -> list[tuple[str, int, int, int, int, int, bool]]:
    """(version, errors, warnings, safe, unsafe, display, safe_only) per target, the current one first."""
    return [
        (row["version"], row["errors"], row["warnings"], row["safe"], row["unsafe"], row["display"], row["safe_only"])
        for row in item["targets"]
    ]


def _project(tmp_path: Path, *, pandas_requires_numpy: bool = True) -> Path:
    """requirements.txt pins numpy 1.26 and pandas 1.5.3; a virtual environment read as files has them."""
    project = tmp_path / "project"
    site = project / ".venv" / "lib" / "python3.11" / "site-packages"
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    for name, version, requires in (
        ("numpy", "1.26.4", []),
        ("pandas", "1.5.3", ["numpy>=1.21.0"] if pandas_requires_numpy else []),
    ):
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        headers = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        headers += [f"Requires-Dist: {line}" for line in [*requires, 'pytest>=6; extra == "test"']]
        (info / "METADATA").write_text("\n".join(headers) + "\n\nThe description.\n")
    (project / "requirements.txt").write_text("numpy==1.26\npandas==1.5.3\n")
    (project / "pyproject.toml").write_text('[tool.recode]\npython = ".venv/bin/python"\n')
    (project / "app.py").write_text(APP)
    return project


NUMPY_ROWS = [
    ("1.26", 0, 1, 1, 0, 0, True),  # np.product is deprecated in 1.25
    ("2.0", 1, 1, 1, 1, 0, False),  # np.product removed; np.in1d deprecated (an unsafe fix)
    ("2.1", 1, 1, 1, 1, 0, False),
    ("2.3", 1, 1, 1, 1, 0, False),
    ("2.4", 2, 0, 1, 1, 0, False),  # np.in1d removed
]
PANDAS_ROWS = [
    ("1.5.3", 0, 1, 1, 0, 0, True),  # DataFrame.iteritems is deprecated in 1.5
    ("2.0", 1, 0, 1, 0, 0, True),
    ("2.1", 1, 0, 1, 0, 0, True),
    ("2.2", 1, 0, 1, 0, 0, True),
    ("3.0", 1, 0, 1, 0, 0, True),
    ("3.1", 1, 0, 1, 0, 0, True),
]


def test_plan_of_a_pinned_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    document = _plan_json(".", cwd=project, cache=tmp_path / "cache")
    numpy, pandas = _library(document, "numpy"), _library(document, "pandas")
    assert [item["library"] for item in document["libraries"]] == ["numpy", "pandas"]
    assert _rows(numpy) == NUMPY_ROWS
    assert _rows(pandas) == PANDAS_ROWS
    assert numpy["pinned"] == {"version": "1.26", "file": "requirements.txt"}
    assert numpy["installed"] == "1.26.4" and pandas["installed"] == "1.5.3"  # read from the .venv's files
    assert numpy["current"] == {"version": "1.26", "source": "requirements.txt"}
    assert numpy["imported"] is True and pandas["requires"] == ["numpy"] and numpy["requires"] == []
    # Offline: the newest version is the knowledge base's, and the reason is given.
    assert numpy["newest"]["version"] == "2.4" and numpy["newest"]["source"] == "knowledge base"
    assert numpy["newest"]["reason"]
    assert (numpy["goal"], numpy["safe_upgrade_to"]) == ("2.4", None)
    assert (pandas["goal"], pandas["safe_upgrade_to"]) == ("3.1", "3.1")
    assert pandas["targets"][-1]["command"] == "recode-migrate --apply --select pandas --target pandas==3.1 ."
    assert numpy["targets"][-1]["command"].startswith("recode-migrate --diff --unsafe-fixes --select numpy ")
    # pandas needs only safe fixes, but it requires numpy: numpy goes first.
    assert [(step["library"], step["target"]) for step in document["order"]] == [
        ("numpy", "2.4"),
        ("pandas", "3.1"),
    ]
    assert "required by pandas" in document["order"][0]["reason"]
    # No pip answer was cached.
    assert not (tmp_path / "cache" / "plan" / "newest-releases.json").exists()


def test_plan_text_is_actionable(tmp_path: Path) -> None:
    project = _project(tmp_path)
    completed = run_migrate("--plan", ".", cwd=project, cache=tmp_path / "cache", env=OFFLINE)
    assert completed.returncode == 0, completed.stderr
    text = completed.stdout
    assert "NumPy (numpy): on 1.26 (requirements.txt), installed 1.26.4, newest the knowledge base knows 2.4" in text
    assert "    2.4                   2       2         0     1       1        0  needs unsafe or manual fixes" in text
    assert (
        "can be raised to 3.1 with safe fixes only: recode-migrate --apply --select pandas --target pandas==3.1 ."
        in text
    )
    assert "no newer version can be reached with safe fixes only" in text
    assert "  1. numpy -> 2.4: required by pandas; 2 errors, 0 warnings; needs 1 unsafe fix\n" in text
    assert "  2. pandas -> 3.1: after numpy, which it requires; 1 error, 0 warnings, safe fixes only\n" in text
    assert "rule: a library comes after the libraries it requires" in text
    assert "Offline: the package index did not answer for numpy, pandas" in text
    assert app_unchanged(project)


def app_unchanged(project: Path) -> bool:
    return (project / "app.py").read_text() == APP


def test_without_a_requirement_safe_upgrades_come_first(tmp_path: Path) -> None:
    project = _project(tmp_path, pandas_requires_numpy=False)
    document = _plan_json(".", cwd=project, cache=tmp_path / "cache")
    assert _library(document, "pandas")["requires"] == []
    assert [step["library"] for step in document["order"]] == ["pandas", "numpy"]


def test_newest_release_from_pip_is_cached_for_a_day(tmp_path: Path) -> None:
    project = _project(tmp_path)
    links = tmp_path / "links"
    links.mkdir()
    for name in ("numpy-2.4.6-py3-none-any.whl", "numpy-2.5.0-py3-none-any.whl", "numpy-3.0.0rc1-py3-none-any.whl"):
        (links / name).write_bytes(b"")  # pip lists versions from the file names
    cache = tmp_path / "cache"
    document = _plan_json(".", cwd=project, cache=cache, env={"PIP_FIND_LINKS": str(links)})
    numpy = _library(document, "numpy")
    assert numpy["newest"] == {"version": "2.5.0", "source": "index", "reason": None}
    assert _rows(numpy)[-1] == ("2.5.0", 2, 0, 1, 1, 0, False)
    assert [(row["version"], row["kinds"], row["released"]) for row in numpy["targets"]][-2:] == [
        ("2.4", ["knowledge base"], True),
        ("2.5.0", ["newest release"], True),
    ]
    assert numpy["goal"] == "2.5.0"
    assert [step["target"] for step in document["order"]] == ["2.5.0", "3.1"]
    entries = json.loads((cache / "plan" / "newest-releases.json").read_text())["entries"]
    assert entries["numpy"]["version"] == "2.5.0" and "pandas" not in entries  # pip had no pandas
    # A second run within the day asks nobody: the links are gone, the cached answer stays.
    for path in links.iterdir():
        path.unlink()
    again = _library(_plan_json(".", cwd=project, cache=cache, env={"PIP_FIND_LINKS": str(links)}), "numpy")
    assert again["newest"] == {"version": "2.5.0", "source": "cache", "reason": None}
    # An answer older than a day is asked again (and pip, offline now, falls back).
    entries["numpy"]["checked"] = time.time() - 2 * 86400
    (cache / "plan" / "newest-releases.json").write_text(json.dumps({"format": 1, "entries": entries}))
    stale = _library(_plan_json(".", cwd=project, cache=cache), "numpy")
    assert stale["newest"]["source"] == "knowledge base" and stale["newest"]["version"] == "2.4"


def test_a_newer_knowledge_base_version_than_the_newest_release_is_marked_unreleased(tmp_path: Path) -> None:
    project = _project(tmp_path)
    links = tmp_path / "links"
    links.mkdir()
    (links / "pandas-2.2.3-py3-none-any.whl").write_bytes(b"")
    document = _plan_json(".", cwd=project, cache=tmp_path / "cache", env={"PIP_FIND_LINKS": str(links)})
    pandas = _library(document, "pandas")
    released = [(row["version"], row["released"]) for row in pandas["targets"]]
    assert released == [
        ("1.5.3", True),
        ("2.0", True),
        ("2.1", True),
        ("2.2", True),
        ("2.2.3", True),
        ("3.0", False),
        ("3.1", False),
    ]
    assert (pandas["goal"], pandas["safe_upgrade_to"]) == ("2.2.3", "2.2.3")


def test_plan_of_the_bundled_example(tmp_path: Path) -> None:
    document = _plan_json(cwd=LEGACY, cache=tmp_path / "cache")
    assert [item["library"] for item in document["libraries"]] == [
        "numpy",
        "pandas",
        "pydantic",
        "python",
        "sqlalchemy",
    ]
    assert _rows(_library(document, "numpy")) == [
        ("2.0", 10, 0, 10, 0, 0, True),
        ("2.1", 10, 0, 10, 0, 0, True),
        ("2.3", 10, 0, 10, 0, 0, True),
        ("2.4", 10, 0, 10, 0, 0, True),
    ]
    assert _rows(_library(document, "pandas")) == [
        ("2.0", 4, 0, 2, 1, 1, False),
        ("2.1", 4, 0, 2, 1, 1, False),
        ("2.2", 4, 0, 2, 1, 1, False),
        ("3.0", 4, 0, 2, 1, 1, False),
        ("3.1", 4, 0, 2, 1, 1, False),
    ]
    # pydantic's entries are being curated: its numbers are compared with a check below.
    assert [row["version"] for row in _library(document, "pydantic")["targets"]] == ["2.5"]
    assert _rows(_library(document, "python")) == [
        ("3.12", 2, 2, 4, 0, 0, True),
        ("3.13", 2, 2, 4, 0, 0, True),
        ("3.14", 2, 2, 4, 0, 0, True),
    ]
    assert _rows(_library(document, "sqlalchemy")) == [("2.0", 1, 0, 0, 1, 0, False)]
    # The current rows are what a check of the example reports, library by library.
    check = run_migrate("--format", "json", cwd=LEGACY, cache=tmp_path / "cache")
    by_library = json.loads(check.stdout)["summary"]["by_library"]
    assert by_library == {item["library"]: item["targets"][0]["findings"] for item in document["libraries"]}
    verdicts = {item["library"]: item["safe_upgrade_to"] for item in document["libraries"]}
    assert verdicts == {"numpy": "2.4", "pandas": None, "pydantic": None, "python": "3.14", "sqlalchemy": None}
    # pydantic and sqlalchemy are on the newest version the knowledge base knows: nothing to order.
    assert [(step["library"], step["target"]) for step in document["order"]] == [
        ("python", "3.14"),
        ("numpy", "2.4"),
        ("pandas", "3.1"),
    ]


@pytest.mark.parametrize("name", ["plan.html", "plan.md"])
def test_plan_report_has_a_chart(tmp_path: Path, name: str) -> None:
    project = _project(tmp_path)
    report = tmp_path / "out" / name
    completed = run_migrate(
        "--plan", "--plan-report", str(report), ".", cwd=project, cache=tmp_path / "cache", env=OFFLINE
    )
    assert completed.returncode == 0, completed.stderr
    assert f"wrote the upgrade plan to {report}" in completed.stderr
    text = report.read_text(encoding="utf-8")
    assert text.count("<svg") == 2 and text.count("</svg>") == 2  # one chart per library
    # numpy's tallest bar (2 errors at 2.4, the fifth) fills the chart; at 2.0 (the second) an error
    # is stacked on a warning.
    assert '<rect x="226" y="24" width="34" height="160" fill="#c0392b"><title>2 errors</title></rect>' in text
    assert '<rect x="70" y="104" width="34" height="80" fill="#e6a23c"><title>1 warning</title></rect>' in text
    assert '<rect x="70" y="24" width="34" height="80" fill="#c0392b"><title>1 error</title></rect>' in text
    assert "<script" not in text and "src=" not in text and "href=" not in text
    assert "recode-migrate --apply --select pandas --target pandas==3.1 ." in text
    if name.endswith(".html"):
        assert text.startswith("<!DOCTYPE html>") and "<td>2.4</td><td>2</td><td>2</td>" in text
    else:
        assert text.startswith("# Upgrade plan") and "| 2.4 | 2 | 2 | 0 | 1 | 1 | 0 | 1 |" in text
        assert "1. **numpy \u2192 2.4**" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plan", "--apply"], "--plan changes nothing"),
        (["--plan", "--format", "sarif"], "--plan prints text or json"),
        (["--plan-report", "x.md"], "--plan-report goes with --plan"),
        (["--plan", "-"], "--plan reads a project's files, not stdin"),
    ],
)
def test_plan_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    completed = run_migrate(*args, cwd=tmp_path, cache=tmp_path / "cache", env=OFFLINE)
    assert completed.returncode == 2
    assert message in completed.stderr
