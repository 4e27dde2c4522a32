"""Flask: ``JWTAuth(authenticator=...)`` through Flask's test client."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from jwt_middleware import BearerAuthenticator, ConfigurationError
from jwt_middleware.integrations.flask import JWTAuth, current_claims, jwt_required, require_scopes
from jwt_middleware.testing import LocalIssuer
from tests.authenticators import UNAVAILABLE_KEY, ApiKeys, ChallengingApiKeys, api_key
from tests.integrations.support import bearer


def create_app(auth: JWTAuth, **config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    auth.init_app(app)

    @app.get("/me")
    @jwt_required()
    def me() -> dict[str, object]:
        return {"sub": current_claims.subject}

    @app.get("/maybe")
    @jwt_required(optional=True)
    def maybe() -> dict[str, object]:
        return {"sub": current_claims.subject if current_claims else None}

    @app.get("/write")
    @require_scopes("orders:write")
    def write() -> dict[str, object]:
        return {"sub": current_claims.subject}

    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.get("/stats")
    def stats() -> dict[str, object]:
        return {"by": current_claims.subject}

    auth.protect(admin, scopes=["orders:read"])
    app.register_blueprint(admin)
    return app


def test_allowed_refused_and_anonymous() -> None:
    client = create_app(JWTAuth(authenticator=ApiKeys())).test_client()
    assert client.get("/me", headers=api_key()).json == {"sub": "alice"}
    assert client.get("/admin/stats", headers=api_key()).json == {"by": "alice"}
    refused = client.get("/me", headers=api_key("key-mallory"))
    assert refused.status_code == 401
    assert refused.json == {"error": "invalid_token", "error_description": "The API key is not accepted"}
    assert client.get("/maybe", headers=api_key("key-mallory")).status_code == 401
    missing = client.get("/me")
    assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, 'Bearer realm="api"')
    assert client.get("/maybe").json == {"sub": None}
    unavailable = client.get("/me", headers=api_key(UNAVAILABLE_KEY))
    assert (unavailable.status_code, unavailable.headers["Retry-After"]) == (503, "7")


def test_the_authenticator_shapes_the_challenges() -> None:
    client = create_app(JWTAuth(authenticator=ChallengingApiKeys())).test_client()
    assert client.get("/me").headers["WWW-Authenticate"] == 'ApiKey realm="api", Bearer realm="api"'
    forbidden = client.get("/write", headers=api_key())
    assert forbidden.status_code == 403
    assert forbidden.headers["WWW-Authenticate"].startswith('ApiKey realm="api", Bearer realm="api", error=')


def test_an_app_may_override_the_extensions_authenticator(jwt_session_issuer: LocalIssuer) -> None:
    auth = JWTAuth(authenticator=ApiKeys())
    app = Flask(__name__)
    auth.init_app(app, verifier=jwt_session_issuer.verifier())
    assert isinstance(JWTAuth.authenticator_for(app), BearerAuthenticator)
    assert JWTAuth.verifier_for(app) is JWTAuth.authenticator_for(app).verifier  # type: ignore[attr-defined]
    keyed = create_app(auth)
    with pytest.raises(ConfigurationError):
        JWTAuth.verifier_for(keyed)

    @app.get("/me")
    @jwt_required()
    def me() -> dict[str, object]:
        return {"sub": current_claims.subject}

    token = jwt_session_issuer.mint(sub="bob")
    assert app.test_client().get("/me", headers=bearer(token)).json == {"sub": "bob"}


def test_exactly_one_of_verifier_and_authenticator(jwt_session_issuer: LocalIssuer) -> None:
    verifier = jwt_session_issuer.verifier()
    with pytest.raises(ConfigurationError, match="exactly one"):
        JWTAuth(verifier=verifier, authenticator=ApiKeys())
    with pytest.raises(ConfigurationError, match="exactly one"):
        JWTAuth().init_app(Flask(__name__), verifier=verifier, authenticator=ApiKeys())
    with pytest.raises(ConfigurationError, match="BearerAuthenticator"):
        create_app(JWTAuth(authenticator=ApiKeys()), JWT_COOKIE="at")


def test_the_request_view_of_a_flask_request() -> None:
    keys = ApiKeys()
    client = create_app(JWTAuth(authenticator=keys)).test_client()
    client.set_cookie("theme", "dark", domain="api.example.com")
    client.get("/me?x=1&x=2", headers=api_key(), base_url="https://api.example.com/")
    (view,) = keys.seen
    assert (view.method, view.path, view.url) == ("GET", "/me", "https://api.example.com/me?x=1&x=2")
    assert (view.query("x"), view.cookie("theme"), view.raw["PATH_INFO"]) == (["1", "2"], "dark", "/me")
