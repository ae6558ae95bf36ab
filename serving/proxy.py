"""The alias proxy: clients ask for ``model: "recode"``, the proxy sends it to the promoted adapter.

Why a proxy. vLLM serves each LoRA adapter under its own name and has no aliases. Clients (the
language server, ``recode-migrate``) must not change their settings on every retraining, and a
swap must not fail a single request. Re-registering one vLLM name in place
(``load_inplace``) swaps weights under requests that are already running and cannot wait for
them; unloading first fails every request that arrives in between. So the proxy, a small
asynchronous HTTP reverse proxy (aiohttp, which vLLM already depends on) in front of vLLM:

* rewrites the ``model`` of every JSON request from an alias (``recode``) to the adapter's
  versioned vLLM name (``recode-v2``), and says which one in the ``X-Recode-Model`` header
  (vLLM's answer names it in its ``model`` field too);
* counts the requests in flight per versioned name, from the moment it rewrites the request
  until the last byte of the answer (streams included) has been sent;
* lets ``promote`` switch an alias atomically (``POST /recode/alias``; one event loop, so a
  request is rewritten either before or after the switch, never half) and then wait until the
  old adapter's count is 0 (``POST /recode/drain``) before it is unloaded from vLLM.

A promote is therefore: load the new version into vLLM under its own name, check that it
answers, switch the alias, drain the old version, unload it. Requests that started on the old
version finish on it, new ones go to the new version; none fails (the test runs 20 concurrent
requests through a promote and counts failures).

Everything else is passed through unchanged (streaming answers are relayed chunk by chunk).
``GET /v1/models`` lists the aliases too. vLLM's own adapter endpoints are refused here, so
that only ``recode-serve`` (talking to vLLM on loopback) changes adapters. The admin
endpoints need the token ``recode-serve start`` generates (``X-Recode-Admin-Token``).

Run as ``python -m serving.proxy --upstream URL --port N --alias recode=recode-v1``; the admin
token comes from the environment (``RECODE_PROXY_ADMIN_TOKEN``), never the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

from serving.config import ADMIN_HEADER, TOKEN_ENV

__all__ = ["ADMIN_HEADER", "AliasProxy", "ProxyConfig", "main"]

log = logging.getLogger("recode.proxy")

MODEL_HEADER = "X-Recode-Model"
#: Headers that belong to one connection, not to the message (RFC 9110 section 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
REFUSED_PATHS = frozenset({"/v1/load_lora_adapter", "/v1/unload_lora_adapter"})


@dataclass
class ProxyConfig:
    """Where the proxy listens, what it fronts, and its aliases (alias -> vLLM model name)."""

    upstream: str
    host: str = "127.0.0.1"
    port: int = 8000
    aliases: dict[str, str] = field(default_factory=dict)
    admin_token: str | None = None
    connect_timeout: float = 10.0


def _error(status: int, message: str, kind: str = "ProxyError", **extra: object) -> web.Response:
    """An error in vLLM's (OpenAI's) shape, so clients show its message."""
    body = {"error": {"message": message, "type": kind, "code": status}, **extra}
    return web.json_response(body, status=status)


class AliasProxy:
    """The proxy's state (aliases, in-flight counts) and its aiohttp application."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.upstream = config.upstream.rstrip("/")
        self.aliases: dict[str, str] = dict(config.aliases)
        self.in_flight: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self._session: ClientSession | None = None

    # --- application -------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/recode/status", self.status)
        app.router.add_post("/recode/alias", self.set_alias)
        app.router.add_post("/recode/drain", self.drain)
        app.router.add_get("/v1/models", self.models)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, _app: web.Application) -> None:
        self._session = ClientSession(
            connector=TCPConnector(limit=0),
            timeout=ClientTimeout(total=None, sock_connect=self.config.connect_timeout),
            auto_decompress=False,
        )

    async def _close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> ClientSession:
        assert self._session is not None, "the proxy's application has not started"
        return self._session

    # --- admin -------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        token = self.config.admin_token
        if not token:
            return True
        return hmac.compare_digest(request.headers.get(ADMIN_HEADER, ""), token)

    async def status(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "upstream": self.upstream,
                "aliases": self.aliases,
                "in_flight": {k: v for k, v in self.in_flight.items() if v},
                "served": dict(self.served),
            }
        )

    async def set_alias(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(403, "a wrong or missing admin token", "Forbidden")
        try:
            data = await request.json()
            alias, target = str(data["alias"]), str(data["target"])
        except (ValueError, KeyError, TypeError):
            return _error(400, 'expected {"alias": ..., "target": ...}', "BadRequest")
        previous = self.aliases.get(alias)
        self.aliases[alias] = target
        log.info("alias %s: %s -> %s", alias, previous, target)
        return web.json_response({"alias": alias, "target": target, "previous": previous})

    async def drain(self, request: web.Request) -> web.Response:
        """Wait until no request runs on ``model`` (and no alias points at it), up to ``timeout`` s."""
        if not self._authorised(request):
            return _error(403, "a wrong or missing admin token", "Forbidden")
        try:
            data = await request.json()
            model = str(data["model"])
            timeout = float(data.get("timeout", 300.0))
        except (ValueError, KeyError, TypeError):
            return _error(400, 'expected {"model": ..., "timeout": seconds}', "BadRequest")
        started = time.monotonic()
        while True:
            pointing = [alias for alias, target in self.aliases.items() if target == model]
            if pointing:
                return _error(409, f"{model} is still the target of {', '.join(pointing)}", "Conflict")
            if not self.in_flight.get(model):
                return web.json_response({"model": model, "waited_s": round(time.monotonic() - started, 3)})
            if time.monotonic() - started > timeout:
                count = self.in_flight[model]
                return _error(
                    504, f"{count} request(s) still running on {model} after {timeout:g} s", "Timeout", in_flight=count
                )
            await asyncio.sleep(0.02)

    # --- relaying ----------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.StreamResponse:
        """vLLM's model list plus one card per alias (its ``root`` names the adapter it serves)."""
        try:
            async with self.session.get(self.upstream + "/v1/models", headers=self._headers(request)) as upstream:
                text = await upstream.text()
                if upstream.status != 200:
                    return web.Response(text=text, status=upstream.status, content_type="application/json")
        except (ClientError, OSError) as exc:
            return self._unreachable(exc)
        data = json.loads(text)
        created = int(time.time())
        for alias, target in sorted(self.aliases.items()):
            data.setdefault("data", []).append(
                {"id": alias, "object": "model", "created": created, "owned_by": "recode", "root": target}
            )
        return web.json_response(data)

    def _headers(self, request: web.Request) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP and k != ADMIN_HEADER}

    def _unreachable(self, exc: BaseException) -> web.Response:
        reason = str(exc) or type(exc).__name__
        return _error(502, f"the vLLM server behind the ReCode proxy is not reachable: {reason}", "BadGateway")

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if request.path in REFUSED_PATHS:
            return _error(403, "adapters are changed with `recode-serve adapters load|unload|promote`", "Forbidden")
        body = await request.read()
        model: str | None = None
        if body and request.method == "POST" and request.content_type == "application/json":
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("model"), str):
                model = data["model"]
                target = self.aliases.get(model)
                if target is not None:
                    data["model"] = model = target
                    body = json.dumps(data).encode()
        if model is None:
            return await self._relay(request, body, None)
        # Counted from the rewrite (same event-loop step as the alias lookup) to the last byte sent.
        self.in_flight[model] += 1
        try:
            return await self._relay(request, body, model)
        finally:
            self.in_flight[model] -= 1
            self.served[model] += 1

    async def _relay(self, request: web.Request, body: bytes, model: str | None) -> web.StreamResponse:
        url = self.upstream + request.rel_url.path_qs
        try:
            upstream_cm = self.session.request(
                request.method, url, headers=self._headers(request), data=body or None, allow_redirects=False
            )
            upstream = await upstream_cm.__aenter__()
        except (ClientError, OSError) as exc:
            return self._unreachable(exc)
        try:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in HOP_BY_HOP:
                    response.headers.add(key, value)
            if model is not None:
                response.headers[MODEL_HEADER] = model
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            await upstream_cm.__aexit__(None, None, None)


def _parse_alias(text: str) -> tuple[str, str]:
    alias, sep, target = text.partition("=")
    if not sep or not alias or not target:
        raise argparse.ArgumentTypeError(f"expected ALIAS=MODEL, got {text!r}")
    return alias, target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving.proxy", description="ReCode's alias proxy for vLLM.")
    parser.add_argument("--upstream", required=True, help="vLLM's URL, e.g. http://127.0.0.1:8001")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--alias", action="append", type=_parse_alias, default=[], metavar="ALIAS=MODEL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = ProxyConfig(args.upstream, args.host, args.port, dict(args.alias), os.environ.get(TOKEN_ENV) or None)
    proxy = AliasProxy(config)
    log.info("ReCode alias proxy on %s:%d -> %s, aliases %s", config.host, config.port, proxy.upstream, proxy.aliases)
    web.run_app(
        proxy.app(),
        host=config.host,
        port=config.port,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=5.0,
        print=None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
