"""The validator's "does the new name exist in the target version" check, on a real package."""

from __future__ import annotations

from pathlib import Path

import pytest

from recode_lsp.engine import DetectOptions, analyse, detect, fix_and_validate
from recode_lsp.engine.names import InstalledNames, _module_file, _top_level, name_exists_in_installed
from recode_lsp.engine.versions import Version, installed_versions
from tests.conftest import make_kb


@pytest.fixture
def fakelib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed package ``fakelib`` 2.1 (with dist-info), never imported by the check."""
    package = tmp_path / "fakelib"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\nfrom .core import new_name\n")
    (package / "core.py").write_text("def new_name():\n    pass\n")
    (package / "sub" / "__init__.py").write_text("class Moved:\n    pass\n")
    (package / "dyn.py").write_text("def __getattr__(name):\n    return name\n")
    info = tmp_path / "fakelib-2.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakelib\nVersion: 2.1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _module_file.cache_clear()
    _top_level.cache_clear()
    return package


def test_static_lookup(fakelib: Path) -> None:
    assert name_exists_in_installed("fakelib.new_name") is True
    assert name_exists_in_installed("fakelib.sub.Moved") is True
    assert name_exists_in_installed("fakelib.core") is True
    assert name_exists_in_installed("fakelib.missing") is False
    assert name_exists_in_installed("fakelib.sub.Missing") is False
    assert name_exists_in_installed("fakelib.dyn.anything") is None
    assert name_exists_in_installed("bool") is True


def test_checked_only_at_the_target_version(fakelib: Path) -> None:
    installed = installed_versions(["fakelib"])
    assert installed["fakelib"] == Version("2.1")
    assert InstalledNames({"fakelib": Version("2.1")}, installed)("fakelib.missing", "fakelib") is False
    assert InstalledNames({"fakelib": Version("3.0")}, installed)("fakelib.missing", "fakelib") is None


def test_validator_rejects_a_fix_to_a_name_the_target_lacks(fakelib: Path) -> None:
    kb = make_kb(
        [
            {
                "id": "FK001",
                "library": "fakelib",
                "old": "fakelib.old_name",
                "kind": "rename",
                "new": "fakelib.new_name",
                "removed_in": "2.0",
            },
            {
                "id": "FK002",
                "library": "fakelib",
                "old": "fakelib.gone",
                "kind": "rename",
                "new": "fakelib.typo_name",
                "removed_in": "2.0",
            },
        ]
    )
    source = "import fakelib\nfakelib.old_name()\nfakelib.gone()\n"
    options = DetectOptions(targets={"fakelib": Version("2.1")})
    analysis = analyse(source)
    findings = detect(source, kb, options, analysis=analysis)
    checker = InstalledNames(options.targets, installed_versions(["fakelib"]))
    outcome = fix_and_validate(analysis, findings, kb, options, name_exists=checker)
    assert outcome.source == "import fakelib\nfakelib.new_name()\nfakelib.gone()\n"
    (rejected,) = outcome.skipped
    assert rejected[0].code == "FK002"
    assert "`fakelib.typo_name` does not exist in the target version of fakelib" in rejected[1]
