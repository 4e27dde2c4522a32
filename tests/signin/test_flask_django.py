"""``SignIn`` in Flask (``signin.init_app``) and Django (``signin.urls``), through their test clients.

The same story as the other frameworks: sign in (the hop to the issuer over real HTTP, as a
browser makes it), a protected page, a same-origin post accepted and a forged one refused, the
access token refreshed after expiry, logout revoking the refresh token. Flask and Django run the
sync path: the protocol steps on a private event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.integrations.support import setup_django

setup_django()

from django.test import Client, override_settings  # noqa: E402
from flask import Flask, jsonify  # noqa: E402

from jwt_middleware.integrations.flask import JWTAuth, current_claims, jwt_required  # noqa: E402
from jwt_middleware.signin import SignIn  # noqa: E402
from jwt_middleware.testing import LocalIssuer  # noqa: E402
from tests.signin import django_urls  # noqa: E402

Get = Callable[..., Any]


def sign_in(get: Get, base: str) -> None:
    """``get(path)`` is the framework's test client; the issuer is reached over real HTTP."""
    login = get("/auth/login?next=/me")
    assert login.status_code == 302
    provider = httpx2.get(login.headers["Location"])
    assert provider.status_code == 302
    callback = urlsplit(provider.headers["Location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == base + "/auth/callback"
    done = get(f"{callback.path}?{callback.query}")
    assert done.status_code == 303, done
    assert done.headers["Location"] == "/me"


def make_signin(issuer: LocalIssuer, base: str) -> SignIn:
    issuer.register_client("site", redirect_uris=[base + "/auth/callback"])
    return SignIn(issuer=issuer.url, client_id="site", verifier=issuer.verifier(), secure_cookies=False)


# -- Flask -----------------------------------------------------------------------------------------------


@pytest.fixture
def flask_client(issuer: LocalIssuer) -> Any:
    signin = make_signin(issuer, "http://localhost")
    app = Flask(__name__)
    signin.init_app(app)
    JWTAuth(app, authenticator=signin.authenticator)

    @app.get("/me")
    @jwt_required()
    def me() -> Any:
        return jsonify(sub=current_claims.subject, email=current_claims.get("email"))

    @app.post("/orders")
    @jwt_required()
    def order() -> Any:
        return jsonify(by=current_claims.subject), 201

    return app.test_client()


def test_flask_sign_in_refresh_and_logout(issuer: LocalIssuer, flask_client: Any) -> None:
    navigation = flask_client.get("/me", headers={"Accept": "text/html"})
    assert navigation.status_code == 303
    assert navigation.headers["Location"] == "/auth/login?next=%2Fme"
    assert flask_client.get("/me").status_code == 401
    issuer.access_token_lifetime = 2
    sign_in(flask_client.get, "http://localhost")
    issuer.access_token_lifetime = 300
    assert flask_client.get("/me").json == {"sub": "alice", "email": "alice@example.com"}
    assert flask_client.post("/orders", headers={"Origin": "http://localhost"}).status_code == 201
    assert flask_client.post("/orders", headers={"Origin": "https://evil.example"}).status_code == 403

    time.sleep(3.1)
    before = issuer.token_requests
    refreshed = flask_client.get("/me")
    assert refreshed.json == {"sub": "alice", "email": "alice@example.com"}
    assert issuer.token_requests == before + 1
    assert any(cookie.startswith("jwt_session=") for cookie in refreshed.headers.getlist("Set-Cookie"))

    refresh_token = flask_client.get_cookie("jwt_refresh").value
    logout = flask_client.post("/auth/logout", headers={"Origin": "http://localhost"})
    assert logout.status_code == 303
    assert logout.headers["Location"].startswith(issuer.end_session_endpoint)
    assert issuer.is_revoked(refresh_token)
    assert flask_client.get_cookie("jwt_session") is None
    assert flask_client.get("/me").status_code == 401


# -- Django ----------------------------------------------------------------------------------------------


@pytest.fixture
def django_client(issuer: LocalIssuer) -> Iterator[Client]:
    signin = make_signin(issuer, "http://testserver")
    django_urls.SIGNIN = signin
    middleware = [
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "jwt_middleware.signin.django.SessionCookieMiddleware",
        "jwt_middleware.integrations.django.JWTAuthenticationMiddleware",
    ]
    settings = {"AUTHENTICATOR": signin.authenticator, "EXCLUDE_PREFIXES": ["/auth"]}
    with override_settings(
        ROOT_URLCONF="tests.signin.django_urls", MIDDLEWARE=middleware, JWT_MIDDLEWARE=settings
    ):
        yield Client(enforce_csrf_checks=True)
    django_urls.SIGNIN = None


def test_django_sign_in_refresh_and_logout(issuer: LocalIssuer, django_client: Client) -> None:
    navigation = django_client.get("/me", headers={"Accept": "text/html"})
    assert navigation.status_code == 303
    assert navigation.headers["Location"] == "/auth/login?next=%2Fme"
    issuer.access_token_lifetime = 2
    sign_in(django_client.get, "http://testserver")
    issuer.access_token_lifetime = 300
    assert django_client.get("/me").json() == {"sub": "alice", "email": "alice@example.com"}
    # Django's CSRF middleware is on: our cookie check replaces it for the session cookie.
    assert django_client.post("/orders", headers={"Origin": "http://testserver"}).status_code == 201
    forged = django_client.post(
        "/orders", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    )
    assert forged.status_code == 403

    time.sleep(3.1)
    before = issuer.token_requests
    refreshed = django_client.get("/me")
    assert refreshed.json() == {"sub": "alice", "email": "alice@example.com"}
    assert issuer.token_requests == before + 1
    assert "jwt_session" in refreshed.cookies

    refresh_token = django_client.cookies["jwt_refresh"].value
    logout = django_client.post("/auth/logout", headers={"Origin": "http://testserver"})
    assert logout.status_code == 303
    assert logout.headers["Location"].startswith(issuer.end_session_endpoint)
    assert issuer.is_revoked(refresh_token)
    assert django_client.cookies["jwt_session"].value == ""
    assert django_client.get("/me").status_code == 401
