"""The alias proxy in front of a scripted OpenAI-compatible server (no vLLM): rewrite, count, drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web

from serving.proxy import ADMIN_HEADER, AliasProxy, ProxyConfig
from tests.models.conftest import server  # noqa: F401  (the scripted server fixture)
from tests.models.openai_server import Reply, ScriptedServer, closed_port_url

TOKEN = "secret"


@dataclass
class Running:
    proxy: AliasProxy
    url: str


@pytest.fixture
async def proxy(server: ScriptedServer) -> AsyncIterator[Running]:  # noqa: F811
    alias_proxy = AliasProxy(ProxyConfig(server.url, aliases={"recode": "v1"}, admin_token=TOKEN))
    runner = web.AppRunner(alias_proxy.app(), handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Running(alias_proxy, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


def body(model: str) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


async def test_alias_is_rewritten_and_named(proxy: Running, server: ScriptedServer) -> None:  # noqa: F811
    server.then(Reply("ok"))
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(proxy.url + "/v1/chat/completions", json=body("recode"))
        direct = await http.post(proxy.url + "/v1/chat/completions", json=body("other"))
    assert response.status_code == 200 and response.headers["X-Recode-Model"] == "v1"
    assert [r.body["model"] for r in server.requests] == ["v1", "other"]
    assert direct.headers["X-Recode-Model"] == "other"
    assert proxy.proxy.served == {"v1": 1, "other": 1} and not +proxy.proxy.in_flight


async def test_switch_then_drain_waits_for_requests_on_the_old_adapter(proxy: Running, server: ScriptedServer) -> None:  # noqa: F811
    server.then(Reply("slow", delay=1.0))
    admin = {ADMIN_HEADER: TOKEN}
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        slow = asyncio.create_task(http.post(proxy.url + "/v1/chat/completions", json=body("recode")))
        for _ in range(100):
            if proxy.proxy.in_flight["v1"]:
                break
            await asyncio.sleep(0.01)
        assert proxy.proxy.in_flight["v1"] == 1
        switched = await http.post(
            proxy.url + "/recode/alias", json={"alias": "recode", "target": "v2"}, headers=admin
        )
        assert switched.json() == {"alias": "recode", "target": "v2", "previous": "v1"}
        drained = await http.post(proxy.url + "/recode/drain", json={"model": "v1"}, headers=admin)
        assert slow.done()  # the drain answered only after the old request finished
        assert drained.status_code == 200 and drained.json()["waited_s"] > 0.3
        assert (await slow).headers["X-Recode-Model"] == "v1"
        server.then(Reply("fast"))
        after = await http.post(proxy.url + "/v1/chat/completions", json=body("recode"))
        assert after.headers["X-Recode-Model"] == "v2"
        # Draining the alias's own target is refused; a drain that times out says how many are left.
        busy = await http.post(proxy.url + "/recode/drain", json={"model": "v2"}, headers=admin)
        assert busy.status_code == 409
        server.then(Reply("slow", delay=1.0))
        pending = asyncio.create_task(http.post(proxy.url + "/v1/chat/completions", json=body("v1")))
        await asyncio.sleep(0.2)
        late = await http.post(proxy.url + "/recode/drain", json={"model": "v1", "timeout": 0.1}, headers=admin)
        assert late.status_code == 504 and late.json()["in_flight"] == 1
        await pending


async def test_admin_needs_the_token_and_adapter_endpoints_are_closed(proxy: Running) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        forbidden = await http.post(proxy.url + "/recode/alias", json={"alias": "recode", "target": "x"})
        wrong = await http.post(
            proxy.url + "/recode/alias", json={"alias": "recode", "target": "x"}, headers={ADMIN_HEADER: "no"}
        )
        load = await http.post(proxy.url + "/v1/load_lora_adapter", json={"lora_name": "x", "lora_path": "/"})
        anonymous_status = await http.get(proxy.url + "/recode/status")
        status = await http.get(proxy.url + "/recode/status", headers={ADMIN_HEADER: TOKEN})
    assert forbidden.status_code == wrong.status_code == load.status_code == anonymous_status.status_code == 403
    assert "recode-serve adapters" in load.json()["error"]["message"]
    assert status.json()["aliases"] == {"recode": "v1"}


async def test_upstream_down_is_a_clear_502() -> None:
    alias_proxy = AliasProxy(ProxyConfig(closed_port_url(), aliases={"recode": "v1"}, admin_token=TOKEN))
    runner = web.AppRunner(alias_proxy.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body("recode"))
    finally:
        await runner.cleanup()
    assert response.status_code == 502
    assert "vLLM server behind the ReCode proxy is not reachable" in response.json()["error"]["message"]
    assert not +alias_proxy.in_flight
