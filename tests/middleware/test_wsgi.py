"""WSGIJWTMiddleware through Werkzeug's test client and a real threaded WSGI server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx2
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response as WerkzeugResponse

from jwt_middleware import JWTMiddlewareError, JWTVerifier, WSGIJWTMiddleware
from tests.integrations.support import DPOP_CHALLENGE

from .conftest import ISSUER, TokenFactory

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    claims = environ["jwt_middleware.claims"]
    body = json.dumps({"claims": claims}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(verifier: JWTVerifier) -> Client:
    return Client(WSGIJWTMiddleware(app, verifier=verifier, exclude_paths=["/health"]))


def test_valid_token_puts_claims_in_the_environ(client: Client, make_token: TokenFactory) -> None:
    response = client.get("/me", headers=bearer(make_token(sub="carol")))
    assert response.status_code == 200
    assert response.json["claims"]["sub"] == "carol"
    assert response.json["claims"]["iss"] == ISSUER


def test_missing_token_is_a_bare_challenge(client: Client) -> None:
    response = client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="api", {DPOP_CHALLENGE}'
    assert response.headers["Content-Length"] == str(len(response.data))


def test_malformed_header_is_400(client: Client) -> None:
    response = client.get("/me", headers={"Authorization": "Bearer a b"})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_comma_joined_duplicate_headers_are_400(client: Client, make_token: TokenFactory) -> None:
    token = make_token()
    response = client.get("/me", headers={"Authorization": f"Bearer {token}, Bearer {token}"})
    assert response.status_code == 400


def test_expired_token_is_401_invalid_token(client: Client, make_token: TokenFactory) -> None:
    response = client.get("/me", headers=bearer(make_token(exp=int(time.time()) - 1)))
    assert response.status_code == 401
    assert (
        'error="invalid_token", error_description="The token has expired"'
        in response.headers["WWW-Authenticate"]
    )
    assert response.json == {"error": "invalid_token", "error_description": "The token has expired"}


def test_excluded_path_and_optional_mode(verifier: JWTVerifier, make_token: TokenFactory) -> None:
    assert Client(WSGIJWTMiddleware(app, verifier=verifier, exclude_paths=["/health"])).get(
        "/health"
    ).json == {"claims": None}
    optional = Client(WSGIJWTMiddleware(app, verifier=verifier, optional=True))
    assert optional.get("/me").json == {"claims": None}
    assert optional.get("/me", headers=bearer(make_token(exp=1))).status_code == 401


def test_query_parameter_opt_in(verifier: JWTVerifier, make_token: TokenFactory) -> None:
    token = make_token()
    assert (
        Client(WSGIJWTMiddleware(app, verifier=verifier)).get(f"/me?access_token={token}").status_code == 401
    )
    enabled = Client(WSGIJWTMiddleware(app, verifier=verifier, query_parameter="access_token"))
    assert enabled.get(f"/me?access_token={token}").status_code == 200


def test_error_hook_returns_a_wsgi_app(verifier: JWTVerifier) -> None:
    def on_error(environ: WSGIEnvironment, error: JWTMiddlewareError) -> Any:
        return WerkzeugResponse(f"nope: {error.description}", status=error.status_code)

    response = Client(WSGIJWTMiddleware(app, verifier=verifier, on_error=on_error)).get("/me")
    assert response.status_code == 401
    assert response.text == "nope: Authentication is required"


def test_verifier_per_request(verifier: JWTVerifier, make_token: TokenFactory) -> None:
    def choose(environ: WSGIEnvironment) -> JWTVerifier | None:
        return verifier if environ.get("HTTP_HOST") == "tenant-a.test" else None

    client = Client(WSGIJWTMiddleware(app, verifier_for=choose))
    token = make_token()
    assert client.get("/me", headers={**bearer(token), "Host": "tenant-a.test"}).status_code == 200
    assert client.get("/me", headers={**bearer(token), "Host": "tenant-b.test"}).status_code == 401


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def threaded_server(verifier: JWTVerifier) -> Iterator[str]:
    server = make_server(
        "127.0.0.1",
        0,
        WSGIJWTMiddleware(app, verifier=verifier),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_concurrent_requests_under_a_threaded_server(threaded_server: str, make_token: TokenFactory) -> None:
    tokens = [make_token(sub=f"user-{index}") for index in range(16)]
    expired = make_token(exp=1)

    def call(index: int) -> tuple[int, str | None]:
        token = tokens[index % len(tokens)] if index % 5 else expired
        with httpx2.Client() as http:
            response = http.get(f"{threaded_server}/me", headers=bearer(token))
        sub = response.json()["claims"]["sub"] if response.status_code == 200 else None
        return response.status_code, sub

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, range(200)))
    for index, (status, sub) in enumerate(results):
        if index % 5:
            assert (status, sub) == (200, f"user-{index % len(tokens)}")
        else:
            assert status == 401
