"""Revocation: what a check costs on the request path, and how fast a revocation reaches others.

Cost: a token-cache hit with a revocation list of 100,000 live entries against the same hit
without one, interleaved in one run (in-process list, and a Redis mirror kept current by its
thread while the measurement runs); plus the lookup itself, paid once per token after any change.

Propagation: four worker processes, each with its own ``RedisRevocationList`` mirror of one local
``redis-server``; the driver revokes 1,000 tokens one after another, and each worker polls for the
token it expects next (every 0.1 ms) and notes when it is first refused. The delay is from
``revoke_token_sync`` returning in the driver to that first refusal (0 when a worker saw the
entry before the call had even returned).
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from benchmarks.timing import Measurement, measure_interleaved
from jwt_middleware import JWTVerifier, RevokedTokenError
from jwt_middleware.revocation import RedisRevocationList, RevocationList
from jwt_middleware.revocation.wire import Layout, encode_field, encode_time
from jwt_middleware.testing import LocalRedis, SigningKey, encode_compact

__all__ = ["CostFigures", "PropagationFigures", "run_cost", "run_propagation"]

ISSUER = "https://issuer.bench"
AUDIENCE = "bench-api"
WORKERS = 4


@dataclass(frozen=True, slots=True)
class CostFigures:
    entries: int
    measurements: dict[str, Measurement]


@dataclass(frozen=True, slots=True)
class PropagationFigures:
    revocations: int
    processes: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def _fill(revocations: RevocationList, entries: int) -> None:
    """``entries`` live entries: 80% tokens, 10% refresh-token families, 10% subjects."""
    now = time.time()
    tokens = entries * 8 // 10
    for index in range(tokens):
        revocations.state.add(_entry(revocations, "jti", index, now), now)
    for index in range(entries // 10):
        revocations.state.add(_entry(revocations, "origin", index, now), now)
    for index in range(entries - tokens - entries // 10):
        revocations.state.add(_entry(revocations, "sub", index, now), now)


def _entry(revocations: RevocationList, kind: str, index: int, now: float) -> Any:
    from jwt_middleware.revocation.entries import origin_entry, subject_entry, token_entry

    if kind == "jti":
        return token_entry({"iss": ISSUER, "jti": f"revoked-{index}", "exp": now + 3600}, now)
    if kind == "origin":
        return origin_entry(ISSUER, f"family-{index}", now, lifetime=3600)
    return subject_entry(ISSUER, f"user-{index}", now, lifetime=3600)


def _load(revocations: RedisRevocationList, entries: list[Any]) -> None:
    """Write ``entries`` in the documented layout, pipelined (100k one-by-one would take a while)."""
    layout = Layout(revocations.store.key("revocation"))
    pipe = revocations.store.client().pipeline(transaction=False)
    for index, entry in enumerate(entries):
        field = encode_field(entry)
        pipe.hset(layout.entries, field, encode_time(entry.until))
        pipe.zadd(layout.expiry, {field: entry.until})
        if index % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def run_cost(*, rounds: int, entries: int = 100_000) -> CostFigures:
    key = SigningKey.generate("ES256", kid="bench")
    jwks = {"keys": [key.public_jwk()]}
    now = int(time.time())
    token = encode_compact(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-in-good-standing",
            "jti": str(uuid.uuid4()),
            "origin_jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 3600,
        },
        key,
    )
    local = RevocationList(max_entries=entries + 10)
    _fill(local, entries)
    off = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks)
    on = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=local)
    with LocalRedis() as redis:
        mirror = RedisRevocationList(redis.url, max_entries=entries + 10)
        writer = RedisRevocationList(redis.url, max_entries=entries + 10)
        try:
            _load(writer, local.state.entries())
            mirror.start_sync()
            assert len(mirror.state) == entries, len(mirror.state)
            on_redis = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=mirror)
            for verifier in (off, on, on_redis):
                verifier.verify_sync(token)
            claims = off.verify_sync(token)

            def lookup() -> object:
                return local.check(claims, time.time())

            measurements = measure_interleaved(
                {
                    "cache hit, no revocation list": lambda: off.verify_sync(token),
                    f"cache hit, in-process list of {entries:,}": lambda: on.verify_sync(token),
                    f"cache hit, Redis mirror of {entries:,}": lambda: on_redis.verify_sync(token),
                    "revocation lookup alone (after a change)": lookup,
                },
                rounds=rounds,
            )
        finally:
            mirror.close()
            writer.close()
    return CostFigures(entries, measurements)


def _worker(url: str, jtis: list[str], position: Synchronized[int], results: Connection) -> None:
    revocations = RedisRevocationList(url, heartbeat=0.5)
    revocations.start_sync()
    refused_at: list[float] = []
    expires = time.time() + 3600
    for index, jti in enumerate(jtis):
        claims = {"iss": ISSUER, "jti": jti, "sub": "someone", "iat": 0, "exp": expires}
        position.value = index
        while True:
            try:
                revocations.check(claims, time.time())
            except RevokedTokenError:
                refused_at.append(time.monotonic())
                break
            time.sleep(0.0001)
    position.value = len(jtis)
    revocations.close()
    results.send(refused_at)
    results.close()


def run_propagation(*, revocations: int = 1000) -> PropagationFigures:
    context = multiprocessing.get_context("spawn")
    jtis = [f"propagation-{uuid.uuid4()}" for _ in range(revocations)]
    with LocalRedis() as redis:
        positions = [context.Value("i", -1) for _ in range(WORKERS)]
        pipes = [context.Pipe(duplex=False) for _ in range(WORKERS)]
        workers = [
            context.Process(target=_worker, args=(redis.url, jtis, positions[n], pipes[n][1]), daemon=True)
            for n in range(WORKERS)
        ]
        for worker in workers:
            worker.start()
        driver = RedisRevocationList(redis.url)
        returned_at: list[float] = []
        try:
            expires = time.time() + 3600
            for index, jti in enumerate(jtis):
                while any(position.value < index for position in positions):
                    time.sleep(0.0001)
                driver.revoke_token_sync({"iss": ISSUER, "jti": jti, "exp": expires})
                returned_at.append(time.monotonic())
            refused = [pipe.recv() for pipe, _ in pipes]
        finally:
            driver.close()
            for worker in workers:
                worker.join(30)
    delays = sorted(
        max(0.0, when - returned_at[index]) * 1000 for times in refused for index, when in enumerate(times)
    )
    return PropagationFigures(
        revocations=revocations,
        processes=WORKERS,
        p50_ms=statistics.median(delays),
        p99_ms=delays[int(len(delays) * 0.99) - 1],
        max_ms=delays[-1],
    )
