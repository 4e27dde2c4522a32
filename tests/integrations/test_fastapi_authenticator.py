"""FastAPI: ``JWTBearer(authenticator=...)`` through FastAPI's ``TestClient``.

No ``from __future__ import annotations``: FastAPI reads the route annotations as real objects.
"""

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Security
from fastapi.testclient import TestClient

from jwt_middleware import Claims, ConfigurationError, JWTAuthMiddleware, JWTVerifier
from jwt_middleware.integrations.fastapi import JWTBearer, JWTHTTPException, jwt_exception_handler
from jwt_middleware.testing import LocalIssuer
from tests.authenticators import UNAVAILABLE_KEY, ApiKeys, ChallengingApiKeys, api_key


def app_for(auth: JWTBearer) -> FastAPI:
    app = FastAPI(lifespan=auth.lifespan)
    maybe = auth.optional()

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(auth)]) -> dict[str, object]:
        return {"sub": claims.subject}

    @app.get("/maybe")
    async def optional(claims: Annotated[Claims | None, Depends(maybe)]) -> dict[str, object]:
        return {"sub": claims.subject if claims else None}

    @app.get("/write")
    def write(claims: Annotated[Claims, Security(auth, scopes=["orders:write"])]) -> dict[str, object]:
        return {"sub": claims.subject}

    return app


def test_a_custom_authenticator_is_allowed() -> None:
    client = TestClient(app_for(JWTBearer(authenticator=ApiKeys())))
    assert client.get("/me", headers=api_key()).json() == {"sub": "alice"}
    assert client.get("/maybe", headers=api_key()).json() == {"sub": "alice"}


def test_a_refusal_is_the_authenticators_error() -> None:
    client = TestClient(app_for(JWTBearer(authenticator=ApiKeys())))
    refused = client.get("/me", headers=api_key("key-mallory"))
    assert refused.status_code == 401
    assert refused.json() == {"detail": "The API key is not accepted"}
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    # A refused request is refused on an optional route too.
    assert client.get("/maybe", headers=api_key("key-mallory")).status_code == 401
    unavailable = client.get("/me", headers=api_key(UNAVAILABLE_KEY))
    assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "7")


def test_no_credentials_with_and_without_optional() -> None:
    client = TestClient(app_for(JWTBearer(authenticator=ApiKeys())))
    missing = client.get("/me")
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, 'Bearer realm="api"')
    assert client.get("/maybe").json() == {"sub": None}
    lenient = JWTBearer(authenticator=ApiKeys(), auto_error=False)
    app = FastAPI()

    @app.get("/who")
    async def who(claims: Annotated[Claims | None, Depends(lenient)]) -> dict[str, object]:
        return {"anonymous": claims is None}

    assert TestClient(app).get("/who").json() == {"anonymous": True}


def test_scopes_and_challenges_come_from_the_authenticator() -> None:
    client = TestClient(app_for(JWTBearer(authenticator=ChallengingApiKeys())))
    forbidden = client.get("/write", headers=api_key())
    assert forbidden.status_code == 403
    assert forbidden.headers["www-authenticate"].startswith(
        'ApiKey realm="api", Bearer realm="api", error="insufficient_scope"'
    )
    assert client.get("/me").headers["www-authenticate"] == 'ApiKey realm="api", Bearer realm="api"'


def test_the_exception_handler_keeps_the_challenges() -> None:
    app = app_for(JWTBearer(authenticator=ChallengingApiKeys()))
    app.add_exception_handler(JWTHTTPException, jwt_exception_handler)
    response = TestClient(app).get("/me", headers=api_key("key-mallory"))
    assert response.json() == {"error": "invalid_token", "error_description": "The API key is not accepted"}
    assert response.headers["www-authenticate"].startswith('ApiKey realm="api", Bearer realm="api", error=')


def test_the_middlewares_claims_are_reused() -> None:
    keys = ApiKeys()
    app = app_for(JWTBearer(authenticator=keys))
    client = TestClient(JWTAuthMiddleware(app, authenticator=keys, optional=True))
    assert client.get("/me", headers=api_key()).json() == {"sub": "alice"}
    assert keys.calls == 1  # the middleware authenticated; the dependency reused its claims


def test_exactly_one_of_verifier_and_authenticator(jwt_session_issuer: LocalIssuer) -> None:
    verifier: JWTVerifier = jwt_session_issuer.verifier()
    with pytest.raises(ConfigurationError, match="exactly one"):
        JWTBearer()
    with pytest.raises(ConfigurationError, match="exactly one"):
        JWTBearer(verifier, authenticator=ApiKeys())
    with pytest.raises(ConfigurationError, match="BearerAuthenticator"):
        JWTBearer(authenticator=ApiKeys(), cookie="at")
    auth = JWTBearer(authenticator=ApiKeys())
    assert auth.verifier is None
    assert "ApiKeys" in repr(auth)
    # Without a verifier there is nothing to discover: plain HTTP bearer in OpenAPI, or refused.
    assert auth.model.model_dump()["scheme"] == "bearer"
    with pytest.raises(ConfigurationError):
        JWTBearer(authenticator=ApiKeys(), openid_connect_url=True)


def test_the_request_view_of_a_dependency() -> None:
    keys = ApiKeys()
    client = TestClient(app_for(JWTBearer(authenticator=keys)))
    client.get("/me?x=1&x=2", headers={**api_key(), "Cookie": "theme=dark"})
    (view,) = keys.seen
    assert (view.method, view.path, view.url) == ("GET", "/me", "http://testserver/me?x=1&x=2")
    assert (view.query("x"), view.cookie("theme"), view.raw["type"]) == (["1", "2"], "dark", "http")
