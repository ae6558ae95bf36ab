"""The language server's transport under attack (issue 13): bad framing, malformed requests, shutdown.

Each test starts the real server (``python -m recode_lsp.server``) in a subprocess and writes raw
bytes to its stdin, as a broken or hostile client would, then reads what the server writes to its
stdout. A bad message is followed by 20 valid ``textDocument/hover`` requests, which must all be
answered: the server resynchronises at the next valid header instead of going deaf.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from recode_lsp.server import transport
from recode_lsp.server.transport import Decoded, FrameReader, Rejected, recover_id
from tests.lsp.conftest import SERVER

TIMEOUT = 15.0
#: Where the hover requests point: ``np.NINF`` in the fixture module (line 12, column 14).
HOVER_LINE, HOVER_CHARACTER = 12, 14

MsgId = int | str


def frame(payload: dict[str, Any] | bytes) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(msg_id: MsgId, method: str, params: Any = None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method, **extra}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


class RawServer:
    """The server in a subprocess, written to byte by byte and read frame by frame."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, root: Path) -> None:
        self.process = process
        self.log = log
        self.root = root
        self.uri = (root / "module.py").as_uri()
        self.responses: dict[MsgId, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.eof = False
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, root: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> RawServer:
        log = tmp_path / f"server-{len(list(tmp_path.glob('server-*.log')))}.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *SERVER,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env={
                    **{key: value for key, value in os.environ.items() if key != "RECODE_CACHE_DIR"},
                    "XDG_CACHE_HOME": str(tmp_path / "cache"),
                    **(env or {}),
                },
                limit=2**20,
            )
        return cls(process, log, root)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        try:
            while True:
                header = await stdout.readuntil(b"\r\n\r\n")
                match = re.search(rb"Content-Length: (\d+)\r\n", header)
                assert match, header
                message = json.loads(await stdout.readexactly(int(match.group(1))))
                if "method" not in message:
                    self.responses[message["id"]] = message
                elif "id" in message:  # a request from the server: answer it, as an editor would
                    self.write(frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))
                else:
                    self.notifications.append(message)
                self._changed.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.eof = True
            self._changed.set()

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)

    async def send(self, *chunks: bytes) -> None:
        """Write each chunk and let the server see it before the next one."""
        assert self.process.stdin is not None
        for chunk in chunks:
            self.write(chunk)
            await self.process.stdin.drain()
            await asyncio.sleep(0.05)

    async def wait(self, ids: list[MsgId], timeout: float = TIMEOUT) -> dict[MsgId, dict[str, Any]]:
        """The responses to ``ids`` (fails, naming the missing ones, after ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while missing := [i for i in ids if i not in self.responses]:
            remaining = deadline - loop.time()
            if remaining <= 0 or self.eof:
                pytest.fail(
                    f"no response to {len(missing)} of {len(ids)} requests ({missing[:5]}...);"
                    f" server {'exited' if self.eof else 'running'}; log:\n{self.log_text()[-3000:]}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=remaining)
            except TimeoutError:
                pass
        return {i: self.responses[i] for i in ids}

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        await self.send(frame(message))
        return (await self.wait([message["id"]]))[message["id"]]

    async def initialize(self) -> None:
        answer = await self.call(
            request(
                "init",
                "initialize",
                {
                    "processId": None,
                    "rootUri": self.root.as_uri(),
                    "capabilities": {},
                    "initializationOptions": {"apiDocs": False},
                },
            )
        )
        assert "result" in answer, answer
        await self.send(frame(notification("initialized", {})))
        text = (self.root / "module.py").read_text(encoding="utf-8")
        document = {"uri": self.uri, "languageId": "python", "version": 1, "text": text}
        await self.send(frame(notification("textDocument/didOpen", {"textDocument": document})))

    def hover(self, msg_id: MsgId, line: int = HOVER_LINE, character: int = HOVER_CHARACTER) -> dict[str, Any]:
        position = {"line": line, "character": character}
        return request(msg_id, "textDocument/hover", {"textDocument": {"uri": self.uri}, "position": position})

    async def answers_twenty(self, tag: str) -> None:
        """20 hover requests in one write: each is answered, with the hover of ``np.NINF``."""
        ids: list[MsgId] = [f"{tag}-{n}" for n in range(20)]
        await self.send(b"".join(frame(self.hover(i)) for i in ids))
        responses = await self.wait(ids)
        for msg_id, response in responses.items():
            assert "error" not in response, response
            assert response["result"] and "NINF" in json.dumps(response["result"]), (msg_id, response)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def peak_rss_mib(self) -> float:
        return self._status_mib("VmHWM")

    def rss_mib(self) -> float:
        return self._status_mib("VmRSS")

    def _status_mib(self, field: str) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(rf"{field}:\s+(\d+) kB", status)
        assert match, status
        return int(match.group(1)) / 1024

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        self._reader.cancel()


Launcher = Callable[..., Awaitable[RawServer]]


@pytest_asyncio.fixture
async def launch(project: Path, tmp_path: Path) -> AsyncIterator[Launcher]:
    servers: list[RawServer] = []

    async def launcher(*args: str, env: dict[str, str] | None = None, initialize: bool = True) -> RawServer:
        server = await RawServer.start(project, tmp_path, *args, env=env)
        servers.append(server)
        if initialize:
            await server.initialize()
        return server

    yield launcher
    for server in servers:
        await server.stop()


# --- bad framing -------------------------------------------------------------------------------

BAD = json.dumps(
    request(
        "bad",
        "textDocument/hover",
        {"textDocument": {"uri": "file:///nowhere.py"}, "position": {"line": 0, "character": 0}},
    )
).encode()

#: A bad message each, built around the request ``BAD`` (id ``"bad"``).
BAD_FRAMING: dict[str, bytes] = {
    "short-length": b"Content-Length: %d\r\n\r\n" % (len(BAD) - 20) + BAD,
    # Longer than all that follows: only finding the next header inside the body gets out of it.
    "long-length": b"Content-Length: %d\r\n\r\n" % (len(BAD) + 100_000) + BAD,
    "non-numeric-length": b"Content-Length: 1e2\r\n\r\n" + BAD,
    "negative-length": b"Content-Length: -5\r\n\r\n" + BAD,
    "no-header": BAD,
    "no-content-length": b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + BAD,
    "garbage-line": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "invalid-utf-8": frame(BAD.replace(b"nowhere", b"now\xff\xfehere")),
    "huge-length": b"Content-Length: 1000000000000\r\n\r\n" + BAD,
}


@pytest.mark.parametrize("case", list(BAD_FRAMING))
async def test_bad_framing_is_rejected_and_the_next_twenty_requests_are_answered(launch: Launcher, case: str) -> None:
    server = await launch()
    await server.answers_twenty("before")
    await server.send(BAD_FRAMING[case])
    await server.answers_twenty("after")
    if case != "garbage-line":
        # The bad request itself is answered with a parse error, so the editor does not wait forever.
        (bad,) = (await server.wait(["bad"])).values()
        assert bad["error"]["code"] == -32700, bad
    assert re.search("rejected a message", server.log_text(), re.IGNORECASE)
    assert server.process.returncode is None


async def test_a_trillion_byte_content_length_allocates_nothing(launch: Launcher) -> None:
    server = await launch()
    await server.answers_twenty("before")
    before = server.peak_rss_mib()
    await server.send(b"Content-Length: 1000000000000\r\n\r\n" + b"x" * 1_000_000, frame(request(1, "recode/none")))
    await server.answers_twenty("after")
    assert (await server.wait([1]))[1]["error"]["code"] == -32601
    assert server.process.returncode is None
    assert server.peak_rss_mib() < before + 64, (before, server.peak_rss_mib())
    rejected = r"rejected a message: Content-Length 1000000000000 exceeds the limit"
    assert re.search(rejected, server.log_text(), re.IGNORECASE)


@pytest.mark.parametrize("how", ["option", "environment"])
async def test_the_message_size_limit_is_configurable(launch: Launcher, how: str) -> None:
    if how == "option":
        server = await launch("--max-message-bytes", "64KiB")
    else:
        server = await launch(env={"RECODE_LSP_MAX_MESSAGE_BYTES": "65536"})
    big = "import numpy as np\n" + "x = np.float_(1)\n" * 5000  # about 90 KB
    uri = (server.root / "big.py").as_uri()
    document = {"uri": uri, "languageId": "python", "version": 1, "text": big}
    await server.send(frame(notification("textDocument/didOpen", {"textDocument": document})))
    await server.answers_twenty("after")
    assert re.search(
        r"rejected a message: Content-Length \d+ exceeds the limit \(65536 bytes", server.log_text(), re.IGNORECASE
    )
    # The document was never opened: asking about it gets the empty answer.
    params = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 6}}
    assert (await server.call(request("big", "textDocument/hover", params)))["result"] is None


async def test_a_50_mb_document_opens_under_the_default_limit(launch: Launcher) -> None:
    server = await launch()
    text = "x = 1  # padding padding padding padding padding padding padding padding\n" * 700_000
    assert len(text) > 50_000_000
    uri = (server.root / "huge.py").as_uri()
    document = {"uri": uri, "languageId": "python", "version": 1, "text": text}
    await server.send(frame(notification("textDocument/didOpen", {"textDocument": document})))
    await server.answers_twenty("after")
    assert not re.search("rejected a message", server.log_text(), re.IGNORECASE)
    await server.send(frame(notification("textDocument/didClose", {"textDocument": {"uri": uri}})))
    await server.answers_twenty("closed")


async def test_a_large_document_is_held_once_while_it_is_read(launch: Launcher) -> None:
    """The body, its text and the parsed document are not all in memory at once: a 50 MB document
    peaked at twice its size over the idle server, over the 150 MiB target (issue 13)."""
    server = await launch()
    await server.answers_twenty("before")
    text = 'x = "\\u00e9"  # \u00e9t\u00e9: "quoted", back\\slash\tand tab padding padding\n' * 400_000
    size = len(json.dumps(text)) / 2**20
    assert size > 30
    idle = server.rss_mib()
    uri = (server.root / "large.py").as_uri()
    document = {"uri": uri, "languageId": "python", "version": 1, "text": text}
    await server.send(frame(notification("textDocument/didOpen", {"textDocument": document})))
    await server.answers_twenty("after")
    assert not re.search("rejected a message", server.log_text(), re.IGNORECASE)
    assert server.peak_rss_mib() - idle < 1.4 * size, (idle, server.peak_rss_mib(), size)
    # The document is usable: an edit at its last line and the close are handled, requests answered.
    lines = text.count("\n")
    change = {"range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}}, "text": "y"}
    changed = {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]}
    await server.send(frame(notification("textDocument/didChange", changed)))
    await server.send(frame(notification("textDocument/didClose", {"textDocument": {"uri": uri}})))
    await server.answers_twenty("closed")


async def test_header_text_inside_a_document_is_not_a_header(launch: Launcher) -> None:
    """A document about HTTP holds ``Content-Length: N`` lines; inside JSON they are escaped and stay text."""
    server = await launch()
    text = 'RAW = b"Content-Length: 12\\r\\n\\r\\n"\nTEXT = """\nContent-Length: 99\r\n\r\n{}\n"""\n'
    uri = (server.root / "http.py").as_uri()
    document = {"uri": uri, "languageId": "python", "version": 1, "text": text}
    await server.send(frame(notification("textDocument/didOpen", {"textDocument": document})))
    await server.answers_twenty("after")
    assert not re.search("rejected a message", server.log_text(), re.IGNORECASE)


async def test_messages_cut_into_tiny_writes_are_read(launch: Launcher) -> None:
    server = await launch()
    data = b"".join(frame(server.hover(f"tiny-{n}")) for n in range(5))
    data += b"Content-Length: 100000\r\n\r\n" + BAD + frame(server.hover("tiny-last"))
    for start in range(0, len(data), 7):
        server.write(data[start : start + 7])
        await asyncio.sleep(0.001)
    responses = await server.wait([*(f"tiny-{n}" for n in range(5)), "bad", "tiny-last"])
    assert responses["bad"]["error"]["code"] == -32700
    assert all("result" in response for msg_id, response in responses.items() if msg_id != "bad")


def test_a_bad_limit_is_refused_with_a_message(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [*SERVER, "--max-message-bytes", "lots"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and "--max-message-bytes" in result.stderr
    result = subprocess.run(
        SERVER,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        input="",
        env={**os.environ, "RECODE_LSP_MAX_MESSAGE_BYTES": "-1"},
    )
    assert result.returncode == 2 and "RECODE_LSP_MAX_MESSAGE_BYTES" in result.stderr


# --- the reader alone, wherever the input is cut ----------------------------------------------


async def read_frames(pieces: list[bytes]) -> list[MsgId | tuple[str, MsgId | None]]:
    """What a :class:`FrameReader` makes of ``pieces``, arriving one after the other."""
    pending = [piece for piece in pieces if piece]

    async def read(size: int) -> bytes:
        if not pending:
            return b""
        piece, pending[0] = pending[0][:size], pending[0][size:]
        if not pending[0]:
            pending.pop(0)
        return piece

    reader = FrameReader(read, limit=2**20)
    frames: list[MsgId | tuple[str, MsgId | None]] = []
    while (item := await reader.next()) is not None:
        if isinstance(item, Rejected):
            frames.append(("rejected", recover_id(item.head)))
            continue
        assert not isinstance(item, Decoded)  # no body here is over the streaming threshold
        try:
            frames.append(json.loads(item)["id"])
        except ValueError:
            reader.reject(item, "not JSON")
    return frames


STREAM = (
    frame(request(1, "m", {}))
    + b"Content-Length: 10\r\n\r\n"  # short
    + BAD
    + frame(request(2, "m", {"text": "Content-Length: 5\r\n\r\n{}"}))
    + b"Content-Length: 99999\r\n\r\n"  # long
    + BAD
    + b"\r\n"  # a stray line break between messages is no error
    + frame(request(3, "m", {}))
    + b"Content-Length: 2000000\r\n\r\n"  # over the limit
    + BAD
    + frame(request(4, "m", {}))
)
EXPECTED: list[MsgId | tuple[str, MsgId | None]] = [1, ("rejected", "bad"), 2, ("rejected", "bad"), 3]
EXPECTED += [("rejected", "bad"), 4]


async def test_the_reader_frames_the_same_wherever_the_input_is_cut() -> None:
    assert await read_frames([STREAM]) == EXPECTED
    assert await read_frames([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED
    for cut in range(1, len(STREAM)):
        assert await read_frames([STREAM[:cut], STREAM[cut:]]) == EXPECTED, (cut, STREAM[cut - 5 : cut + 5])


async def read_streamed(data: bytes, cuts: list[int]) -> list[Decoded | Rejected | bytes]:
    """What a reader that streams every body over 64 bytes makes of ``data`` cut at ``cuts``."""
    pending = [data[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)], strict=True) if b > a]

    async def read(size: int) -> bytes:
        if not pending:
            return b""
        piece, pending[0] = pending[0][:size], pending[0][size:]
        if not pending[0]:
            pending.pop(0)
        return piece

    reader = FrameReader(read, limit=2**20, stream_above=64)
    items: list[Decoded | Rejected | bytes] = []
    while (item := await reader.next()) is not None:
        items.append(item if isinstance(item, Decoded | Rejected) else bytes(item))
    return items


async def test_a_streamed_body_decodes_as_json_loads_wherever_it_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long strings decoded piece by piece: escapes, surrogate pairs and UTF-8 cut anywhere."""
    import random

    monkeypatch.setattr(transport, "LONG_STRING", 40)
    rng = random.Random(13)
    alphabet = 'abxyzu0129 \n\t"\\/\u00e9\u20ac\U0001f600\x01'
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        key = "k" * rng.randint(0, 90)  # a long key too
        message = notification("textDocument/didOpen", {"textDocument": {"text": text, key: [text[:50], 1.5, None]}})
        data = frame(json.dumps(message, ensure_ascii=rng.random() < 0.5).encode()) + frame(request(7, "m", {}))
        cuts = [rng.randint(0, len(data)) for _ in range(rng.randint(0, 8))]
        items = await read_streamed(data, cuts)
        first, second = items
        assert isinstance(first, Decoded) and isinstance(second, bytes), (text, cuts, items)
        assert first.data == message and json.loads(second) == request(7, "m", {})


async def test_a_bad_streamed_body_is_rejected_whole_and_the_next_message_read() -> None:
    padding = {"text": "x" * 200}
    not_json = frame(json.dumps(request("a", "m", padding)).encode()[:-1] + b"]")
    not_utf8 = frame(json.dumps(request("b", "m", padding)).replace("xxx", "x\xff", 1).encode("latin-1"))
    too_long = b"Content-Length: 5000\r\n\r\n" + json.dumps(request("c", "m", padding)).encode()
    data = not_json + not_utf8 + too_long + frame(request(7, "m", {}))
    for cuts in ([], [len(data) // 3], list(range(1, len(data), 97))):
        items = await read_streamed(data, cuts)
        assert [type(item) for item in items] == [Rejected, Rejected, Rejected, bytes], (cuts, items)
        reasons = [item.reason for item in items[:3] if isinstance(item, Rejected)]
        assert "not JSON" in reasons[0] and "not UTF-8" in reasons[1] and "longer than the message" in reasons[2]
        assert [recover_id(item.head) for item in items[:3] if isinstance(item, Rejected)] == ["a", "b", "c"]
        assert isinstance(items[3], bytes) and json.loads(items[3])["id"] == 7


# --- malformed requests ------------------------------------------------------------------------


async def test_every_malformed_request_gets_the_right_error(launch: Launcher) -> None:
    server = await launch()
    uri = {"uri": server.uri}
    position = {"line": 0, "character": 0}
    cases: dict[MsgId, tuple[dict[str, Any] | bytes, int]] = {
        "negative-line": (server.hover("negative-line", line=-1), -32602),
        "negative-character": (server.hover("negative-character", character=-3), -32602),
        "document-is-a-number": (request("document-is-a-number", "textDocument/hover", {"textDocument": 5}), -32602),
        "null-params": ({**request("null-params", "textDocument/hover"), "params": None}, -32602),
        "no-params": (request("no-params", "textDocument/hover"), -32602),
        "list-params": (request("list-params", "textDocument/hover", [uri, position]), -32602),
        "uri-is-a-list": (
            request("uri-is-a-list", "textDocument/codeAction", {"textDocument": {"uri": []}, "range": {}}),
            -32602,
        ),
        "unknown-method": (request("unknown-method", "recode/nothing", {}), -32601),
        "no-jsonrpc": ({"id": "no-jsonrpc", "method": "textDocument/hover", "params": {}}, -32600),
        "wrong-jsonrpc": (request("wrong-jsonrpc", "textDocument/hover", jsonrpc="1.0"), -32600),
        "method-is-a-number": ({"jsonrpc": "2.0", "id": "method-is-a-number", "method": 5}, -32600),
        7: (server.hover(7, line=10**12), -32602),  # over LSP's uinteger
    }
    noise = [
        b"[1, 2, 3]",  # valid JSON, not a message
        b'"just a string"',
        json.dumps(notification("textDocument/didOpen", {"textDocument": 5})).encode(),
        json.dumps(notification("textDocument/didChange", None)).encode(),
        json.dumps({"jsonrpc": "2.0", "id": "unknown-response", "result": 1}).encode(),
    ]
    await server.send(*(frame(message) for message, _ in cases.values()), *(frame(body) for body in noise))
    responses = await server.wait(list(cases))
    codes = {msg_id: response.get("error", {}).get("code") for msg_id, response in responses.items()}
    assert codes == {msg_id: code for msg_id, (_, code) in cases.items()}
    assert all(responses[msg_id]["id"] == msg_id for msg_id in cases)
    await server.answers_twenty("after")
    assert server.process.returncode is None


# --- shutdown and exit -------------------------------------------------------------------------


async def test_requests_after_shutdown_are_invalid_and_exit_exits_0(launch: Launcher) -> None:
    server = await launch()
    assert (await server.call(request("down", "shutdown")))["result"] is None
    after = [server.hover("late-hover"), request("late-unknown", "recode/nothing", {}), request("again", "shutdown")]
    await server.send(*(frame(message) for message in after))
    responses = await server.wait(["late-hover", "late-unknown", "again"])
    assert {msg_id: r["error"]["code"] for msg_id, r in responses.items()} == dict.fromkeys(responses, -32600)
    assert all("shut" in r["error"]["message"] for r in responses.values())
    await server.send(frame(notification("exit", None)))  # stdin stays open: exiting must not wait for it
    assert await asyncio.wait_for(server.process.wait(), timeout=TIMEOUT) == 0


async def test_exit_without_shutdown_exits_1(launch: Launcher) -> None:
    server = await launch()
    await server.answers_twenty("before")
    await server.send(frame(notification("exit", None)))
    assert await asyncio.wait_for(server.process.wait(), timeout=TIMEOUT) == 1


async def test_end_of_input_mid_message_ends_the_server(launch: Launcher) -> None:
    server = await launch()
    await server.send(b'Content-Length: 500\r\n\r\n{"jsonrpc"')
    assert server.process.stdin is not None
    server.process.stdin.close()
    assert await asyncio.wait_for(server.process.wait(), timeout=TIMEOUT) == 0
    assert re.search("end of input in the middle of a message", server.log_text(), re.IGNORECASE)
