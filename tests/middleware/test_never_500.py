"""Property tests: no Authorization header and no mutated token ever produces a 5xx.

Both middlewares are driven directly (no test client in between, so nothing normalises the
headers first) with arbitrary header bytes and with single-character mutations of a valid token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from jwt_middleware import JWTAuthMiddleware, JWTVerifier, WSGIJWTMiddleware

from .conftest import TokenFactory

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PROFILE = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \t,~"\\\x00é'


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def ok_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


async def asgi_status(
    middleware: JWTAuthMiddleware, headers: list[tuple[bytes, bytes]]
) -> tuple[int, Message]:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""}
    await middleware(scope, receive, send)
    return messages[0]["status"], messages[-1]


def wsgi_status(middleware: WSGIJWTMiddleware, authorization: str) -> tuple[int, bytes]:
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append(status)
        for name, value in headers:
            value.encode("latin-1")  # a header the server could not send would be a bug too
            assert "\r" not in value, name
            assert "\n" not in value, name

    environ = {"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": authorization}
    body = b"".join(middleware(environ, start_response))
    return int(seen[0].split()[0]), body


def mutate(token: str, position: int, kind: str, char: str) -> str:
    position %= len(token)
    if kind == "replace":
        return token[:position] + char + token[position + 1 :]
    if kind == "insert":
        return token[:position] + char + token[position:]
    return token[:position] + token[position + 1 :]


def check_error_body(body: bytes) -> None:
    document = json.loads(body)
    assert set(document) <= {"error", "error_description"}
    assert '"' not in document["error_description"]
    assert "\\" not in document["error_description"]


@PROFILE
@given(raw=st.binary(max_size=300))
def test_arbitrary_authorization_bytes_never_give_a_5xx(verifier: JWTVerifier, raw: bytes) -> None:
    middleware = JWTAuthMiddleware(ok_app, verifier=verifier)
    status, last = anyio.run(asgi_status, middleware, [(b"authorization", raw)])
    assert status in (200, 400, 401, 403)
    if status != 200:
        check_error_body(last["body"])
    wsgi = WSGIJWTMiddleware(ok_wsgi, verifier=verifier)
    wsgi_result, _ = wsgi_status(wsgi, raw.decode("latin-1"))
    assert wsgi_result in (200, 400, 401, 403)


@PROFILE
@given(
    headers=st.lists(
        st.tuples(st.sampled_from([b"authorization", b"cookie", b"x-other"]), st.binary(max_size=80)),
        max_size=4,
    )
)
def test_arbitrary_header_sets_never_give_a_5xx(
    verifier: JWTVerifier, headers: list[tuple[bytes, bytes]]
) -> None:
    middleware = JWTAuthMiddleware(ok_app, verifier=verifier, cookie="at", optional=True)
    status, _ = anyio.run(asgi_status, middleware, headers)
    assert status in (200, 400, 401)


@pytest.fixture(scope="module")
def valid_token(make_token: TokenFactory) -> str:
    return make_token(exp=4_000_000_000)


@PROFILE
@given(
    position=st.integers(min_value=0, max_value=10_000),
    kind=st.sampled_from(["replace", "insert", "delete"]),
    char=st.sampled_from(TOKEN_ALPHABET),
)
def test_mutated_tokens_are_rejected_without_a_5xx(
    verifier: JWTVerifier, valid_token: str, position: int, kind: str, char: str
) -> None:
    mutated = mutate(valid_token, position, kind, char)
    middleware = JWTAuthMiddleware(ok_app, verifier=verifier)
    status, _ = anyio.run(
        asgi_status, middleware, [(b"authorization", f"Bearer {mutated}".encode("latin-1"))]
    )
    wsgi_result, _ = wsgi_status(WSGIJWTMiddleware(ok_wsgi, verifier=verifier), f"Bearer {mutated}")
    assert status == wsgi_result
    # RFC 6750 allows several spaces after "Bearer", and servers drop trailing whitespace: those
    # "mutations" leave the credential unchanged.
    if mutated.lstrip(" ").rstrip(" \t") == valid_token:
        assert status == 200
    else:
        assert status in (400, 401), (kind, position, char)


def test_the_valid_token_itself_passes(verifier: JWTVerifier, valid_token: str) -> None:
    # The positive control that keeps the mutation test honest.
    middleware = JWTAuthMiddleware(ok_app, verifier=verifier)
    status, _ = anyio.run(asgi_status, middleware, [(b"authorization", f"Bearer {valid_token}".encode())])
    assert status == 200
