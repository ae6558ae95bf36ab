"""Fuzz ``recode-migrate --apply --unsafe-fixes`` twice over many generated modules.

    .venv/bin/python bench/fuzz_apply.py --modules 10000 --seed 1 --jobs 2 --report fuzz.json

Modules come from ``tests/property/fuzz_modules.py`` (real standard-library and site-packages
files with old APIs spliced in, and hypothesmith modules) and are judged by
``tests/property/fuzz_check.py``; see those docstrings for what is counted. Modules are
written in batches to temporary projects and each batch runs the CLI twice, in a worker
process (``--runner inprocess``, default: ``recode_lsp.cli.main.main``) or as the console
script (``--runner console``). Prints one summary line; ``--report`` gets a JSON report with
the totals and failing examples (original source, notes on how it was built, the diff).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.property.fuzz_check import ACCEPTANCE, INFO, check_batch, example_dict, summary_line
from tests.property.fuzz_modules import generate_modules, hypothesmith_sources

_GENERATED: list[str] = []


def _init(generated: list[str]) -> None:
    _GENERATED[:] = generated


def _run_batch(
    job: tuple[int, int, int, str, str, int, int],
) -> tuple[dict[str, int], list[dict[str, object]], list[str]]:
    index, seed, size, runner, workdir, max_bytes, keep = job
    batch_seed = seed * 100_003 + index
    modules = list(
        generate_modules(
            size,
            batch_seed,
            max_source_bytes=max_bytes,
            generated=_GENERATED or None,
            hypothesmith_share=0.15 if _GENERATED else 0.0,
        )
    )
    folder = Path(workdir) / f"batch{index:05d}"
    try:
        outcome = check_batch(modules, folder / "project", runner=runner, keep_examples=keep)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return dict(outcome.totals()), [example_dict(e) for e in outcome.examples], outcome.crashes


def _write_report(
    path: Path, line: str, totals: Counter[str], examples: list[dict[str, object]], crashes: list[str]
) -> None:
    by_kind: dict[str, list[dict[str, object]]] = {}
    for example in examples:
        by_kind.setdefault(str(example["kind"]), []).append(example)
    report = {
        "command": " ".join(sys.argv),
        "summary": line,
        "totals": dict(totals),
        "acceptance": {key: totals.get(key, 0) for key in ACCEPTANCE},
        "info": {key: totals.get(key, 0) for key in INFO},
        "crashes": crashes,
        "examples": {kind: items[:20] for kind, items in sorted(by_kind.items())},
    }
    path.write_text(json.dumps(report, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="modules per temporary project")
    parser.add_argument("--runner", choices=("inprocess", "console"), default="inprocess")
    parser.add_argument("--max-source-bytes", type=int, default=60_000)
    parser.add_argument("--hypothesmith", type=int, default=300, help="hypothesmith modules to draw from (0: none)")
    parser.add_argument("--examples", type=int, default=3, help="failing examples kept per kind and batch")
    parser.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    args = parser.parse_args(argv)

    started = time.monotonic()
    generated = hypothesmith_sources(args.hypothesmith, args.seed) if args.hypothesmith else []
    batches = (args.modules + args.batch - 1) // args.batch
    workdir = tempfile.mkdtemp(prefix="recode-fuzz-")
    jobs = [
        (
            i,
            args.seed,
            min(args.batch, args.modules - i * args.batch),
            args.runner,
            workdir,
            args.max_source_bytes,
            args.examples,
        )
        for i in range(batches)
    ]
    totals: Counter[str] = Counter()
    examples: list[dict[str, object]] = []
    crashes: list[str] = []
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(args.jobs, initializer=_init, initargs=(generated,), maxtasksperchild=20) as pool:
            for done, (batch_totals, batch_examples, batch_crashes) in enumerate(
                pool.imap_unordered(_run_batch, jobs), 1
            ):
                totals.update(batch_totals)
                examples.extend(batch_examples)
                crashes.extend(batch_crashes)
                if done % 10 == 0 or done == len(jobs):
                    line = summary_line(totals, time.monotonic() - started)
                    sys.stderr.write(f"{done}/{len(jobs)} batches, {line}\n")
                    if args.report is not None:  # a partial report, in case the run is stopped
                        partial = f"(partial: {done}/{len(jobs)} batches) {line}"
                        _write_report(args.report, partial, totals, examples, crashes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    line = summary_line(totals, time.monotonic() - started)
    print(line)
    if args.report is not None:
        _write_report(args.report, line, totals, examples, crashes)
    return 0 if all(totals.get(key, 0) == 0 for key in ACCEPTANCE) else 1


if __name__ == "__main__":
    raise SystemExit(main())
