"""Cookie-carried tokens and cross-site request forgery, in the ASGI and WSGI middlewares.

The attack: a page on ``https://evil.example`` posts a form to the app; the browser attaches the
victim's cookie. Each test sends what a browser sends in that case, and the same-origin requests
that must keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import BearerAuthenticator, ConfigurationError, JWTAuthMiddleware, JWTVerifier
from jwt_middleware.csrf import CrossSiteRequestError, OriginPolicy, normalize_origin
from jwt_middleware.wsgi import WSGIJWTMiddleware
from tests.middleware.conftest import TokenFactory

APP = "http://testserver"
EVIL = "https://evil.example"


def asgi_client(verifier: JWTVerifier, **options: Any) -> TestClient:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.identity)

    app = Starlette(routes=[Route("/orders", endpoint, methods=["GET", "POST", "PUT", "DELETE"])])
    return TestClient(JWTAuthMiddleware(app, verifier, cookie="session", **options), base_url=APP)


def wsgi_call(verifier: JWTVerifier, method: str, headers: dict[str, str], **options: Any) -> str:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = WSGIJWTMiddleware(app, verifier, cookie="session", **options)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/orders",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
    }
    environ |= {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    status: list[str] = []
    b"".join(middleware(environ, lambda line, _headers, _exc=None: status.append(line)))  # type: ignore[arg-type]
    return status[0]


# Each case: the headers a browser sends, and whether a cookie-carried POST must pass.
CASES = [
    pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": APP}, True, id="same-origin"),
    pytest.param({"Sec-Fetch-Site": "none"}, True, id="typed-url"),
    pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": EVIL}, False, id="cross-site"),
    pytest.param({"Sec-Fetch-Site": "same-site", "Origin": "http://testserver:8080"}, False, id="same-site"),
    pytest.param({"Origin": EVIL}, False, id="old-browser-cross-origin"),
    pytest.param({"Origin": "null"}, False, id="opaque-origin"),
    pytest.param({"Origin": APP}, True, id="old-browser-same-origin"),
    pytest.param({"Origin": "https://testserver"}, True, id="tls-terminated-by-a-proxy"),
    pytest.param({}, True, id="no-browser-headers"),
]


@pytest.mark.parametrize(("headers", "allowed"), CASES)
def test_asgi_cookie_post(
    verifier: JWTVerifier, make_token: TokenFactory, headers: dict[str, str], allowed: bool
) -> None:
    client = asgi_client(verifier)
    client.cookies.set("session", make_token())
    response = client.post("/orders", headers=headers)
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert 'error="invalid_request"' in response.headers["www-authenticate"]
        assert "Cross-origin" in response.headers["www-authenticate"]


@pytest.mark.parametrize(("headers", "allowed"), CASES)
def test_wsgi_cookie_post(
    verifier: JWTVerifier, make_token: TokenFactory, headers: dict[str, str], allowed: bool
) -> None:
    status = wsgi_call(verifier, "POST", {**headers, "Cookie": f"session={make_token()}"})
    assert status.startswith("200" if allowed else "403")


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_pass_cross_site(verifier: JWTVerifier, make_token: TokenFactory, method: str) -> None:
    client = asgi_client(verifier)
    client.cookies.set("session", make_token())
    response = client.request(method, "/orders", headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL})
    assert response.status_code in (200, 405)  # OPTIONS has no route; it was not refused for CSRF


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_every_unsafe_method_is_checked(verifier: JWTVerifier, make_token: TokenFactory, method: str) -> None:
    assert wsgi_call(verifier, method, {"Origin": EVIL, "Cookie": f"session={make_token()}"}).startswith(
        "403"
    )


def test_bearer_headers_are_not_subject_to_the_rule(verifier: JWTVerifier, make_token: TokenFactory) -> None:
    client = asgi_client(verifier)
    response = client.post(
        "/orders",
        headers={"Authorization": f"Bearer {make_token()}", "Sec-Fetch-Site": "cross-site", "Origin": EVIL},
    )
    assert response.status_code == 200


def test_trusted_origins(verifier: JWTVerifier, make_token: TokenFactory) -> None:
    client = asgi_client(verifier, trusted_origins=["https://admin.example.com:443"])
    client.cookies.set("session", make_token())
    trusted = client.post(
        "/orders", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://ADMIN.example.com"}
    )
    assert trusted.status_code == 200
    other = client.post(
        "/orders", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://admin.example.com:8443"}
    )
    assert other.status_code == 403
    assert wsgi_call(
        verifier,
        "POST",
        {"Origin": "https://admin.example.com", "Cookie": f"session={make_token()}"},
        trusted_origins=["https://admin.example.com"],
    ).startswith("200")


def test_double_submit_header(verifier: JWTVerifier, make_token: TokenFactory) -> None:
    authenticator = BearerAuthenticator(
        verifier, cookie="session", csrf_header="X-CSRF-Token", csrf_cookie="csrf"
    )
    app = Starlette(routes=[Route("/orders", lambda request: PlainTextResponse("ok"), methods=["POST"])])
    client = TestClient(JWTAuthMiddleware(app, authenticator=authenticator), base_url=APP)
    client.cookies.set("session", make_token())
    client.cookies.set("csrf", "k" * 32)
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    assert client.post("/orders", headers=same_origin).status_code == 403
    assert client.post("/orders", headers={**same_origin, "X-CSRF-Token": "x" * 32}).status_code == 403
    assert client.post("/orders", headers={**same_origin, "X-CSRF-Token": "k" * 32}).status_code == 200
    client.cookies.delete("csrf")
    assert client.post("/orders", headers={**same_origin, "X-CSRF-Token": "k" * 32}).status_code == 403


def test_configuration() -> None:
    with pytest.raises(ConfigurationError, match="trusted_origins"):
        OriginPolicy(["https://example.com/path"])
    with pytest.raises(ConfigurationError, match="together"):
        OriginPolicy(csrf_header="X-CSRF-Token")
    assert normalize_origin("HTTPS://Example.COM:443") == "https://example.com"
    assert normalize_origin("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"


def test_trusted_origins_need_a_cookie(verifier: JWTVerifier) -> None:
    with pytest.raises(ConfigurationError, match="cookie"):
        BearerAuthenticator(verifier, trusted_origins=["https://example.com"])
    with pytest.raises(ConfigurationError, match="trusted_origins"):
        JWTAuthMiddleware(
            Starlette(), authenticator=BearerAuthenticator(verifier), trusted_origins=["https://example.com"]
        )


def test_the_error_is_a_403_with_a_fixed_description() -> None:
    error = CrossSiteRequestError()
    assert error.status_code == 403
    assert error.description == "Cross-origin requests cannot use the session cookie"
