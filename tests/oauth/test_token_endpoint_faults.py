"""A token endpoint that is down, slow, refusing or answering nonsense: bounded, clear, no hammering.

Every failure surfaces as ``TokenEndpointError`` (under the library's exception root) within the
configured ``timeout``, with a reason code; transient ones are retried inside that time, refusals
are not; and after a failure callers fail at once until the backoff ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx2
import pytest

from jwt_middleware import reasons
from jwt_middleware.errors import JWTMiddlewareError, JWTMiddlewareException
from jwt_middleware.oauth import ClientCredentialsAuth, TokenEndpointError
from jwt_middleware.testing import Fault, LocalIssuer
from tests.oauth.conftest import CLIENT_ID, CLIENT_SECRET, Downstream

pytestmark = pytest.mark.anyio

TIMEOUT = 1.0
#: How far past ``timeout`` a failure may come on a loaded 2-core machine.
SLACK = 1.5
HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def credentials_auth(issuer: LocalIssuer, secret: str = CLIENT_SECRET) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(
        issuer.token_endpoint,
        client_id=CLIENT_ID,
        client_secret=secret,
        scopes=["orders/read"],
        timeout=TIMEOUT,
    )


def failing(call: Callable[[], object]) -> tuple[TokenEndpointError, float]:
    started = time.monotonic()
    with pytest.raises(TokenEndpointError) as raised:
        call()
    return raised.value, time.monotonic() - started


FAULTS = {
    "down": (None, Fault.refuse(), reasons.FETCH_CONNECT, None, 0),
    "slow": ("/token", Fault.delay(10), reasons.FETCH_TIMEOUT, None, 1),
    "trickling": ("/token", Fault.trickle(interval=0.1), reasons.FETCH_TIMEOUT, None, 1),
    "500": ("/token", Fault.status(500), reasons.FETCH_HTTP_STATUS, 500, 3),
    "503 HTML": (
        "/token",
        Fault.body(HTML, status=503, content_type="text/html"),
        reasons.FETCH_HTTP_STATUS,
        503,
        3,
    ),
    "200 HTML": ("/token", Fault.body(HTML, content_type="text/html"), reasons.FETCH_NOT_JSON, 200, 3),
    "huge": ("/token", Fault.huge(1024 * 1024), reasons.FETCH_TOO_LARGE, None, 1),
    "redirect": (
        "/token",
        Fault.redirect("https://elsewhere.example/token"),
        reasons.FETCH_REDIRECT,
        None,
        1,
    ),
    "400": (
        "/token",
        Fault.body('{"error":"invalid_scope","error_description":"nope"}', status=400),
        reasons.TOKEN_ENDPOINT_REFUSED,
        400,
        1,
    ),
    "401 HTML": (
        "/token",
        Fault.body(HTML, status=401, content_type="text/html"),
        reasons.TOKEN_ENDPOINT_REFUSED,
        401,
        1,
    ),
    "no token": ("/token", Fault.body('{"token_type":"Bearer"}'), reasons.TOKEN_ENDPOINT_INVALID, 200, 1),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_faults_are_bounded_and_named(issuer: LocalIssuer, name: str) -> None:
    path, fault, code, status, requests = FAULTS[name]
    auth = credentials_auth(issuer)
    with issuer.server.fault(path, fault):
        error, elapsed = failing(auth.access_token_sync)
    assert elapsed < TIMEOUT + SLACK
    assert error.code == code
    assert error.status == status
    assert isinstance(error, JWTMiddlewareException)
    assert not isinstance(error, JWTMiddlewareError)
    assert error.retry_after >= 1
    # Transient failures are retried within the timeout; refusals and bad answers of a kind that
    # will not change are not. (A slow endpoint uses the whole timeout on its first attempt.)
    assert issuer.server.requests("/token") == requests


def test_a_wrong_secret_is_a_refusal_with_its_oauth_error(issuer: LocalIssuer) -> None:
    error, _ = failing(credentials_auth(issuer, secret="not-the-secret").access_token_sync)
    assert error.code == reasons.TOKEN_ENDPOINT_REFUSED
    assert error.status == 401
    assert error.oauth_error == "invalid_client"
    assert "invalid_client" in str(error)
    assert "HTTP 401" in str(error)


def test_an_invalid_scope_is_reported_without_the_providers_description(issuer: LocalIssuer) -> None:
    with issuer.server.fault(
        "/token", Fault.body('{"error":"invalid_scope","error_description":"secret-ish text"}', status=400)
    ):
        error, _ = failing(credentials_auth(issuer).access_token_sync)
    assert error.oauth_error == "invalid_scope"
    assert "secret-ish" not in str(error)
    assert "secret-ish" not in repr(error)


def test_an_odd_error_code_is_not_repeated(issuer: LocalIssuer) -> None:
    with issuer.server.fault("/token", Fault.body('{"error":"<script>x</script>"}', status=400)):
        error, _ = failing(credentials_auth(issuer).access_token_sync)
    assert error.oauth_error is None
    assert "script" not in str(error)


def test_the_failure_reaches_the_caller_of_the_downstream_call(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer, secret="wrong")
    with httpx2.Client(auth=auth) as client, pytest.raises(TokenEndpointError):
        client.get(api.url)
    assert api.tokens == []  # nothing was sent without a token


def test_after_a_failure_callers_fail_at_once_until_the_backoff_ends(issuer: LocalIssuer) -> None:
    auth = credentials_auth(issuer)
    with issuer.server.fault("/token", Fault.status(500)):
        failing(auth.access_token_sync)
        attempts = issuer.server.requests("/token")
        error, elapsed = failing(auth.access_token_sync)
        assert elapsed < 0.1
        assert issuer.server.requests("/token") == attempts
        assert error.code == reasons.FETCH_HTTP_STATUS
        assert error.retry_after == 1
    time.sleep(1.05)
    assert auth.access_token_sync()
    assert issuer.server.requests("/token") == attempts + 1


async def test_concurrent_callers_share_one_failing_request(issuer: LocalIssuer) -> None:
    auth = credentials_auth(issuer)
    with issuer.server.fault("/token", Fault.delay(10)):
        started = time.monotonic()
        results = await asyncio.gather(*(auth.access_token() for _ in range(200)), return_exceptions=True)
        elapsed = time.monotonic() - started
    assert all(isinstance(result, TokenEndpointError) for result in results)
    assert {result.code for result in results if isinstance(result, TokenEndpointError)} == {
        reasons.FETCH_TIMEOUT
    }
    assert elapsed < TIMEOUT + SLACK
    assert issuer.server.requests("/token") == 1


def test_a_failed_refresh_leaves_the_current_token_in_service(issuer: LocalIssuer) -> None:
    issuer.access_token_lifetime = 4  # usable 2 s, refreshed from 1.6 s
    auth = credentials_auth(issuer)
    token = auth.access_token_sync()
    time.sleep(1.7)
    with issuer.server.fault("/token", Fault.body('{"error":"temporarily_unavailable"}', status=400)):
        assert auth.access_token_sync() == token  # starts the refresh in the background
        deadline = time.monotonic() + 5
        while auth.tokens.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        assert auth.access_token_sync() == token  # the refresh failed: still the same token
