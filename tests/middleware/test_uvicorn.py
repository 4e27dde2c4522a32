"""JWTAuthMiddleware under a real uvicorn on 127.0.0.1, driven with httpx2 and a real issuer.

Covers what only a real server shows: the lifespan protocol (keys loaded before the first
request), real header handling, and websockets over TCP, on uvicorn's asyncio and uvloop loops.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from jwt_middleware import CacheSettings, JWKSCache, JWTAuthMiddleware, JWTVerifier
from jwt_middleware.testing import Fault, LocalIssuer
from tests.integrations.support import DPOP_CHALLENGE


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.user.identity, "scopes": sorted(request.auth.scopes)})


@requires("orders:read")
async def orders(request: Request) -> JSONResponse:
    return JSONResponse({"orders": []})


class RunningServer:
    """uvicorn on a listening socket bound here first, so no other process (tests run in parallel
    on this machine) can take the port between choosing it and serving on it. ``sock`` is one the
    caller bound already, for an app that must know its own URL before it is built."""

    def __init__(self, app: ASGIApp, loop: str = "asyncio", sock: socket.socket | None = None) -> None:
        if sock is None:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
        self.socket = sock
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", loop=loop
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 15  # a loaded 2-core machine starts uvicorn slowly
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


@pytest.fixture(params=["asyncio", "uvloop"])
def loop(request: pytest.FixtureRequest) -> str:
    """uvicorn's event loops (it does not run trio)."""
    name: str = request.param
    return name


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="orders-api") as issuer:
        yield issuer


def test_requests_through_a_real_uvicorn(issuer: LocalIssuer, loop: str) -> None:
    cache = JWKSCache(issuer.jwks_url)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="orders-api", jwks_cache=cache)
    app = Starlette(
        routes=[Route("/me", me), Route("/orders", orders)],
        middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)],
    )
    with RunningServer(app, loop) as server:
        # The lifespan startup loaded the keys before any request arrived.
        assert issuer.jwks_requests == 1
        with httpx2.Client(base_url=server.url) as http:
            token = issuer.mint(sub="alice", scope="orders:read")
            response = http.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
            assert response.json() == {"sub": "alice", "scopes": ["authenticated", "orders:read"]}
            assert http.get("/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200

            no_scope = issuer.mint(scope="profile")
            assert http.get("/orders", headers={"Authorization": f"Bearer {no_scope}"}).status_code == 403

            missing = http.get("/me")
            assert missing.status_code == 401
            assert missing.headers["www-authenticate"] == f'Bearer realm="api", {DPOP_CHALLENGE}'

            expired = http.get("/me", headers={"Authorization": f"Bearer {issuer.mint_expired()}"})
            assert expired.status_code == 401
            assert 'error="invalid_token"' in expired.headers["www-authenticate"]

            doubled = http.get(
                "/me", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
            )
            assert doubled.status_code == 400
        assert not cache.in_flight
    assert issuer.jwks_requests == 1


class CacheClock:
    """The cache's monotonic clock, which the test can move past every retry delay."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def test_startup_survives_a_provider_that_is_down(issuer: LocalIssuer, loop: str) -> None:
    clock = CacheClock()
    settings = CacheSettings(retry_initial=0.1)
    cache = JWKSCache(issuer.jwks_url, settings=settings, clock=clock)
    verifier = JWTVerifier(issuer=issuer.issuer, audience="orders-api", jwks_cache=cache)
    app = Starlette(routes=[Route("/me", me)], middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)])
    issuer.server.set_fault(issuer.jwks_path, Fault.status(500))
    with RunningServer(app, loop) as server, httpx2.Client(base_url=server.url) as http:
        token = issuer.mint()
        response = http.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        issuer.server.set_fault(issuer.jwks_path, None)
        # Past any retry delay. A fixed sleep past the first one was not enough on a loaded
        # machine: when the request came more than that delay after startup's failed fetch, it
        # fetched (and failed) too, and the delay had doubled.
        clock.offset += settings.retry_max
        assert http.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
