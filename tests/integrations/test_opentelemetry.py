"""OpenTelemetry: the figures through the real SDK (``InMemoryMetricReader``, ``InMemorySpanExporter``).

A verifier against a real loopback issuer is instrumented with SDK providers of its own; tokens
are verified, refused and answered from the cache, the issuer is made to fail, and what the SDK
collected is read back by metric name and attributes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from jwt_middleware import (
    CacheSettings,
    ExpiredTokenError,
    JWKSCache,
    JWTVerifier,
    KeysUnavailableError,
    UnknownKeyError,
)
from jwt_middleware.integrations.opentelemetry import PENDING_DURATIONS, instrument
from jwt_middleware.telemetry import METRICS
from jwt_middleware.testing import Fault, LocalIssuer

SECRET_SUBJECT = "subject-that-must-not-leak-2c9d"


class Telemetry:
    """SDK providers with in-memory readers, and what they collected, by metric name."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader])
        self.spans = InMemorySpanExporter()
        self.tracers = TracerProvider()
        self.tracers.add_span_processor(SimpleSpanProcessor(self.spans))

    def instrument(self, target: Any) -> Any:
        return instrument(target, meter_provider=self.meters, tracer_provider=self.tracers)

    def collect(self) -> dict[str, Any]:
        metrics: dict[str, Any] = {}
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "jwt_middleware"
                for metric in scope.metrics:
                    metrics[metric.name] = metric
        return metrics

    def points(self, name: str) -> dict[frozenset[tuple[str, Any]], Any]:
        metric = self.collect().get(name)
        if metric is None:
            return {}
        return {frozenset(point.attributes.items()): point for point in metric.data.data_points}

    def value(self, name: str, **attributes: Any) -> float:
        """The sum of the points of ``name`` whose attributes include ``attributes``."""
        wanted = {(key.replace("__", "."), value) for key, value in attributes.items()}
        total = 0.0
        for labels, point in self.points(name).items():
            if wanted <= labels:
                total += point.value if isinstance(point, NumberDataPoint) else point.count
        return total

    def finished_spans(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="api") as running:
        yield running


def test_every_figure_has_its_conventional_name_and_unit(telemetry: Telemetry, issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    telemetry.instrument(verifier)
    verifier.verify_sync(issuer.mint())
    collected = telemetry.collect()
    for metric in METRICS:
        if metric.name in collected:
            assert collected[metric.name].unit == metric.unit
    assert collected["jwt_middleware.verification.duration"].unit == "s"
    assert collected["jwt_middleware.verifications"].unit == "{verification}"
    for name in collected:
        assert name == name.lower()
        assert name.startswith("jwt_middleware.")
        assert not name.endswith("_total")


def test_verifications_by_outcome_and_reason(telemetry: Telemetry, issuer: LocalIssuer) -> None:
    verifier = issuer.verifier(cache_settings=CacheSettings(unknown_kid_cooldown=30))
    telemetry.instrument(verifier)
    token = issuer.mint(sub=SECRET_SUBJECT)
    for _ in range(3):
        verifier.verify_sync(token)  # one full verification, two token-cache hits
    with pytest.raises(ExpiredTokenError):
        verifier.verify_sync(issuer.mint_expired())
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(issuer.mint_unknown_key())
    name = "jwt_middleware.verifications"
    base = {"jwt_middleware.issuer": issuer.issuer}
    assert telemetry.value(name, jwt_middleware__outcome="accepted", **_flat(base)) == 3
    assert telemetry.value(name, jwt_middleware__outcome="refused", error__type="exp.expired") == 1
    assert telemetry.value(name, jwt_middleware__outcome="refused", error__type="kid.unknown") == 1
    assert telemetry.value("jwt_middleware.token_cache.hits", **_flat(base)) == 2
    accepted = next(iter(telemetry.points(name)))
    assert ("error.type", None) not in accepted  # no attribute rather than an empty one

    durations = telemetry.points("jwt_middleware.verification.duration")
    assert sum(point.count for point in durations.values()) == 3  # full verifications only
    for point in durations.values():
        assert isinstance(point, HistogramDataPoint)
        assert 0 < point.sum < 10
        assert point.explicit_bounds[0] < 0.001  # buckets fit microsecond verifications


def test_unavailable_and_fetch_failures(telemetry: Telemetry, issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    telemetry.instrument(verifier)
    with issuer.server.fault(issuer.jwks_path, Fault.status(503)), pytest.raises(KeysUnavailableError):
        verifier.verify_sync(issuer.mint())
    assert telemetry.value("jwt_middleware.verifications", jwt_middleware__outcome="unavailable") == 1
    fetches = "jwt_middleware.jwks.fetches"
    assert telemetry.value(fetches, jwt_middleware__outcome="failure", error__type="fetch.http_status") == 1
    assert telemetry.value(fetches, url__full=issuer.jwks_url, jwt_middleware__jwks__trigger="cold") == 1
    (span,) = telemetry.finished_spans()
    assert span.name == "GET /.well-known/jwks.json"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 503
    assert span.attributes["error.type"] == "fetch.http_status"


def test_a_fetch_span_has_url_status_and_size_but_no_body(telemetry: Telemetry, issuer: LocalIssuer) -> None:
    verifier = JWTVerifier(issuer=issuer.issuer, audience=None)  # through discovery
    telemetry.instrument(verifier)
    verifier.verify_sync(issuer.mint())
    (span,) = telemetry.finished_spans()
    attributes: dict[str, Any] = dict(span.attributes or {})
    body = json.dumps(issuer.jwks())
    assert attributes["url.full"] == issuer.jwks_url
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.response.status_code"] == 200
    assert attributes["server.address"] == "127.0.0.1"
    assert 0 < attributes["http.response.body.size"] <= len(body) + 64
    assert attributes["jwt_middleware.jwks.key_count"] == 1
    modulus = issuer.jwks()["keys"][0]["n"]
    assert all(modulus not in str(value) for value in attributes.values())
    assert span.start_time is not None
    assert span.end_time is not None
    assert span.end_time > span.start_time
    durations = telemetry.points("jwt_middleware.jwks.fetch.duration")
    assert [point.count for point in durations.values()] == [1]
    assert telemetry.value("jwt_middleware.jwks.keys", url__full=issuer.jwks_url) == 1


def test_stale_keys_unknown_kids_and_expired_keys() -> None:
    telemetry = Telemetry()
    now = [1000.0]
    settings = CacheSettings(min_ttl=60, max_ttl=60, max_stale=120, unknown_kid_cooldown=30)
    with LocalIssuer(audience="api") as issuer:
        cache = JWKSCache(issuer.jwks_url, settings=settings, clock=lambda: now[0])
        verifier = JWTVerifier(issuer=issuer.issuer, audience=None, jwks_cache=cache, token_cache_size=None)
        telemetry.instrument(verifier)
        verifier.verify_sync(issuer.mint())
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(issuer.mint_unknown_key())  # refreshes once
        with pytest.raises(UnknownKeyError):
            verifier.verify_sync(issuer.mint_unknown_key())  # within the cooldown: no fetch
        url = {"url__full": issuer.jwks_url}
        assert telemetry.value("jwt_middleware.jwks.unknown_kid_refusals", **url) >= 1
        issuer.server.set_fault(None, Fault.refuse())
        now[0] += 90  # past the keys' lifetime: served stale while the refresh fails
        verifier.verify_sync(issuer.mint())
        assert telemetry.value("jwt_middleware.jwks.stale_keys_served", **url) >= 1
        failed = {"jwt_middleware__outcome": "failure", "error__type": "fetch.connect"}
        deadline = time.monotonic() + 10
        while not telemetry.value("jwt_middleware.jwks.fetches", **failed):  # the background refresh
            assert time.monotonic() < deadline, "the refresh never reported"
            time.sleep(0.02)
        now[0] += 200  # beyond max_stale: the keys are dropped
        with pytest.raises(KeysUnavailableError):  # nothing left to verify with
            verifier.verify_sync(issuer.mint())
        assert telemetry.value("jwt_middleware.jwks.keys_expired", **url) == 1
        assert telemetry.value("jwt_middleware.jwks.keys", **url) == 0


def test_no_token_or_claim_reaches_any_metric_or_span(telemetry: Telemetry, issuer: LocalIssuer) -> None:
    verifier = issuer.verifier()
    telemetry.instrument(verifier)
    token = issuer.mint(sub=SECRET_SUBJECT, scope="secret-scope", custom="secret-claim")
    verifier.verify_sync(token)
    with pytest.raises(ExpiredTokenError):
        verifier.verify_sync(issuer.mint_expired(sub=SECRET_SUBJECT))
    everything = repr([telemetry.collect()[name].data for name in telemetry.collect()])
    everything += repr([dict(span.attributes or {}) for span in telemetry.finished_spans()])
    for secret in (SECRET_SUBJECT, "secret-scope", "secret-claim", token.split(".")[1]):
        assert secret not in everything


def test_several_verifiers_share_one_set_of_instruments(telemetry: Telemetry) -> None:
    with LocalIssuer(audience="web") as web_issuer, LocalIssuer(audience="api") as api_issuer:
        web, api = web_issuer.verifier(), api_issuer.verifier()
        telemetry.instrument(web)
        telemetry.instrument([api, api])  # a list; and the same verifier twice counts once
        telemetry.instrument(api)
        web.verify_sync(web_issuer.mint())
        api.verify_sync(api_issuer.mint())
        name = "jwt_middleware.verifications"
        assert telemetry.value(name, jwt_middleware__issuer=web_issuer.issuer) == 1
        assert telemetry.value(name, jwt_middleware__issuer=api_issuer.issuer) == 1


def test_uninstrument_stops_reporting_what_it_instrumented(telemetry: Telemetry, issuer: LocalIssuer) -> None:
    verifier, other = issuer.verifier(), issuer.verifier()
    handle = telemetry.instrument(verifier)
    telemetry.instrument(other)
    verifier.verify_sync(issuer.mint())
    handle.uninstrument()
    assert verifier.event_hook is None
    assert other.event_hook is not None  # instrumented by another call: still reported
    verifier.verify_sync(issuer.mint())
    other.verify_sync(issuer.mint())
    assert telemetry.value("jwt_middleware.verifications") == 2
    telemetry.instrument(verifier)  # and it can be instrumented again
    verifier.verify_sync(issuer.mint())
    assert telemetry.value("jwt_middleware.verifications") == 3


def test_durations_wait_for_collection_in_a_bounded_buffer(telemetry: Telemetry, issuer: LocalIssuer) -> None:
    """The SDK's record() is paid at collection, and an uncollected buffer cannot grow forever."""
    verifier = issuer.verifier(token_cache_size=None)
    handle = telemetry.instrument(verifier)
    token = issuer.mint()
    verifier.verify_sync(token)
    verifier.verify_sync(token)
    first = telemetry.points("jwt_middleware.verification.duration")
    assert sum(point.count for point in first.values()) == 2
    assert PENDING_DURATIONS >= 1024
    internals = handle.telemetry
    for _ in range(PENDING_DURATIONS + 10):
        internals.on_verification(_accepted_event(issuer.issuer))
    assert len(internals._pending) == PENDING_DURATIONS


def _accepted_event(issuer: str) -> Any:
    from jwt_middleware.events import VerificationEvent

    return VerificationEvent("accepted", issuer, duration=0.00003)


def _flat(attributes: dict[str, str]) -> dict[str, str]:
    return {key.replace(".", "__"): value for key, value in attributes.items()}
