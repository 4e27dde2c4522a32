"""Cookie-carried tokens and CSRF in FastAPI, Flask and Django, through their own test clients.

The forged request is what a browser sends for a form on ``https://evil.example`` posting to the
app: the victim's cookie and a foreign ``Origin`` (or ``Sec-Fetch-Site: cross-site``). Django's
own CSRF middleware is tried as a new user would meet it: a bearer-authenticated POST must not
get its "CSRF verification failed" page, a cookie-authenticated one gets our check instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.support import AUDIENCE, bearer, setup_django

setup_django()

from django.test import Client, override_settings  # noqa: E402
from fastapi import Depends, FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from flask import Flask, jsonify  # noqa: E402

from jwt_middleware import Claims  # noqa: E402
from jwt_middleware.integrations.fastapi import JWTBearer  # noqa: E402
from jwt_middleware.integrations.flask import JWTAuth, jwt_required  # noqa: E402
from jwt_middleware.testing import LocalIssuer  # noqa: E402

EVIL = {"Origin": "https://evil.example"}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
TRUSTED = {"Sec-Fetch-Site": "cross-site", "Origin": "https://admin.example.com"}


# -- FastAPI ---------------------------------------------------------------------------------------------


@pytest.fixture
def fastapi_client(jwt_session_issuer: LocalIssuer) -> Iterator[TestClient]:
    auth = JWTBearer(
        jwt_session_issuer.verifier(), cookie="session", trusted_origins=["https://admin.example.com"]
    )
    app = FastAPI()

    async def create(claims: Claims = Depends(auth)) -> dict[str, Any]:  # noqa: B008 (FastAPI's idiom)
        return {"by": claims.subject}

    app.post("/orders")(create)
    with TestClient(app) as client:
        client.cookies.set("session", jwt_session_issuer.mint(sub="alice"))
        yield client


def test_fastapi_cookie_post(fastapi_client: TestClient) -> None:
    assert fastapi_client.post("/orders", headers={"Sec-Fetch-Site": "same-origin"}).json() == {"by": "alice"}
    assert fastapi_client.post("/orders", headers=EVIL).status_code == 403
    forged = fastapi_client.post("/orders", headers=CROSS_SITE)
    assert forged.status_code == 403
    assert 'error="invalid_request"' in forged.headers["www-authenticate"]
    assert fastapi_client.post("/orders", headers=TRUSTED).status_code == 200


def test_fastapi_bearer_is_not_subject_to_the_rule(jwt_session_issuer: LocalIssuer) -> None:
    auth = JWTBearer(jwt_session_issuer.verifier(), cookie="session")
    app = FastAPI()

    async def create(claims: Claims = Depends(auth)) -> dict[str, Any]:  # noqa: B008
        return {"by": claims.subject}

    app.post("/orders")(create)
    with TestClient(app) as client:
        response = client.post(
            "/orders", headers={**CROSS_SITE, **bearer(jwt_session_issuer.mint(sub="bob"))}
        )
    assert response.json() == {"by": "bob"}


# -- Flask -----------------------------------------------------------------------------------------------


@pytest.fixture
def flask_client(jwt_session_issuer: LocalIssuer) -> Any:
    app = Flask(__name__)
    app.config.update(JWT_COOKIE="session", JWT_TRUSTED_ORIGINS=["https://admin.example.com"])
    JWTAuth(app, verifier=jwt_session_issuer.verifier())

    @app.post("/orders")
    @jwt_required()
    def create() -> Any:
        return jsonify(ok=True)

    client = app.test_client()
    client.set_cookie("session", jwt_session_issuer.mint(sub="alice"))
    return client


def test_flask_jwt_cookie_post(flask_client: Any, jwt_session_issuer: LocalIssuer) -> None:
    assert flask_client.post("/orders", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert flask_client.post("/orders", headers={"Origin": "http://localhost"}).status_code == 200
    assert flask_client.post("/orders", headers=EVIL).status_code == 403
    assert flask_client.post("/orders", headers=CROSS_SITE).status_code == 403
    assert flask_client.post("/orders", headers=TRUSTED).status_code == 200
    flask_client.delete_cookie("session")
    headers = {**CROSS_SITE, **bearer(jwt_session_issuer.mint(sub="bob"))}
    assert flask_client.post("/orders", headers=headers).status_code == 200


# -- Django ----------------------------------------------------------------------------------------------

CSRF_MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "jwt_middleware.integrations.django.JWTAuthenticationMiddleware",
]


def writer(issuer: LocalIssuer) -> str:
    return issuer.mint(sub="alice", scope="orders:write")


def django_settings(issuer: LocalIssuer, **options: Any) -> dict[str, Any]:
    base = {
        "ISSUER": issuer.issuer,
        "AUDIENCE": AUDIENCE,
        "JWKS_URL": issuer.jwks_url,
        "EXCLUDE_PATHS": ["/public"],
    }
    return {**base, **options}


def test_django_bearer_post_is_not_refused_by_djangos_csrf(jwt_session_issuer: LocalIssuer) -> None:
    with override_settings(MIDDLEWARE=CSRF_MIDDLEWARE, JWT_MIDDLEWARE=django_settings(jwt_session_issuer)):
        client = Client(enforce_csrf_checks=True)
        response = client.post("/orders/new", headers=bearer(writer(jwt_session_issuer)))
        assert response.status_code == 201, response.content[:200]
        # Without our authentication, Django's CSRF protection is untouched.
        anonymous = client.post("/public")
        assert anonymous.status_code == 403
        assert b"CSRF" in anonymous.content


def test_django_cookie_post_gets_our_check(jwt_session_issuer: LocalIssuer) -> None:
    options = django_settings(
        jwt_session_issuer, COOKIE="session", TRUSTED_ORIGINS=["https://admin.example.com"]
    )
    with override_settings(MIDDLEWARE=CSRF_MIDDLEWARE, JWT_MIDDLEWARE=options):
        client = Client(enforce_csrf_checks=True)
        client.cookies["session"] = writer(jwt_session_issuer)
        assert client.post("/orders/new", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 201
        assert client.post("/orders/new", headers={"Origin": "http://testserver"}).status_code == 201
        forged = client.post("/orders/new", headers=CROSS_SITE)
        assert forged.status_code == 403
        assert b"CSRF" not in forged.content  # our RFC 6750 answer, not Django's page
        assert 'error="invalid_request"' in forged.headers["WWW-Authenticate"]
        assert client.post("/orders/new", headers=EVIL).status_code == 403
        assert client.post("/orders/new", headers=TRUSTED).status_code == 201


def test_django_refuses_a_misspelt_trusted_origin(jwt_session_issuer: LocalIssuer) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from jwt_middleware.integrations.django import jwt_settings

    options = django_settings(jwt_session_issuer, COOKIE="session", TRUSTED_ORIGINS=["admin.example.com"])
    with override_settings(JWT_MIDDLEWARE=options), pytest.raises((ImproperlyConfigured, ValueError)):
        jwt_settings()
