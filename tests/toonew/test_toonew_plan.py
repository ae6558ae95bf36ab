"""``recode-migrate --plan --too-new``: which pins would have to rise to make the code valid, for a
library the test writes (``tnlib`` 1.0, 1.5 and 2.0 as unpacked releases) and for Python (typeshed),
in text, JSON (validated against the schema) and the Markdown / HTML report."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from recode_lsp.cli.main import main
from recode_lsp.toonew.stdlib import find_typeshed
from tests.toonew.test_toonew_fixture import ENTRIES, V1, V2, _write

#: tnlib 1.5 added ``tnlib.extra`` (no knowledge-base entry says so: the releases' inventories do).
V15 = {**V1, "tnlib/extra.py": V2["tnlib/extra.py"]}

CODE = """\
import itertools
import tomllib
import tnlib
import tnlib.extra

a = tnlib.new_name(1)
b = tnlib.compute([1], method="slow")
c = tnlib.nothing_here
d = itertools.batched([1, 2], 1)
e = tnlib.new_name(2)
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", V1)
    _write(dist / "tnlib-1.5", V15)
    _write(dist / "tnlib-2.0", V2)
    monkeypatch.setenv("RECODE_RELEASES_DIR", str(dist))
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    # No package index: the newest releases come from the knowledge base (and nothing is fetched).
    for name, value in {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": "http://127.0.0.1:9/",
        "PIP_NO_INDEX": "1",
    }.items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "project"
    root.mkdir()
    (root / "changes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ENTRIES), encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "p"\nrequires-python = ">=3.10"\n\n[tool.recode]\nextra-changes = ["changes.jsonl"]\n',
        encoding="utf-8",
    )
    (root / "requirements.txt").write_text("tnlib==1.0\n", encoding="utf-8")
    (root / "code.py").write_text(CODE, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def _schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads(
        resources.files("recode_lsp.cli").joinpath("schemas/plan.schema.json").read_text()
    )
    return schema


def test_pins_to_raise_in_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plan", "--too-new", "--format", "json", "."]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(_schema()).validate(document)
    by_library = {item["library"]: item for item in document["too_new"]}
    tnlib = by_library["tnlib"]
    assert tnlib["current"] == {"version": "1.0", "source": "requirements.txt"}
    assert tnlib["minimum"] == "2.0"
    assert tnlib["undated"] == 1
    names = {(n["name"], n["keyword"]): (n["introduced"], n["source"], n["uses"]) for n in tnlib["names"]}
    assert names == {
        ("tnlib.new_name", None): ("2.0", "knowledge base", 2),
        ("tnlib.compute", "method"): ("2.0", "knowledge base", 1),
        ("tnlib.extra", None): ("1.5", "release inventories", 1),  # bisected: 1.5 has it, 1.0 does not
        ("tnlib.nothing_here", None): (None, None, 1),  # in no release
    }
    if find_typeshed() is not None:
        python = by_library["python"]
        assert python["current"] == {"version": "3.10", "source": "requires-python"}
        assert python["minimum"] == "3.12"
        assert {n["name"]: n["introduced"] for n in python["names"]} == {
            "itertools.batched": "3.12",
            "tomllib": "3.11",
        }


def test_a_modules_own_package_needs_no_pin(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The project holds tnlib's own source: its modules' uses of tnlib raise no pin (as ``--check`` leaves
    them out); code.py's still do."""
    (project / "code.py").unlink()
    _write(project, {"tnlib/__init__.py": "", "tnlib/work.py": CODE})
    assert main(["--plan", "--too-new", "--format", "json", "."]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "tnlib" not in {item["library"] for item in document["too_new"]}
    (project / "code.py").write_text(CODE, encoding="utf-8")
    assert main(["--plan", "--too-new", "--format", "json", "."]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "tnlib" in {item["library"] for item in document["too_new"]}


def test_pins_to_raise_in_text_and_reports(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plan", "--too-new", "--plan-report", "plan.md", "."]) == 0
    text = capsys.readouterr().out
    assert "Pins that would have to rise for the code's too-new names (--too-new):" in text
    assert "  tnlib: on 1.0 (requirements.txt), needs 2.0 or newer; 1 name in no release read\n" in text
    assert "      tnlib.extra: added in 1.5 (release inventories); 1 use in 1 file\n" in text
    assert "      tnlib.new_name: added in 2.0 (knowledge base); 2 uses in 1 file\n" in text
    report = (project / "plan.md").read_text(encoding="utf-8")
    assert "## Pins that would have to rise for the code's too-new names" in report
    assert "- `tnlib.compute(method=)`: added in 2.0 (knowledge base); 1 use in 1 file" in report
    assert main(["--plan", "--too-new", "--plan-report", "plan.html", "."]) == 0
    page = (project / "plan.html").read_text(encoding="utf-8")
    assert "<h3>tnlib: on 1.0 (requirements.txt), needs 2.0 or newer; 1 name in no release read</h3>" in page


def test_not_asked_without_too_new(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plan", "--format", "json", "."]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(_schema()).validate(document)
    assert document["too_new"] is None
    (project / "code.py").write_text("import tnlib\n\na = tnlib.old_name(1)\n", encoding="utf-8")
    assert main(["--plan", "--too-new", "--format", "json", "."]) == 0
    assert json.loads(capsys.readouterr().out)["too_new"] == []
