"""Role and permission guards in every adapter, through each framework's own test client.

One verifier maps roles the way a Keycloak-style provider carries them (``roles``,
``realm_access.roles`` and ``resource_access.{audience}.roles``) and permissions the way Auth0 does
(``permissions``). The same three users meet every adapter: an admin (realm role
``orders.admin``, both permissions), a support agent (the client role ``support``, one permission)
and a stranger whose roles sit where the mapping does not look. Each adapter must let exactly
the same requests through, and refuse the others with 403 ``insufficient_scope`` and the same
fixed description.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwt_middleware import (
    ClaimMapping,
    ConfigurationError,
    JWTAuthMiddleware,
    JWTVerifier,
    require_permissions,
    require_roles,
)
from jwt_middleware.testing import LocalIssuer
from tests.integrations.support import AUDIENCE, bearer, challenge, setup_django

setup_django()

from django.test import AsyncClient, Client, override_settings  # noqa: E402

from integrations.fastapi_app import create_app as create_fastapi_app  # noqa: E402
from integrations.flask_app import create_app as create_flask_app  # noqa: E402
from jwt_middleware.integrations.aws_lambda import lambda_authorizer  # noqa: E402
from jwt_middleware.integrations.django import JWTRequiredMixin  # noqa: E402
from jwt_middleware.integrations.drf import HasPermissions, HasRoles  # noqa: E402
from jwt_middleware.integrations.flask import JWTAuth  # noqa: E402

MAPPING: Final = ClaimMapping(roles=("roles", "realm_access.roles", "resource_access.{audience}.roles"))
LACKS_ROLE: Final = "The token lacks the required role"
LACKS_PERMISSION: Final = "The token lacks the required permission"

ADMIN: Final = {
    "sub": "admin-1",
    "realm_access": {"roles": ["orders.admin", "offline_access"]},
    "permissions": ["refund:orders", "read:orders"],
}
SUPPORT: Final = {
    "sub": "agent-7",
    "resource_access": {AUDIENCE: {"roles": ["support"]}, "other-app": {"roles": ["orders.admin"]}},
    "permissions": ["read:orders"],
}
#: Roles where the mapping does not look, permissions as one string (one name, not two).
STRANGER: Final = {
    "sub": "stranger",
    "resource_access": {"other-app": {"roles": ["orders.admin", "support"]}},
    "groups": ["orders.admin"],
    "permissions": "refund:orders read:orders",
    "scope": "refund:orders read:orders orders.admin",
}

#: (method, path under each app, who gets through): the same table for every adapter.
EXPECTED: Final = {
    "cancel": {"admin": 200, "support": 403, "stranger": 403},
    "refund": {"admin": 200, "support": 403, "stranger": 403},
    "support": {"admin": 200, "support": 200, "stranger": 403},
}
DENIAL: Final = {"cancel": LACKS_ROLE, "refund": LACKS_PERMISSION, "support": LACKS_ROLE}
USERS: Final = {"admin": ADMIN, "support": SUPPORT, "stranger": STRANGER}


@pytest.fixture(scope="module")
def verifier(jwt_session_issuer: LocalIssuer) -> Iterator[JWTVerifier]:
    verifier = jwt_session_issuer.verifier(claim_mapping=MAPPING)
    yield verifier
    verifier.close()


@pytest.fixture(scope="module")
def tokens(jwt_session_issuer: LocalIssuer) -> dict[str, dict[str, str]]:
    return {name: bearer(jwt_session_issuer.mint(claims)) for name, claims in USERS.items()}


def _check_denial(status: int, headers: Any, body: bytes, route: str, realm: str) -> None:
    """403 with RFC 6750's ``insufficient_scope``, the fixed sentence, and no ``scope`` attribute."""
    assert status == 403
    assert headers["WWW-Authenticate"] == challenge(realm, "insufficient_scope", DENIAL[route])
    assert DENIAL[route].encode() in body


def test_the_mapping_reads_each_user_as_intended(verifier: JWTVerifier, tokens: dict[str, Any]) -> None:
    roles = {
        name: verifier.verify_sync(headers["Authorization"].split(" ", 1)[1]).roles
        for name, headers in tokens.items()
    }
    assert roles == {"admin": {"orders.admin", "offline_access"}, "support": {"support"}, "stranger": set()}


# -- Starlette ---------------------------------------------------------------------------------------


@require_roles("orders.admin")
async def _cancel(request: Request) -> JSONResponse:
    return JSONResponse({"by": request.user.identity, "roles": sorted(request.user.roles)})


@require_permissions("refund:orders", "read:orders")
def _refund(request: Request) -> JSONResponse:
    return JSONResponse({"permissions": sorted(request.user.permissions)})


@require_roles("support", "orders.admin", any_of=True)
async def _support(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def test_starlette_guards(verifier: JWTVerifier, tokens: dict[str, dict[str, str]]) -> None:
    app = Starlette(
        routes=[
            Route("/cancel", _cancel, methods=["POST"]),
            Route("/refund", _refund, methods=["POST"]),
            Route("/support", _support),
        ]
    )
    app.add_middleware(JWTAuthMiddleware, verifier=verifier, realm="orders", optional=True)
    methods = {"cancel": "POST", "refund": "POST", "support": "GET"}
    with TestClient(app) as client:
        for route, outcomes in EXPECTED.items():
            for user, status in outcomes.items():
                response = client.request(methods[route], f"/{route}", headers=tokens[user])
                assert response.status_code == status, (route, user)
                if status == 403:
                    _check_denial(status, response.headers, response.content, route, "orders")
            anonymous = client.request(methods[route], f"/{route}")
            assert anonymous.status_code == 401
            assert anonymous.headers["WWW-Authenticate"] == challenge("orders")
        assert client.post("/refund", headers=tokens["admin"]).json() == {
            "permissions": ["read:orders", "refund:orders"]
        }


# -- FastAPI (the reference app) ---------------------------------------------------------------------

_FASTAPI_ROUTES: Final = {
    "cancel": ("DELETE", "/orders/1001"),
    "refund": ("POST", "/refunds"),
    "support": ("GET", "/support"),
}


def test_fastapi_dependencies(verifier: JWTVerifier, tokens: dict[str, dict[str, str]]) -> None:
    with TestClient(create_fastapi_app(verifier)) as client:
        for route, outcomes in EXPECTED.items():
            method, path = _FASTAPI_ROUTES[route]
            for user, status in outcomes.items():
                response = client.request(method, path, headers=tokens[user])
                assert response.status_code == status, (route, user)
                if status == 403:
                    _check_denial(status, response.headers, response.content, route, "api")
                    assert response.json() == {"detail": DENIAL[route]}
            assert client.request(method, path).status_code == 401
        assert client.get("/support", headers=tokens["support"]).json() == {"roles": ["support"]}


def test_fastapi_guards_keep_the_security_scheme_in_openapi(verifier: JWTVerifier) -> None:
    schema = TestClient(create_fastapi_app(verifier)).get("/openapi.json").json()
    assert schema["paths"]["/refunds"]["post"]["security"] == [{"JWTBearer": []}]
    assert schema["paths"]["/orders/{order_id}"]["delete"]["security"] == [{"JWTBearer": []}]


def test_fastapi_guard_names_are_checked_at_declaration(verifier: JWTVerifier) -> None:
    from jwt_middleware.integrations.fastapi import JWTBearer

    auth = JWTBearer(verifier)
    for bad in ((), ("",)):
        with pytest.raises(ConfigurationError):
            auth.require_roles(*bad)
        with pytest.raises(ConfigurationError):
            auth.require_permissions(*bad)


# -- Flask (the reference app) -----------------------------------------------------------------------

_FLASK_ROUTES: Final = {
    "cancel": ("POST", "/orders/1001/cancel"),
    "refund": ("POST", "/refunds"),
    "support": ("GET", "/support"),
}


def test_flask_decorators(verifier: JWTVerifier, tokens: dict[str, dict[str, str]]) -> None:
    client = create_flask_app(verifier).test_client()
    for route, outcomes in EXPECTED.items():
        method, path = _FLASK_ROUTES[route]
        for user, status in outcomes.items():
            response = client.open(path, method=method, headers=tokens[user])
            assert response.status_code == status, (route, user)
            if status == 403:
                _check_denial(status, response.headers, response.data, route, "orders")
        assert client.open(path, method=method).status_code == 401
    assert client.get("/support", headers=tokens["admin"]).get_json() == {
        "roles": ["offline_access", "orders.admin"]
    }


def test_flask_blueprint_protected_by_roles_and_permissions(
    verifier: JWTVerifier, tokens: dict[str, dict[str, str]]
) -> None:
    client = create_flask_app(verifier).test_client()
    assert client.get("/desk/queue", headers=tokens["admin"]).status_code == 200
    assert client.get("/desk/queue", headers=tokens["support"]).status_code == 200
    refused = client.get("/desk/queue", headers=tokens["stranger"])
    _check_denial(refused.status_code, refused.headers, refused.data, "support", "orders")
    assert client.get("/desk/queue").status_code == 401


def test_flask_protect_validates_roles_and_permissions() -> None:
    auth = JWTAuth()
    from flask import Blueprint

    with pytest.raises(ConfigurationError):
        auth.protect(Blueprint("a", __name__), roles="orders.admin")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        auth.protect(Blueprint("b", __name__), permissions=["read:orders"], optional=True)


# -- Django: decorators, the mixin, and DRF's permission classes -------------------------------------


@pytest.fixture
def site(jwt_session_issuer: LocalIssuer) -> Iterator[None]:
    settings = {
        "ISSUER": jwt_session_issuer.issuer,
        "AUDIENCE": AUDIENCE,
        "JWKS_URL": jwt_session_issuer.jwks_url,
        "REALM": "orders",
        "EXCLUDE_PATHS": ["/public"],
        "EXCLUDE_PREFIXES": ["/api"],
        "OPTIONAL": True,  # the guards decide, as the other adapters' do
        "VERIFIER_OPTIONS": {"claim_mapping": MAPPING},
    }
    with override_settings(JWT_MIDDLEWARE=settings):
        yield


_DJANGO_ROUTES: Final = {
    "cancel": ("post", "/orders/cancel"),
    "refund": ("post", "/refunds"),
    "support": ("get", "/support"),
}


def test_django_decorators_and_mixin(site: None, tokens: dict[str, dict[str, str]]) -> None:
    client = Client()
    for route, outcomes in EXPECTED.items():
        method, path = _DJANGO_ROUTES[route]
        for user, status in outcomes.items():
            response = getattr(client, method)(path, headers=tokens[user])
            assert response.status_code == status, (route, user)
            if status == 403:
                _check_denial(status, response.headers, response.content, route, "orders")
        assert getattr(client, method)(path).status_code == 401
    body = json.loads(client.get("/support", headers=tokens["support"]).content)
    assert body == {"roles": ["support"]}


def test_django_guards_under_asgi(site: None, tokens: dict[str, dict[str, str]]) -> None:
    async def run() -> list[int]:
        client = AsyncClient()
        return [
            (await client.post("/refunds", headers=tokens["admin"])).status_code,
            (await client.post("/refunds", headers=tokens["support"])).status_code,
            (await client.get("/support", headers=tokens["stranger"])).status_code,
        ]

    assert asyncio.run(run()) == [200, 403, 403]


def test_django_mixin_attributes_are_checked_when_the_class_is_defined() -> None:
    with pytest.raises(ConfigurationError):

        class Broken(JWTRequiredMixin):
            required_roles = "orders.admin"  # type: ignore[assignment]

    with pytest.raises(ConfigurationError):

        class Empty(JWTRequiredMixin):
            required_permissions = [""]


def test_drf_has_roles_and_has_permissions(site: None, tokens: dict[str, dict[str, str]]) -> None:
    client = Client()
    assert client.post("/api/refunds", headers=tokens["admin"]).status_code == 200
    for user, description in (("support", LACKS_PERMISSION), ("stranger", LACKS_ROLE)):
        response = client.post("/api/refunds", headers=tokens[user])
        assert response.status_code == 403
        assert json.loads(response.content) == {"detail": description}
        assert response.headers["WWW-Authenticate"] == challenge("orders", "insufficient_scope", description)
    assert client.post("/api/refunds").status_code == 401


def test_drf_declarations_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        HasRoles.require()
    assert HasPermissions.require("read:orders").names == ("read:orders",)


# -- the Lambda authorizer's route table ---------------------------------------------------------------

_ROUTE_TABLE: Final = {
    "POST /orders/{id}/cancel": {"roles": ["orders.admin"]},
    "POST /refunds": {"permissions": ["refund:orders", "read:orders"]},
    "GET /support": {"roles": ["support", "orders.admin"], "any_role": True},
    "GET /orders": ["orders:read"],
}
_LAMBDA_ROUTES: Final = {
    "cancel": "POST /orders/{id}/cancel",
    "refund": "POST /refunds",
    "support": "GET /support",
}


def _event(route: str, authorization: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/" + route.replace(" ", ""),
        "identitySource": [authorization],
        "routeKey": route,
        "headers": {"authorization": authorization},
    }


def test_lambda_route_table_roles_and_permissions(
    verifier: JWTVerifier, tokens: dict[str, dict[str, str]]
) -> None:
    handler = lambda_authorizer(verifier, routes=_ROUTE_TABLE)
    for route, outcomes in EXPECTED.items():
        for user, status in outcomes.items():
            answer = handler(_event(_LAMBDA_ROUTES[route], tokens[user]["Authorization"]), None)
            assert answer["isAuthorized"] is (status == 200), (route, user)
    admitted = handler(_event("GET /support", tokens["admin"]["Authorization"]), None)
    assert admitted["context"]["roles"] == ["offline_access", "orders.admin"]  # payload 2.0: an array


@pytest.mark.parametrize(
    "entry",
    [
        {"roles": "orders.admin", "rolez": ["x"]},
        {"roles": [""]},
        {"roles": ["a"], "any_role": "yes"},
        {"permissions": {"a": 1}},
        {"scopes": ["bad scope"]},
    ],
)
def test_lambda_route_entries_are_checked_at_configuration(verifier: JWTVerifier, entry: Any) -> None:
    with pytest.raises(ConfigurationError):
        lambda_authorizer(verifier, routes={"GET /x": entry})
