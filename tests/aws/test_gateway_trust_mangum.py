"""Trusting the gateway under real Mangum: the claims an app sees are the ones it would have verified.

Each test verifies a token the usual way, renders its claims as API Gateway renders them into the
Lambda event (HTTP API payload 2.0 and 1.0, REST API with a Cognito user pool authorizer), hands
the event to ``mangum.Mangum`` (which builds the ASGI scope, ``aws.event`` included) and compares
what ``APIGatewayClaimsMiddleware`` gives the app with what the verifying middleware gave it.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import JWTAuthMiddleware, require_groups
from jwt_middleware.aws import (
    APIGatewayClaimsMiddleware,
    authorizer_context,
    gateway_claims,
    rest_gateway_claims,
)
from jwt_middleware.testing import LocalCognitoIssuer, LocalIssuer

from .conftest import load_event

POOL = "eu-west-1_AbCdEf123"


async def claims(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "claims": dict(request.scope["jwt_middleware.claims"]),
            "groups": sorted(request.user.groups),
            "scopes": sorted(request.auth.scopes),
        }
    )


@require_groups("admins")
async def admins(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


ROUTES = [Route("/orders", claims), Route("/orders/{id}", claims), Route("/admin", admins)]


class Context:
    """The parts of a Lambda context Mangum reads."""

    function_name = "orders"
    aws_request_id = "8b1c0e3a-6f0d-4c3b-9a8e-2f1d0c9b8a7e"


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalCognitoIssuer]:
    with LocalIssuer.cognito(user_pool_id=POOL, client_id="3n4b5urk1ft4fl3mg5e62d9ado") as cognito:
        yield cognito


def trusted(issuer: str) -> Mangum:
    return Mangum(APIGatewayClaimsMiddleware(Starlette(routes=ROUTES), issuer=issuer), lifespan="off")


def verified(issuer: LocalIssuer, token: str, **options: Any) -> dict[str, Any]:
    """What the verifying middleware gives ``/orders`` for ``token``."""
    app = JWTAuthMiddleware(Starlette(routes=ROUTES), verifier=issuer.verifier(**options))
    response = TestClient(app).get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def v2_event(rendered_from: Any) -> dict[str, Any]:
    event = load_event("http_api_v2_integration", "consumed-by-the-gateway")
    event["requestContext"]["authorizer"] = authorizer_context(rendered_from)
    return event


def v1_event(rendered_from: Any) -> dict[str, Any]:
    event = load_event("http_api_v1_integration", "consumed-by-the-gateway")
    event["requestContext"]["authorizer"] = {"claims": gateway_claims(rendered_from), "scopes": None}
    return event


def rest_event(rendered_from: Any) -> dict[str, Any]:
    event = load_event("rest_api_cognito_integration", "consumed-by-the-gateway")
    event["requestContext"]["authorizer"] = {"claims": rest_gateway_claims(rendered_from)}
    return event


def invoke(handler: Mangum, event: dict[str, Any]) -> tuple[int, Any]:
    # Mangum runs the app on the thread's current event loop, as Lambda's main thread has one;
    # other tests may have left this thread without one.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        response = handler(event, Context())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    body = response["body"]
    return response["statusCode"], json.loads(body) if body else None


@pytest.mark.parametrize("build", [v2_event, v1_event, rest_event], ids=["http-2.0", "http-1.0", "rest"])
def test_an_id_token_reads_back_as_the_verifier_read_it(pool: LocalCognitoIssuer, build: Any) -> None:
    token = pool.mint_id_token(username="alice", groups=["admins", "editors"], email="alice@example.com")
    direct = verified(pool, token, token_use="id")
    claims_seen = pool.verifier(token_use="id").verify_sync(token)
    status, through_gateway = invoke(trusted(pool.issuer), build(claims_seen))
    assert status == 200
    assert through_gateway == direct
    assert through_gateway["claims"]["email_verified"] is True
    assert isinstance(through_gateway["claims"]["exp"], int)


@pytest.mark.parametrize("build", [v2_event, v1_event], ids=["http-2.0", "http-1.0"])
def test_an_access_token_reads_back_as_the_verifier_read_it(pool: LocalCognitoIssuer, build: Any) -> None:
    token = pool.mint_access_token(username="bo", scopes=["openid", "orders/read"], groups=["ops"])
    direct = verified(pool, token, token_use="access")
    status, through_gateway = invoke(
        trusted(pool.issuer), build(pool.verifier(token_use="access").verify_sync(token))
    )
    assert status == 200
    assert through_gateway == direct
    assert through_gateway["claims"]["version"] == 2
    assert through_gateway["scopes"] == ["authenticated", "openid", "orders/read"]


def test_entra_style_arrays_and_booleans_arrive_typed() -> None:
    with LocalIssuer(audience="api://orders") as entra_like:
        token = entra_like.mint(
            roles=["Task.Read", "Task.Write"],
            wids=["62e90394-69f5-4237-9190-012177145e10"],
            amr=["pwd", "mfa"],
            email_verified=False,
            ver="2.0",
        )
        direct = verified(entra_like, token)
        rendered = v2_event(entra_like.verifier().verify_sync(token))
        assert rendered["requestContext"]["authorizer"]["jwt"]["claims"]["roles"] == "[Task.Read Task.Write]"
        status, through_gateway = invoke(trusted(entra_like.issuer), rendered)
    assert status == 200
    assert through_gateway == direct
    assert through_gateway["claims"]["email_verified"] is False  # not the truthy string "false"
    assert through_gateway["claims"]["ver"] == "2.0"


def test_route_guards_and_refusals_through_mangum(pool: LocalCognitoIssuer) -> None:
    member = pool.verifier(token_use="id").verify_sync(pool.mint_id_token(groups=["admins"]))
    outsider = pool.verifier(token_use="id").verify_sync(pool.mint_id_token(groups=["guests"]))
    handler = trusted(pool.issuer)
    for build in (v2_event, v1_event, rest_event):
        allowed = build(member)
        for event in (allowed, copy.deepcopy(allowed)):
            event["rawPath"] = "/admin"
            event["path"] = "/admin"
            event["requestContext"].setdefault("http", {})["path"] = "/admin"
        assert invoke(handler, allowed)[0] == 200
        refused = build(outsider)
        refused["rawPath"] = refused["path"] = "/admin"
        refused["requestContext"].setdefault("http", {})["path"] = "/admin"
        status, body = invoke(handler, refused)
        assert (status, body["error"]) == (403, "insufficient_scope")
    unauthenticated = v2_event(member)
    del unauthenticated["requestContext"]["authorizer"]
    assert invoke(handler, unauthenticated)[0] == 401
    assert (
        invoke(trusted("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"), v2_event(member))[0]
        == 401
    )
