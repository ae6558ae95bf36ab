"""Time ``recode-kb scrape`` of one SciPy release pair, cold (empty cache) and warm.

    python bench/kb_scrape.py [--library scipy] [--from 1.11.4] [--to 1.14.1] [--cache-dir DIR]

Cold downloads the smallest file of each release (any platform's wheel or the sdist, listed by
pip with the user's pip configuration; pip's own HTTP cache is the user's and is left alone) and
reads them, the two releases' marker scans in worker processes; warm runs the same command again
on the filled cache. Targets (2 cores): cold <= 60 s, warm <= 10 s. The files downloaded are
printed after the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", default="scipy")
    parser.add_argument("--from", dest="old", default="1.11.4")
    parser.add_argument("--to", dest="new", default="1.14.1")
    parser.add_argument("--cache-dir", type=Path, help="kept between runs when given (default: a fresh temporary one)")
    args = parser.parse_args()
    cache = args.cache_dir or Path(tempfile.mkdtemp(prefix="recode-kb-bench-"))
    shutil.rmtree(cache, ignore_errors=True)
    command = [sys.executable, "-m", "recode_lsp.kb.cli", "scrape", args.library, "--from", args.old, "--to", args.new]
    command += ["--cache-dir", str(cache), "--output", os.devnull]
    print("command:", " ".join(command), f"(cores: {os.cpu_count()})")
    for label in ("cold", "warm"):
        started = time.perf_counter()
        # CPU of the scrape and its worker processes: the wall time depends on what else the machine runs.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        summary = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        load = os.getloadavg()[0]
        print(f"{label}: {elapsed:.1f} s wall, {cpu:.1f} s CPU (load {load:.1f})  rc={result.returncode}  {summary}")
        if result.returncode != 0:
            return result.returncode
    for marker in sorted(cache.glob("*/release.json")):
        print(f"{marker.parent.name}: {json.loads(marker.read_text())['file']}")
    if args.cache_dir is None:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
