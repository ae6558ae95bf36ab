"""A scripted OpenAI-compatible chat server on loopback, for the model client and model-fix tests.

Each request takes the next scripted behaviour (the last one repeats): answer with a chat
completion, answer with an HTTP status, answer late, or hang up. Every request is recorded
(path, headers, JSON body) so tests can assert what the client sent. It is the real HTTP stack
(``http.server`` in a thread), not a mock of httpx.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A chat completion whose message content is ``content``."""

    content: str
    delay: float = 0.0


@dataclass
class Status:
    """An HTTP error answer."""

    code: int
    body: str = ""
    delay: float = 0.0


@dataclass
class Raw:
    """A 200 answer with any body (not a chat completion)."""

    body: str


@dataclass
class HangUp:
    """Close the connection without answering."""


Behaviour = Reply | Status | Raw | HangUp


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ScriptedServer:
    script: list[Behaviour] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def then(self, *behaviours: Behaviour) -> ScriptedServer:
        """Script the next answers (replaces what is left of the script)."""
        with self._lock:
            self.script = list(behaviours)
        return self

    def _next(self) -> Behaviour:
        with self._lock:
            if not self.script:
                return Status(500, "no scripted answer")
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def start(self) -> ScriptedServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"unparsed": raw.decode(errors="replace")}
                with owner._lock:
                    owner.requests.append(Recorded(self.path, dict(self.headers.items()), body))
                behaviour = owner._next()
                delay = getattr(behaviour, "delay", 0.0)
                if delay and owner._stop.wait(delay):
                    return
                if isinstance(behaviour, HangUp):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(behaviour, Reply):
                    payload = {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": behaviour.content},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                    self._send(200, json.dumps(payload))
                elif isinstance(behaviour, Status):
                    self._send(behaviour.code, behaviour.body)
                else:
                    assert isinstance(behaviour, Raw)
                    self._send(200, behaviour.body)

            def _send(self, code: int, text: str) -> None:
                data = text.encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # concurrent tests connect all at once

        server = Server(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def completion(reasoning: str, code: str | None) -> str:
    """What a ReCode model writes after the prefilled prefix: reasoning, then the code."""
    answer = f"<answer>\n```python\n{code}```\n</answer>" if code is not None else ""
    return f" {reasoning} </think>\n{answer}"
