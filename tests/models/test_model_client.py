"""The OpenAI-compatible client against a real HTTP server on loopback with scripted answers."""

from __future__ import annotations

import asyncio
import time

import pytest

from recode_lsp.model_client import (
    ModelClient,
    ModelError,
    ModelHTTPError,
    ModelTimeout,
    ModelUnavailable,
    chat_url,
)
from recode_lsp.prompt import ASSISTANT_PREFIX, build_messages
from tests.models.openai_server import HangUp, Raw, Reply, ScriptedServer, Status, closed_port_url

MESSAGES = build_messages("numpy", "2.0", "numpy.float_ was removed; use numpy.float64.", "x = np.float_(1)")


class Clock:
    """A clock the test moves by hand (for the breaker's cool-down)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_chat_url_accepts_endpoint_with_or_without_v1() -> None:
    assert chat_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1/chat/completions") == "http://h:8000/v1/chat/completions"


@pytest.mark.parametrize("suffix", ["", "/v1"])
async def test_ok_returns_the_whole_assistant_turn(server: ScriptedServer, suffix: str) -> None:
    server.then(Reply(" reasoning </think>\n<answer>done</answer>"))
    client = ModelClient(server.url + suffix, "recode")
    text = await client.complete(MESSAGES, max_tokens=256, temperature=0.2)
    assert text == ASSISTANT_PREFIX + " reasoning </think>\n<answer>done</answer>"
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body == {
        "model": "recode",
        "messages": MESSAGES,
        "max_tokens": 256,
        "temperature": 0.2,
        "continue_final_message": True,
        "add_generation_prompt": False,
    }
    await client.aclose()


async def test_echoed_prefix_is_not_doubled(server: ScriptedServer) -> None:
    server.then(Reply(ASSISTANT_PREFIX + " more"))
    client = ModelClient(server.url, "recode")
    assert await client.complete(MESSAGES) == ASSISTANT_PREFIX + " more"
    await client.aclose()


async def test_no_prefill_no_continuation_flags(server: ScriptedServer) -> None:
    server.then(Reply("hello"))
    client = ModelClient(server.url, "recode", api_key="secret")
    assert await client.complete([{"role": "user", "content": "hi"}]) == "hello"
    body = server.requests[0].body
    assert "continue_final_message" not in body and "add_generation_prompt" not in body
    assert server.requests[0].headers.get("Authorization") == "Bearer secret"
    await client.aclose()


async def test_500_raises_at_once_with_status_and_body(server: ScriptedServer) -> None:
    server.then(Status(500, '{"object": "error", "message": "CUDA out of memory", "code": 500}'))
    client = ModelClient(server.url, "recode", retries=2, backoff=0.01)
    with pytest.raises(ModelHTTPError) as caught:
        await client.complete(MESSAGES)
    assert caught.value.status == 500
    assert str(caught.value) == "the model server answered 500 Internal Server Error: CUDA out of memory"
    assert len(server.requests) == 1  # not retried
    assert client.state == "closed"  # the server answered: no outage
    await client.aclose()


async def test_400_body_excerpt_is_short(server: ScriptedServer) -> None:
    server.then(Status(400, "x" * 5000))
    client = ModelClient(server.url, "recode")
    with pytest.raises(ModelError) as caught:
        await client.complete(MESSAGES)
    assert str(caught.value).startswith("the model server answered 400 Bad Request: xxx")
    assert len(str(caught.value)) < 300
    await client.aclose()


async def test_503_then_ok_is_retried(server: ScriptedServer) -> None:
    server.then(Status(503, "loading"), Status(502), Reply("fine"))
    client = ModelClient(server.url, "recode", retries=2, backoff=0.01)
    assert await client.complete(MESSAGES) == ASSISTANT_PREFIX + "fine"
    assert len(server.requests) == 3
    await client.aclose()


async def test_gateway_errors_outlasting_retries(server: ScriptedServer) -> None:
    server.then(Status(503, "still loading"))
    client = ModelClient(server.url, "recode", retries=2, backoff=0.01)
    with pytest.raises(ModelHTTPError) as caught:
        await client.complete(MESSAGES)
    assert caught.value.status == 503
    assert len(server.requests) == 3
    assert client.state == "open"
    await client.aclose()


async def test_hang_up_is_retried(server: ScriptedServer) -> None:
    server.then(HangUp(), Reply("after a hang-up"))
    client = ModelClient(server.url, "recode", retries=1, backoff=0.01)
    assert await client.complete(MESSAGES) == ASSISTANT_PREFIX + "after a hang-up"
    await client.aclose()


async def test_slow_server_times_out_within_the_timeout(server: ScriptedServer) -> None:
    server.then(Reply("too late", delay=5))
    client = ModelClient(server.url, "recode", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ModelTimeout) as caught:
        await client.complete(MESSAGES)
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0  # within the timeout (the server would answer after 5 s)
    assert str(caught.value) == "the model server timed out after 0.5 s"
    await client.aclose()


async def test_timeout_bounds_retries_and_backoff_together(server: ScriptedServer) -> None:
    server.then(Status(503))
    client = ModelClient(server.url, "recode", timeout=0.3, retries=10, backoff=0.2)
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        await client.complete(MESSAGES)
    assert time.monotonic() - started < 1.5  # ten retries with backoff would take minutes
    await client.aclose()


async def test_connection_refused_opens_the_breaker_and_next_call_fails_fast() -> None:
    client = ModelClient(closed_port_url(), "recode", retries=2, backoff=0.01, cool_down=30)
    with pytest.raises(ModelUnavailable) as first:
        await client.complete(MESSAGES)
    assert "cannot reach the model server" in str(first.value)
    assert "connection refused" in str(first.value)
    assert client.state == "open"
    durations = []
    for _ in range(5):
        started = time.perf_counter()
        with pytest.raises(ModelUnavailable) as second:
            await client.complete(MESSAGES)
        durations.append(time.perf_counter() - started)
    # Fails at once (the best of five, so a busy test machine's preemption does not count).
    assert min(durations) < 0.05
    assert max(durations) < 0.5
    assert "is unavailable (connection refused); retrying in 30 s" in str(second.value)
    await client.aclose()


async def test_breaker_probes_after_the_cool_down(server: ScriptedServer) -> None:
    clock = Clock()
    server.then(Status(503))
    client = ModelClient(server.url, "recode", retries=0, cool_down=10, clock=clock)
    with pytest.raises(ModelHTTPError):
        await client.complete(MESSAGES)
    assert client.state == "open"
    server.then(Reply("back"))
    with pytest.raises(ModelUnavailable):
        await client.complete(MESSAGES)
    assert len(server.requests) == 1  # failed fast, nothing sent
    clock.now += 11
    assert client.state == "half-open"
    assert await client.complete(MESSAGES) == ASSISTANT_PREFIX + "back"
    assert client.state == "closed"
    await client.aclose()


async def test_failed_probe_reopens(server: ScriptedServer) -> None:
    clock = Clock()
    server.then(Status(504))
    client = ModelClient(server.url, "recode", retries=0, cool_down=10, clock=clock)
    with pytest.raises(ModelHTTPError):
        await client.complete(MESSAGES)
    clock.now += 11
    with pytest.raises(ModelHTTPError):
        await client.complete(MESSAGES)  # the probe goes through and fails
    with pytest.raises(ModelUnavailable):
        await client.complete(MESSAGES)  # open again
    await client.aclose()


async def test_failure_threshold_counts_consecutive_outages(server: ScriptedServer) -> None:
    server.then(Status(503))
    client = ModelClient(server.url, "recode", retries=0, failure_threshold=3)
    for _ in range(2):
        with pytest.raises(ModelHTTPError):
            await client.complete(MESSAGES)
        assert client.state == "closed"
    with pytest.raises(ModelHTTPError):
        await client.complete(MESSAGES)
    assert client.state == "open"
    await client.aclose()


async def test_concurrent_calls_share_the_pool(server: ScriptedServer) -> None:
    server.then(Reply("same", delay=0.05))
    client = ModelClient(server.url, "recode")
    answers = await asyncio.gather(*(client.complete(MESSAGES) for _ in range(8)))
    assert answers == [ASSISTANT_PREFIX + "same"] * 8
    await client.aclose()


async def test_cancelled_call_is_no_outage(server: ScriptedServer) -> None:
    server.then(Reply("slow", delay=2))
    client = ModelClient(server.url, "recode")
    task = asyncio.create_task(client.complete(MESSAGES))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert client.state == "closed"
    await client.aclose()


async def test_answer_that_is_not_a_chat_completion(server: ScriptedServer) -> None:
    server.then(Raw("<html>proxy login</html>"))
    client = ModelClient(server.url, "recode")
    with pytest.raises(ModelError) as caught:
        await client.complete(MESSAGES)
    assert "not a chat completion" in str(caught.value)
    await client.aclose()


def test_sync_wrapper(server: ScriptedServer) -> None:
    server.then(Reply("sync"))
    client = ModelClient(server.url, "recode")
    assert client.complete_sync(MESSAGES) == ASSISTANT_PREFIX + "sync"
    assert client.complete_sync(MESSAGES) == ASSISTANT_PREFIX + "sync"  # a new loop each time
    with pytest.raises(ModelUnavailable):
        ModelClient(closed_port_url(), "recode", backoff=0.01).complete_sync(MESSAGES)


async def test_sync_wrapper_refuses_a_running_loop(server: ScriptedServer) -> None:
    with pytest.raises(RuntimeError):
        ModelClient(server.url, "recode").complete_sync(MESSAGES)


async def test_endpoint_that_is_not_a_url() -> None:
    client = ModelClient("localhost:8000", "recode")
    with pytest.raises(ModelError) as caught:
        await client.complete(MESSAGES)
    assert "is not a valid http(s) URL" in str(caught.value)
    assert client.state == "closed"  # a configuration error, not an outage
    await client.aclose()
