"""``recode-migrate --plan`` with Jupyter notebooks: their imports count, and they can be left out.

Offline as in tests/cli/test_plan.py: pip is pointed at a dead index, so the newest release
comes from the knowledge base.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.cli_process import run_migrate

OFFLINE = {
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_INDEX_URL": "http://127.0.0.1:9/",
    "PIP_NO_INDEX": "1",
    "PIP_FIND_LINKS": "",
}

#: A notebook that imports pandas after a magic, and uses an API pandas 2.0 removed.
NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Columns"]},
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": ["%matplotlib inline\n", "import pandas as pd"],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": ["df = pd.DataFrame({'a': [1]})\n", "names = [name for name, _ in df.iteritems()]"],
        },
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 4,
}


def _project(tmp_path: Path, tool_recode: str = "") -> Path:
    """A project whose only code is a notebook: no pins, no targets."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[project]\nname = "nb"\n\n[tool.recode]\n{tool_recode}')
    (project / "columns.ipynb").write_text(json.dumps(NOTEBOOK, indent=1) + "\n")
    return project


def _plan(project: Path, cache: Path, *args: str) -> Any:
    completed = run_migrate("--plan", "--format", "json", *args, ".", cwd=project, cache=cache, env=OFFLINE)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_a_notebooks_imports_bring_its_library_into_the_plan(tmp_path: Path) -> None:
    document = _plan(_project(tmp_path), tmp_path / "cache")
    assert document["files"] == 1
    [pandas] = [item for item in document["libraries"] if item["library"] == "pandas"]
    assert pandas["imported"] is True
    # The notebook's DataFrame.iteritems (deprecated in 1.5, removed in 2.0) counts in every row.
    assert pandas["targets"] and all(row["findings"] == 1 and row["files"] == 1 for row in pandas["targets"])


def test_no_notebooks_leaves_them_out_of_the_plan(tmp_path: Path) -> None:
    project = _project(tmp_path)
    document = _plan(project, tmp_path / "cache", "--no-notebooks")
    assert document["files"] == 0
    assert "pandas" not in [item["library"] for item in document["libraries"]]
    (project / "pyproject.toml").write_text('[project]\nname = "nb"\n\n[tool.recode]\nnotebooks = false\n')
    document = _plan(project, tmp_path / "cache")
    assert document["files"] == 0
    assert "pandas" not in [item["library"] for item in document["libraries"]]
    document = _plan(project, tmp_path / "cache", "--notebooks")  # the flag wins over the file
    assert document["files"] == 1
