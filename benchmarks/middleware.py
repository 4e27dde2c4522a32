"""Per-request cost of the middlewares against the bare apps, in-process and under uvicorn.

In-process: a minimal ASGI driver (a prebuilt scope, a receive that returns the request, a send
that discards) calls the app in batches on one event loop; WSGI apps are called directly. This
isolates our cost from any server. Under uvicorn: the same apps served on 127.0.0.1 and loaded
by a raw HTTP/1.1 keep-alive client in another process, reporting requests per second.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from benchmarks import served
from benchmarks.loopback import exchange, free_port
from benchmarks.timing import Measurement, measure_interleaved
from benchmarks.verify import AUDIENCE, ISSUER, cognito_sized_claims
from jwt_middleware import JWTAuthMiddleware, JWTVerifier, WSGIJWTMiddleware
from jwt_middleware.jwk import KeySet
from jwt_middleware.testing import LoopbackServer, SigningKey, encode_compact

__all__ = ["AddedCost", "asgi_apps", "run_in_process", "run_uvicorn", "run_uvicorn_added_cost"]

_BATCH = 200


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def asgi_apps(alg: str = "RS256") -> tuple[dict[str, ASGIApp], str]:
    """The bare one-route app and the same app behind the middleware (token cache on and off)."""
    apps, token, _, _ = _asgi_apps_and_verifier(alg)
    return apps, token


def _asgi_apps_and_verifier(alg: str) -> tuple[dict[str, ASGIApp], str, JWTVerifier, Any]:
    """The apps, their token, a verifier for it alone, and its public key (for the floor)."""
    key = SigningKey.generate(alg)
    token = encode_compact(cognito_sized_claims(), key)
    jwks = {"keys": [key.public_jwk()]}
    routes = [Route("/", _hello)]

    def protected(cache_size: int | None) -> ASGIApp:
        verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, token_cache_size=cache_size)
        return Starlette(routes=routes, middleware=[Middleware(JWTAuthMiddleware, verifier=verifier)])

    apps: dict[str, ASGIApp] = {
        "bare Starlette app": Starlette(routes=routes),
        "with middleware, token cache hit": protected(4096),
        "with middleware, token cache off": protected(None),
    }
    # The cost the cache-off middleware may add at most: verifying the same token, nothing else.
    verify_only = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, token_cache_size=None)
    return apps, token, verify_only, KeySet.from_jwks(jwks).keys[0].public_key


def _asgi_batch(app: ASGIApp, token: str, loop: asyncio.AbstractEventLoop) -> Callable[[], object]:
    scope = served.asgi_scope(token)
    request: Message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Message:
        return request

    async def send(message: Message) -> None:
        return None

    async def batch() -> None:
        for _ in range(_BATCH):
            await app(dict(scope), receive, send)

    return lambda: loop.run_until_complete(batch())


def _flask_app() -> Callable[..., Iterable[bytes]]:
    """The WSGI counterpart of the one-route Starlette app: a one-route Flask app."""
    from flask import Flask

    app = Flask("bench")

    @app.get("/")
    def hello() -> str:
        return "hello"

    return app


async def _minimal_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def _minimal_wsgi(environ: Any, start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [])
    return [b"hello"]


def _repeat(function: Callable[[], object]) -> Callable[[], object]:
    def batch() -> None:
        for _ in range(_BATCH):
            function()

    return batch


def _wsgi_batch(app: Callable[..., Iterable[bytes]], token: str) -> Callable[[], object]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench.local",
        "SERVER_PORT": "8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.url_scheme": "http",
    }

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return None

    def batch() -> None:
        for _ in range(_BATCH):
            for _chunk in app(dict(environ), start_response):
                pass

    return batch


def run_in_process(rounds: int = 15) -> dict[str, Measurement]:
    """Per-request microseconds for each ASGI and WSGI variant (batched, divided back)."""
    apps, token, verify_only, verify_only_key = _asgi_apps_and_verifier("RS256")
    loop = asyncio.new_event_loop()
    functions: dict[str, Callable[[], object]] = {
        f"ASGI: {name}": _asgi_batch(app, token, loop) for name, app in apps.items()
    }
    functions["verify alone (same token, no cache)"] = _repeat(partial(verify_only.verify_sync, token))
    # Minimal apps isolate the middleware's own work from a framework's (a framework's working set
    # and OpenSSL's evict each other from the CPU caches, which costs time that is nobody's code).
    functions["ASGI minimal: bare"] = _asgi_batch(_minimal_asgi, token, loop)
    functions["ASGI minimal: with middleware, token cache off"] = _asgi_batch(
        JWTAuthMiddleware(_minimal_asgi, verifier=verify_only), token, loop
    )
    functions["ASGI minimal: floor middleware (split, base64url, JSON, RSA verify)"] = _asgi_batch(
        served.FloorMiddleware(_minimal_asgi, verify_only_key), token, loop
    )
    functions["WSGI minimal: bare"] = _wsgi_batch(_minimal_wsgi, token)
    functions["WSGI minimal: with middleware, token cache off"] = _wsgi_batch(
        WSGIJWTMiddleware(_minimal_wsgi, verifier=verify_only), token
    )
    key = SigningKey.generate("RS256")
    wsgi_token = encode_compact(cognito_sized_claims(), key)
    jwks = {"keys": [key.public_jwk()]}
    flask_app = _flask_app()
    functions["WSGI: bare Flask app"] = _wsgi_batch(flask_app, wsgi_token)
    for label, size in (("token cache hit", 4096), ("token cache off", None)):
        verifier = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, token_cache_size=size)
        functions[f"WSGI: Flask app with middleware, {label}"] = _wsgi_batch(
            WSGIJWTMiddleware(flask_app, verifier=verifier), wsgi_token
        )
    try:
        results = measure_interleaved(functions, rounds=rounds, target_seconds=0.05)
    finally:
        loop.close()
    return {
        name: Measurement(name, m.median_us / _BATCH, m.spread, m.rounds, m.calls_per_round * _BATCH)
        for name, m in results.items()
    }


# -- under uvicorn --------------------------------------------------------------------------------


def _load(port: int, request: bytes, connections: int, seconds: float, results: Any) -> None:
    """A raw keep-alive HTTP/1.1 load generator: as little client work as possible per request."""

    async def worker(deadline: float) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        try:
            while time.monotonic() < deadline:
                status = await exchange(reader, writer, request)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}")
                done += 1
        finally:
            writer.close()
        return done

    async def main() -> int:
        deadline = time.monotonic() + seconds
        counts = await asyncio.gather(*(worker(deadline) for _ in range(connections)))
        return sum(counts)

    results.put(asyncio.run(main()) / seconds)


def _serve(app: ASGIApp, port: int, ready: threading.Event, stop: threading.Event) -> None:
    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)

    def watch() -> None:
        while not server.started:
            time.sleep(0.01)
        ready.set()
        stop.wait()
        server.should_exit = True

    threading.Thread(target=watch, daemon=True).start()
    server.run()


def run_uvicorn(seconds: float = 3.0, connections: int = 16, repeats: int = 3) -> dict[str, float]:
    """Requests per second for each ASGI variant under uvicorn, best of ``repeats`` runs.

    All servers run at once and the load runs are interleaved (bare, cache hit, cache off, bare,
    ...), so warm-up and machine noise fall on every variant alike.
    """
    apps, token = asgi_apps()
    request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    context = multiprocessing.get_context("spawn")
    servers: dict[str, tuple[int, threading.Thread, threading.Event]] = {}
    for name, app in apps.items():
        port = free_port()
        ready, stop = threading.Event(), threading.Event()
        thread = threading.Thread(target=_serve, args=(app, port, ready, stop), daemon=True)
        thread.start()
        ready.wait(10)
        servers[name] = (port, thread, stop)
    best = dict.fromkeys(apps, 0.0)
    try:
        for _ in range(repeats):
            for name, (port, _thread, _stop) in servers.items():
                queue = context.Queue()
                loader = context.Process(target=_load, args=(port, request, connections, seconds, queue))
                loader.start()
                best[name] = max(best[name], float(queue.get(timeout=seconds + 30)))
                loader.join()
    finally:
        for _port, thread, stop in servers.values():
            stop.set()
            thread.join(10)
    return best


@dataclass(frozen=True)
class AddedCost:
    """Server CPU µs per request for each server, in total and in user time alone, and the
    calibration's work timed in process (µs)."""

    total: dict[str, float]
    user: dict[str, float]
    arithmetic_us: float


def run_uvicorn_added_cost(seconds: float = 3.0, repeats: int = 3) -> AddedCost:
    """Server CPU µs per request under uvicorn (uvloop, httptools), median of ``repeats`` runs.

    Four servers: the one-route app alone, behind the floor middleware (split, base64url, JSON,
    the RSA verify), behind ours (a warm ``JWKSCache``, token cache off) and behind the floor
    plus a fixed amount of arithmetic (``served.CalibratedFloorMiddleware``), loaded in
    interleaved runs with 1,000 distinct RS256 tokens. The server's own CPU time per request is
    measured, not wall time, and server and load generator are pinned to a core each when there
    are two: on a shared machine neither another process nor the load generator can then tint
    the figure. User time leaves out the kernel's share, which grows as the server slows (see
    the calibration).
    """
    key = SigningKey.generate("RS256", kid="bench")
    tokens = served.tokens_for(key, served.DISTINCT_TOKENS)
    variants = (served.BARE, served.MINIMAL, "jwt_middleware", served.CALIBRATED)
    cores = sorted(os.sched_getaffinity(0))
    context = multiprocessing.get_context("spawn")
    samples: dict[str, list[float]] = {variant: [] for variant in variants}
    user_samples: dict[str, list[float]] = {variant: [] for variant in variants}
    with LoopbackServer() as provider:
        provider.serve_json(
            served.JWKS_PATH, {"keys": [key.public_jwk()]}, headers={"Cache-Control": "max-age=3600"}
        )
        jwks_url = provider.url_for(served.JWKS_PATH)
        processes: dict[str, tuple[int, Any]] = {}
        try:
            for variant in variants:
                port = free_port()
                process = context.Process(
                    target=served.serve, args=(variant, jwks_url, 3600.0, port), daemon=True
                )
                process.start()
                processes[variant] = (port, process)
                served.wait_listening(port, process)
                served.get(port, "/", tokens[0])  # warm: keys fetched, code paths taken
                if len(cores) >= 2:
                    os.sched_setaffinity(process.pid or 0, {cores[0]})
            plan = {
                "old": tokens,
                "new": tokens,
                "junk_headers": [],
                "rotate_at": None,
                "junk_fraction": 0.0,
                "seconds": seconds,
                "burst": 0,
            }
            for _ in range(repeats):
                for variant, (port, process) in processes.items():
                    queue, started = context.Queue(), context.Event()
                    loader = context.Process(target=served.load, args=(port, plan, started, queue))
                    loader.start()
                    started.wait(60)
                    if len(cores) >= 2 and loader.pid is not None:
                        os.sched_setaffinity(loader.pid, {cores[1]})
                    total_before, user_before = served.server_cpu_seconds(process.pid)
                    requests = len(queue.get(timeout=seconds + 60))
                    total_after, user_after = served.server_cpu_seconds(process.pid)
                    loader.join()
                    samples[variant].append((total_after - total_before) * 1e6 / requests)
                    user_samples[variant].append((user_after - user_before) * 1e6 / requests)
        finally:
            for _port, process in processes.values():
                process.terminate()
                process.join(10)
    return AddedCost(
        total={variant: statistics.median(values) for variant, values in samples.items()},
        user={variant: statistics.median(values) for variant, values in user_samples.items()},
        arithmetic_us=_arithmetic_us(),
    )


def _arithmetic_us(rounds: int = 7, calls: int = 2000) -> float:
    """The calibration's work in process, µs per call (the quietest of ``rounds``)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            served.arithmetic()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6
