"""Garbage collection between requests, not in the middle of one.

The cycle collector runs when enough container objects were allocated since its last run, in
whichever thread allocates the next one. A quick fix allocates thousands (a parse of an
excerpt, the analysis of the fixed statement: scopes, bindings and AST nodes that point at each
other), so every few fixes a young-generation collection fell inside one: 5-8 ms of CPU on a
finding-dense module (most of what the rest of the quick fix costs), and the slowest quick fixes
were these (the same happens to the analysis behind a diagnostics request).

:class:`CollectBetweenRequests` moves that work out of the way:

* at the end of an analysis (in its worker thread, before its diagnostics are answered), a
  collection that is due is run: analyses allocate most, and the code action an editor asks
  for right after the diagnostics no longer inherits it;
* while a request is in flight or a worker runs (an analysis, a fix computed ahead of its
  ``codeAction/resolve``), the collector's first threshold is raised (``BUSY_THRESHOLD``: still
  a bound on what accumulates); once none has been for ``IDLE_DELAY`` (20 ms: long enough
  for a request that follows at once, such as the resolve of a listed action, to come first),
  what is due is collected and the usual thresholds come back.

The collector's own rules decide what is due (:func:`collect_due`: the same thresholds and
counts), so as much is collected as before, only at other moments. Nothing here relies on the
collector for timely cleanup.

Only the server process turns this on (``recode-lsp``, :func:`recode_lsp.server.main.main`); a
server created in a test leaves the interpreter's collector as it is.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: The collector's thresholds while nothing is in flight (a young collection per 20,000 net
#: allocations: the analyses of open documents are large, see :func:`.main._tune_runtime`).
IDLE_THRESHOLDS = (20_000, 20, 50)
#: Young objects above which the end of an analysis collects (:meth:`CollectBetweenRequests.after_analysis`):
#: the idle threshold, so that a collection that is due is not left to the quick fix that follows.
AFTER_ANALYSIS = IDLE_THRESHOLDS[0]
#: Seconds with nothing in flight before the collection that is due runs: a request that follows at
#: once (``codeAction/resolve`` right after the listing, a code action right after diagnostics)
#: comes first, and the collection waits for the next quiet moment.
IDLE_DELAY = 0.02
#: The first threshold while a request or a worker's job is in flight: three times the idle one
#: (a quick fix or the analysis of an edit stays under it; a young collection costs about 0.3-0.5
#: µs per object, so what is left for between requests stays under about 30 ms).
BUSY_THRESHOLD = 60_000


class CollectBetweenRequests:
    """Counts requests and workers' jobs in flight; collects garbage when none is left.

    ``started``/``finished`` are called on the event loop's thread (a request's id, or any
    other key); jobs of :class:`TrackedExecutor` report from their worker thread through the
    loop. Inactive until :meth:`enable`: then it owns the collector's thresholds.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._requests: set[object] = set()
        self._jobs = 0
        self._lock = threading.Lock()
        self._quiet: asyncio.TimerHandle | None = None
        #: Collections run by this object (between requests, or at the end of an analysis).
        self.collections = 0

    def enable(self) -> None:
        self.enabled = True
        gc.set_threshold(*IDLE_THRESHOLDS)

    @property
    def busy(self) -> bool:
        return bool(self._requests) or self._jobs > 0

    def started(self, key: object) -> None:
        was_busy = self.busy
        self._requests.add(key)
        if not was_busy:
            self._set_busy()

    def finished(self, key: object) -> None:
        if key not in self._requests:
            return
        self._requests.discard(key)
        self._settle()

    def job_started(self) -> Callable[[], None]:
        """A worker's job is submitted; the returned function (thread-safe) says it is done."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not submitted from the event loop: not counted
            return _nothing
        with self._lock:
            was_busy = self.busy
            self._jobs += 1
        if not was_busy:
            self._set_busy()

        def done() -> None:
            with self._lock:
                self._jobs -= 1
                idle = not self._jobs
            if idle:
                try:
                    loop.call_soon_threadsafe(self._settle)
                except RuntimeError:  # the loop is closed: the server is stopping
                    pass

        return done

    def after_analysis(self) -> None:
        """At the end of an analysis, in its worker thread: collect what is due now.

        An analysis allocates most of what the collector counts, and a code action usually
        follows its diagnostics at once, before the server is ever idle: a collection that is
        due (the young generation past the idle threshold) would otherwise fall in it.
        """
        if self.enabled and gc.get_count()[0] > AFTER_ANALYSIS:
            collect_due()
            self.collections += 1

    def _set_busy(self) -> None:
        if self._quiet is not None:
            self._quiet.cancel()
            self._quiet = None
        if self.enabled:
            gc.set_threshold(BUSY_THRESHOLD, *IDLE_THRESHOLDS[1:])

    def _settle(self) -> None:
        """Nothing is in flight: collect once that has lasted ``IDLE_DELAY`` (at once without an event loop)."""
        if self.busy or not self.enabled:
            return
        if self._quiet is not None:
            self._quiet.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._quiet = None
            self._collect_if_idle()
            return
        self._quiet = loop.call_later(IDLE_DELAY, self._collect_if_idle)

    def _collect_if_idle(self) -> None:
        self._quiet = None
        if self.busy or not self.enabled:
            return
        if gc.get_count()[0] > IDLE_THRESHOLDS[0]:
            collect_due()
            self.collections += 1
        gc.set_threshold(*IDLE_THRESHOLDS)


def collect_due() -> None:
    """Run the collection that is due now, as the collector itself would choose it.

    The collector picks the generation (the oldest whose count passed its threshold, and a
    full collection only when enough objects were added since the last one, a rule whose
    counts are not visible from Python) when an allocation finds the first count over its
    threshold: with that threshold at 1, the next allocation is that moment.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(1, *thresholds[1:])
    try:
        # A new instance is allocated, never taken from a free list (as small lists and dicts
        # may be), so the collector looks at its counts: it runs here.
        _Trigger()
    finally:
        gc.set_threshold(*thresholds)


class _Trigger:
    """An object whose allocation is the collector's moment (see :func:`collect_due`)."""


def _nothing() -> None:
    pass


class TrackedExecutor(ThreadPoolExecutor):
    """A thread pool whose jobs count as work in flight for :class:`CollectBetweenRequests`."""

    def __init__(self, collector: CollectBetweenRequests, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._collector = collector

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done = self._collector.job_started()
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            done()
            raise
        future.add_done_callback(lambda _: done())
        return future
