"""``recode-serve``: run the ReCode model server and manage its adapters.

::

    recode-serve start --model NAME_OR_PATH [--adapter NAME[=PATH]]... [--host H] [--port P]
                       [--tensor-parallel-size N] [--max-model-len N] [--foreground] [-- VLLM ARGS...]
    recode-serve stop | status [--json]
    recode-serve adapters add NAME PATH [--base MODEL] [--data-hash H] [--scores JSON]
    recode-serve adapters list | load NAME | unload NAME | promote NAME | rollback

``--state-dir`` (env ``RECODE_SERVE_STATE``) and ``--registry`` (env ``RECODE_ADAPTER_REGISTRY``)
go before or after the command. Exit status: 0 done, 1 failed (the message says why), 2 usage.
The proxy's admin token is in ``<state dir>/admin_token`` (mode 0600); the commands read it from
the state. ``rollback`` reads the promotions recorded in the registry, so it works after a restart.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.config import DEFAULT_ALIAS, AdapterSpec, ServeConfig, ServeError, default_state_dir
from serving.registry import AdapterRegistry, RegistryError, check_name
from serving.state import StateStore

if TYPE_CHECKING:
    from serving.control import AdapterControl

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _common(suppress: bool) -> argparse.ArgumentParser:
    """--state-dir and --registry, accepted before and after the command."""
    parent = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS if suppress else None
    parent.add_argument(
        "--state-dir", type=Path, default=default, help="the server's state folder (default ~/.cache/recode/serve)"
    )
    parent.add_argument(
        "--registry", type=Path, default=default, help="the adapter registry (default ~/.cache/recode/adapters)"
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    common = _common(suppress=True)
    parser = argparse.ArgumentParser(
        prog="recode-serve",
        parents=[_common(suppress=False)],
        description="Serve the ReCode model with vLLM, behind an alias proxy, and hot-swap its LoRA adapters.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = commands.add_parser("start", parents=[common], help="start vLLM and the alias proxy")
    start.add_argument("--model", required=True, help="base model: a Hugging Face id or a local folder")
    start.add_argument(
        "--adapter",
        action="append",
        default=[],
        metavar="NAME[=PATH]",
        help="a LoRA adapter to load (PATH, else the registry's NAME); the first serves the alias",
    )
    start.add_argument("--host", default="127.0.0.1", help="where clients connect (default 127.0.0.1)")
    start.add_argument("--port", type=int, default=8000, help="the port clients use (the alias proxy; default 8000)")
    start.add_argument("--vllm-port", type=int, default=None, help="vLLM's port on 127.0.0.1 (default: a free one)")
    start.add_argument("--alias", default=DEFAULT_ALIAS, help=f"the model name clients use (default {DEFAULT_ALIAS})")
    start.add_argument("--alias-target", default=None, metavar="NAME", help="the adapter the alias serves first")
    start.add_argument("--served-model-name", default=None, help="the base model's name in vLLM")
    start.add_argument("--tensor-parallel-size", "--tp", type=int, default=1, metavar="N", help="GPUs per replica")
    start.add_argument("--max-model-len", type=int, default=None, metavar="N")
    start.add_argument("--max-lora-rank", type=int, default=None, metavar="R", help="default: the adapters' largest")
    start.add_argument("--max-loras", type=int, default=2, metavar="N", help="adapters per batch (at least 2)")
    start.add_argument("--max-cpu-loras", type=int, default=None, metavar="N")
    start.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    start.add_argument("--gpu-memory-utilization", type=float, default=None, metavar="F", help="(CPU: share of RAM)")
    start.add_argument("--dtype", default=None, help="default: vLLM's on GPU, float32 on CPU")
    start.add_argument("--cpu-kvcache-gib", type=int, default=None, metavar="GIB", help="VLLM_CPU_KVCACHE_SPACE")
    start.add_argument("--startup-timeout", type=float, default=900.0, metavar="S")
    start.add_argument("--foreground", action="store_true", help="stay attached and stream the log to the terminal")

    commands.add_parser("stop", parents=[common], help="stop the server")
    status = commands.add_parser("status", parents=[common], help="what runs, and whether it answers")
    status.add_argument("--json", action="store_true", help="machine-readable")

    adapters = commands.add_parser("adapters", parents=[common], help="the adapter registry and hot swap")
    actions = adapters.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help="register an adapter folder as version NAME")
    add.add_argument("name")
    add.add_argument("path", type=Path)
    add.add_argument("--base", default=None, help="base model (default: from adapter_config.json)")
    add.add_argument("--data-hash", default="", help="hash of the training data")
    add.add_argument("--scores", default=None, metavar="JSON", help="evaluation scores, e.g. '{\"pass@1\": 0.4}'")
    listing = actions.add_parser("list", parents=[common], help="registered versions, and what the server serves")
    listing.add_argument("--json", action="store_true")
    for action, text in (("load", "load into the running server"), ("unload", "unload from the running server")):
        sub = actions.add_parser(action, parents=[common], help=text)
        sub.add_argument("name")
        if action == "load":
            sub.add_argument("--force", action="store_true", help="even if it was trained on another base model")
    promote = actions.add_parser("promote", parents=[common], help="serve NAME under the alias (hot swap)")
    promote.add_argument("name")
    promote.add_argument("--drain-timeout", type=float, default=300.0, metavar="S")
    promote.add_argument("--force", action="store_true", help="even if it was trained on another base model")
    rollback = actions.add_parser("rollback", parents=[common], help="serve the previous adapter again")
    rollback.add_argument("--drain-timeout", type=float, default=300.0, metavar="S")
    return parser


def split_extra(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``start ... -- --enforce-eager`` -> (our arguments, vLLM's)."""
    items = list(argv)
    if "--" in items:
        index = items.index("--")
        return items[:index], items[index + 1 :]
    return items, []


def parse_adapter(text: str) -> AdapterSpec | str:
    """``NAME=PATH`` -> an :class:`AdapterSpec`; ``NAME`` alone -> the name (looked up in the registry)."""
    name, sep, path = text.partition("=")
    check_name(name)
    if not sep:
        return name
    if not path:
        raise ServeError(f"--adapter {text!r}: the path is empty")
    return AdapterSpec(name, Path(path).expanduser().resolve())


def config_from_args(args: argparse.Namespace, extra: Sequence[str], registry: AdapterRegistry) -> ServeConfig:
    specs: list[AdapterSpec] = []
    for text in args.adapter:
        parsed = parse_adapter(text)
        if isinstance(parsed, str):
            version = registry.get(parsed)
            version.verify()
            parsed = AdapterSpec(parsed, version.path)
        specs.append(parsed)
    return ServeConfig(
        model=args.model,
        adapters=tuple(specs),
        host=args.host,
        port=args.port,
        vllm_port=args.vllm_port,
        alias=args.alias,
        alias_target=args.alias_target,
        served_model_name=args.served_model_name,
        tensor_parallel_size=args.tensor_parallel_size,
        max_model_len=args.max_model_len,
        max_lora_rank=args.max_lora_rank,
        max_loras=args.max_loras,
        max_cpu_loras=args.max_cpu_loras,
        device=args.device,
        gpu_memory_utilization=args.gpu_memory_utilization,
        dtype=args.dtype,
        cpu_kvcache_gib=args.cpu_kvcache_gib,
        extra_args=tuple(extra),
        state_dir=args.state_dir or default_state_dir(),
        startup_timeout=args.startup_timeout,
        foreground=args.foreground,
    )


def _say(text: str) -> None:
    sys.stderr.write(f"recode-serve: {text}\n")
    sys.stderr.flush()


def _parse_scores(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ServeError(f"--scores is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ServeError('--scores must be a JSON object, e.g. {"pass@1": 0.41}')
    return data


def main(argv: Sequence[str] | None = None) -> int:
    ours, extra = split_extra(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(ours)
    if extra and args.command != "start":
        parser.error("arguments after -- go to vLLM and are only for `start`")
    try:
        return run(args, extra)
    except (ServeError, RegistryError) as exc:
        _say(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_FAILED


def run(args: argparse.Namespace, extra: Sequence[str]) -> int:
    from serving.control import AdapterControl  # httpx only; the launcher (and aiohttp) only where needed

    store = StateStore(args.state_dir or default_state_dir())
    registry = AdapterRegistry(args.registry)
    if args.command in ("start", "stop", "status"):
        return _server_command(args, extra, store, registry)
    assert args.command == "adapters"
    return _adapters_command(args, store, registry, AdapterControl(store, registry))


def _server_command(
    args: argparse.Namespace, extra: Sequence[str], store: StateStore, registry: AdapterRegistry
) -> int:
    from serving import launcher

    out = sys.stdout
    if args.command == "start":
        config = config_from_args(args, extra, registry)
        state = launcher.start(config, _say)
        if not config.foreground:
            out.write(f"{state.url}/v1 {state.alias} -> {state.alias_target}\n")
        return EXIT_OK
    if args.command == "stop":
        for line in launcher.stop(store):
            _say(line)
        return EXIT_OK
    assert args.command == "status"
    report = launcher.status(store, registry)
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
    elif not report.get("running"):
        recorded = "recorded but not running" if "pid" in report else "not running"
        out.write(f"{recorded} (state: {report['state_dir']})\n")
    else:
        out.write(
            f"{'healthy' if report['healthy'] else 'NOT HEALTHY'}: {report['url']} "
            f"{report['alias']} -> {report['current']} ({report['device']}, vLLM pid {report['pid']})\n"
            f"model: {report['model']}\nadapters: {', '.join(report['adapters']) or 'none'}  "  # type: ignore[arg-type]
            f"in flight: {report.get('in_flight', {})}\nlog: {report['log']}\n"
        )
    return EXIT_OK if report.get("running") and report.get("healthy") else EXIT_FAILED


def _adapters_command(
    args: argparse.Namespace, store: StateStore, registry: AdapterRegistry, control: AdapterControl
) -> int:
    out = sys.stdout
    if args.action == "add":
        version = registry.register(args.path, args.name, args.base, args.data_hash, _parse_scores(args.scores))
        out.write(f"registered {version.name} (base {version.base_model}, rank {version.rank}) in {version.path}\n")
        return EXIT_OK
    if args.action == "list":
        return _list(registry, store, args.json)
    if args.action == "load":
        control.load(args.name, force=args.force)
        _say(f"loaded {args.name}")
        return EXIT_OK
    if args.action == "unload":
        control.unload(args.name)
        _say(f"unloaded {args.name}")
        return EXIT_OK
    if args.action == "promote":
        result = control.promote(args.name, drain_timeout=args.drain_timeout, force=args.force)
    else:
        result = control.rollback(drain_timeout=args.drain_timeout)
    out.write(
        f"{result.alias} -> {result.new} (was {result.previous}); promote took {result.total_s:.2f} s "
        f"(load {result.load_s:.2f}, check {result.check_s:.2f}, drain+unload {result.drain_s:.2f})\n"
    )
    return EXIT_OK


def _list(registry: AdapterRegistry, store: StateStore, as_json: bool) -> int:
    try:
        state = store.load()
    except ServeError:
        state = None
    loaded = set(state.adapters) if state else set()
    current = state.current if state else None
    rows: list[dict[str, Any]] = []
    for item in registry.entries():
        version = item.version
        rows.append(
            {
                "name": item.name,
                "base_model": version.base_model if version else None,
                "data_hash": version.data_hash if version else None,
                "scores": version.scores if version else None,
                "created": version.created if version else None,
                "loaded": item.name in loaded,
                "serves_alias": item.name == current,
                "problem": item.problem,
            }
        )
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return EXIT_OK
    if not rows:
        sys.stdout.write(f"no adapters registered in {registry.root}\n")
    for row in rows:
        if row["problem"]:
            sys.stdout.write(f"  {row['name']:<20} CORRUPT: {row['problem']}\n")
            continue
        marks = ("*" if row["serves_alias"] else " ") + ("L" if row["loaded"] else " ")
        scores = ", ".join(f"{k}={v:g}" for k, v in (row["scores"] or {}).items())
        sys.stdout.write(
            f"{marks} {row['name']:<20} {row['created']}  base {row['base_model']}  "
            f"data {row['data_hash'] or '-'}  {scores or 'no scores'}\n"
        )
    if state is not None:
        registered = {row["name"] for row in rows}
        for name, path in state.adapters.items():
            if name not in registered:
                marks = ("*" if name == current else " ") + "L"
                sys.stdout.write(f"{marks} {name:<20} (not in the registry: {path})\n")
        sys.stdout.write(f"(* serves {state.alias!r}, L loaded in the server at {state.url})\n")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
