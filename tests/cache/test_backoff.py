"""Unknown ``kid``s during a fetch backoff: refused without touching the provider.

Written against public behaviour only (a ``JWKSCache`` on a loopback issuer, an injected clock,
the provider's own request counter), so that it holds whatever shape the cache's state machine
takes. The cooldown is set to zero here: the backoff after a failed fetch must be enough on its
own to keep junk ``kid``s from hammering a provider that is already failing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jwt_middleware import CacheSettings, JWKSCache, JWTVerifier, UnknownKeyError
from jwt_middleware.events import CacheEvent, FetchFailed, FetchStarted
from jwt_middleware.testing import Fault, LocalIssuer

#: A long backoff and no cooldown: only the backoff stands between junk kids and the provider.
SETTINGS = CacheSettings(unknown_kid_cooldown=0, retry_initial=30, retry_max=60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        yield issuer


def _setup(issuer: LocalIssuer) -> tuple[JWTVerifier, Clock, list[CacheEvent]]:
    clock = Clock()
    events: list[CacheEvent] = []
    cache = JWKSCache(issuer.jwks_url, settings=SETTINGS, clock=clock, on_event=events.append)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_cache=cache)
    return verifier, clock, events


def _unknown_kid_token(issuer: LocalIssuer, kid: str) -> str:
    # A key the issuer signs with but the cache has never seen: its kid is unknown to the cache.
    issuer.add_key(kid=kid)
    return issuer.mint(kid=kid)


def test_unknown_kids_are_refused_without_fetching_while_a_fetch_backs_off(issuer: LocalIssuer) -> None:
    verifier, clock, events = _setup(issuer)
    assert verifier.verify_sync(issuer.mint()).subject is not None
    assert issuer.jwks_requests == 1

    issuer.server.set_fault(issuer.jwks_path, Fault.status(503))
    first = _unknown_kid_token(issuer, "new-1")
    clock.now += 1
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(first)  # allowed to refetch once: the provider fails
    assert issuer.jwks_requests == 2
    assert [type(event) for event in events].count(FetchFailed) == 1

    # Inside the 30 s backoff, every further unknown kid is refused with no request at all.
    for index in range(20):
        clock.now += 1
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(_unknown_kid_token(issuer, f"junk-{index}"))
    assert issuer.jwks_requests == 2
    assert [type(event) for event in events].count(FetchStarted) == 2
    # The known key keeps working meanwhile.
    assert verifier.verify_sync(issuer.mint(kid=issuer.current_key.kid)).subject is not None


@pytest.mark.anyio
async def test_the_async_path_respects_the_backoff_too(issuer: LocalIssuer) -> None:
    verifier, clock, _ = _setup(issuer)
    await verifier.verify(issuer.mint())
    issuer.server.set_fault(issuer.jwks_path, Fault.status(503))
    clock.now += 1
    with pytest.raises(UnknownKeyError):
        await verifier.verify(_unknown_kid_token(issuer, "new-1"))
    assert issuer.jwks_requests == 2
    for index in range(5):
        clock.now += 5
        with pytest.raises(UnknownKeyError):
            await verifier.verify(_unknown_kid_token(issuer, f"junk-{index}"))
    assert issuer.jwks_requests == 2
    await verifier.aclose()


def test_once_the_backoff_is_over_an_unknown_kid_may_fetch_again(issuer: LocalIssuer) -> None:
    verifier, clock, _ = _setup(issuer)
    verifier.verify_sync(issuer.mint())
    issuer.server.set_fault(issuer.jwks_path, Fault.status(503))
    clock.now += 1
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(_unknown_kid_token(issuer, "new-1"))
    issuer.server.set_fault(issuer.jwks_path, None)
    clock.now += 31  # past the 30 s backoff
    assert verifier.verify_sync(issuer.mint(kid="new-1")).subject is not None
    assert issuer.jwks_requests == 3
