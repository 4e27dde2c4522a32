"""Prometheus metrics for verifiers and JWKS caches: ``collector(verifier_or_cache)``.

The ``prometheus`` extra (``prometheus-client``). ``collector`` returns a custom collector for the
registry of your choice; importing this module or building a collector registers nothing
anywhere, so it is only exposed where you put it::

    registry.register(collector(verifier))      # or prometheus_client.REGISTRY

The figures are those of ``jwt_middleware.telemetry.METRICS``, named as OpenTelemetry's Prometheus
exporter names them (``jwt_middleware_verifications_total``,
``jwt_middleware_verification_duration_seconds``, ``jwt_middleware_jwks_fetches_total``...), with
labels ``outcome``, ``error_type`` (the reason code), ``issuer`` (as configured), ``url`` and
``trigger``; a label that does not apply to a series is empty. A request costs a dictionary
increment; the totals are turned into samples when Prometheus scrapes.

One collector can serve several verifiers (``collector([api, admin])``): a registry refuses two
collectors that expose the same names, so give them all to one.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from jwt_middleware.telemetry import METRICS, HistogramData, Snapshot, Target, Telemetry
from jwt_middleware.telemetry import Metric as Figure

__all__ = ["JWTMiddlewareCollector", "collector"]


def _family(figure: Figure) -> CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily:
    labels = list(figure.labels)
    if figure.kind == "counter":
        return CounterMetricFamily(figure.prometheus_name, figure.description, labels=labels)
    if figure.kind == "gauge":
        return GaugeMetricFamily(figure.prometheus_name, figure.description, labels=labels)
    return HistogramMetricFamily(figure.prometheus_name, figure.description, labels=labels, unit="seconds")


def _buckets(data: HistogramData) -> list[tuple[str, float]]:
    """Cumulative ``le`` buckets, ``+Inf`` last, from per-bucket counts."""
    buckets: list[tuple[str, float]] = []
    total = 0
    for bound, count in zip((*data.bounds, float("inf")), data.counts, strict=True):
        total += count
        buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), float(total)))
    return buckets


class JWTMiddlewareCollector(Collector):
    """A Prometheus collector over a ``Telemetry`` attached to verifiers and caches."""

    def __init__(self, target: Target) -> None:
        self.telemetry = Telemetry()
        self.telemetry.attach(target)

    def add(self, target: Target) -> None:
        """Report ``target`` too (another verifier or cache), under the same metric names."""
        self.telemetry.attach(target)

    def close(self) -> None:
        """Stop counting (unregister the collector from its registry as well)."""
        self.telemetry.detach()

    def describe(self) -> Iterator[Metric]:
        """The families without samples, so that registering never has to collect."""
        for figure in METRICS:
            yield _family(figure)

    def collect(self) -> Iterator[Metric]:
        snapshot: Snapshot = self.telemetry.snapshot()
        for figure in METRICS:
            family = _family(figure)
            if isinstance(family, HistogramMetricFamily):
                for labels, data in sorted(snapshot.distributions(figure).items(), key=_order):
                    family.add_metric([value or "" for value in labels], _buckets(data), data.sum)
            else:
                for labels, count in sorted(snapshot.values(figure).items(), key=_order):
                    family.add_metric([value or "" for value in labels], float(count))
            yield family


def _order(item: tuple[tuple[str | None, ...], object]) -> tuple[str, ...]:
    return tuple(value or "" for value in item[0])


def collector(verifier_or_cache: Target) -> JWTMiddlewareCollector:
    """A collector reporting ``verifier_or_cache`` (a ``JWTVerifier``, a ``JWKSCache``, or a list
    of them); register it with ``registry.register(...)``."""
    return JWTMiddlewareCollector(verifier_or_cache)
