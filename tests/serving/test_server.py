"""The served model end to end: a real vLLM (the tiny model), the alias proxy, hot swaps, a crash.

One server for the whole module (see ``conftest.py``); the tests run in order and each leaves
it serving ``recode -> v1``, except the last, which kills vLLM mid-request and stops it.
Adapters are told apart by greedy output: the same prompt gives a different text on ``v1``
and ``v2`` (random LoRA weights), and the alias must give exactly the text of the adapter it
serves; vLLM's ``model`` field and the proxy's ``X-Recode-Model`` header name it too.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from recode_lsp.engine import DetectOptions, detect
from recode_lsp.engine.knowledge import load_knowledge_base
from recode_lsp.engine.versions import Version
from recode_lsp.model_client import ModelClient, ModelError
from recode_lsp.model_fix import propose_sync
from serving.config import ADMIN_HEADER
from tests.serving.conftest import ROOT, Served

MESSAGES = [{"role": "user", "content": "import numpy as np\nvalue = np.float_(1)"}]


def chat(served: Served, model: str, max_tokens: int = 16) -> httpx.Response:
    payload = {"model": model, "messages": MESSAGES, "max_tokens": max_tokens, "temperature": 0}
    return httpx.post(served.url + "/chat/completions", json=payload, timeout=60, trust_env=False)


def text_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


def test_start_records_the_server_and_status_reports_it(served: Served) -> None:
    state = served.state()
    assert state["port"] == served.port and state["current"] == "v1" and state["device"] == "cpu"
    assert set(state["adapters"]) == {"v1"}
    result = served.cli("status", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["running"] and report["healthy"]
    assert report["aliases"] == {"recode": "v1"}
    assert {"v1", str(served.tiny.base)} <= set(report["models"])
    assert (served.state_dir / "vllm.log").stat().st_size > 0
    human = served.cli("status")
    assert human.returncode == 0 and "healthy" in human.stdout and "recode -> v1" in human.stdout


def test_alias_answers_from_its_adapter(served: Served) -> None:
    via_alias = chat(served, "recode")
    assert via_alias.headers["X-Recode-Model"] == "v1" and via_alias.json()["model"] == "v1"
    assert text_of(via_alias) == text_of(chat(served, "v1"))
    assert text_of(chat(served, "v1")) != text_of(chat(served, str(served.tiny.base)))
    models = httpx.get(served.url + "/models", timeout=10, trust_env=False).json()
    assert {"recode": "v1"}.items() <= {m["id"]: m["root"] for m in models["data"] if m["id"] == "recode"}.items()


def test_load_chat_and_unload_an_adapter(served: Served) -> None:
    assert served.cli("adapters", "load", "v2").returncode == 0
    assert set(served.state()["adapters"]) == {"v1", "v2"}
    answer = chat(served, "v2")
    assert answer.json()["model"] == "v2"
    assert text_of(answer) != text_of(chat(served, "v1"))
    listed = served.cli("adapters", "list", "--json")
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["v1"]["serves_alias"] and rows["v2"]["loaded"] and not rows["v2"]["serves_alias"]
    assert served.cli("adapters", "unload", "v2").returncode == 0
    assert chat(served, "v2").status_code == 404
    # The alias's adapter cannot be unloaded from under the clients.
    refused = served.cli("adapters", "unload", "v1")
    assert refused.returncode == 1 and "promote another one first" in refused.stderr


def test_unknown_adapter_and_vllm_endpoints_are_refused(served: Served) -> None:
    result = served.cli("adapters", "load", "nosuch")
    assert result.returncode == 1
    assert "unknown adapter 'nosuch'" in result.stderr and "v1" in result.stderr
    # Clients cannot change adapters through the proxy.
    payload = {"lora_name": "x", "lora_path": str(served.tiny.adapter2)}
    refused = httpx.post(served.url + "/load_lora_adapter", json=payload, timeout=10, trust_env=False)
    assert refused.status_code == 403
    # Nor around the proxy: vLLM wants the API key only recode-serve and the proxy know.
    around = f"http://127.0.0.1:{served.state()['vllm_port']}/v1/load_lora_adapter"
    assert httpx.post(around, json=payload, timeout=10, trust_env=False).status_code == 401


#: vLLM 0.32's endpoints outside ``/v1``, which its ``--api-key`` does not guard (the last five
#: exist only with VLLM_SERVER_DEV_MODE=1, which recode-serve turns off).
UNGUARDED_BY_VLLM = (
    ("POST", "/scale_elastic_ep"),
    ("POST", "/tokenize"),
    ("POST", "/detokenize"),
    ("GET", "/metrics"),
    ("GET", "/version"),
    ("POST", "/pause"),
    ("POST", "/sleep"),
    ("POST", "/wake_up"),
    ("POST", "/reset_prefix_cache"),
    ("POST", "/collective_rpc"),
)


def test_vllm_endpoints_outside_v1_need_the_key_too(served: Served) -> None:
    """A local process going around the proxy reaches none of vLLM's endpoints without the key."""
    state = served.state()
    vllm = f"http://127.0.0.1:{state['vllm_port']}"
    for method, path in UNGUARDED_BY_VLLM:
        response = httpx.request(method, vllm + path, json={}, timeout=10, trust_env=False)
        assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
    assert httpx.get(vllm + "/health", timeout=10, trust_env=False).status_code == 200
    # With the key (only recode-serve and the proxy have it) they answer: the 401s above were the guard's.
    payload = {"model": state["served_model_name"], "prompt": "import numpy"}
    keyed = {"Authorization": f"Bearer {state['api_key']}"}
    tokens = httpx.post(vllm + "/tokenize", json=payload, headers=keyed, timeout=10, trust_env=False)
    assert tokens.status_code == 200 and tokens.json()["tokens"], tokens.text
    assert httpx.post(vllm + "/pause", headers=keyed, timeout=10, trust_env=False).status_code == 404  # no dev mode


async def _load_through_promote(served: Served, clients: int = 20) -> tuple[list[tuple[int, str, str]], str]:
    """``clients`` loops of requests to the alias, before, during and after ``adapters promote v2``."""
    results: list[tuple[int, str, str]] = []
    done = asyncio.Event()

    async def client(http: httpx.AsyncClient, index: int) -> None:
        while True:
            finished = done.is_set()
            payload = {"model": "recode", "messages": MESSAGES, "max_tokens": 24 + index, "temperature": 0}
            try:
                response = await http.post(served.url + "/chat/completions", json=payload)
                model = response.json().get("model", "") if response.status_code == 200 else response.text[:200]
                results.append((response.status_code, str(model), response.headers.get("X-Recode-Model", "")))
            except httpx.HTTPError as exc:
                results.append((0, repr(exc), ""))
            if finished:
                return

    async with httpx.AsyncClient(timeout=120, trust_env=False, limits=httpx.Limits(max_connections=64)) as http:
        tasks = [asyncio.create_task(client(http, i)) for i in range(clients)]
        await asyncio.sleep(1.0)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "serving",
            "--state-dir",
            str(served.state_dir),
            "--registry",
            str(served.tiny.registry),
            "adapters",
            "promote",
            "v2",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        await asyncio.sleep(1.0)
        done.set()
        await asyncio.gather(*tasks)
    return results, out.decode()


def test_an_adapter_trained_by_recode_train_is_served(served: Served, tmp_path: Path) -> None:
    """The trainer's output goes live: one SFT step on the served base, register, load, answer."""
    pytest.importorskip("trl")
    from model_training.train.config import load_run_config
    from model_training.train.sft import SFTRunConfig, run_sft
    from tests.training.conftest import CONFIGS, tiny_overrides

    overrides = tiny_overrides(served.tiny.base, tmp_path / "run", max_steps=1)
    adapter = run_sft(load_run_config(SFTRunConfig, CONFIGS / "sft_tiny_cpu.yaml", overrides))
    added = served.cli("adapters", "add", "trained-sft", str(adapter))
    assert added.returncode == 0, added.stderr
    assert served.cli("adapters", "load", "trained-sft").returncode == 0
    try:
        answer = chat(served, "trained-sft")
        assert answer.status_code == 200 and answer.json()["model"] == "trained-sft"
        assert text_of(answer)
    finally:
        assert served.cli("adapters", "unload", "trained-sft").returncode == 0


def test_promote_under_load_fails_no_request_and_rollback_returns(served: Served) -> None:
    expected_v1 = text_of(chat(served, "v1"))
    results, report = asyncio.run(_load_through_promote(served))
    failures = [r for r in results if r[0] != 200]
    assert failures == [], failures[:5]
    models = {model for _, model, _ in results}
    assert models == {"v1", "v2"}, models  # requests ran on both sides of the switch
    assert all(model == header for _, model, header in results)
    assert "recode -> v2 (was v1)" in report
    # After the promote the alias is v2 (same greedy text as v2 by name); v1 is unloaded.
    after = chat(served, "recode")
    assert after.json()["model"] == "v2"
    assert text_of(after) == text_of(chat(served, "v2")) != expected_v1
    assert chat(served, "v1").status_code == 404
    state = served.state()
    assert state["current"] == "v2" and set(state["adapters"]) == {"v2"} and served.history() == ["v1"]

    rolled = served.cli("adapters", "rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert "recode -> v1 (was v2)" in rolled.stdout
    back = chat(served, "recode")
    assert back.json()["model"] == "v1" and text_of(back) == expected_v1
    state = served.state()
    assert state["current"] == "v1" and set(state["adapters"]) == {"v1"} and served.history() == []
    nothing = served.cli("adapters", "rollback")
    assert nothing.returncode == 1 and "nothing to roll back to" in nothing.stderr


KB = load_knowledge_base()
OPTIONS = DetectOptions(targets={"numpy": Version("2.0")})
DISPLAY_ONLY = textwrap.dedent(
    """\
    import numpy as np


    def convert(x):
        return np.cast["f8"](x)
    """
)


def test_garbage_answer_is_rejected_by_the_validator(served: Served) -> None:
    [finding] = [f for f in detect(DISPLAY_ONLY, KB, OPTIONS) if f.safety.value == "display"]
    client = ModelClient(served.url, "recode", timeout=60)
    result = propose_sync(DISPLAY_ONLY, finding, KB, OPTIONS, client, max_tokens=64)
    assert not result.ok
    assert result.raw_answer is not None  # the model answered: it is the validator that said no
    assert result.reason in ("the model returned no code",) or result.reason.startswith("the model's answer")
    assert result.new_source is None and result.edits == []


def _project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.recode]\ntargets = ["numpy==2.0"]\n')
    (root / "mod.py").write_text(DISPLAY_ONLY + "\n\ndef other(y):\n    return np.float_(y)\n")
    return root


def migrate(root: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "recode_lsp",
            "--diff",
            "--no-cache",
            "--model",
            url,
            "--model-timeout",
            "30",
            "mod.py",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_asks_the_served_model_and_keeps_only_validated_fixes(served: Served, tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    result = migrate(root, served.url)
    assert result.returncode == 1, result.stderr
    assert "+    return np.float64(y)" in result.stdout  # the rule fix
    assert "np.cast" not in result.stdout  # the model's garbage is not shown
    assert "NPY007 model fix rejected" in result.stderr
    assert "the model fixed 0 of 1 findings" in result.stderr


class _LongAnswerClient(ModelClient):
    """Asks vLLM to ignore the end-of-sequence token: the tiny random model may emit it at once,
    and then the "long" request ended before it was seen in flight (a flaky CI failure)."""

    def _payload(self, messages: Sequence[dict[str, str]], max_tokens: int, temperature: float) -> dict[str, Any]:
        return {**super()._payload(messages, max_tokens, temperature), "ignore_eos": True, "min_tokens": max_tokens}


def test_server_killed_mid_request_then_cli_falls_back_and_stop_cleans_up(served: Served, tmp_path: Path) -> None:
    """Runs last: kills vLLM while a long generation is in flight."""
    state = served.state()
    client = _LongAnswerClient(served.url, "recode", timeout=30)
    outcome: dict[str, object] = {}

    def ask() -> None:
        started = time.monotonic()
        try:
            outcome["text"] = client.complete_sync(MESSAGES, max_tokens=3500)
        except ModelError as exc:
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=ask)
    # vLLM is frozen (SIGSTOP) before the request and killed once the proxy relays it: the request is
    # then certainly in flight. (Killing it while it generated raced with the generation: on 2 busy
    # cores the test, the proxy and a timing process got no CPU until the answer was done.)
    pid = int(state["pid"])
    os.killpg(pid, signal.SIGSTOP)
    thread.start()
    deadline = time.monotonic() + 30
    in_flight: dict[str, Any] = {}
    while time.monotonic() < deadline and thread.is_alive():
        in_flight = httpx.get(
            f"http://127.0.0.1:{served.port}/recode/status",
            headers={ADMIN_HEADER: state["admin_token"]},  # the status endpoint wants the admin token
            timeout=5,
            trust_env=False,
        ).json()
        if in_flight["in_flight"].get("v1"):
            break
        time.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)
    assert in_flight.get("in_flight", {}).get("v1"), (outcome, in_flight)
    thread.join(60)
    assert not thread.is_alive()
    error = outcome.get("error")
    assert isinstance(error, ModelError), outcome
    assert "model server" in str(error) or "vLLM server" in str(error)
    assert isinstance(outcome["seconds"], float) and outcome["seconds"] < 30

    root = _project(tmp_path / "project")
    started = time.monotonic()
    result = migrate(root, served.url)
    assert result.returncode == 1
    assert "+    return np.float64(y)" in result.stdout  # rule fixes go on
    assert result.stderr.count("is unavailable") == 1 and "the rule fixes go on" in result.stderr
    assert time.monotonic() - started < 60

    status = served.cli("status", "--json")
    assert status.returncode == 1 and not json.loads(status.stdout)["vllm_alive"]
    stopped = served.cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "vLLM" in stopped.stderr and "stopped proxy" in stopped.stderr
    assert not (served.state_dir / "state.json").exists()
    after = served.cli("status")
    assert after.returncode == 1 and "not running" in after.stdout
