"""What instrumentation costs: the same requests with OpenTelemetry or Prometheus on, and off.

Each pair is measured in the same interleaved rounds (see ``timing``), with verifiers built alike:
one reports to an OpenTelemetry SDK meter and tracer provider (an in-memory reader, as an
application's periodic exporter would have) or to a Prometheus collector in its own registry,
the other to nothing. The ratios are per request (ASGI middleware, Starlette app, token-cache
hit: the steady state) and per verification (token-cache hit; full verification, cache off).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp

from benchmarks.middleware import _asgi_batch, _hello, _repeat
from benchmarks.timing import Measurement, measure_interleaved
from benchmarks.verify import AUDIENCE, ISSUER, cognito_sized_claims
from jwt_middleware import JWTAuthMiddleware, JWTVerifier
from jwt_middleware.integrations import opentelemetry, prometheus
from jwt_middleware.testing import SigningKey, encode_compact

__all__ = ["BATCH", "run"]

BATCH = 200
#: How each variant is instrumented: not at all, to OpenTelemetry's SDK, to a Prometheus registry.
VARIANTS = ("off", "OpenTelemetry", "Prometheus")


def _instrumented(variant: str, verifier: JWTVerifier) -> JWTVerifier:
    if variant == "OpenTelemetry":
        meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
        opentelemetry.instrument(verifier, meter_provider=meters, tracer_provider=TracerProvider())
    elif variant == "Prometheus":
        CollectorRegistry().register(prometheus.collector(verifier))
    return verifier


def run(rounds: int = 15) -> dict[str, Measurement]:
    """Microseconds per request or verification, for every variant of every path."""
    key = SigningKey.generate("RS256")
    token = encode_compact(cognito_sized_claims(), key)
    jwks = {"keys": [key.public_jwk()]}

    def verifier(cache_size: int | None = 4096) -> JWTVerifier:
        return JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, token_cache_size=cache_size)

    loop = asyncio.new_event_loop()
    functions: dict[str, Callable[[], object]] = {}
    for variant in VARIANTS:
        app: ASGIApp = Starlette(
            routes=[Route("/", _hello)],
            middleware=[Middleware(JWTAuthMiddleware, verifier=_instrumented(variant, verifier()))],
        )
        functions[f"ASGI request, token cache hit: {variant}"] = _asgi_batch(app, token, loop)
        hit: Any = _instrumented(variant, verifier())
        hit.verify_sync(token)
        functions[f"verify, token cache hit: {variant}"] = _repeat(partial(hit.verify_sync, token))
        full = _instrumented(variant, verifier(None))
        functions[f"verify, full (cache off): {variant}"] = _repeat(partial(full.verify_sync, token))
    try:
        results = measure_interleaved(functions, rounds=rounds, target_seconds=0.05)
    finally:
        loop.close()
    return {
        name: Measurement(name, m.median_us / BATCH, m.spread, m.rounds, m.calls_per_round * BATCH)
        for name, m in results.items()
    }
