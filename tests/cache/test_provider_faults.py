"""The identity provider misbehaves; the cache must neither fall over nor hang.

For every fault, against a real server on 127.0.0.1:

* cold cache: the keys-unavailable error (503) within the fetch timeout, then at once (no refetch)
  during the retry backoff;
* warm cache: the keys are past their lifetime; requests are served from them at once while the
  refresh meets the fault in the background, and keep verifying with the last good keys after it
  fails (stale-if-error), with the failure reported as an event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import anyio
import pytest

from jwt_middleware import CacheSettings, JWKSCache, JWTVerifier, KeysUnavailableError
from jwt_middleware.events import CacheEvent, FetchFailed, StaleKeysServed
from jwt_middleware.testing import Fault, LocalIssuer, LoopbackServer, SigningKey
from tests.cache.timing import FakeClock, wait_until

TIMEOUT = 0.5
#: Generous: the point is "bounded by the timeout, not by the 30 s the server would take".
BOUND = TIMEOUT + 1.5
SETTINGS = CacheSettings(timeout=TIMEOUT)
#: Keys are held: the request is served from them while the refresh meets the fault.
NO_WAIT = 0.25


@dataclass(frozen=True)
class Case:
    name: str
    #: Builds the fault and the path it applies to (None: the whole server).
    make: Callable[[LocalIssuer, LoopbackServer], tuple[str | None, Fault]]
    #: Whether the fault hits discovery (the verifier then discovers) or the JWKS itself.
    via_discovery: bool = False


def _jwks(fault: Fault) -> Callable[[LocalIssuer, LoopbackServer], tuple[str | None, Fault]]:
    return lambda issuer, other: (issuer.jwks_path, fault)


def _many_keys() -> str:
    key = SigningKey.generate("ES256").public_jwk()
    return json.dumps({"keys": [{**key, "kid": f"k{index}"} for index in range(10_000)]})


CASES = [
    Case("server down", lambda issuer, other: (None, Fault.refuse())),
    Case("HTTP 500", _jwks(Fault.status(500))),
    Case("HTTP 503 with a body", _jwks(Fault.status(503, body="maintenance"))),
    Case("HTTP 404", _jwks(Fault.status(404))),
    Case("HTML error page", _jwks(Fault.body("<html><body>oops</body></html>", content_type="text/html"))),
    Case("truncated JSON", _jwks(Fault.body('{"keys": [{"kty": "EC"'))),
    Case("JWKS as an array", _jwks(Fault.body("[]"))),
    Case("JWKS with no usable keys", _jwks(Fault.body('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'))),
    Case("10 000 keys", _jwks(Fault.body(_many_keys()))),
    Case("10 MB body, chunked", _jwks(Fault.huge(10 * 1024 * 1024))),
    Case("10 MB body, declared length", _jwks(Fault.huge(10 * 1024 * 1024, declare_length=True))),
    Case("headers after 30 s", _jwks(Fault.delay(30))),
    Case("endless chunked body", _jwks(Fault.trickle(b" ", interval=0.05))),
    Case("slow body", _jwks(Fault.trickle(b" ", interval=0.3, total=100))),
    Case(
        "redirect to another host",
        lambda issuer, other: (issuer.jwks_path, Fault.redirect(other.url_for("/jwks"))),
    ),
    Case("redirect to http:// elsewhere", _jwks(Fault.redirect("http://example.invalid/jwks", status=301))),
    Case(
        "discovery names another issuer",
        lambda issuer, other: (
            issuer.discovery_path,
            Fault.body(json.dumps({"issuer": "https://evil.example", "jwks_uri": issuer.jwks_url})),
        ),
        via_discovery=True,
    ),
    Case(
        "discovery points jwks_uri at plain http elsewhere",
        lambda issuer, other: (
            issuer.discovery_path,
            Fault.body(json.dumps({"issuer": issuer.issuer, "jwks_uri": "http://example.invalid/jwks"})),
        ),
        via_discovery=True,
    ),
    Case(
        "discovery returns 500",
        lambda issuer, other: (issuer.discovery_path, Fault.status(500)),
        via_discovery=True,
    ),
]


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        yield issuer


@pytest.fixture
def other_host(issuer: LocalIssuer) -> Iterator[LoopbackServer]:
    """Somewhere a redirect could lead, serving a perfectly valid JWKS: it must never be asked."""
    with LoopbackServer() as server:
        server.serve_json("/jwks", issuer.jwks())
        yield server


def make_cache(issuer: LocalIssuer, case: Case, **options: object) -> JWKSCache:
    if case.via_discovery:
        return JWKSCache.from_issuer(issuer.issuer, settings=SETTINGS, **options)  # type: ignore[arg-type]
    return JWKSCache(issuer.jwks_url, settings=SETTINGS, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_cold_cache_answers_unavailable_within_the_timeout(
    issuer: LocalIssuer, other_host: LoopbackServer, case: Case
) -> None:
    cache = make_cache(issuer, case)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
    token = issuer.mint()
    path, fault = case.make(issuer, other_host)
    with issuer.server.fault(path, fault):
        started = time.monotonic()
        with pytest.raises(KeysUnavailableError) as unavailable:
            verifier.verify_sync(token)
        assert time.monotonic() - started < BOUND
        assert unavailable.value.retry_after >= 1
        attempts = cache.fetch_count
        # During the backoff the answer is immediate and nothing is fetched again.
        with pytest.raises(KeysUnavailableError):
            verifier.verify_sync(token)
        assert cache.fetch_count == attempts
    assert other_host.requests() == 0


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_warm_cache_keeps_serving_the_last_good_keys(
    issuer: LocalIssuer, other_host: LoopbackServer, case: Case
) -> None:
    clock = FakeClock()
    events: list[CacheEvent] = []
    cache = make_cache(issuer, case, clock=clock, on_event=events.append)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache, token_cache_size=None)
    token = issuer.mint()
    verifier.verify_sync(token)
    requests_before = issuer.server.requests()
    clock.now += 301  # keys expired: a refetch is due
    path, fault = case.make(issuer, other_host)
    with issuer.server.fault(path, fault):
        started = time.monotonic()
        assert verifier.verify_sync(token).subject is not None  # at once: the refresh runs behind
        assert time.monotonic() - started < NO_WAIT
        wait_until(lambda: not cache.in_flight, timeout=BOUND)
        for _ in range(20):
            assert verifier.verify_sync(token).subject is not None
    assert other_host.requests() == 0
    if case.via_discovery:
        # The discovered jwks_uri is kept for the life of the cache: a broken discovery document
        # cannot touch a warm cache, whose refresh goes straight to the JWKS.
        assert issuer.discovery_requests == 1
        assert issuer.jwks_requests == 2
        return
    failures = [event for event in events if isinstance(event, FetchFailed)]
    assert failures, "the refresh should have been attempted and failed"
    assert failures[0].serving_stale
    assert any(isinstance(event, StaleKeysServed) for event in events)
    if case.name != "server down":
        assert issuer.server.requests() > requests_before


@pytest.mark.anyio
@pytest.mark.parametrize(
    "case", [case for case in CASES if case.name in {"headers after 30 s", "endless chunked body"}]
)
async def test_async_fetches_are_bounded_too(
    issuer: LocalIssuer, other_host: LoopbackServer, case: Case
) -> None:
    cache = make_cache(issuer, case)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
    token = issuer.mint()
    path, fault = case.make(issuer, other_host)
    with issuer.server.fault(path, fault):
        started = time.monotonic()
        with pytest.raises(KeysUnavailableError):
            await verifier.verify(token)
        assert time.monotonic() - started < BOUND
    await cache.aclose()


def test_stale_keys_expire_after_max_stale(issuer: LocalIssuer) -> None:
    clock = FakeClock()
    cache = JWKSCache(issuer.jwks_url, settings=CacheSettings(timeout=TIMEOUT, max_stale=3600), clock=clock)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache, token_cache_size=None)
    token = issuer.mint()
    verifier.verify_sync(token)
    with issuer.server.fault(issuer.jwks_path, Fault.status(500)):
        clock.now += 300 + 3599
        assert verifier.verify_sync(token)
        clock.now += 2
        with pytest.raises(KeysUnavailableError):
            verifier.verify_sync(token)


def test_recovery_after_an_outage(issuer: LocalIssuer) -> None:
    clock = FakeClock()
    cache = JWKSCache(issuer.jwks_url, settings=SETTINGS, clock=clock)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
    token = issuer.mint()
    with issuer.server.fault(None, Fault.refuse()), pytest.raises(KeysUnavailableError):
        verifier.verify_sync(token)
    clock.now += 1.0  # the first retry delay
    assert verifier.verify_sync(token).subject is not None


def test_nothing_is_left_running_after_a_timed_out_fetch(issuer: LocalIssuer) -> None:
    cache = JWKSCache(issuer.jwks_url, settings=SETTINGS)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
    with issuer.server.fault(issuer.jwks_path, Fault.trickle(b" ", interval=0.05)):
        with pytest.raises(KeysUnavailableError):
            verifier.verify_sync(issuer.mint())
        assert not cache._state.fetching

    async def main() -> None:
        with pytest.raises(KeysUnavailableError):
            await verifier.verify(issuer.mint(sub="again"))

    anyio.run(main)
