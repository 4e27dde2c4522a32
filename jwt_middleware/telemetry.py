"""The library's events added up in process, for metrics exporters to read when they collect.

A verification runs on every request, so what an exporter does per request must cost next to
nothing. ``Telemetry`` is attached to verifiers and caches as an event hook and only adds the
event to a few dictionaries under a lock (a few hundred nanoseconds, measured by the benchmarks);
the exporters read the totals when they are scraped or collected: OpenTelemetry through
observable instruments, Prometheus through a custom collector. Only what the events carry is
counted, so no token or claim value can reach a metric: outcomes, reason codes, configured
issuers, JWKS URLs, durations.

Durations of full verifications and of fetches are bucketed here too (``histograms=True``, what
the Prometheus collector reads); the OpenTelemetry integration records them on its own
histograms instead, by overriding ``timed`` and ``fetched``. Token-cache hits are counted, not
timed: they take well under a microsecond.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeAlias, runtime_checkable

from jwt_middleware.events import (
    CacheEvent,
    EventHook,
    FetchFailed,
    FetchStarted,
    FetchSucceeded,
    KeysExpired,
    StaleKeysServed,
    UnknownKeyRejected,
    VerificationEvent,
)
from jwt_middleware.jwks_cache import JWKSCache
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "ATTRIBUTES",
    "FAILURE",
    "FETCH_BUCKETS",
    "METRICS",
    "SUCCESS",
    "VERIFICATION_BUCKETS",
    "HistogramData",
    "Labels",
    "Metric",
    "Snapshot",
    "Target",
    "Telemetry",
]

#: Bucket bounds (seconds) for full verifications: from a warm-key signature check (~25 µs) to a
#: cold start that waits for a JWKS fetch (seconds).
VERIFICATION_BUCKETS: Final = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
#: Bucket bounds (seconds) for JWKS and discovery fetches, bounded by ``CacheSettings.timeout``.
FETCH_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: The outcome of a fetch, as counted.
SUCCESS: Final = "success"
FAILURE: Final = "failure"

#: Label values of one series, in the order of its metric's ``labels`` (``None``: not applicable).
Labels: TypeAlias = tuple[str | None, ...]


@runtime_checkable
class _Observable(Protocol):
    def add_event_hook(self, hook: EventHook) -> None: ...
    def remove_event_hook(self, hook: EventHook) -> None: ...


#: What can be attached: a verifier (its verifications and its key sources' fetches), a
#: ``JWKSCache``, any key source with ``add_event_hook`` (``ALBKeySource``), or a list, tuple or
#: set of them.
Target: TypeAlias = "JWTVerifier | _Observable | list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any]"


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure the library reports: its OpenTelemetry name, instrument kind, UCUM unit, labels.

    Names follow OpenTelemetry's conventions (a dotted hierarchy under ``jwt_middleware``, no
    unit or ``_total`` in the name, singular annotations such as ``{verification}``); the
    Prometheus name is derived from it the way OpenTelemetry's Prometheus exporter derives one.
    """

    name: str
    kind: str  # "counter", "histogram" or "gauge"
    unit: str
    description: str
    labels: tuple[str, ...]
    #: A histogram's bucket bounds.
    buckets: tuple[float, ...] = ()

    @property
    def prometheus_name(self) -> str:
        """``jwt_middleware_verification_duration_seconds``; counters get ``_total`` when exposed."""
        base = self.name.replace(".", "_")
        return base + "_seconds" if self.unit == "s" else base


#: Each label's OpenTelemetry attribute name (the Prometheus label is the key itself). ``error.type``
#: and ``url.full`` are OpenTelemetry's own attributes; the others are namespaced.
ATTRIBUTES: Final = {
    "outcome": "jwt_middleware.outcome",
    "error_type": "error.type",
    "issuer": "jwt_middleware.issuer",
    "url": "url.full",
    "trigger": "jwt_middleware.jwks.trigger",
}

VERIFICATIONS: Final = Metric(
    "jwt_middleware.verifications",
    "counter",
    "{verification}",
    "Token verifications by outcome (accepted, refused, unavailable), reason code and configured issuer",
    ("outcome", "error_type", "issuer"),
)
VERIFICATION_DURATION: Final = Metric(
    "jwt_middleware.verification.duration",
    "histogram",
    "s",
    "Duration of full verifications (token-cache hits are counted, not timed)",
    ("outcome", "error_type", "issuer"),
    VERIFICATION_BUCKETS,
)
TOKEN_CACHE_HITS: Final = Metric(
    "jwt_middleware.token_cache.hits",
    "counter",
    "{hit}",
    "Verifications answered from the verified-token cache",
    ("issuer",),
)
JWKS_FETCHES: Final = Metric(
    "jwt_middleware.jwks.fetches",
    "counter",
    "{fetch}",
    "JWKS fetches (with OIDC discovery when it ran) by outcome, reason code and trigger",
    ("url", "outcome", "error_type", "trigger"),
)
JWKS_FETCH_DURATION: Final = Metric(
    "jwt_middleware.jwks.fetch.duration",
    "histogram",
    "s",
    "Duration of JWKS fetches, connection to last byte",
    ("url", "outcome"),
    FETCH_BUCKETS,
)
JWKS_STALE_KEYS_SERVED: Final = Metric(
    "jwt_middleware.jwks.stale_keys_served",
    "counter",
    "{event}",
    "Times expired keys went on serving while being refreshed or because refreshing failed",
    ("url",),
)
JWKS_UNKNOWN_KID_REFUSALS: Final = Metric(
    "jwt_middleware.jwks.unknown_kid_refusals",
    "counter",
    "{refusal}",
    "Tokens with an unknown key id refused without a fetch (cooldown or backoff)",
    ("url",),
)
JWKS_KEYS_EXPIRED: Final = Metric(
    "jwt_middleware.jwks.keys_expired",
    "counter",
    "{event}",
    "Key sets dropped after max_stale without a successful refresh",
    ("url",),
)
JWKS_KEYS: Final = Metric(
    "jwt_middleware.jwks.keys",
    "gauge",
    "{key}",
    "Keys each JWKS cache holds now",
    ("url",),
)
#: Every metric, in the order exporters present them.
METRICS: Final = (
    VERIFICATIONS,
    VERIFICATION_DURATION,
    TOKEN_CACHE_HITS,
    JWKS_FETCHES,
    JWKS_FETCH_DURATION,
    JWKS_STALE_KEYS_SERVED,
    JWKS_UNKNOWN_KID_REFUSALS,
    JWKS_KEYS_EXPIRED,
    JWKS_KEYS,
)
_CACHE_COUNTERS: Final = {
    StaleKeysServed: JWKS_STALE_KEYS_SERVED,
    UnknownKeyRejected: JWKS_UNKNOWN_KID_REFUSALS,
    KeysExpired: JWKS_KEYS_EXPIRED,
}


@dataclass(frozen=True, slots=True)
class HistogramData:
    """A bucketed distribution: ``counts[i]`` observations fell at or below ``bounds[i]`` and above
    ``bounds[i - 1]``; the last count is above every bound."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float
    count: int


class _Histogram:
    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def data(self) -> HistogramData:
        return HistogramData(self.bounds, tuple(self.counts), self.sum, self.count)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every series at one instant (copies: safe to read while verifications go on)."""

    counts: Mapping[str, Mapping[Labels, int]]
    histograms: Mapping[str, Mapping[Labels, HistogramData]]

    def values(self, metric: Metric) -> Mapping[Labels, int]:
        """The series of a counter or gauge: label values (in ``metric.labels`` order) to value."""
        return self.counts.get(metric.name, {})

    def distributions(self, metric: Metric) -> Mapping[Labels, HistogramData]:
        """The series of a histogram, by label values."""
        return self.histograms.get(metric.name, {})


class Telemetry:
    """Totals of the events of the verifiers and caches it is attached to."""

    def __init__(self, *, histograms: bool = True) -> None:
        self._histograms = histograms
        self._lock = threading.Lock()
        self._counts: dict[str, dict[Labels, int]] = {
            metric.name: {} for metric in METRICS if metric.kind == "counter"
        }
        self._distributions: dict[str, dict[Labels, _Histogram]] = {
            metric.name: {} for metric in METRICS if metric.kind == "histogram"
        }
        self._verifications = self._counts[VERIFICATIONS.name]
        # Token-cache hits report one shared event per issuer: each gets a counter of its own,
        # found by the event's identity and advanced without the lock (``next`` on an
        # ``itertools.count`` is atomic), the cheapest count Python has. The event is kept with its
        # counter, so its identity cannot be reused.
        self._hit_counters: dict[int, tuple[VerificationEvent, itertools.count[int]]] = {}
        self._caches: weakref.WeakSet[JWKSCache] = weakref.WeakSet()
        self._detachers: list[tuple[object, object, Callable[[], None]]] = []
        self._attached: weakref.WeakSet[object] = weakref.WeakSet()

    # -- attaching ------------------------------------------------------------------------------------

    def attach(self, target: Target) -> None:
        """Count the events of ``target`` from now on; attaching the same object twice counts once."""
        self._attach(target, target)

    def _attach(self, target: Target, owner: object) -> None:
        # ``owner`` is what the caller attached (a verifier, for its key sources), for ``detach``.
        if isinstance(target, JWTVerifier):
            if self._first_time(target):
                target.add_event_hook(self.on_verification)
                self._remember(owner, target, lambda: target.remove_event_hook(self.on_verification))
            seen: set[int] = set()
            for source in target.key_sources.values():
                if id(source) not in seen and isinstance(source, _Observable):
                    seen.add(id(source))
                    self._attach(source, owner)
        elif isinstance(target, _Observable):
            if self._first_time(target):
                observable = target
                hook = self._cache_hook()
                observable.add_event_hook(hook)
                self._remember(owner, target, lambda: observable.remove_event_hook(hook))
                if isinstance(target, JWKSCache):
                    self._caches.add(target)
        elif isinstance(target, list | tuple | set | frozenset):
            for item in target:
                self._attach(item, item if owner is target else owner)
        else:
            raise TypeError(f"cannot observe {type(target).__name__}: give a JWTVerifier or a JWKSCache")

    def _first_time(self, target: object) -> bool:
        with self._lock:
            if target in self._attached:
                return False
            self._attached.add(target)
            return True

    def _remember(self, owner: object, target: object, undo: Callable[[], None]) -> None:
        with self._lock:
            self._detachers.append((owner, target, undo))

    def detach(self, target: Target | None = None) -> None:
        """Stop counting ``target`` (a verifier with its key sources, a cache, or a list of them),
        or everything when ``None``. The totals counted so far stay readable."""
        owners = None if target is None else {id(item) for item in _items(target)}
        with self._lock:
            leaving = [entry for entry in self._detachers if owners is None or id(entry[0]) in owners]
            self._detachers = [entry for entry in self._detachers if entry not in leaving]
            for _, attached, _ in leaving:
                self._attached.discard(attached)
        for _, _, undo in leaving:
            undo()

    # -- the hooks ------------------------------------------------------------------------------------

    def on_verification(self, event: VerificationEvent) -> None:
        if event.cached:
            found = self._hit_counters.get(id(event))
            if found is None:
                with self._lock:
                    found = self._hit_counters.setdefault(id(event), (event, itertools.count(1)))
            next(found[1])
            return
        labels = (event.outcome, event.code, event.issuer)
        with self._lock:  # one acquisition for the count and the bucket
            counts = self._verifications
            counts[labels] = counts.get(labels, 0) + 1
            if self._histograms and event.duration is not None:
                self._bucket(VERIFICATION_DURATION, labels, event.duration)
        self.timed(labels, event)

    def timed(self, labels: Labels, event: VerificationEvent) -> None:
        """A full verification ended (not a token-cache hit): for exporters that record durations
        themselves (``histograms=False``). ``labels`` are its ``VERIFICATION_DURATION`` labels."""

    def fetched(self, trigger: str, event: FetchSucceeded | FetchFailed) -> None:
        """A fetch ended (``trigger`` is why it started); by default, bucket its duration."""
        if self._histograms:
            labels = (event.url, SUCCESS if isinstance(event, FetchSucceeded) else FAILURE)
            self._observe(JWKS_FETCH_DURATION, labels, event.duration)

    def _observe(self, metric: Metric, labels: Labels, value: float) -> None:
        with self._lock:
            self._bucket(metric, labels, value)

    def _bucket(self, metric: Metric, labels: Labels, value: float) -> None:
        """Add ``value`` to the series' histogram; the caller holds the lock."""
        series = self._distributions[metric.name]
        histogram = series.get(labels)
        if histogram is None:
            histogram = series[labels] = _Histogram(metric.buckets)
        histogram.observe(value)

    def _count(self, metric: Metric, labels: Labels) -> None:
        with self._lock:
            series = self._counts[metric.name]
            series[labels] = series.get(labels, 0) + 1

    def _cache_hook(self) -> EventHook:
        # Why each fetch started, by URL (a discovery-then-JWKS flight ends under the JWKS URL,
        # so the last trigger of this source stands in when the URL changed on the way).
        triggers: dict[str, str] = {}
        last = ["cold"]

        def on_cache_event(event: CacheEvent) -> None:
            if isinstance(event, FetchStarted):
                triggers[event.url] = last[0] = event.reason
            elif isinstance(event, FetchSucceeded):
                trigger = triggers.pop(event.url, last[0])
                self._count(JWKS_FETCHES, (event.url, SUCCESS, None, trigger))
                self.fetched(trigger, event)
            elif isinstance(event, FetchFailed):
                trigger = triggers.pop(event.url, last[0])
                self._count(JWKS_FETCHES, (event.url, FAILURE, event.code, trigger))
                self.fetched(trigger, event)
            else:
                metric = _CACHE_COUNTERS.get(type(event))
                if metric is not None:
                    self._count(metric, (event.url,))

        return on_cache_event

    # -- reading --------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        keys: dict[Labels, int] = {}
        for cache in list(self._caches):
            label = cache.url or cache.discovery_url
            if label is not None:
                keys[(label,)] = len(cache.keys) if cache.keys is not None else 0
        with self._lock:
            counts = {name: dict(series) for name, series in self._counts.items()}
            histograms = {
                name: {labels: value.data() for labels, value in series.items()}
                for name, series in self._distributions.items()
            }
            hit_counters = list(self._hit_counters.values())
        verifications, hits = counts[VERIFICATIONS.name], counts[TOKEN_CACHE_HITS.name]
        for event, counter in hit_counters:
            count = _current(counter)
            labels = (event.outcome, event.code, event.issuer)
            verifications[labels] = verifications.get(labels, 0) + count
            hits[(event.issuer,)] = hits.get((event.issuer,), 0) + count
        counts[JWKS_KEYS.name] = keys
        return Snapshot(counts, histograms)


def _items(target: Target) -> list[object]:
    if isinstance(target, list | tuple | set | frozenset):
        return list(target)
    return [target]


def _current(counter: itertools.count[int]) -> int:
    """How many times ``next`` was called on a counter that started at 1, without advancing it
    (its ``repr`` is ``count(N)``, N the next value)."""
    return int(repr(counter)[len("count(") : -1]) - 1
