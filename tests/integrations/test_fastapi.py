"""FastAPI: the reference app and ``JWTBearer``, through Starlette's ``TestClient``, against a real issuer.

No ``from __future__ import annotations``: the routes built inside tests name local dependencies in
their annotations, which FastAPI can only resolve when they are real objects.
"""

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Security
from fastapi.testclient import TestClient
from starlette.middleware import Middleware

from integrations.fastapi_app import create_app
from jwt_middleware import Claims, JWTAuthMiddleware, JWTVerifier
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.integrations.fastapi import JWTBearer, JWTHTTPException, jwt_exception_handler
from jwt_middleware.testing import Fault, LocalIssuer
from tests.integrations.support import bearer, challenge

REQUIRED = "Authentication is required"
MISSING_SCOPE = "The token lacks the required scope"


@pytest.fixture
def verifier(jwt_session_issuer: LocalIssuer) -> Iterator[JWTVerifier]:
    verifier = jwt_session_issuer.verifier()
    yield verifier
    verifier.close()


@pytest.fixture
def client(verifier: JWTVerifier) -> TestClient:
    return TestClient(create_app(verifier))


def _alice(issuer: LocalIssuer, scope: str = "orders:read profile") -> dict[str, str]:
    return bearer(issuer.mint(sub="alice", scope=scope))


# -- the reference app ---------------------------------------------------------------------------


def test_public_route_needs_no_token(client: TestClient) -> None:
    response = client.get("/public")
    assert response.status_code == 200
    assert response.json() == {"message": "anyone may read this"}


def test_valid_token_gives_the_handler_its_claims(
    client: TestClient, jwt_session_issuer: LocalIssuer
) -> None:
    response = client.get("/me", headers=_alice(jwt_session_issuer))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "scopes": ["orders:read", "profile"]}


def test_missing_token_gets_a_bare_challenge(client: TestClient) -> None:
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge("api")
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"detail": REQUIRED}


@pytest.mark.parametrize("kind", ["expired", "bad_signature", "wrong_issuer", "garbage"])
def test_bad_token_is_invalid_token(client: TestClient, jwt_session_issuer: LocalIssuer, kind: str) -> None:
    token, description = {
        "expired": (jwt_session_issuer.mint_expired(), "The token has expired"),
        "bad_signature": (jwt_session_issuer.mint_bad_signature(), "The token's signature is invalid"),
        "wrong_issuer": (jwt_session_issuer.mint_wrong_issuer(), "The token's issuer is not accepted"),
        "garbage": ("not-a-jwt", "The token is not a compact JWS"),
    }[kind]
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge("api", "invalid_token", description)
    assert response.json() == {"detail": description}


def test_malformed_authorization_header_is_invalid_request(client: TestClient) -> None:
    response = client.get("/me", headers={"Authorization": "Bearer two tokens"})
    assert response.status_code == 400
    assert response.headers["www-authenticate"] == challenge(
        "api", "invalid_request", "The Authorization header is malformed"
    )


def test_missing_scope_is_403_insufficient_scope(client: TestClient, jwt_session_issuer: LocalIssuer) -> None:
    response = client.get("/orders", headers=_alice(jwt_session_issuer, scope="profile"))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == challenge(
        "api", "insufficient_scope", MISSING_SCOPE, scope="orders:read"
    )
    assert response.json() == {"detail": MISSING_SCOPE}


def test_scoped_route_serves_a_token_with_the_scope(
    client: TestClient, jwt_session_issuer: LocalIssuer
) -> None:
    response = client.get("/orders", headers=_alice(jwt_session_issuer))
    assert response.status_code == 200
    assert response.json()["owner"] == "alice"
    assert [order["id"] for order in response.json()["orders"]] == ["1001", "1002"]


def test_sync_handler(client: TestClient, jwt_session_issuer: LocalIssuer) -> None:
    ok = client.get("/orders/1001", headers=_alice(jwt_session_issuer))
    assert ok.status_code == 200
    assert ok.json() == {"owner": "alice", "order": {"id": "1001", "item": "keyboard", "quantity": 1}}
    denied = client.get("/orders/1001", headers=_alice(jwt_session_issuer, scope="profile"))
    assert denied.status_code == 403
    assert 'scope="orders:read"' in denied.headers["www-authenticate"]
    anonymous = client.get("/orders/1001")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == challenge("api")


def test_optional_route(client: TestClient, jwt_session_issuer: LocalIssuer) -> None:
    assert client.get("/hello").json() == {"message": "hello, anonymous"}
    assert client.get("/hello", headers=_alice(jwt_session_issuer)).json() == {"message": "hello, alice"}
    # Optional never means "ignore a bad token".
    invalid = client.get("/hello", headers=bearer(jwt_session_issuer.mint_expired()))
    assert invalid.status_code == 401
    assert invalid.headers["www-authenticate"] == challenge("api", "invalid_token", "The token has expired")


def test_keys_are_fetched_once_across_many_requests(jwt_issuer: LocalIssuer) -> None:
    client = TestClient(create_app(jwt_issuer.verifier()))
    for number in range(10):
        headers = bearer(jwt_issuer.mint(sub=f"user-{number}", scope="orders:read"))
        assert client.get("/me", headers=headers).status_code == 200
        assert client.get("/orders", headers=headers).status_code == 200
        assert client.get("/orders/1002", headers=headers).status_code == 200
    assert jwt_issuer.jwks_requests == 1


def test_keys_unavailable_is_503_with_retry_after(jwt_issuer: LocalIssuer) -> None:
    jwt_issuer.server.set_fault(jwt_issuer.jwks_path, Fault.status(500))
    client = TestClient(create_app(jwt_issuer.verifier()))
    response = client.get("/me", headers=bearer(jwt_issuer.mint()))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "www-authenticate" not in response.headers
    assert response.json() == {"detail": "The signing keys are temporarily unavailable"}


# -- OpenAPI --------------------------------------------------------------------------------------


def test_openapi_declares_bearer_jwt_and_per_operation_scopes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"] == {
        "JWTBearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT access token from the orders identity provider",
        }
    }
    paths = document["paths"]
    assert paths["/orders"]["get"]["security"] == [{"JWTBearer": ["orders:read"]}]
    assert paths["/orders/{order_id}"]["get"]["security"] == [{"JWTBearer": ["orders:read"]}]
    assert paths["/me"]["get"]["security"] == [{"JWTBearer": []}]
    assert paths["/hello"]["get"]["security"] == [{"JWTBearer": []}]
    assert "security" not in paths["/public"]["get"]


def test_openapi_uses_openid_connect_when_keys_come_from_discovery(jwt_session_issuer: LocalIssuer) -> None:
    verifier = jwt_session_issuer.verifier(jwks_url=None)
    document = TestClient(create_app(verifier)).get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["JWTBearer"] == {
        "type": "openIdConnect",
        "openIdConnectUrl": jwt_session_issuer.discovery_url,
        "description": "A JWT access token from the orders identity provider",
    }


def test_openapi_scheme_can_be_forced(verifier: JWTVerifier, jwt_session_issuer: LocalIssuer) -> None:
    given = JWTBearer(verifier, openid_connect_url="https://idp.example/.well-known/openid-configuration")
    forced = JWTBearer(verifier, openid_connect_url=True, scheme_name="oidc")
    plain = JWTBearer(jwt_session_issuer.verifier(jwks_url=None), openid_connect_url=False)
    dump = {
        name: auth.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name, auth in (("given", given), ("forced", forced), ("plain", plain))
    }
    assert dump == {
        "given": {
            "type": "openIdConnect",
            "openIdConnectUrl": "https://idp.example/.well-known/openid-configuration",
        },
        "forced": {"type": "openIdConnect", "openIdConnectUrl": jwt_session_issuer.discovery_url},
        "plain": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    assert forced.scheme_name == "oidc"


# -- JWTBearer beyond the reference app ------------------------------------------------------------


def _app_with(auth: JWTBearer, **options: Any) -> FastAPI:
    app = FastAPI(**options)

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(auth)]) -> dict[str, Any]:
        return {"sub": claims.subject}

    @app.get("/orders")
    async def orders(claims: Annotated[Claims, Security(auth, scopes=["orders:read"])]) -> dict[str, Any]:
        return {"sub": claims.subject}

    return app


def test_claims_attached_by_the_middleware_are_reused(
    verifier: JWTVerifier, jwt_session_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    verify = verifier.verify

    async def counting(token: str) -> Claims:
        calls.append(token)
        return await verify(token)

    monkeypatch.setattr(verifier, "verify", counting)
    app = _app_with(JWTBearer(verifier), middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)])
    client = TestClient(app)
    response = client.get("/orders", headers=_alice(jwt_session_issuer))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice"}
    assert len(calls) == 1  # by the middleware only
    # The middleware answers before the dependency runs, with its own body.
    refused = client.get("/me")
    assert refused.status_code == 401
    assert refused.json() == {"error_description": REQUIRED}


def test_optional_middleware_leaves_the_dependency_in_charge(
    verifier: JWTVerifier, jwt_session_issuer: LocalIssuer
) -> None:
    middleware = [Middleware(JWTAuthMiddleware, verifier=verifier, optional=True)]
    client = TestClient(_app_with(JWTBearer(verifier), middleware=middleware))
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge("api")
    assert client.get("/me", headers=_alice(jwt_session_issuer)).json() == {"sub": "alice"}


def test_dependency_verifies_tokens_on_paths_the_middleware_skips(
    verifier: JWTVerifier, jwt_session_issuer: LocalIssuer
) -> None:
    middleware = [Middleware(JWTAuthMiddleware, verifier=verifier, exclude_paths=["/me"])]
    client = TestClient(_app_with(JWTBearer(verifier), middleware=middleware))
    assert client.get("/me", headers=_alice(jwt_session_issuer)).json() == {"sub": "alice"}
    assert client.get("/me").status_code == 401


def test_realm_and_rfc6750_body_through_the_exception_handler(
    verifier: JWTVerifier, jwt_session_issuer: LocalIssuer
) -> None:
    app = _app_with(JWTBearer(verifier, realm="orders"))
    app.add_exception_handler(JWTHTTPException, jwt_exception_handler)
    client = TestClient(app)
    response = client.get("/orders", headers=_alice(jwt_session_issuer, scope="profile"))
    assert response.status_code == 403
    assert response.json() == {"error": "insufficient_scope", "error_description": MISSING_SCOPE}
    assert response.headers["www-authenticate"] == challenge(
        "orders", "insufficient_scope", MISSING_SCOPE, scope="orders:read"
    )


def test_users_can_override_the_error_answer(verifier: JWTVerifier) -> None:
    app = _app_with(JWTBearer(verifier))

    @app.exception_handler(JWTHTTPException)
    async def handler(_request: Any, exc: JWTHTTPException) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"code": exc.error.error or "unauthenticated"}, exc.status_code, exc.headers)

    response = TestClient(app).get("/me", headers=bearer("not-a-jwt"))
    assert response.status_code == 401
    assert response.json() == {"code": "invalid_token"}
    assert response.headers["www-authenticate"].startswith('Bearer realm="api", error="invalid_token"')


def test_annotated_alias(verifier: JWTVerifier, jwt_session_issuer: LocalIssuer) -> None:
    auth = JWTBearer(verifier)
    reader = auth.annotated("orders:read")
    maybe = auth.optional().annotated()
    app = FastAPI()

    @app.get("/orders")
    async def orders(claims: reader) -> dict[str, Any]:  # type: ignore[valid-type]
        return {"sub": claims.subject}  # type: ignore[attr-defined]

    @app.get("/hello")
    async def hello(claims: maybe) -> dict[str, Any]:  # type: ignore[valid-type]
        return {"sub": claims.subject if claims is not None else None}

    client = TestClient(app)
    assert client.get("/orders", headers=_alice(jwt_session_issuer)).json() == {"sub": "alice"}
    assert client.get("/orders", headers=_alice(jwt_session_issuer, scope="x")).status_code == 403
    assert client.get("/hello").json() == {"sub": None}
    security = app.openapi()["paths"]["/orders"]["get"]["security"]
    assert security == [{"JWTBearer": ["orders:read"]}]


def test_optional_scheme_with_scopes_still_needs_a_token(verifier: JWTVerifier) -> None:
    app = _app_with(JWTBearer(verifier, auto_error=False))
    response = TestClient(app).get("/orders")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge("api")


def test_invalid_scope_names_are_refused_at_declaration(verifier: JWTVerifier) -> None:
    with pytest.raises(ConfigurationError):
        JWTBearer(verifier).annotated('bad"scope')


def test_lifespan_loads_keys_at_startup(jwt_issuer: LocalIssuer) -> None:
    app = create_app(jwt_issuer.verifier())
    with TestClient(app):
        assert jwt_issuer.jwks_requests == 1
