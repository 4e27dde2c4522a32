"""Every adapter, through its framework's own test client, refuses a revoked token with 401.

Each adapter first serves the token (so it sits in the verifier's token cache, and the ASGI and
WSGI middlewares have recalled its header), then the token is revoked and the same request is
refused with RFC 6750's ``invalid_token`` and "The token has been revoked". When revocation cannot
be told (a Redis list that never synced), every adapter answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client as WerkzeugClient

from jwt_middleware import (
    JWTAuthMiddleware,
    JWTVerifier,
    RevocationUnavailableError,
    StoreUnavailableError,
    WSGIJWTMiddleware,
)
from jwt_middleware.integrations.aws_lambda import lambda_authorizer
from jwt_middleware.revocation import RedisRevocationList, RevocationList
from tests.integrations.support import setup_django

from .conftest import AUDIENCE, ISSUER, TokenFactory

setup_django()

from django.test import Client as DjangoClient  # noqa: E402
from django.test import override_settings  # noqa: E402

REVOKED = "The token has been revoked"


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {name.lower(): value for name, value in headers.items()}
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


Adapter = Callable[[JWTVerifier], Callable[[str], Answer]]


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.identity})


def _asgi(verifier: JWTVerifier) -> Callable[[str], Answer]:
    app = Starlette(routes=[Route("/me", me)])
    client = TestClient(JWTAuthMiddleware(app, verifier=verifier))

    def call(token: str) -> Answer:
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        return Answer(response.status_code, dict(response.headers), response.content)

    return call


def _wsgi(verifier: JWTVerifier) -> Callable[[str], Answer]:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"sub": environ["jwt_middleware.claims"]["sub"]}).encode()]

    client = WerkzeugClient(WSGIJWTMiddleware(app, verifier=verifier))

    def call(token: str) -> Answer:
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        return Answer(response.status_code, dict(response.headers), response.get_data())

    return call


def _fastapi(verifier: JWTVerifier) -> Callable[[str], Answer]:
    from integrations.fastapi_app import create_app

    client = TestClient(create_app(verifier))

    def call(token: str) -> Answer:
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        return Answer(response.status_code, dict(response.headers), response.content)

    return call


def _flask(verifier: JWTVerifier) -> Callable[[str], Answer]:
    from integrations.flask_app import create_app

    client = create_app(verifier).test_client()

    def call(token: str) -> Answer:
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        return Answer(response.status_code, dict(response.headers), response.get_data())

    return call


def _django(path: str) -> Adapter:
    def build(verifier: JWTVerifier) -> Callable[[str], Answer]:
        settings = {
            "VERIFIER": verifier,
            "REALM": "orders",
            "EXCLUDE_PATHS": ["/public"],
            "EXCLUDE_PREFIXES": ["/api"],
        }

        def call(token: str) -> Answer:
            with override_settings(JWT_MIDDLEWARE=settings):
                response = DjangoClient().get(path, headers={"Authorization": f"Bearer {token}"})
            return Answer(response.status_code, dict(response.headers), response.content)

        return call

    return build


def _lambda(verifier: JWTVerifier) -> Callable[[str], Answer]:
    handler = lambda_authorizer(verifier)

    def call(token: str) -> Answer:
        event = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/me",
            "routeKey": "GET /me",
            "identitySource": [f"Bearer {token}"],
            "headers": {"authorization": f"Bearer {token}"},
        }
        answer = handler(event)
        # An authorizer has no status of its own: API Gateway answers 403 for a deny.
        return Answer(200 if answer["isAuthorized"] else 403, {}, json.dumps(answer).encode())

    return call


ADAPTERS: dict[str, Adapter] = {
    "asgi": _asgi,
    "wsgi": _wsgi,
    "fastapi": _fastapi,
    "flask": _flask,
    "django": _django("/me"),
    "drf": _django("/api/me"),
    "lambda": _lambda,
}


@pytest.fixture(params=sorted(ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return ADAPTERS[request.param]


def _assert_revoked(answer: Answer, adapter: Adapter) -> None:
    if adapter is _lambda:
        assert answer.status == 403
        return
    assert answer.status == 401
    challenge = answer.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert f'error_description="{REVOKED}"' in challenge
    body = answer.json()
    if "error_description" in body:
        assert body["error_description"] == REVOKED
    else:  # DRF's own error shape
        assert body == {"detail": REVOKED}


@pytest.mark.parametrize("kind", ["token", "origin", "subject"])
def test_a_revoked_token_is_refused_even_after_it_was_served(
    adapter: Adapter, kind: str, make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    revocations = RevocationList()
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=revocations)
    call = adapter(verifier)
    token = make_token(origin_jti="refresh-a")
    bystander = make_token(sub="bob", origin_jti="refresh-b")
    for _ in range(2):  # the second time from the token cache and the middlewares' recall
        assert call(token).status == 200
        assert call(bystander).status == 200
    claims = verifier.verify_sync(token)
    if kind == "token":
        revocations.revoke_token_sync(claims)
    elif kind == "origin":
        revocations.revoke_origin_sync(ISSUER, "refresh-a")
    else:
        revocations.revoke_subject_sync(ISSUER, "alice")
    for _ in range(2):
        _assert_revoked(call(token), adapter)
    assert call(bystander).status == 200


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
def unreachable() -> Iterator[RedisRevocationList]:
    revocations = RedisRevocationList(
        f"redis://127.0.0.1:{_dead_port()}/0",
        timeout=0.2,
        heartbeat=0.2,
        max_stale=1.0,
        startup_timeout=0.5,
        retry_initial=0.05,
        retry_max=0.2,
    )
    yield revocations
    revocations.close()


def test_when_revocation_cannot_be_told_every_adapter_answers_503(
    adapter: Adapter, unreachable: RedisRevocationList, make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=unreachable)
    if adapter is _lambda:
        # The authorizer re-raises server-side failures: a deny would call a good token bad.
        with pytest.raises(RevocationUnavailableError):
            adapter(verifier)(make_token())
        return
    answer = adapter(verifier)(make_token())
    assert answer.status == 503
    assert 1 <= int(answer.headers["retry-after"]) <= 30
    assert "www-authenticate" not in answer.headers
    body = answer.json()
    assert body.get("error", "temporarily_unavailable") == "temporarily_unavailable"


def test_fail_open_lets_unrevoked_tokens_pass_but_still_refuses_known_revocations(
    make_token: TokenFactory, jwks: dict[str, Any]
) -> None:
    revocations = RedisRevocationList(
        f"redis://127.0.0.1:{_dead_port()}/0",
        fail_open=True,
        timeout=0.2,
        heartbeat=0.2,
        max_stale=1.0,
        startup_timeout=0.3,
    )
    try:
        verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=revocations)
        call = _asgi(verifier)
        token = make_token()
        assert call(token).status == 200
        claims = verifier.verify_sync(token)
        with pytest.raises(StoreUnavailableError):
            revocations.revoke_token_sync(claims)  # not shared: Redis is down...
        _assert_revoked(call(token), _asgi)  # ...but this process refuses it at once
    finally:
        revocations.close()
