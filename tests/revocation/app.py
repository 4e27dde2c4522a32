"""The app the multi-process tests run in real server processes, configured from the environment.

``asgi_app`` (uvicorn): ``GET /me`` answers the caller's ``sub`` and the process id; ``POST /logout``
revokes the caller's token, as a sign-out route would. ``wsgi_app`` (gunicorn, ``--preload``) is the
same ``/me`` for WSGI; it starts its revocation mirror at import, in the master process, so every
forked worker must start its own. Every response says which process answered (``x-worker-pid``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from jwt_middleware import JWTAuthMiddleware, JWTVerifier, WSGIJWTMiddleware
from jwt_middleware.revocation import RedisRevocationList

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def _verifier() -> JWTVerifier:
    revocations = RedisRevocationList(os.environ["REVOCATION_REDIS_URL"], heartbeat=0.2)
    return JWTVerifier(
        issuer=os.environ["REVOCATION_ISSUER"],
        audience=os.environ["REVOCATION_AUDIENCE"],
        jwks=json.loads(os.environ["REVOCATION_JWKS"]),
        revocations=revocations,
    )


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.identity})


async def logout(request: Request) -> Response:
    revocations = request.app.state.verifier.revocations
    await revocations.revoke_token(request.user.claims)
    return Response(status_code=204)


async def health(request: Request) -> Response:
    return Response("ok")


class _WithPid:
    """Adds ``x-worker-pid`` to every response, so a test knows which process answered."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pid = str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-worker-pid", self.pid)]
            await send(message)

        await self.app(scope, receive, send_with_pid)


def _asgi() -> Any:
    if "REVOCATION_REDIS_URL" not in os.environ:
        return None
    verifier = _verifier()
    app = Starlette(
        routes=[Route("/me", me), Route("/logout", logout, methods=["POST"]), Route("/health", health)]
    )
    app.state.verifier = verifier
    return _WithPid(JWTAuthMiddleware(app, verifier=verifier, exclude_paths=["/health"]))


def _wsgi() -> Any:
    if "REVOCATION_REDIS_URL" not in os.environ:
        return None
    verifier = _verifier()
    verifier.hydrate_sync()  # in gunicorn's master, before the fork: the mirror thread stays behind

    def inner(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        claims = environ.get("jwt_middleware.claims")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"sub": claims["sub"] if claims else None}).encode()]

    protected = WSGIJWTMiddleware(inner, verifier=verifier, exclude_paths=["/health"])

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        pid = str(os.getpid())

        def with_pid(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("X-Worker-Pid", pid)], exc_info)

        return protected(environ, with_pid)

    return app


asgi_app = _asgi()
wsgi_app = _wsgi() if os.environ.get("REVOCATION_WSGI") else None
