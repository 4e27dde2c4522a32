"""The client-credentials token cache's pure state machine, on a clock of the test's own."""

from __future__ import annotations

import math

import pytest

from jwt_middleware.errors import ConfigurationError
from jwt_middleware.oauth.token_state import Action, TokenPolicy, TokenState


def adopt(state: TokenState, now: float, flight: int, *, expires_in: float | None = 300.0) -> None:
    state.adopt("tok", token_type="Bearer", expires_in=expires_in, scope=None, now=now, flight=flight)


def test_a_cold_cache_fetches_once_and_the_others_wait() -> None:
    state = TokenState(TokenPolicy())
    first = state.decide(0.0, after_fetch=False)
    assert first.action is Action.FETCH
    assert first.flight == 1
    assert state.decide(0.0, after_fetch=False).action is Action.WAIT
    assert state.decide(0.1, after_fetch=False).action is Action.WAIT
    adopt(state, 0.5, first.flight)
    used = state.decide(0.6, after_fetch=True)
    assert used.action is Action.USE
    assert used.token is not None
    assert not used.refresh_in_background
    assert state.requests == 1


def test_the_margin_and_the_background_refresh() -> None:
    state = TokenState(TokenPolicy(expiry_margin=30.0, refresh_ahead=0.2))
    adopt(state, 0.0, state.decide(0.0, after_fetch=False).flight, expires_in=300)
    token = state.token
    assert token is not None
    assert token.expires_at == 300
    assert token.usable_until == 270
    assert token.refresh_at == pytest.approx(216)
    assert not state.decide(215.0, after_fetch=False).refresh_in_background
    due = state.decide(216.0, after_fetch=False)
    assert due.action is Action.USE
    assert due.refresh_in_background
    assert due.flight == 2
    # While the refresh is under way, everyone goes on with the current token.
    again = state.decide(269.0, after_fetch=False)
    assert again.action is Action.USE
    assert not again.refresh_in_background
    assert state.decide(270.0, after_fetch=False).action is Action.WAIT


def test_the_margin_never_takes_more_than_half_a_short_lifetime() -> None:
    state = TokenState(TokenPolicy(expiry_margin=30.0))
    adopt(state, 0.0, state.decide(0.0, after_fetch=False).flight, expires_in=10)
    assert state.token is not None
    assert state.token.usable_until == 5


def test_tokens_without_expires_in_and_absurd_ones_are_bounded() -> None:
    state = TokenState(TokenPolicy(default_lifetime=120.0, max_lifetime=3600.0, expiry_margin=0))
    adopt(state, 0.0, state.decide(0.0, after_fetch=False).flight, expires_in=None)
    assert state.token is not None
    assert state.token.expires_at == 120
    adopt(state, 0.0, 0, expires_in=10**9)
    assert state.token.expires_at == 3600
    adopt(state, 0.0, 0, expires_in=-5)
    assert not state.token.usable_at(0.0)


def test_failures_back_off_and_a_usable_token_keeps_serving() -> None:
    state = TokenState(TokenPolicy(retry_initial=1.0, retry_max=4.0))
    flight = state.decide(0.0, after_fetch=False).flight
    assert state.fetch_failed(0.0, flight) == 1.0
    assert state.decide(0.5, after_fetch=False).action is Action.UNAVAILABLE
    assert state.retry_in(0.5) == 0.5
    flight = state.decide(1.0, after_fetch=False).flight
    assert state.fetch_failed(1.0, flight) == 2.0
    flight = state.decide(3.0, after_fetch=False).flight
    assert state.fetch_failed(3.0, flight) == 4.0
    flight = state.decide(7.0, after_fetch=False).flight
    assert state.fetch_failed(7.0, flight) == 4.0  # capped
    flight = state.decide(11.0, after_fetch=False).flight
    adopt(state, 11.0, flight)
    assert state.failures == 0
    assert state.retry_in(11.0) == 0
    # A failed background refresh: the token goes on serving, and no refresh during the backoff.
    refresh = state.decide(250.0, after_fetch=False)
    assert refresh.refresh_in_background
    state.fetch_failed(250.0, refresh.flight)
    during = state.decide(250.5, after_fetch=False)
    assert during.action is Action.USE
    assert not during.refresh_in_background


def test_after_a_flight_there_is_no_second_fetch() -> None:
    state = TokenState(TokenPolicy())
    flight = state.decide(0.0, after_fetch=False).flight
    state.fetch_failed(0.0, flight)
    assert state.decide(0.0, after_fetch=True).action is Action.UNAVAILABLE


def test_a_401_drops_the_token_once_per_reissue_interval() -> None:
    state = TokenState(TokenPolicy(reissue_interval=10.0))
    adopt(state, 0.0, state.decide(0.0, after_fetch=False).flight)
    first = state.token
    assert first is not None
    assert state.invalidate(first, 1.0) is True
    assert state.token is None
    assert state.decide(1.0, after_fetch=False).action is Action.FETCH
    adopt(state, 1.1, state.flight)
    second = state.token
    assert second is not None
    # A second 401 within the interval stands: no new token request for it.
    assert state.invalidate(second, 2.0) is False
    assert state.token is second
    # A caller still holding the first token retries with the newer one, dropping nothing.
    assert state.invalidate(first, 2.0) is True
    assert state.token is second
    assert state.invalidate(second, 11.5) is True
    assert state.token is None


def test_a_late_outcome_of_an_abandoned_flight() -> None:
    state = TokenState(TokenPolicy(timeout=1.0))
    old = state.decide(0.0, after_fetch=False).flight
    assert not state.abandon_stuck_flight(2.9)
    assert state.abandon_stuck_flight(3.1)
    assert state.failures == 1
    assert not state.fetching
    newer = state.decide(5.0, after_fetch=False).flight
    assert newer == old + 1
    state.fetch_failed(5.1, old)  # the old flight reports late: changes nothing
    assert state.fetching
    assert state.failures == 1
    adopt(state, 5.2, old)  # its token is still genuine and newer: kept, the new flight goes on
    assert state.token is not None
    assert state.fetching


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": math.nan},
        {"default_lifetime": -1},
        {"expiry_margin": -1},
        {"refresh_ahead": 1},
        {"refresh_ahead": 1.5},
        {"retry_initial": math.inf},
    ],
)
def test_policy_refuses_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        TokenPolicy(**options)
