"""``recode-migrate``: find and fix uses of deprecated or removed APIs across a repository.

Exit status: 0 when clean, 1 when something was found or changed, 2 on a usage or internal
error (pre-commit's contract, as pyupgrade and ruff use it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from recode_lsp import __version__

if TYPE_CHECKING:
    from recode_lsp.cli.cache import RunMemo
    from recode_lsp.cli.config import ProjectConfig
    from recode_lsp.cli.report import FileDiff
    from recode_lsp.cli.runner import FileResult, RunSettings
    from recode_lsp.cli.test_gate import GatedFile, ModelGatedFile, TestGate
    from recode_lsp.engine.knowledge import KnowledgeBase
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.engine.versions import Targets
    from recode_lsp.toonew.check import TooNew

EXIT_CLEAN = 0
EXIT_FOUND = 1
EXIT_ERROR = 2


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil (and with it bz2, lzma and
    zlib) on every run: argparse sizes a help formatter for each argument added."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, its default width taken as argparse takes it (see :func:`_terminal_columns`)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        width = _terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recode-migrate",
        formatter_class=_HelpFormatter,
        description="Find code that uses APIs your target library versions deprecated or removed, and fix it.",
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: .)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", dest="mode", action="store_const", const="check", help="report findings (default)")
    mode.add_argument(
        "--diff",
        dest="mode",
        action="store_const",
        const="diff",
        help="print the fixes as a unified diff; write nothing",
    )
    mode.add_argument("--apply", dest="mode", action="store_const", const="apply", help="write the fixes to the files")
    parser.add_argument("--format", choices=("text", "json", "sarif", "github"), default="text", help="report format")
    parser.add_argument(
        "--output-file", "-o", type=Path, default=None, metavar="FILE", help="write the report to FILE, not stdout"
    )
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="print the number of findings per rule id instead of each finding",
    )
    parser.add_argument(
        "--show-fixes", action="store_true", help="list the fixes applied (--diff: that would be), per file"
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when something is found (2 stays 2)")
    parser.add_argument(
        "--quiet",
        "-q",
        action="count",
        default=0,
        help="only the findings, no summary; -qq: print no report at all",
    )
    parser.add_argument("--silent", action="store_true", help="print no report at all (as -qq)")
    parser.add_argument(
        "--stdin-filename",
        default=None,
        metavar="NAME",
        help="with PATH '-': the name of the file read from stdin (for the report and the project settings)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=None,
        metavar="PATHS",
        help="paths to leave out, instead of [tool.recode] exclude (comma-separated, repeatable)",
    )
    parser.add_argument(
        "--extend-exclude",
        action="append",
        default=[],
        metavar="PATHS",
        help="paths to leave out besides [tool.recode] exclude (comma-separated, repeatable)",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="LIB==VER",
        help="version a library moves to, e.g. numpy==2.0 or python==3.12 (repeatable)",
    )
    parser.add_argument(
        "--too-new",
        action="store_true",
        help="also report names and keywords the targeted release of a library does not have yet "
        "(RCN ids; reads each targeted release once, fetching it if needed)",
    )
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="IDS",
        help="only these ids, id prefixes or libraries (comma-separated)",
    )
    parser.add_argument(
        "--ignore", action="append", default=[], metavar="IDS", help="skip these ids, id prefixes or libraries"
    )
    parser.add_argument(
        "--unsafe-fixes", action="store_true", default=None, help="also apply fixes that may change behaviour"
    )
    parser.add_argument(
        "--jobs", "-j", type=int, default=None, metavar="N", help="worker processes (default: CPU count)"
    )
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    parser.add_argument(
        "--check-syntax",
        action="store_true",
        help="also parse the files that use none of the selected changed names, to report their syntax "
        "errors (slower; by default only the files that are analysed are parsed)",
    )
    parser.add_argument(
        "--notebooks",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check Jupyter notebooks (.ipynb) found in folders (default: yes; [tool.recode] notebooks)",
    )
    parser.add_argument(
        "--max-file-size",
        type=_size_argument,
        default=None,
        metavar="SIZE",
        help="report and skip larger files, e.g. 500k, 5MB; 0 for no limit (default: 2MB)",
    )
    parser.add_argument(
        "--allow-dirty", action="store_true", help="let --apply write into a git work tree with uncommitted changes"
    )
    parser.add_argument(
        "--python", metavar="PATH", help="interpreter whose installed library versions count (default: this one)"
    )
    parser.add_argument(
        "--trust-config-python",
        action="store_true",
        help="run the interpreter named by [tool.recode] python (a project's settings cannot run programs "
        "otherwise; also RECODE_TRUST_PYTHON=1)",
    )
    plan = parser.add_argument_group(
        "upgrade plan",
        "per library: the pinned / installed / newest versions and the findings each newer version would "
        "raise, which pins safe fixes alone can raise, and the order to upgrade in",
    )
    plan.add_argument("--plan", action="store_true", help="print the upgrade plan (text or --format json)")
    plan.add_argument(
        "--plan-report",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --plan: also write it as Markdown (FILE.md) or HTML (FILE.html) with a chart",
    )
    parser.add_argument(
        "--list-changes",
        nargs="?",
        const="",
        default=None,
        metavar="LIB",
        help="print the knowledge base (optionally of one library) and exit",
    )
    gate = parser.add_argument_group(
        "test-gated fixes",
        "with --apply: run your test command (your own program, at your request, through the shell, in the "
        "project root) before and after each batch of fixes, and revert the fixes it fails with",
    )
    gate.add_argument("--test", metavar="CMD", default=None, help='the test command, e.g. "python -m pytest -q"')
    gate.add_argument(
        "--test-batch-size",
        type=int,
        default=None,
        metavar="N",
        help="fixes applied before each test run (default: 20)",
    )
    gate.add_argument(
        "--test-timeout", type=float, default=None, metavar="S", help="seconds one test run may take (default: 600)"
    )
    gate.add_argument(
        "--test-budget",
        type=float,
        default=None,
        metavar="S",
        help="seconds all test runs may take together; fixes not tried by then are left out (default: 3600)",
    )
    model = parser.add_argument_group(
        "model fixes",
        "ask a served ReCode model (an OpenAI-compatible server such as `recode-serve`) to fix findings no rule "
        "fixes; only fixes the validator accepts are kept, always unsafe",
    )
    model.add_argument("--model", metavar="URL", default=None, help="the model server, e.g. http://127.0.0.1:8000/v1")
    model.add_argument("--model-name", default="recode", metavar="NAME", help="the model to ask (default: recode)")
    model.add_argument(
        "--model-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds one answer may take, retries included (default: 60)",
    )
    parser.add_argument("--version", action="version", version=f"recode-migrate {__version__}")
    parser.set_defaults(mode="check")
    return parser


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class Progress:
    """A one-line progress bar on a terminal, shown only for runs longer than a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty() and not os.environ.get("CI")
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0 or time.monotonic() - self.started < 1.0:
            return
        width = 30
        filled = int(width * done / total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def list_changes(library: str, out: TextIO) -> int:
    from recode_lsp.engine.knowledge import load_knowledge_base

    kb = load_knowledge_base()
    changes = kb.select([library]) if library else kb.changes
    if library and not changes:
        sys.stderr.write(f"recode-migrate: no changes known for {library!r}; libraries: {', '.join(kb.libraries)}\n")
        return EXIT_ERROR
    for change in changes:
        versions = []
        if change.deprecated_in is not None:
            versions.append(f"deprecated {change.deprecated_in}")
        if change.removed_in is not None:
            versions.append(f"removed {change.removed_in}")
        old = change.old + (f"({change.old_keyword}=)" if change.old_keyword else "")
        new = change.describe_new()
        facts = f"[{', '.join(versions)}; fix: {change.fix.value}]"
        out.write(f"{change.id:<7} {change.library:<10} {change.kind.value:<24} {old} -> {new}  {facts}\n")
    out.write(f"{len(changes)} changes.\n")
    return EXIT_CLEAN


def _model_fixes(
    args: argparse.Namespace, results: list[FileResult], kb: KnowledgeBase, settings: RunSettings, unsafe: bool
) -> None:
    """Ask the served model about display-only findings (after the pool; see :mod:`recode_lsp.cli.model_fixes`)."""
    from recode_lsp.cli.model_fixes import ModelSettings, apply_model_fixes, wants_model

    if not any(wants_model(result) for result in results):
        return
    if args.mode == "check":
        sys.stderr.write("recode-migrate: --model proposes fixes with --diff or --apply; this run only checks\n")
        return
    if args.mode == "apply" and not unsafe:
        sys.stderr.write(
            "recode-migrate: model fixes are unsafe: pass --unsafe-fixes to --apply them (or use --diff)\n"
        )
        return
    model = ModelSettings(args.model, args.model_name, args.model_timeout)
    run = apply_model_fixes(results, kb, settings, model, write=True)
    if run.outage is not None:
        sys.stderr.write(
            f"recode-migrate: the model server at {args.model} is unavailable ({run.outage}); "
            "no model fixes this run, the rule fixes go on\n"
        )
    elif run.asked:
        sys.stderr.write(
            f"recode-migrate: the model fixed {run.accepted} of {run.asked} findings without a rule "
            f"(validated, unsafe); {run.rejected} rejected by the validator\n"
        )


def _gated_model_fixes(
    args: argparse.Namespace,
    gate: TestGate,
    results: list[FileResult],
    rule_files: Sequence[GatedFile],
    kb: KnowledgeBase,
    settings: RunSettings,
    unsafe: bool,
) -> list[ModelGatedFile]:
    """``--test`` with ``--model``: the model is asked on the text the kept rule fixes left, and
    each fix it makes is gated by the tests like a rule fix (see :mod:`recode_lsp.cli.test_gate`)."""
    from recode_lsp.cli import test_gate
    from recode_lsp.cli.model_fixes import ModelSettings, wants_model

    candidates = [result for result in results if not result.path.endswith(".ipynb")]
    if not any(wants_model(result) for result in candidates):
        return []
    if not unsafe:
        sys.stderr.write("recode-migrate: model fixes are unsafe: pass --unsafe-fixes to --apply them\n")
        return []
    model = ModelSettings(args.model, args.model_name, args.model_timeout)
    found = test_gate.model_files(gate, candidates, rule_files, kb, settings, model)
    if found.skipped is not None:
        sys.stderr.write(f"recode-migrate: the model was not asked: {found.skipped}\n")
    elif found.outage is not None:
        sys.stderr.write(
            f"recode-migrate: the model server at {args.model} is unavailable ({found.outage}); "
            "no model fixes this run, the rule fixes go on\n"
        )
    elif found.asked:
        sys.stderr.write(
            f"recode-migrate: the model fixed {found.accepted} of {found.asked} findings without a rule "
            f"(validated, unsafe); {found.rejected} rejected by the validator; the tests decide which stay\n"
        )
    if found.files:
        gate.run(found.files)
        test_gate.update_model_results(gate.outcome, found.files, args.test, gate.timeout)
    return found.files


def _interpreter(args: argparse.Namespace, config: ProjectConfig) -> tuple[str | None, bool]:
    """The interpreter whose installed versions count, and whether it may be run.

    ``--python`` is the user's own choice and runs. ``[tool.recode] python`` comes with the
    project (a cloned repository can name any program), so it runs only when the user trusts
    it (``--trust-config-python`` or ``RECODE_TRUST_PYTHON=1``); otherwise its environment's
    versions are read from its files, and a message says so.
    """
    from recode_lsp.engine.versions import TRUST_ENV, trusted_by_environment

    if args.python is not None:
        return args.python, True
    if config.python is None:
        return None, False
    if args.trust_config_python or trusted_by_environment():
        return config.python, True
    sys.stderr.write(
        f"recode-migrate: not running {config.python!r} from [tool.recode] python in {config.path}: "
        "a project's settings do not run programs; its installed versions are read from its virtual "
        "environment's files instead (or this interpreter's, if it is in none). To run it, pass "
        f"--python {config.python} or --trust-config-python, or set {TRUST_ENV}=1\n"
    )
    return config.python, False


def _size_argument(text: str) -> int:
    from recode_lsp.cli.files import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """The closest candidate (difflib) as "; did you mean 'pydantic'?", or "" when none is close."""
    import difflib

    by_key = {candidate.lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_key), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {by_key[close[0]]!r}?"
    return ""


def _unknown_names(
    args: argparse.Namespace, config: ProjectConfig, cli_targets: dict[str, object], kb: KnowledgeBase
) -> list[str]:
    """Messages for ``--select`` / ``--ignore`` tokens and ``--target`` libraries the knowledge base lacks.

    A typo must not silently select nothing (or ignore nothing): each unknown name is an error
    naming the closest known id, id prefix or library. ``[tool.recode]`` is checked the same way.
    """
    from recode_lsp.cli.kb_subset import shipped_libraries
    from recode_lsp.engine.options import selected

    # ``kb`` may hold only the selected libraries (cli/kb_subset.py): a target may name any.
    libraries = sorted(set(kb.libraries) | set(shipped_libraries()))
    prefixes = sorted({change.id.rstrip("0123456789") for change in kb.changes})
    ids = [change.id for change in kb.changes]
    listing = f" (libraries: {', '.join(libraries)}; id prefixes: {', '.join(prefixes)})"
    problems: list[str] = []

    def check_tokens(tokens: Sequence[str], where: str) -> None:
        for token in tokens:
            if getattr(args, "too_new", False) and token.strip().upper().startswith("RCN"):
                continue  # the too-new check's ids (recode_lsp/toonew) are not in the knowledge base
            if not any(selected(change, [token], []) for change in kb.changes):
                hint = _did_you_mean(token, [*libraries, *prefixes, *ids]) or listing
                problems.append(f"{where} {token!r}: no rule id, id prefix or library of that name{hint}")

    def check_targets(names: Sequence[str], where: str) -> None:
        if getattr(args, "too_new", False):
            return  # --too-new checks any library, in the knowledge base or not
        for name in names:
            if name not in libraries:
                hint = _did_you_mean(name, libraries) or f" (libraries: {', '.join(libraries)})"
                problems.append(f"{where}: no library {name!r} in the knowledge base{hint}")

    check_tokens(_split(args.select), "--select")
    check_tokens(_split(args.ignore), "--ignore")
    check_targets(sorted(cli_targets), "--target")
    where = f"{config.path}: [tool.recode]"
    check_tokens(config.select, f"{where} select")
    check_tokens(config.ignore, f"{where} ignore")
    check_targets(sorted(config.targets), f"{where} targets")
    return problems


def _sized(
    files: Sequence[str],
    limit: int,
    stats: dict[str, tuple[int, int]] | None = None,
    sizes: dict[str, int] | None = None,
) -> tuple[list[str], dict[str, FileResult]]:
    """``files`` within ``limit`` bytes, and a reported result for each larger one (0: no limit).

    Each (size, mtime) taken goes in ``stats``: the result cache looks files up by them, and a
    warm run of a large tree is little more than these calls (issue 15: one per file, not two).
    Each size goes in ``sizes`` too: a cold run hands the largest files out first by them
    (``runner.run_files``), without a second ``stat`` per file before the workers start.
    """
    from recode_lsp.cli.runner import FileResult

    if not limit:
        return list(files), {}
    kept: list[str] = []
    skipped: dict[str, FileResult] = {}
    stat = os.stat
    for path in files:
        try:
            info = stat(path)
        except OSError:
            size = 0  # the worker reports what cannot be read
        else:
            size = info.st_size
            if stats is not None:
                stats[path] = (size, info.st_mtime_ns)
            if sizes is not None:
                sizes[path] = size
        if size > limit:
            skipped[path] = FileResult(
                path,
                error=f"skipped: {size:,} bytes is over the size limit of {limit:,} "
                "(raise it with --max-file-size or [tool.recode] max-file-size, 0 for none)",
            )
        else:
            kept.append(path)
    return kept, skipped


def _run_memo(
    args: argparse.Namespace,
    root: Path,
    kb: KnowledgeBase,
    options: DetectOptions,
    files: Sequence[str],
    stats: dict[str, tuple[int, int]],
    limit: int,
    *,
    remembers: bool,
) -> RunMemo | None:
    """The memo of this ``--check`` run's results (cli/cache.py: ``RunMemo``), where one applies: a
    check of files with the result cache on, no notebook (read each run), every file's stat taken,
    and nothing else deciding the results (``--too-new``'s releases, a model, a test gate)."""
    if (
        args.mode != "check"
        or args.no_cache
        or args.model is not None
        or not remembers
        or len(stats) < len(files)
        or any(path.endswith(".ipynb") or path not in stats for path in files)
    ):
        return None
    from recode_lsp.cli.cache import RunMemo, cache_key

    settings = cache_key(root=root, kb=kb, options=options, check_syntax=args.check_syntax)
    return RunMemo(json.dumps([settings, os.getcwd(), limit]), files, stats)


def _write_bytes(stream: TextIO, data: bytes) -> None:
    """Write ``data`` unchanged to a text stream's binary buffer (a patch keeps its own bytes)."""
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:  # an in-memory stream (tests): the closest text
        stream.write(data.decode("utf-8", "surrogateescape"))


def _diffs(results: Sequence[FileResult], root: Path) -> list[FileDiff]:
    """The patch of every fixed file; a file whose diff cannot be made is said on stderr."""
    from recode_lsp.cli.report import FileDiff, file_diff

    diffs: list[FileDiff] = []
    for result in results:
        diff = file_diff(result, root)
        if isinstance(diff, FileDiff):
            diffs.append(diff)
        elif diff is not None:
            sys.stderr.write(f"recode-migrate: {result.path}: no diff: {diff}\n")
    return diffs


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the exit flush raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = _run(args, parser)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as ruff and ripgrep do.
        _quiet_stdout()
        return EXIT_CLEAN
    except KeyboardInterrupt:
        sys.stderr.write("recode-migrate: interrupted\n")
        return EXIT_ERROR
    except Exception as exc:  # an internal error must still exit 2 with a message
        sys.stderr.write(f"recode-migrate: internal error: {type(exc).__name__}: {exc}\n")
        if os.environ.get("RECODE_DEBUG"):
            raise
        return EXIT_ERROR


def _check_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> bool:
    """Usage errors (exit 2, argparse's message); returns whether the source comes from stdin."""
    stdin = [str(p) for p in args.paths] == ["-"] or (not args.paths and args.stdin_filename is not None)
    if "-" in [str(p) for p in args.paths] and not stdin:
        parser.error("'-' (read stdin) cannot be combined with other paths")
    if args.plan_report is not None and not args.plan:
        parser.error("--plan-report goes with --plan")
    if args.stdin_filename is not None and not stdin:
        parser.error("--stdin-filename goes with '-' as the path (the source read from stdin)")
    if not stdin:
        missing = [str(p) for p in args.paths if not p.exists()]
        if missing:
            parser.error(f"no such file or folder: {', '.join(missing)}")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.model is not None and not args.model.startswith(("http://", "https://")):
        parser.error(f"--model must be an http(s) URL, not {args.model!r}")
    if args.model_timeout <= 0:
        parser.error("--model-timeout must be positive")
    if args.statistics and args.format in ("sarif", "github"):
        parser.error(f"--statistics prints text or json, not {args.format}")
    if stdin and args.model is not None:
        parser.error("--model fixes files, not stdin")
    gate_options = ("test_batch_size", "test_timeout", "test_budget")
    if args.test is None:
        given = [name for name in gate_options if getattr(args, name) is not None]
        if given:
            parser.error(f"--{given[0].replace('_', '-')} goes with --test")
    else:
        if args.mode != "apply":
            parser.error("--test goes with --apply (it decides which fixes to keep)")
        if stdin:
            parser.error("--test runs your tests on the files it fixes, not on stdin")
        if not args.test.strip():
            parser.error("--test needs a command, e.g. --test 'python -m pytest -q'")
        if args.test_batch_size is not None and args.test_batch_size < 1:
            parser.error("--test-batch-size must be at least 1")
        for name in ("test_timeout", "test_budget"):
            value = getattr(args, name)
            if value is not None and value <= 0:
                parser.error(f"--{name.replace('_', '-')} must be positive")
    return stdin


def _check_plan_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser, stdin: bool) -> None:
    """Usage errors of ``--plan`` (exit 2)."""
    if stdin:
        parser.error("--plan reads a project's files, not stdin")
    if args.mode != "check":
        parser.error(f"--plan changes nothing: it does not go with --{args.mode}")
    if args.format not in ("text", "json"):
        parser.error(f"--plan prints text or json, not {args.format}")
    for flag, given in (("--statistics", args.statistics), ("--test", args.test), ("--model", args.model)):
        if given:
            parser.error(f"--plan does not go with {flag}")


def _quietness(args: argparse.Namespace) -> int:
    """0: the full report; 1 (-q): no summary; 2 (-qq, --silent): no report."""
    return 2 if args.silent else min(args.quiet, 2)


def _resolved_targets(targets: Targets, wanted: Sequence[str]) -> dict[str, dict[str, str | None]]:
    """Each checked library's target version and where it came from (``summary.targets`` in JSON)."""
    resolved: dict[str, dict[str, str | None]] = {}
    for library in wanted:
        source = targets.by_library.get(library)
        if source is None:
            resolved[library] = {"version": None, "source": "none: checked against the newest version known"}
        else:
            resolved[library] = {"version": str(source.version), "source": source.origin}
    return resolved


def _too_new_cache(too_new: TooNew | None) -> dict[str, Path]:
    """With ``--too-new``, results are cached apart, per set of releases read (they add findings)."""
    if too_new is None:
        return {}
    from recode_lsp.cache_home import cache_home
    from recode_lsp.engine.digest import digest
    from recode_lsp.toonew.run import releases_read

    return {"folder": cache_home() / "check-too-new" / digest(releases_read(too_new).encode(), 12)}


def _read_stdin() -> bytes:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read()
        return data
    return sys.stdin.read().encode("utf-8")


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list_changes is not None:
        return list_changes(args.list_changes, sys.stdout)
    stdin = _check_arguments(args, parser)
    if args.plan:
        _check_plan_arguments(args, parser, stdin)
    if args.output_file is None:
        return _run_to(args, parser, stdin, sys.stdout)
    try:
        args.output_file.parent.mkdir(parents=True, exist_ok=True)
        handle = open(args.output_file, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        sys.stderr.write(f"recode-migrate: cannot write {args.output_file}: {exc.strerror or exc}\n")
        return EXIT_ERROR
    with handle:
        return _run_to(args, parser, stdin, handle)


def _run_to(args: argparse.Namespace, parser: argparse.ArgumentParser, stdin: bool, out: TextIO) -> int:
    """The run, with the report written to ``out`` (stdout or ``--output-file``)."""
    from recode_lsp.cli.config import ConfigError, find_project_root, load_config
    from recode_lsp.cli.kb_subset import load_for
    from recode_lsp.engine.knowledge import KnowledgeBaseError
    from recode_lsp.engine.versions import parse_target

    if args.plan:
        from recode_lsp.cli.plan import run_plan

        return run_plan(args, parser, out)
    quiet = _quietness(args)
    paths: list[Path] = [] if stdin else (args.paths or [Path(".")])
    stdin_name = args.stdin_filename or "-"
    cli_targets = {}
    for text in args.target:
        try:
            library, version = parse_target(text)
        except ValueError as exc:
            parser.error(str(exc))
        cli_targets[library] = version
    root = find_project_root(Path(args.stdin_filename) if args.stdin_filename else Path.cwd()) if stdin else None
    root = root or find_project_root(paths[0])
    try:
        config = load_config(root, cached=not args.no_cache)
        kb = load_for(_split(args.select) or config.select, _split(args.ignore) + config.ignore, config.extra_changes)
    except (ConfigError, KnowledgeBaseError) as exc:
        sys.stderr.write(f"recode-migrate: {exc}\n")
        return EXIT_ERROR
    unsafe = config.unsafe_fixes if args.unsafe_fixes is None else args.unsafe_fixes
    unknown = _unknown_names(args, config, dict(cli_targets), kb)
    if unknown:
        sys.stderr.writelines(f"recode-migrate: {problem}\n" for problem in unknown)
        return EXIT_ERROR

    from recode_lsp.cli.files import DEFAULT_MAX_FILE_SIZE, dirty_files, discover
    from recode_lsp.cli.report import (
        statistics,
        unified_diff_bytes,
        write_fixes,
        write_github,
        write_json,
        write_sarif,
        write_statistics,
        write_text,
    )
    from recode_lsp.cli.runner import (
        ResultCache,
        RunSettings,
        build_prefilter,
        init_worker,
        process_data,
        run_files,
    )
    from recode_lsp.engine.options import DetectOptions
    from recode_lsp.engine.versions import resolve_targets

    if args.mode == "apply" and not args.allow_dirty and not stdin:
        dirty = dirty_files(paths)
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            sys.stderr.write(
                f"recode-migrate: refusing to --apply: the git work tree has uncommitted changes ({shown}); "
                "commit or stash them, or pass --allow-dirty\n"
            )
            return EXIT_ERROR
    select = _split(args.select) or config.select
    ignore = _split(args.ignore) + config.ignore
    probe = DetectOptions(select=select, ignore=ignore, libraries=config.libraries)
    wanted = sorted({c.library for c in kb.changes if probe.severity(c) is not None})
    python, run_python = _interpreter(args, config)
    try:
        targets = resolve_targets(
            wanted,
            cli_targets=cli_targets,
            config_targets=config.targets,
            project_root=root,
            python=python,
            run_python=run_python,
        )
    except RuntimeError as exc:
        sys.stderr.write(f"recode-migrate: {exc}\n")
        return EXIT_ERROR
    options = DetectOptions(
        targets={library: targets.version(library) for library in wanted},
        select=select,
        ignore=ignore,
        libraries=config.libraries,
    )
    exclude = (_split(args.exclude) if args.exclude is not None else config.exclude) + _split(args.extend_exclude)
    try:
        notebooks = config.notebooks if args.notebooks is None else args.notebooks
        files = [] if stdin else discover(paths, exclude, notebooks=notebooks)
    except FileNotFoundError as exc:
        sys.stderr.write(f"recode-migrate: {exc}\n")
        return EXIT_ERROR
    installed = {}
    if args.mode != "check" and python is None:
        from recode_lsp.engine.versions import installed_versions

        installed = installed_versions(kb.libraries)
    stdin_data = _read_stdin() if stdin and args.too_new else b""
    too_new = None
    if args.too_new:
        from recode_lsp.toonew.run import candidate_targets, prepare

        wanted_targets = candidate_targets(
            {name: source.version for name, source in targets.by_library.items()}, root, cli_targets
        )
        # With more than one job, the run's prefilter is built while the files are searched (in another
        # process) for the libraries they import.
        parallel = not stdin and (args.jobs or os.cpu_count() or 1) > 1
        too_new = prepare(
            wanted_targets,
            kb,
            paths=files,
            data=[stdin_data],
            warn=sys.stderr,
            meanwhile=partial(build_prefilter, kb, options) if parallel else None,
        )
    settings = RunSettings(args.mode, unsafe, options, installed, too_new=too_new, check_syntax=args.check_syntax)
    # Only --statistics and SARIF describe the ids (building the extended knowledge base took ~0.05 s).
    describes = args.statistics or args.format == "sarif"
    report_kb = too_new.report_kb(kb) if too_new is not None and describes else kb
    gate = None
    if args.test is not None:
        from recode_lsp.cli import test_gate

        gate = test_gate.TestGate(
            args.test,
            root,
            timeout=args.test_timeout or test_gate.DEFAULT_TIMEOUT,
            budget=args.test_budget or test_gate.DEFAULT_BUDGET,
            batch_size=args.test_batch_size or test_gate.DEFAULT_BATCH_SIZE,
            progress=sys.stderr,
        )
        before = gate.baseline()
        if not before.passed:
            sys.stderr.write(
                f"recode-migrate: --test: `{args.test}` fails before any fix ({before.status(gate.timeout)}) in "
                f"{root}; nothing was changed. Make it pass first. The end of its output:\n"
            )
            sys.stderr.writelines(f"    | {line}\n" for line in before.excerpt().splitlines())
            return EXIT_ERROR
    if stdin:
        stdin_data = stdin_data or _read_stdin()
        init_worker(kb, settings)
        results = [process_data(stdin_name, stdin_data)]
        results[0].read_digest = None
    else:
        jobs = args.jobs or os.cpu_count() or 1
        progress = Progress(sys.stderr)
        limit = next(
            size for size in (args.max_file_size, config.max_file_size, DEFAULT_MAX_FILE_SIZE) if size is not None
        )
        sizes: dict[str, int] = {}
        stats: dict[str, tuple[int, int]] = {}
        checked, oversized = _sized(files, limit, None if args.no_cache else stats, sizes)
        memo = _run_memo(args, root, kb, options, checked, stats, limit, remembers=too_new is None and gate is None)
        remembered = memo.results() if memo is not None else None
        if remembered is not None:
            results = remembered
        else:
            cache = (
                None
                if args.no_cache
                else ResultCache(root, kb, options, check_syntax=args.check_syntax, **_too_new_cache(too_new))
            )
            if cache is not None:
                cache.stats = stats  # each serves its file's next lookup once, in place of another stat
            results = run_files(checked, kb, settings, jobs, cache, progress, sizes)
            if memo is not None:
                memo.save(results)
        if oversized:
            by_path = dict(zip(checked, results, strict=True))
            results = [oversized[path] if path in oversized else by_path[path] for path in files]
        progress.close()
    if args.model is not None and gate is None:  # with --test, after the rule fixes are gated
        _model_fixes(args, [r for r in results if not r.path.endswith(".ipynb")], kb, settings, unsafe)

    report_root = Path.cwd()
    # stdout carries one thing: the patch (text format; the report then goes to stderr), the
    # fixed source (stdin with --apply; the report goes to stderr) or the machine-readable report
    # (json and sarif carry the patches inside; github's go to stderr).
    diffs: list[FileDiff] | None = None
    if args.mode == "diff" and stdin:
        from recode_lsp.cli.report import FileDiff, relative

        diffs = []
        new = results[0].new_bytes
        if new is not None and new != stdin_data:
            encoding = "utf-8"
            from recode_lsp.cli.files import DecodeError, decode_source

            with contextlib.suppress(DecodeError):
                encoding = decode_source(stdin_data).encoding
            patch = unified_diff_bytes(stdin_name, stdin_data, new, report_root)
            diffs.append(FileDiff(relative(stdin_name, report_root), patch, encoding))
    elif args.mode == "diff":
        diffs = _diffs(results, report_root)
    report_out = out
    if stdin and args.mode == "apply":
        _write_bytes(sys.stdout, results[0].new_bytes if results[0].new_bytes is not None else stdin_data)
        if args.output_file is None:
            report_out = sys.stderr
    if diffs and args.format in ("text", "github"):
        _write_bytes(out if args.format == "text" else sys.stderr, b"".join(diff.patch for diff in diffs))
    written = 0
    write_failed = False
    gate_json = None
    if args.mode == "apply" and gate is not None:
        from recode_lsp.cli import test_gate
        from recode_lsp.cli.notebooks import hold_back

        hold_back(results, "--test gates the fixes of modules, not notebooks; run without --test to fix them")
        gated = test_gate.gated_files(results, kb, settings)
        outcome = gate.run(gated)
        test_gate.update_results(outcome, gated, args.test, gate.timeout)
        model_files = _gated_model_fixes(args, gate, results, gated, kb, settings, unsafe) if args.model else []
        written = len(
            {file.path for file in gated if file.on_disk} | {file.path for file in model_files if file.on_disk}
        )
        test_gate.write_gate_report(sys.stderr, outcome, args.test, gate.timeout, report_root)
        gate_json = test_gate.gate_json(outcome, args.test, gate.timeout, report_root)
        write_failed = (
            outcome.broken
            or outcome.stopped == "interrupted"
            or (outcome.stopped is not None and not outcome.stopped.startswith("the test budget"))
        )
    elif args.mode == "apply" and not stdin:
        from recode_lsp.cli.writes import write_results

        outcome_writes = write_results(results)
        written = len(outcome_writes.written)
        for leftover in outcome_writes.removed_leftovers:
            sys.stderr.write(f"recode-migrate: removed {leftover} (left by an interrupted --apply)\n")
        # Every file that was not written, once the writes are done (the others went on).
        for problem in outcome_writes.problems:
            sys.stderr.write(f"recode-migrate: {problem.path}: not written: {problem.reason}\n")
        if outcome_writes.problems:
            sys.stderr.write(
                f"recode-migrate: {len(outcome_writes.problems)} of {len(outcome_writes.problems) + written} "
                "files with fixes were not written (reasons above)\n"
            )
        if outcome_writes.interrupted is not None:
            sys.stderr.write(
                f"recode-migrate: interrupted by {outcome_writes.interrupted}: {written} files written, "
                f"{len(outcome_writes.not_attempted)} left unchanged\n"
            )
        write_failed = bool(outcome_writes.problems or outcome_writes.interrupted)
    elif stdin and args.mode == "apply":
        written = int(results[0].new_bytes is not None and results[0].new_bytes != stdin_data)
    if not results and quiet < 2:
        sys.stderr.write("recode-migrate: warning: No Python files found under the given path(s)\n")
    if quiet < 2:
        rows = statistics(results, report_kb, unsafe) if args.statistics else None
        if args.format == "json" and rows is not None:
            report_out.write(json.dumps(rows) + "\n")
        elif args.format == "json":
            write_json(
                report_out,
                results,
                report_root,
                diffs=diffs,
                targets=_resolved_targets(targets, wanted),
                test_gate=gate_json,
            )
        elif args.format == "sarif":
            write_sarif(report_out, results, report_root, report_kb, diffs=diffs)
        elif args.format == "github":
            write_github(report_out, results, report_root)
        elif results:
            # With a diff on stdout the human report goes to stderr, so the diff stays a patch.
            text_out = sys.stderr if args.mode == "diff" else report_out
            if rows is not None:
                write_statistics(text_out, rows)
            write_text(text_out, results, report_root, unsafe, args.mode, summary=quiet == 0, findings=rows is None)
            if args.show_fixes and args.mode != "check":
                write_fixes(text_out, results, report_root, args.mode)
    if write_failed:
        return EXIT_ERROR
    found = any(r.records or r.error for r in results)
    code = EXIT_FOUND if found or written else EXIT_CLEAN
    return EXIT_CLEAN if args.exit_zero else code


if __name__ == "__main__":
    raise SystemExit(main())
