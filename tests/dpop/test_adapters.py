"""Route-level DPoP (``require_dpop`` in each adapter's guard style) and RFC 9728 metadata in every
adapter, through each framework's own test client."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import (
    Claims,
    ConfigurationError,
    JWTAuthMiddleware,
    JWTVerifier,
    ProtectedResourceMetadata,
    WSGIJWTMiddleware,
    require_dpop,
    require_scopes,
)
from jwt_middleware.testing import DPoPKey
from tests.dpop.conftest import AUDIENCE, ISSUER, TokenFactory
from tests.integrations.support import setup_django

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

setup_django()

BASE = "https://api.example.com"
RESOURCE = f"{BASE}/orders"
METADATA_URL = f"{BASE}/.well-known/oauth-protected-resource/orders"
REQUIRED = 'DPoP error="invalid_token", error_description="This resource accepts DPoP-bound tokens only"'


@pytest.fixture
def metadata() -> ProtectedResourceMetadata:
    return ProtectedResourceMetadata(
        resource=RESOURCE, scopes_supported=["orders:read"], resource_name="Orders"
    )


# -- the document ---------------------------------------------------------------------------------


def test_the_document_is_filled_from_the_verifier(
    verifier: JWTVerifier, metadata: ProtectedResourceMetadata
) -> None:
    document = metadata.for_verifier(verifier).document()
    assert document == {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["orders:read"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Orders",
        "dpop_signing_alg_values_supported": list(verifier.dpop.algorithms),
    }
    assert metadata.url == METADATA_URL
    assert metadata.paths == (
        "/.well-known/oauth-protected-resource/orders",
        "/.well-known/oauth-protected-resource",
    )
    assert ProtectedResourceMetadata(resource=BASE).paths == ("/.well-known/oauth-protected-resource",)


def test_required_dpop_is_published(jwks: dict[str, Any]) -> None:
    verifier = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=jwks, dpop="required", dpop_algorithms=["ES256"]
    )
    document = ProtectedResourceMetadata(resource=RESOURCE).for_verifier(verifier).document()
    assert document["dpop_bound_access_tokens_required"] is True
    assert document["dpop_signing_alg_values_supported"] == ["ES256"]


@pytest.mark.parametrize(
    "options",
    [
        {"resource": "http://api.example.com/orders"},  # http only on loopback
        {"resource": "https://api.example.com/orders#frag"},
        {"resource": RESOURCE, "authorization_servers": ["ftp://issuer"]},
        {"resource": RESOURCE, "scopes_supported": ["has space"]},
    ],
)
def test_a_bad_document_is_refused_at_configuration_time(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ProtectedResourceMetadata(**options)


# -- ASGI and WSGI middlewares ------------------------------------------------------------------------


async def orders(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.identity})


def test_the_asgi_middleware_serves_the_document_and_names_it(
    verifier: JWTVerifier, metadata: ProtectedResourceMetadata, make_token: TokenFactory
) -> None:
    app = Starlette(
        routes=[Route("/orders", require_scopes("orders:read")(orders))],
        middleware=[Middleware(JWTAuthMiddleware, verifier=verifier, resource_metadata=metadata)],
    )
    with TestClient(app, base_url=BASE) as client:
        for path in metadata.paths:
            served = client.get(path)
            assert served.status_code == 200
            assert served.json()["resource"] == RESOURCE
            assert served.headers["access-control-allow-origin"] == "*"
        assert client.options(metadata.paths[0]).status_code == 204
        assert client.head(metadata.paths[0]).content == b""
        refused = client.get("/orders")
        no_scope = client.get("/orders", headers={"Authorization": f"Bearer {make_token(scope='profile')}"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith(
        f'Bearer realm="api", resource_metadata="{METADATA_URL}", DPoP algs="'
    )
    assert refused.headers["www-authenticate"].endswith(f'", resource_metadata="{METADATA_URL}"')
    assert no_scope.status_code == 403
    assert "resource_metadata" not in no_scope.headers["www-authenticate"]


def _wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["jwt_middleware.claims"]["sub"].encode()]


def test_the_wsgi_middleware_serves_the_document_and_names_it(
    verifier: JWTVerifier, metadata: ProtectedResourceMetadata
) -> None:
    app = WSGIJWTMiddleware(_wsgi_app, verifier=verifier, resource_metadata=metadata)
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=BASE) as client:
        document = client.get(metadata.paths[0]).json()
        refused = client.get("/orders")
    assert document["authorization_servers"] == [ISSUER]
    assert f'resource_metadata="{METADATA_URL}"' in refused.headers["www-authenticate"]


def test_starlette_require_dpop_tightens_one_route(
    verifier: JWTVerifier, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    app = Starlette(
        routes=[Route("/transfer", require_dpop(orders), methods=["POST"]), Route("/orders", orders)],
        middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)],
    )
    bearer = {"Authorization": f"Bearer {make_token()}"}
    with TestClient(app, base_url=BASE) as client:
        assert client.get("/orders", headers=bearer).status_code == 200
        refused = client.post("/transfer", headers=bearer)
        assert client.post("/transfer", auth=dpop_key.auth(make_token(dpop_key))).json() == {"sub": "alice"}
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith(REQUIRED)


# -- FastAPI ----------------------------------------------------------------------------------------


def test_fastapi_require_dpop_and_the_metadata_router(
    verifier: JWTVerifier, metadata: ProtectedResourceMetadata, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    from jwt_middleware.integrations.fastapi import JWTBearer

    auth = JWTBearer(verifier, resource_metadata=metadata)
    app = FastAPI()
    app.include_router(auth.metadata_router())

    dpop_only = Depends(auth.require_dpop())

    @app.post("/transfer")
    async def transfer(claims: Claims = dpop_only) -> dict[str, Any]:
        return {"sub": claims.subject}

    with TestClient(app, base_url=BASE) as client:
        assert client.get(metadata.paths[1]).json()["resource"] == RESOURCE
        refused = client.post("/transfer", headers={"Authorization": f"Bearer {make_token()}"})
        anonymous = client.post("/transfer")
        accepted = client.post("/transfer", auth=dpop_key.auth(make_token(dpop_key)))
    assert (refused.status_code, accepted.json()) == (401, {"sub": "alice"})
    assert refused.headers["www-authenticate"].startswith(REQUIRED)
    assert f'resource_metadata="{METADATA_URL}"' in anonymous.headers["www-authenticate"]
    assert "/.well-known" not in json.dumps(app.openapi())


# -- Flask ------------------------------------------------------------------------------------------


def test_flask_require_dpop_and_the_metadata_routes(
    verifier: JWTVerifier, metadata: ProtectedResourceMetadata, dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    from flask import Flask

    from jwt_middleware.integrations.flask import JWTAuth, current_claims
    from jwt_middleware.integrations.flask import require_dpop as flask_require_dpop

    app = Flask(__name__)
    JWTAuth(app, verifier=verifier, resource_metadata=metadata)

    @app.post("/transfer")
    @flask_require_dpop
    def transfer() -> dict[str, Any]:
        return {"sub": current_claims.subject}

    client = app.test_client()
    token = make_token(dpop_key)
    assert client.get(metadata.paths[0]).json["resource"] == RESOURCE  # type: ignore[index]
    refused = client.post("/transfer", headers={"Authorization": f"Bearer {make_token()}"})
    accepted = client.post("/transfer", headers=dpop_key.headers("POST", "http://localhost/transfer", token))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith(REQUIRED)
    assert accepted.json == {"sub": "alice"}


# -- Django and DRF -------------------------------------------------------------------------------------


@pytest.fixture
def django_settings(verifier: JWTVerifier, metadata: ProtectedResourceMetadata) -> Iterator[None]:
    from django.test import override_settings

    with override_settings(
        JWT_MIDDLEWARE={"VERIFIER": verifier, "RESOURCE_METADATA": metadata, "OPTIONAL": True}
    ):
        yield


@pytest.mark.usefixtures("django_settings")
def test_django_require_dpop_and_the_middleware_serving_the_document(
    dpop_key: DPoPKey, make_token: TokenFactory
) -> None:
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.test import RequestFactory

    from jwt_middleware.integrations.django import JWTAuthenticationMiddleware
    from jwt_middleware.integrations.django import require_dpop as django_require_dpop

    @django_require_dpop
    def transfer(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"sub": request.jwt_claims.subject})  # type: ignore[attr-defined]

    middleware = JWTAuthenticationMiddleware(transfer)
    factory = RequestFactory()
    document = middleware(factory.get("/.well-known/oauth-protected-resource/orders"))
    assert json.loads(document.content)["resource"] == RESOURCE
    refused = middleware(factory.post("/transfer", headers={"Authorization": f"Bearer {make_token()}"}))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith(REQUIRED)
    token = make_token(dpop_key)
    accepted = middleware(
        factory.post("/transfer", headers=dpop_key.headers("POST", "http://testserver/transfer", token))
    )
    assert json.loads(accepted.content) == {"sub": "alice"}
    anonymous = middleware(factory.post("/transfer"))
    assert f'resource_metadata="{METADATA_URL}"' in anonymous.headers["WWW-Authenticate"]


@pytest.mark.usefixtures("django_settings")
def test_drf_has_dpop_token(dpop_key: DPoPKey, make_token: TokenFactory) -> None:
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from jwt_middleware.integrations.drf import HasDPoPToken, JWTAuthentication

    class Transfer(APIView):  # type: ignore[misc]
        authentication_classes = [JWTAuthentication]
        permission_classes = [HasDPoPToken]

        def post(self, request: Any) -> Response:
            return Response({"sub": request.auth.subject})

    view = Transfer.as_view()
    factory = APIRequestFactory()
    refused = view(factory.post("/transfer", HTTP_AUTHORIZATION=f"Bearer {make_token()}"))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith(REQUIRED)
    token = make_token(dpop_key)
    headers = dpop_key.headers("POST", "http://testserver/transfer", token)
    accepted = view(
        factory.post("/transfer", HTTP_AUTHORIZATION=headers["Authorization"], HTTP_DPOP=headers["DPoP"])
    )
    assert accepted.status_code == 200
    assert accepted.data == {"sub": "alice"}
