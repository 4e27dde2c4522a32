"""Provider faults under a real uvicorn: latency, refusals, fetches and the longest loop block.

Each scenario runs the same protected one-route app under uvicorn (uvloop, httptools) in a
process of its own, behind our middleware and, in the same run, behind a minimal middleware
built on PyJWT's ``PyJWKClient`` (called from the threadpool, as a sync FastAPI dependency would
be). A load generator in a third process keeps 16 keep-alive connections busy with 1,000 distinct
RS256 tokens (the token cache is off, so every request reaches the JWKS cache) while the
provider, a real HTTP server on 127.0.0.1 in this process, misbehaves on a timeline:

* provider slow at expiry: keys live 3 s, and from the start the provider answers after 5 s;
* provider down at expiry: the same, with the provider refusing connections;
* rotation, 0 s and 1 s lag: at 1 s tokens start naming a new key, which the JWKS publishes at
  once or a second later;
* random-kid flood: half the requests name a random ``kid`` (10,000 distinct ones);
* cold start: 500 requests released at once on a fresh server (the JWKS answers after 50 ms),
  and the same burst on warm keys, the floor a cold start is measured against.

Reported per library: p50/p99/max latency of the requests that should succeed, how many of them
were refused (any status but 200), JWKS fetches during the run, and the longest time uvicorn's
event loop was held (a ``LoopLagProbe`` ticking inside the server process).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import secrets
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.loopback import exchange, free_port
from jwt_middleware import b64
from jwt_middleware.testing import Fault, LoopbackServer, SigningKey, encode_compact

__all__ = ["LIBRARIES", "SCENARIOS", "FaultResult", "Scenario", "run"]

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


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seconds: float
    #: The provider's max-age (and our ``min_ttl``, PyJWKClient's ``lifespan``).
    ttl: float = 300.0
    #: Fault on the JWKS from the start of the run: "delay" (5 s) or "refuse".
    fault: str | None = None
    #: When tokens start naming the new key, and when the JWKS starts publishing it.
    rotate_at: float | None = None
    publish_at: float | None = None
    junk_fraction: float = 0.0
    #: This many requests released at once, on a server that has fetched nothing unless ``warm``.
    burst: int = 0
    warm: bool = False


SCENARIOS = (
    Scenario("provider slow at expiry", seconds=8, ttl=3, fault="delay"),
    Scenario("provider down at expiry", seconds=8, ttl=3, fault="refuse"),
    Scenario("rotation, 0 s lag", seconds=5, rotate_at=1.0, publish_at=1.0),
    Scenario("rotation, 1 s lag", seconds=5, rotate_at=1.0, publish_at=2.0),
    Scenario("random-kid flood", seconds=5, junk_fraction=0.5),
    Scenario("cold start, 500 at once", seconds=0, burst=500),
    Scenario("warm keys, 500 at once", seconds=0, burst=500, warm=True),
)


@dataclass(frozen=True, slots=True)
class FaultResult:
    scenario: str
    library: str
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    refusals: int
    fetches: int
    longest_block_ms: float
    #: Longest loop block before the first request (start-up: imports, hydrate) is not counted.
    statuses: dict[int, int] = field(default_factory=dict)


# -- the server process ---------------------------------------------------------------------------


def _protected_app(library: str, jwks_url: str, ttl: float) -> Any:
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
        return _MinimalMiddleware(hello, jwks_url)
    if library == BARE:
        return hello
    return _PyJWTMiddleware(hello, jwks_url, ttl)


class _MinimalMiddleware:
    """The floor for a verifying middleware: split, base64url, JSON and the RSA verify, nothing else.

    No claim is checked and no error is handled: it only serves to measure what the work every
    verifying middleware must do costs under a real server.
    """

    def __init__(self, app: Any, jwks_url: str) -> None:
        import urllib.request

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        from jwt_middleware.jwk import KeySet

        with urllib.request.urlopen(jwks_url, timeout=5) as response:  # noqa: S310 - loopback
            key = KeySet.from_jwks(response.read()).keys[0]
        self.app = app
        self.public_key: Any = key.public_key
        self.padding, self.hash = padding.PKCS1v15(), hashes.SHA256()

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


def _serve(library: str, jwks_url: str, ttl: float, port: int) -> None:
    """Server process: uvicorn (uvloop, httptools) with a loop-lag probe and a stats endpoint."""
    import uvicorn

    from jwt_middleware.testing import LoopLagProbe

    protected = _protected_app(library, jwks_url, ttl)
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


def _load(port: int, plan: dict[str, Any], started_event: Any, results: Any) -> None:
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


# -- orchestration --------------------------------------------------------------------------------


def _get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head[9:12]), body


def _wait_listening(port: int, process: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.is_alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the benchmark server did not start")


def _tokens(key: SigningKey, count: int) -> list[str]:
    now = int(time.time())
    return [
        encode_compact(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": f"user-{index}", "iat": now, "exp": now + 3600}, key
        )
        for index in range(count)
    ]


def _junk_headers(count: int) -> list[str]:
    return [
        b64.encode(json.dumps({"alg": "RS256", "kid": secrets.token_hex(8)}).encode()) for _ in range(count)
    ]


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def _run_one(
    scenario: Scenario, library: str, keys: tuple[SigningKey, SigningKey], tokens: dict[str, list[str]]
) -> FaultResult:
    old_key, new_key = keys
    published = [old_key]
    context = multiprocessing.get_context("spawn")
    with LoopbackServer() as provider:
        headers = {"Cache-Control": f"max-age={scenario.ttl:g}"}
        provider.serve_json(
            JWKS_PATH, lambda: {"keys": [key.public_jwk() for key in published]}, headers=headers
        )
        if scenario.burst:
            provider.set_fault(JWKS_PATH, Fault.delay(0.05))
        port = free_port()
        server = context.Process(
            target=_serve, args=(library, provider.url_for(JWKS_PATH), scenario.ttl, port), daemon=True
        )
        server.start()
        try:
            _wait_listening(port, server)
            if scenario.warm or not scenario.burst:
                status, _ = _get(port, "/", tokens["old"][0])  # warm: keys fetched before the run
                assert status == 200, status
            _get(port, STATS_PATH)  # start-up is not the scenario's loop time
            provider.reset_requests()
            timers = _timeline(scenario, provider, published, new_key)
            plan = {
                "old": tokens["old"],
                "new": tokens["new"],
                "junk_headers": tokens["junk"],
                "rotate_at": scenario.rotate_at,
                "junk_fraction": scenario.junk_fraction,
                "seconds": scenario.seconds,
                "burst": scenario.burst,
            }
            queue, started = context.Queue(), context.Event()
            loader = context.Process(target=_load, args=(port, plan, started, queue))
            loader.start()
            started.wait(60)
            for timer in timers:
                timer.start()
            samples: list[tuple[float, float, int, bool]] = queue.get(timeout=scenario.seconds + 120)
            loader.join()
            for timer in timers:
                timer.cancel()
            fetches = provider.requests(JWKS_PATH)
            provider.clear_faults()
            _, body = _get(port, STATS_PATH)
            longest = float(json.loads(body)["longest_ms"])
        finally:
            server.terminate()
            server.join(10)
    valid = [sample for sample in samples if not sample[3]]
    latencies = sorted(latency * 1000 for _, latency, _, _ in valid)
    statuses: dict[int, int] = {}
    for _, _, status, _ in valid:
        statuses[status] = statuses.get(status, 0) + 1
    return FaultResult(
        scenario=scenario.name,
        library=library,
        requests=len(valid),
        p50_ms=statistics.median(latencies) if latencies else 0.0,
        p99_ms=_percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else 0.0,
        refusals=sum(count for status, count in statuses.items() if status != 200),
        fetches=fetches,
        longest_block_ms=longest,
        statuses=statuses,
    )


def _timeline(
    scenario: Scenario, provider: LoopbackServer, published: list[SigningKey], new_key: SigningKey
) -> list[threading.Timer]:
    actions: list[tuple[float, Callable[[], None]]] = []
    if scenario.fault == "delay":
        actions.append((0.0, lambda: provider.set_fault(JWKS_PATH, Fault.delay(5))))
    elif scenario.fault == "refuse":
        actions.append((0.0, lambda: provider.set_fault(None, Fault.refuse())))
    if scenario.publish_at is not None:
        actions.append((scenario.publish_at, lambda: published.append(new_key)))
    return [threading.Timer(at, action) for at, action in actions]


def run(
    scenarios: tuple[Scenario, ...] = SCENARIOS, libraries: tuple[str, ...] = LIBRARIES
) -> list[FaultResult]:
    keys = (SigningKey.generate("RS256", kid="old"), SigningKey.generate("RS256", kid="new"))
    tokens = {
        "old": _tokens(keys[0], DISTINCT_TOKENS),
        "new": _tokens(keys[1], DISTINCT_TOKENS),
        "junk": _junk_headers(10_000),
    }
    results = []
    for scenario in scenarios:
        for library in libraries:
            results.append(_run_one(scenario, library, keys, tokens))
    return results
