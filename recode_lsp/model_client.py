"""Client for the served ReCode model: an OpenAI-compatible chat endpoint (vLLM), on httpx.

Why it looks the way it does:

* The ReCode prompt *prefills* the assistant turn (:data:`recode_lsp.prompt.ASSISTANT_PREFIX`)
  and the model continues it, as in training. vLLM does that when asked with
  ``continue_final_message=True`` and ``add_generation_prompt=False``; it then returns only the
  continuation, so the prefix is put back in front: callers always get the whole assistant turn,
  which is what :func:`recode_lsp.prompt.extract_code` and the reward read.
* An editor calls this on a keystroke's schedule. A dead server must cost one timeout, not one
  per request: after ``failure_threshold`` consecutive outages (connection failures, timeouts,
  gateway errors that outlast the retries) a circuit breaker makes calls fail at once with
  :class:`ModelUnavailable` for ``cool_down`` seconds; then one call is let through to probe.
* ``timeout`` bounds the *whole* call, retries and backoff included, so the caller knows the
  worst case. Only what a retry can fix is retried: connection errors and 502/503/504 (a proxy or
  a server still loading). Any other HTTP error is reported at once with its status and the
  start of the body.

Every error is a :class:`ModelError` whose message can be shown to a user as it is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["ModelClient", "ModelError", "ModelHTTPError", "ModelTimeout", "ModelUnavailable"]

#: Statuses that mean "try again shortly" (proxy in front of a restarting server, overload).
RETRY_STATUSES = frozenset({502, 503, 504})


class ModelError(Exception):
    """The model call failed; the message says why, in words a user understands."""


class ModelTimeout(ModelError):
    """The model server did not answer within the client's timeout."""


class ModelUnavailable(ModelError):
    """The model server cannot be reached, or the circuit breaker is open after an outage."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        #: What went wrong, in a few words ("connection refused"), for the breaker's message.
        self.reason = reason or message


class ModelHTTPError(ModelError):
    """The model server answered with an HTTP error."""

    def __init__(self, message: str, status: int, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def chat_url(endpoint: str) -> str:
    """``http://host:8000``, ``.../v1`` or ``.../v1/chat/completions`` -> the chat completions URL."""
    base = endpoint.strip().rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _excerpt(text: str, limit: int = 200) -> str:
    """The useful start of an error body: vLLM's ``{"message": ...}``, else the text itself."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        inner = data.get("error", data)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if isinstance(message, str) and message:
            text = message
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(exc: BaseException) -> str:
    """A transport error in a few words: the cause (refused, unknown host) hides in the chain."""
    import socket

    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(causes) < 8:
        causes.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return "connection refused"
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return "unknown host"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection without answering"
    text = " ".join(str(cause) for cause in causes).lower()
    if "refused" in text:
        return "connection refused"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})" if str(exc) else "cannot connect"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _seconds(value: float) -> str:
    return f"{value:g} s"


class ModelClient:
    """An OpenAI-compatible chat client with a total timeout, retries and a circuit breaker."""

    def __init__(
        self,
        endpoint: str,
        model: str,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.5,
        failure_threshold: int = 1,
        cool_down: float = 30.0,
        *,
        api_key: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.url = chat_url(endpoint)
        self.model = model
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.failure_threshold = max(1, failure_threshold)
        self.cool_down = cool_down
        self.api_key = api_key
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0
        self._last_outage = ""
        self._probing = False
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    # --- public API --------------------------------------------------------------------

    @property
    def state(self) -> str:
        """``"closed"`` (calls go through), ``"open"`` (they fail fast) or ``"half-open"``."""
        if self._failures < self.failure_threshold:
            return "closed"
        return "open" if self._clock() < self._open_until else "half-open"

    async def complete(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int = 1024, temperature: float = 0.0
    ) -> str:
        """The assistant's whole turn (a prefilled prefix included). Raises :class:`ModelError`."""
        probing = self._admit()
        try:
            text = await asyncio.wait_for(self._attempts(messages, max_tokens, temperature), self.timeout)
        except asyncio.TimeoutError:
            self._outage(f"timed out after {_seconds(self.timeout)}")
            raise ModelTimeout(f"the model server timed out after {_seconds(self.timeout)}") from None
        except ModelUnavailable as exc:
            self._outage(exc.reason)
            raise
        except ModelHTTPError as exc:
            if exc.status in RETRY_STATUSES:
                self._outage(f"answered {exc.status}")
            else:
                self._healthy()
            raise
        except ModelError:
            self._healthy()  # it answered, even if the answer is unusable
            raise
        except BaseException:
            # Cancelled (the user moved on): says nothing about the server.
            if probing:
                self._probing = False
            raise
        self._healthy()
        return text

    def complete_sync(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int = 1024, temperature: float = 0.0
    ) -> str:
        """:meth:`complete` for synchronous callers (the CLI). Not for use inside an event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("complete_sync() called from a running event loop; await complete() instead")

        async def once() -> str:
            try:
                return await self.complete(messages, max_tokens=max_tokens, temperature=temperature)
            finally:
                await self.aclose()

        return asyncio.run(once())

    async def aclose(self) -> None:
        """Close the HTTP connections opened from the running event loop."""
        client, self._client, self._client_loop = self._client, None, None
        if client is not None:
            await client.aclose()

    # --- circuit breaker ---------------------------------------------------------------

    def _admit(self) -> bool:
        """Let a call through, or fail fast; True when the call is the half-open probe."""
        if self._failures < self.failure_threshold:
            return False
        now = self._clock()
        if now < self._open_until or self._probing:
            wait = max(0.0, self._open_until - now)
            when = f"retrying in {wait:.0f} s" if wait >= 1 else "a retry is in progress"
            raise ModelUnavailable(f"the model server at {self.endpoint} is unavailable ({self._last_outage}); {when}")
        self._probing = True
        return True

    def _outage(self, reason: str) -> None:
        self._failures += 1
        self._last_outage = reason
        self._probing = False
        if self._failures >= self.failure_threshold:
            self._open_until = self._clock() + self.cool_down

    def _healthy(self) -> None:
        self._failures = 0
        self._probing = False
        self._open_until = 0.0

    # --- HTTP --------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        """One connection pool per event loop (the sync wrapper runs a new loop per call)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop or self._client.is_closed:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                headers=headers,
                # A proxy from the environment must not capture a server on this machine.
                trust_env=not _is_loopback(self.url),
            )
            self._client_loop = loop
        return self._client

    def _payload(self, messages: Sequence[dict[str, str]], max_tokens: int, temperature: float) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if messages and messages[-1].get("role") == "assistant":
            # vLLM's extension: continue the prefilled assistant turn instead of starting one.
            payload["continue_final_message"] = True
            payload["add_generation_prompt"] = False
        return payload

    async def _attempts(self, messages: Sequence[dict[str, str]], max_tokens: int, temperature: float) -> str:
        payload = self._payload(messages, max_tokens, temperature)
        client = self._http()
        last: ModelError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await client.post(self.url, json=payload)
            except httpx.TimeoutException:
                raise asyncio.TimeoutError from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise ModelError(f"the model endpoint {self.endpoint!r} is not a valid http(s) URL: {exc}") from None
            except httpx.TransportError as exc:
                why = _describe(exc)
                last = ModelUnavailable(f"cannot reach the model server at {self.endpoint}: {why}", why)
                continue
            if response.status_code in RETRY_STATUSES:
                last = self._http_error(response)
                continue
            if response.status_code >= 400:
                raise self._http_error(response)
            return self._answer(response, messages)
        raise last or ModelError("the model server was not asked")

    def _http_error(self, response: httpx.Response) -> ModelHTTPError:
        body = response.text
        excerpt = _excerpt(body)
        reason = response.reason_phrase or ""
        message = f"the model server answered {response.status_code}" + (f" {reason}" if reason else "")
        return ModelHTTPError(f"{message}: {excerpt}" if excerpt else message, response.status_code, body)

    def _answer(self, response: httpx.Response, messages: Sequence[dict[str, str]]) -> str:
        try:
            data = response.json()
            choice = data["choices"][0]
            message = choice.get("message") or {}
            text = message.get("content") if isinstance(message, dict) else None
            if text is None:
                text = choice.get("text")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise ModelError(
                f"the model server's answer is not a chat completion: {_excerpt(response.text)}"
            ) from None
        if not isinstance(text, str):
            raise ModelError("the model server's answer has no text")
        if messages and messages[-1].get("role") == "assistant":
            prefix = messages[-1].get("content") or ""
            if not text.startswith(prefix):
                text = prefix + text
        return text
