"""vLLM's API key on every path: an ASGI middleware that ``recode-serve`` starts vLLM with.

vLLM's own ``--api-key`` (or ``VLLM_API_KEY``) guards only the paths under ``/v1``, ``/v2``,
``/inference`` and ``/cohere``. vLLM 0.32 serves more: ``/scale_elastic_ep`` (which reconfigures
the engine), ``/tokenize``, ``/detokenize``, ``/pooling``, ``/invocations``, ``/metrics``,
``/load``... and, with ``VLLM_SERVER_DEV_MODE=1``, ``/pause``, ``/sleep``, ``/wake_up``,
``/reset_prefix_cache`` and ``/collective_rpc``. On loopback any local process could use them,
around the proxy. ``recode-serve start`` therefore passes ``--middleware
serving.vllm_guard.RequireApiKey`` (vLLM adds it outside its own middleware) and turns the
development endpoints off.

:class:`RequireApiKey` wants ``Authorization: Bearer <VLLM_API_KEY>`` on every HTTP request and
WebSocket, whatever the path or method, except ``GET``/``HEAD /health`` (the liveness probe,
which tells nothing). Without a key in its environment it refuses everything but that probe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["KEY_ENV", "OPEN_PATHS", "RequireApiKey"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

KEY_ENV = "VLLM_API_KEY"
#: Paths answered without the key (``GET`` and ``HEAD`` only).
OPEN_PATHS = frozenset({"/health"})
_REFUSED = json.dumps({"error": {"message": "Unauthorized: this vLLM serves recode-serve's proxy only", "code": 401}})


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


class RequireApiKey:
    """ASGI middleware: the bearer key from ``VLLM_API_KEY`` on every request but the health probe."""

    def __init__(self, app: App) -> None:
        self.app = app
        key = os.environ.get(KEY_ENV, "")
        self._key = _digest(key) if key else None

    def _authorised(self, scope: Scope) -> bool:
        if self._key is None:
            return False
        for name, value in scope.get("headers") or ():
            if name.lower() == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and hmac.compare_digest(_digest(token.strip()), self._key)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):  # lifespan: not a request
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        is_probe = kind == "http" and scope.get("method") in ("GET", "HEAD") and path in OPEN_PATHS
        if is_probe or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        if kind == "websocket":  # closing before accepting refuses the handshake (HTTP 403)
            await send({"type": "websocket.close", "code": 1008})
            return
        body = _REFUSED.encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b"Bearer"),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})
