"""Fuzz ``recode-migrate --apply --unsafe-fixes`` twice over notebooks built from the fuzzed modules.

    .venv/bin/python bench/notebook_fuzz.py --modules 2000 --seed 1 --batch 100 --report nbfuzz.json

Modules come from ``tests/property/fuzz_modules.py`` (real standard-library and site-packages
files with old APIs spliced in, plus hypothesmith modules with ``--hypothesmith``); each is split
into cells with IPython lines, ``%%time`` and ``%%bash`` cells and markdown inserted, and written
in varied JSON layouts (``tests/notebooks/notebook_fuzz.py`` says how, and what counts as a
broken notebook). Batches run in-process, one after another. Prints one summary line; the
acceptance counts (broken, changed by the second run, crashes) must all be 0 (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.notebooks.notebook_fuzz import ACCEPTANCE, check_notebooks, notebooks_from
from tests.property.fuzz_modules import generate_modules, hypothesmith_sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modules", type=int, default=1000, help="fuzz modules to draw (about 2/3 become notebooks)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100, help="modules per temporary project")
    parser.add_argument("--max-source-bytes", type=int, default=20_000)
    parser.add_argument("--hypothesmith", type=int, default=0, help="hypothesmith modules to draw from (0: none)")
    parser.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    args = parser.parse_args(argv)

    started = time.monotonic()
    generated = hypothesmith_sources(args.hypothesmith, args.seed) if args.hypothesmith else None
    totals: Counter[str] = Counter()
    examples: list[dict[str, object]] = []
    batches = (args.modules + args.batch - 1) // args.batch
    with tempfile.TemporaryDirectory(prefix="recode-nbfuzz-") as workdir:
        for index in range(batches):
            seed = args.seed * 100_003 + index
            size = min(args.batch, args.modules - index * args.batch)
            modules = list(
                generate_modules(
                    size,
                    seed,
                    max_source_bytes=args.max_source_bytes,
                    generated=generated,
                    hypothesmith_share=0.15 if generated else 0.0,
                )
            )
            outcome = check_notebooks(notebooks_from(modules, seed), Path(workdir) / f"batch{index:05d}")
            totals.update(outcome.totals)
            examples.extend(outcome.examples[:3])
            sys.stderr.write(f"{index + 1}/{batches} batches: {dict(sorted(totals.items()))}\n")
    seconds = time.monotonic() - started
    acceptance = {key: totals.get(key, 0) for key in ACCEPTANCE}
    line = (
        f"{totals['notebooks']} notebooks, {totals['notebooks_changed']} changed, "
        f"{totals['findings_fixed']} findings fixed; "
        + ", ".join(f"{key} {value}" for key, value in acceptance.items())
        + f" ({seconds:.0f} s)"
    )
    print(line)
    if args.report is not None:
        report = {
            "command": " ".join(sys.argv),
            "summary": line,
            "totals": dict(totals),
            "acceptance": acceptance,
            "examples": examples[:50],
        }
        args.report.write_text(json.dumps(report, indent=1))
    return 0 if not any(acceptance.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
