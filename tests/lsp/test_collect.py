"""Garbage collection between requests (recode_lsp/server/collect.py).

A young-generation collection that falls inside a quick fix cost it 5-8 ms on a finding-dense
module (the slowest quick fixes were these); the server now raises the collector's threshold
while a request or a worker's job is in flight and runs the collection that is due once none is.
These tests use the interpreter's real collector (its counts and statistics), not a stand-in.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from recode_lsp.server import transport
from recode_lsp.server.collect import (
    AFTER_ANALYSIS,
    BUSY_THRESHOLD,
    IDLE_DELAY,
    IDLE_THRESHOLDS,
    CollectBetweenRequests,
    TrackedExecutor,
    collect_due,
)
from recode_lsp.server.server import create_server

#: Collections each thread ran during the current test (:func:`collector_settings` counts them).
_BY_THREAD: Counter[int] = Counter()


def _count(phase: str, info: dict[str, int]) -> None:
    if phase == "start":  # a ``gc`` callback runs in the thread that collects
        _BY_THREAD[threading.get_ident()] += 1


@pytest.fixture(autouse=True)
def collector_settings() -> Iterator[None]:
    """Each test starts from a fresh young generation and leaves the collector as it was."""
    thresholds = gc.get_threshold()
    enabled = gc.isenabled()
    gc.enable()
    gc.collect()
    _BY_THREAD.clear()
    gc.callbacks.append(_count)
    try:
        yield
    finally:
        gc.callbacks.remove(_count)
        gc.set_threshold(*thresholds)
        if not enabled:
            gc.disable()


def young_collections() -> int:
    """Collections the test's own thread ran so far (of any generation: each collects the young one
    too). Not the whole process's: threads other tests left in the same worker collect too (a full run
    saw 26 extra)."""
    return _BY_THREAD[threading.main_thread().ident or 0]


def make_cycles(count: int) -> None:
    """``count`` container objects in reference cycles, garbage at once (only the collector frees them)."""
    for _ in range(count // 2):
        a: list[Any] = []
        b: list[Any] = [a]
        a.append(b)


def test_no_collection_while_a_request_is_in_flight_then_one_when_it_is_answered() -> None:
    collector = CollectBetweenRequests()
    collector.enable()
    assert gc.get_threshold() == IDLE_THRESHOLDS
    collector.started(7)
    assert gc.get_threshold()[0] == BUSY_THRESHOLD
    before = young_collections()
    make_cycles(IDLE_THRESHOLDS[0] + 10_000)  # past the idle threshold, under the busy one
    assert young_collections() == before, "collected in the middle of a request"
    assert gc.get_count()[0] > IDLE_THRESHOLDS[0]
    collector.finished(7)
    assert young_collections() == before + 1
    assert gc.get_count()[0] < 100
    assert collector.collections == 1
    assert gc.get_threshold() == IDLE_THRESHOLDS


def test_nothing_is_collected_between_requests_while_little_was_allocated() -> None:
    collector = CollectBetweenRequests()
    collector.enable()
    collector.started("a")
    collector.started("b")
    make_cycles(IDLE_THRESHOLDS[0] + 10_000)
    before = young_collections()
    collector.finished("a")  # "b" is still in flight
    assert young_collections() == before
    collector.finished("unknown")  # an id never started (an error answered by the transport)
    assert young_collections() == before
    collector.finished("b")
    assert young_collections() == before + 1
    collector.started("c")
    make_cycles(1_000)
    collector.finished("c")
    assert young_collections() == before + 1, "a collection that was not due"


def test_disabled_it_leaves_the_collector_alone() -> None:
    gc.set_threshold(700, 10, 10)
    collector = CollectBetweenRequests()  # as a server created in a test (recode-lsp's main enables it)
    collector.started(1)
    assert gc.get_threshold() == (700, 10, 10)
    collector.finished(1)
    assert gc.get_threshold() == (700, 10, 10)
    assert collector.collections == 0


def test_collect_due_runs_the_collection_the_collector_would_and_keeps_its_thresholds() -> None:
    gc.set_threshold(50_000, 20, 50)
    make_cycles(30_000)
    before = young_collections()
    collect_due()
    assert young_collections() == before + 1
    assert gc.get_count()[0] < 100
    assert gc.get_threshold() == (50_000, 20, 50)


async def test_a_workers_job_in_flight_defers_the_collection_until_it_is_done() -> None:
    collector = CollectBetweenRequests()
    collector.enable()
    executor = TrackedExecutor(collector, max_workers=1)
    release = threading.Event()
    try:
        future = asyncio.wrap_future(executor.submit(release.wait, 10))
        collector.started(1)
        make_cycles(IDLE_THRESHOLDS[0] + 10_000)
        before = young_collections()
        collector.finished(1)  # the request is answered, a fix computed ahead still runs
        assert young_collections() == before
        assert gc.get_threshold()[0] == BUSY_THRESHOLD
        release.set()
        assert await future is True
        for _ in range(100):  # the job's end reaches the event loop with call_soon_threadsafe
            if collector.collections:
                break
            await asyncio.sleep(0.01)
        assert collector.collections == 1
        assert young_collections() == before + 1
        assert gc.get_threshold() == IDLE_THRESHOLDS
    finally:
        release.set()
        executor.shutdown(wait=True)


async def test_a_request_that_follows_at_once_comes_before_the_collection() -> None:
    """The resolve of a listed code action follows the listing at once: the collection waits for quiet."""
    collector = CollectBetweenRequests()
    collector.enable()
    collector.started("codeAction")
    make_cycles(IDLE_THRESHOLDS[0] + 10_000)
    before = young_collections()
    collector.finished("codeAction")
    assert young_collections() == before  # not at once
    await asyncio.sleep(IDLE_DELAY / 4)
    collector.started("resolve")  # within the delay
    await asyncio.sleep(IDLE_DELAY * 3)
    assert young_collections() == before, "collected while the resolve was in flight"
    assert gc.get_threshold()[0] == BUSY_THRESHOLD
    collector.finished("resolve")
    await asyncio.sleep(IDLE_DELAY * 5)
    assert young_collections() == before + 1
    assert gc.get_threshold() == IDLE_THRESHOLDS


def test_the_end_of_an_analysis_collects_what_is_due_in_its_worker() -> None:
    collector = CollectBetweenRequests()
    collector.enable()
    collector.started("diagnostic")
    make_cycles(AFTER_ANALYSIS + 10_000)
    before = young_collections()
    worker = threading.Thread(target=collector.after_analysis)  # as Documents runs it, in a worker
    worker.start()
    worker.join()
    assert worker.ident is not None and _BY_THREAD[worker.ident] == 1
    assert gc.get_count()[0] < 100
    assert gc.get_threshold()[0] == BUSY_THRESHOLD  # still in flight: the busy threshold stays
    make_cycles(1_000)
    collector.after_analysis()  # nothing due
    collector.finished("diagnostic")
    assert young_collections() == before
    assert gc.get_threshold() == IDLE_THRESHOLDS


def test_disabled_the_end_of_an_analysis_collects_nothing() -> None:
    collector = CollectBetweenRequests()
    gc.set_threshold(100_000, 10, 10)
    make_cycles(AFTER_ANALYSIS + 10_000)
    before = young_collections()
    collector.after_analysis()
    assert young_collections() == before


class _Writer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        pass


async def test_the_server_counts_its_requests() -> None:
    """The real server's protocol: a request in flight defers the collection until it is answered."""
    server = create_server()
    server.collector.enable()
    writer = _Writer()
    server.protocol.set_writer(writer)
    try:
        server.collector.started("held")  # as if another request were in flight
        make_cycles(IDLE_THRESHOLDS[0] + 10_000)
        before = young_collections()
        transport.dispatch(server.protocol, {"jsonrpc": "2.0", "id": 1, "method": "shutdown", "params": None})
        assert b'"id": 1' in writer.data
        assert young_collections() == before, "collected while a request was in flight"
        assert server.collector.busy
        server.collector.finished("held")
        await asyncio.sleep(IDLE_DELAY * 5)  # on the event loop: once nothing was in flight for IDLE_DELAY
        assert young_collections() == before + 1
        # A request the transport answers itself (unknown method) leaves nothing counted.
        transport.dispatch(server.protocol, {"jsonrpc": "2.0", "id": 2, "method": "recode/unknown"})
        assert b'"id": 2' in writer.data
        assert not server.collector.busy
    finally:
        server.executor.shutdown(wait=False)
