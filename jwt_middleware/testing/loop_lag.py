"""``LoopLagProbe``: how long the event loop was held, measured from inside it.

A coroutine that sleeps for a millisecond should wake a millisecond later; when it wakes later,
something held the loop (a blocking call, a long stretch of CPU work, a burst of callbacks run
back to back). The probe records that lateness for every tick, so a test can assert that no piece
of work held the loop longer than a bound and a benchmark can report the longest block.

It runs on any event loop anyio supports (asyncio, uvloop, trio).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Final, Self

import anyio
import anyio.abc

__all__ = ["LoopLagProbe"]

#: Lateness samples kept for percentiles; the longest block is tracked whatever the count.
_MAX_SAMPLES: Final = 100_000


class LoopLagProbe:
    """``async with LoopLagProbe() as probe: ...``, then read ``probe.longest`` (seconds).

    ``interval`` is how long each tick sleeps. Lateness below it is ordinary scheduling noise;
    ``longest`` is the worst single block observed while the probe ran. ``longest_busy`` is the
    CPU time the loop's thread spent during that worst tick instead: the part of a block that was
    work on the loop, not the operating system running another process (on a loaded machine the
    better figure for a test to assert on).
    """

    def __init__(self, interval: float = 0.001) -> None:
        if not interval > 0:
            raise ValueError("interval must be a positive number of seconds")
        self.interval = interval
        self.longest = 0.0
        self.longest_busy = 0.0
        self.ticks = 0
        self.samples: list[float] = []
        self._group: anyio.abc.TaskGroup | None = None

    def percentile(self, fraction: float) -> float:
        """The lateness below which ``fraction`` of the ticks woke (0.99 for the p99)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    async def _tick(self) -> None:
        while True:
            before, busy_before = time.perf_counter(), time.thread_time()
            await anyio.sleep(self.interval)
            late = max(0.0, time.perf_counter() - before - self.interval)
            self.ticks += 1
            self.longest = max(self.longest, late)
            self.longest_busy = max(self.longest_busy, time.thread_time() - busy_before)
            if len(self.samples) < _MAX_SAMPLES:
                self.samples.append(late)

    async def __aenter__(self) -> Self:
        group = anyio.create_task_group()
        await group.__aenter__()
        group.start_soon(self._tick)
        self._group = group
        await anyio.lowlevel.checkpoint()  # let the first tick start before the measured work
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        group, self._group = self._group, None
        assert group is not None
        group.cancel_scope.cancel()
        return await group.__aexit__(exc_type, exc, traceback)

    def __repr__(self) -> str:
        return (
            f"LoopLagProbe(longest={self.longest * 1000:.1f} ms, "
            f"busy={self.longest_busy * 1000:.1f} ms, ticks={self.ticks})"
        )
