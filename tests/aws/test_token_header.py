"""The middlewares' ``header=`` option: a raw token in a header of its own (ALB's x-amzn-oidc-data)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from jwt_middleware import (
    ConfigurationError,
    InvalidRequestError,
    JWTAuthMiddleware,
    JWTVerifier,
    MissingTokenError,
    WSGIJWTMiddleware,
)
from jwt_middleware.bearer import check_header_name, extract_header_token, parse_raw_token
from jwt_middleware.request_auth import SKIP, RequestPolicy
from jwt_middleware.testing import LocalIssuer
from tests.integrations.support import DPOP_CHALLENGE

HEADER = "X-Upstream-Token"


# -- extraction --------------------------------------------------------------------------------------


def test_the_header_value_is_the_token() -> None:
    assert extract_header_token(["a.b.c"]) == "a.b.c"
    assert extract_header_token([" a.b.c\t"]) == "a.b.c"
    assert extract_header_token([]) is None


def test_padding_is_allowed_inside_the_value_for_alb_tokens() -> None:
    assert parse_raw_token("eyJ0eXAi==.eyJzdWIi=.c2ln==") == "eyJ0eXAi==.eyJzdWIi=.c2ln=="


@pytest.mark.parametrize(
    "values",
    [["a.b.c", "d.e.f"], ["a.b.c, d.e.f"], ["Bearer a.b.c"], [""], ["  "], ["a.b.c;x"], ["a\u00e9.b.c"]],
)
def test_several_values_or_malformed_ones_are_a_400(values: list[str]) -> None:
    with pytest.raises(InvalidRequestError):
        extract_header_token(values)


@pytest.mark.parametrize("name", ["", "x header", "x:y", "Authorization", "AUTHORIZATION", None, "x\n"])
def test_header_names_are_checked_at_configuration(name: Any) -> None:
    with pytest.raises(ConfigurationError):
        check_header_name(name)


def test_header_names_are_case_insensitive() -> None:
    assert check_header_name("X-Amzn-OIDC-Data") == "x-amzn-oidc-data"


def test_policy_reads_only_the_header_when_one_is_configured() -> None:
    policy = RequestPolicy(header=HEADER, exclude_paths=["/health"])
    assert policy.header == HEADER.lower()
    assert policy.token_for("/x", ["Bearer ignored.a.b"], header_values=["t.o.k"]) == "t.o.k"
    with pytest.raises(MissingTokenError):
        policy.token_for("/x", ["Bearer a.b.c"])
    assert policy.token_for("/health", [], header_values=[]) is SKIP
    assert RequestPolicy(header=HEADER, optional=True).token_for("/x", []) is None


@pytest.mark.parametrize("other", [{"query_parameter": "access_token"}, {"cookie": "jwt"}])
def test_a_token_header_excludes_other_locations(other: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RequestPolicy(header=HEADER, **other)


def test_without_the_option_nothing_changes() -> None:
    policy = RequestPolicy()
    assert policy.header is None
    assert policy.token_for("/x", ["Bearer a.b.c"], header_values=["ignored"]) == "a.b.c"


# -- through the middlewares -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provider() -> Iterable[LocalIssuer]:
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def verifier(provider: LocalIssuer) -> JWTVerifier:
    return provider.verifier()


async def who(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.identity if request.user.is_authenticated else "anonymous")


def asgi_client(verifier: JWTVerifier, **options: Any) -> TestClient:
    app = JWTAuthMiddleware(Starlette(routes=[Route("/", who)]), verifier=verifier, header=HEADER, **options)
    return TestClient(app)


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    claims = environ["jwt_middleware.claims"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(claims.subject if claims else "anonymous").encode()]


def test_asgi_reads_the_token_from_the_header(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    client = asgi_client(verifier)
    assert client.get("/", headers={HEADER: provider.mint(sub="ann")}).text == "ann"
    assert client.get("/", headers={HEADER.lower(): provider.mint(sub="bo")}).text == "bo"


def test_asgi_ignores_the_authorization_header_in_header_mode(
    provider: LocalIssuer, verifier: JWTVerifier
) -> None:
    client = asgi_client(verifier)
    response = client.get("/", headers={"Authorization": f"Bearer {provider.mint()}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'Bearer realm="api", {DPOP_CHALLENGE}'


def test_asgi_header_errors(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    client = asgi_client(verifier)
    token = provider.mint()
    twice = client.get("/", headers=[(HEADER, token), (HEADER, token)])
    assert twice.status_code == 400
    assert client.get("/", headers={HEADER: f"Bearer {token}"}).status_code == 400
    assert client.get("/", headers={HEADER: provider.mint_expired()}).status_code == 401
    assert asgi_client(verifier, optional=True).get("/").text == "anonymous"


def test_wsgi_reads_the_token_from_the_header(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    client = Client(WSGIJWTMiddleware(wsgi_app, verifier=verifier, header=HEADER))
    assert client.get("/", headers={HEADER: provider.mint(sub="cy")}).text == "cy"
    assert client.get("/", headers={"Authorization": f"Bearer {provider.mint()}"}).status_code == 401
    assert client.get("/", headers={HEADER: "not a token"}).status_code == 400
    optional = Client(WSGIJWTMiddleware(wsgi_app, verifier=verifier, header=HEADER, optional=True))
    assert optional.get("/").text == "anonymous"


def test_the_middlewares_refuse_a_bad_header_option(verifier: JWTVerifier) -> None:
    with pytest.raises(ConfigurationError):
        JWTAuthMiddleware(Starlette(), verifier=verifier, header="Authorization")
    with pytest.raises(ConfigurationError):
        WSGIJWTMiddleware(wsgi_app, verifier=verifier, header=HEADER, cookie="jwt")
