"""``RefreshFlights``: one redemption per refresh token for requests on any threads and loops.

The sign-in flow tests show it through a real app; these drive it directly, across threads that
each run an event loop of their own (Flask and Django run the refresh on a private loop per
request thread), which is where waiters must be woken rather than left polling.
"""

from __future__ import annotations

import asyncio
import threading
import time

import anyio
import pytest

from jwt_middleware.signin.session import RefreshFlights

pytestmark = pytest.mark.anyio


class Provider:
    """Counts redemptions; each takes a while, as a token endpoint does."""

    def __init__(self, *, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    async def redeem(self) -> object:
        self.calls += 1
        await anyio.sleep(0.2)
        if self.fail:
            raise RuntimeError("the provider refused")
        return object()


def test_threads_with_loops_of_their_own_share_one_redemption() -> None:
    flights = RefreshFlights(grace=30)
    provider = Provider()
    start = threading.Barrier(12)
    results: list[object] = []
    waited: list[float] = []

    def request() -> None:
        start.wait()
        began = time.monotonic()
        results.append(asyncio.run(flights.run("refresh-token", provider.redeem)))  # type: ignore[arg-type]
        waited.append(time.monotonic() - began)

    threads = [threading.Thread(target=request) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert provider.calls == 1
    assert flights.redeemed == 1
    assert len(results) == 12
    assert len({id(result) for result in results}) == 1
    assert max(waited) < 2.0  # woken when it landed


async def test_a_failure_reaches_the_waiters_and_is_not_remembered() -> None:
    flights = RefreshFlights(grace=30)
    provider = Provider(fail=True)
    results = await asyncio.gather(
        *(flights.run("refresh-token", provider.redeem) for _ in range(5)),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert all(isinstance(result, RuntimeError) for result in results)
    assert provider.calls == 1
    provider.fail = False
    await flights.run("refresh-token", provider.redeem)  # type: ignore[arg-type]
    assert provider.calls == 2


async def test_the_result_is_kept_for_the_grace_period() -> None:
    flights = RefreshFlights(grace=0.3)
    provider = Provider()
    first = await flights.run("refresh-token", provider.redeem)  # type: ignore[arg-type]
    assert await flights.run("refresh-token", provider.redeem) is first  # type: ignore[arg-type]
    await anyio.sleep(0.35)
    assert await flights.run("refresh-token", provider.redeem) is not first  # type: ignore[arg-type]
    assert provider.calls == 2
