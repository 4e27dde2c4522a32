"""A settable clock for the cache and bounded waits for what its worker threads do."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio


class FakeClock:
    """The cache's clock, moved by the test: expiry and backoff without sleeping."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


async def wait_until_async(condition: Callable[[], object], timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110 - the condition is set by another thread
            await anyio.sleep(0.01)
