"""``forward_token``: the caller's own bearer token on a downstream call, from every framework's request."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware.errors import ConfigurationError, InvalidRequestError, MissingTokenError
from jwt_middleware.oauth import forward_token
from jwt_middleware.request_view import ASGIRequestView, WSGIRequestView
from jwt_middleware.testing import LocalIssuer
from tests.oauth.conftest import Downstream

ENVIRON = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/",
    "SERVER_NAME": "x",
    "SERVER_PORT": "80",
    "wsgi.url_scheme": "http",
}


def test_starlette_passes_the_token_on(issuer: LocalIssuer, api: Downstream) -> None:
    async def orders(request: StarletteRequest) -> JSONResponse:
        async with httpx2.AsyncClient() as client:
            answer = await client.get(api.url, auth=forward_token(request))
        return JSONResponse(answer.json(), status_code=answer.status_code)

    token = issuer.mint(client_id="web", scope="orders/read")
    response = TestClient(Starlette(routes=[Route("/", orders)])).get(
        "/", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json()["client_id"] == "web"
    assert api.tokens == [token]


def test_every_request_shape() -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"authorization", b"Bearer abc")]}
    environ = {**ENVIRON, "HTTP_AUTHORIZATION": "Bearer abc"}

    class Django:
        META = environ

    class Flask:
        environ = {**ENVIRON, "HTTP_AUTHORIZATION": "Bearer abc"}

    class StarletteLike:
        def __init__(self) -> None:
            self.scope = scope

    for request in (
        scope,
        environ,
        Django(),
        Flask(),
        StarletteLike(),
        ASGIRequestView(scope),
        WSGIRequestView(environ),
    ):
        forwarded = forward_token(request)
        assert forwarded.token == "abc"
        assert forwarded.headers == {"Authorization": "Bearer abc"}


def test_the_token_stays_out_of_reprs() -> None:
    forwarded = forward_token({**ENVIRON, "HTTP_AUTHORIZATION": "Bearer very-secret-token"})
    assert "very-secret" not in repr(forwarded)
    assert "very-secret" not in str(forwarded)


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, MissingTokenError),
        ("Basic dXNlcjpwYXNz", MissingTokenError),
        ("Bearer a b", InvalidRequestError),
    ],
)
def test_without_a_bearer_token_nothing_is_forwarded(header: str | None, error: type[Exception]) -> None:
    environ: dict[str, Any] = dict(ENVIRON)
    if header is not None:
        environ["HTTP_AUTHORIZATION"] = header
    with pytest.raises(error):
        forward_token(environ)


def test_something_that_is_not_a_request() -> None:
    with pytest.raises(ConfigurationError, match="needs a request"):
        forward_token("Bearer abc")
