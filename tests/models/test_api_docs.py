"""Current API docs: read statically from what is installed, else from a release fetched once.

Releases of a small ``fakelib`` are built on the fly and served to the real ``pip download``
from a local folder (``PIP_FIND_LINKS`` + ``PIP_NO_INDEX``, the user's pip configuration
switched off), so nothing here needs a network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recode_lsp.api_docs import ApiDocs
from recode_lsp.engine.changes import ApiChange, ChangeKind, FixSafety, Scope
from recode_lsp.engine.versions import Version
from tests.models.packages import build_sdist, build_wheel, install_into

#: ``fakelib/__init__.py`` of both releases ends with this: reading it statically is fine,
#: importing it is the bug these tests would catch.
NEVER_IMPORT = 'raise ImportError("fakelib must be read statically, never imported")\n'

FAKELIB_1 = {
    "fakelib/__init__.py": '"""Fake library 1.0."""\nfrom fakelib._impl import compute, old_function\n' + NEVER_IMPORT,
    "fakelib/_impl.py": '''
        def compute(x, scale=1):
            """Compute x the 1.0 way."""
            return x * scale


        def old_function():
            """Removed in 2.0."""
    ''',
}

FAKELIB_2 = {
    "fakelib/__init__.py": '''"""Fake library 2.0."""
from fakelib import sub
from fakelib._impl import Engine, compute, new_function
from fakelib.native import convert

RATE: float = 2.5
"""The default rate."""
'''
    + NEVER_IMPORT,
    "fakelib/_impl.py": '''
        def compute(x: float, *, scale: float = 2.0, precise: bool = False) -> float:
            """Compute x with the 2.0 algorithm.

            The scale is keyword-only since 2.0.
            """
            return x * scale


        def new_function(values: list[int]) -> int:
            """Sum the values (new in 2.0)."""
            return sum(values)


        class Engine:
            """A connection engine."""

            def __init__(self, url: str, echo: bool = False) -> None:
                self.url = url
    ''',
    "fakelib/sub.py": '"""Helpers for fakelib 2.0."""\n',
    # A compiled module: only its stub is in the wheel, and it declares overloads.
    "fakelib/native.pyi": """
        from typing import overload

        @overload
        def convert(x: int) -> int: ...
        @overload
        def convert(x: str) -> str: ...
    """,
    "fakelib/tests/test_big.py": "def test_nothing():\n    pass\n",
}


def _change(doc: str | None = "compute(x, *, scale) from the knowledge base") -> ApiChange:
    return ApiChange(
        id="FAK001",
        library="fakelib",
        old="fakelib.old_function",
        kind=ChangeKind.REMOVAL_WITH_REPLACEMENT,
        scope=Scope.MODULE,
        new="fakelib.compute",
        replacement=None,
        template=None,
        template_on=None,
        old_keyword=None,
        new_keyword=None,
        deprecated_in=None,
        removed_in=Version("2.0"),
        note="old_function was removed in 2.0; use compute.",
        doc=doc,
        source="test",
        fix=FixSafety.DISPLAY_ONLY,
    )


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("index")
    build_wheel(folder, "fakelib", "1.0", FAKELIB_1)
    build_wheel(folder, "fakelib", "2.0", FAKELIB_2)
    # Built for another Python and platform only: pip must be told which tags to accept.
    build_wheel(
        folder,
        "fakeplat",
        "1.0",
        {"fakeplat/__init__.py": 'def speed(n: int) -> int:\n    """Fast, from a cp39 wheel."""\n'},
        tag="cp39-cp39-manylinux2014_x86_64",
    )
    build_sdist(
        folder,
        "fakesd",
        "1.0",
        {"src/fakesd/__init__.py": 'def only_in_sdist(a, b=2):\n    """From the sdist."""\n'},
    )
    return folder


def pip_env(index: Path) -> dict[str, str]:
    """pip sees only ``index``: no configuration files, no network, no cache."""
    return {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(index),
        "PIP_NO_CACHE_DIR": "1",
    }


@pytest.fixture
def private_index(index: Path, tmp_path: Path) -> Path:
    """A copy of the index that a test may delete."""
    return Path(shutil.copytree(index, tmp_path / "index"))


@pytest.fixture
def fakelib_1_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """fakelib 1.0 installed on this interpreter's path (as mid-migration: old one installed)."""
    site = install_into(tmp_path / "site-1", "fakelib", "1.0", FAKELIB_1)
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def fakelib_2_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = install_into(tmp_path / "site-2", "fakelib", "2.0", FAKELIB_2)
    monkeypatch.syspath_prepend(str(site))
    return site


def docs_for(index: Path, cache: Path, **kwargs: object) -> ApiDocs:
    return ApiDocs(cache, env=pip_env(index), timeout=120, **kwargs)  # type: ignore[arg-type]


# --- installed --------------------------------------------------------------------------


def test_installed_target_is_read_statically(fakelib_2_installed: Path, tmp_path: Path) -> None:
    docs = docs_for(tmp_path / "no-index", tmp_path / "cache")
    doc = docs.lookup("fakelib.compute", "fakelib", Version("2.0"), _change())
    assert doc.origin == "installed"
    assert doc.version == "2.0"
    assert doc.kind == "function"
    assert doc.signature == "compute(x: float, *, scale: float = 2.0, precise: bool = False) -> float"
    assert doc.docstring == "Compute x with the 2.0 algorithm.\n\nThe scale is keyword-only since 2.0."
    assert "installed in" in doc.note
    assert docs.pip_runs == 0
    assert "fakelib" not in sys.modules


def test_no_target_means_whatever_is_installed(fakelib_2_installed: Path, tmp_path: Path) -> None:
    docs = docs_for(tmp_path / "no-index", tmp_path / "cache")
    doc = docs.lookup("fakelib.new_function", "fakelib", None)
    assert (doc.origin, doc.version) == ("installed", "2.0")
    assert doc.signature == "new_function(values: list[int]) -> int"


def test_a_same_named_folder_in_the_working_directory_is_not_read(
    fakelib_2_installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """griffe reads a name as a path first: a ``fakelib/`` folder where the editor runs (a project's
    own copy) was read instead of the installed release."""
    work = tmp_path / "work"
    (work / "fakelib").mkdir(parents=True)
    (work / "fakelib" / "__init__.py").write_text('def compute(y):\n    """A local copy."""\n', encoding="utf-8")
    monkeypatch.chdir(work)
    doc = docs_for(tmp_path / "no-index", tmp_path / "cache").lookup("fakelib.compute", "fakelib", Version("2.0"))
    assert doc.signature == "compute(x: float, *, scale: float = 2.0, precise: bool = False) -> float"


def test_same_major_minor_counts_as_installed(fakelib_2_installed: Path, tmp_path: Path) -> None:
    docs = docs_for(tmp_path / "no-index", tmp_path / "cache")
    assert docs.lookup("fakelib.compute", "fakelib", Version("2.0.3")).origin == "installed"


def test_classes_attributes_modules_and_overloads(fakelib_2_installed: Path, tmp_path: Path) -> None:
    docs = docs_for(tmp_path / "no-index", tmp_path / "cache")
    engine = docs.lookup("fakelib.Engine", "fakelib", Version("2.0"))
    assert (engine.kind, engine.signature, engine.docstring) == (
        "class",
        "Engine(url: str, echo: bool = False)",
        "A connection engine.",
    )
    rate = docs.lookup("fakelib.RATE", "fakelib", Version("2.0"))
    assert (rate.kind, rate.signature, rate.docstring) == ("attribute", None, "The default rate.")
    module = docs.lookup("fakelib.sub", "fakelib", Version("2.0"))
    assert (module.kind, module.signature, module.docstring) == ("module", None, "Helpers for fakelib 2.0.")
    # Re-exported from a stub-only module that declares overloads: both are shown.
    convert = docs.lookup("fakelib.convert", "fakelib", Version("2.0"))
    assert convert.signature == "convert(x: int) -> int\nconvert(x: str) -> str"
    assert convert.origin == "installed"


@pytest.mark.skipif(sys.platform == "win32", reason="the venv layout differs")
def test_installed_in_another_interpreter(index: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    install_into(Path(site), "fakelib", "2.0", FAKELIB_2)
    docs = docs_for(tmp_path / "no-index", tmp_path / "cache", interpreter=str(python))
    doc = docs.lookup("fakelib.compute", "fakelib", Version("2.0"))
    assert (doc.origin, doc.version) == ("installed", "2.0")
    assert str(python) in doc.note
    assert "precise: bool = False" in (doc.signature or "")
    assert docs.pip_runs == 0


# --- fetched ----------------------------------------------------------------------------


def test_target_not_installed_is_fetched(fakelib_1_installed: Path, private_index: Path, tmp_path: Path) -> None:
    docs = docs_for(private_index, tmp_path / "cache")
    doc = docs.lookup("fakelib.compute", "fakelib", Version("2.0"), _change())
    assert doc.origin == "fetched"
    assert doc.version == "2.0"
    assert doc.signature == "compute(x: float, *, scale: float = 2.0, precise: bool = False) -> float"
    assert doc.docstring is not None and doc.docstring.startswith("Compute x with the 2.0 algorithm.")
    assert "fetched from the package index" in doc.note
    # The installed 1.0 is still what the interpreter sees, and nothing was imported.
    assert docs.lookup("fakelib.compute", "fakelib", Version("1.0")).docstring == "Compute x the 1.0 way."
    assert "fakelib" not in sys.modules
    # Only Python sources were unpacked, tests left out, the wheel itself not kept.
    src = tmp_path / "cache" / "fakelib-2.0" / "src"
    assert sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()) == [
        "fakelib/__init__.py",
        "fakelib/_impl.py",
        "fakelib/native.pyi",
        "fakelib/sub.py",
    ]
    assert not list((tmp_path / "cache" / "fakelib-2.0").glob("dl/*.whl"))

    # A second lookup of the same release never runs pip: the index is gone, a new process
    # (a new ApiDocs on the same cache) still answers.
    shutil.rmtree(private_index)
    runs = docs.pip_runs
    assert docs.lookup("fakelib.new_function", "fakelib", Version("2.0")).origin == "fetched"
    assert docs.pip_runs == runs
    again = docs_for(private_index, tmp_path / "cache")
    doc = again.lookup("fakelib.compute", "fakelib", Version("2.0"))
    assert (doc.origin, doc.version) == ("fetched", "2.0")
    assert doc.signature == "compute(x: float, *, scale: float = 2.0, precise: bool = False) -> float"
    assert again.pip_runs == 0
    # What was read is remembered with the release: the package is not even parsed again.
    assert again._loaded == {}
    assert again.exists("fakelib.new_function", "fakelib", Version("2.0")) is True
    assert again.exists("fakelib.old_function", "fakelib", Version("2.0")) is False


def test_two_part_target_fetches_the_newest_patch(tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_wheel(index, "fakelib", "2.0.0", FAKELIB_2)
    build_wheel(index, "fakelib", "2.0.1", {**FAKELIB_2, "fakelib/sub.py": '"""Patched."""\n'})
    build_wheel(index, "fakelib", "2.1.0", {**FAKELIB_2, "fakelib/sub.py": '"""Too new."""\n'})
    doc = docs_for(index, tmp_path / "cache").lookup("fakelib.sub", "fakelib", Version("2.0"))
    assert (doc.origin, doc.version, doc.docstring) == ("fetched", "2.0.1", "Patched.")


def test_wheel_for_another_platform_is_used(index: Path, tmp_path: Path) -> None:
    docs = docs_for(index, tmp_path / "cache")
    doc = docs.lookup("fakeplat.speed", "fakeplat", Version("1.0"))
    assert (doc.origin, doc.signature, doc.docstring) == (
        "fetched",
        "speed(n: int) -> int",
        "Fast, from a cp39 wheel.",
    )


def test_sdist_when_there_is_no_wheel(index: Path, tmp_path: Path) -> None:
    docs = docs_for(index, tmp_path / "cache")
    doc = docs.lookup("fakesd.only_in_sdist", "fakesd", Version("1.0"))
    assert (doc.origin, doc.signature, doc.docstring) == ("fetched", "only_in_sdist(a, b=2)", "From the sdist.")


# --- failures ---------------------------------------------------------------------------


def test_fetch_failure_falls_back_to_the_knowledge_base(index: Path, tmp_path: Path) -> None:
    docs = docs_for(index, tmp_path / "cache")
    doc = docs.lookup("fakelib.compute", "fakelib", Version("3.0"), _change())
    assert doc.origin == "knowledge-base"
    assert doc.docstring == "compute(x, *, scale) from the knowledge base"
    assert doc.signature is None
    assert doc.version == "3.0"
    assert doc.note.startswith("could not fetch fakelib==3.0: ")
    assert "fakelib==3.0" in doc.note.split(": ", 1)[1]  # pip's own reason
    assert doc.note.endswith("showing the knowledge base's text")
    # The failure is remembered: hovering again does not run pip again at once.
    runs = docs.pip_runs
    assert docs.lookup("fakelib.compute", "fakelib", Version("3.0"), _change()).origin == "knowledge-base"
    assert docs.pip_runs == runs


def test_knowledge_base_note_when_there_is_no_doc(index: Path, tmp_path: Path) -> None:
    doc = docs_for(index, tmp_path / "cache").lookup("fakelib.compute", "fakelib", Version("3.0"), _change(None))
    assert doc.docstring == "old_function was removed in 2.0; use compute."


def test_missing_pip_and_odd_input_never_raise(tmp_path: Path) -> None:
    docs = ApiDocs(tmp_path / "cache", pip_command=[str(tmp_path / "no-such-pip")], timeout=10)
    doc = docs.lookup("fakelib.compute", "fakelib", Version("2.0"), _change())
    assert doc.origin == "knowledge-base"
    assert "could not fetch fakelib==2.0: cannot run" in doc.note
    for name in ("", ".", "fakelib..x", "fakelib.compute.__call__.x"):
        assert docs.lookup(name, "fakelib", Version("2.0")).origin == "knowledge-base"


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for pip")
def test_fetch_timeout_is_bounded(tmp_path: Path) -> None:
    slow = tmp_path / "slow-pip"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    docs = ApiDocs(tmp_path / "cache", pip_command=[str(slow)], timeout=0.5)
    started = time.monotonic()
    doc = docs.lookup("fakelib.compute", "fakelib", Version("2.0"))
    assert time.monotonic() - started < 5
    assert doc.origin == "knowledge-base"
    assert "did not finish within 0.5 s" in doc.note


def test_name_missing_in_target_version(fakelib_2_installed: Path, tmp_path: Path) -> None:
    doc = docs_for(tmp_path / "no-index", tmp_path / "cache").lookup(
        "fakelib.old_function", "fakelib", Version("2.0"), _change()
    )
    assert doc.origin == "knowledge-base"
    assert doc.note.startswith("`fakelib.old_function` is not defined in fakelib 2.0")


# --- standard library -------------------------------------------------------------------


def test_standard_library_of_the_running_interpreter(tmp_path: Path) -> None:
    docs = ApiDocs(tmp_path / "cache")
    running = Version(".".join(map(str, sys.version_info[:2])))
    mapping = docs.lookup("collections.abc.Mapping", "python", running)
    assert mapping.origin == "installed"
    assert mapping.kind == "class"
    assert mapping.docstring and "Mapping" in mapping.docstring
    function = docs.lookup("textwrap.dedent", "python", None)
    assert function.signature == "dedent(text)"
    other = Version(f"3.{sys.version_info[1] + 1}")
    doc = docs.lookup("collections.abc.Mapping", "python", other, _change())
    assert doc.origin == "knowledge-base"
    assert f"Python {other}'s standard library is not available here" in doc.note
    assert docs.pip_runs == 0


def test_library_change_pointing_at_the_standard_library(tmp_path: Path) -> None:
    # numpy.NINF -> math.inf style: the new name lives in the standard library.
    doc = ApiDocs(tmp_path / "cache").lookup("textwrap.indent", "fakelib", Version("2.0"))
    assert doc.origin == "installed"
    assert doc.signature is not None and doc.signature.startswith("indent(text, prefix")


# --- exists -----------------------------------------------------------------------------


def test_exists(fakelib_1_installed: Path, index: Path, tmp_path: Path) -> None:
    docs = docs_for(index, tmp_path / "cache")
    assert docs.exists("fakelib.compute", "fakelib", Version("2.0")) is True
    assert docs.exists("fakelib.new_function", "fakelib", Version("2.0")) is True
    assert docs.exists("fakelib.old_function", "fakelib", Version("2.0")) is False
    assert docs.exists("fakelib.Engine.__init__", "fakelib", Version("2.0")) is True
    assert docs.exists("fakelib.Engine.nope", "fakelib", Version("2.0")) is False
    # Installed 1.0: answered without pip.
    runs = docs.pip_runs
    assert docs.exists("fakelib.old_function", "fakelib", Version("1.0")) is True
    assert docs.exists("fakelib.new_function", "fakelib", Version("1.0")) is False
    assert docs.pip_runs == runs
    # Cannot tell: the release does not exist, or fetching is not allowed.
    assert docs.exists("fakelib.compute", "fakelib", Version("9.0")) is None
    assert docs.exists("fakelib.compute", "fakelib", Version("7.0"), fetch=False) is None


def test_name_checker_for_the_validator(fakelib_2_installed: Path, tmp_path: Path) -> None:
    check = docs_for(tmp_path / "no-index", tmp_path / "cache").name_checker({"fakelib": Version("2.0")})
    assert check("fakelib.new_function", "fakelib") is True
    assert check("fakelib.old_function", "fakelib") is False


def test_name_checker_that_never_waits(fakelib_1_installed: Path, index: Path, tmp_path: Path) -> None:
    """The language server's checker: "cannot tell" until the target release has been read in
    the background, then definite answers, and no network once the release is in the cache."""
    docs = docs_for(index, tmp_path / "cache")
    check = docs.name_checker({"fakelib": Version("2.0")}, wait=False)
    assert check("fakelib.old_function", "fakelib") is None  # not read yet: starts reading it
    deadline = time.monotonic() + 60
    while check("fakelib.old_function", "fakelib") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert check("fakelib.old_function", "fakelib") is False
    assert check("fakelib.compute", "fakelib") is not None  # the release is loaded now
    # A new instance (a restarted server) finds the fetched release in the cache, offline.
    again = ApiDocs(tmp_path / "cache", pip_command=[str(tmp_path / "no-such-pip")])
    assert again.exists("fakelib.compute", "fakelib", Version("2.0"), fetch=False) is True
    assert again.exists("fakelib.old_function", "fakelib", Version("2.0"), fetch=False) is False
