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

Only the OpenAI-compatible endpoints ReCode's clients use are served (:data:`ALLOWED`:
``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models``, which lists the
aliases too); answers, streams included, are relayed chunk by chunk. A path is compared after
normalisation (percent-decoding, dot segments, repeated and trailing slashes, case) and the
request goes upstream under its canonical spelling, without the query string, so no other
spelling of a vLLM endpoint gets through. Every other path, vLLM's adapter endpoints
included, is refused with a JSON error (403 for the adapter endpoints: only ``recode-serve``
changes adapters, talking to vLLM on loopback; 404 for the rest; 405 for a wrong method).

vLLM wants an API key that only the proxy and ``recode-serve`` know: the proxy sends it on
every request upstream and never passes on a client's ``Authorization`` (nor the admin token).

The admin and status endpoints (``/recode/...``) need the admin token (``X-Recode-Admin-Token``,
compared in constant time). There is no token-less mode: without ``RECODE_PROXY_ADMIN_TOKEN``
the proxy takes the token from ``<state dir>/admin_token``, making a random one (mode 0600)
when there is none.

Run as ``python -m serving.proxy --upstream URL --port N --alias recode=recode-v1 [--state-dir DIR]``;
the admin token and vLLM's key (``RECODE_PROXY_UPSTREAM_KEY``) come from the environment, never
the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector, web

from serving.config import ADMIN_HEADER, TOKEN_ENV, UPSTREAM_KEY_ENV, ServeError, default_state_dir
from serving.state import StateStore

__all__ = ["ADMIN_HEADER", "ALLOWED", "AliasProxy", "ProxyConfig", "canonical_path", "main"]

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
#: Client headers never sent upstream: the proxy's own admin token, and credentials (the proxy sends vLLM's key).
PRIVATE_HEADERS = frozenset({ADMIN_HEADER.lower(), "authorization", "cookie"})
#: The OpenAI-compatible endpoints clients may use (canonical path -> methods). ReCode's clients use
#: chat completions (``recode_lsp.model_client``) and the model list; completions is the same service.
ALLOWED: dict[str, frozenset[str]] = {
    "/v1/chat/completions": frozenset({"POST"}),
    "/v1/completions": frozenset({"POST"}),
    "/v1/models": frozenset({"GET"}),
}
#: vLLM's runtime adapter endpoints: ``recode-serve`` calls them on vLLM directly, never through here.
ADAPTER_PATHS = frozenset({"/v1/load_lora_adapter", "/v1/unload_lora_adapter"})
#: What a canonical path may hold once decoded (RFC 3986 unreserved characters and ``/``).
_PATH_CHARACTERS = re.compile(r"/[A-Za-z0-9._~/-]*")
#: Rounds of percent-decoding before a path that still decodes is refused (``%25252e``...).
_DECODE_ROUNDS = 3


def canonical_path(raw: str) -> str | None:
    """The path as the proxy compares and forwards it, or None when it cannot be one of its endpoints.

    ``raw`` is the path as received (percent-encoded). It is decoded (repeatedly, so
    ``%252e`` is a dot too), its empty and ``.`` segments dropped, ``..`` resolved (never above
    the root), and lower-cased: ``//V1/./x/../chat/completions/`` -> ``/v1/chat/completions``.
    Anything outside unreserved characters after decoding (``;``, ``%00``, a backslash, ...) is None.
    """
    path = raw
    for _ in range(_DECODE_ROUNDS + 1):
        try:
            decoded = urllib.parse.unquote(path, errors="strict")
        except UnicodeDecodeError:
            return None
        if decoded == path:
            break
        path = decoded
    else:
        return None
    if not _PATH_CHARACTERS.fullmatch(path):
        return None
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment.lower())
    return "/" + "/".join(segments)


@dataclass
class ProxyConfig:
    """Where the proxy listens, what it fronts, and its aliases (alias -> vLLM model name)."""

    upstream: str
    host: str = "127.0.0.1"
    port: int = 8000
    aliases: dict[str, str] = field(default_factory=dict)
    #: Required: the admin and status endpoints answer only requests that carry it.
    admin_token: str = ""
    #: vLLM's API key, sent upstream on every request ("" when vLLM has none).
    upstream_key: str = ""
    connect_timeout: float = 10.0


def _error(status: int, message: str, kind: str = "ProxyError", **extra: object) -> web.Response:
    """An error in vLLM's (OpenAI's) shape, so clients show its message."""
    body = {"error": {"message": message, "type": kind, "code": status}, **extra}
    return web.json_response(body, status=status)


class AliasProxy:
    """The proxy's state (aliases, in-flight counts) and its aiohttp application."""

    def __init__(self, config: ProxyConfig) -> None:
        if not config.admin_token:
            raise ValueError("the alias proxy needs an admin token (there is no token-less mode)")
        self.config = config
        self.upstream = config.upstream.rstrip("/")
        self.aliases: dict[str, str] = dict(config.aliases)
        self.in_flight: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self._session: ClientSession | None = None

    # --- application -------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        # One route: :meth:`dispatch` compares the canonical path, not aiohttp's spelling of it.
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
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

    # --- routing -----------------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Route by the canonical path: admin endpoints (token first), the allow-list, or a refusal."""
        path = canonical_path(request.rel_url.raw_path)
        admin = {
            "/recode/status": ("GET", self.status),
            "/recode/alias": ("POST", self.set_alias),
            "/recode/drain": ("POST", self.drain),
        }
        if path in admin:
            if not self._authorised(request):
                return _error(403, f"a wrong or missing admin token ({ADMIN_HEADER})", "Forbidden")
            method, handler = admin[path]
            if request.method != method:
                return _error(405, f"{path} takes {method}", "MethodNotAllowed")
            return await handler(request)
        if path in ADAPTER_PATHS:
            return _error(403, "adapters are changed with `recode-serve adapters load|unload|promote`", "Forbidden")
        methods = ALLOWED.get(path or "")
        if path is None or methods is None:
            served = ", ".join(f"{'|'.join(sorted(m))} {p}" for p, m in ALLOWED.items())
            return _error(404, f"not an endpoint of the ReCode proxy (it serves {served})", "NotFound")
        if request.method not in methods:
            response = _error(405, f"{path} takes {'|'.join(sorted(methods))}", "MethodNotAllowed")
            response.headers["Allow"] = ", ".join(sorted(methods))
            return response
        if path == "/v1/models":
            return await self.models(request)
        return await self.forward(request, path)

    # --- admin -------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get(ADMIN_HEADER, "").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self.config.admin_token.encode())

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
        """The client's headers as sent upstream: no hop-by-hop ones, no credentials, vLLM's key added."""
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in PRIVATE_HEADERS
        }
        if self.config.upstream_key:
            headers["Authorization"] = f"Bearer {self.config.upstream_key}"
        return headers

    def _unreachable(self, exc: BaseException) -> web.Response:
        reason = str(exc) or type(exc).__name__
        return _error(502, f"the vLLM server behind the ReCode proxy is not reachable: {reason}", "BadGateway")

    async def forward(self, request: web.Request, path: str) -> web.StreamResponse:
        """Relay a request for the allowed ``path`` (canonical), the alias in its ``model`` rewritten."""
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
            return await self._relay(request, path, body, None)
        # Counted from the rewrite (same event-loop step as the alias lookup) to the last byte sent.
        self.in_flight[model] += 1
        try:
            return await self._relay(request, path, body, model)
        finally:
            self.in_flight[model] -= 1
            self.served[model] += 1

    async def _relay(self, request: web.Request, path: str, body: bytes, model: str | None) -> web.StreamResponse:
        url = self.upstream + path
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
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help=f"where the admin token is kept when ${TOKEN_ENV} is unset (default ~/.cache/recode/serve)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    token = os.environ.get(TOKEN_ENV)
    if not token:
        store = StateStore(args.state_dir or default_state_dir())
        try:
            token = store.admin_token(create=True)
        except (ServeError, OSError) as exc:
            token = None
            parser.exit(1, f"python -m serving.proxy: no admin token: {exc}\n")
        log.info("admin token (%s header): in %s", ADMIN_HEADER, store.token_file)
    if not token:
        parser.exit(1, "python -m serving.proxy: no admin token\n")
    config = ProxyConfig(
        args.upstream, args.host, args.port, dict(args.alias), token, os.environ.get(UPSTREAM_KEY_ENV, "")
    )
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
