"""Trust-the-gateway: claims from ``scope["aws.event"]``, only when explicitly chosen."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from jwt_middleware import (
    Authenticator,
    ConfigurationError,
    JWTAuthMiddleware,
    JWTUser,
    WSGIJWTMiddleware,
    require_groups,
    require_scopes,
)
from jwt_middleware.aws import AWS_EVENT_KEY, APIGatewayClaimsAuthenticator, APIGatewayClaimsMiddleware

from .conftest import load_event

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"


class MangumStandIn:
    """What Mangum does for these tests: put the Lambda event in the scope (``None``: no event)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.event: dict[str, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.event is not None and scope["type"] == "http":
            scope[AWS_EVENT_KEY] = self.event
        await self.app(scope, receive, send)


async def whoami(request: Request) -> JSONResponse:
    user = request.user
    assert isinstance(user, JWTUser)
    return JSONResponse(
        {
            "sub": user.identity,
            "scopes": sorted(request.auth.scopes),
            "groups": sorted(user.groups),
            "exp": request.scope["jwt_middleware.claims"]["exp"],
        }
    )


@requires("orders/read")
async def orders(request: Request) -> PlainTextResponse:
    return PlainTextResponse("orders")


@require_groups("admins")
async def admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin")


@require_scopes("orders/write")
async def write(request: Request) -> PlainTextResponse:
    return PlainTextResponse("write")


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def maybe(request: Request) -> PlainTextResponse:
    return PlainTextResponse("user" if request.user.is_authenticated else "anonymous")


ROUTES = [
    Route("/me", whoami),
    Route("/orders", orders),
    Route("/admin", admin),
    Route("/write", write),
    Route("/health", health),
    Route("/maybe", maybe),
]


def client_for(**options: Any) -> tuple[TestClient, MangumStandIn]:
    options.setdefault("issuer", ISSUER)
    app = APIGatewayClaimsMiddleware(Starlette(routes=ROUTES), **options)
    outer = MangumStandIn(app)
    return TestClient(outer), outer


@pytest.fixture
def v2_event() -> dict[str, Any]:
    return load_event("http_api_v2_integration", "not-checked")


def test_claims_come_from_the_v2_event_without_any_verification(v2_event: dict[str, Any]) -> None:
    client, outer = client_for()
    outer.event = v2_event
    # No Authorization header at all: the gateway consumed it; nothing is verified here.
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json() == {
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "scopes": ["authenticated", "openid", "orders/read"],
        "groups": ["admins", "editors"],
        "exp": 4102444800,
    }


def test_route_guards_and_starlette_requires_see_the_gateway_claims(v2_event: dict[str, Any]) -> None:
    client, outer = client_for()
    outer.event = v2_event
    assert client.get("/orders").text == "orders"
    assert client.get("/admin").text == "admin"
    denied = client.get("/write")
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]


def test_v1_payload_events_are_read_too() -> None:
    client, outer = client_for()
    outer.event = load_event("http_api_v1_integration", "not-checked")
    assert client.get("/admin").text == "admin"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda event: event["requestContext"].pop("authorizer"),
        lambda event: event["requestContext"]["authorizer"].pop("jwt"),
        lambda event: event["requestContext"]["authorizer"]["jwt"].update(claims={}),
        lambda event: event.pop("version"),
    ],
    ids=["no-authorizer", "no-jwt", "empty-claims", "rest-api-event"],
)
def test_an_event_without_authorizer_claims_is_refused(v2_event: dict[str, Any], mutate: Any) -> None:
    event = copy.deepcopy(v2_event)
    mutate(event)
    client, outer = client_for()
    outer.event = event
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


def test_outside_lambda_there_is_no_event_and_every_request_is_refused() -> None:
    client, _ = client_for()
    response = client.get("/me", headers={"Authorization": "Bearer a.b.c"})
    assert response.status_code == 401


def test_a_token_in_the_request_is_never_a_substitute_for_the_event(v2_event: dict[str, Any]) -> None:
    client, _ = client_for()
    forged = load_event("http_api_v2_integration", "x")["requestContext"]["authorizer"]
    response = client.get("/me", headers={"Authorization": "Bearer a.b.c", "x-claims": str(forged)})
    assert response.status_code == 401


def test_the_issuer_is_checked_again(v2_event: dict[str, Any]) -> None:
    client, outer = client_for(issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")
    outer.event = v2_event
    response = client.get("/me")
    assert response.status_code == 401
    assert "issuer" in response.json()["error_description"]
    skipped, outer = client_for(issuer=None)
    outer.event = v2_event
    assert skipped.get("/me").status_code == 200


def test_issuer_must_be_decided() -> None:
    with pytest.raises(TypeError):
        APIGatewayClaimsMiddleware(Starlette())  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError):
        APIGatewayClaimsMiddleware(Starlette(), issuer=[])


def test_exclusions_and_optional_mode() -> None:
    client, _ = client_for(exclude_paths=["/health"], optional=True)
    assert client.get("/health").text == "ok"
    assert client.get("/maybe").text == "anonymous"
    strict, _ = client_for(exclude_paths=["/health"])
    assert strict.get("/health").text == "ok"
    assert strict.get("/maybe").status_code == 401


# -- the authenticator on its own ---------------------------------------------------------------------


def test_the_middleware_is_an_authenticator_in_the_asgi_middleware(v2_event: dict[str, Any]) -> None:
    authenticator = APIGatewayClaimsAuthenticator(issuer=ISSUER)
    assert isinstance(authenticator, Authenticator)
    outer = MangumStandIn(JWTAuthMiddleware(Starlette(routes=ROUTES), authenticator=authenticator))
    outer.event = v2_event
    assert TestClient(outer).get("/admin").text == "admin"
    assert "eu-west-1_AbCdEf123" in repr(authenticator)


def test_the_authenticator_serves_wsgi_apps_under_their_event_key(v2_event: dict[str, Any]) -> None:
    from werkzeug.test import Client

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        claims = environ["jwt_middleware.claims"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [(claims.subject if claims else "anonymous").encode()]

    def lambda_adapter(protected: Any) -> Any:
        def call(environ: dict[str, Any], start_response: Any) -> Any:
            environ["apig_wsgi.full_event"] = v2_event  # where apig-wsgi puts the event
            return protected(environ, start_response)

        return call

    def protect(issuer: str) -> WSGIJWTMiddleware:
        authenticator = APIGatewayClaimsAuthenticator(issuer=issuer, event_key="apig_wsgi.full_event")
        return WSGIJWTMiddleware(app, authenticator=authenticator)

    assert Client(lambda_adapter(protect(ISSUER))).get("/me").text == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert Client(protect(ISSUER)).get("/me").status_code == 401  # no event outside Lambda
    wrong_issuer = Client(lambda_adapter(protect("https://other.example"))).get("/me")
    assert wrong_issuer.status_code == 401
    assert "issuer" in wrong_issuer.json["error_description"]


def test_a_revoked_token_is_refused_though_the_gateway_accepted_it(v2_event: dict[str, Any]) -> None:
    from jwt_middleware.revocation import RevocationList

    revocations = RevocationList()
    client, outer = client_for(revocations=revocations)
    outer.event = v2_event
    assert client.get("/me").status_code == 200
    revocations.revoke_subject_sync(ISSUER, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    refused = client.get("/me")
    assert refused.status_code == 401
    assert 'error_description="The token has been revoked"' in refused.headers["www-authenticate"]
