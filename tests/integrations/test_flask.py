"""Flask: the reference app and the ``JWTAuth`` extension, through Flask's test client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Blueprint, Flask, g
from flask.testing import FlaskClient

from integrations.flask_app import create_app
from jwt_middleware import Claims, JWTMiddlewareException, JWTVerifier
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.integrations.flask import (
    EXTENSION,
    JWTAuth,
    JWTAuthError,
    UnguardedClaimsError,
    current_claims,
    jwt_required,
    require_scopes,
)
from jwt_middleware.testing import Fault, LocalIssuer
from tests.integrations.support import AUDIENCE, bearer, challenge

REALM = "orders"
REQUIRED = {"error_description": "Authentication is required"}
MISSING_SCOPE = "The token lacks the required scope"


@pytest.fixture
def verifier(jwt_session_issuer: LocalIssuer) -> Iterator[JWTVerifier]:
    verifier = jwt_session_issuer.verifier()
    yield verifier
    verifier.close()


@pytest.fixture
def client(verifier: JWTVerifier) -> FlaskClient:
    return create_app(verifier).test_client()


def _alice(issuer: LocalIssuer, scope: str = "orders:read", **claims: Any) -> dict[str, str]:
    return bearer(issuer.mint({"sub": "alice", "scope": scope}, **claims))


def test_public_route(client: FlaskClient) -> None:
    response = client.get("/public")
    assert response.status_code == 200
    assert response.json == {"message": "anyone may read this"}


def test_valid_token_gives_the_view_its_claims(client: FlaskClient, jwt_session_issuer: LocalIssuer) -> None:
    response = client.get("/me", headers=_alice(jwt_session_issuer, scope="orders:read profile"))
    assert response.status_code == 200
    assert response.json == {"sub": "alice", "scopes": ["orders:read", "profile"]}


def test_missing_token_gets_a_bare_challenge(client: FlaskClient) -> None:
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(REALM)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content_type == "application/json"
    assert response.json == REQUIRED


def test_bad_token_is_invalid_token(client: FlaskClient, jwt_session_issuer: LocalIssuer) -> None:
    response = client.get("/me", headers=bearer(jwt_session_issuer.mint_wrong_issuer()))
    description = "The token's issuer is not accepted"
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge(REALM, "invalid_token", description)
    assert response.json == {"error": "invalid_token", "error_description": description}


def test_missing_scope_is_403_insufficient_scope(
    client: FlaskClient, jwt_session_issuer: LocalIssuer
) -> None:
    response = client.get("/orders", headers=_alice(jwt_session_issuer, scope="profile"))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == challenge(
        REALM, "insufficient_scope", MISSING_SCOPE, scope="orders:read"
    )
    assert response.json == {"error": "insufficient_scope", "error_description": MISSING_SCOPE}


def test_current_claims_and_optional_views(client: FlaskClient, jwt_session_issuer: LocalIssuer) -> None:
    assert client.get("/hello").json == {"message": "hello, anonymous"}
    assert client.get("/hello", headers=_alice(jwt_session_issuer)).json == {"message": "hello, alice"}
    invalid = client.get("/hello", headers=bearer(jwt_session_issuer.mint_expired()))
    assert invalid.status_code == 401
    assert invalid.headers["WWW-Authenticate"] == challenge(REALM, "invalid_token", "The token has expired")


def test_async_view(client: FlaskClient, jwt_session_issuer: LocalIssuer) -> None:
    response = client.get("/orders/async", headers=_alice(jwt_session_issuer))
    assert response.status_code == 200
    assert response.json == {"owner": "alice", "count": 2}
    assert client.get("/orders/async", headers=_alice(jwt_session_issuer, scope="x")).status_code == 403


def test_require_groups(client: FlaskClient, jwt_session_issuer: LocalIssuer) -> None:
    assert client.get("/audit", headers=_alice(jwt_session_issuer, groups=["auditors"])).json == {
        "groups": ["auditors"]
    }
    denied = client.get("/audit", headers=_alice(jwt_session_issuer, groups=["staff"]))
    assert denied.status_code == 403
    assert "scope=" not in denied.headers["WWW-Authenticate"]


def test_blueprint_protection(client: FlaskClient, jwt_session_issuer: LocalIssuer) -> None:
    anonymous = client.get("/admin/stats")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == challenge(REALM)
    reader = client.get("/admin/stats", headers=_alice(jwt_session_issuer))
    assert reader.status_code == 403
    assert reader.headers["WWW-Authenticate"] == challenge(
        REALM, "insufficient_scope", MISSING_SCOPE, scope="orders:admin"
    )
    admin = client.get("/admin/stats", headers=_alice(jwt_session_issuer, scope="orders:admin"))
    assert admin.status_code == 200
    assert admin.json == {"orders": 2, "by": "alice"}
    # Views outside the blueprint are untouched by its protection.
    assert client.get("/public").status_code == 200


def test_keys_are_fetched_once_across_many_requests(jwt_issuer: LocalIssuer) -> None:
    client = create_app(jwt_issuer.verifier()).test_client()
    for number in range(10):
        headers = bearer(jwt_issuer.mint(sub=f"user-{number}", scope="orders:read orders:admin"))
        assert client.get("/me", headers=headers).status_code == 200
        assert client.get("/orders/async", headers=headers).status_code == 200
        assert client.get("/admin/stats", headers=headers).status_code == 200
    assert jwt_issuer.jwks_requests == 1


def test_keys_unavailable_is_503_with_retry_after(jwt_issuer: LocalIssuer) -> None:
    jwt_issuer.server.set_fault(jwt_issuer.jwks_path, Fault.status(500))
    response = create_app(jwt_issuer.verifier()).test_client().get("/me", headers=bearer(jwt_issuer.mint()))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "WWW-Authenticate" not in response.headers
    assert response.json == {
        "error": "temporarily_unavailable",
        "error_description": "The signing keys are temporarily unavailable",
    }


# -- the extension beyond the reference app ------------------------------------------------------


def _small_app(**config: Any) -> Flask:
    app = Flask("small")
    app.config.update(config)
    return app


def test_configuration_from_app_config(jwt_session_issuer: LocalIssuer) -> None:
    app = _small_app(
        JWT_ISSUER=jwt_session_issuer.issuer,
        JWT_AUDIENCE=AUDIENCE,
        JWT_JWKS_URL=jwt_session_issuer.jwks_url,
        JWT_ALGORITHMS=["RS256"],
        JWT_REALM="small",
    )
    auth = JWTAuth(app)

    @app.get("/me")
    @jwt_required()
    def me() -> dict[str, Any]:
        return {"sub": g.jwt_claims.subject}

    client = app.test_client()
    assert client.get("/me", headers=_alice(jwt_session_issuer)).json == {"sub": "alice"}
    assert client.get("/me").headers["WWW-Authenticate"] == challenge("small")
    assert isinstance(app.extensions[EXTENSION].verifier, JWTVerifier)
    assert auth.verifier_for(app).issuers == (jwt_session_issuer.issuer,)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "exactly one of JWT_ISSUER and JWT_COGNITO"),
        ({"JWT_ISSUER": "https://idp.example"}, "JWT_AUDIENCE is required"),
        ({"JWT_ISSUER": "https://idp.example", "JWT_AUDIENCE": "x", "JWT_ALGORITHMS": ["HS256"]}, "HS256"),
    ],
)
def test_configuration_errors(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        JWTAuth(_small_app(**config))


def test_guard_without_the_extension_fails_loudly() -> None:
    app = _small_app()

    @app.get("/me")
    @jwt_required()
    def me() -> str:
        return "never"

    app.testing = True
    with pytest.raises(RuntimeError, match="JWTAuth is not initialised"):
        app.test_client().get("/me")


def test_errors_can_be_overridden_by_type_or_status(verifier: JWTVerifier) -> None:
    app = _small_app()
    JWTAuth(app, verifier=verifier)

    @app.errorhandler(JWTAuthError)
    def by_type(error: JWTAuthError) -> tuple[dict[str, Any], int]:
        return {"failure": error.error.error or "missing"}, error.error.status_code

    @app.get("/orders")
    @require_scopes("orders:read")
    def orders() -> str:
        return "never"

    client = app.test_client()
    assert client.get("/orders").json == {"failure": "missing"}
    assert client.get("/orders", headers=bearer("not-a-jwt")).json == {"failure": "invalid_token"}

    by_status = _small_app()
    JWTAuth(by_status, verifier=verifier)

    @by_status.errorhandler(401)
    def unauthorized(error: Exception) -> tuple[str, int]:
        return "please sign in", 401

    @by_status.get("/me")
    @jwt_required()
    def me() -> str:
        return "never"

    response = by_status.test_client().get("/me")
    assert response.status_code == 401
    assert response.text == "please sign in"


def test_one_verification_per_request(
    verifier: JWTVerifier, jwt_session_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    verify_sync = verifier.verify_sync

    def counting(token: str) -> Claims:
        calls.append(token)
        return verify_sync(token)

    monkeypatch.setattr(verifier, "verify_sync", counting)
    app = _small_app()
    auth = JWTAuth(app, verifier=verifier)
    blueprint = Blueprint("api", __name__)
    auth.protect(blueprint)

    @blueprint.get("/orders")
    @require_scopes("orders:read")
    def orders() -> dict[str, Any]:
        assert isinstance(current_claims, Claims)
        assert current_claims == g.jwt_claims
        return {"sub": current_claims.subject}

    app.register_blueprint(blueprint)
    response = app.test_client().get("/orders", headers=_alice(jwt_session_issuer))
    assert response.json == {"sub": "alice"}
    assert len(calls) == 1


def test_protect_rejects_optional_with_requirements(verifier: JWTVerifier) -> None:
    auth = JWTAuth(verifier=verifier)
    with pytest.raises(ConfigurationError):
        auth.protect(Blueprint("x", __name__), scopes=["a"], optional=True)
    with pytest.raises(ConfigurationError):
        auth.protect(Blueprint("y", __name__), scopes="orders:read")


# -- current_claims where no guard ran ---------------------------------------------------------


def test_current_claims_in_an_unguarded_view_names_the_decorator_to_add(
    verifier: JWTVerifier, jwt_session_issuer: LocalIssuer
) -> None:
    """A view that forgot its guard must not read a valid token's caller as anonymous."""
    app = _small_app()
    JWTAuth(app, verifier=verifier)

    @app.get("/forgot")
    def forgot() -> dict[str, Any]:
        return {"sub": current_claims.subject if current_claims else None}

    client = app.test_client()
    assert client.get("/forgot", headers=_alice(jwt_session_issuer)).status_code == 500
    app.testing = True  # let the exception through to see what it says
    for headers in (_alice(jwt_session_issuer), {}):
        with pytest.raises(UnguardedClaimsError, match=r"@jwt_required\(\)") as raised:
            client.get("/forgot", headers=headers)
        # Not a RuntimeError, which LocalProxy would turn into False for `if current_claims:`.
        assert not isinstance(raised.value, RuntimeError)
        assert isinstance(raised.value, JWTMiddlewareException)
        assert "auth.protect()" in str(raised.value)


def test_error_handlers_read_no_claims_after_a_refusal(
    verifier: JWTVerifier, jwt_session_issuer: LocalIssuer
) -> None:
    app = _small_app()
    JWTAuth(app, verifier=verifier)
    seen: list[object] = []

    @app.errorhandler(401)
    def unauthorized(error: JWTAuthError) -> tuple[dict[str, Any], int]:
        seen.append(bool(current_claims))
        return {"refused": error.error.description}, 401

    @app.get("/me")
    @jwt_required()
    def me() -> dict[str, Any]:
        return {"sub": current_claims.subject}

    @app.get("/hello")
    @jwt_required(optional=True)
    def hello() -> dict[str, Any]:
        return {"sub": current_claims.subject if current_claims else None}

    client = app.test_client()
    assert client.get("/me", headers=bearer(jwt_session_issuer.mint_expired())).status_code == 401
    assert client.get("/me").json == {"refused": "Authentication is required"}
    assert seen == [False, False]
    assert client.get("/hello").json == {"sub": None}
    assert client.get("/hello", headers=_alice(jwt_session_issuer)).json == {"sub": "alice"}
