"""The too-new check on a library the test writes: ``tnlib`` 1.0 and 2.0, as unpacked releases in a
``--dist``-style folder (``RECODE_RELEASES_DIR``), so nothing is fetched."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from recode_lsp.cli.main import main
from recode_lsp.engine.versions import Version
from recode_lsp.toonew.inventory import FOUND, MISSING, UNKNOWN, inventory_for

V1 = {
    "tnlib/__init__.py": '''
        """tnlib 1.0."""
        from tnlib.core import Widget, compute, old_name
        from tnlib import lazy

        __all__ = ["Widget", "compute", "old_name", "lazy"]
        ''',
    "tnlib/core.py": """
        def compute(data, axis=0, how="fast"):
            return data


        def old_name(x):
            return x


        class Widget:
            def draw(self, canvas, color="red"):
                return canvas
        """,
    "tnlib/lazy.py": '''
        """Names handed out by a ``__getattr__`` that forwards: anything may exist here."""
        import importlib


        def __getattr__(name):
            return getattr(importlib.import_module("tnlib.core"), name)
        ''',
}

V2 = {
    "tnlib/__init__.py": '''
        """tnlib 2.0."""
        from tnlib.core import Widget, compute, new_name, old_name
        from tnlib import extra, lazy

        __all__ = ["Widget", "compute", "new_name", "old_name", "extra", "lazy"]
        ''',
    "tnlib/core.py": """
        def compute(data, axis=0, method="fast", how=None):
            return data


        def new_name(x):
            return x


        old_name = new_name


        class Widget:
            def draw(self, canvas, color="red"):
                return canvas

            def render(self, canvas):
                return canvas
        """,
    "tnlib/extra.py": """
        def helper():
            return 1
        """,
    "tnlib/lazy.py": V1["tnlib/lazy.py"],
}

#: The knowledge base knows the rename and the keyword rename of 2.0 (a project's own entries).
ENTRIES = [
    {
        "id": "TNL001",
        "library": "tnlib",
        "old": "tnlib.old_name",
        "kind": "rename",
        "scope": "module",
        "new": "tnlib.new_name",
        "replacement": None,
        "template": None,
        "template_on": None,
        "old_keyword": None,
        "new_keyword": None,
        "deprecated_in": "2.0",
        "removed_in": None,
        "note": "Renamed in 2.0.",
        "doc": None,
        "source": "test",
        "fix": "safe",
        "rule": None,
    },
    {
        "id": "TNL002",
        "library": "tnlib",
        "old": "tnlib.compute",
        "kind": "keyword_rename",
        "scope": "module",
        "new": None,
        "replacement": None,
        "template": None,
        "template_on": None,
        "old_keyword": "how",
        "new_keyword": "method",
        "deprecated_in": "2.0",
        "removed_in": None,
        "note": "Keyword renamed in 2.0.",
        "doc": None,
        "source": "test",
        "fix": "safe",
        "rule": None,
    },
]

CODE = """\
import tnlib
import tnlib.extra
from tnlib import new_name, old_name, lazy

a = tnlib.new_name(1)
b = new_name(2)
c = tnlib.compute([1], method="slow")
d = tnlib.compute([1], axis=1, how="fast")
e = tnlib.old_name(3)
f = tnlib.nothing_here
g = lazy.whatever_it_forwards
h = tnlib.Widget().draw(None, color="blue")
i = tnlib.compute([1], verbose=True)
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    _write(dist / "tnlib-1.0", V1)
    _write(dist / "tnlib-2.0", V2)
    monkeypatch.setenv("RECODE_RELEASES_DIR", str(dist))
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "project"
    root.mkdir()
    (root / "changes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ENTRIES), encoding="utf-8")
    (root / "pyproject.toml").write_text('[tool.recode]\nextra-changes = ["changes.jsonl"]\n', encoding="utf-8")
    (root / "code.py").write_text(CODE, encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def _findings(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    main(["--too-new", "--no-cache", "--format", "json", *args, "code.py"])
    report = json.loads(capsys.readouterr().out)
    return [
        {"line": f["location"]["line"], "code": f["code"], "message": f["message"]}
        for f in report["findings"]
        if str(f["code"]).startswith("RCN")
    ]


def test_inventory_of_both_releases(project: Path) -> None:
    dist = project.parent / "dist"
    old = inventory_for("tnlib", Version("1.0"), dist_dir=dist)
    new = inventory_for("tnlib", Version("2.0"), dist_dir=dist)
    assert old.resolve("tnlib.new_name").state == MISSING
    assert old.resolve("tnlib.extra").state == MISSING
    assert old.resolve("tnlib.lazy.anything").state == UNKNOWN  # a forwarding ``__getattr__``
    assert new.resolve("tnlib.new_name").state == FOUND
    compute = old.resolve("tnlib.compute").canonical
    assert compute is not None
    assert old.accepts(compute, "how") is True
    assert old.accepts(compute, "method") is False
    # Read once: the second process loads the JSON, it does not read the release again.
    assert list((project.parent / "cache").rglob("inventories/tnlib-1.0-*.json"))


def test_too_new_names_and_keywords_flagged_with_the_version(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _findings(capsys, "--target", "tnlib==1.0")
    by_line = {(f["line"], f["code"]): f["message"] for f in found}
    assert (
        by_line[(5, "RCN-TNL001")]
        == "`tnlib.new_name` does not exist in tnlib 1.0 (added in 2.0): use `tnlib.old_name`"
    )
    assert (6, "RCN-TNL001") in by_line  # the use of the imported name, fixed with its import
    assert (3, "RCN-TNL001") in by_line
    assert by_line[(7, "RCN-TNL002")].startswith(
        "`tnlib.compute()` takes no keyword `method` in tnlib 1.0 (added in 2.0)"
    )
    assert by_line[(2, "RCN001")] == "`tnlib.extra` does not exist in tnlib 1.0"
    assert by_line[(10, "RCN001")] == "`tnlib.nothing_here` does not exist in tnlib 1.0"
    assert by_line[(13, "RCN002")] == "`tnlib.compute()` takes no keyword `verbose` in tnlib 1.0"
    # Nothing for what exists (old_name, how=, axis=, Widget.draw) or cannot be known (lazy).
    assert {line for line, _ in by_line} == {2, 3, 5, 6, 7, 10, 13}


def test_nothing_flagged_when_the_target_has_them(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _findings(capsys, "--target", "tnlib==2.0")
    # ``nothing_here`` and ``verbose`` are in no release; everything 2.0 added is there.
    assert sorted((f["line"], f["code"]) for f in found) == [(10, "RCN001"), (13, "RCN002")]


def test_backward_fixes_applied_and_validated(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--too-new", "--no-cache", "--apply", "--allow-dirty", "--target", "tnlib==1.0", "code.py"])
    capsys.readouterr()
    fixed = (project / "code.py").read_text(encoding="utf-8")
    assert "a = tnlib.old_name(1)" in fixed
    assert "b = old_name(2)" in fixed
    assert 'c = tnlib.compute([1], how="slow")' in fixed
    assert "new_name" not in fixed
    # What no entry knows stays as it was, reported.
    assert "import tnlib.extra" in fixed and "tnlib.nothing_here" in fixed
    after = _findings(capsys, "--target", "tnlib==1.0")
    assert {f["code"] for f in after} == {"RCN001", "RCN002"}


def test_off_by_default_and_suppressible(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--no-cache", "--format", "json", "--target", "tnlib==2.0", "code.py"])
    report = json.loads(capsys.readouterr().out)
    assert not [f for f in report["findings"] if f["code"].startswith("RCN")]
    text = (project / "code.py").read_text(encoding="utf-8")
    (project / "code.py").write_text(
        text.replace("f = tnlib.nothing_here", "f = tnlib.nothing_here  # recode: ignore[RCN001]"), encoding="utf-8"
    )
    found = _findings(capsys, "--target", "tnlib==1.0")
    assert 10 not in {f["line"] for f in found}
    ignored = _findings(capsys, "--target", "tnlib==1.0", "--ignore", "RCN")
    assert ignored == []


def test_sarif_describes_the_ids(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--too-new", "--no-cache", "--format", "sarif", "--target", "tnlib==1.0", "code.py"])
    sarif = json.loads(capsys.readouterr().out)
    rules = {rule["id"] for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"RCN001", "RCN002", "RCN-TNL001", "RCN-TNL002"} <= rules


GUARDED = """\
import tnlib

if hasattr(tnlib, "new_name"):
    a = tnlib.new_name(1)
else:
    a = tnlib.old_name(1)
try:
    b = tnlib.new_name(2)
except AttributeError:
    b = tnlib.old_name(2)


def doc():
    \"\"\"Prose about tnlib.new_name, not code.\"\"\"
    # tnlib.new_name is not code either
    return tnlib.extra.helper()
"""


def test_code_written_for_several_releases_is_not_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Feature tests (``hasattr``, ``try``/``except AttributeError``) guard on purpose; docstrings and
    comments are no code; a missing package with names under it (``tnlib.extra.helper``) may be a
    wheel's difference, so only a missing last part is reported."""
    (project / "code.py").write_text(GUARDED, encoding="utf-8")
    assert _findings(capsys, "--target", "tnlib==1.0") == []
    (project / "code.py").write_text(GUARDED + "c = tnlib.new_name(3)\n", encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(17, "RCN-TNL001")]


EXPECTED_TO_FAIL = """\
import unittest

import pytest
import tnlib


def test_the_old_release_refuses():
    with pytest.raises(ImportError, match="cannot import name"):
        from tnlib import nothing_here  # noqa
    with pytest.raises((TypeError, ValueError)):
        tnlib.compute([1], verbose=True)


class OldRelease(unittest.TestCase):
    def test_refuses(self):
        with self.assertRaises(AttributeError):
            tnlib.nothing_here
        with self.assertRaisesRegex(TypeError, "verbose"):
            tnlib.compute([1], verbose=True)


def test_something_else_fails():
    with pytest.raises(ZeroDivisionError):
        tnlib.compute([1], verbose=1 / 0)
"""


def test_code_that_tests_a_name_is_missing_is_not_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A test that checks that a missing name or keyword fails (``pytest.raises``, ``assertRaises`` with
    ``ImportError`` / ``AttributeError`` / ``TypeError``) is no use of it: scikit-learn 1.2.2's own tests
    made four false positives so. A block that expects another error is checked as any code."""
    (project / "code.py").write_text(EXPECTED_TO_FAIL, encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(24, "RCN002")]


SKIPPED_BELOW = """\
import pytest
import tnlib


def test_needs_two():
    pytest.importorskip("tnlib", minversion="2.0")
    return tnlib.new_name(1)


def test_needs_one():
    pytest.importorskip("tnlib", "1.0")
    return tnlib.new_name(2)
"""


def test_tests_skipped_below_a_minimum_version_are_not_reported(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pytest.importorskip(module, minversion=V)`` skips the test (or, at module level, the module) where
    the target is older than ``V``: what follows runs only on releases that have the newer names."""
    (project / "code.py").write_text(SKIPPED_BELOW, encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(12, "RCN-TNL001")]
    module = (
        'import pytest\nimport tnlib\n\npytest.importorskip("tnlib", minversion="2.0")\nvalue = tnlib.new_name(3)\n'
    )
    (project / "code.py").write_text(module, encoding="utf-8")
    assert _findings(capsys, "--target", "tnlib==1.0") == []
    (project / "code.py").write_text(module.replace("2.0", "0.9"), encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(5, "RCN-TNL001")]


TYPE_CHECKING_ONLY = """\
from typing import TYPE_CHECKING
import typing

import tnlib

if TYPE_CHECKING:
    from tnlib import nothing_here
if typing.TYPE_CHECKING:
    from tnlib import new_name
else:
    x = tnlib.nothing_here
"""


def test_imports_for_type_checkers_only_are_not_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The body of ``if TYPE_CHECKING:`` never runs (pandas 1.5.3's ``from pandas import ExtensionArray``
    there was reported); its ``else`` does."""
    (project / "code.py").write_text(TYPE_CHECKING_ONLY, encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(11, "RCN001")]


GUARDED_DEEP = """\
import functools

import tnlib

if hasattr(tnlib, "new_name"):

    @functools.lru_cache(maxsize=tnlib.new_name(1))
    def cached():
        return 1


class Holder:
    @staticmethod
    def pick():
        value = tnlib.new_name(2) if hasattr(tnlib, "new_name") else tnlib.old_name(2)
        try:
            text = f"{tnlib.new_name(3)}"
        except AttributeError:
            text = ""
        return value, text, f"{tnlib.new_name(4)}"


@functools.lru_cache(maxsize=tnlib.new_name(5))
def decorated():
    return 2


@(tnlib.new_name if hasattr(tnlib, "new_name") else tnlib.old_name)
def wrapped():
    return 3
"""


def test_guards_are_found_around_each_use_however_deep(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A guard is looked for only around the uses that would be reported, not in the whole tree: the
    ones that hold a use are found at any depth, in a decorator above a ``def`` (which starts after its
    decorators), in an f-string's field, and in a conditional expression; an unguarded use in the same
    places is reported."""
    (project / "code.py").write_text(GUARDED_DEEP, encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [
        (20, "RCN-TNL001"),
        (23, "RCN-TNL001"),
    ]


SKIPPED_ON_OLD = """\
import sys
import unittest

import pytest
import tnlib


@pytest.mark.skipif(tnlib.__version__ < "2.0", reason="needs tnlib 2")
def test_new():
    assert tnlib.new_name(1)


@pytest.mark.xfail(condition=tnlib.__version__ < "2.0", reason="new in 2")
def test_new_or_fails():
    assert tnlib.new_name(2)


class NewOnly(unittest.TestCase):
    @unittest.skipUnless(hasattr(tnlib, "new_name"), "needs new_name")
    def test_it(self):
        tnlib.new_name(3)


@pytest.mark.skipif(sys.platform == "win32", reason="not on Windows")
def test_elsewhere():
    tnlib.new_name(4)
"""


def test_tests_skipped_on_older_releases_are_not_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A test that a version condition skips (``pytest.mark.skipif``, ``unittest.skipUnless``) or expects to
    fail (``pytest.mark.xfail``) runs only on the releases that have what it uses (seaborn 0.11.2's test of
    ``pd.Float64Dtype``, skipped before pandas 1.2, was reported); a condition that asks something else (the
    platform) guards nothing."""
    (project / "code.py").write_text(SKIPPED_ON_OLD, encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(26, "RCN-TNL001")]


MARKED_MODULE = """\
import pytest
import tnlib

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.skipif(tnlib.__version__ < "2.0", reason="2")]
AT_IMPORT = tnlib.new_name(0)


def test_new():
    assert tnlib.new_name(1)


class TestNew:
    def test_it(self):
        tnlib.new_name(2)
"""


def test_tests_of_a_module_marked_skipped_on_older_releases_are_not_reported(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pytestmark = pytest.mark.skipif(<version>)`` skips each test of the module there; what runs when the
    module is imported (collected) is still reported."""
    (project / "code.py").write_text(MARKED_MODULE, encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(5, "RCN-TNL001")]


RELEASE_FLAGS = """\
import tnlib

TNLIB_LT_2_0 = tnlib.__version__ < "2.0"
TNLIB_GE_20 = not TNLIB_LT_2_0
if not TNLIB_LT_2_0:
    a = tnlib.new_name(1)
b = tnlib.new_name(2) if TNLIB_GE_20 else tnlib.old_name(2)
if TNLIB_FAST:
    c = tnlib.new_name(3)
"""


def test_flags_named_after_a_release_guard(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Projects name a flag after the release it asks for (astropy 4.2's ``if NUMPY_LT_1_18:`` around
    ``np.alen``, statsmodels' ``SP_LT_15``, ``PANDAS_GE_20``): a test of one guards like a version test (6
    of the 24 findings on the bench corpus were so); a flag named otherwise guards nothing."""
    (project / "code.py").write_text(RELEASE_FLAGS, encoding="utf-8")
    assert [(f["line"], f["code"]) for f in _findings(capsys, "--target", "tnlib==1.0")] == [(9, "RCN-TNL001")]


def test_results_cached_apart(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The result cache of a plain check must not answer a ``--too-new`` one, nor the other way round."""

    def codes(*extra: str) -> set[str]:
        main(["--format", "json", "--target", "tnlib==1.0", *extra, "code.py"])
        return {str(f["code"]) for f in json.loads(capsys.readouterr().out)["findings"]}

    assert not any(code.startswith("RCN") for code in codes())
    assert {"RCN001", "RCN002", "RCN-TNL001"} <= codes("--too-new")
    assert not any(code.startswith("RCN") for code in codes())


def test_a_modules_own_package_is_not_checked(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The tree holds tnlib's own source (a development copy): a module inside it imports that source,
    not the pinned release, so its uses of tnlib are not checked; a module outside the package (a
    script, a namespace package's module) is checked as before."""
    _write(
        project,
        {
            "tnlib/__init__.py": "",
            "tnlib/sub/__init__.py": "",
            "tnlib/sub/work.py": CODE,
            "tnlib/sub/script_dir/run.py": CODE,  # no ``__init__.py`` there: outside the package
            "scripts/run.py": CODE,
        },
    )
    main(["--too-new", "--no-cache", "--format", "json", "--target", "tnlib==1.0", "."])
    report = json.loads(capsys.readouterr().out)
    lines: dict[str, set[int]] = {}
    for finding in report["findings"]:
        if str(finding["code"]).startswith("RCN"):
            lines.setdefault(Path(finding["path"]).as_posix(), set()).add(finding["location"]["line"])
    expected = {2, 3, 5, 6, 7, 10, 13}
    assert lines == {
        "code.py": expected,
        "scripts/run.py": expected,
        "tnlib/sub/script_dir/run.py": expected,
    }


def test_own_package_is_the_highest_package_folder(tmp_path: Path) -> None:
    from recode_lsp.toonew.first_party import own_package

    _write(
        tmp_path,
        {
            "repo/pkg/__init__.py": "",
            "repo/pkg/sub/__init__.py": "",
            "repo/pkg/sub/mod.py": "",
            "repo/pkg/gap/deeper/__init__.py": "",
            "repo/pkg/gap/deeper/mod.py": "",
            "repo/stubs/__init__.pyi": "",
            "repo/stubs/mod.pyi": "",
            "repo/my-tool/__init__.py": "",
            "repo/my-tool/mod.py": "",
            "repo/script.py": "",
        },
    )
    repo = tmp_path / "repo"
    known: dict[str, str | None] = {}
    assert own_package(repo / "pkg" / "sub" / "mod.py", known) == "pkg"
    assert own_package(repo / "pkg" / "__init__.py", known) == "pkg"
    assert own_package(repo / "pkg" / "gap" / "deeper" / "mod.py") == "deeper"  # ``gap`` is no package
    assert own_package(repo / "stubs" / "mod.pyi") == "stubs"
    assert own_package(repo / "my-tool" / "mod.py") is None  # no importable name
    assert own_package(repo / "script.py") is None
    assert known[str(repo / "pkg" / "sub")] == "pkg"


def test_a_folder_named_like_the_library_is_not_read_as_its_release(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """griffe reads a module name as a path first: a ``tnlib/`` folder in the working directory (a
    project's own copy of a library) was read as the release, so every name was missing there (and the
    inventory was cached so)."""
    _write(project, {"tnlib/__init__.py": ""})
    found = _findings(capsys, "--target", "tnlib==1.0")
    assert {f["line"] for f in found} == {2, 3, 5, 6, 7, 10, 13}


def test_the_walk_and_the_pre_check_both_leave_the_package_out(project: Path) -> None:
    from recode_lsp.engine.detector import analyse
    from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.toonew.run import prepare

    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, KnowledgeBase([parse_entry(e, "test") for e in ENTRIES]), data=[CODE.encode()])
    module, options, data = analyse(CODE, "work.py"), DetectOptions(targets=dict(targets)), CODE.encode()
    assert check.needs_analysis(data) and check.evidence(data) is None and check.may_report(CODE)
    assert len(check.findings(module, options, "work.py", precheck=False)) == 7  # one per line, as the CLI
    assert not check.needs_analysis(data, package="tnlib")
    assert check.evidence(data, package="tnlib") == []
    assert not check.may_report(CODE, package="tnlib")
    assert check.findings(module, options, "work.py", precheck=False, package="tnlib") == []


def _keyword_rename(number: int, old_keyword: str, new_keyword: str) -> dict[str, object]:
    return {
        **ENTRIES[1],
        "id": f"TNL10{number}",
        "old": "tnlib.Widget.draw",
        "scope": "member",
        "old_keyword": old_keyword,
        "new_keyword": new_keyword,
    }


@pytest.mark.parametrize("call", ["w.draw(None, shade=1)", "w.draw(surface=None)"])
def test_each_newer_keyword_of_a_method_makes_the_pre_check_walk(project: Path, call: str) -> None:
    """Two keywords of one method added later: a call on an inferred receiver with either is reported,
    and the pre-check lets the walk see it (it kept only the last keyword of each method)."""
    from recode_lsp.engine.detector import analyse
    from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.toonew.run import prepare

    kb = KnowledgeBase(
        [
            parse_entry(_keyword_rename(1, "color", "shade"), "t"),
            parse_entry(_keyword_rename(2, "canvas", "surface"), "t"),
        ]
    )
    source = f"import tnlib\n\nw = tnlib.Widget()\n{call}\n"
    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, kb, data=[source.encode()])
    walked = check.findings(analyse(source, "w.py"), DetectOptions(targets=dict(targets)), "w.py", precheck=False)
    assert [f.range.start.line for f in walked] == [3]
    assert check.needs_analysis(source.encode())


def test_only_the_libraries_a_module_imports_are_checked_there(project: Path) -> None:
    """A newer method (``new_name``, 2.0) called on some receiver makes the walk look only in a module
    that imports tnlib: elsewhere it cannot be tnlib's, whatever other modules of the run import."""
    from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
    from recode_lsp.toonew.run import prepare

    kb = KnowledgeBase([parse_entry(entry, "test") for entry in ENTRIES])
    check = prepare({"tnlib": Version("1.0"), "python": Version("3.11")}, kb, data=[CODE.encode(), b"import os"])
    assert "os" in check.inventories  # os is checked too (its names later Pythons add)
    assert not check.needs_analysis(b"import os\n\nthing.new_name(1)\n")
    assert check.needs_analysis(b"import tnlib\n\nthing.new_name(1)\n")


@pytest.mark.parametrize(
    "source",
    [
        "import os; import tnlib\n\nx = tnlib.nothing_here\n",
        "import os; from tnlib import compute\n\nx = compute([1], verbose=True)\n",
        "x = 1; import tnlib  # imported late\n\ny = tnlib.nothing_here\n",
        "if True: import tnlib\n\nx = tnlib.nothing_here\n",
        "try: from tnlib import compute\nexcept ImportError: compute = None\n\nx = compute([1], verbose=True)\n",
        "import os, tnlib\n\nx = tnlib.nothing_here\n",
        "import os, \\\n    tnlib\n\nx = tnlib.nothing_here\n",
        "from tnlib import old_name, \\\n    compute\n\nx = compute([1], verbose=True)\n",
    ],
)
def test_every_form_of_import_statement_is_read(project: Path, source: str) -> None:
    """``import os; import tnlib``, ``if True: import tnlib``, ``import os, tnlib``, a statement that a
    backslash continues: the names after the ``;``, the ``:``, the ``,`` or on the next line are bound too
    (the pre-check read a line's first statement only, and the search for the libraries the files import
    each statement's first module: the walk's finding was lost)."""
    from recode_lsp.engine.detector import analyse
    from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.toonew.run import prepare

    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, KnowledgeBase([parse_entry(e, "test") for e in ENTRIES]), data=[source.encode()])
    walked = check.findings(analyse(source, "m.py"), DetectOptions(targets=dict(targets)), "m.py", precheck=False)
    assert [f.range.start.line for f in walked] == [source.count("\n") - 1]  # the last line's use
    assert check.needs_analysis(source.encode())
    assert check.evidence(source.encode()) != []


@pytest.mark.parametrize(
    "source",
    [
        "from tnlib import (\n    compute,  # see f(x)\n    nothing_here,\n)\n",
        "from tnlib import (compute,  # a, b\n    nothing_here)\n",
    ],
)
def test_comments_in_an_import_list_are_read_as_comments(project: Path, source: str) -> None:
    """A ``)`` or a ``,`` in a comment inside ``from tnlib import (...)`` ended or split the list: the names
    after it were not read, and the walk's finding on ``nothing_here`` was lost."""
    from recode_lsp.engine.detector import analyse
    from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.toonew.run import prepare

    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, KnowledgeBase([parse_entry(e, "test") for e in ENTRIES]), data=[source.encode()])
    walked = check.findings(analyse(source, "m.py"), DetectOptions(targets=dict(targets)), "m.py", precheck=False)
    assert [f.message for f in walked] == ["`tnlib.nothing_here` does not exist in tnlib 1.0"]
    assert check.needs_analysis(source.encode())
    assert check.evidence(source.encode()) is None  # an import line names it: the module is read whole


@pytest.mark.parametrize(
    ("source", "walked_lines"),
    [
        # A relative import binds the package's own module, whatever its name: nothing of tnlib.
        ("from . import tnlib\n\nx = tnlib.nothing_here\n", []),
        ("from .tnlib import nothing_here\n", []),
        # A doctest's import is prose to the walk, and to the pre-check.
        ('"""\n>>> import tnlib\n>>> tnlib.nothing_here\n"""\n', []),
        # Indented, with a tab: still an import statement.
        ("def f():\n\timport tnlib\n\treturn tnlib.nothing_here\n", [2]),
    ],
)
def test_lines_that_start_no_import_of_the_library_bind_nothing(
    project: Path, source: str, walked_lines: list[int]
) -> None:
    """The pre-check reads as the walk does the lines that hold ``import`` but import no library's name: a
    relative import, a doctest's line, and an indented import, which does."""
    from recode_lsp.engine.detector import analyse
    from recode_lsp.engine.knowledge import KnowledgeBase, parse_entry
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.toonew.run import prepare

    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, KnowledgeBase([parse_entry(e, "test") for e in ENTRIES]), data=[source.encode()])
    walked = check.findings(analyse(source, "m.py"), DetectOptions(targets=dict(targets)), "m.py", precheck=False)
    assert [f.range.start.line for f in walked] == walked_lines
    assert check.needs_analysis(source.encode()) is bool(walked_lines)
