"""OpenTelemetry metrics and traces for verifiers and JWKS caches: ``instrument(verifier_or_cache)``.

The ``opentelemetry`` extra (``opentelemetry-api``; the application brings the SDK and exporters).
``instrument`` attaches a ``Telemetry`` (``jwt_middleware.telemetry``) to the verifier and its key
sources and registers, on the meter provider's ``jwt_middleware`` meter, the metrics listed in
``telemetry.METRICS``: counters and the key-count gauge are observable instruments read from the
in-process totals when the SDK collects, so a request costs a dictionary increment and never an
SDK call; full verifications and fetches also record their durations on two histograms (a full
verification's is buffered and recorded when the SDK collects, off the request path). Each JWKS
fetch becomes a client span (``GET /path``) with ``url.full``, ``http.response.status_code``,
``http.response.body.size`` and, on failure, ``error.type`` (the reason code); never a body,
header, token or claim.

Calling ``instrument`` again for the same providers adds its target to the same instruments, so
several verifiers report under one set of metric names; an object already instrumented for these
providers is not counted twice. ``uninstrument()`` on the returned handle detaches what that call
instrumented.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Histogram, MeterProvider, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from jwt_middleware._version import __version__
from jwt_middleware.events import FetchFailed, FetchSucceeded, VerificationEvent
from jwt_middleware.telemetry import (
    ATTRIBUTES,
    FAILURE,
    JWKS_FETCH_DURATION,
    METRICS,
    SUCCESS,
    VERIFICATION_DURATION,
    Labels,
    Metric,
    Target,
    Telemetry,
)

__all__ = ["INSTRUMENTATION_NAME", "PENDING_DURATIONS", "Instrumentation", "instrument"]

#: The instrumentation scope of the meter and the tracer.
INSTRUMENTATION_NAME: Final = "jwt_middleware"
#: Most full-verification durations kept between two collections; beyond it the oldest are
#: dropped (the verification counter still counts every one), so memory stays bounded even when
#: nothing ever collects.
PENDING_DURATIONS: Final = 16_384


def _attributes(metric: Metric, labels: Labels) -> dict[str, str]:
    return {
        ATTRIBUTES[name]: value
        for name, value in zip(metric.labels, labels, strict=True)
        if value is not None
    }


class _OpenTelemetry(Telemetry):
    """The totals, observable instruments that read them, two histograms and fetch spans."""

    def __init__(self, meter_provider: MeterProvider | None, tracer_provider: TracerProvider | None) -> None:
        super().__init__(histograms=False)
        meter = metrics.get_meter(INSTRUMENTATION_NAME, __version__, meter_provider)
        self._tracer = trace.get_tracer(INSTRUMENTATION_NAME, __version__, tracer_provider)
        self._histogram_instruments: dict[str, Histogram] = {}
        for metric in METRICS:
            if metric.kind == "histogram":
                self._histogram_instruments[metric.name] = meter.create_histogram(
                    metric.name,
                    unit=metric.unit,
                    description=metric.description,
                    explicit_bucket_boundaries_advisory=metric.buckets,
                )
            elif metric.kind == "counter":
                meter.create_observable_counter(
                    metric.name, [self._reader(metric)], unit=metric.unit, description=metric.description
                )
            else:
                meter.create_observable_gauge(
                    metric.name, [self._reader(metric)], unit=metric.unit, description=metric.description
                )
        # Attribute dictionaries by label values: built once per series, not once per record.
        self._attribute_cache: dict[tuple[str, Labels], Mapping[str, str]] = {}
        self._attribute_lock = threading.Lock()
        # Durations of full verifications, waiting for the next collection (see ``timed``).
        self._pending: deque[tuple[Labels, float]] = deque(maxlen=PENDING_DURATIONS)

    def _reader(self, metric: Metric) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            self._record_pending()
            series = self.snapshot().values(metric)
            return [Observation(value, _attributes(metric, labels)) for labels, value in series.items()]

        return observe

    def _record_pending(self) -> None:
        """Record the buffered durations on the histogram, now that the SDK is collecting.

        The SDK runs every observable callback before it reads any instrument, so what is recorded
        here is part of this very collection.
        """
        histogram = self._histogram_instruments[VERIFICATION_DURATION.name]
        pending = self._pending
        while pending:
            try:
                labels, duration = pending.popleft()
            except IndexError:  # emptied by a concurrent collection
                return
            histogram.record(duration, self._attributes_of(VERIFICATION_DURATION, labels))

    def _attributes_of(self, metric: Metric, labels: Labels) -> Mapping[str, str]:
        key = (metric.name, labels)
        found = self._attribute_cache.get(key)
        if found is None:
            with self._attribute_lock:
                found = self._attribute_cache.setdefault(key, _attributes(metric, labels))
        return found

    def timed(self, labels: Labels, event: VerificationEvent) -> None:
        """Buffer the duration: the SDK's ``record`` costs about 6 µs, a fifth of a verification,
        so it is paid when the SDK collects (on its exporter's thread), not on the request."""
        if event.duration is not None:
            self._pending.append((labels, event.duration))

    def fetched(self, trigger: str, event: FetchSucceeded | FetchFailed) -> None:
        succeeded = isinstance(event, FetchSucceeded)
        labels = (event.url, SUCCESS if succeeded else FAILURE)
        self._histogram_instruments[JWKS_FETCH_DURATION.name].record(
            event.duration, self._attributes_of(JWKS_FETCH_DURATION, labels)
        )
        self._span(trigger, event)

    def _span(self, trigger: str, event: FetchSucceeded | FetchFailed) -> None:
        """The fetch as a client span, dated from the event (it ends as the event is reported)."""
        end = time.time_ns()
        parts = urlsplit(event.url)
        attributes: dict[str, str | int] = {
            "http.request.method": "GET",
            "url.full": event.url,
            ATTRIBUTES["trigger"]: trigger,
        }
        if parts.hostname:
            attributes["server.address"] = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = None
        if port is not None:
            attributes["server.port"] = port
        if isinstance(event, FetchSucceeded):
            attributes["http.response.status_code"] = 200
            attributes["http.response.body.size"] = event.size
            attributes["jwt_middleware.jwks.key_count"] = event.key_count
        else:
            if event.status is not None:
                attributes["http.response.status_code"] = event.status
            attributes["error.type"] = event.code
        span = self._tracer.start_span(
            f"GET {parts.path or '/'}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(event.duration * 1e9),
        )
        if isinstance(event, FetchFailed):
            span.set_status(Status(StatusCode.ERROR, event.reason))
        span.end(end_time=end)


#: One instrumentation per pair of providers, so that every target shares one set of instruments.
_shared: dict[tuple[int, int], _OpenTelemetry] = {}
_shared_lock = threading.Lock()


class Instrumentation:
    """What one ``instrument`` call attached; ``uninstrument()`` stops reporting its targets."""

    def __init__(self, telemetry: Telemetry, target: Target) -> None:
        self._telemetry = telemetry
        self._target = target

    @property
    def telemetry(self) -> Telemetry:
        """The in-process totals behind the instruments (``snapshot()`` to read them directly)."""
        return self._telemetry

    def uninstrument(self) -> None:
        """Stop reporting what this call instrumented (the instruments stay registered, and keep
        reporting other targets instrumented for the same providers)."""
        self._telemetry.detach(self._target)


def instrument(
    verifier_or_cache: Target,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Instrumentation:
    """Report ``verifier_or_cache`` (a ``JWTVerifier``, a ``JWKSCache``, or a list of them) to
    OpenTelemetry; the global providers are used unless others are given."""
    meter_provider = meter_provider or metrics.get_meter_provider()
    tracer_provider = tracer_provider or trace.get_tracer_provider()
    key = (id(meter_provider), id(tracer_provider))
    with _shared_lock:
        telemetry = _shared.get(key)
        if telemetry is None:
            telemetry = _shared[key] = _OpenTelemetry(meter_provider, tracer_provider)
    telemetry.attach(verifier_or_cache)
    return Instrumentation(telemetry, verifier_or_cache)
