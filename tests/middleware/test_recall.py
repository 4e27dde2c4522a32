"""The middlewares' fast path for repeated Authorization values never outlives a rule.

A recalled header value must be re-judged by the token cache's own rule every time: expiry, the
key's retirement, duplicate headers, excluded paths and custom checks all still apply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from jwt_middleware import JWTAuthMiddleware, JWTVerifier, WSGIJWTMiddleware
from jwt_middleware.testing import LocalIssuer

pytestmark = pytest.mark.usefixtures("test_client_loop")

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def me(request: Request) -> JSONResponse:
    claims = request.scope["jwt_middleware.claims"]
    return JSONResponse({"sub": claims.subject if claims else None, "scopes": list(request.auth.scopes)})


async def mutate(request: Request) -> JSONResponse:
    try:
        request.auth.scopes.append("admin")
    except TypeError:
        return JSONResponse({"mutable": False})
    return JSONResponse({"mutable": True})


def asgi_client(verifier: JWTVerifier, **options: Any) -> TestClient:
    routes = [Route("/me", me), Route("/health", me), Route("/mutate", mutate)]
    return TestClient(
        Starlette(routes=routes, middleware=[Middleware(JWTAuthMiddleware, verifier=verifier, **options)])
    )


def wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    claims = environ["jwt_middleware.claims"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"sub": claims.subject if claims else None}).encode()]


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        yield issuer


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_recalled_token_is_refused_once_it_expires(issuer: LocalIssuer) -> None:
    clock = Clock()
    verifier = issuer.verifier(clock=clock)
    client = asgi_client(verifier)
    wsgi = Client(WSGIJWTMiddleware(wsgi_app, verifier=verifier))
    # The token's times come from the test's clock, not the wall clock: minted from the wall clock,
    # a second lost to a loaded machine between seeding the clock and minting would leave the
    # token still valid at "61 s later".
    issued = int(clock.now)
    token = issuer.mint(sub="alice", iat=issued, exp=issued + 60)
    for _ in range(3):
        assert client.get("/me", headers=bearer(token)).json()["sub"] == "alice"
        assert wsgi.get("/me", headers=bearer(token)).json == {"sub": "alice"}
    clock.now = issued + 61
    assert client.get("/me", headers=bearer(token)).status_code == 401
    assert wsgi.get("/me", headers=bearer(token)).status_code == 401


def test_a_recalled_token_is_refused_once_its_key_is_gone(issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    client = asgi_client(verifier)
    wsgi = Client(WSGIJWTMiddleware(wsgi_app, verifier=verifier))
    old = issuer.mint(sub="old")
    assert client.get("/me", headers=bearer(old)).status_code == 200
    assert wsgi.get("/me", headers=bearer(old)).status_code == 200
    issuer.rotate(keep_old=False)
    # A token with the new kid makes the cache refetch; the refetched set no longer has the old key.
    assert client.get("/me", headers=bearer(issuer.mint(sub="new"))).status_code == 200
    assert client.get("/me", headers=bearer(old)).status_code == 401
    assert wsgi.get("/me", headers=bearer(old)).status_code == 401


def test_duplicate_headers_are_still_refused_for_a_recalled_value(issuer: LocalIssuer) -> None:
    client = asgi_client(issuer.verifier())
    token = issuer.mint()
    assert client.get("/me", headers=bearer(token)).status_code == 200
    doubled = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    assert client.get("/me", headers=doubled).status_code == 400


def test_excluded_paths_stay_anonymous_for_a_recalled_value(issuer: LocalIssuer) -> None:
    client = asgi_client(issuer.verifier(), exclude_paths=["/health"])
    token = issuer.mint(sub="alice")
    assert client.get("/me", headers=bearer(token)).json()["sub"] == "alice"
    assert client.get("/health", headers=bearer(token)).json() == {"sub": None, "scopes": []}


def test_a_custom_check_runs_for_every_request(issuer: LocalIssuer) -> None:
    calls: list[str] = []

    def check(header: Any, claims: Any, key: Any) -> None:
        calls.append(claims.subject)

    client = asgi_client(issuer.verifier(custom_check=check))
    token = issuer.mint(sub="alice")
    for _ in range(4):
        assert client.get("/me", headers=bearer(token)).status_code == 200
    assert calls == ["alice"] * 4


def test_shared_credentials_cannot_be_changed_by_a_handler(issuer: LocalIssuer) -> None:
    client = asgi_client(issuer.verifier())
    token = issuer.mint(scope="orders:read")
    for _ in range(2):  # first request fills the memo, the second is served from it
        assert client.get("/mutate", headers=bearer(token)).json() == {"mutable": False}
    assert client.get("/me", headers=bearer(token)).json()["scopes"] == ["authenticated", "orders:read"]


def test_repeated_requests_are_not_verified_again(
    issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = issuer.verifier()
    client = asgi_client(verifier)
    token = issuer.mint(sub="alice")
    assert client.get("/me", headers=bearer(token)).status_code == 200

    async def must_not_run(token: str) -> Any:
        raise AssertionError("a recalled Authorization value was verified again")

    monkeypatch.setattr(verifier, "verify", must_not_run)
    for _ in range(3):
        assert client.get("/me", headers=bearer(token)).json()["sub"] == "alice"


def test_the_shared_user_is_read_only(issuer: LocalIssuer) -> None:
    async def tag(request: Request) -> JSONResponse:
        try:
            request.user.tenant = "x"
        except AttributeError:
            request.state.tenant = "x"  # where per-request data belongs
            return JSONResponse({"user_mutable": False, "state": request.state.tenant})
        return JSONResponse({"user_mutable": True})

    app = Starlette(
        routes=[Route("/tag", tag)], middleware=[Middleware(JWTAuthMiddleware, verifier=issuer.verifier())]
    )
    client = TestClient(app)
    token = issuer.mint()
    for _ in range(2):
        assert client.get("/tag", headers=bearer(token)).json() == {"user_mutable": False, "state": "x"}
