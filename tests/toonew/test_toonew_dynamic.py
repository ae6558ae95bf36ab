"""Names a module binds in a loop (``for key in table: globals()[key] = ...``, NumPy 1.16's
numerictypes) and star-exports by growing ``__all__``: they exist though the sources do not spell
them, so a missing name there is reported only when the knowledge base knows it is newer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recode_lsp.cli.main import main
from recode_lsp.engine.versions import Version
from recode_lsp.toonew.inventory import MISSING, inventory_for
from tests.toonew.test_toonew_fixture import ENTRIES, _write

DYNAMIC = {
    "tnlib/__init__.py": """
        from tnlib.types import *
        from tnlib.core import old_name, compute

        __all__ = ["old_name", "compute"]
        """,
    "tnlib/types.py": """
        _table = {"float32": float, "int64": int}
        __all__ = ["kinds"]
        kinds = list(_table)
        for key in _table:
            globals()[key] = _table[key]
            __all__.append(key)
        del key
        """,
    "tnlib/core.py": """
        def compute(data, axis=0, how="fast"):
            return data


        def old_name(x):
            return x
        """,
}

CODE = "import tnlib\n\na = tnlib.float32(1)\nb = tnlib.new_name(2)\nc = tnlib.kinds\n"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", DYNAMIC)
    monkeypatch.setenv("RECODE_RELEASES_DIR", str(dist))
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "project"
    root.mkdir()
    (root / "changes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ENTRIES), encoding="utf-8")
    (root / "pyproject.toml").write_text('[tool.recode]\nextra-changes = ["changes.jsonl"]\n', encoding="utf-8")
    (root / "code.py").write_text(CODE, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def test_loop_bound_names_are_not_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = inventory_for("tnlib", Version("1.0"), dist_dir=project.parent / "dist")
    assert inventory.resolve("tnlib.types.float32").soft  # may exist: bound in a loop
    assert inventory.resolve("tnlib.float32").state == MISSING and inventory.resolve("tnlib.float32").soft
    main(["--too-new", "--no-cache", "--format", "json", "--target", "tnlib==1.0", "code.py"])
    found = [(f["location"]["line"], f["code"]) for f in json.loads(capsys.readouterr().out)["findings"]]
    # ``float32`` may exist (bound in the loop); ``new_name`` is known to be newer (2.0): reported.
    assert found == [(4, "RCN-TNL001")]
