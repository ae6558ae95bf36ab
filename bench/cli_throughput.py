"""Throughput and NumPy-2.0 recall of ``recode-migrate`` against ``ruff`` (NPY201) on real code.

What is measured
----------------
The corpus is the ``*.py`` files of six NumPy-heavy scientific releases from the NumPy 1.x era,
dense with NumPy 2.0 removals (``np.float_``, ``np.NaN``, ``np.product``, ``copy=False``...):
SciPy 1.5.4, astropy 4.2, statsmodels 0.12.2, scikit-image 0.17.2, xarray 0.16.2 and nibabel
3.2.1 (about 3,000 files, 44 MB; ruff reports NPY201 in about 150 of them).
Their wheels are downloaded once with pip into ``bench/.cache/`` and only their ``.py`` files
are unpacked into ``bench/.corpus/<name>-<version>/``; later runs reuse both.

On that same corpus the script times, as wall-clock seconds around ``subprocess.run``:

* ``recode-migrate --check --select numpy --target numpy==2.0 --format json .`` --
  *cold* (its check cache removed first; median of 3 runs) and *warm* (cache kept from
  the previous run; median of 5 runs);
* ``ruff check --isolated --select NPY201 --output-format json --no-fix --exit-zero .`` --
  cold (its cache folder removed first; median of 3) and warm (cache kept; median of 5).

Both tools run with the corpus root as working directory. ``--isolated`` keeps ruff from reading
any configuration, and ``--no-respect-gitignore`` plus ``GIT_CEILING_DIRECTORIES`` make both
tools see every file even though ``bench/.corpus/`` is git-ignored in this repository. A marker
``pyproject.toml`` in the corpus root makes it recode's project root, so this repository's
``[tool.recode]`` settings do not leak into the benchmark; recode's cache is
``bench/.cache/recode-cache/check`` (``RECODE_CACHE_DIR``). The number of files each tool actually checked is
printed, so a difference in coverage is visible.

Why
---
ruff's NPY201 is the fastest widely used detector of NumPy 2.0 removals, so it is the bar for
both speed and coverage. The targets (issue 15) are: recode cold within 3x of ruff's wall time,
and warm within 1x (an unchanged tree should cost little more than stat calls and reading one
cache file). The recall part answers "what does ruff find that recode does not?":
every NPY201 location (file, line) recode does not also report is listed with ruff's message
and the source line, so a reader can decide whether recode misses it or ruff is wrong (for
example a name that is not NumPy's). recode's NumPy findings that ruff lacks are counted too.

Then, unless ``--skip-pydantic``, ``bench/pydantic_vs_bump.py`` runs in the same process: the
speed and the per-migration coverage of ``recode-migrate`` against bump-pydantic on the same
pydantic-V1 files (see that file).

``--phases`` adds the CPU seconds of each step of a cold check (the byte prefilter, then for the
files it lets through the parse, the name analysis and the detection), timed in this process.

Run ``python bench/cli_throughput.py [--jobs N] [--corpus DIR] [--skip-download] [--skip-pydantic]
[--verify-prefilter] [--phases]``.
The last lines are one-line summaries meant for comparing runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from model_training.corpus import extract_py

BENCH = Path(__file__).resolve().parent
WHEEL_CACHE = BENCH / ".cache"
DEFAULT_CORPUS = BENCH / ".corpus"
PACKAGES = (
    ("scipy", "1.5.4"),
    ("astropy", "4.2"),
    ("statsmodels", "0.12.2"),
    ("scikit-image", "0.17.2"),
    ("xarray", "0.16.2"),
    ("nibabel", "3.2.1"),
)
COLD_RUNS = 3
WARM_RUNS = 5
TIMEOUT_S = 3600
COLD_TARGET = 3.0
WARM_TARGET = 1.0
SHOWN_EXTRAS = 20
#: (corpus-relative posix path, line) -> the findings there.
Locations = dict[tuple[str, int], list[dict[str, object]]]
MARKER = "# Marks this folder as its own project root for bench/cli_throughput.py.\n"


class BenchError(Exception):
    """Something the benchmark needs is missing or failed; the message says what."""


# --------------------------------------------------------------------------- corpus


def _wheel_prefix(name: str, version: str) -> str:
    """How a wheel file name starts (PEP 427 escapes '-' and '.' in the name as '_')."""
    return f"{name.replace('-', '_').replace('.', '_').lower()}-{version}-"


def _find_wheel(name: str, version: str) -> Path | None:
    if not WHEEL_CACHE.is_dir():
        return None
    prefix = _wheel_prefix(name, version)
    wheels = sorted(p for p in WHEEL_CACHE.glob("*.whl") if p.name.lower().startswith(prefix))
    return wheels[0] if wheels else None


def _check_pip() -> None:
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "pip", "--version"], check=False, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchError(f"cannot run pip with {sys.executable}: {exc}") from None
    if completed.returncode != 0:
        raise BenchError(
            f"pip is not available for {sys.executable} ({completed.stderr.strip() or 'no output'}); "
            f"install it (`{sys.executable} -m ensurepip`) or pass --skip-download with a prepared corpus"
        )


def _download(name: str, version: str) -> Path:
    _check_pip()
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.8", "--platform", "manylinux2014_x86_64", "--platform", "any",
        f"{name}=={version}", "-d", str(WHEEL_CACHE),
    ]  # fmt: skip
    print(f"downloading {name}=={version} ...", flush=True)
    try:
        completed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchError(f"pip download {name}=={version} could not run: {exc}") from None
    wheel = _find_wheel(name, version)
    if completed.returncode != 0 or wheel is None:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
        raise BenchError(
            f"pip download {name}=={version} failed (exit {completed.returncode}); command:\n  "
            + " ".join(command)
            + f"\npip said:\n{tail}\n(no network? use --skip-download with --corpus DIR holding the .py files)"
        )
    return wheel


def ensure_corpus(corpus: Path, skip_download: bool, packages: Sequence[tuple[str, str]] = PACKAGES) -> None:
    """Make ``corpus/<name>-<version>/`` for each package; what already exists is kept."""
    corpus.mkdir(parents=True, exist_ok=True)
    for name, version in packages:
        dest = corpus / f"{name}-{version}"
        if dest.is_dir() and any(dest.rglob("*.py")):
            continue
        wheel = _find_wheel(name, version)
        if wheel is None:
            if skip_download:
                raise BenchError(
                    f"{dest} is missing and no {name} {version} wheel is in {WHEEL_CACHE}; run without --skip-download"
                )
            wheel = _download(name, version)
        if dest.exists():
            shutil.rmtree(dest)
        count = extract_py(wheel, dest)
        print(f"extracted {count} .py files of {wheel.name} into {dest}", flush=True)
    marker = corpus / "pyproject.toml"
    if not marker.exists():
        marker.write_text(MARKER, encoding="utf-8")


def corpus_files(corpus: Path) -> list[Path]:
    """The corpus's .py files, outside hidden folders (caches)."""
    files = corpus.rglob("*.py")
    return sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(corpus).parts))


def read_all(files: Sequence[Path]) -> int:
    """Total bytes; reading every file also puts both tools on an equally warm OS page cache."""
    return sum(len(path.read_bytes()) for path in files)


# --------------------------------------------------------------------------- tools


def find_tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"`{name}` not found beside {sys.executable} or on PATH")
    return found


def project_root(start: Path) -> Path:
    """recode's rule: the nearest folder at or above ``start`` holding pyproject.toml or .git."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


def timed_run(
    command: Sequence[str], cwd: Path, env: dict[str, str], timeout: float = TIMEOUT_S
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds, the finished process) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Waited-for descendants count too: recode's pool workers, ruff's threads are its own.
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), completed


class Tool:
    def __init__(self, label: str, command: list[str], cache: Path, ok_codes: tuple[int, ...]) -> None:
        self.label = label
        self.command = command
        self.cache = cache
        self.ok_codes = ok_codes
        self.cold: list[float] = []
        self.warm: list[float] = []
        #: CPU seconds (user + system, the tool and its worker processes) of each cold / warm run.
        self.cold_cpu: list[float] = []
        self.warm_cpu: list[float] = []
        self.cpu = 0.0
        self.output = ""

    def run(self, corpus: Path, env: dict[str, str]) -> tuple[float, str]:
        elapsed, self.cpu, completed = timed_run(self.command, corpus, env)
        if completed.returncode not in self.ok_codes:
            raise BenchError(
                f"{self.label} failed (exit {completed.returncode}): {' '.join(self.command)}\n"
                + "\n".join(completed.stderr.strip().splitlines()[-20:])
            )
        return elapsed, completed.stdout

    @property
    def cold_s(self) -> float:
        return statistics.median(self.cold)

    @property
    def warm_s(self) -> float:
        return statistics.median(self.warm)

    def check_outputs(self, outputs: list[str]) -> None:
        """Every run must report the same findings; a difference is printed."""
        self.output = outputs[0]
        first = _normalised(self.label, self.output)
        names = [f"cold {i + 1}" for i in range(COLD_RUNS)] + [f"warm {i + 1}" for i in range(WARM_RUNS)]
        for name, out in zip(names[1:], outputs[1:], strict=True):
            other = _normalised(self.label, out)
            if other != first:
                only_first = sorted(set(first) - set(other))
                only_other = sorted(set(other) - set(first))
                print(
                    f"warning: {self.label} {name} differs from cold 1: {len(first)} vs {len(other)} findings, "
                    f"{len(only_first)} only in cold 1, {len(only_other)} only in {name}"
                )
                for item in only_first[:2] + only_other[:2]:
                    print(f"    {item[:300]}")


def measure(tools: Sequence[Tool], corpus: Path, env: dict[str, str]) -> None:
    """Cold runs, then warm runs, the tools taking turns: on a shared machine both see the same load."""
    outputs: dict[str, list[str]] = {tool.label: [] for tool in tools}
    for _ in range(COLD_RUNS):
        for tool in tools:
            shutil.rmtree(tool.cache, ignore_errors=True)
            elapsed, out = tool.run(corpus, env)
            tool.cold.append(elapsed)
            tool.cold_cpu.append(tool.cpu)
            outputs[tool.label].append(out)
    for tool in tools:
        if not tool.cache.exists():
            print(f"warning: {tool.label} left no cache at {tool.cache}; its warm runs are not warm", flush=True)
    for _ in range(WARM_RUNS):
        for tool in tools:
            elapsed, out = tool.run(corpus, env)
            tool.warm.append(elapsed)
            tool.warm_cpu.append(tool.cpu)
            outputs[tool.label].append(out)
    for tool in tools:
        tool.check_outputs(outputs[tool.label])


def _normalised(label: str, output: str) -> list[str]:
    data = json.loads(output)
    if label == "recode":
        return sorted(json.dumps(f, sort_keys=True) for f in data["findings"])
    return sorted(json.dumps(d, sort_keys=True) for d in data)


# --------------------------------------------------------------------------- recall


def recode_locations(document: dict[str, object], corpus: Path) -> Locations:
    """recode's NumPy findings by (corpus-relative posix path, line); its paths are relative to the cwd."""
    found: Locations = {}
    findings = document["findings"]
    assert isinstance(findings, list)
    for finding in findings:
        library = finding.get("library")
        if library is not None and library != "numpy":
            continue
        path = Path(finding["path"])
        relative = (path if not path.is_absolute() else path.relative_to(corpus)).as_posix()
        found.setdefault((relative, int(finding["location"]["line"])), []).append(finding)
    return found


def ruff_locations(diagnostics: list[dict[str, object]], corpus: Path) -> Locations:
    """ruff's NPY201 diagnostics by (corpus-relative posix path, row); its file names are absolute."""
    found: Locations = {}
    root = corpus.resolve()
    for diagnostic in diagnostics:
        if diagnostic.get("code") != "NPY201":
            continue
        filename = Path(str(diagnostic["filename"]))
        try:
            relative = filename.resolve().relative_to(root).as_posix()
        except ValueError:
            relative = filename.as_posix()
        location = diagnostic["location"]
        assert isinstance(location, dict)
        found.setdefault((relative, int(location["row"])), []).append(diagnostic)
    return found


def _source_line(corpus: Path, relative: str, line: int) -> str:
    try:
        lines = (corpus / relative).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def compare(recode: Locations, ruff: Locations, corpus: Path) -> tuple[int, int]:
    """Print the recall report; returns (ruff locations recode also reports, ruff locations)."""
    hits = sorted(set(ruff) & set(recode))
    misses = sorted(set(ruff) - set(recode))
    extras = sorted(set(recode) - set(ruff))
    total = len(ruff)
    share = f" ({100 * len(hits) / total:.1f}%)" if total else ""
    print()
    print(f"NumPy recall: recode reports {len(hits)} of ruff's {total} NPY201 locations (file, line){share}")
    print(f"  ruff NPY201 diagnostics: {sum(len(v) for v in ruff.values())}; "
          f"recode numpy findings: {sum(len(v) for v in recode.values())} at {len(recode)} locations")  # fmt: skip
    recode_columns = {(key, f["location"]["column"]) for key, found in recode.items() for f in found}  # type: ignore[index]
    ruff_columns = {(key, d["location"]["column"]) for key, found in ruff.items() for d in found}  # type: ignore[index]
    print(f"  same (file, line, column): {len(ruff_columns & recode_columns)} of {len(ruff_columns)} ruff diagnostics")
    print(f"ruff locations recode misses: {len(misses)}")
    for key in misses:
        relative, line = key
        for diagnostic in sorted(ruff[key], key=lambda d: d["location"]["column"]):  # type: ignore[index]
            column = diagnostic["location"]["column"]  # type: ignore[index]
            print(f"  {relative}:{line}:{column}: {diagnostic.get('message', '')}")
        print(f"      | {_source_line(corpus, relative, line)}")
    print(f"recode numpy findings at locations ruff does not report: {len(extras)}"
          + (f" (first {SHOWN_EXTRAS})" if len(extras) > SHOWN_EXTRAS else ""))  # fmt: skip
    if extras:
        codes = Counter(str(f.get("code")) for key in extras for f in recode[key])
        print("  by code: " + ", ".join(f"{code} {count}" for code, count in codes.most_common()))
    for key in extras[:SHOWN_EXTRAS]:
        relative, line = key
        for finding in recode[key]:
            column = finding["location"]["column"]  # type: ignore[index]
            print(f"  {relative}:{line}:{column}: {finding.get('code')} {finding.get('message', '')}")
        print(f"      | {_source_line(corpus, relative, line)}")
    return len(hits), total


# --------------------------------------------------------------------------- phases


def cpu_phases(files: Sequence[Path]) -> dict[str, float]:
    """CPU seconds of each step of a cold check, in this process, one file after another.

    What a cold run spends its time on (issue 15): the byte prefilter over every file, then for
    the files it lets through the parse (``ast.parse``), the name analysis and the detection.
    The same steps as ``recode_lsp/cli/runner.py`` (``--select numpy --target numpy==2.0``; the
    garbage collector paused per file, as there), timed with ``time.process_time`` so that other
    load on the machine moves them less.
    """
    from recode_lsp.cli.files import DecodeError, decode_source, source_problem
    from recode_lsp.cli.kb_subset import load_for
    from recode_lsp.engine.analysis import ModuleAnalysis
    from recode_lsp.engine.detector import SourceError, detect, parse_source
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.engine.prefilter import Prefilter
    from recode_lsp.engine.rules import rule_triggers
    from recode_lsp.engine.sparse import sparse_analysis
    from recode_lsp.engine.versions import parse_target

    clock = time.process_time
    steps = ("setup", "prefilter", "rejected files", "decode", "sparse", "parse", "analysis", "detection")
    spent = dict.fromkeys(steps, 0.0)
    whole = 0
    start = clock()
    kb = load_for(["numpy"], [], [])
    options = DetectOptions(targets={"numpy": parse_target("numpy==2.0")[1]}, select=["numpy"])
    prefilter = Prefilter([c for c in kb.changes if options.severity(c) is not None], rule_triggers())
    spent["setup"] = clock() - start
    passed = 0
    for path in files:
        data = path.read_bytes()
        start = clock()
        relevant = prefilter.may_match(data)
        spent["prefilter"] += clock() - start
        start = clock()
        if not relevant:
            source_problem(data, str(path), parse=False)
            spent["rejected files"] += clock() - start
            continue
        passed += 1
        gc.disable()  # as runner.process_data does for each file
        try:
            source = decode_source(data)
            text = source.text
            spent["decode"] += clock() - start
            start = clock()
            # As the runner's --check: the bodies with nothing to report read as ``pass`` (the
            # evidence, the replacement, the parse and the analysis), else the whole module.
            as_read = source.encoding == "utf-8" and not source.bom and not source.newline
            sparse = sparse_analysis(data, text, str(path), prefilter) if as_read else None
            spent["sparse"] += clock() - start
            if sparse is None:
                whole += 1
                start = clock()
                tree = parse_source(text, str(path))
                spent["parse"] += clock() - start
                start = clock()
                analysis = ModuleAnalysis(tree, text, None)
                spent["analysis"] += clock() - start
            else:
                analysis = sparse
            start = clock()
            detect(text, kb, options, str(path), analysis=analysis)
            spent["detection"] += clock() - start
        except (DecodeError, SourceError, RecursionError):
            continue
        finally:
            gc.enable()
    print(
        f"cold CPU by step, one process ({passed} of {len(files)} files pass the prefilter; "
        f"{passed - whole} analysed sparse, {whole} whole after a try):"
    )
    total = sum(spent.values())
    for step, seconds in spent.items():
        print(f"  {step:15} {seconds:7.2f} s  {100 * seconds / total:5.1f}%")
    print(f"  {'total':15} {total:7.2f} s")
    return spent


# --------------------------------------------------------------------------- main


def _rate(files: int, seconds: float) -> str:
    return f"{files / seconds:,.0f} files/s" if seconds > 0 else "-"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="recode-migrate --jobs (default: CPU count)"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder (default: bench/.corpus)")
    parser.add_argument(
        "--verify-prefilter",
        action="store_true",
        help="also run recode parsing every file and report findings its byte prefilter hid",
    )
    parser.add_argument(
        "--skip-download", action="store_true", help="never run pip; the corpus (or cached wheels) must exist"
    )
    parser.add_argument(
        "--phases",
        action="store_true",
        help="also time each step of a cold check (prefilter, parse, analysis, detection) in this process",
    )
    parser.add_argument(
        "--skip-pydantic", action="store_true", help="leave out the comparison with bump-pydantic (minutes)"
    )
    parser.add_argument("--bump-pydantic", default=None, metavar="PATH", help="the bump-pydantic executable")
    args = parser.parse_args(argv)
    corpus: Path = args.corpus.resolve()

    try:
        if args.corpus == DEFAULT_CORPUS or not corpus.is_dir() or not any(corpus.rglob("*.py")):
            ensure_corpus(corpus, args.skip_download)
        # The corpus is the six releases; other folders (the training-set builder keeps more
        # old releases beside them, the pydantic benchmark its own) are left out.
        parts = [f"{name}-{version}" for name, version in PACKAGES if (corpus / f"{name}-{version}").is_dir()]
        paths = parts if args.corpus == DEFAULT_CORPUS and parts else ["."]
        files = [f for p in paths for f in corpus_files(corpus / p)] if paths != ["."] else corpus_files(corpus)
        if not files:
            raise BenchError(f"no .py files under {corpus}")
        size = read_all(files)

        root = project_root(corpus)
        if root != corpus:
            print(f"note: recode's project root for {corpus} is {root}: its [tool.recode] settings apply")
        env = dict(os.environ)
        # bench/.corpus is git-ignored here: stop git discovery at the corpus so ignored files are still seen.
        ceilings = [str(corpus.parent), *filter(None, env.get("GIT_CEILING_DIRECTORIES", "").split(os.pathsep))]
        env["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(ceilings)
        env.pop("NO_COLOR", None)
        # Some shells set this; an installed tool normally runs from compiled bytecode.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # recode's check cache lives in the user's cache folder (never in the corpus): use one of the bench's.
        recode_cache = WHEEL_CACHE / "recode-cache"
        env["RECODE_CACHE_DIR"] = str(recode_cache)

        recode = Tool(
            "recode",
            [find_tool("recode-migrate"), "--check", "--select", "numpy", "--target", "numpy==2.0",
             "--format", "json", "--jobs", str(args.jobs), *paths],
            recode_cache / "check",
            (0, 1),
        )  # fmt: skip
        ruff_cache = WHEEL_CACHE / "ruff_cache"
        ruff = Tool(
            "ruff",
            [find_tool("ruff"), "check", "--isolated", "--no-respect-gitignore", "--select", "NPY201",
             "--output-format", "json", "--no-fix", "--exit-zero", "--cache-dir", str(ruff_cache), *paths],
            ruff_cache,
            (0,),
        )  # fmt: skip
        ruff_run = subprocess.run([ruff.command[0], "--version"], check=False, capture_output=True, text=True)
        ruff_version = ruff_run.stdout.strip()

        print(f"corpus: {corpus}")
        for name, version in PACKAGES:
            sub = corpus / f"{name}-{version}"
            if sub.is_dir():
                print(f"  {sub.name}: {sum(1 for f in files if sub in f.parents)} .py files")
        print(f"files: {len(files)} .py, {size / 1e6:.1f} MB; recode --jobs {args.jobs}; {ruff_version}; "
              f"cold = median of {COLD_RUNS} (cache cleared), warm = median of {WARM_RUNS}")  # fmt: skip

        known = subprocess.run(
            [recode.command[0], "--list-changes", "numpy"], check=False, capture_output=True, text=True, cwd=corpus
        )
        if known.returncode != 0:
            print(
                "warning: recode's knowledge base has no numpy changes "
                f"({known.stderr.strip() or 'exit ' + str(known.returncode)}); its timings and recall mean nothing"
            )

        for tool in (recode, ruff):
            tool.run(corpus, env)  # untimed warm-up: bytecode written, files in the page cache
        measure((recode, ruff), corpus, env)
        if args.verify_prefilter:
            # The byte prefilter must hide nothing: parse every file and compare.
            unfiltered = subprocess.run(
                [*recode.command[: -len(paths)], "--no-cache", *paths], check=False, cwd=corpus,
                capture_output=True, text=True, env={**env, "RECODE_NO_PREFILTER": "1"}, timeout=TIMEOUT_S,
            ).stdout  # fmt: skip
            full = _normalised("recode", unfiltered)
            filtered = _normalised("recode", recode.output)
            hidden = sorted(set(full) - set(filtered))
            print(f"prefilter check: {len(filtered)} findings with the prefilter, {len(full)} parsing every file, "
                  f"{len(hidden)} hidden by the prefilter")  # fmt: skip
            for item in hidden[:10]:
                print(f"    {item[:300]}")

        recode_doc = json.loads(recode.output)
        ruff_doc = json.loads(ruff.output)
        recode_checked = recode_doc.get("summary", {}).get("files")
        listed = subprocess.run(
            [ruff.command[0], "check", "--isolated", "--no-respect-gitignore", "--show-files", *paths],
            check=False, cwd=corpus, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
        ).stdout  # fmt: skip
        ruff_checked = sum(1 for line in listed.splitlines() if line.strip().endswith((".py", ".pyi")))
        print(f"files checked: recode {recode_checked}, ruff {ruff_checked} (corpus {len(files)})")
        if recode_doc.get("errors"):
            errors = recode_doc["errors"]
            print(f"recode could not check {len(errors)} files, e.g. {errors[0]['path']}: {errors[0]['error']}")

        print()
        print(f"{'tool':8} {'cold s':>8} {'warm s':>8} {'cold files/s':>16} {'warm files/s':>16}   runs (cold | warm)")
        for tool in (recode, ruff):
            runs = " ".join(f"{t:.2f}" for t in tool.cold) + " | " + " ".join(f"{t:.2f}" for t in tool.warm)
            print(f"{tool.label:8} {tool.cold_s:8.2f} {tool.warm_s:8.2f} {_rate(len(files), tool.cold_s):>16} "
                  f"{_rate(len(files), tool.warm_s):>16}   {runs}")  # fmt: skip
        cold_ratio = recode.cold_s / ruff.cold_s
        warm_ratio = recode.warm_s / ruff.warm_s
        print(f"ratio recode/ruff: cold {cold_ratio:.1f}x (target <= {COLD_TARGET:g}x: "
              f"{'met' if cold_ratio <= COLD_TARGET else 'MISSED'}), warm {warm_ratio:.1f}x "
              f"(target <= {WARM_TARGET:g}x: {'met' if warm_ratio <= WARM_TARGET else 'MISSED'})")  # fmt: skip

        cpu = {t.label: (statistics.median(t.cold_cpu), statistics.median(t.warm_cpu)) for t in (recode, ruff)}
        print(f"CPU seconds (median; user + system, workers included): recode cold {cpu['recode'][0]:.2f} "
              f"warm {cpu['recode'][1]:.2f}, ruff cold {cpu['ruff'][0]:.2f} warm {cpu['ruff'][1]:.2f}; "
              f"ratio cold {cpu['recode'][0] / cpu['ruff'][0]:.1f}x, warm {cpu['recode'][1] / cpu['ruff'][1]:.1f}x "
              "(load on a shared machine moves wall times, much less CPU times)")  # fmt: skip
        hits, total = compare(recode_locations(recode_doc, corpus), ruff_locations(ruff_doc, corpus), corpus)
        if args.phases:
            print()
            cpu_phases(files)
    except BenchError as exc:
        print(f"cli_throughput: error: {exc}", file=sys.stderr)
        return 2
    summary = (
        f"cli_throughput: files={len(files)} recode cold={recode.cold_s:.2f}s warm={recode.warm_s:.2f}s "
        f"ruff cold={ruff.cold_s:.2f}s warm={ruff.warm_s:.2f}s ratio cold={cold_ratio:.2f}x warm={warm_ratio:.2f}x "
        f"numpy_recall={hits}/{total}"
    )
    if not args.skip_pydantic:
        import pydantic_vs_bump

        print()
        try:
            pydantic_vs_bump.run(args.bump_pydantic, args.skip_download)
        except (pydantic_vs_bump.BenchError, subprocess.SubprocessError, OSError) as exc:
            print(f"pydantic_vs_bump: error: {exc}", file=sys.stderr)
            return 2
    print()
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
