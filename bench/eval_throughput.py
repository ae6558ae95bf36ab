"""Sandboxed programs executed per second (``model_training.eval.sandbox``), with N runs at once.

What is measured
----------------
``--count`` small programs (a HumanEval-sized function and a few asserts: plain Python, no imports
beyond the standard library) are run through :func:`~model_training.eval.sandbox.run_program`, each in
its own process, temporary folder, pids cgroup and namespaces (as ``recode-train eval`` runs them),
``--jobs`` at a time from a thread pool. Wall time over the whole batch gives programs per second; the
per-run overhead (namespace set-up, interpreter start-up, clean-up) dominates, so this is the harness's
ceiling, not the speed of any benchmark's code. Every program must pass; a failure is reported.

Run ``python bench/eval_throughput.py [--count 200] [--jobs 2]``. The last line is the one-line summary
to compare between runs (on the same machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_training.eval.sandbox import Limits, namespaces_available, run_program

PROGRAM = """
def running_max(values):
    best, out = None, []
    for value in values:
        best = value if best is None or value > best else best
        out.append(best)
    return out


assert running_max([]) == []
assert running_max([1, 3, 2, 5, 4]) == [1, 3, 3, 5, 5]
assert running_max([-1, -2]) == [-1, -1]
print("ok", {seed})
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    limits = Limits(wall_seconds=30, cpu_seconds=10)

    def one(seed: int) -> bool:
        return run_program(PROGRAM.format(seed=seed), limits=limits, expected_stdout=f"ok {seed}\n").passed

    run_program(PROGRAM.format(seed=-1), limits=limits)  # warm the page cache
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        passed = sum(pool.map(one, range(args.count)))
    seconds = time.perf_counter() - start
    isolation = "namespaces+cgroup" if namespaces_available() else "rlimits only"
    print(
        f"eval_throughput: programs={args.count} passed={passed} jobs={args.jobs} cores={os.cpu_count()} "
        f"isolation={isolation} seconds={seconds:.1f} programs_per_s={args.count / seconds:.1f}"
    )
    return 0 if passed == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
