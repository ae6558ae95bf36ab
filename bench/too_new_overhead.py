"""What ``--too-new`` adds to a cold ``recode-migrate --check`` (issue 19's bound: at most 20%), on real code.

What is measured
----------------
Three corpora of real releases, their wheels downloaded once with pip into ``bench/.cache/`` and their
``.py`` files unpacked (later runs reuse them):

* ``bench``: the issue-15 corpus of ``bench/cli_throughput.py`` (SciPy 1.5.4, astropy 4.2, statsmodels
  0.12.2, scikit-image 0.17.2, xarray 0.16.2, nibabel 3.2.1: 3,046 files of NumPy 1.x-era code dense
  with NumPy 2.0 removals), checked with ``--select numpy --target numpy==2.0``;
* ``sklearn``: scikit-learn 1.2.2 and SciPy 1.10.1 (712 files, in ``bench/.corpus-too-new/``), checked
  against the releases they were written for (``--target numpy==1.26 --target pandas==2.0 --target
  scikit-learn==1.2 --target scipy==1.10``; the standard library against the interpreter's Python). A
  module's own package is not checked (recode_lsp/toonew/first_party.py): scikit-learn's modules are
  checked for the other libraries, SciPy's too;
* ``skimage``: scikit-image 0.17.2 alone (369 files of the ``bench`` corpus), against ``numpy==1.26`` and
  ``scipy==1.10`` (and the installed releases and Python it imports): a cheap plain check (half a second
  of CPU, few of the knowledge base's changes apply), where the check's fixed cost weighs most.

Each round runs the plain cold check (``--check --no-cache --format json``) and the same command with
``--too-new``, in turns so that both see the same load, and takes the wall time and the CPU time (user +
system of the process and its workers). The numbers are medians over ``--rounds`` (default 7), after one
untimed run of each (bytecode written, files in the page cache, the releases' inventories read and cached
as on any machine after its first run). The peer is the plain check itself: the ratio is the bound.
The two runs' findings must agree outside the RCN ids (checked: a difference is an error).

``--split`` times two more commands in each round, ``--too-new`` with parts of it switched off in the CLI
process (a wrapper patches the check, then runs the CLI's ``main``): *setup* (the pre-check answers "nothing
here" at once, so only the run's setup is left) and *pre-check* (every module is pre-checked, its answer
dropped, so none is walked). A line ``too_new_split: ...`` then gives each part as a share of the plain
run: setup, pre-check (its time over setup's) and walks (the whole ``--too-new`` over the pre-check's).

``--instructions`` runs each command once under valgrind's callgrind instead (every process of the run
traced, a forked one counted from the fork on, ``PYTHONHASHSEED=0``) and counts the instructions each
ran: the same count on every run (to a hundredth of a percent), where the times move by a few percent
between runs, so a change of a millisecond or two can be judged. It is a companion to the times, not the
bound: it does not see what the kernel does for the run (reading files, ``stat``, copying pages after a
fork), and instructions are not time (the regular-expression engine's loops run many cheap instructions
per byte, ``str.find`` few). Lines ``too_new_instructions: ...`` (and with ``--split``,
``too_new_instructions_split: ...``).

Run ``python bench/too_new_overhead.py [--corpora bench,sklearn,skimage] [--rounds N] [--jobs N] [--skip-download]
[--split] [--instructions] [--corpus DIR --targets "..."]``. The line per corpus ``too_new_overhead: corpus=...
added cpu=+X% wall=+Y% ...`` is the one to compare between runs (same machine only).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_throughput import (  # the bench folder is no package
    DEFAULT_CORPUS,
    PACKAGES,
    WHEEL_CACHE,
    BenchError,
    corpus_files,
    ensure_corpus,
    find_tool,
    read_all,
    timed_run,
)

BENCH = Path(__file__).resolve().parent
#: Issue 19: the check may add at most this much to a cold ``--check``.
BOUND = 0.20
TIMEOUT_S = 1800
SKLEARN_PACKAGES = (("scikit-learn", "1.2.2"), ("scipy", "1.10.1"))
SKLEARN_CORPUS = BENCH / ".corpus-too-new"
#: ``python -c`` code for ``--split``: ``--too-new`` with its per-module work switched off (``setup``: the
#: pre-check answers False at once) or made without effect (``pre-check``: it runs, its answer is dropped).
SPLIT_WRAPPER = """
import sys
from recode_lsp.toonew.check import TooNew

variant = sys.argv.pop(1)
needs, may, evidence = TooNew.needs_analysis, TooNew.may_report, TooNew.evidence


def run(check, *args):
    if variant == "pre-check":
        check(*args)
    return False


TooNew.needs_analysis = lambda self, data, starts=None, package=None: run(needs, self, data, starts, package)
TooNew.may_report = lambda self, text, package=None: run(may, self, text, package)
TooNew.evidence = lambda self, data, starts=None, package=None: run(evidence, self, data, starts, package) or []
from recode_lsp.cli.main import main

sys.exit(main(sys.argv[1:]))
"""
#: ``--split``'s parts of ``--too-new``: each is the run named last over the run named before it.
SPLIT_PARTS = (("setup", "plain", "setup"), ("pre-check", "setup", "pre-check"), ("walks", "pre-check", "too-new"))
#: Per corpus: its folder, the packages it is made of, and the check's options.
CORPORA: dict[str, tuple[Path, Sequence[tuple[str, str]], list[str]]] = {
    "bench": (DEFAULT_CORPUS, PACKAGES, ["--select", "numpy", "--target", "numpy==2.0"]),
    "sklearn": (
        SKLEARN_CORPUS,
        SKLEARN_PACKAGES,
        [f"--target={pin}" for pin in ("numpy==1.26", "pandas==2.0", "scikit-learn==1.2", "scipy==1.10")],
    ),
    # A cheap plain check (few of the knowledge base's changes apply at NumPy 1.26): the check's fixed cost
    # weighs most here (the tenth round of docs/too-new.md).
    "skimage": (
        DEFAULT_CORPUS,
        tuple(package for package in PACKAGES if package[0] == "scikit-image"),
        [f"--target={pin}" for pin in ("numpy==1.26", "scipy==1.10")],
    ),
}


@dataclass
class Runs:
    """The wall and CPU seconds of each timed run of one command."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)


def run_check(command: list[str], corpus: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and its waited-for workers, stdout) of one run."""
    wall, cpu, completed = timed_run(command, corpus, env, TIMEOUT_S)
    if completed.returncode not in (0, 1):
        raise BenchError(
            f"exit {completed.returncode}: {shlex.join(command)}\n" + "\n".join(completed.stderr.splitlines()[-20:])
        )
    return wall, cpu, completed.stdout


def findings(output: str) -> tuple[list[tuple[str, int, int, str]], int]:
    """The findings other than RCN, sorted, and how many RCN findings there are."""
    report = json.loads(output)
    located = [(f["path"], f["location"]["line"], f["location"]["column"], str(f["code"])) for f in report["findings"]]
    rcn = sum(1 for item in located if item[3].startswith("RCN"))
    return sorted(item for item in located if not item[3].startswith("RCN")), rcn


def percent(more: float, base: float) -> str:
    return f"{100 * (more / base - 1):+.0f}%"


def measure(
    name: str,
    corpus: Path,
    options: list[str],
    rounds: int,
    jobs: int,
    paths: Sequence[str] = (".",),
    split: bool = False,
    instructions: bool = False,
) -> tuple[float, float]:
    """Time the plain and the ``--too-new`` check of ``paths`` in ``corpus`` in turns; print the summary line
    (and with ``split``, the parts of ``--too-new``: setup, pre-check, walks). With ``instructions``, count
    each command's instructions once instead (:func:`count_instructions`)."""
    valgrind = shutil.which("valgrind") if instructions else None
    if instructions and valgrind is None:
        raise BenchError("--instructions needs valgrind on PATH (apt install valgrind)")
    files = [file for path in paths for file in corpus_files(corpus / path)]
    if not files:
        raise BenchError(f"no .py files under {corpus}")
    size = read_all(files)
    env = dict(os.environ)
    # bench/.corpus* is git-ignored here: stop git discovery at the corpus so ignored files are still seen.
    env["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(
        [str(corpus.parent), *filter(None, env.get("GIT_CEILING_DIRECTORIES", "").split(os.pathsep))]
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed tool runs from compiled bytecode
    env.setdefault("RECODE_CACHE_DIR", str(WHEEL_CACHE / "recode-cache"))  # the inventories are cached there
    plain = [find_tool("recode-migrate"), "--check", "--no-cache", "--format", "json", "--jobs", str(jobs), *options]
    plain += paths
    too_new = [*plain, "--too-new"]
    print(f"{name}: {corpus} ({len(files)} .py files, {size / 1e6:.1f} MB)")
    print(f"  plain:    {shlex.join(plain[1:])}")
    print(f"  too-new:  {shlex.join(too_new[1:])}")
    _, _, first = run_check(plain, corpus, env)  # untimed: bytecode, page cache
    _, _, first_new = run_check(too_new, corpus, env)  # untimed: the releases' inventories read and cached
    base, rcn = findings(first_new)
    if base != findings(first)[0]:
        raise BenchError(f"{name}: --too-new changed the findings other than RCN")
    commands = [("plain", plain), ("too-new", too_new)]
    if split:
        wrapped = [sys.executable, "-c", SPLIT_WRAPPER]
        commands[1:1] = [(part, [*wrapped, part, *too_new[1:]]) for part in ("setup", "pre-check")]
    if valgrind is not None:
        return compare_instructions(valgrind, name, corpus, env, commands, len(files), jobs, rcn)
    runs = {label: Runs() for label, _ in commands}
    for round_ in range(rounds):
        for label, command in commands:
            wall, cpu, output = run_check(command, corpus, env)
            runs[label].wall.append(wall)
            runs[label].cpu.append(cpu)
            if round_ == 0 and label in ("setup", "pre-check") and findings(output)[1]:
                raise BenchError(f"--split: the {label} run still reported RCN findings (the wrapper did not apply)")
    p, t = runs["plain"], runs["too-new"]
    added_cpu, added_wall = t.cpu_s / p.cpu_s - 1, t.wall_s / p.wall_s - 1
    verdict = "met" if max(added_cpu, added_wall) <= BOUND else "MISSED"
    print(f"  plain   cpu {p.cpu_s:.2f} s  wall {p.wall_s:.2f} s   (each: {', '.join(f'{c:.2f}' for c in p.cpu)})")
    print(f"  too-new cpu {t.cpu_s:.2f} s  wall {t.wall_s:.2f} s   (each: {', '.join(f'{c:.2f}' for c in t.cpu)})")
    print(
        f"too_new_overhead: corpus={name} files={len(files)} jobs={jobs} rounds={rounds} "
        f"plain cpu={p.cpu_s:.2f}s wall={p.wall_s:.2f}s too-new cpu={t.cpu_s:.2f}s wall={t.wall_s:.2f}s "
        f"added cpu={percent(t.cpu_s, p.cpu_s)} wall={percent(t.wall_s, p.wall_s)} "
        f"bound=+{BOUND:.0%} {verdict} rcn={rcn}"
    )
    if split:
        # Each part's median time over the part before it, as a share of the plain run's median.
        shares = " ".join(
            f"{part} cpu={share(runs[run].cpu_s, runs[before].cpu_s, p.cpu_s)} "
            f"wall={share(runs[run].wall_s, runs[before].wall_s, p.wall_s)}"
            for part, before, run in SPLIT_PARTS
        )
        print(f"too_new_split: corpus={name} jobs={jobs} rounds={rounds} {shares} (of plain)")
    return added_cpu, added_wall


def share(part: float, before: float, base: float) -> str:
    return f"{100 * (part - before) / base:+.0f}%"


def count_instructions(valgrind: str, command: list[str], corpus: Path, env: dict[str, str]) -> tuple[int, int]:
    """(instructions of the process, of all the processes it started) in one run of ``command`` under
    valgrind's callgrind: deterministic, where times are not."""
    with tempfile.TemporaryDirectory(prefix="too-new-instructions-") as folder:
        traced = [
            valgrind,
            "--tool=callgrind",
            "--trace-children=yes",
            # A forked process starts with its parent's counts (cachegrind has no way to drop them, so each
            # worker counted the parent's imports again): zeroed where CPython's fork hands over to the child.
            "--zero-before=PyOS_AfterFork_Child",
            f"--callgrind-out-file={folder}/cg.%p",
            *command,
        ]
        process = subprocess.Popen(
            traced,
            cwd=corpus,
            env={**env, "PYTHONHASHSEED": "0"},  # the same dict and set orders in every run
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, stderr = process.communicate(timeout=TIMEOUT_S * 20)  # valgrind: 20 to 50 times slower
        if process.returncode not in (0, 1):
            raise BenchError(f"exit {process.returncode} under valgrind: {shlex.join(command)}\n{stderr[-2000:]}")
        own = others = 0
        for path in Path(folder).glob("cg.*"):
            counted = [line for line in path.read_text().splitlines() if line.startswith("totals:")]
            if not counted:
                raise BenchError(f"no totals line in {path.name} (valgrind cut short?)")
            count = int(counted[0].split()[1])
            if path.name == f"cg.{process.pid}":  # valgrind runs the command in its own process
                own += count
            else:
                others += count
    return own, others


def compare_instructions(
    valgrind: str,
    name: str,
    corpus: Path,
    env: dict[str, str],
    commands: list[tuple[str, list[str]]],
    files: int,
    jobs: int,
    rcn: int,
) -> tuple[float, float]:
    """Count each command's instructions once; print the summary line (and the parts, for ``--split``)."""
    counts = {label: count_instructions(valgrind, command, corpus, env) for label, command in commands}
    plain, too_new = sum(counts["plain"]), sum(counts["too-new"])
    added = too_new / plain - 1
    verdict = "met" if added <= BOUND else "MISSED"
    own = counts["too-new"][0] - counts["plain"][0]
    others = counts["too-new"][1] - counts["plain"][1]
    print(
        f"too_new_instructions: corpus={name} files={files} jobs={jobs} plain={plain / 1e9:.3f}G "
        f"too-new={too_new / 1e9:.3f}G added={100 * added:+.1f}% (main process {own / 1e9:+.3f}G, "
        f"the processes it started {others / 1e9:+.3f}G) bound=+{BOUND:.0%} {verdict} rcn={rcn}"
    )
    if "setup" in counts:
        shares = " ".join(
            f"{part}={100 * (sum(counts[run]) - sum(counts[before])) / plain:+.1f}%"
            for part, before, run in SPLIT_PARTS
        )
        print(f"too_new_instructions_split: corpus={name} jobs={jobs} {shares} (of plain)")
    return added, added


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--corpora", default=",".join(CORPORA), help=f"comma-separated: {', '.join(CORPORA)} (default: all)"
    )
    parser.add_argument("--rounds", type=int, default=7, help="timed runs of each command (default 7)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="recode-migrate --jobs")
    parser.add_argument("--skip-download", action="store_true", help="never run pip; the corpora must exist")
    parser.add_argument("--split", action="store_true", help="also time setup and pre-check apart (4 runs a round)")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions under valgrind (a run each), not times"
    )
    parser.add_argument("--corpus", type=Path, help="another folder of .py files, instead of --corpora")
    parser.add_argument(
        "--targets", default="", help='with --corpus: the check\'s options ("--target numpy==1.26 ...")'
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    try:
        if args.corpus is not None:
            measure(
                args.corpus.name,
                args.corpus.resolve(),
                shlex.split(args.targets),
                args.rounds,
                args.jobs,
                (".",),
                args.split,
                args.instructions,
            )
            return 0
        names = [name.strip() for name in args.corpora.split(",") if name.strip()]
        unknown = [name for name in names if name not in CORPORA]
        if unknown or not names:
            known = ", ".join(CORPORA)
            parser.error(f"--corpora: unknown {', '.join(unknown) or '(none given)'}; choose from {known}")
        for name in names:
            corpus, packages, options = CORPORA[name]
            ensure_corpus(corpus, args.skip_download, packages)
            # Only the releases' folders: bench/.corpus holds other code beside them (the pydantic benchmark's).
            paths = [f"{package}-{version}" for package, version in packages]
            measure(name, corpus, options, args.rounds, args.jobs, paths, args.split, args.instructions)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
