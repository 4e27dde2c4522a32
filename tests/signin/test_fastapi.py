"""``SignIn`` in a FastAPI app through FastAPI's test client, and Swagger UI's Authorize with PKCE.

The test client serves only the app, so the hops to the issuer (its authorization endpoint)
go over real HTTP in between, the way a browser would make them.

No ``from __future__ import annotations``: FastAPI resolves the routes' annotations at runtime,
and one of them names a local (``auth``).
"""

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from jwt_middleware.asgi import CLAIMS_KEY
from jwt_middleware.claims import Claims
from jwt_middleware.integrations.fastapi import JWTBearer
from jwt_middleware.signin import SignIn
from jwt_middleware.testing import LocalIssuer

APP = "http://testserver"


def fastapi_app(signin: SignIn) -> FastAPI:
    app = FastAPI(routes=signin.routes, middleware=signin.middleware())

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        claims: Claims = request.scope[CLAIMS_KEY]
        return {"sub": claims.subject, "email": claims.get("email")}

    @app.post("/orders")
    async def order(request: Request) -> dict[str, str]:
        return {"accepted": request.user.identity}

    return app


@pytest.fixture
def client(issuer: LocalIssuer) -> Iterator[TestClient]:
    # The test client's host is not loopback: this client registers its redirect URI exactly.
    issuer.register_client("fastapi-site", redirect_uris=[APP + "/auth/callback", APP + "/"])
    signin = SignIn(
        issuer=issuer.url, client_id="fastapi-site", verifier=issuer.verifier(), secure_cookies=False
    )
    with TestClient(fastapi_app(signin), base_url=APP, follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient) -> None:
    login = client.get("/auth/login", params={"next": "/me"})
    assert login.status_code == 302
    provider = httpx2.get(login.headers["location"])  # the issuer, over real HTTP
    assert provider.status_code == 302
    callback = urlsplit(provider.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == APP + "/auth/callback"
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 303
    assert done.headers["location"] == "/me"


def test_the_flow_through_fastapis_test_client(issuer: LocalIssuer, client: TestClient) -> None:
    assert client.get("/me").status_code == 401
    sign_in(client)
    assert client.get("/me").json() == {"sub": "alice", "email": "alice@example.com"}
    assert client.post("/orders", headers={"Origin": APP}).json() == {"accepted": "alice"}
    assert client.post("/orders", headers={"Origin": "https://evil.example"}).status_code == 403
    refresh_token = client.cookies["jwt_refresh"]
    logout = client.post("/auth/logout", headers={"Origin": APP})
    assert logout.status_code == 303
    assert logout.headers["location"].startswith(issuer.end_session_endpoint)
    assert issuer.is_revoked(refresh_token)
    assert client.get("/me").status_code == 401


# -- Swagger UI ------------------------------------------------------------------------------------------


def test_swagger_ui_authorize_uses_code_and_pkce_against_the_issuer(
    issuer: LocalIssuer, signin: SignIn
) -> None:
    auth = JWTBearer(issuer.verifier(jwks_url=None))  # keys through discovery: an OpenID Connect scheme
    app = FastAPI(swagger_ui_init_oauth=signin.swagger_ui_init_oauth(scopes=["openid", "email"]))

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(auth)]) -> dict[str, Any]:
        return {"sub": claims.subject}

    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        scheme = client.get("/openapi.json").json()["components"]["securitySchemes"]["JWTBearer"]
        assert scheme == {"type": "openIdConnect", "openIdConnectUrl": issuer.discovery_url}
        docs = client.get("/docs").text
        init_oauth = json.loads(docs.split("ui.initOAuth(")[1].split(")")[0])
        assert init_oauth == {
            "clientId": "web",
            "usePkceWithAuthorizationCodeGrant": True,
            "scopes": "openid email",
        }

        # What Swagger UI does in the browser: read discovery (cross-origin), send the user to the
        # authorization endpoint with PKCE, exchange the code from /docs/oauth2-redirect.
        origin = {"Origin": "http://127.0.0.1:8000"}
        discovery = httpx2.get(scheme["openIdConnectUrl"], headers=origin)
        assert discovery.headers["access-control-allow-origin"] == "*"
        document = discovery.json()
        assert "S256" in document["code_challenge_methods_supported"]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect_uri = "http://127.0.0.1:8000/docs/oauth2-redirect"
        authorized = httpx2.get(
            document["authorization_endpoint"],
            params={
                "response_type": "code",
                "client_id": init_oauth["clientId"],
                "redirect_uri": redirect_uri,
                "scope": init_oauth["scopes"],
                "state": "swagger",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        code = parse_qs(urlsplit(authorized.headers["location"]).query)["code"][0]
        preflight = httpx2.options(
            document["token_endpoint"],
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-requested-with",  # Swagger UI's
            },
        )
        assert preflight.status_code == 204
        allowed = {
            name.strip().lower() for name in preflight.headers["access-control-allow-headers"].split(",")
        }
        assert {"content-type", "x-requested-with"} <= allowed
        token = httpx2.post(
            document["token_endpoint"],
            headers=origin,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": "web",
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        )
        assert token.headers["access-control-allow-origin"] == "*"
        access_token = token.json()["access_token"]
        assert client.get("/me", headers={"Authorization": f"Bearer {access_token}"}).json() == {
            "sub": "alice"
        }
