"""The sandbox's simulated clock: a discrete-event scheduler.

Everything in the sandbox that takes time (backup and copy jobs, event delivery,
Lambda retries, recovery point expiry) schedules a callback at a simulated time.
`run_until` advances the clock, running callbacks in time order; a callback may
schedule more. Wall time plays no part, so a 35-day retention is tested in
milliseconds and every run is repeatable.

Spans: a callback that itself takes simulated time (a Lambda invocation making
AWS calls, each with a latency, and sleeping between retries) runs inside
`span()`. While it runs, `now()` is the span's own cursor, moved on by
`spend(seconds)`; what it schedules is relative to that cursor. The callback
still runs at once in real time, so another callback due earlier than the
span's end may run after it (in real order) and see its effects: the sandbox
accepts that small anachronism, and keeps rate limits per simulated second so
their outcome does not depend on that order.
"""

from __future__ import annotations

import contextlib
import datetime
import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

UTC = datetime.UTC


@dataclass
class Span:
    start: datetime.datetime
    end: datetime.datetime | None = None

    @property
    def seconds(self) -> float:
        return ((self.end or self.start) - self.start).total_seconds()


class Clock:
    def __init__(self, start: datetime.datetime | None = None):
        self._now = start or datetime.datetime(2026, 1, 5, 2, 0, 0, tzinfo=UTC)
        self._queue: list[tuple[datetime.datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()  # ties run in the order they were scheduled
        self._cursor: datetime.datetime | None = None  # inside a span: its own time
        # Server mode (serve.py): requests arrive on threads while a thread runs the clock;
        # both then hold this lock (the one the Backup emulation holds, so there is one order).
        self.lock: contextlib.AbstractContextManager = contextlib.nullcontext()

    def now(self) -> datetime.datetime:
        return self._cursor or self._now

    def schedule(self, delay_seconds: float, callback: Callable[[], None]) -> None:
        """Run `callback` `delay_seconds` from now (0: after what is already due now)."""
        with self.lock:
            at = self.now() + datetime.timedelta(seconds=delay_seconds)
            heapq.heappush(self._queue, (at, next(self._order), callback))

    @contextlib.contextmanager
    def span(self) -> Iterator[Span]:
        """Time taken by the work inside: `spend()` moves `now()` on; yields the span."""
        if self._cursor is not None:
            raise RuntimeError("spans do not nest")
        span = Span(self._now)
        self._cursor = self._now
        try:
            yield span
        finally:
            span.end = self._cursor
            self._cursor = None

    def spend(self, seconds: float) -> bool:
        """Inside a span, take `seconds` of simulated time; False (nothing done) outside one."""
        if self._cursor is None:
            return False
        self._cursor += datetime.timedelta(seconds=max(0.0, seconds))
        return True

    def run_until(self, until: datetime.datetime) -> int:
        """Run every callback due up to `until`, then set the clock to `until`."""
        ran = 0
        with self.lock:
            while self._queue and self._queue[0][0] <= until:
                at, _, callback = heapq.heappop(self._queue)
                self._now = max(self._now, at)
                callback()
                ran += 1
            self._now = max(self._now, until)
        return ran

    def advance(self, seconds: float) -> int:
        return self.run_until(self._now + datetime.timedelta(seconds=seconds))

    def run_until_idle(self, limit_seconds: float = 30 * 86400) -> int:
        """Run until nothing is scheduled (bounded, so a loop of retries cannot hang)."""
        horizon = self._now + datetime.timedelta(seconds=limit_seconds)
        ran = 0
        while self._queue and self._queue[0][0] <= horizon:
            ran += self.run_until(self._queue[0][0])
        return ran
