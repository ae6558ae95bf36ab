"""Compiled modules of a release are names that exist (what they hold is unknown), not missing ones.

A release is unpacked with its Python files only; its extensions (a wheel's ``.so``), their Cython
sources and the modules its build files name (meson's ``extension_module``, ``add_extension``,
``Extension``) get an empty stand-in (``name.compiled``) beside them, which the inventory reads as a
name it cannot see into. Without them SciPy 1.10.1's own tests (``scipy.interpolate.dfitpack``, built
by f2py, ``interpnd`` from Cython) and scikit-learn 1.2.2's (``sklearn.utils.murmurhash``...) were
reported as using names their release lacks (issue 19: none on real old code)."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from recode_lsp import api_docs
from recode_lsp.cli.main import main
from recode_lsp.engine.versions import Version
from recode_lsp.toonew.inventory import FOUND, MISSING, UNKNOWN, inventory_for

SDIST = {
    "tnlib-1.0/setup.py": 'from setuptools import Extension\nExtension("tnlib.sub.hashing", ["hashing.c"])\n',
    "tnlib-1.0/tnlib/__init__.py": '"""tnlib 1.0."""\nfrom tnlib.core import compute\n',
    "tnlib-1.0/tnlib/core.py": "def compute(data, axis=0):\n    return data\n",
    "tnlib-1.0/tnlib/fast.pyx": "def go():\n    pass\n",
    "tnlib-1.0/tnlib/pure.pyx": "",  # a Cython source beside a Python module of its name
    "tnlib-1.0/tnlib/pure.py": "X = 1\n",
    "tnlib-1.0/tnlib/meson.build": "py3.extension_module('dfit',\n  ['dfit.pyf'],\n  install: true)\n",
    "tnlib-1.0/tnlib/sub/__init__.py": "",
    "tnlib-1.0/tnlib/sub/setup.py": "config.add_extension('spline', sources=['spline.c'])\n",
    "tnlib-1.0/tnlib/tests/helper.pyx": "",  # tests are never unpacked
    "tnlib-1.0/docs/meson.build": "py.extension_module('example', [])\n",  # no package there
}
WHEEL = {
    "tnlib/__init__.py": "",
    "tnlib/_core.cpython-311-x86_64-linux-gnu.so": "\x7fELF",
    "tnlib/fastmath.cpython-311-x86_64-linux-gnu.so": "\x7fELF",
    "tnlib/io/__init__.py": "",
    "tnlib/io/reader.cp311-win_amd64.pyd": "MZ",
    "tnlib-1.0.dist-info/METADATA": "Name: tnlib\nVersion: 1.0\n",
}


def _sdist(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in SDIST.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _stand_ins(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(f"*{api_docs.COMPILED_STAND_IN}"))


def test_an_sdist_unpacks_with_stand_ins_for_its_compiled_modules(tmp_path: Path) -> None:
    destination = tmp_path / "src"
    api_docs._unpack(_sdist(tmp_path / "tnlib-1.0.tar.gz"), destination)
    assert _stand_ins(destination) == [
        "tnlib/dfit.compiled",  # meson's extension_module
        "tnlib/fast.compiled",  # a Cython source
        "tnlib/sub/hashing.compiled",  # setuptools' Extension, dotted from the root
        "tnlib/sub/spline.compiled",  # numpy.distutils' add_extension beside its setup.py
    ]
    assert (destination / "tnlib" / "pure.py").is_file() and not (destination / "tnlib" / "fast.pyx").exists()
    assert not (destination / "docs").exists()
    assert all(path.stat().st_size == 0 for path in destination.rglob("*.compiled"))


def test_a_wheel_unpacks_with_stand_ins_for_its_extensions(tmp_path: Path) -> None:
    wheel = tmp_path / "tnlib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in WHEEL.items():
            archive.writestr(name, text)
    destination = tmp_path / "src"
    api_docs._unpack(wheel, destination)
    assert _stand_ins(destination) == ["tnlib/_core.compiled", "tnlib/fastmath.compiled", "tnlib/io/reader.compiled"]


@pytest.fixture()
def releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    _sdist(dist / "tnlib-1.0.tar.gz")
    monkeypatch.setenv("RECODE_RELEASES_DIR", str(dist))
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    return dist


def test_compiled_modules_are_unknown_not_missing(releases: Path) -> None:
    inventory = inventory_for("tnlib", Version("1.0"), dist_dir=releases)
    for name in ("tnlib.fast", "tnlib.dfit", "tnlib.sub.spline", "tnlib.sub.hashing", "tnlib.fast.anything"):
        assert inventory.resolve(name).state == UNKNOWN, name
    assert inventory.resolve("tnlib.compute").state == FOUND
    assert inventory.resolve("tnlib.pure.X").state == FOUND
    assert inventory.resolve("tnlib.nothing_here").state == MISSING
    assert inventory.resolve("tnlib.sub.nothing_here").state == MISSING


def test_only_the_missing_name_is_reported(
    releases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\ndependencies = ['tnlib==1.0']\n")
    (project / "code.py").write_text(
        textwrap.dedent(
            """\
            import tnlib.sub.hashing
            from tnlib import dfit, fast, nothing_here
            from tnlib.sub import spline

            x = fast.go() + dfit.curfit(1) + spline.make(2) + tnlib.sub.hashing.murmur(3)
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(project)
    main(["--too-new", "--no-cache", "--format", "json", "code.py"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["location"]["line"], f["code"], f["message"]) for f in found] == [
        (2, "RCN001", "`tnlib.nothing_here` does not exist in tnlib 1.0")
    ]


def test_a_release_unpacked_before_is_fetched_again_or_used_when_it_cannot_be(tmp_path: Path) -> None:
    """A release unpacked before the stand-ins existed (no ``layout`` in its ``release.json``) is fetched
    again; where pip cannot (offline), it is used as it is rather than not at all."""
    folder = tmp_path / "tnlib-1.0"
    (folder / "src" / "tnlib").mkdir(parents=True)
    (folder / "src" / "tnlib" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "release.json").write_text(json.dumps({"version": "1.0.2"}), encoding="utf-8")
    docs = api_docs.ApiDocs(tmp_path, pip_command=["false"], timeout=30)
    assert docs._fetched("tnlib", Version("1.0")) is None
    assert docs._fetch("tnlib", Version("1.0")) == (folder / "src", "1.0.2")
    assert docs.pip_runs >= 1  # it did try
    assert docs._fetch("tnlib", Version("1.0")) == (folder / "src", "1.0.2")  # the failure remembered
    (tmp_path / "other-1.0").mkdir()
    with pytest.raises(api_docs.FetchError):
        docs._fetch("other", Version("1.0"))
