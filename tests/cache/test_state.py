"""The JWKS cache's decisions, driven with explicit timestamps (no I/O, no sleeping)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import ConfigurationError, JWKError, UnsupportedAlgorithmError
from jwt_middleware.jwks_state import MAX_TRACKED_UNKNOWN_KIDS, Action, CacheSettings, JWKSState
from jwt_middleware.testing import SigningKey

ES256 = ALGORITHMS["ES256"]
SETTINGS = CacheSettings(
    min_ttl=10,
    max_ttl=1000,
    default_ttl=100,
    refresh_ahead=0.2,
    max_stale=500,
    unknown_kid_cooldown=10,
    retry_initial=1,
    retry_max=8,
)


@pytest.fixture(scope="module")
def keys() -> list[SigningKey]:
    return [SigningKey.generate("ES256", kid=f"k{index}") for index in range(3)]


def jwks(*signing_keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.public_jwk() for key in signing_keys]}


def loaded(keys: list[SigningKey], now: float = 0.0, max_age: float | None = None) -> JWKSState:
    state = JWKSState(SETTINGS)
    assert state.decide("k0", ES256, now, after_fetch=False).action is Action.FETCH
    state.fetch_succeeded(jwks(keys[0]), max_age, now)
    return state


class TestColdStart:
    def test_first_caller_fetches_and_the_others_wait(self) -> None:
        state = JWKSState(SETTINGS)
        first = state.decide("k0", ES256, 0, after_fetch=False)
        assert (first.action, first.reason) == (Action.FETCH, "cold")
        for _ in range(100):
            assert state.decide("k0", ES256, 0, after_fetch=False).action is Action.WAIT

    def test_after_a_successful_fetch_the_key_is_used(self, keys: list[SigningKey]) -> None:
        state = loaded(keys)
        decision = state.decide("k0", ES256, 1, after_fetch=True)
        assert decision.action is Action.USE
        assert decision.key is not None
        assert decision.key.kid == "k0"

    def test_a_failed_cold_fetch_is_unavailable_then_backs_off(self) -> None:
        state = JWKSState(SETTINGS)
        state.decide("k0", ES256, 0, after_fetch=False)
        assert state.fetch_failed(0) == 1
        assert state.decide("k0", ES256, 0, after_fetch=True).action is Action.UNAVAILABLE
        # Within the backoff nobody fetches: the 503 comes at once.
        assert state.decide("k0", ES256, 0.5, after_fetch=False).action is Action.UNAVAILABLE
        assert state.decide("k0", ES256, 1.0, after_fetch=False).action is Action.FETCH
        assert state.fetch_failed(1.0) == 2
        assert state.decide("k0", ES256, 2.5, after_fetch=False).action is Action.UNAVAILABLE
        assert state.decide("k0", ES256, 3.0, after_fetch=False).action is Action.FETCH

    def test_backoff_is_capped(self) -> None:
        assert [SETTINGS.retry_delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]


class TestUnknownKid:
    def test_a_kid_still_unknown_after_a_refresh_is_retried_on_a_growing_schedule(
        self, keys: list[SigningKey]
    ) -> None:
        state = loaded(keys)
        attempts = []
        moment = 1.0
        while moment < 60:
            decision = state.decide("new", ES256, moment, after_fetch=False)
            if decision.action is Action.FETCH:
                assert decision.reason == "unknown_kid"
                state.fetch_succeeded(jwks(keys[0]), None, moment)
                assert state.decide("new", ES256, moment, after_fetch=True).action is Action.REJECT
                attempts.append(moment)
            else:
                assert decision.action is Action.REJECT
                assert decision.cooldown_remaining > 0
            # Known keys keep working throughout.
            assert state.decide("k0", ES256, moment, after_fetch=False).action is Action.USE
            moment = round(moment + 0.25, 2)
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        # 0.5 s is below the one-a-second floor per cache; then 1, 2, 4, 8 and the 10 s cooldown.
        assert gaps[:6] == [1.0, 1.0, 2.0, 4.0, 8.0, 10.0]
        assert set(gaps[5:]) == {10.0}

    def test_a_refresh_missed_by_many_waiting_requests_counts_once(self, keys: list[SigningKey]) -> None:
        state = loaded(keys)
        assert state.decide("new", ES256, 1, after_fetch=False).action is Action.FETCH
        for _ in range(50):
            assert state.decide("new", ES256, 1, after_fetch=False).action is Action.WAIT
        state.fetch_succeeded(jwks(keys[0]), None, 1.1)
        for _ in range(51):  # the fetching request and the 50 that waited for it
            assert state.decide("new", ES256, 1.1, after_fetch=True).action is Action.REJECT
        # One miss: retried 0.5 s after it, held to 1 s after the last unknown-kid fetch began.
        assert state.decide("new", ES256, 1.9, after_fetch=False).action is Action.REJECT
        assert state.decide("new", ES256, 2.0, after_fetch=False).action is Action.FETCH

    def test_unknown_kid_fetches_are_a_second_apart_whatever_the_kids(self, keys: list[SigningKey]) -> None:
        state = loaded(keys)
        fetches = []
        for step in range(400):  # 10 s, a new random kid every 25 ms
            moment = 1 + step * 0.025
            decision = state.decide(f"junk-{step}", ES256, moment, after_fetch=False)
            if decision.action is Action.FETCH:
                state.fetch_succeeded(jwks(keys[0]), None, moment)
                state.decide(f"junk-{step}", ES256, moment, after_fetch=True)
                fetches.append(moment)
        assert len(fetches) == 10
        assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(fetches))
        assert len(state.unknown_kids) == 10

    def test_a_new_kid_is_not_held_back_by_the_schedule_of_others(self, keys: list[SigningKey]) -> None:
        state = loaded(keys)
        state.decide("junk", ES256, 1, after_fetch=False)
        state.fetch_succeeded(jwks(keys[0]), None, 1)
        state.decide("junk", ES256, 1, after_fetch=True)  # junk: next try at 1.5, then later
        assert state.decide("rotated", ES256, 1.5, after_fetch=False).action is Action.REJECT  # 1 s floor
        decision = state.decide("rotated", ES256, 2, after_fetch=False)
        assert decision.action is Action.FETCH
        state.fetch_succeeded(jwks(keys[0], keys[1]), None, 2)
        assert state.decide("k1", ES256, 2, after_fetch=True).action is Action.USE

    def test_the_unknown_kid_table_is_bounded(self, keys: list[SigningKey]) -> None:
        state = JWKSState(CacheSettings(unknown_kid_cooldown=0))
        state.decide("k0", ES256, 0, after_fetch=False)
        state.fetch_succeeded(jwks(keys[0]), None, 0)
        for index in range(MAX_TRACKED_UNKNOWN_KIDS + 50):
            assert state.decide(f"junk-{index}", ES256, 1, after_fetch=False).action is Action.FETCH
            state.fetch_succeeded(jwks(keys[0]), None, 1)
            state.decide(f"junk-{index}", ES256, 1, after_fetch=True)
        assert len(state.unknown_kids) == MAX_TRACKED_UNKNOWN_KIDS

    def test_a_kid_that_arrives_is_forgotten_by_the_schedule(self, keys: list[SigningKey]) -> None:
        state = loaded(keys)
        state.decide("k1", ES256, 1, after_fetch=False)
        state.fetch_succeeded(jwks(keys[0]), None, 1)
        state.decide("k1", ES256, 1, after_fetch=True)
        assert "k1" in state.unknown_kids
        state.decide("k0", ES256, 85, after_fetch=False)  # background refresh brings k1
        state.fetch_succeeded(jwks(keys[0], keys[1]), None, 85)
        assert "k1" not in state.unknown_kids

    def test_unknown_kid_while_a_fetch_runs_waits_for_it(self, keys: list[SigningKey]) -> None:
        state = loaded(keys)
        assert state.decide("new", ES256, 1, after_fetch=False).action is Action.FETCH
        assert state.decide("new", ES256, 1, after_fetch=False).action is Action.WAIT
        state.fetch_succeeded(jwks(keys[0], keys[1]), None, 1)
        assert state.decide("k1", ES256, 1, after_fetch=True).action is Action.USE

    def test_unknown_kid_during_provider_backoff_is_rejected_without_fetching(
        self, keys: list[SigningKey]
    ) -> None:
        state = loaded(keys)
        state.decide("new", ES256, 1, after_fetch=False)
        state.fetch_failed(1)
        assert state.decide("newer", ES256, 30, after_fetch=False).action is Action.FETCH  # cooldown over
        state.fetch_failed(30)
        assert state.decide("newest", ES256, 30.5, after_fetch=False).action is Action.REJECT

    def test_a_known_kid_used_with_the_wrong_key_type_raises_without_a_fetch(
        self, keys: list[SigningKey]
    ) -> None:
        state = loaded(keys)
        with pytest.raises(UnsupportedAlgorithmError):
            state.decide("k0", ALGORITHMS["RS256"], 1, after_fetch=False)
        assert not state.fetching


class TestFreshness:
    def test_a_fresh_known_key_is_answered_without_a_decision(self, keys: list[SigningKey]) -> None:
        state = loaded(keys, max_age=100)
        assert JWKSState(SETTINGS).fresh_key("k0", ES256, 0) is None  # cold
        key = state.fresh_key("k0", ES256, 79.9)
        assert key is not None
        assert key.kid == "k0"
        assert state.fresh_key("new", ES256, 1) is None  # unknown: decide() handles it
        assert state.fresh_key("k0", ES256, 80) is None  # refresh due: decide() starts it
        assert not state.fetching
        with pytest.raises(UnsupportedAlgorithmError):
            state.fresh_key("k0", ALGORITHMS["RS256"], 1)

    def test_ttl_follows_max_age_within_bounds(self) -> None:
        assert SETTINGS.ttl_for(None) == 100
        assert SETTINGS.ttl_for(50) == 50
        assert SETTINGS.ttl_for(1) == 10
        assert SETTINGS.ttl_for(0) == 10
        assert SETTINGS.ttl_for(10**9) == 1000

    def test_refresh_starts_in_the_background_before_expiry(self, keys: list[SigningKey]) -> None:
        state = loaded(keys, max_age=100)
        assert not state.decide("k0", ES256, 79, after_fetch=False).refresh_in_background
        ahead = state.decide("k0", ES256, 80, after_fetch=False)
        assert ahead.action is Action.USE
        assert ahead.refresh_in_background
        assert ahead.reason == "refresh"
        # Only one background refresh at a time; requests keep being served meanwhile.
        again = state.decide("k0", ES256, 81, after_fetch=False)
        assert again.action is Action.USE
        assert not again.refresh_in_background
        state.fetch_succeeded(jwks(keys[0]), 100, 82)
        assert state.fresh_until == 182

    def test_expired_keys_are_served_while_they_are_refreshed_in_the_background(
        self, keys: list[SigningKey]
    ) -> None:
        state = loaded(keys, max_age=100)
        decision = state.decide("k0", ES256, 100, after_fetch=False)
        assert (decision.action, decision.reason) == (Action.USE, "expired")
        assert decision.refresh_in_background
        assert decision.report_stale
        for moment in (100, 101, 150):  # the refresh is slow: keys keep serving, nobody waits
            again = state.decide("k0", ES256, moment, after_fetch=False)
            assert again.action is Action.USE
            assert not again.refresh_in_background
            assert not again.report_stale

    def test_with_no_refresh_ahead_the_refresh_starts_at_expiry_in_the_background(
        self, keys: list[SigningKey]
    ) -> None:
        state = JWKSState(CacheSettings(min_ttl=10, refresh_ahead=0))
        state.decide("k0", ES256, 0, after_fetch=False)
        state.fetch_succeeded(jwks(keys[0]), 10, 0)
        assert not state.decide("k0", ES256, 9.9, after_fetch=False).refresh_in_background
        at_expiry = state.decide("k0", ES256, 10, after_fetch=False)
        assert at_expiry.action is Action.USE
        assert at_expiry.refresh_in_background

    def test_stale_if_error(self, keys: list[SigningKey]) -> None:
        state = loaded(keys, max_age=100)
        state.decide("k0", ES256, 100, after_fetch=False)
        state.fetch_failed(100)
        served = state.decide("k0", ES256, 100, after_fetch=True)
        assert served.action is Action.USE
        assert served.report_stale
        # Reported once per failure, not per request; retried in the background after backoff.
        quiet = state.decide("k0", ES256, 100.5, after_fetch=False)
        assert quiet.action is Action.USE
        assert not quiet.report_stale
        assert not quiet.refresh_in_background
        retry = state.decide("k0", ES256, 101, after_fetch=False)
        assert retry.action is Action.USE
        assert retry.refresh_in_background

    def test_keys_die_after_max_stale(self, keys: list[SigningKey]) -> None:
        state = loaded(keys, max_age=100)
        key = state.decide("k0", ES256, 1, after_fetch=False).key
        assert key is not None
        state.decide("k0", ES256, 100, after_fetch=False)
        state.fetch_failed(100)
        late = state.decide("k0", ES256, 599, after_fetch=True)
        assert late.action is Action.USE
        assert late.refresh_in_background
        state.fetch_failed(599)
        assert state.keys_dropped_now(600) == 600
        assert state.keys is None
        assert key.retired
        assert state.decide("k0", ES256, 600, after_fetch=False).action is Action.UNAVAILABLE  # backoff
        assert state.decide("k0", ES256, 700, after_fetch=False).action is Action.FETCH


class TestKeyReplacement:
    def test_unchanged_keys_keep_their_objects_and_removed_ones_retire(self, keys: list[SigningKey]) -> None:
        state = JWKSState(SETTINGS)
        state.decide("k0", ES256, 0, after_fetch=False)
        state.fetch_succeeded(jwks(keys[0], keys[1]), None, 0)
        k0 = state.decide("k0", ES256, 1, after_fetch=False).key
        k1 = state.decide("k1", ES256, 1, after_fetch=False).key
        assert k0 is not None
        assert k1 is not None
        state.fetch_succeeded(jwks(keys[0], keys[2]), None, 2)
        assert state.decide("k0", ES256, 3, after_fetch=True).key is k0
        assert not k0.retired
        assert k1.retired
        assert state.decide("k1", ES256, 3, after_fetch=True).action is Action.REJECT

    def test_a_key_replaced_under_the_same_kid_gets_a_new_object(self, keys: list[SigningKey]) -> None:
        state = loaded(keys)
        old = state.decide("k0", ES256, 1, after_fetch=False).key
        impostor = SigningKey.generate("ES256", kid="k0")
        state.fetch_succeeded(jwks(impostor), None, 2)
        new = state.decide("k0", ES256, 3, after_fetch=True).key
        assert new is not None
        assert old is not None
        assert new is not old
        assert old.retired

    @pytest.mark.parametrize(
        "document",
        [{"keys": []}, {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, {"nokeys": 1}, {"keys": "x"}],
    )
    def test_an_unusable_jwks_is_a_failure_that_keeps_the_old_keys(
        self, keys: list[SigningKey], document: dict[str, Any]
    ) -> None:
        state = loaded(keys)
        state.decide("k0", ES256, 85, after_fetch=False)  # background refresh claimed
        with pytest.raises(JWKError):
            state.fetch_succeeded(document, None, 85)
        assert state.failures == 1
        assert not state.fetching
        assert state.decide("k0", ES256, 86, after_fetch=False).action is Action.USE

    def test_too_many_keys_is_refused(self, keys: list[SigningKey]) -> None:
        state = JWKSState(CacheSettings(max_keys=2))
        state.decide("k0", ES256, 0, after_fetch=False)
        with pytest.raises(JWKError):
            state.fetch_succeeded(jwks(*keys), None, 0)


def test_a_flight_that_never_lands_is_abandoned(keys: list[SigningKey]) -> None:
    state = JWKSState(SETTINGS)
    stuck = state.decide("k0", ES256, 0, after_fetch=False).flight
    assert not state.abandon_stuck_flight(state.flight_time_limit)
    assert state.abandon_stuck_flight(state.flight_time_limit + 0.1)
    assert not state.fetching
    assert state.failures == 1
    # Its late report cannot end the flight that replaced it; its keys, genuine, are kept.
    retry = state.decide("k0", ES256, 100, after_fetch=False)
    assert retry.action is Action.FETCH
    state.fetch_failed(101, stuck)
    assert state.fetching
    assert state.failures == 1
    state.fetch_succeeded(jwks(keys[0]), None, 102, stuck)
    assert state.fetching
    assert state.keys is not None
    state.fetch_succeeded(jwks(keys[0]), None, 103, retry.flight)
    assert not state.fetching


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": float("nan")},
        {"min_ttl": 100, "max_ttl": 10},
        {"refresh_ahead": 1},
        {"max_stale": -1},
        {"max_response_bytes": 10},
    ],
)
def test_invalid_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CacheSettings(**options)
