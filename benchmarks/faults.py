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

import json
import multiprocessing
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks import served
from benchmarks.loopback import free_port
from benchmarks.served import CONNECTIONS, DISTINCT_TOKENS, JWKS_PATH, LIBRARIES, STATS_PATH
from jwt_middleware.testing import Fault, LoopbackServer, SigningKey

__all__ = ["CONNECTIONS", "DISTINCT_TOKENS", "LIBRARIES", "SCENARIOS", "FaultResult", "Scenario", "run"]


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


# -- orchestration --------------------------------------------------------------------------------


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
            target=served.serve, args=(library, provider.url_for(JWKS_PATH), scenario.ttl, port), daemon=True
        )
        server.start()
        try:
            served.wait_listening(port, server)
            if scenario.warm or not scenario.burst:
                status, _ = served.get(port, "/", tokens["old"][0])  # warm: keys fetched before the run
                assert status == 200, status
            served.get(port, STATS_PATH)  # start-up is not the scenario's loop time
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
            loader = context.Process(target=served.load, args=(port, plan, started, queue))
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
            _, body = served.get(port, STATS_PATH)
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
        "old": served.tokens_for(keys[0], DISTINCT_TOKENS),
        "new": served.tokens_for(keys[1], DISTINCT_TOKENS),
        "junk": served.junk_headers(10_000),
    }
    results = []
    for scenario in scenarios:
        for library in libraries:
            results.append(_run_one(scenario, library, keys, tokens))
    return results
