"""Drive the real ASGI and WSGI middlewares with raw requests, and check every error response.

No test client sits in between: the ASGI middleware gets a raw scope (header bytes exactly as
given, repeated headers kept), the WSGI middleware a raw environ (repeated headers folded with
", " as WSGI servers do). ``check_error_response`` holds the response rules of RFC 6750 section 3
and of this library: a fixed description that is one of the library's own sentences, never input.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt_middleware
from jwt_middleware import JWTAuthMiddleware, JWTVerifier, WSGIJWTMiddleware
from tests.security.kit import MARKER

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from starlette.types import Message, Receive, Scope, Send

_QUOTED = r"[\x20\x21\x23-\x5b\x5d-\x7e]*"
_CODES = "invalid_request|invalid_token|insufficient_scope|invalid_dpop_proof|use_dpop_nonce"
_ERROR = rf'error="(?P<{{kind}}>{_CODES})", error_description="(?P<{{kind}}_description>{_QUOTED})"'
CHALLENGE = re.compile(
    r'Bearer realm="api"'
    rf"(?:, {_ERROR.format(kind='error')}"
    r'(?:, scope="[\x21\x23-\x5b\x5d-\x7e ]+")?)?'
    rf"(?:, DPoP (?:{_ERROR.format(kind='dpop_error')}, )?"
    r'algs="[A-Za-z0-9 ]+")?'
)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


async def _ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _ok_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


async def asgi_request(
    verifier: JWTVerifier, headers: list[tuple[str, str]], query: str = "", **options: Any
) -> Answer:
    middleware = JWTAuthMiddleware(_ok_app, verifier=verifier, **options)
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/orders",
        "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        "query_string": query.encode("latin-1"),
    }
    await middleware(scope, receive, send)
    start = messages[0]
    return Answer(
        status=start["status"],
        headers={name.decode("latin-1"): value.decode("latin-1") for name, value in start.get("headers", [])},
        body=b"".join(message.get("body", b"") for message in messages[1:]),
    )


def wsgi_request(
    verifier: JWTVerifier, headers: list[tuple[str, str]], query: str = "", **options: Any
) -> Answer:
    middleware = WSGIJWTMiddleware(_ok_wsgi, verifier=verifier, **options)
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/orders", "QUERY_STRING": query}
    for name, value in headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append((status, response_headers))

    body = b"".join(middleware(environ, start_response))
    status, response_headers = seen[0]
    return Answer(int(status.split()[0]), {name.lower(): value for name, value in response_headers}, body)


@functools.cache
def _library_sentences() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """Every string literal in the library, and every f-string passed to an error class as a
    pattern: the only possible descriptions, if descriptions are never built from input."""
    constants: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for path in Path(jwt_middleware.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.JoinedStr):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if not name.endswith("Error"):
                    continue
                parts = [
                    re.escape(part.value) if isinstance(part, ast.Constant) else "[A-Za-z ]+"
                    for part in node.args[0].values
                ]
                patterns.append(re.compile("".join(parts)))
    return frozenset(constants), tuple(patterns)


def is_library_sentence(text: str) -> bool:
    constants, patterns = _library_sentences()
    return text in constants or any(pattern.fullmatch(text) for pattern in patterns)


def check_error_response(answer: Answer) -> tuple[str | None, str]:
    """Assert RFC 6750 hygiene of a non-2xx answer; return its (error code, description)."""
    assert answer.status in (400, 401, 403), answer.status
    for name, value in answer.headers.items():
        assert MARKER not in value, name
        assert "\r" not in value, name
        assert "\n" not in value, name
    assert MARKER.encode() not in answer.body
    document = json.loads(answer.body)
    assert set(document) <= {"error", "error_description"}, document
    description = document["error_description"]
    assert re.fullmatch(_QUOTED, description), description
    assert is_library_sentence(description), description
    challenge = CHALLENGE.fullmatch(answer.headers["www-authenticate"])
    assert challenge is not None, answer.headers["www-authenticate"]
    assert challenge["error"] is None or challenge["dpop_error"] is None  # one challenge names the error
    named, named_description = (
        (challenge["error"], challenge["error_description"])
        if challenge["dpop_error"] is None
        else (challenge["dpop_error"], challenge["dpop_error_description"])
    )
    assert named == document.get("error")
    if named is not None:
        assert named_description == description
    assert answer.headers.get("cache-control") == "no-store"
    return document.get("error"), description
