"""What makes a warm ``--check`` and the analysis of a cold one cheaper (issue 15), checked for what it must keep.

* An analysed module is freed as soon as it is dropped: a reference cycle (the binding
  collector's dispatch table of bound methods) kept every file's analysis and whole syntax tree
  alive until the cyclic collector traversed them, about 15% of a cold run's CPU.
* The result cache keys files by their absolute path, joined to the working folder taken once
  instead of ``os.path.abspath`` per file: the same keys, so earlier caches still serve.
* A warm run does not import what only notebooks, fixes or cache writes need.
* A finding's message is computed once per knowledge-base change: the same text.
* Nor does it import shutil (argparse's terminal width, taken as argparse takes it: the same
  help), or a TOML parser without a pyproject.toml to read.
* The folder walk sees a virtual environment in the folder's own listing, not by a ``stat`` per
  folder: the same files.
* The selected knowledge base is digested from the bytes read: the same fingerprint.
* The cache checks its entries with exact type tests: an entry of another shape is still dropped.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from recode_lsp.cli.cache import ResultCache
from recode_lsp.cli.kb_subset import load_for
from recode_lsp.cli.runner import Record
from recode_lsp.engine.detector import analyse, detect
from recode_lsp.engine.options import DetectOptions
from recode_lsp.engine.versions import parse_target
from tests.cli_process import run_migrate

LEGACY = (
    "import numpy as np\n\n\nclass Grid:\n    def spacing(self):\n        return np.finfo(np.float_).eps\n\n\n"
    "def scaled(values):\n    return np.array(values, copy=False) * np.NaN\n"
)


def _options() -> DetectOptions:
    return DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])


def record_stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the path of every ``os.stat`` call, in order (the real call is made)."""
    taken: list[str] = []
    real_stat = os.stat

    def counting_stat(path: object, *rest: object, **options: object) -> os.stat_result:
        taken.append(os.fspath(path) if isinstance(path, (str, os.PathLike)) else "")
        return real_stat(path, *rest, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", counting_stat)
    return taken


def test_an_analysis_is_freed_without_the_cycle_collector() -> None:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        analysis = analyse(LEGACY, "legacy.py")
        assert detect(LEGACY, load_for(["numpy"], [], []), _options(), "legacy.py", analysis=analysis)
        tree = weakref.ref(analysis.tree)
        freed = weakref.ref(analysis)
        del analysis
        assert freed() is None
        assert tree() is None
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize(
    "name", ["pkg/mod.py", "mod.py", "./pkg/mod.py", "pkg/../mod.py", "pkg//mod.py", "pkg/./mod.py", ".hidden/m.py"]
)
def test_the_cache_keys_a_file_by_its_absolute_path(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cache = ResultCache(tmp_path, load_for(["numpy"], [], []), _options(), folder=tmp_path / "cache")
    assert cache._absolute(name) == os.path.abspath(name)
    assert cache._absolute(str(tmp_path / name)) == os.path.abspath(tmp_path / name)


def test_a_relative_and_an_absolute_run_share_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "pkg" / "legacy.py").write_text(LEGACY)
    cache = tmp_path / "cache"
    args = ("--check", "--select", "numpy", "--target", "numpy==2.0", "--format", "json")
    first = run_migrate(*args, "pkg", cwd=root, cache=cache)
    assert first.returncode == 1, first.stderr
    (entry,) = (cache / "check").glob("check-*.json")
    by_stat = json.loads(entry.read_bytes())["by_stat"]
    assert list(by_stat) == [os.path.abspath(root / "pkg" / "legacy.py")]
    written = entry.stat().st_mtime_ns
    again = run_migrate(*args, str(root / "pkg"), cwd=root, cache=cache)
    assert json.loads(again.stdout)["findings"] == json.loads(first.stdout)["findings"]
    assert entry.stat().st_mtime_ns == written  # every file served from the cache: nothing rewritten


PROBE = """
import io, json, sys
from recode_lsp.cli.main import main
for _ in range({runs}):
    out = io.StringIO()
    real, sys.stdout = sys.stdout, out
    try:
        main(["--check", "--select", "numpy", "--target", "numpy==2.0", "--format", "json", "pkg"])
    finally:
        sys.stdout = real
print(json.dumps({{"modules": sorted(sys.modules), "report": json.loads(out.getvalue())}}))
"""
#: Two runs in one process: the first fills the cache, the second is warm.
WARM_PROBE = PROBE.format(runs=2)


def test_a_warm_check_imports_no_notebook_fix_or_cache_writing_code(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "pkg" / "legacy.py").write_text(LEGACY)
    env = {**os.environ, "RECODE_CACHE_DIR": str(tmp_path / "cache")}
    completed = subprocess.run(
        [sys.executable, "-c", WARM_PROBE], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    modules = set(json.loads(completed.stdout)["modules"])
    assert "recode_lsp.cli.report" in modules  # the probe did run a check
    unneeded = {"recode_lsp.engine.notebook", "difflib", "recode_lsp.engine.names", "recode_lsp.engine.pipeline"}
    assert not unneeded & modules


def test_a_records_message_is_the_findings() -> None:
    kb = load_for(["numpy"], [], [])
    findings = detect(LEGACY, kb, _options(), "legacy.py")
    assert len(findings) >= 3
    for finding in findings * 2:  # the second time from the memo
        record = Record.of(finding)
        assert (record.code, record.message) == (finding.code, finding.message)


def test_a_warm_check_takes_each_files_stat_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recode_lsp.cli.main import main

    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    names = [f"pkg/m{index}.py" for index in range(20)]
    for name in names:
        (root / name).write_text(LEGACY)
    monkeypatch.chdir(root)
    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    args = ["--check", "--select", "numpy", "--target", "numpy==2.0", "--format", "json", "--jobs", "1", "pkg"]
    assert main(args) == 1  # cold: fills the cache
    taken = record_stats(monkeypatch)
    assert main(args) == 1
    assert sorted(path for path in taken if path.endswith(".py")) == sorted(names)


def test_relative_names_are_what_relpath_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``report.relative`` without ``os.path.relpath`` per file: the same names, for a root given
    relative or absolute, before and after a change of the working folder."""
    import os

    from recode_lsp.cli.report import relative

    def by_relpath(path: str, root: Path) -> str:
        absolute, base = os.path.abspath(path), os.path.abspath(root)
        if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
            return Path(os.path.relpath(absolute, base)).as_posix()
        return Path(path).as_posix()

    (tmp_path / "project" / "pkg").mkdir(parents=True)
    for cwd in (tmp_path, tmp_path / "project"):
        monkeypatch.chdir(cwd)
        roots = [Path("."), Path("project"), tmp_path / "project", Path("/"), Path("project/../project")]
        paths = ["pkg/a.py", "project/pkg/a.py", "./project/x.py", "project", "../elsewhere.py", "/abs/b.py", "."]
        paths += [str(tmp_path / "project" / "pkg" / "c.py"), "project//pkg/d.py", "projectile/e.py"]
        for root in roots:
            for path in paths:
                assert relative(path, root) == by_relpath(path, root), (cwd, root, path)


@pytest.mark.parametrize(
    "spec",
    ["==2.0", "== 2.0", " ==1.26.4 ", "==2.0+local", "==2.0-1", "==1!2.0", "==2.0rc1", "==2.0.post1", "==v2.0",
     "==2.0.*", "==2.0,<3", "===2.0", "==2.0_dev", "==2.0.dev3", "==1_0", "==2..0", "==2.0-", "==2.0 extra"],
)  # fmt: skip
def test_an_exact_pin_targets_what_packaging_says(spec: str) -> None:
    """``lowest_allowed("==X")`` skips ``packaging.specifiers`` and gives what the general path gives
    (the version, or the same error)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from recode_lsp.engine.versions import Version, lowest_allowed

    try:
        specifiers = list(SpecifierSet(spec))
    except InvalidSpecifier:
        specifiers = []
        expected: object = ValueError
    else:
        # One ``==`` clause: its version; anything else goes through the general path (not compared).
        only = specifiers[0] if len(specifiers) == 1 and specifiers[0].operator == "==" else None
        expected = Version(only.version.removesuffix(".*")) if only is not None else None
    try:
        got: object = lowest_allowed(spec)
    except ValueError:
        got = ValueError
    if expected is not None:
        assert got == expected, spec


def test_a_warm_check_imports_no_notebook_help_or_toml_code_it_does_not_use(tmp_path: Path) -> None:
    """Without notebooks, ``--help`` or a pyproject.toml, a warm check imports neither the notebook
    support, shutil (argparse's terminal width) nor a TOML parser."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "legacy.py").write_text(LEGACY)
    env = {**os.environ, "RECODE_CACHE_DIR": str(tmp_path / "cache"), "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, "-c", WARM_PROBE], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    modules = set(json.loads(completed.stdout)["modules"])
    assert "recode_lsp.cli.report" in modules  # the probe did run a check
    assert not {"recode_lsp.cli.notebooks", "shutil", "tomllib", "tomli"} & modules


@pytest.mark.parametrize("columns", [None, "40", "100", "0", "-3", "wide"])
def test_the_help_is_as_wide_as_argparse_makes_it(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from recode_lsp.cli import main as cli_main

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    ours = cli_main.build_parser().format_help()
    monkeypatch.setattr(cli_main, "_HelpFormatter", argparse.HelpFormatter)
    assert ours == cli_main.build_parser().format_help()


def test_the_walk_finds_virtual_environments_without_a_stat_per_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recode_lsp.cli.files import discover

    tree = tmp_path / "tree"
    for folder in ("a/b/c", "venv/lib", "linked_venv", "not_a_venv/pyvenv.cfg", "d"):
        (tree / folder).mkdir(parents=True)
    for name in ("m.py", "a/m.py", "a/b/m.py", "a/b/c/m.py", "venv/lib/m.py", "linked_venv/m.py", "not_a_venv/m.py"):
        (tree / name).write_text("x = 1\n")
    (tree / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (tree / "d" / "cfg").write_text("home = /usr\n")
    (tree / "linked_venv" / "pyvenv.cfg").symlink_to(tree / "d" / "cfg")
    (tree / "pyvenv.cfg").write_text("home = /usr\n")  # the folder given is walked even so
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    taken = record_stats(monkeypatch)
    found = discover([Path("tree")])
    assert found == ["tree/a/b/c/m.py", "tree/a/b/m.py", "tree/a/m.py", "tree/m.py", "tree/not_a_venv/m.py"]
    assert not [path for path in taken if "pyvenv.cfg" in path]


def test_the_selected_knowledge_base_keeps_its_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fingerprint (the result cache's key) digests the shipped files as their text, as before:
    the bytes read, or for a file with carriage returns the text ``read_text`` gives."""
    import shutil

    from recode_lsp.engine import knowledge
    from recode_lsp.engine.digest import hasher
    from recode_lsp.engine.facts import FACTS_SUFFIX

    def expected(select: list[str]) -> str:
        digest = hasher(8)
        for name, text in [*knowledge.shipped_files(), *knowledge.shipped_files(suffix=FACTS_SUFFIX)]:
            digest.update(name.encode() + b"\0" + text.encode() + b"\0")
        digest.update(b"only:" + ",".join(sorted(select)).encode())
        return digest.hexdigest()[:16]

    assert load_for(["numpy"], [], []).fingerprint == expected(["numpy"])
    data = tmp_path / "data"
    shutil.copytree(knowledge.DATA_FOLDER, data)
    numpy_file = data / "numpy.jsonl"
    numpy_file.write_bytes(numpy_file.read_bytes().replace(b"\n", b"\r\n"))
    monkeypatch.setattr(knowledge, "DATA_FOLDER", data)
    kb = load_for(["numpy", "pandas"], [], [])
    assert kb.fingerprint == expected(["numpy", "pandas"])
    assert [change.id for change in kb.changes] == [
        change.id for change in load_for(["numpy", "pandas"], [], []).changes
    ]


@pytest.mark.parametrize(
    ("by_stat", "kept"),
    [([3, 4, "d"], True), ([3.0, 4, "d"], False), ([True, 4, "d"], False), ([3, 4], False), ([3, 4, None], False),
     ({"size": 3}, False)],
)  # fmt: skip
@pytest.mark.parametrize(
    ("by_hash", "kept_hash"),
    [([[], None, False], True), ([[["NPY001", "numpy", 1, 2, 3, 4, "error", "safe", "m", "s"]], "e", True], True),
     ([[["NPY001", "numpy", 1, 2, 3, 4, "error", "safe", "m"]], None, False], False),
     ([[["NPY001", "numpy", 1.0, 2, 3, 4, "error", "safe", "m", "s"]], None, False], False),
     ([[["NPY001", "numpy", False, 2, 3, 4, "error", "safe", "m", "s"]], None, False], False),
     ([[("NPY001",)], None, False], False), ([[], None, 0], False), ([[], 3, False], False),
     ([{}, None, False], False)],
)  # fmt: skip
def test_a_cache_entry_of_another_shape_is_dropped(
    by_stat: object, kept: bool, by_hash: object, kept_hash: bool, tmp_path: Path
) -> None:
    from recode_lsp.cli.cache import FORMAT

    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    empty = ResultCache(tmp_path, load_for(["numpy"], [], []), _options(), folder=folder)
    document = {"format": FORMAT, "key": empty.key, "by_stat": {"/a.py": by_stat}, "by_hash": {"d": by_hash}}
    (folder / empty.name).write_text(json.dumps(document))
    cache = ResultCache(tmp_path, load_for(["numpy"], [], []), _options(), folder=folder)
    assert ("/a.py" in cache.by_stat) is kept
    assert ("d" in cache.by_hash) is kept_hash


def test_a_warm_check_with_a_pyproject_and_every_target_given_reads_no_toml(tmp_path: Path) -> None:
    """The ``[tool.recode]`` table comes from the config cache, and the project's pins are not read
    when ``--target`` names every library checked: no TOML parser is imported."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\ndependencies = ['numpy>=1.20']\n")
    (root / "pkg" / "legacy.py").write_text(LEGACY)
    env = {**os.environ, "RECODE_CACHE_DIR": str(tmp_path / "cache")}
    for probe in (WARM_PROBE, WARM_PROBE.replace("range(2)", "range(1)")):  # then a warm run on its own
        completed = subprocess.run(
            [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, check=False, timeout=120
        )
        assert completed.returncode == 0, completed.stderr
    modules = set(json.loads(completed.stdout)["modules"])
    assert "recode_lsp.cli.report" in modules
    assert not {"tomllib", "tomli"} & modules


CONFIGS = [
    "[project]\nname = 'p'\n",
    "[tool.recode]\nselect = ['numpy']\ntargets = { numpy = '2.0' }\nunsafe-fixes = true\nmax-file-size = '2MB'\n",
    "[tool.recode]\nexclude = 'legacy'\nnotebooks = false\nlibraries = ['NumPy']\npython = 'venv/bin/python'\n",
    "[tool]\nrecode = 3\n",
    "[tool.recode]\nwhen = 1979-05-27\n",
    "[tool.recode]\nratio = nan\n",
    "[tool.recode]\nselect = [\n",
]


@pytest.mark.parametrize("text", CONFIGS)
def test_the_config_cache_gives_what_reading_the_file_gives(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recode_lsp.cli.config import ConfigError, load_config

    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "pyproject.toml").write_text(text)

    def outcome(cached: bool) -> object:
        try:
            return load_config(tmp_path, cached=cached)
        except ConfigError as exc:
            return str(exc)

    expected = outcome(False)
    assert outcome(True) == expected  # read, then kept
    assert outcome(True) == expected  # served from the cache (or read again: not kept)
    kept = list((tmp_path / "cache" / "config").glob("pyproject-*.json"))
    assert len(kept) == (0 if any(word in text for word in ("1979", "nan", "= [\n")) else 1)


def test_a_changed_or_damaged_pyproject_entry_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recode_lsp.cli.config import load_config

    monkeypatch.setenv("RECODE_CACHE_DIR", str(tmp_path / "cache"))
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.recode]\nselect = ['numpy']\n")
    assert load_config(tmp_path, cached=True).select == ["numpy"]
    stat_before = pyproject.stat()
    pyproject.write_text("[tool.recode]\nselect = ['pandas']\n")  # the same size
    os.utime(pyproject, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))  # and the same mtime
    assert load_config(tmp_path, cached=True).select == ["pandas"]
    for entry in (tmp_path / "cache" / "config").glob("pyproject-*.json"):
        entry.write_bytes(b'{"format": 1, "recode": {"select": ["torch"]')  # truncated
    assert load_config(tmp_path, cached=True).select == ["pandas"]


ONE_RUN_PROBE = PROBE.format(runs=1)


def test_a_warm_check_in_its_own_process_reads_no_facts_and_analyses_nothing(tmp_path: Path) -> None:
    """A run whose every file is in the result cache takes its messages from there: neither the
    library facts (two dataclasses, a few milliseconds to import) nor the analysis are loaded."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "legacy.py").write_text(LEGACY)
    env = {**os.environ, "RECODE_CACHE_DIR": str(tmp_path / "cache"), "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", ONE_RUN_PROBE], cwd=root, env=env, capture_output=True, text=True, check=False
        )
        for _ in range(2)  # the first fills the cache
    ]
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr
    cold, warm = (json.loads(run.stdout) for run in runs)
    assert warm["report"]["findings"] == cold["report"]["findings"] != []
    assert "recode_lsp.engine.facts" in cold["modules"]  # the probe can see it
    assert not {"recode_lsp.engine.facts", "recode_lsp.engine.analysis", "recode_lsp.engine.detector"} & set(
        warm["modules"]
    )
