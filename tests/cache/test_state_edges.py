"""Edges of the JWKS cache's state machine that the mutation run (tests/MUTATION.md) found unguarded.

Explicit timestamps, no I/O. Every clock starts far from zero on purpose: a rule that subtracts a
timestamp where it should add one looks right at ``now == 0``.
"""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import ConfigurationError, JWKError
from jwt_middleware.jwks_state import MAX_TRACKED_UNKNOWN_KIDS, Action, CacheSettings, JWKSState
from jwt_middleware.testing import SigningKey

ES256 = ALGORITHMS["ES256"]
T0 = 1_000_000.0
SETTINGS = CacheSettings(
    min_ttl=10, max_ttl=1000, default_ttl=100, refresh_ahead=0.2, max_stale=500, retry_initial=4, retry_max=64
)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256", kid="k0")


def _jwks(key: SigningKey) -> dict[str, Any]:
    return {"keys": [key.public_jwk()]}


def _loaded(key: SigningKey, settings: CacheSettings = SETTINGS) -> JWKSState:
    state = JWKSState(settings)
    decision = state.decide("k0", ES256, T0, after_fetch=False)
    state.fetch_succeeded(_jwks(key), None, T0, decision.flight)
    return state


@pytest.mark.parametrize(
    "options",
    [
        {"min_ttl": 60, "max_ttl": 60},
        {"max_stale": 0},
        {"unknown_kid_cooldown": 0},
        {"max_response_bytes": 1024},
        {"max_keys": 1},
    ],
)
def test_settings_at_their_limits_are_accepted(options: dict[str, Any]) -> None:
    CacheSettings(**options)


@pytest.mark.parametrize("options", [{"max_response_bytes": 1023}, {"max_keys": 0}, {"max_stale": -1}])
def test_settings_past_their_limits_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CacheSettings(**options)


def test_keys_are_reported_dropped_once_exactly_when_they_outlive_max_stale(key: SigningKey) -> None:
    assert JWKSState(SETTINGS).keys_dropped_now(T0) is None  # nothing held, nothing dropped
    state = _loaded(key)
    dead = T0 + 100 + 500  # fresh_until + max_stale
    assert state.keys_dropped_now(T0 + 50) is None
    assert state.keys_dropped_now(dead - 1) is None  # stale but still served
    assert state.serving_stale(dead - 1)
    assert state.keys_dropped_now(dead) == 600.0  # its age
    assert state.keys is None
    assert state.keys_dropped_now(dead + 1) is None
    assert not state.serving_stale(dead + 1)


def test_serving_stale_is_false_without_keys() -> None:
    assert not JWKSState(SETTINGS).serving_stale(T0)


def test_an_unknown_kid_during_a_backoff_is_told_how_long_it_lasts(key: SigningKey) -> None:
    state = _loaded(key)
    decision = state.decide("new", ES256, T0 + 1, after_fetch=False)
    assert decision.action is Action.FETCH
    state.fetch_failed(T0 + 1, decision.flight)  # backoff: 4 s
    refused = state.decide("other", ES256, T0 + 2, after_fetch=False)
    assert (refused.action, refused.cooldown_remaining) == (Action.REJECT, 3.0)
    # At the very end of the backoff the provider may be asked again (the unknown-kid interval,
    # one second, has long passed).
    assert state.next_attempt_at == T0 + 5
    again = state.decide("other", ES256, T0 + 5, after_fetch=False)
    assert again.action is Action.FETCH


def test_an_unknown_kid_inside_the_interval_is_told_how_long_it_lasts(key: SigningKey) -> None:
    state = _loaded(key)
    first = state.decide("new", ES256, T0 + 1, after_fetch=False)
    state.fetch_succeeded(_jwks(key), None, T0 + 1, first.flight)
    state.decide("new", ES256, T0 + 1, after_fetch=True)  # the refresh did not bring it
    refused = state.decide("other", ES256, T0 + 1.5, after_fetch=False)
    assert refused.action is Action.REJECT
    assert refused.cooldown_remaining == pytest.approx(SETTINGS.unknown_kid_interval - 0.5)


def test_a_kid_that_the_first_refresh_misses_waits_for_its_retry(key: SigningKey) -> None:
    state = _loaded(key)
    assert state.flight == 1
    fetch = state.decide("new", ES256, T0 + 1, after_fetch=False)
    state.fetch_succeeded(_jwks(key), None, T0 + 1, fetch.flight)
    state.decide("new", ES256, T0 + 1, after_fetch=True)
    misses, retry_at, _ = state.unknown_kids["new"]
    assert misses == 1
    assert retry_at == T0 + 1 + SETTINGS.unknown_kid_retry_delay(1)


def test_the_oldest_unknown_kid_is_forgotten_first(key: SigningKey) -> None:
    state = _loaded(key)
    for index in range(MAX_TRACKED_UNKNOWN_KIDS + 1):
        state.decide(f"kid-{index}", ES256, T0 + 1, after_fetch=True)
    assert len(state.unknown_kids) == MAX_TRACKED_UNKNOWN_KIDS
    assert "kid-0" not in state.unknown_kids
    assert f"kid-{MAX_TRACKED_UNKNOWN_KIDS}" in state.unknown_kids


@pytest.mark.parametrize("kind", ["unknown kid", "background refresh", "hydrate"])
def test_every_kind_of_flight_that_never_lands_is_abandoned(key: SigningKey, kind: str) -> None:
    state = _loaded(key)
    if kind == "unknown kid":
        started, flight = T0 + 1, state.decide("new", ES256, T0 + 1, after_fetch=False).flight
    elif kind == "background refresh":
        started = T0 + 90  # past refresh_at (T0 + 80)
        decision = state.decide("k0", ES256, started, after_fetch=False)
        assert decision.action is Action.USE
        assert decision.refresh_in_background
        flight = decision.flight
    else:
        started = T0 + 1
        claimed = state.claim_hydrate(started)
        assert claimed is not None
        flight = claimed
        assert state.claim_hydrate(started) is None  # one flight at a time
    assert flight == state.flight
    assert state.fetching
    assert not state.abandon_stuck_flight(started + state.flight_time_limit)
    assert state.abandon_stuck_flight(started + state.flight_time_limit + 0.1)
    assert not state.fetching


def test_a_late_report_from_an_abandoned_flight_leaves_the_current_one_alone(key: SigningKey) -> None:
    state = _loaded(key)
    old = state.decide("new", ES256, T0 + 1, after_fetch=False).flight
    assert state.abandon_stuck_flight(T0 + 1 + state.flight_time_limit + 1)
    retry = state.next_attempt_at
    current = state.decide("k0", ES256, retry + 80, after_fetch=False)  # a due background refresh
    assert current.refresh_in_background
    with pytest.raises(JWKError):
        state.fetch_succeeded(b"[", None, retry + 81, old)  # not even a JWKS, and late
    assert state.fetching
    with pytest.raises(JWKError):
        state.fetch_succeeded({"keys": []}, None, retry + 81, old)  # no usable key, and late
    assert state.fetching  # the current flight still owns the fetch
    assert state.fetch_failed(retry + 82, old) == max(0.0, state.next_attempt_at - (retry + 82))
    assert state.fetching


def test_a_kid_missed_by_the_very_first_fetch_counts_its_miss(key: SigningKey) -> None:
    state = _loaded(key)  # the cold fetch was flight 1
    state.decide("new", ES256, T0, after_fetch=True)  # a request for "new" waited for it
    misses, retry_at, flight = state.unknown_kids["new"]
    assert (misses, flight) == (1, 1)
    assert retry_at == T0 + SETTINGS.unknown_kid_retry_delay(1)


def test_a_forgotten_flight_is_not_a_failure(key: SigningKey) -> None:
    state = _loaded(key)
    state.decide("new", ES256, T0 + 1, after_fetch=False)
    assert state.fetching
    state.forget_flight()
    assert not state.fetching
    assert (state.failures, state.next_attempt_at) == (0, float("-inf"))
