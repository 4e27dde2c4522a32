"""One app under a real uvicorn in a process of its own, loaded from another: the benchmark harness.

The server process runs uvicorn (uvloop, httptools) with the chosen middleware in front of a
one-route app, a ``LoopLagProbe`` ticking on its loop, and a stats endpoint; the load process
keeps keep-alive connections busy with raw HTTP/1.1 following a plan (which tokens, when to switch
to a rotated key, how many requests name a random ``kid``, or one burst). The fault scenarios
(``faults``) and the per-request cost under uvicorn (``middleware``) are both built on it.

Variants: ``jwt_middleware`` (a ``JWKSCache``, token cache off), PyJWT's ``PyJWKClient`` (from the
threadpool, as a sync FastAPI dependency would run), the floor middleware (split, base64url, JSON
and the RSA verify, nothing else) and the bare app.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import time
from typing import Any

from benchmarks.loopback import exchange
from jwt_middleware import b64
from jwt_middleware.testing import SigningKey, encode_compact

__all__ = [
    "AUDIENCE",
    "BARE",
    "CALIBRATED",
    "CONNECTIONS",
    "DISTINCT_TOKENS",
    "ISSUER",
    "JWKS_PATH",
    "LIBRARIES",
    "MINIMAL",
    "STATS_PATH",
    "CalibratedFloorMiddleware",
    "FloorMiddleware",
    "arithmetic",
    "asgi_scope",
    "get",
    "junk_headers",
    "load",
    "serve",
    "server_cpu_seconds",
    "tokens_for",
    "wait_listening",
]

ISSUER = "https://issuer.bench"
AUDIENCE = "bench-api"
JWKS_PATH = "/jwks"
STATS_PATH = "/__stats"
CONNECTIONS = 16
DISTINCT_TOKENS = 1000
LIBRARIES = ("jwt_middleware", "PyJWT PyJWKClient")
#: Two more servers for the per-request cost: the app alone, and behind the floor middleware.
BARE = "no middleware"
MINIMAL = "minimal middleware"
#: And one to read the harness by: the floor middleware plus a fixed amount of pure arithmetic.
CALIBRATED = "minimal middleware + fixed arithmetic"


def asgi_scope(token: str) -> dict[str, Any]:
    """The ASGI scope of ``GET /`` with ``token`` as its bearer token, for apps called in process."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench.local"),
            (b"accept", b"*/*"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


# -- the server process ---------------------------------------------------------------------------


def protected_app(library: str, jwks_url: str, ttl: float) -> Any:
    """The innermost app behind the chosen library's middleware (token cache off)."""

    async def hello(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello"})

    if library == "jwt_middleware":
        from jwt_middleware import CacheSettings, JWKSCache, JWTAuthMiddleware, JWTVerifier

        cache = JWKSCache(jwks_url, settings=CacheSettings(min_ttl=min(ttl, 300.0)))
        verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_cache=cache, token_cache_size=None)
        return JWTAuthMiddleware(hello, verifier=verifier, manage_lifespan=False)
    if library == MINIMAL:
        return FloorMiddleware.from_jwks_url(hello, jwks_url)
    if library == CALIBRATED:
        return CalibratedFloorMiddleware.from_jwks_url(hello, jwks_url)
    if library == BARE:
        return hello
    return _PyJWTMiddleware(hello, jwks_url, ttl)


class FloorMiddleware:
    """The floor for a verifying middleware: split, base64url, JSON and the RSA verify, nothing else.

    No claim is checked and no error is handled: it only serves to measure what the work every
    verifying middleware must do costs, in process and under a real server.
    """

    def __init__(self, app: Any, public_key: Any) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        self.app = app
        self.public_key = public_key
        self.padding, self.hash = padding.PKCS1v15(), hashes.SHA256()

    @classmethod
    def from_jwks_url(cls, app: Any, jwks_url: str) -> FloorMiddleware:
        import urllib.request

        from jwt_middleware.jwk import KeySet

        with urllib.request.urlopen(jwks_url, timeout=5) as response:  # noqa: S310 - loopback
            return cls(app, KeySet.from_jwks(response.read()).keys[0].public_key)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                header, payload, signature = value[7:].split(b".")
                json.loads(b64.decode(header.decode()))
                scope["claims"] = json.loads(b64.decode(payload.decode()))
                self.public_key.verify(
                    b64.decode(signature.decode()), header + b"." + payload, self.padding, self.hash
                )
        await self.app(scope, receive, send)


class CalibratedFloorMiddleware(FloorMiddleware):
    """The floor middleware plus ``arithmetic()``: CPU work of a known cost and next to no memory.

    Under a real server an added µs of work can cost more than a µs: the server, slower, leaves
    the load generator idle more often and pays to wake it, and its caches fare differently. How
    much more this costs under uvicorn than in process says how to read every other added cost.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        arithmetic()
        await super().__call__(scope, receive, send)


#: A modular power on a 521-bit modulus: a few µs of arithmetic on a handful of machine words.
_CALIBRATION_MODULUS = (1 << 521) - 1
_CALIBRATION_EXPONENT = 1 << 12


def arithmetic() -> int:
    """The calibration's work, the same in process and under the server."""
    return pow(3, _CALIBRATION_EXPONENT, _CALIBRATION_MODULUS)


class _PyJWTMiddleware:
    """What a service built on PyJWT does: ``PyJWKClient`` from the threadpool, then ``jwt.decode``."""

    def __init__(self, app: Any, jwks_url: str, ttl: float) -> None:
        import jwt

        self.app = app
        self.jwt = jwt
        self.client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=ttl, timeout=3)

    def _verify(self, token: str) -> Any:
        key = self.client.get_signing_key_from_jwt(token)
        return self.jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import anyio.to_thread

        header = dict(scope["headers"]).get(b"authorization", b"")
        status = 200
        try:
            await anyio.to_thread.run_sync(self._verify, header[7:].decode())
        except self.jwt.PyJWKClientConnectionError:
            status = 503
        except self.jwt.PyJWTError:
            status = 401
        if status != 200:
            await send(
                {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def serve(library: str, jwks_url: str, ttl: float, port: int) -> None:
    """Server process: uvicorn (uvloop, httptools) with a loop-lag probe and a stats endpoint."""
    import uvicorn

    from jwt_middleware.testing import LoopLagProbe

    protected = protected_app(library, jwks_url, ttl)
    probe = LoopLagProbe()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await probe.__aenter__()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await probe.__aexit__(None, None, None)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == STATS_PATH:
            body = json.dumps({"longest_ms": probe.longest * 1000, "ticks": probe.ticks}).encode()
            probe.longest = 0.0  # the next read covers only what came after this one
            length = str(len(body)).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await protected(scope, receive, send)

    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="error", access_log=False
    )


# -- the load process -----------------------------------------------------------------------------


def _request(token: str) -> bytes:
    return f"GET / HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


def load(port: int, plan: dict[str, Any], started_event: Any, results: Any) -> None:
    """Load process: keep-alive requests following ``plan``; sends back (at, latency, status, junk).

    ``started_event`` is set when the run's clock starts, so the provider's timeline runs on it.
    """
    old, new = plan["old"], plan["new"]
    junk_headers: list[str] = plan["junk_headers"]

    def pick(index: int, elapsed: float) -> tuple[bytes, bool]:
        rotated = plan["rotate_at"] is not None and elapsed >= plan["rotate_at"]
        tokens = new if rotated else old
        token = tokens[index % len(tokens)]
        if plan["junk_fraction"] and index % round(1 / plan["junk_fraction"]) == 0:
            _header, rest = token.split(".", 1)
            return _request(f"{junk_headers[index % len(junk_headers)]}.{rest}"), True
        return _request(token), False

    samples: list[tuple[float, float, int, bool]] = []

    async def worker(offset: int, started: float, deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        index = offset
        try:
            while (now := time.perf_counter()) < deadline:
                request, junk = pick(index, now - started)
                status = await exchange(reader, writer, request)
                samples.append((now - started, time.perf_counter() - now, status, junk))
                index += CONNECTIONS
        finally:
            writer.close()

    async def burst(count: int) -> None:
        connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
        go = asyncio.Event()

        async def one(index: int) -> None:
            reader, writer = connections[index]
            await go.wait()
            sent = time.perf_counter()
            status = await exchange(reader, writer, _request(old[index % len(old)]))
            samples.append((0.0, time.perf_counter() - sent, status, False))
            writer.close()

        tasks = [asyncio.ensure_future(one(index)) for index in range(count)]
        await asyncio.sleep(0.2)
        started_event.set()
        go.set()
        await asyncio.gather(*tasks)

    async def main() -> None:
        if plan["burst"]:
            await burst(plan["burst"])
            return
        started = time.perf_counter()
        deadline = started + plan["seconds"]
        started_event.set()
        await asyncio.gather(*(worker(offset, started, deadline) for offset in range(CONNECTIONS)))

    asyncio.run(main())
    results.put(samples)


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head[9:12]), body


def wait_listening(port: int, process: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.is_alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the benchmark server did not start")


def tokens_for(key: SigningKey, count: int) -> list[str]:
    now = int(time.time())
    return [
        encode_compact(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": f"user-{index}", "iat": now, "exp": now + 3600}, key
        )
        for index in range(count)
    ]


def junk_headers(count: int) -> list[str]:
    return [
        b64.encode(json.dumps({"alg": "RS256", "kid": secrets.token_hex(8)}).encode()) for _ in range(count)
    ]


def server_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time a process has used, ``(user + system, user alone)``, from one read: per-request
    cost immune to other processes."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    user, system = int(fields[11]), int(fields[12])
    return (user + system) / tick, user / tick
