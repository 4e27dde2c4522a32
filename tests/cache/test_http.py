"""The JWKS cache against a real HTTP issuer on 127.0.0.1 that counts its hits.

Single-flight under 1000 concurrent coroutines and 32 threads, rotation, the unknown-kid rate
limit under 10 000 junk tokens, refresh ahead of expiry, and cancellation of the fetching waiter.
"""

from __future__ import annotations

import gc
import json
import secrets
import threading
import time
import warnings
from collections.abc import Iterator

import anyio
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import (
    BlockingCallError,
    CacheSettings,
    JWKSCache,
    JWTAuthMiddleware,
    JWTVerifier,
    UnknownKeyError,
    b64,
)
from jwt_middleware.events import CacheEvent, FetchStarted, FetchSucceeded, UnknownKeyRejected
from jwt_middleware.testing import Fault, LocalIssuer


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        yield issuer


def junk_kid_token(valid: str) -> str:
    """A token naming a random key id; its signature is irrelevant: no key will ever be found."""
    _, payload, signature = valid.split(".")
    header = b64.encode(json.dumps({"alg": "ES256", "kid": secrets.token_hex(8)}).encode())
    return f"{header}.{payload}.{signature}"


class TestSingleFlight:
    @pytest.mark.anyio
    async def test_a_thousand_cold_async_verifications_fetch_once(self, issuer: LocalIssuer) -> None:
        verifier = JWTVerifier(issuer=issuer.issuer, audience="api")  # discovery, then JWKS
        tokens = [issuer.mint(sub=f"user-{index}") for index in range(50)]
        subjects: list[str | None] = []

        async def verify(index: int) -> None:
            claims = await verifier.verify(tokens[index % len(tokens)])
            subjects.append(claims.subject)

        async with anyio.create_task_group() as group:
            for index in range(1000):
                group.start_soon(verify, index)
        assert len(subjects) == 1000
        assert issuer.discovery_requests == 1
        assert issuer.jwks_requests == 1
        await verifier.aclose()

    def test_thirty_two_cold_threads_fetch_once(self, issuer: LocalIssuer) -> None:
        verifier = issuer.verifier()
        tokens = [issuer.mint(sub=f"user-{index}") for index in range(32)]
        barrier = threading.Barrier(32)
        results: list[str | None] = []
        errors: list[BaseException] = []

        def work(index: int) -> None:
            barrier.wait()
            try:
                for _ in range(20):
                    results.append(verifier.verify_sync(tokens[index]).subject)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(index,)) for index in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert errors == []
        assert sorted(set(results)) == sorted(f"user-{index}" for index in range(32))
        assert issuer.jwks_requests == 1

    @pytest.mark.anyio
    async def test_a_cancelled_fetching_waiter_does_not_cancel_the_fetch(self, issuer: LocalIssuer) -> None:
        cache = JWKSCache(issuer.jwks_url)
        verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
        token = issuer.mint()
        issuer.server.set_fault(issuer.jwks_path, Fault.delay(0.5))
        verified: list[str | None] = []

        async def first() -> None:
            with anyio.move_on_after(0.1):  # this request gives up while it owns the fetch
                await verifier.verify(token)

        async def other() -> None:
            await anyio.sleep(0.02)
            verified.append((await verifier.verify(token)).subject)

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            for _ in range(10):
                group.start_soon(other)
        issuer.server.set_fault(issuer.jwks_path, None)
        assert len(verified) == 10
        assert issuer.jwks_requests == 1
        await cache.aclose()

    @pytest.mark.anyio
    async def test_sync_verification_refuses_to_block_a_running_loop(self, issuer: LocalIssuer) -> None:
        verifier = issuer.verifier()
        with pytest.raises(BlockingCallError):
            verifier.verify_sync(issuer.mint())
        # Once keys are cached, the sync path never blocks and is fine anywhere.
        await verifier.verify(issuer.mint())
        assert verifier.verify_sync(issuer.mint()).subject is not None


class TestRotation:
    @pytest.mark.anyio
    async def test_new_kid_verifies_after_exactly_one_refresh_under_load(self, issuer: LocalIssuer) -> None:
        verifier = issuer.verifier()
        old_token = issuer.mint(sub="before")
        assert (await verifier.verify(old_token)).subject == "before"
        assert issuer.jwks_requests == 1

        issuer.rotate()
        new_tokens = [issuer.mint(sub=f"after-{index}") for index in range(20)]
        results: list[str | None] = []

        async def verify(index: int) -> None:
            results.append((await verifier.verify(new_tokens[index % 20])).subject)

        async with anyio.create_task_group() as group:
            for index in range(1000):
                group.start_soon(verify, index)
        assert len(results) == 1000
        assert issuer.jwks_requests == 2
        assert (await verifier.verify(old_token)).subject == "before"  # still published
        await verifier.aclose()

    def test_removed_keys_stop_verifying_after_the_refresh_that_drops_them(self, issuer: LocalIssuer) -> None:
        verifier = issuer.verifier()
        old_key = issuer.current_key
        old_token = issuer.mint(sub="old")
        assert verifier.verify_sync(old_token).subject == "old"  # now also in the token cache
        issuer.rotate(keep_old=False)
        # The unknown kid of a new token makes the cache refetch; the old key is gone after it.
        assert verifier.verify_sync(issuer.mint(sub="new")).subject == "new"
        assert old_key.kid not in {key["kid"] for key in issuer.jwks()["keys"]}
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(old_token)
        assert issuer.jwks_requests == 2


class TestUnknownKidCooldown:
    def test_ten_thousand_unknown_kids_cause_at_most_one_fetch_a_second(self, issuer: LocalIssuer) -> None:
        events: list[CacheEvent] = []
        cache = JWKSCache(issuer.jwks_url, on_event=events.append)
        verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
        valid = issuer.mint()
        assert verifier.verify_sync(valid)
        fetches_before = issuer.jwks_requests
        started = time.monotonic()
        rejected = 0
        for index in range(10_000):
            with pytest.raises(UnknownKeyError):
                verifier.verify_sync(junk_kid_token(valid))
            rejected += 1
            if index % 500 == 0:
                assert verifier.verify_sync(issuer.mint(sub=f"live-{index}")).subject == f"live-{index}"
        elapsed = time.monotonic() - started
        fetched = issuer.jwks_requests - fetches_before
        assert rejected == 10_000
        assert 1 <= fetched <= 1 + int(elapsed)
        assert sum(isinstance(event, UnknownKeyRejected) for event in events) >= 10_000 - fetched

    @pytest.mark.anyio
    async def test_concurrent_unknown_kids_also_fetch_at_most_once(self, issuer: LocalIssuer) -> None:
        verifier = issuer.verifier()
        valid = issuer.mint()
        await verifier.verify(valid)
        outcomes: list[str] = []

        async def attempt() -> None:
            try:
                await verifier.verify(junk_kid_token(valid))
            except UnknownKeyError:
                outcomes.append("rejected")

        async with anyio.create_task_group() as group:
            for _ in range(1000):
                group.start_soon(attempt)
        assert outcomes == ["rejected"] * 1000
        assert issuer.jwks_requests <= 2
        await verifier.aclose()

    def test_the_cooldown_is_configurable(self, issuer: LocalIssuer) -> None:
        verifier = issuer.verifier(cache_settings=CacheSettings(unknown_kid_cooldown=0))
        valid = issuer.mint()
        verifier.verify_sync(valid)
        for _ in range(3):
            with pytest.raises(UnknownKeyError):
                verifier.verify_sync(junk_kid_token(valid))
        assert issuer.jwks_requests == 4


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


class TestFreshness:
    def test_refresh_happens_in_the_background_before_expiry(self, issuer: LocalIssuer) -> None:
        clock = FakeClock()
        events: list[CacheEvent] = []
        issuer.cache_control = "max-age=600"
        cache = JWKSCache(issuer.jwks_url, clock=clock, on_event=events.append)
        verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache, token_cache_size=None)
        token = issuer.mint()
        verifier.verify_sync(token)
        assert cache.fetch_count == 1
        clock.now += 600 * 0.8 - 1  # not yet in the refresh-ahead window
        verifier.verify_sync(token)
        assert cache.fetch_count == 1

        clock.now += 2  # inside the window, well before expiry at 600 s
        issuer.server.set_fault(issuer.jwks_path, Fault.delay(0.5))
        verifier.verify_sync(token)  # served at once from the cached keys...
        assert cache.fetch_count == 1  # ...while the refresh is still in flight
        wait_until(lambda: cache.fetch_count == 2)
        issuer.server.set_fault(issuer.jwks_path, None)
        assert issuer.jwks_requests == 2
        reasons = [event.reason for event in events if isinstance(event, FetchStarted)]
        assert reasons == ["cold", "refresh"]
        succeeded = [event for event in events if isinstance(event, FetchSucceeded)]
        assert succeeded[-1].ttl == pytest.approx(600)

    def test_provider_max_age_is_bounded(self, issuer: LocalIssuer) -> None:
        events: list[CacheEvent] = []
        issuer.cache_control = "public, max-age=5"
        cache = JWKSCache(issuer.jwks_url, on_event=events.append)
        JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache).verify_sync(issuer.mint())
        assert [event.ttl for event in events if isinstance(event, FetchSucceeded)] == [pytest.approx(300.0)]

    def test_hydrate_loads_keys_ahead_of_the_first_request(self, issuer: LocalIssuer) -> None:
        verifier = issuer.verifier()
        verifier.hydrate_sync()
        assert issuer.jwks_requests == 1
        verifier.verify_sync(issuer.mint())
        assert issuer.jwks_requests == 1


@pytest.mark.usefixtures("test_client_loop")
def test_a_test_client_with_a_new_loop_per_request_shares_one_cache(issuer: LocalIssuer) -> None:
    """Starlette's TestClient without ``with`` runs every request on a fresh event loop."""

    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.identity)

    verifier = issuer.verifier()
    app = Starlette(routes=[Route("/me", me)], middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)])
    client = TestClient(app)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        for index in range(5):
            token = issuer.mint(sub=f"user-{index}")
            assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).text == f"user-{index}"
        issuer.rotate()
        assert client.get("/me", headers={"Authorization": f"Bearer {issuer.mint(sub='r')}"}).text == "r"
        gc.collect()
    assert issuer.jwks_requests == 2
