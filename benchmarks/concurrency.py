"""Cold start and key rotation under a burst of concurrent requests: latency and fetch count.

The issuer is a real HTTP server on 127.0.0.1 answering the JWKS after a simulated network delay,
so the figures show what users feel when a fresh process or a rotated key meets a traffic burst:
one fetch, and every request done shortly after it. PyJWT's ``PyJWKClient`` is measured the same
way when installed, from threads (it has no async API).
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import anyio

from jwt_middleware import JWTVerifier
from jwt_middleware.testing import Fault, LocalIssuer

__all__ = ["BurstResult", "run"]

NETWORK_DELAY = 0.05


@dataclass(frozen=True, slots=True)
class BurstResult:
    scenario: str
    requests: int
    p50_ms: float
    p99_ms: float
    fetches: int
    failures: int


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


async def _burst(verifier: JWTVerifier, tokens: list[str]) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0

    async def one(token: str) -> None:
        nonlocal failures
        started = time.perf_counter()
        try:
            await verifier.verify(token)
        except Exception:
            failures += 1
        latencies.append(time.perf_counter() - started)

    async with anyio.create_task_group() as group:
        for token in tokens:
            group.start_soon(one, token)
    return latencies, failures


def _ours(requests: int) -> list[BurstResult]:
    results = []
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        issuer.server.set_fault(issuer.jwks_path, Fault.delay(NETWORK_DELAY))
        verifier = JWTVerifier(issuer=issuer.issuer, audience="api", jwks_url=issuer.jwks_url)
        tokens = [issuer.mint(sub=f"user-{index}") for index in range(requests)]
        latencies, failures = anyio.run(_burst, verifier, tokens)
        results.append(
            BurstResult(
                "jwt_middleware: cold start",
                requests,
                *_percentiles(latencies),
                issuer.jwks_requests,
                failures,
            )
        )

        before = issuer.jwks_requests
        issuer.rotate()
        tokens = [issuer.mint(sub=f"user-{index}") for index in range(requests)]
        latencies, failures = anyio.run(_burst, verifier, tokens)
        fetches = issuer.jwks_requests - before
        results.append(
            BurstResult("jwt_middleware: rotation", requests, *_percentiles(latencies), fetches, failures)
        )
    return results


def _pyjwt(requests: int, threads: int = 32) -> list[BurstResult]:
    try:
        import jwt as pyjwt
    except ImportError:
        return []
    with LocalIssuer(alg="ES256", audience="api") as issuer:
        issuer.server.set_fault(issuer.jwks_path, Fault.delay(NETWORK_DELAY))
        client = pyjwt.PyJWKClient(issuer.jwks_url)
        tokens = [issuer.mint(sub=f"user-{index}") for index in range(requests)]
        latencies: list[float] = []
        failures = 0
        lock = threading.Lock()

        started = time.perf_counter()  # the whole burst is queued at once, as with ours

        def one(token: str) -> None:
            nonlocal failures
            try:
                key = client.get_signing_key_from_jwt(token)
                pyjwt.decode(token, key.key, algorithms=["ES256"], audience="api", issuer=issuer.issuer)
            except Exception:
                with lock:
                    failures += 1
            with lock:
                latencies.append(time.perf_counter() - started)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, tokens))
        return [
            BurstResult(
                f"PyJWT PyJWKClient ({threads} threads): cold start",
                requests,
                *_percentiles(latencies),
                issuer.jwks_requests,
                failures,
            )
        ]


def run(requests: int = 1000) -> list[BurstResult]:
    return [*_ours(requests), *_pyjwt(requests)]
