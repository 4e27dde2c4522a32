"""A ``checks=`` rule or ``custom_check`` that crashes is the service's failure: 503 everywhere.

Through each framework's own test client (Starlette's for ASGI and FastAPI, werkzeug's for WSGI,
Flask's, Django's sync and async clients, DRF through Django's) and a real-shaped Lambda authorizer
event: the answer is 503 ``temporarily_unavailable`` with ``Retry-After`` and no challenge, the log
names the exception's type and nothing of the token, the claims or the exception's message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.integrations.support import AUDIENCE, bearer, setup_django

setup_django()

from django.test import AsyncClient, Client, override_settings  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from werkzeug.test import Client as WerkzeugClient  # noqa: E402

from integrations.fastapi_app import create_app as create_fastapi_app  # noqa: E402
from integrations.flask_app import create_app as create_flask_app  # noqa: E402
from jwt_middleware import (  # noqa: E402
    Claims,
    JWTAuthMiddleware,
    JWTVerifier,
    VerificationKey,
    VerificationUnavailableError,
    WSGIJWTMiddleware,
)
from jwt_middleware.integrations.aws_lambda import lambda_authorizer  # noqa: E402
from jwt_middleware.testing import LocalIssuer  # noqa: E402
from tests.aws.conftest import load_event  # noqa: E402

#: Put in the token's claims and in the crash's message: neither may reach a log or an answer.
SECRET = "s3cr3t-claim-7d1e"
DESCRIPTION = "Authentication is temporarily unavailable"
BODY = {"error": "temporarily_unavailable", "error_description": DESCRIPTION}
#: FastAPI and DRF answer in their own documented shape.
DETAIL = {"detail": DESCRIPTION}


def crashing_rule(header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
    raise ConnectionError(f"revocation store down while checking {claims.get('secret')}")


def crashing_check(header: Mapping[str, Any], claims: Claims, key: VerificationKey) -> bool:
    raise ConnectionError(f"revocation store down while checking {claims.get('secret')}")


async def crashing_async_check(header: Mapping[str, Any], claims: Claims, key: VerificationKey) -> bool:
    raise ConnectionError(f"revocation store down while checking {claims.get('secret')}")


FAULTS: dict[str, dict[str, Any]] = {
    "checks rule": {"checks": [crashing_rule]},
    "custom_check": {"custom_check": crashing_check},
    "async custom_check": {"custom_check": crashing_async_check},
}
#: Every adapter gets every fault; sync ones run an async custom check on the verifier's own loop.
fault_names = pytest.mark.parametrize("fault", list(FAULTS))


def _verifier(issuer: LocalIssuer, fault: str) -> JWTVerifier:
    return JWTVerifier(issuer=issuer.issuer, audience=AUDIENCE, jwks_url=issuer.jwks_url, **FAULTS[fault])


def _token(issuer: LocalIssuer) -> str:
    return issuer.mint({"sub": "alice", "scope": "orders:read", "secret": SECRET})


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="jwt_middleware")
    return caplog


def _assert_logged_safely(logs: pytest.LogCaptureFixture, token: str) -> None:
    messages = [record.getMessage() for record in logs.records]
    assert any("ConnectionError" in message and "503" in message for message in messages), messages
    for message in messages:
        assert SECRET not in message
        assert "revocation store down" not in message
        assert token.split(".")[1] not in message
        assert token.split(".")[2] not in message
    for record in logs.records:
        assert record.exc_info is None  # a traceback would carry the exception's message


def _assert_503(status: int, headers: Any, body: Any, expected: Any = BODY) -> None:
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert "WWW-Authenticate" not in headers
    assert body == expected


# -- ASGI and WSGI middlewares ------------------------------------------------------------------


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.claims.subject})


@fault_names
def test_asgi_middleware(jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str) -> None:
    app = JWTAuthMiddleware(
        Starlette(routes=[Route("/", _whoami)]), verifier=_verifier(jwt_session_issuer, fault)
    )
    token = _token(jwt_session_issuer)
    with TestClient(app) as client:
        response = client.get("/", headers=bearer(token))
    _assert_503(response.status_code, response.headers, response.json())
    _assert_logged_safely(logs, token)


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@fault_names
def test_wsgi_middleware(jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str) -> None:
    app = WSGIJWTMiddleware(_wsgi_app, verifier=_verifier(jwt_session_issuer, fault))
    token = _token(jwt_session_issuer)
    response = WerkzeugClient(app).get("/", headers=bearer(token))
    _assert_503(response.status_code, response.headers, json.loads(response.get_data()))
    _assert_logged_safely(logs, token)


# -- frameworks -----------------------------------------------------------------------------------


@fault_names
def test_fastapi(jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str) -> None:
    token = _token(jwt_session_issuer)
    with TestClient(create_fastapi_app(_verifier(jwt_session_issuer, fault))) as client:
        response = client.get("/me", headers=bearer(token))
    _assert_503(response.status_code, response.headers, response.json(), DETAIL)
    _assert_logged_safely(logs, token)


@fault_names
def test_flask(jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str) -> None:
    token = _token(jwt_session_issuer)
    client: FlaskClient = create_flask_app(_verifier(jwt_session_issuer, fault)).test_client()
    response = client.get("/me", headers=bearer(token))
    _assert_503(response.status_code, response.headers, response.json)
    _assert_logged_safely(logs, token)


def _django_settings(issuer: LocalIssuer, fault: str) -> dict[str, Any]:
    return {
        "ISSUER": issuer.issuer,
        "AUDIENCE": AUDIENCE,
        "JWKS_URL": issuer.jwks_url,
        "REALM": "orders",
        "EXCLUDE_PATHS": ["/public"],
        "EXCLUDE_PREFIXES": ["/api"],
        "VERIFIER_OPTIONS": FAULTS[fault],
    }


@fault_names
def test_django_middleware(
    jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str
) -> None:
    token = _token(jwt_session_issuer)
    with override_settings(JWT_MIDDLEWARE=_django_settings(jwt_session_issuer, fault)):
        response = Client().get("/me", headers=bearer(token))
    _assert_503(response.status_code, response.headers, json.loads(response.content))
    _assert_logged_safely(logs, token)


@pytest.mark.anyio
@fault_names
async def test_django_middleware_under_asgi(
    jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str
) -> None:
    token = _token(jwt_session_issuer)
    with override_settings(JWT_MIDDLEWARE=_django_settings(jwt_session_issuer, fault)):
        response = await AsyncClient().get("/me/async", headers=bearer(token))
    _assert_503(response.status_code, response.headers, json.loads(response.content))
    _assert_logged_safely(logs, token)


@fault_names
def test_django_rest_framework(
    jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str
) -> None:
    token = _token(jwt_session_issuer)
    with override_settings(JWT_MIDDLEWARE=_django_settings(jwt_session_issuer, fault)):
        response = Client().get("/api/me", headers=bearer(token))
    _assert_503(response.status_code, response.headers, json.loads(response.content), DETAIL)
    _assert_logged_safely(logs, token)


# -- Lambda authorizer ------------------------------------------------------------------------------


@fault_names
def test_lambda_authorizer_raises_instead_of_denying(
    jwt_session_issuer: LocalIssuer, logs: pytest.LogCaptureFixture, fault: str
) -> None:
    handler = lambda_authorizer(_verifier(jwt_session_issuer, fault))
    token = _token(jwt_session_issuer)
    for name in ("authorizer_http_v2_request", "authorizer_rest_token", "authorizer_rest_request"):
        with pytest.raises(VerificationUnavailableError) as raised:
            handler(load_event(name, token), None)
        # What Lambda reports for an uncaught error: its type and message, both fixed.
        assert str(raised.value) == DESCRIPTION
        assert raised.value.exception_type == "ConnectionError"
    _assert_logged_safely(logs, token)
