"""Reading LSP messages robustly, and answering every request (issue 13).

pygls 2.1 reads a message a header line at a time (``pygls.io_.run_async``) and trusts what it
reads. A ``Content-Length`` that is too short or too long, not a number, or missing leaves it
reading from the middle of a message, where no line is a header again until a stray line break
happens to come; a ``Content-Length`` of 10^12 makes it allocate 10^12 bytes and die. A request
whose params do not fit the method's type (a negative position, ``{"textDocument": 5}``, ``null``)
fails while being decoded, before pygls knows it is a request, so it is logged and never answered;
so is every request after ``shutdown``. The editor waits forever.

This module replaces that loop for ``recode-lsp``, over stdio and TCP, until pygls does the same
(``docs/upstream/pygls-transport.patch``):

* :class:`FrameReader` parses a header block (``Name: value`` lines and an empty line) with exactly
  one decimal ``Content-Length`` no larger than the limit (``--max-message-bytes``,
  ``RECODE_LSP_MAX_MESSAGE_BYTES``, 64 MiB by default). Anything else is *rejected*: it is logged,
  and the reader skips to the next ``Content-Length`` header (the resynchronisation) without
  storing what it skips.
* A body is watched as it arrives: a JSON value never contains ``Content-Length: N`` followed by a
  raw line break (a raw line break cannot be inside a JSON string, and the name cannot be outside
  one), so finding one means the declared length was too long and the next message has begun;
  the reader resynchronises there instead of waiting for bytes that will never come.
* A body larger than ``STREAM_ABOVE`` (1 MiB: a ``didOpen`` of a large file) is decoded as it
  arrives (:class:`StreamingDecoder`) and comes out as :class:`Decoded`: its long strings are
  decoded piece by piece into one string, so the server holds one copy of a document's text,
  not two (the body and its text, then the text and the parsed string: a 50 MB document peaked
  at about 100 MiB over the idle server). Such a body that is not JSON is rejected whole,
  without resynchronising inside it.
* :func:`dispatch` answers every request: ``-32700`` for a message that could not be read, when
  its id can still be read from it; ``-32600`` for a malformed request or any request after
  ``shutdown``; ``-32601`` for an unknown method; ``-32602`` for params that do not fit the method.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import re
import secrets
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import cattrs
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcParseError,
)
from pygls.io_ import StdoutWriter

if TYPE_CHECKING:
    from pygls.protocol import JsonRPCProtocol
    from pygls.server import JsonRPCServer

logger = logging.getLogger(__name__)

MsgId = int | str

DEFAULT_MAX_MESSAGE_BYTES = 64 * 2**20
MAX_MESSAGE_BYTES_ENV = "RECODE_LSP_MAX_MESSAGE_BYTES"
#: A header block longer than this is not one.
MAX_HEADER_BYTES = 8192
#: The most bytes asked of the input at once.
READ_CHUNK = 2**20
#: How much of a rejected message is kept to read its id from.
RECOVERY_BYTES = 2**16

HEADER_NAME = b"Content-Length"
_FIELD = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\r?")
#: A Content-Length header as it can only appear between messages, never inside a JSON body.
_HEADER_LINE = re.compile(rb"Content-Length:[ \t]{0,8}[0-9]{1,20}\r?\n")
#: Longer than any match of ``_HEADER_LINE``: how far back a scan looks for one cut by a read.
_HEADER_OVERLAP = 64
_ID = re.compile(r'"id"\s*:\s*(-?[0-9]+|"(?:[^"\\]|\\.)*")\s*[,}]')
_SIZE = re.compile(r"([0-9]{1,15})\s*([kmg]?)(?:i?b)?", re.IGNORECASE)
#: A body larger than this is decoded as it arrives (:class:`StreamingDecoder`), never held whole.
STREAM_ABOVE = 2**20
#: A JSON string whose encoded form is longer than this is decoded in pieces.
LONG_STRING = 2**16
#: The inside of a JSON string up to its closing quote (or to a backslash that ends the input).
_STRING_PART = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
#: Bytes after which an encoded string cannot be cut: an unfinished escape (``\\``, ``\\u``, hex
#: digits of ``\\uXXXX``, so also half a surrogate pair) or UTF-8 (maybe half a character). Mapped
#: to ``.``, every other byte to ``+``: the last ``+`` is where a piece can end.
_CUT_TABLE = bytes(
    ord(".") if byte >= 0x80 or chr(byte) in "0123456789abcdefABCDEFu\\" else ord("+") for byte in range(256)
)


def parse_size(text: str) -> int:
    """``"67108864"``, ``"64M"``, ``"64MiB"``, ``"512k"``... in bytes (powers of 1024)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size (a number of bytes, or a number with K, M or G)")
    value = int(match.group(1)) * 1024 ** " kmg".index(match.group(2).lower() or " ")
    if value <= 0:
        raise ValueError(f"{text!r} is not a positive size")
    return value


def max_message_bytes(option: str | None = None) -> int:
    """The message size limit: ``option`` (``--max-message-bytes``), else the environment, else 64 MiB.

    Raises :class:`ValueError` naming where a bad value came from.
    """
    if option is not None:
        return parse_size(option)
    if (value := os.environ.get(MAX_MESSAGE_BYTES_ENV)) is not None:
        try:
            return parse_size(value)
        except ValueError as error:
            raise ValueError(f"{MAX_MESSAGE_BYTES_ENV}: {error}") from None
    return DEFAULT_MAX_MESSAGE_BYTES


# --- framing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    """A large message, decoded while it was read (its body was never held whole)."""

    data: Any


@dataclass(frozen=True)
class Rejected:
    """A message that could not be framed: why, how many bytes were skipped, and the first of them."""

    reason: str
    skipped: int
    head: bytes


def _parse_header(buffer: bytearray, limit: int) -> tuple[int, int] | str | None:
    """``(content length, end of the header block)``, the reason it is not a header block, or
    ``None`` while it may still become one."""
    length: int | None = None
    position = 0
    while True:
        newline = buffer.find(b"\n", position)
        if newline < 0:
            return f"no header block in the first {MAX_HEADER_BYTES} bytes" if len(buffer) > MAX_HEADER_BYTES else None
        if newline > MAX_HEADER_BYTES:
            return f"no header block in the first {MAX_HEADER_BYTES} bytes"
        line = bytes(buffer[position:newline])
        position = newline + 1
        if line in (b"", b"\r"):
            if length is None and not buffer[:position].strip():
                continue  # blank lines between messages
            if length is None:
                return "a header block without Content-Length"
            return length, position
        match = _FIELD.fullmatch(line)
        if match is None:
            return f"not a header line: {line[:60]!r}"
        name, value = match.groups()
        if name.lower() != b"content-length":
            continue  # Content-Type: only UTF-8 is used anyway
        if not value.isdigit() or len(value) > 20:
            return f"Content-Length {value[:40].decode('ascii', 'replace')!r} is not a number of bytes"
        declared = int(value)
        if declared > limit:
            return (
                f"Content-Length {declared} exceeds the limit ({limit} bytes;"
                f" --max-message-bytes or {MAX_MESSAGE_BYTES_ENV} raises it)"
            )
        if length is not None and declared != length:
            return "two different Content-Length headers"
        length = declared


def _header_inside(buffer: bytearray, start: int, stop: int) -> int:
    """Where a ``Content-Length: N`` line starts in ``buffer[start:stop]``, or -1."""
    while (found := buffer.find(b"Content-Length:", start, stop)) >= 0:
        if _HEADER_LINE.match(buffer, found):
            return found
        start = found + 1
    return -1


class FrameReader:
    """The bodies of LSP messages read from ``read`` (``read(n)``: at most ``n`` bytes, ``b""`` at the end).

    :meth:`next` returns a body, a :class:`Decoded` message (a body over ``stream_above``), a
    :class:`Rejected` for bytes that were not a message, or ``None`` at the end of the input. A
    body that turns out not to be JSON is handed back with :meth:`reject`: the reader then
    resynchronises from its first byte.
    """

    def __init__(
        self,
        read: Callable[[int], Awaitable[bytes]],
        limit: int = DEFAULT_MAX_MESSAGE_BYTES,
        stream_above: int = STREAM_ABOVE,
    ) -> None:
        self._read = read
        self.limit = limit
        #: A body larger than this is decoded as it arrives and returned as :class:`Decoded`.
        self.stream_above = stream_above
        self._buffer = bytearray()
        self._eof = False
        self._rejected: str | None = None

    async def _fill(self, size: int = READ_CHUNK) -> bool:
        if not self._eof:
            chunk = await self._read(size)
            if chunk:
                self._buffer += chunk
                return True
            self._eof = True
        return False

    async def next(self) -> bytes | bytearray | Decoded | Rejected | None:
        if self._rejected is not None:
            reason, self._rejected = self._rejected, None
            return await self._resync(reason, 0)
        while True:
            header = _parse_header(self._buffer, self.limit)
            if isinstance(header, str):
                return await self._resync(header, 1)
            if header is not None:
                return await self._body(*header)
            if not await self._fill():
                self._end()
                return None

    def reject(self, body: bytes | bytearray, reason: str) -> None:
        """``body`` (just returned by :meth:`next`) is not a message: skip to the next header from its start."""
        self._buffer[:0] = body
        self._rejected = reason

    async def _body(self, length: int, start: int) -> bytes | bytearray | Decoded | Rejected | None:
        if length > self.stream_above:
            return await self._streamed_body(length, start)
        buffer = self._buffer
        del buffer[:start]
        scanned = 0
        while True:
            found = _header_inside(buffer, scanned, min(len(buffer), length))
            if found >= 0:
                reason = f"Content-Length {length} is longer than the message (the next header is at byte {found})"
                return await self._resync(reason, found)
            if len(buffer) >= length:
                break
            scanned = max(0, len(buffer) - _HEADER_OVERLAP)
            if not await self._fill(min(length - len(buffer), READ_CHUNK)):
                self._end()
                return None
        if len(buffer) == length:  # the usual case: hand over the buffer, no copy
            self._buffer = bytearray()
            return buffer
        body = bytes(buffer[:length])
        del buffer[:length]
        return body

    async def _streamed_body(self, length: int, start: int) -> Decoded | Rejected | None:
        """A large body decoded as it arrives: no more than a read's worth of it is held as bytes.

        The body is watched for a header inside it as in :meth:`_body`; one that does not decode is
        rejected whole (its bytes are gone, so the reader does not resynchronise inside it).
        """
        buffer = self._buffer
        del buffer[:start]
        decoder = StreamingDecoder()
        error: str | None = None
        fed = 0

        def feed(count: int) -> None:
            nonlocal error, fed
            if error is None:
                try:
                    decoder.feed(buffer[:count])
                except ValueError as exc:  # UnicodeDecodeError included
                    error = _decode_error(exc)
            elif len(decoder.head) < RECOVERY_BYTES:
                decoder.head += buffer[: min(count, RECOVERY_BYTES - len(decoder.head))]
            del buffer[:count]
            fed += count

        while True:
            remaining = length - fed
            found = _header_inside(buffer, 0, min(len(buffer), remaining))
            if found >= 0:
                head = bytes(decoder.head) + bytes(buffer[: max(0, min(found, RECOVERY_BYTES - len(decoder.head)))])
                del buffer[:found]
                reason = (
                    f"Content-Length {length} is longer than the message (the next header is at byte {fed + found})"
                )
                logger.error("rejected a message: %s; skipped %d bytes to the next header", reason, fed + found)
                return Rejected(reason, fed + found, head)
            if len(buffer) >= remaining:
                feed(remaining)
                break
            if len(buffer) > _HEADER_OVERLAP:  # keep the end: it may be the start of a header cut by the read
                feed(len(buffer) - _HEADER_OVERLAP)
            if not await self._fill(min(remaining - len(buffer), READ_CHUNK)):
                read = fed + len(buffer)
                logger.error("end of input in the middle of a message (%d of %d bytes read)", read, length)
                return None
        if error is None:
            try:
                return Decoded(decoder.finish())
            except (ValueError, RecursionError) as exc:
                error = _decode_error(exc)
        logger.error("rejected a message: %s", error)
        return Rejected(error, length, bytes(decoder.head))

    async def _resync(self, reason: str, start: int) -> Rejected:
        """Skip to the next ``Content-Length`` at or after ``start``, keeping only the first skipped bytes."""
        buffer = self._buffer
        head = bytearray()
        skipped = 0
        while (found := buffer.find(HEADER_NAME, start)) < 0:
            keep = max(start, len(buffer) - len(HEADER_NAME) + 1)  # may be the start of a header
            head += buffer[: max(0, min(keep, RECOVERY_BYTES - len(head)))]
            skipped += keep
            del buffer[:keep]
            start = 0
            if not await self._fill():
                found = len(buffer)
                break
        head += buffer[: max(0, min(found, RECOVERY_BYTES - len(head)))]
        skipped += found
        del buffer[:found]
        logger.error("rejected a message: %s; skipped %d bytes to the next header", reason, skipped)
        return Rejected(reason, skipped, bytes(head))

    def _end(self) -> None:
        if self._buffer.strip():
            logger.error("end of input in the middle of a message (%d bytes unread)", len(self._buffer))


def _decode_error(error: BaseException) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"the body is not UTF-8 ({error})"
    return f"the body is not JSON ({error})"


class StreamingDecoder:
    """A JSON message decoded from the pieces of its body, holding one copy of its long strings.

    A string longer than :data:`LONG_STRING` once encoded (a document's text) is decoded a piece
    at a time and appended to one ``str``, which CPython grows in place (``text += piece`` on a
    local that holds the only reference: no copy, and a large block is grown by ``mremap``); the
    rest of the message (its structure and short strings) is kept as bytes, each long string
    replaced by a placeholder, and decoded by :func:`json.loads` at the end. Pieces are cut only
    where no escape or UTF-8 character is unfinished. Errors are :class:`ValueError` (a
    :class:`UnicodeDecodeError` for bytes that are not UTF-8), as :func:`json.loads` raises.
    """

    def __init__(self) -> None:
        #: The first bytes of the body, to read a request's id from when it cannot be decoded.
        self.head = bytearray()
        self._skeleton = bytearray()
        self._in_string = False
        self._raw = bytearray()  # the current string's bytes not decoded yet
        self._decoded: str | None = None  # the current string's decoded start, once it is long
        self._carry = b""  # a backslash that ended the last piece
        self._long: dict[str, str] = {}
        self._nonce = secrets.token_hex(8)

    def feed(self, data: bytes | bytearray) -> None:
        if len(self.head) < RECOVERY_BYTES:
            self.head += data[: RECOVERY_BYTES - len(self.head)]
        if self._carry:
            data, self._carry = self._carry + data, b""
        position, end = 0, len(data)
        while position < end:
            if not self._in_string:
                quote = data.find(b'"', position)
                if quote < 0:
                    self._skeleton += data[position:]
                    return
                self._skeleton += data[position:quote]
                self._in_string = True
                position = quote + 1
                continue
            match = _STRING_PART.match(data, position)
            stop = match.end() if match is not None else position
            self._raw += data[position:stop]
            if stop < end and data[stop] == 0x22:  # the closing quote
                self._close()
                position = stop + 1
                continue
            self._carry = bytes(data[stop:])  # empty, or a backslash whose escape is in the next piece
            if self._decoded is not None or len(self._raw) > LONG_STRING:
                self._decode_part(final=False)
            return

    def finish(self) -> Any:
        """The message; :class:`ValueError` when the body was not one JSON value."""
        if self._in_string or self._carry:
            raise ValueError("the body ends inside a string")
        data = json.loads(self._skeleton.decode("utf-8"))
        self._skeleton = bytearray()
        if self._long:
            data = _restore(data, self._long)
        return data

    def _close(self) -> None:
        if self._decoded is None and len(self._raw) <= LONG_STRING:
            self._skeleton += b'"' + self._raw + b'"'
        else:
            self._decode_part(final=True)
            placeholder = f"\x00recode-long-string:{self._nonce}:{len(self._long)}"
            self._long[placeholder], self._decoded = self._decoded or "", None
            self._skeleton += json.dumps(placeholder).encode()
        self._raw = bytearray()
        self._in_string = False

    def _decode_part(self, final: bool) -> None:
        raw = self._raw
        cut = len(raw) if final else raw.translate(_CUT_TABLE).rfind(b"+") + 1
        if not cut:
            return  # nowhere to cut yet: wait for more
        part: str = json.loads('"' + raw[:cut].decode("utf-8") + '"')
        del raw[:cut]
        # ``text`` holds the only reference while it grows: CPython appends in place.
        text, self._decoded = self._decoded or "", None
        text += part
        self._decoded = text


def _restore(value: Any, long: dict[str, str]) -> Any:
    """``value`` with the placeholders of :class:`StreamingDecoder` replaced by their strings."""
    if isinstance(value, str):
        return long.pop(value, value)
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _restore(item, long)
        return value
    if isinstance(value, dict):
        return {_restore(key, long): _restore(item, long) for key, item in value.items()}
    return value


# --- answering -----------------------------------------------------------------------------------


def _request_id(message: object) -> MsgId | None:
    """The id of ``message`` if it is a request that can be answered."""
    if not isinstance(message, dict) or "method" not in message:
        return None
    msg_id = message.get("id")
    return msg_id if isinstance(msg_id, int | str) and not isinstance(msg_id, bool) else None


def recover_id(data: bytes) -> MsgId | None:
    """The id of the request in (the start of) an unreadable message, if it can still be read.

    The first JSON object is decoded; when it is cut short, only its top level before any nested
    object is searched, where clients put ``id`` and ``method``.
    """
    text = data.decode("utf-8", "replace")
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        nested = text.find("{", start + 1)
        top = text[start : nested if nested >= 0 else len(text)]
        match = _ID.search(top)
        if match is None or '"method"' not in top:
            return None
        value = {"method": None, "id": json.loads(match.group(1))}
    return _request_id(value)


def send_error(protocol: JsonRPCProtocol, msg_id: MsgId, error: JsonRpcException) -> None:
    protocol._send_response(msg_id, None, error.to_response_error())


def _tell_client(protocol: JsonRPCProtocol, message: str) -> None:
    protocol.notify(
        types.WINDOW_LOG_MESSAGE,
        types.LogMessageParams(type=types.MessageType.Error, message=f"recode-lsp: {message}"),
    )


def _answer_unreadable(protocol: JsonRPCProtocol, msg_id: MsgId | None, reason: str) -> None:
    _tell_client(protocol, f"rejected a message: {reason}")
    if msg_id is not None:
        send_error(protocol, msg_id, JsonRpcParseError(f"Parse error: {reason}"))


def _invalid_params(error: Exception) -> str:
    cause = error.__cause__ or error
    if isinstance(cause, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(cause, path="message")[:5])
    return str(cause) or type(cause).__name__


def _has_handler(protocol: JsonRPCProtocol, method: str) -> bool:
    return method in protocol.fm.builtin_features or method in protocol.fm.features


def dispatch(protocol: JsonRPCProtocol, data: Any) -> None:
    """Hand a decoded message to ``protocol``, answering every request it cannot handle."""
    if not isinstance(data, dict):
        logger.error("rejected a message: a JSON %s is not a JSON-RPC message", type(data).__name__)
        return
    method = data.get("method")
    if "method" not in data:
        if "id" not in data:
            logger.error("rejected a message: neither a request, a notification nor a response")
            return
        message = protocol.structure_message(data)  # a response: pygls logs what it cannot use
        protocol.handle_message(message)
        return
    is_request = "id" in data
    msg_id = _request_id(data)
    if is_request and msg_id is None:
        logger.error("rejected a request: its id %r is neither a number nor a string", data.get("id"))
        return

    problem = None
    if data.get("jsonrpc") != "2.0":
        problem = 'jsonrpc is not "2.0"'
    elif not isinstance(method, str):
        problem = "method is not a string"
    elif data.get("params") is not None and not isinstance(data["params"], dict | list):
        problem = "params is neither an object nor an array"
    elif getattr(protocol, "_shutdown", False) and method != types.EXIT:
        problem = "the server is shut down (a request after shutdown)"
    if problem is not None:
        logger.warning("rejected %s %r: %s", "request" if is_request else "notification", method, problem)
        if msg_id is not None:
            send_error(protocol, msg_id, JsonRpcInvalidRequest(f"Invalid request: {problem}"))
        return
    assert isinstance(method, str)
    if msg_id is not None and not _has_handler(protocol, method):
        logger.warning("unknown method %r (request %r)", method, msg_id)
        send_error(protocol, msg_id, JsonRpcMethodNotFound.of(method))
        return
    try:
        message = protocol.structure_message(data)
    except Exception as error:  # noqa: BLE001 - pygls raises JsonRpcInvalidParams or JsonRpcInternalError
        detail = _invalid_params(error)
        logger.error("rejected %s %r: invalid params: %s", "request" if is_request else "notification", method, detail)
        if msg_id is not None:
            send_error(protocol, msg_id, JsonRpcInvalidParams(f"Invalid params: {detail}"))
        else:
            _tell_client(protocol, f"ignored a {method} notification with invalid params: {detail}")
        return
    protocol.handle_message(message)


_UNREADABLE = object()


def _decode(protocol: JsonRPCProtocol, reader: FrameReader, body: bytes | bytearray) -> str | None:
    """The body as text; ``None`` when it is not UTF-8 (answered, or handed back to ``reader``)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"the body is not UTF-8 ({error})"
        try:
            lenient = json.loads(body.decode("utf-8", "replace"))
        except ValueError:
            reader.reject(body, reason)
            return None
    # Framed right (it is JSON once the bad bytes are replaced): answer it, no need to resynchronise.
    logger.error("rejected a message: %s", reason)
    _answer_unreadable(protocol, _request_id(lenient), reason)
    return None


def _parse(reader: FrameReader, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        reader.reject(text.encode(), f"the body is not JSON ({error})")
        return _UNREADABLE


async def serve(reader: FrameReader, protocol: JsonRPCProtocol, stop_event: threading.Event) -> None:
    """Read, decode and dispatch messages until the input ends or ``stop_event`` is set."""
    while not stop_event.is_set():
        item = await reader.next()
        if item is None:
            break
        try:
            if isinstance(item, Rejected):
                _answer_unreadable(protocol, recover_id(item.head), item.reason)
                continue
            if isinstance(item, Decoded):
                data, item = item.data, None
                dispatch(protocol, data)
                data = None  # do not keep a closed document's text alive until the next message
                continue
            text = _decode(protocol, reader, item)
            item = None  # a document's text is large: hold one copy of it at a time
            if text is None:
                continue
            data = _parse(reader, text)
            text = None
            if data is not _UNREADABLE:
                dispatch(protocol, data)
            data = None
        except BrokenPipeError:
            raise
        except Exception:  # the loop must outlive any one message
            logger.exception("could not handle a message")


# --- the server's transports -------------------------------------------------------------------


class ThreadedInput:
    """``read(n)`` on a blocking binary stream (stdin), done by a daemon thread.

    The thread reads the file descriptor itself (``os.read``): a read still waiting when the
    server exits then holds no lock of ``sys.stdin`` and keeps nothing alive, so ``exit`` ends the
    process even while the client keeps stdin open.
    """

    def __init__(self, stream: BinaryIO) -> None:
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self._read: Callable[[int], bytes] = getattr(stream, "read1", stream.read)
        else:
            self._read = lambda size: os.read(fd, size)
        self._requests: queue.SimpleQueue[tuple[int, asyncio.Future[bytes]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def read(self, size: int) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="recode-lsp-input", daemon=True)
            self._thread.start()
        self._requests.put((size, future))
        return await future

    def _run(self) -> None:
        while True:
            size, future = self._requests.get()
            try:
                data = self._read(size)
            except (OSError, ValueError) as error:
                logger.error("reading the input failed: %s", error)
                data = b""
            try:
                future.get_loop().call_soon_threadsafe(_settle, future, data)
            except RuntimeError:  # the event loop is closed: the server is stopping
                return


def _settle(future: asyncio.Future[bytes], data: bytes) -> None:
    if not future.done():
        future.set_result(data)


def _exit_code(error: SystemExit) -> int:
    return error.code if isinstance(error.code, int) else (0 if error.code is None else 1)


def serve_stdio(
    server: JsonRPCServer, limit: int, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> int:
    """Serve over stdin and stdout until ``exit`` or the end of the input; the exit code."""
    server._stop_event = stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    reader = FrameReader(ThreadedInput(stdin or sys.stdin.buffer).read, limit)
    try:
        asyncio.run(serve(reader, server.protocol, stop_event))
    except BrokenPipeError:
        logger.error("the connection to the client is lost: stopping")
    except SystemExit as error:  # ``exit``: 0 after ``shutdown``, else 1
        return _exit_code(error)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


def serve_tcp(server: JsonRPCServer, limit: int, host: str, port: int) -> int:
    """Listen on ``host:port`` and serve the client that connects; the exit code."""
    server._stop_event = stop_event = threading.Event()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        logger.debug("connected to a client")
        server.protocol.set_writer(writer)  # pygls writes to a StreamWriter too
        await serve(FrameReader(reader.read, limit), server.protocol, stop_event)
        server.shutdown()

    async def listen() -> None:
        tcp = await asyncio.start_server(connection, host, port)
        server._server = tcp
        logger.info("Serving on %s", ", ".join(str(sock.getsockname()) for sock in tcp.sockets))
        async with tcp:
            await tcp.serve_forever()

    try:
        asyncio.run(listen())
    except asyncio.CancelledError:
        pass
    except SystemExit as error:
        return _exit_code(error)
    return 0
