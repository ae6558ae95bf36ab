"""The too-new check's fast paths find what its slow ones find (issue 19: the check may add at most 20% to
a cold ``--check``, so most of it runs on shortcuts). Not a timing test:

* the compact copy of a cached inventory (marshal, each entry decoded when first looked up) is the
  inventory its JSON holds, and a stale or broken copy is not used;
* the lexical pre-check (:meth:`TooNew.needs_analysis`) never hides a finding the tree walk makes, on
  tricky written modules and on real ones;
* the compiled pattern a name gets once it recurs reads the same chains as the loop a rare name gets.
"""

from __future__ import annotations

import ast
import json
import marshal
import mmap
import os
import pickle
import random
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine.detector import SourceError, analyse
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import Version
from recode_lsp.toonew import check as check_module
from recode_lsp.toonew import inventory as inventory_module
from recode_lsp.toonew import stdlib
from recode_lsp.toonew.check import TooNew
from recode_lsp.toonew.inventory import Inventory, inventory_for
from recode_lsp.toonew.run import prepare
from tests.conftest import make_kb
from tests.toonew.test_toonew_fixture import ENTRIES, V1

#: Modules that use tnlib 1.0 rightly, wrongly, and in ways only a tree walk can tell apart.
SOURCES = [
    "import tnlib\n\nx = tnlib.nothing_here\n",
    "import tnlib\n\nx = tnlib.compute([1], axis=1, how='slow')\n",
    "import tnlib\n\nx = tnlib.compute([1], verbose=True)\n",
    "import tnlib\n\nx = tnlib.compute(tnlib.compute([1]), method='slow')\n",
    "import tnlib\n\nx = tnlib.compute(tnlib.compute([1], axis=(1, 2)), axis=0)\n",
    "import tnlib\n\nx = tnlib.compute([1], name='a, verbose=1')\n",
    "import tnlib as t\n\nx = t.compute([1], method=1)\ny = t.new_name(2)\n",
    "from tnlib import compute as c\n\nx = c([1], method=1)\n",
    "from tnlib import compute\n\nx = compute([1], how=1)\n",
    "from tnlib import (\n    compute,\n    Widget as W,\n)\n\nW.render(W(), 1)\nW.draw(W(), 1)\n",
    "import tnlib\n\nw = tnlib.Widget.render\n",
    "import tnlib\n\nw = tnlib.Widget.render(tnlib.Widget(), 1)\n",
    "import tnlib\n\nw = tnlib.Widget().draw(None, color='blue')\n",
    "import tnlib.core as core\n\nx = core.compute([1], how=1)\ny = core.missing\n",
    "import tnlib.extra\n",
    "from tnlib import new_name\n",
    "from tnlib.core import nothing\n",
    "from tnlib import *\n\nx = compute([1])\n",
    "from . import tnlib\n\nx = tnlib.nothing_here\n",
    "import tnlib\n\nx = tnlib.lazy.anything\n",
    '"""tnlib.nothing_here in prose."""\nimport tnlib\n\n# tnlib.nothing_here\nx = tnlib.compute\n',
    "import tnlib\n\nif hasattr(tnlib, 'new_name'):\n    x = tnlib.new_name(1)\n",
    "import tnlib\n\ntry:\n    x = tnlib.new_name(1)\nexcept AttributeError:\n    x = None\n",
    "import tnlib\n\nx = tnlib.nothing_here  # recode: ignore[RCN001]\n",
    "import tnlib\n\nx = tnlib.compute  .nothing\nz = tnlib.compute(\n    [1],\n    verbose=1,\n)\n",
    "import tnlib\n\nz = tnlib.compute(\n    [1],  # the data\n    verbose=1,\n)\n",
    "import tnlib\n\n_tnlib = 1\ntnlib_ = 2\nx = _tnlib.nothing + tnlib_.nothing\n",
    "import tnlib\n\nx = tnlib.__version__\ny = tnlib._private\nz = tnlib.tests.thing\n",
    "import tnlib\n\ndef f(tnlib):\n    return tnlib.nothing_here\n",
    "import os\nimport tnlib\n\nx = os.path.join(tnlib.compute([1]))\n",
    # Three quotes inside a string open no docstring: what follows is code.
    "import tnlib\n\nlabel = r\"$f'''(x)$\"\nx = tnlib.compute([1], verbose=True)\ny = tnlib.nothing_here\n",
    # A name used often enough to get a compiled pattern, rightly and then wrongly.
    "import tnlib as t\n\n" + "x = t.compute([1], axis=0)\n" * 300,
    "import tnlib as t\n\n" + "x = t.compute([1], axis=0)\n" * 300 + "y = t.compute([1], verbose=0)\n",
    "import tnlib as t\n\n" + "x = t.Widget()\n" * 300 + "y = t.Widget.render(x, 1)\n",
    "import tnlib as t\n\n" + "x = t.Widget()\n" * 300 + "y = t.Widget.render\n",
]


@pytest.fixture()
def releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dist = tmp_path / "dist"
    for name, text in V1.items():
        path = dist / "tnlib-1.0" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(inventory_module, "_MEMORY", {})
    return dist


def _names(inventory: Inventory) -> list[str]:
    """Every path an inventory knows, each member of each container, and a missing one under each."""
    inventory.unpacked()
    names = []
    for path, (_, _, members) in inventory.containers.items():
        names += [path, f"{path}.not_there", *(f"{path}.{member}" for member in members)]
    return sorted(set(names))


def test_compact_copy_is_the_inventory_its_json_holds(releases: Path, tmp_path: Path) -> None:
    inventory_for("tnlib", Version("1.0"), dist_dir=releases)
    (path,) = (tmp_path / "cache").rglob("inventories/tnlib-1.0-*.json")
    compact = path.with_suffix(".marshal")
    assert compact.is_file()  # written beside the JSON
    from_json = Inventory.from_json(json.loads(path.read_text(encoding="utf-8")))
    loaded = inventory_module._read(path)
    assert loaded is not None
    assert loaded.packed_containers and not loaded.containers  # nothing decoded before it is asked for
    names = _names(from_json)
    assert "tnlib.core.Widget.draw" in names
    assert [loaded.resolve(name) for name in names] == [from_json.resolve(name) for name in names]
    for function in from_json.keywords:
        for keyword in ("axis", "how", "method", "color", "nothing"):
            assert loaded.accepts(function, keyword) == from_json.accepts(function, keyword)
    loaded.unpacked()
    assert (loaded.containers, loaded.keywords) == (from_json.containers, from_json.keywords)
    assert (loaded.added, loaded.absent, loaded.library, loaded.version, loaded.top) == (
        from_json.added,
        from_json.absent,
        from_json.library,
        from_json.version,
        from_json.top,
    )


def test_stale_or_broken_compact_copy_is_not_used(releases: Path, tmp_path: Path) -> None:
    inventory_for("tnlib", Version("1.0"), dist_dir=releases)
    (path,) = (tmp_path / "cache").rglob("inventories/tnlib-1.0-*.json")
    compact = path.with_suffix(".marshal")
    # The JSON changes (another version of ReCode wrote it): the copy made from the old one is stale.
    data = json.loads(path.read_text(encoding="utf-8"))
    data["containers"]["tnlib"][2]["added_later"] = ""
    path.write_text(json.dumps(data), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    fresh = inventory_module._read(path)
    assert fresh is not None and fresh.resolve("tnlib.added_later").state == "found"
    again = inventory_module._read(path)  # from the copy written again
    assert again is not None and again.packed_containers and again.resolve("tnlib.added_later").state == "found"
    compact.write_bytes(b"not marshal data")
    broken = inventory_module._read(path)
    assert broken is not None and broken.resolve("tnlib.added_later").state == "found"


@pytest.mark.parametrize("mapped", [True, False], ids=["mapped", "read"])
def test_compact_copy_of_an_older_layout_or_cut_short_is_written_again(
    releases: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapped: bool
) -> None:
    """Only the header of a compact copy is decoded when a release is loaded (its entries, mapped into memory
    or read, are decoded when looked up): a copy in the layout before (one marshalled tuple), or one cut
    short, is not used but written again; a loaded inventory pickled (a process started by spawning) holds
    its entries."""
    monkeypatch.setattr(inventory_module, "_MAP_FROM", 0 if mapped else 1 << 40)
    inventory_for("tnlib", Version("1.0"), dist_dir=releases)
    (path,) = (tmp_path / "cache").rglob("inventories/tnlib-1.0-*.json")
    compact = path.with_suffix(".marshal")
    written = compact.read_bytes()
    from_json = Inventory.from_json(json.loads(path.read_text(encoding="utf-8")))
    names = _names(from_json)
    stat = path.stat()
    older = (
        "recode-inventory",
        inventory_module.FORMAT,
        stat.st_size,
        stat.st_mtime_ns,
        from_json.library,
        from_json.version,
        from_json.top,
        from_json.absent,
        from_json.added,
        {name: marshal.dumps(entry) for name, entry in from_json.containers.items()},
        {name: marshal.dumps(frozenset(words)) for name, words in from_json.keywords.items()},
    )
    for damaged in (marshal.dumps(older), written[:-3], written + b"\0"):
        compact.write_bytes(damaged)
        loaded = inventory_module._read(path)
        assert loaded is not None
        assert [loaded.resolve(name) for name in names] == [from_json.resolve(name) for name in names]
        again = inventory_module._read_compact(compact, (stat.st_size, stat.st_mtime_ns))
        assert again is not None  # written again, in the current layout
        assert [again.resolve(name) for name in names] == [from_json.resolve(name) for name in names]
    loaded = inventory_module._read(path)
    assert loaded is not None and isinstance(loaded.packed_containers, inventory_module._Packed)
    assert isinstance(loaded.packed_containers._data, mmap.mmap) is mapped
    copied = pickle.loads(pickle.dumps(loaded))
    assert [copied.resolve(name) for name in names] == [from_json.resolve(name) for name in names]
    assert copied.unpacked().containers == from_json.containers


def _agree(check: TooNew, sources: list[tuple[str, str]], targets: dict[str, Version]) -> tuple[int, int]:
    """Assert the pre-checked findings of each module are the tree walk's; (modules with findings,
    modules the pre-check let through)."""
    options = DetectOptions(targets=dict[str, Version | None](targets))
    with_findings = passed = 0
    for path, source in sources:
        try:
            analysis = analyse(source, path)
        except (SourceError, RecursionError):
            continue
        slow = check.findings(analysis, options, path, precheck=False)
        needs = check.needs_analysis(source.encode("utf-8"))
        fast = check.findings(analysis, options, path) if needs else []
        assert [(f.range, f.change.id, f.change.message()) for f in fast] == [
            (f.range, f.change.id, f.change.message()) for f in slow
        ], path
        with_findings += bool(slow)
        passed += needs
    return with_findings, passed


def test_precheck_never_hides_a_finding(releases: Path) -> None:
    targets = {"tnlib": Version("1.0")}
    sources = [(f"m{index}.py", source) for index, source in enumerate(SOURCES)]
    check = prepare(targets, make_kb(ENTRIES), data=[s.encode() for _, s in sources], dist_dir=releases)
    with_findings, passed = _agree(check, sources, targets)
    assert with_findings >= 10  # the written modules do make findings
    assert passed < len(sources)  # and the pre-check does rule some out


def test_compiled_pattern_reads_what_the_loop_reads(releases: Path) -> None:
    check = prepare({"tnlib": Version("1.0")}, make_kb(ENTRIES), data=[b"import tnlib"], dist_dir=releases)
    texts = [
        *SOURCES,
        "np.x np_.y _np.z np2.w a.np.v npé.u énp.t np .s np.5 np.(1) np\n.r\nnp.np.q np",
        "np.f(a, b=1) np.g (np.h(c=2), d=(1, (2, 3))) np.k(((deep))) np.m(unclosed np.n(x=1)",
        "np.a.b\n(\n  c=1,\n) np.e(f(g(h(i=1))), j=2) np.o((p), q=[1, (2)])",
    ]
    for alias in ("np", "tnlib", "t", "compute", "W", "é"):
        check._chain_calls("\n" + f" {alias}.x" * check_module._COMPILE_AFTER, alias)  # often enough: compiled
        assert alias in check._alias_patterns
        for text in texts:
            text = "\n" + text.replace("np", alias)
            assert check._chain_calls(text, alias) == check_module._chain_calls(text, alias), (alias, text)
            # A use that starts the text (no newline put first: the text is not copied for it).
            text = f"{alias}.y {text[1:]}"
            assert check._chain_calls(text, alias) == check_module._chain_calls(text, alias), (alias, text)
            assert (".y", "", "") in check_module._chain_calls(text, alias), (alias, text)


def test_chain_calls_read_each_use_and_its_call() -> None:
    """Each use's chain and the call after it, arguments nested up to two levels; a use inside another's
    arguments is read too (the call is looked at ahead, not consumed)."""
    text = "np.f(a, b=1) + np.g.h (np.k(c=2), d=(1, (2, 3))) np.deep((((x)))) np.bare np.open(x"
    assert check_module._chain_calls(text, "np") == [
        (".f", "(", "a, b=1"),
        (".g.h", " (", "np.k(c=2), d=(1, (2, 3))"),
        (".k", "(", "c=2"),
        (".deep", "", ""),  # three levels inside: not read
        (".bare", "", ""),
        (".open", "", ""),  # never closed
    ]
    assert check_module._chain_calls(text, "np", dotted=True) == check_module._chain_calls(text, "np")
    assert check_module._chain_calls("x = np\ny = np.z", "np", dotted=True) == [(".z", "", "")]


def test_nested_arguments_pattern_matches_what_the_alternation_matches() -> None:
    """The arguments pattern, written as runs of plain characters between groups (no alternation tried
    at each character: twice as fast), accepts exactly what the plain alternation accepts."""
    plain = re.compile(r"(?:[^()]|\((?:[^()]|\([^()]*\))*\))*")
    unrolled = re.compile(check_module._NESTED)
    rng = random.Random(19)
    for _ in range(3000):
        text = "".join(rng.choice("ab()=, ") for _ in range(rng.randrange(0, 14)))
        assert (plain.fullmatch(text) is None) == (unrolled.fullmatch(text) is None), text
        assert plain.match(text).end() == unrolled.match(text).end(), text  # type: ignore[union-attr]


@pytest.mark.skipif(stdlib.find_typeshed() is None, reason="no typeshed at hand (mypy, typeshed_client)")
def test_precheck_agrees_on_real_modules() -> None:
    """Modules of the running Python's standard library against Python 3.10: names newer than 3.10 do
    occur there (3.11 and later modules use their own Python's names), and the pre-check keeps them."""
    folder = Path(os.__file__).parent
    modules = sorted(p for p in folder.glob("*.py") if p.stat().st_size < 200_000)
    sample = random.Random(19).sample(modules, min(40, len(modules)))
    sources = [(str(p), p.read_text(encoding="utf-8", errors="replace")) for p in sample]
    targets = {"python": Version("3.10")}
    check = prepare(targets, make_kb([]), data=[s.encode() for _, s in sources])
    _, passed = _agree(check, sources, targets)
    assert passed >= 1 or sys.version_info < (3, 11)


def test_called_pattern_finds_what_the_alternation_finds() -> None:
    """The pass over a module's dots for the newer methods called (a trie of their names, after a
    look at the character after each dot) finds what ``\\.(m1|m2|...)\\s*\\(`` finds, on written and real
    text."""
    names = ["map", "mapper", "m", "batched", "deprecated", "module", "is_none", "is_not_none", "_x", "Format", "é"]
    texts = [
        *SOURCES,
        "df.map(f) df.mapper (g) df.map\n(h) x.m() x.mm() .batched .batchedx .module( .modules .deprecated",
        "a.is_none(b).is_not_none (c) .is_no .Format.format ._x() .é( .éé( .map.map(",
        *(p.read_text(encoding="utf-8", errors="replace") for p in sorted(Path(os.__file__).parent.glob("[a-c]*.py"))),
    ]
    for chosen in (names, names[:1], ["batched", "deprecated"], ["map", "mapper"], ["m", "module"], []):
        pattern = check_module._called_pattern(chosen)
        alternatives = "|".join(re.escape(name) for name in chosen) or r"(?!x)x"
        calls = re.compile(rf"\.({alternatives})\s*\(")
        few = check_module._few_calls(chosen)
        for text in texts:
            assert pattern.findall(text) == calls.findall(text), (chosen, text[:80])
            # A few methods are each looked for as a string: the same set of methods called.
            assert check_module._called_among(text, few) == set(calls.findall(text)), (chosen, text[:80])


def test_release_located_as_api_docs_locates_it(tmp_path: Path) -> None:
    """:mod:`recode_lsp.toonew.locate` (no ``api_docs`` import) answers as ``api_docs`` does."""
    from recode_lsp import api_docs
    from recode_lsp.toonew import locate

    # Fetched releases: the package at the root, under src/, one level down, a namespace; broken markers.
    layouts = {"numpy": "numpy/__init__.py", "pandas": "src/pandas/__init__.py", "scipy": "scipy-1.10.1/scipy.py"}
    for library, file in layouts.items():
        folder = tmp_path / f"{api_docs.distribution_of(library).lower()}-1.0"
        (folder / "src" / file).parent.mkdir(parents=True)
        (folder / "src" / file).write_text("", encoding="utf-8")
        (folder / "release.json").write_text(json.dumps({"version": "1.0.3", "layout": 2}), encoding="utf-8")
    (tmp_path / "scikit-learn-1.0" / "src" / "sklearn").mkdir(parents=True)
    (tmp_path / "scikit-learn-1.0" / "release.json").write_text("{}", encoding="utf-8")
    # Unpacked before compiled modules had stand-ins (no layout): both ask for it again.
    (tmp_path / "jax-1.0" / "src" / "jax").mkdir(parents=True)
    (tmp_path / "jax-1.0" / "src" / "jax" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "jax-1.0" / "release.json").write_text(json.dumps({"version": "1.0.1"}), encoding="utf-8")
    docs = api_docs.ApiDocs(tmp_path)
    for library in [*layouts, "scikit-learn", "jax", "torch"]:
        fetched = docs._fetched(api_docs.distribution_of(library), Version("1.0"))
        root = api_docs._package_root(fetched[0], api_docs.top_package(library)) if fetched else None
        expected = (root, fetched[1]) if fetched and root else None
        assert locate.fetched(tmp_path, library, Version("1.0")) == expected, library
    assert locate.fetched(tmp_path, "numpy", Version("1.0")) is not None
    assert locate.fetched(tmp_path, "jax", Version("1.0")) is None
    assert docs._fetched("jax", Version("1.0"), stale=True) == (tmp_path / "jax-1.0" / "src", "1.0.1")
    assert locate.RELEASE_LAYOUT == api_docs.RELEASE_LAYOUT
    # Installed distributions: the version importlib.metadata reads first on the path.
    paths = [p for p in sys.path if p and p != "."]
    for dist in [
        "pytest",
        "packaging",
        "typing-extensions",
        "Typing_Extensions",
        "not-installed-here",
        "recode-migrate",
    ]:
        assert inventory_module._installed_version(dist, paths) == api_docs._installed_version(dist, paths), dist
    site = tmp_path / "site"
    (site / "Odd.Name-2.1.dist-info").mkdir(parents=True)
    (site / "Odd.Name-2.1.dist-info" / "METADATA").write_text("Name: Odd.Name\nVersion: 2.1\n\nText", encoding="utf-8")
    (site / "other-1.0.dist-info").mkdir()
    for dist in ["odd-name", "odd_name", "Odd.Name", "other"]:
        version = api_docs._installed_version(dist, [str(site)])
        assert inventory_module._installed_version(dist, [str(site)]) == version, dist
    assert inventory_module._installed_version("odd-name", [str(site)]) == Version("2.1")


def test_a_release_read_before_is_loaded_without_api_docs(tmp_path: Path) -> None:
    """A run whose releases were fetched and read before imports neither ``api_docs`` (its
    ``subprocess``, ``tarfile``: a hundredth of a second) nor ``importlib.metadata``'s discovery."""
    folder = tmp_path / "cache" / "api-docs" / "tnlib-1.0"
    for name, text in V1.items():
        path = folder / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    (folder / "release.json").write_text(json.dumps({"version": "1.0", "layout": 2}), encoding="utf-8")
    script = textwrap.dedent(
        """
        import sys
        from recode_lsp.engine.versions import Version
        from recode_lsp.toonew.run import prepare
        from tests.conftest import make_kb

        check = prepare({"tnlib": Version("1.0")}, make_kb([]), data=[b"import tnlib"])
        assert check.inventories["tnlib"].resolve("tnlib.compute").state == "found", check.inventories
        print("api_docs" if "recode_lsp.api_docs" in sys.modules else "without api_docs")
        """
    )
    env = {**os.environ, "RECODE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("RECODE_RELEASES_DIR", None)
    root = Path(__file__).resolve().parents[2]
    run = [sys.executable, "-c", script]
    first = subprocess.run(run, check=False, env=env, cwd=root, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(run, check=False, env=env, cwd=root, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "without api_docs"


def test_a_name_the_knowledge_base_reports_is_no_reason_to_walk_the_tree(releases: Path) -> None:
    """``np.float_`` on NumPy 2.0 is missing from the release, and the knowledge base's finding: the
    too-new check leaves it to it, so a module whose only missing names are such is not walked
    (the bench corpus: the walk was 1.3 of the 3 CPU-s --too-new added)."""
    removed = {
        **ENTRIES[0],
        "id": "TNL009",
        "old": "tnlib.gone_name",
        "new": "tnlib.new_name",
        "deprecated_in": "0.9",
        "removed_in": "1.0",
    }
    sources = [
        "import tnlib\n\nx = tnlib.gone_name(1)\n",
        "from tnlib import gone_name\n\nx = gone_name(1)\n",
        "from tnlib import gone_name as g, compute\n\nx = g(compute([1]))\n",
    ]
    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, make_kb([*ENTRIES, removed]), data=[s.encode() for s in sources], dist_dir=releases)
    options = DetectOptions(targets=dict[str, Version | None](targets))
    for source in sources:
        assert check.findings(analyse(source, "m.py"), options, "m.py", precheck=False) == []
        assert not check.may_report(source) and not check.needs_analysis(source.encode())
    # Without the entry the same modules do have too-new findings, and the pre-check sees them.
    plain = prepare(targets, make_kb(ENTRIES), data=[s.encode() for s in sources], dist_dir=releases)
    for source in sources:
        assert plain.findings(analyse(source, "m.py"), options, "m.py", precheck=False)
        assert plain.may_report(source)


def test_import_lines_the_prefilter_found_give_the_same_answer(releases: Path) -> None:
    """``needs_analysis`` and ``evidence`` given the lines the prefilter found holding ``import`` (one pass
    over the file for both) answer as when they look for the imports themselves, on the written modules and on awkward
    line ends (a lone ``\\r``, CRLF, a byte-order mark, a continued ``from``); ``[]`` (no root of the
    prefilter in the file, every checked library among them) is a no at once."""
    from recode_lsp.engine.prefilter import Prefilter

    check = prepare({"tnlib": Version("1.0")}, make_kb(ENTRIES), data=[b"import tnlib"], dist_dir=releases)
    kb = make_kb([{**ENTRIES[0], "id": "TNL009", "old": "tnlib.gone", "new": "tnlib.new_name"}])
    prefilter = Prefilter(kb.changes)
    awkward = [
        b"import os\rimport tnlib\rx = tnlib.nothing_here\r",
        b"import os\r\nimport tnlib\r\nx = tnlib.nothing_here\r\n",
        b"\xef\xbb\xbfimport tnlib\nx = tnlib.nothing_here\n",
        b"from tnlib \\\n    import new_name\n",
        b"from tnlib import (\n    compute,\n)\nx = compute([1], method=1)\n",
        b"x = 'no import here'\n",
        b"import numpy as np\nx = np.zeros(3)\n",
    ]
    checked = relevant = 0
    relevant_too = [b"import tnlib\nx = tnlib.gone\n" + data for data in awkward]  # the KB's old name
    for data in [source.encode() for source in SOURCES] + awkward + relevant_too:
        kb_relevant = prefilter.may_match(data)
        starts = prefilter.import_line_starts(data, check.top_bytes)
        if not kb_relevant:
            assert check.needs_analysis(data, starts) == check.needs_analysis(data), data
            checked += starts is not None
        elif data.isascii() and b"\r" not in data and starts is not None:
            # The runner hands them over where the decoded text is the bytes as they stand (no CR).
            assert check.evidence(data, starts) == check.evidence(data), data
            relevant += 1
        assert prefilter.import_line_starts(data + b"\n", check.top_bytes) is None  # another file: not known
    assert checked >= len(SOURCES) // 2
    # The KB's old name makes them relevant; the BOM one is not ASCII, a lone CR and CRLF are read as \n.
    assert relevant == len(awkward) - 3
    data, same_bytes = bytes(bytearray(b"x = 1\n")), bytes(bytearray(b"x = 1\n"))
    prefilter.may_match(data)
    assert prefilter.import_line_starts(same_bytes, check.top_bytes) is None  # another object: not known
    assert prefilter.import_line_starts(data, check.top_bytes) == []
    assert prefilter.import_line_starts(data, check.top_bytes | {b"other"}) is None


EQUALS = ["=", " = ", "=\n  "]
#: Between arguments: a comment may end a line, the next argument then starts the next one.
SEPARATORS = [", ", ",\n    ", ",  # note, k=2\n    "]


def _arguments(rng: random.Random, depth: int = 0) -> str:
    """A call's arguments as Python writes them: names, keywords, nested calls and tuples, strings."""
    positional, keywords = [], []
    for _ in range(rng.randrange(0, 4)):
        choice = rng.randrange(6 if depth < 3 else 3)
        value = rng.choice(["x", "1", "'a=b'", '"(k=1"', "y.z", "-2"])
        if choice == 0:
            positional.append(value)
        elif choice in (1, 2):
            name, equals = rng.choice(["k", "axis", "dtype", "out"]), rng.choice(EQUALS)
            if name not in {keyword.split("=")[0].strip() for keyword in keywords}:
                keywords.append(f"{name}{equals}{value}")
        elif choice == 3:
            positional.append(f"f({_arguments(rng, depth + 1)})")
        elif choice == 4:
            positional.append(f"({value}, f({_arguments(rng, depth + 1)}))")
        else:
            positional.append(f"g(h({_arguments(rng, depth + 1)}), w={value})")
    return rng.choice(SEPARATORS).join(positional + keywords)


def test_quick_keyword_test_finds_every_keyword_the_call_has() -> None:
    """The pre-check first asks whether every ``name=`` of a call's arguments is taken (nested calls'
    too); only then is a call ruled out without finding its own keywords. So the call's own keywords
    (as Python reads them, a keyword after a comment line included) must be among those it finds, and
    those among the quick test's: on 20,000 argument lists as Python writes them."""
    rng = random.Random(19)
    for _ in range(20_000):
        arguments = _arguments(rng)
        call = ast.parse(f"call({arguments})").body[0]
        assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
        truth = {keyword.arg for keyword in call.value.keywords}
        own = set(check_module._own_keywords(arguments))
        assert truth <= own <= set(check_module._ANY_KEYWORD.findall(arguments)), arguments


def test_a_newer_name_the_walk_cannot_report_is_no_reason_to_parse(releases: Path) -> None:
    """A knowledge-base name in a module that binds names in a loop (soft: NumPy 1.16's ``numerictypes``),
    whose old spelling the release cannot see either (``numpy.isnan``, from SciPy's removed alias), is
    never reported by the walk: its calls on any receiver do not make a module be parsed (they made 625 of
    the bench corpus's 3,131 modules be parsed against NumPy 1.16)."""
    (releases / "tnlib-1.0" / "tnlib" / "loopy.py").write_text(
        "__all__ = []\nfor key in ['alpha', 'beta']:\n    globals()[key] = key\n    __all__.append(key)\n"
    )
    soft_rename = {
        **ENTRIES[0],
        "id": "TNL003",
        "old": "tnlib.loopy.legacy_helper",
        "new": "tnlib.loopy.shiny_helper",
        "deprecated_in": "1.5",
    }
    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, make_kb([*ENTRIES, soft_rename]), data=[b"import tnlib"], dist_dir=releases)
    resolved = check.inventories["tnlib"].resolve("tnlib.loopy.shiny_helper")
    assert resolved.state == "missing" and resolved.soft  # as NumPy 1.16's ufuncs are
    assert check.needs_analysis(b"import tnlib\n\ny = items.shiny_helper()\n") is False
    # What the walk may report still makes a parse: ``new_name`` (TNL001) is missing from 1.0 itself.
    assert check.needs_analysis(b"import tnlib\n\ny = items.new_name()\n") is True
    source = "import tnlib\nimport tnlib.loopy as lp\n\nx = lp.shiny_helper()\ny = lp.alpha\nz = x.new_name()\n"
    _agree(check, [("m.py", source)], targets)


def test_a_use_is_code_unless_a_comment_or_a_string_holds_it() -> None:
    """``_in_code`` keeps a docstring's prose from making a parse; three quotes inside an ordinary string
    open no docstring (matplotlib's ``r"$f'''(x)$"`` hid a call after it), and an f-string is code."""
    in_code = check_module._in_code
    use = "np.foo(x)"
    assert not in_code(f'"""\n{use}\n"""\n', use)
    assert not in_code(f"x = 1  # {use}\n", use)
    assert not in_code(f'"""{use} and {use}"""\n# {use}\n"""{use}"""\n', use)  # every one prose
    assert in_code(f"label = r\"$f'''(x)$\"\ny = {use}\n", use)
    assert in_code(f'x = \'"""\'\n{use}\n', use)
    assert in_code(f"'''a\n'''\n{use}\n", use)
    assert in_code(f'"""{use}"""\n"""x""" ; {use}\n', use)  # the second one is code
    assert in_code(f's = f"""{{{use}}}\n"""\n', use)  # a replacement field
    assert in_code(f'"""\n{use}', use)  # never closed: not Python, so it does not matter; read as code


def test_an_import_from_under_a_missing_package_is_no_reason_to_parse(releases: Path) -> None:
    """The walk reports a missing name only where its last part alone is missing (a release's wheels
    differ in their subpackages: NumPy 1.26 has no ``distutils`` for Python 3.12); an import of a name under
    a missing package is then no reason to parse either (it made 112 of PyTorch's 2,284 modules be parsed
    against PyTorch 1.10, for nothing)."""
    targets = {"tnlib": Version("1.0")}
    check = prepare(targets, make_kb(ENTRIES), data=[b"import tnlib"], dist_dir=releases)
    under_missing = "import tnlib\nfrom tnlib.gone.deeper import thing\nimport tnlib.gone.deeper\n\nx = thing(1)\n"
    assert check.needs_analysis(under_missing.encode()) is False
    assert check.needs_analysis(b"from tnlib.gone import thing\n") is True  # the last part alone: reported
    _agree(check, [("m.py", under_missing), ("n.py", "from tnlib.gone import thing\n")], targets)
