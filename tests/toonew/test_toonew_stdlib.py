"""The standard library across Python versions: names a later Python added (``itertools.batched``
3.12, ``datetime.UTC`` 3.11, ``tomllib`` 3.11) flagged against an older target with the right version,
read from typeshed's stubs (no other Python needed); names that exist are not flagged; real modules
written for Python 3.10 give nothing."""

from __future__ import annotations

import json
import random
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from recode_lsp.cli.main import main
from recode_lsp.engine.versions import Version
from recode_lsp.toonew import stdlib
from recode_lsp.toonew.inventory import FOUND, MISSING

pytestmark = pytest.mark.skipif(stdlib.find_typeshed() is None, reason="no typeshed at hand (mypy, typeshed_client)")

CODE = """\
import itertools
import tomllib
import datetime as dt
from datetime import UTC, timezone
from itertools import batched, chain
import os
import sys
from pathlib import Path


def run(values):
    for chunk in itertools.batched(values, 2):
        print(chunk)
    now = dt.datetime.now(UTC)
    later = dt.UTC
    flat = itertools.chain.from_iterable(values)
    here = os.path.join("a", "b")
    if sys.version_info >= (3, 11):
        error = sys.exception()
    try:
        import tomllib as toml
    except ImportError:
        toml = None
    return now, later, flat, here, timezone.utc, Path(".").exists(), toml, chain, batched


def guarded_elsewhere(values):
    return itertools.batched(values, 2)  # type: ignore[attr-defined]
"""


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "project"
    root.mkdir()
    (root / "code.py").write_text(CODE, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def _found(capsys: pytest.CaptureFixture[str], *args: str, path: str = "code.py") -> list[tuple[int, str, str]]:
    main(["--too-new", "--no-cache", "--format", "json", "--select", "RCN", *args, path])
    report = json.loads(capsys.readouterr().out)
    return sorted((f["location"]["line"], f["code"], f["message"]) for f in report["findings"])


def test_later_names_flagged_with_the_version(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _found(capsys, "--target", "python==3.10")
    assert found == [
        (2, "RCN001", "`tomllib` does not exist in Python 3.10 (added in 3.11)"),
        (4, "RCN001", "`datetime.UTC` does not exist in Python 3.10 (added in 3.11)"),
        (5, "RCN001", "`itertools.batched` does not exist in Python 3.10 (added in 3.12)"),
        (12, "RCN001", "`itertools.batched` does not exist in Python 3.10 (added in 3.12)"),
        (15, "RCN001", "`datetime.UTC` does not exist in Python 3.10 (added in 3.11)"),
    ]


def test_by_version(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 3.11 has UTC and tomllib, not batched; 3.12 has everything: nothing is flagged.
    assert {line for line, _, _ in _found(capsys, "--target", "python==3.11")} == {5, 12}
    assert _found(capsys, "--target", "python==3.12") == []


#: Methods a later Python added, called on receivers the walk knows the class of (a class called, under
#: its own name or another) and on one it does not: the lexical pre-check must keep the module.
TYPED = """\
import pathlib
from pathlib import Path as P


def files(root, tree):
    for folder, _, names in P(root).walk():
        yield folder, names
    here = pathlib.Path(root)
    yield here.walk()
    yield tree.walk()
"""


def test_newer_methods_of_typed_receivers(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "typed.py").write_text(TYPED, encoding="utf-8")
    walk = "`pathlib.Path.walk` does not exist in Python 3.11 (added in 3.12)"
    assert _found(capsys, "--target", "python==3.11", path="typed.py") == [(6, "RCN001", walk), (9, "RCN001", walk)]
    assert _found(capsys, "--target", "python==3.12", path="typed.py") == []


def test_inventory_of_a_module_at_a_version() -> None:
    itertools_310 = stdlib.inventory_for_module("itertools", Version("3.10"))
    assert itertools_310 is not None
    assert itertools_310.resolve("itertools.batched").state == MISSING
    assert itertools_310.added["itertools.batched"] == "3.12"
    assert itertools_310.resolve("itertools.chain.from_iterable").state == FOUND
    pathlib_311 = stdlib.inventory_for_module("pathlib", Version("3.11"))
    assert pathlib_311 is not None
    assert pathlib_311.added.get("pathlib.Path.walk") == "3.12"  # a method, found through the class
    # Inherited members are no news: UserDict.get is new in the stub's body, not at run time.
    collections_310 = stdlib.inventory_for_module("collections", Version("3.10"))
    assert collections_310 is not None and "collections.UserDict.get" not in collections_310.added
    tomllib_310 = stdlib.inventory_for_module("tomllib", Version("3.10"))
    assert tomllib_310 is not None and tomllib_310.absent and tomllib_310.added == {"tomllib": "3.11"}
    assert stdlib.inventory_for_module("asynchat", Version("3.12")) is None  # removed: not checked


def test_without_typeshed_nothing_is_reported(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(stdlib.ENV, str(tmp_path / "no-typeshed"))
    assert _found(capsys, "--target", "python==3.10") == []


def _packages_for(python: str) -> list[Path]:
    """Folders of installed pure-Python packages whose Requires-Python admits ``python``."""
    folders = []
    for name in ("packaging", "pathspec", "httpx", "httpcore", "anyio", "pygls", "lsprotocol", "griffe", "attrs"):
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        requires = distribution.metadata.get("Requires-Python") or ""
        if requires and not SpecifierSet(requires).contains(python):
            continue
        top = (distribution.read_text("top_level.txt") or name).split()[0]
        folder = Path(str(distribution.locate_file(top)))
        if folder.is_dir():
            folders.append(folder)
    return folders


def test_no_false_positives_on_real_modules_written_for_3_10(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 modules of installed libraries that declare Python 3.10 support, against python==3.10."""
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    modules = sorted(p for folder in _packages_for("3.10") for p in folder.rglob("*.py") if "tests" not in p.parts)
    if len(modules) < 100:
        pytest.skip(f"only {len(modules)} modules of libraries for Python 3.10 installed")
    corpus = tmp_path / "corpus"
    for index, module in enumerate(random.Random(19).sample(modules, min(200, len(modules)))):
        destination = corpus / f"m{index:03d}_{module.name}"
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(module, destination)
    assert sys.version_info >= (3, 10)
    assert _found(capsys, "--target", "python==3.10", path=str(corpus)) == []
