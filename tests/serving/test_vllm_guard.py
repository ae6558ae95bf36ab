"""``serving.vllm_guard``: vLLM's API key on every path, not only under ``/v1`` (issue 13).

The middleware wraps a stand-in ASGI app here (the real vLLM is in ``test_server.py``): every
path and method without the key is refused with 401 before the app sees it, WebSockets too;
``GET /health`` stays open; the right key passes.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from serving import launcher
from serving.config import ServeConfig
from serving.vllm_guard import RequireApiKey

KEY = "the-proxy-only-key"
#: vLLM 0.32's endpoints outside ``/v1`` (the last five only with VLLM_SERVER_DEV_MODE=1).
VLLM_PATHS = (
    ("POST", "/scale_elastic_ep"),
    ("POST", "/tokenize"),
    ("POST", "/detokenize"),
    ("POST", "/invocations"),
    ("GET", "/metrics"),
    ("POST", "/pause"),
    ("POST", "/sleep"),
    ("POST", "/wake_up"),
    ("POST", "/reset_prefix_cache"),
    ("POST", "/collective_rpc"),
)


class App:
    """Records what reaches it; answers 200."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            self.seen.append(("WS", scope["path"]))
            await send({"type": "websocket.accept"})
            return
        self.seen.append((scope["method"], scope["path"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def guarded(monkeypatch: pytest.MonkeyPatch, key: str | None = KEY) -> tuple[App, httpx.AsyncClient]:
    if key is None:
        monkeypatch.delenv("VLLM_API_KEY", raising=False)
    else:
        monkeypatch.setenv("VLLM_API_KEY", key)
    app = App()
    transport = httpx.ASGITransport(app=RequireApiKey(app))  # type: ignore[arg-type]
    return app, httpx.AsyncClient(transport=transport, base_url="http://vllm")


@pytest.mark.parametrize(("method", "path"), [*VLLM_PATHS, ("POST", "/v1/load_lora_adapter"), ("OPTIONS", "/x")])
async def test_every_path_without_the_key_is_refused(monkeypatch: pytest.MonkeyPatch, method: str, path: str) -> None:
    app, client = guarded(monkeypatch)
    async with client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (headers, response.text)
            if method != "OPTIONS":
                assert "Unauthorized" in response.json()["error"]["message"]
        assert (await client.request(method, path, headers={"Authorization": f"Bearer {KEY}"})).status_code == 200
    assert app.seen == [(method, path)]  # only the request with the key reached vLLM


async def test_the_health_probe_stays_open_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = guarded(monkeypatch)
    async with client:
        assert (await client.get("/health")).status_code == 200
        for method, path in (("POST", "/health"), ("GET", "/health/"), ("GET", "//health"), ("GET", "/healthz")):
            assert (await client.request(method, path)).status_code == 401, (method, path)
    assert app.seen == [("GET", "/health")]


async def test_without_a_key_everything_but_the_probe_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = guarded(monkeypatch, key=None)
    async with client:
        assert (await client.get("/health")).status_code == 200
        for headers in ({}, {"Authorization": "Bearer "}):
            assert (await client.post("/pause", headers=headers)).status_code == 401
    assert app.seen == [("GET", "/health")]


async def test_a_websocket_without_the_key_is_closed_before_it_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_API_KEY", KEY)
    app = App()
    guard = RequireApiKey(app)  # type: ignore[arg-type]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/v1/realtime", "headers": []}
    await guard(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}] and app.seen == []
    await guard({**scope, "headers": [(b"authorization", f"Bearer {KEY}".encode())]}, receive, send)
    assert app.seen == [("WS", "/v1/realtime")]


def test_vllm_is_started_with_the_guard_and_without_development_endpoints() -> None:
    command = launcher.build_command(ServeConfig("m"), 8001, "cpu", 16)
    assert command[command.index("--middleware") + 1] == "serving.vllm_guard.RequireApiKey"
    env = launcher.build_env(ServeConfig("m"), "cpu", {"VLLM_SERVER_DEV_MODE": "1"}, api_key="k")
    assert env["VLLM_SERVER_DEV_MODE"] == "0" and env["VLLM_API_KEY"] == "k"
    assert sys.executable == command[0]
