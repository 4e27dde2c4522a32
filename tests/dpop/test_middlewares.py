"""DPoP through the ASGI and WSGI middlewares: what a client sees on the wire (RFC 9449 section 7).

The clients are real HTTP clients over the apps (Starlette's test client, httpx2's WSGI transport)
with ``DPoPKey.auth``, the test kit's client side: a fresh proof per request, the nonce retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import JWTAuthMiddleware, JWTVerifier, WSGIJWTMiddleware
from jwt_middleware.dpop import DPoPNonce
from jwt_middleware.testing import DPoPKey
from tests.dpop.conftest import AUDIENCE, ISSUER, TokenFactory
from tests.integrations.support import DPOP_CHALLENGE

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

ALGS = DPOP_CHALLENGE.removeprefix("DPoP ")


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.identity, "bound": "cnf" in request.user.claims})


def asgi_client(verifier: JWTVerifier) -> TestClient:
    app = Starlette(
        routes=[Route("/orders", whoami, methods=["GET", "POST"])],
        middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)],
    )
    return TestClient(app, base_url="https://api.example.com")


def test_a_dpop_request_is_accepted_with_a_fresh_proof_each_time(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(dpop_key)
    with asgi_client(verifier) as client:
        for _ in range(3):
            response = client.post("/orders", auth=dpop_key.auth(token))
            assert response.status_code == 200, response.text
            assert response.json() == {"sub": "alice", "bound": True}
        assert client.get("/orders", headers={"Authorization": f"Bearer {make_token()}"}).status_code == 200


def test_a_replayed_proof_gets_the_dpop_challenge(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(dpop_key)
    headers = dpop_key.headers("GET", "https://api.example.com/orders", token)
    with asgi_client(verifier) as client:
        assert client.get("/orders", headers=headers).status_code == 200
        replayed = client.get("/orders", headers=headers)
    assert replayed.status_code == 401
    assert replayed.headers["www-authenticate"] == (
        'Bearer realm="api", DPoP error="invalid_dpop_proof", '
        f'error_description="The DPoP proof has already been used", {ALGS}'
    )
    assert replayed.json() == {
        "error": "invalid_dpop_proof",
        "error_description": "The DPoP proof has already been used",
    }


def test_a_bound_token_as_bearer_is_refused_with_a_dpop_challenge(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(dpop_key)
    with asgi_client(verifier) as client:
        assert client.get("/orders", auth=dpop_key.auth(token)).status_code == 200  # now cached
        for _ in range(2):  # and never recalled for a Bearer header
            response = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith(
                'Bearer realm="api", DPoP error="invalid_token", '
                'error_description="A DPoP-bound token must be sent with a DPoP proof"'
            )


def test_an_expired_dpop_token_is_challenged_in_the_dpop_scheme(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    token = make_token(dpop_key, exp=1_000_000_000)
    with asgi_client(verifier) as client:
        response = client.get("/orders", auth=dpop_key.auth(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="api", DPoP error="invalid_token", error_description="The token has expired", {ALGS}'
    )


def test_required_mode_challenges_with_dpop_only(
    jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    verifier = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop="required", dpop_algorithms=["ES256"]
    )
    with asgi_client(verifier) as client:
        anonymous = client.get("/orders")
        bearer = client.get("/orders", headers={"Authorization": f"Bearer {make_token()}"})
        assert client.get("/orders", auth=dpop_key.auth(make_token(dpop_key))).status_code == 200
    assert anonymous.headers["www-authenticate"] == 'DPoP algs="ES256"'
    assert bearer.headers["www-authenticate"] == (
        'DPoP error="invalid_token", '
        'error_description="This resource accepts DPoP-bound tokens only", algs="ES256"'
    )


def test_disabled_mode_challenges_with_bearer_only(
    jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop="disabled")
    with asgi_client(verifier) as client:
        response = client.get("/orders", auth=dpop_key.auth(make_token(dpop_key)))
    assert (response.status_code, response.headers["www-authenticate"]) == (401, 'Bearer realm="api"')


def test_server_nonces_through_the_client_retry(
    jwks: dict[str, Any], dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    verifier = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop_nonce=DPoPNonce(secret=b"n" * 32)
    )
    token = make_token(dpop_key)
    with asgi_client(verifier) as client:
        first = client.get(
            "/orders", headers=dpop_key.headers("GET", "https://api.example.com/orders", token)
        )
        assert first.status_code == 401
        assert first.headers["dpop-nonce"]
        assert first.headers["www-authenticate"].startswith('Bearer realm="api", DPoP error="use_dpop_nonce"')
        auth = dpop_key.auth(token)
        responses = [client.get("/orders", auth=auth) for _ in range(3)]
    assert [response.status_code for response in responses] == [200, 200, 200]
    # Only the first request was retried (its 401 is in its history); the nonce was kept.
    assert [len(response.history) for response in responses] == [1, 0, 0]


def _wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    claims = environ["jwt_middleware.claims"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [claims["sub"].encode()]


def test_the_wsgi_middleware_checks_proofs_too(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    app = WSGIJWTMiddleware(_wsgi_app, verifier=verifier)
    token = make_token(dpop_key)
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url="https://api.example.com") as client:
        assert client.get("/orders", auth=dpop_key.auth(token)).text == "alice"
        headers = dpop_key.headers("GET", "https://api.example.com/orders", token)
        assert client.get("/orders", headers=headers).status_code == 200
        replayed = client.get("/orders", headers=headers)
        wrong_url = client.get(
            "/orders", headers=dpop_key.headers("GET", "https://api.example.com/other", token)
        )
    assert replayed.status_code == wrong_url.status_code == 401
    assert 'error="invalid_dpop_proof"' in replayed.headers["www-authenticate"]
    assert 'error_description="The DPoP proof is for another URL"' in wrong_url.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("configuration", "headers", "accepted"),
    [
        ({"dpop_base_url": "https://api.example.com"}, {}, True),
        ({"dpop_base_url": "https://other.example.com"}, {}, False),
        (
            {"dpop_trust_forwarded": True},
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"},
            True,
        ),
        ({}, {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}, False),
    ],
    ids=["base-url", "wrong-base-url", "trusted-forwarded", "forwarded-ignored-by-default"],
)
def test_behind_a_proxy_the_external_url_is_configured(
    configuration: dict[str, Any],
    headers: dict[str, str],
    accepted: bool,
    jwks: dict[str, Any],
    dpop_key: DPoPKey,
    make_token: TokenFactory,
) -> None:
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, **configuration)
    token = make_token(dpop_key)
    app = Starlette(
        routes=[Route("/orders", whoami)], middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)]
    )
    # The app is reached at http://10.0.0.7:8000 (the proxy's side); the client signed the public URL.
    with TestClient(app, base_url="http://10.0.0.7:8000") as client:
        proof = dpop_key.headers("GET", "https://api.example.com/orders", token)
        response = client.get("/orders", headers={**proof, **headers})
    assert (response.status_code == 200) is accepted, response.text


def test_a_dpop_token_without_the_scope_is_challenged_in_its_own_scheme(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    from jwt_middleware import require_scopes

    app = Starlette(
        routes=[Route("/admin", require_scopes("orders:admin")(whoami))],
        middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)],
    )
    with TestClient(app, base_url="https://api.example.com") as client:
        dpop = client.get("/admin", auth=dpop_key.auth(make_token(dpop_key)))
        bearer = client.get("/admin", headers={"Authorization": f"Bearer {make_token()}"})
    assert dpop.status_code == bearer.status_code == 403
    assert dpop.headers["www-authenticate"] == (
        'DPoP error="insufficient_scope", error_description="The token lacks the required scope", '
        f'scope="orders:admin", {ALGS}'
    )
    assert bearer.headers["www-authenticate"].startswith('Bearer realm="api", error="insufficient_scope"')
    assert "DPoP" not in bearer.headers["www-authenticate"]
