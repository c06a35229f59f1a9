"""The sandbox's simulated clock: a discrete-event scheduler.

Everything in the sandbox that takes time (backup and copy jobs, event delivery,
Lambda retries, recovery point expiry) schedules a callback at a simulated time.
`run_until` advances the clock, running callbacks in time order; a callback may
schedule more. Wall time plays no part, so a 35-day retention is tested in
milliseconds and every run is repeatable.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
from typing import Callable

UTC = datetime.timezone.utc


class Clock:
    def __init__(self, start: datetime.datetime | None = None):
        self._now = start or datetime.datetime(2026, 1, 5, 2, 0, 0, tzinfo=UTC)
        self._queue: list[tuple[datetime.datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()  # ties run in the order they were scheduled

    def now(self) -> datetime.datetime:
        return self._now

    def schedule(self, delay_seconds: float, callback: Callable[[], None]) -> None:
        """Run `callback` `delay_seconds` from now (0: after what is already due now)."""
        at = self._now + datetime.timedelta(seconds=delay_seconds)
        heapq.heappush(self._queue, (at, next(self._order), callback))

    def pending(self) -> int:
        return len(self._queue)

    def run_until(self, until: datetime.datetime) -> int:
        """Run every callback due up to `until`, then set the clock to `until`."""
        ran = 0
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
