"""``IntrospectionAuthenticator`` against the local issuer's RFC 7662 endpoint, through real adapters.

Opaque tokens come from the issuer's token endpoint (``opaque_access_tokens``) or ``mint_opaque``;
the authenticator is plugged into ``JWTAuthMiddleware`` and ``WSGIJWTMiddleware`` like any other,
so what is tested is what an app sees: statuses, challenges, ``Retry-After``, route guards.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from jwt_middleware import JWTAuthMiddleware, WSGIJWTMiddleware, reasons, require_scopes
from jwt_middleware.errors import BlockingCallError, InvalidTokenError, JWTMiddlewareError
from jwt_middleware.oauth import IntrospectionAuthenticator, IntrospectionUnavailableError
from jwt_middleware.testing import Fault, LocalIssuer, LoopbackServer, SigningKey
from jwt_middleware.testing.server import Response
from tests.oauth.conftest import AUDIENCE, CLIENT_ID, CLIENT_SECRET, RESOURCE_ID, RESOURCE_SECRET

pytestmark = pytest.mark.anyio

TIMEOUT = 1.0
SLACK = 1.5


def introspection(issuer: LocalIssuer, **options: Any) -> IntrospectionAuthenticator:
    options.setdefault("client_id", RESOURCE_ID)
    options.setdefault("client_secret", RESOURCE_SECRET)
    options.setdefault("audience", AUDIENCE)
    options.setdefault("timeout", TIMEOUT)
    return IntrospectionAuthenticator(issuer.introspection_endpoint, issuer.issuer, **options)


@require_scopes("orders/read")
async def orders(request: StarletteRequest) -> JSONResponse:
    claims = request.scope["jwt_middleware.claims"]
    return JSONResponse(
        {"sub": claims.subject, "client_id": claims.client_id, "scopes": sorted(claims.scopes)}
    )


def app(authenticator: IntrospectionAuthenticator) -> Starlette:
    return Starlette(
        routes=[Route("/orders", orders)],
        middleware=[Middleware(JWTAuthMiddleware, authenticator=authenticator)],
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- accepted and refused -------------------------------------------------------------------------------


def test_an_opaque_token_from_the_token_endpoint_is_accepted(issuer: LocalIssuer) -> None:
    issuer.opaque_access_tokens = True
    answer = httpx2.post(
        issuer.token_endpoint,
        data={"grant_type": "client_credentials", "scope": "orders/read"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    token = answer.json()["access_token"]
    assert "." not in token
    response = TestClient(app(introspection(issuer))).get("/orders", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"sub": CLIENT_ID, "client_id": CLIENT_ID, "scopes": ["orders/read"]}


def test_route_guards_and_challenges_work_unchanged(issuer: LocalIssuer) -> None:
    client = TestClient(app(introspection(issuer)))
    narrow = issuer.mint_opaque(scope="orders/list")
    refused = client.get("/orders", headers=bearer(narrow))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    missing = client.get("/orders")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ({"expires_in": -5}, "The token is not active"),
        ({"aud": "billing"}, "The token's audience is not accepted"),
        ({"iss": "https://someone-else.example"}, "The token's issuer is not accepted"),
        ({"sub": ""}, "The token's identity claims are malformed"),
    ],
)
def test_refusals_are_401s(issuer: LocalIssuer, claims: dict[str, Any], description: str) -> None:
    expires_in = claims.pop("expires_in", 300)
    token = issuer.mint_opaque(scope="orders/read", expires_in=expires_in, **claims)
    response = TestClient(app(introspection(issuer))).get("/orders", headers=bearer(token))
    assert response.status_code == 401
    assert f'error_description="{description}"' in response.headers["www-authenticate"]


def test_a_token_revoked_at_the_provider(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, cache_ttl=0.3)
    token = issuer.mint_opaque(scope="orders/read")
    assert auth.introspect_sync(token).subject
    issuer.revoke(token)
    assert auth.introspect_sync(token).subject  # cached: at most cache_ttl
    time.sleep(0.35)
    with pytest.raises(InvalidTokenError) as raised:
        auth.introspect_sync(token)
    assert raised.value.code == reasons.TOKEN_INACTIVE


def test_introspection_finds_its_endpoint_by_discovery(issuer: LocalIssuer) -> None:
    auth = IntrospectionAuthenticator(
        issuer=issuer.issuer, client_id=RESOURCE_ID, client_secret=RESOURCE_SECRET, audience=AUDIENCE
    )
    assert auth.introspect_sync(issuer.mint_opaque()).subject == "user-123"
    assert auth.endpoint.url == issuer.introspection_endpoint


def test_private_key_jwt_at_the_introspection_endpoint(issuer: LocalIssuer) -> None:
    key = SigningKey.generate("ES256")
    issuer.register_client("gateway", jwks={"keys": [key.public_jwk()]})
    auth = introspection(
        issuer,
        client_id="gateway",
        client_secret=None,
        private_key=key.private_key,
        auth_method="private_key_jwt",
    )
    assert auth.introspect_sync(issuer.mint_opaque(sub="bob"))["sub"] == "bob"


def test_the_wsgi_path(issuer: LocalIssuer) -> None:
    def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        claims = environ["jwt_middleware.claims"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"sub": claims.subject}).encode()]

    client = Client(WSGIJWTMiddleware(wsgi_app, authenticator=introspection(issuer)))
    accepted = client.get("/", headers=bearer(issuer.mint_opaque(sub="carol")))
    assert accepted.status_code == 200
    assert accepted.json == {"sub": "carol"}
    refused = client.get("/", headers=bearer(issuer.mint_opaque(expires_in=-1)))
    assert refused.status_code == 401


async def test_the_sync_path_refuses_to_block_a_running_loop(issuer: LocalIssuer) -> None:
    auth = introspection(issuer)
    token = issuer.mint_opaque()
    with pytest.raises(BlockingCallError):
        auth.introspect_sync(token)
    assert (await auth.introspect(token)).subject  # the call it started serves the async path


# -- composed with a JWT verifier -----------------------------------------------------------------------


def test_jwts_verify_locally_and_the_rest_is_introspected(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, jwt_verifier=issuer.verifier())
    client = TestClient(app(auth))
    jwt = issuer.mint(sub="dave", scope="orders/read")
    assert client.get("/orders", headers=bearer(jwt)).json()["sub"] == "dave"
    assert auth.calls == 0
    assert issuer.introspection_requests == 0
    forged = issuer.mint_bad_signature(scope="orders/read")
    assert client.get("/orders", headers=bearer(forged)).status_code == 401
    assert issuer.introspection_requests == 0  # a JWT that fails locally is refused, not asked about
    assert client.get("/orders", headers=bearer(issuer.mint_opaque(scope="orders/read"))).status_code == 200
    assert auth.calls == 1


def test_without_a_jwt_verifier_a_jwt_is_introspected_too(issuer: LocalIssuer) -> None:
    token = httpx2.post(
        issuer.token_endpoint,
        data={"grant_type": "client_credentials", "scope": "orders/read"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    ).json()["access_token"]
    auth = introspection(issuer)
    assert auth.introspect_sync(token).client_id == CLIENT_ID
    assert auth.calls == 1


# -- the cache ------------------------------------------------------------------------------------------


def test_positive_answers_are_cached_until_cache_ttl(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, cache_ttl=0.5)
    token = issuer.mint_opaque()
    first = auth.introspect_sync(token)
    assert auth.introspect_sync(token) is first
    assert auth.calls == 1
    time.sleep(0.55)
    auth.introspect_sync(token)
    assert auth.calls == 2
    assert issuer.introspection_requests == 2


def test_positive_answers_end_with_the_token(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, cache_ttl=60)
    token = issuer.mint_opaque(expires_in=1)
    auth.introspect_sync(token)
    auth.introspect_sync(token)
    assert auth.calls == 1
    time.sleep(1.1)
    with pytest.raises(JWTMiddlewareError):
        auth.introspect_sync(token)
    assert auth.calls == 2


def test_negative_answers_are_cached_for_negative_cache_ttl(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, negative_cache_ttl=0.3)
    for _ in range(3):
        with pytest.raises(InvalidTokenError):
            auth.introspect_sync("not-a-token-of-theirs")
    assert auth.calls == 1
    time.sleep(0.35)
    with pytest.raises(InvalidTokenError):
        auth.introspect_sync("not-a-token-of-theirs")
    assert auth.calls == 2
    uncached = introspection(issuer, negative_cache_ttl=0)
    for _ in range(2):
        with pytest.raises(InvalidTokenError):
            uncached.introspect_sync("not-a-token-of-theirs")
    assert uncached.calls == 2


def test_the_cache_is_bounded(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, max_cache_entries=5)
    for _ in range(20):
        auth.introspect_sync(issuer.mint_opaque())
    assert len(auth.cache) == 5


# -- concurrency ----------------------------------------------------------------------------------------


async def test_500_concurrent_requests_with_one_token_make_one_call(issuer: LocalIssuer) -> None:
    # What is tested is one call for every waiter, not the deadline: on a loaded 2-core machine 500
    # requests in one loop can hold the flight past the module's 1 s TIMEOUT, turning it into 503s.
    auth = introspection(issuer, timeout=30.0)
    token = issuer.mint_opaque(scope="orders/read")
    transport = httpx2.ASGITransport(app=app(auth))
    with issuer.server.fault("/introspect", Fault.delay(0.3)):
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            answers = await asyncio.gather(
                *(client.get("/orders", headers=bearer(token)) for _ in range(500))
            )
    assert {answer.status_code for answer in answers} == {200}
    assert auth.calls == 1
    assert issuer.introspection_requests == 1


def test_32_threads_with_one_token_make_one_call(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, timeout=30.0)  # as above: one call is tested, not the deadline
    token = issuer.mint_opaque()
    start = threading.Barrier(32)
    subjects: list[str | None] = []

    def call() -> None:
        start.wait()
        subjects.append(auth.introspect_sync(token).subject)

    with issuer.server.fault("/introspect", Fault.delay(0.3)):
        threads = [threading.Thread(target=call) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert subjects == ["user-123"] * 32
    assert auth.calls == 1
    assert issuer.introspection_requests == 1


async def test_distinct_tokens_are_introspected_each_once(issuer: LocalIssuer) -> None:
    auth = introspection(issuer)
    tokens = [issuer.mint_opaque(sub=f"user-{index}") for index in range(20)]
    claims = await asyncio.gather(*(auth.introspect(token) for token in tokens for _ in range(5)))
    assert [item.subject for item in claims] == [f"user-{index}" for index in range(20) for _ in range(5)]
    assert auth.calls == 20


async def test_a_refusal_reaches_every_waiter_as_its_own_exception(issuer: LocalIssuer) -> None:
    auth = introspection(issuer)
    with issuer.server.fault("/introspect", Fault.delay(0.2)):
        results = await asyncio.gather(*(auth.introspect("junk") for _ in range(10)), return_exceptions=True)
    assert all(isinstance(result, InvalidTokenError) for result in results)
    assert len({id(result) for result in results}) == 10
    assert auth.calls == 1


async def test_too_many_calls_at_once_are_shed(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, max_concurrent=2)
    tokens = [issuer.mint_opaque() for _ in range(3)]
    with issuer.server.fault("/introspect", Fault.delay(0.3)):
        results = await asyncio.gather(*(auth.introspect(token) for token in tokens), return_exceptions=True)
    shed = [result for result in results if isinstance(result, IntrospectionUnavailableError)]
    assert len(shed) == 1
    assert shed[0].code == reasons.INTROSPECTION_BUSY
    assert shed[0].retry_after == 1
    assert auth.calls == 2


# -- the provider failing -------------------------------------------------------------------------------


HTML = "<html><body>Service Unavailable</body></html>"
FAULTS = {
    "down": (None, Fault.refuse(), reasons.FETCH_CONNECT),
    "slow": ("/introspect", Fault.delay(10), reasons.FETCH_TIMEOUT),
    "500": ("/introspect", Fault.status(500), reasons.FETCH_HTTP_STATUS),
    "HTML": ("/introspect", Fault.body(HTML, content_type="text/html"), reasons.FETCH_NOT_JSON),
    "401": (
        "/introspect",
        Fault.body('{"error":"invalid_client"}', status=401),
        reasons.INTROSPECTION_REFUSED,
    ),
    "400": (
        "/introspect",
        Fault.body('{"error":"invalid_request"}', status=400),
        reasons.INTROSPECTION_REFUSED,
    ),
    "no active": ("/introspect", Fault.body('{"active":"true","sub":"x"}'), reasons.INTROSPECTION_INVALID),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_failing_provider_is_a_503_never_a_401(issuer: LocalIssuer, name: str) -> None:
    path, fault, code = FAULTS[name]
    auth = introspection(issuer)
    client = TestClient(app(auth))
    with issuer.server.fault(path, fault):
        started = time.monotonic()
        response = client.get("/orders", headers=bearer(issuer.mint_opaque(scope="orders/read")))
        elapsed = time.monotonic() - started
        with pytest.raises(IntrospectionUnavailableError) as raised:
            auth.introspect_sync(issuer.mint_opaque())
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"] == "temporarily_unavailable"
    assert elapsed < TIMEOUT + SLACK
    assert raised.value.code == code


def test_our_own_wrong_credentials_are_a_503(issuer: LocalIssuer) -> None:
    auth = introspection(issuer, client_secret="not-ours")
    with pytest.raises(IntrospectionUnavailableError) as raised:
        auth.introspect_sync(issuer.mint_opaque())
    assert raised.value.code == reasons.INTROSPECTION_REFUSED
    assert raised.value.status_code == 503


def test_after_a_failure_uncached_tokens_get_a_503_at_once_and_cached_ones_pass(issuer: LocalIssuer) -> None:
    auth = introspection(issuer)
    known = issuer.mint_opaque()
    auth.introspect_sync(known)
    with issuer.server.fault("/introspect", Fault.status(500)):
        with pytest.raises(IntrospectionUnavailableError):
            auth.introspect_sync(issuer.mint_opaque())
        asked = issuer.introspection_requests
        started = time.monotonic()
        with pytest.raises(IntrospectionUnavailableError) as raised:
            auth.introspect_sync(issuer.mint_opaque())
        assert time.monotonic() - started < 0.1
        assert issuer.introspection_requests == asked
        assert raised.value.code == reasons.FETCH_HTTP_STATUS
        assert auth.introspect_sync(known).subject  # what is cached keeps being served
    time.sleep(1.05)
    assert auth.introspect_sync(issuer.mint_opaque()).subject


class Answers:
    """An introspection endpoint answering whatever the test sets."""

    def __init__(self) -> None:
        self.server = LoopbackServer()
        self.document: dict[str, Any] = {"active": True}
        self.server.route("/introspect", lambda _request: Response.json(self.document))


@pytest.fixture
def answers() -> Iterator[Answers]:
    endpoint = Answers()
    with endpoint.server:
        yield endpoint


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"active": True, "sub": "a", "token_type": "refresh_token"}, reasons.TOKEN_TYPE_MISMATCH),
        (
            {"active": True, "sub": "a", "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},
            reasons.TOKEN_SENDER_CONSTRAINED,
        ),
        ({"active": True, "sub": "a", "iss": "https://other.example"}, reasons.ISS_MISMATCH),
        ({"active": True, "sub": "a"}, reasons.ISS_MISSING),
    ],
)
def test_answers_are_held_to_the_rules(answers: Answers, document: dict[str, Any], code: str) -> None:
    answers.document = document
    auth = IntrospectionAuthenticator(
        answers.server.url + "/introspect", "https://idp.example", client_id="rs", client_secret="s"
    )
    with pytest.raises(InvalidTokenError) as raised:
        auth.introspect_sync("opaque")
    assert raised.value.code == code


def test_an_answer_is_read_as_claims(answers: Answers) -> None:
    answers.document = {
        "active": True,
        "iss": "https://idp.example",
        "sub": "svc",
        "scope": "a b",
        "username": "Service",
        "token_type": "bearer",
    }
    auth = IntrospectionAuthenticator(
        answers.server.url + "/introspect", "https://idp.example", client_id="rs", client_secret="s"
    )
    claims = auth.introspect_sync("opaque")
    assert claims.scopes == {"a", "b"}
    assert claims.username == "Service"
    assert "active" not in claims
    assert claims.header == {}
