"""``recode-train update``: new release -> scraped changes -> mined data -> retrained adapter -> promoted live.

::

    recode-train update LIB --from OLD --to NEW [--config FILE] [--server URL|STATE_DIR] [--run-dir DIR]
    recode-train update --run-dir DIR                      # resume a stopped or killed run
    recode-train update --approve RUN [--accept ID,...]   # a person approves the scraped entries (review: true)
    recode-train update --watch LIB... [--since V] [--index DIR] [--config FILE]   # from cron or CI

Exit status: 0 done (promoted or kept, or waiting for review), 1 a step failed (rerun to resume),
2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from model_training.train.config import ConfigError
from model_training.update.config import load_update_config
from model_training.update.steps import StepError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "update",
        help="the update loop: scrape a release's changes, mine data, retrain, evaluate, register, promote",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("libraries", nargs="*", metavar="LIB", help="the library (several with --watch)")
    parser.add_argument("--from", dest="old", help="the release users come from")
    parser.add_argument("--to", dest="new", help="the new release")
    parser.add_argument("--config", help="update configuration (YAML; see model_training/configs/update_*.yaml)")
    parser.add_argument(
        "--server",
        help="the running recode-serve to promote into: its URL (state in serve.state_dir or the default) "
        "or its state folder; without it the promotion is recorded in the registry only",
    )
    parser.add_argument("--run-dir", type=Path, help="the run folder (default: <runs_dir>/<lib>-<old>-<new>)")
    parser.add_argument("--approve", type=Path, metavar="RUN", help="approve RUN's scraped entries and go on")
    parser.add_argument("--accept", help="with --approve: only these ids (comma-separated)")
    parser.add_argument("--watch", action="store_true", help="run the loop for every release newer than the last")
    parser.add_argument("--since", help="with --watch: the release to update from on a library's first check")
    parser.add_argument("--index", type=Path, help="with --watch: a local folder of releases instead of the index")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")


def resolve_server(text: str | None, state_dir: str | None) -> Path | None:
    """``--server``: a state folder as it is; a URL must be the server recorded in the state folder."""
    if not text:
        return None
    if "://" not in text:
        return Path(text)
    from serving.config import default_state_dir
    from serving.state import StateStore

    folder = Path(state_dir) if state_dir else default_state_dir()
    state = StateStore(folder).load()
    if state is None:
        raise StepError(f"no server recorded in {folder}; start it with recode-serve start, or pass its state folder")
    wanted = text.rstrip("/").removesuffix("/v1")
    if state.url.rstrip("/") != wanted:
        raise StepError(f"--server {text}: the server recorded in {folder} is {state.url}; pass its state folder")
    return folder


def main(args: argparse.Namespace) -> int:
    from model_training.update.run import DONE, FAILED, approve, run_update, watch

    try:
        config = load_update_config(args.config) if args.config else None
        if args.approve is not None:
            accept = [i.strip() for i in args.accept.split(",") if i.strip()] if args.accept else None
            path = approve(args.approve, accept)
            print(f"recode-train: approval written to {path}; continuing the run", file=sys.stderr)
            result: dict[str, Any] = run_update(None, None, None, None, run_dir=args.approve)
            return _finish(result, args.json)
        if args.watch:
            if not args.libraries:
                print("recode-train: --watch needs at least one LIB", file=sys.stderr)
                return 2
            config = config or load_update_config(None)
            server = resolve_server(args.server, config.serve.state_dir)
            outcome = watch(args.libraries, config, index=args.index, since=args.since, server=server)
            print(json.dumps(outcome, indent=2, default=str))
            failed = any(
                run["status"] == FAILED for entry in outcome.values() for run in entry.get("runs", [])
            ) or any("error" in entry for entry in outcome.values())
            return 1 if failed else 0
        if args.run_dir is not None and (args.run_dir / "run.json").is_file() and not args.libraries:
            result = run_update(None, None, None, config, run_dir=args.run_dir, server=_server(args, config))
            return _finish(result, args.json)
        if len(args.libraries) != 1 or not args.old or not args.new:
            print("recode-train: give LIB --from OLD --to NEW (or --run-dir RUN to resume)", file=sys.stderr)
            return 2
        config = config or load_update_config(None)
        result = run_update(
            args.libraries[0], args.old, args.new, config, run_dir=args.run_dir, server=_server(args, config)
        )
        return _finish(result, args.json, DONE)
    except ConfigError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2
    except StepError as exc:
        print(f"recode-train: {exc}", file=sys.stderr)
        return 2


def _server(args: argparse.Namespace, config: Any) -> Path | None:
    state_dir = config.serve.state_dir if config is not None else None
    if args.server:
        return resolve_server(args.server, state_dir)
    return None


def _finish(result: dict[str, Any], as_json: bool, _done: str = "done") -> int:
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['status']}: {result['message'] or result['run']}")
    return 1 if result["status"] == "failed" else 0
