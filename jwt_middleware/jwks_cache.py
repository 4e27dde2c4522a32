"""``JWKSCache``: an issuer's signing keys, fetched once and kept usable through rotation and outages.

The decisions live in ``jwks_state.JWKSState``; this module only carries them out, for async
callers on any event loop anyio supports (asyncio, uvloop, trio) and for threads (WSGI, Django,
Flask), all sharing one lock-protected state, so a process mixing them still fetches once.

Where fetches run. A fetch runs on a short-lived worker thread of its own, on a private event
loop, with an HTTP client built there (and the process's one SSL context, built on first use
there too). So no request's event loop ever builds a client, loads a trust store or decodes a
key set, a cancelled request never cancels the fetch other requests wait for, and a refresh
outlives the short-lived loops of test clients. Two exceptions: a sync caller that must wait
anyway fetches in its own thread, and an ``http_client`` given by the user is used where it
belongs, in the calling task on the caller's loop (shielded from cancellation).

How waiters are woken: each fetch is a ``single_flight.Flight``, which wakes the waiters of
every event loop on that loop and releases them in small batches (see that module), so a thousand
requests parked on a cold cache cost no more loop time at once than the same burst on warm keys.

Every wait is bounded by the flight's time limit, every exit of a fetch (success, failure, an
exception in any step, a dying thread, a task cancelled) lands its flight, and the state machine
gives up on a flight that outlives its limit, so nothing can strand the cache.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import anyio

from jwt_middleware.algorithms import Algorithm
from jwt_middleware.discovery import discovery_url, jwks_url_from_discovery
from jwt_middleware.errors import (
    BlockingCallError,
    ConfigurationError,
    JWKError,
    KeysUnavailableError,
    UnknownKeyError,
)
from jwt_middleware.events import (
    CacheEvent,
    EventHook,
    EventHooks,
    FetchFailed,
    FetchStarted,
    FetchSucceeded,
    KeysExpired,
    StaleKeysServed,
    UnknownKeyRejected,
    emit,
)
from jwt_middleware.fetching import (
    ClientFactory,
    FetchError,
    check_url,
    default_client_factory,
    fetch_bytes,
    fetch_json,
    prepare_default_client,
)
from jwt_middleware.forks import repair_in_forked_child
from jwt_middleware.jwk import KeySet, VerificationKey
from jwt_middleware.jwks_state import Action, CacheSettings, Decision, JWKSState, KeyDecoder, decode_jwks
from jwt_middleware.reasons import FETCH_TIMEOUT, FETCH_UNEXPECTED, JWKS_UNUSABLE
from jwt_middleware.single_flight import Flight, fly_here, launch, running_loop

if TYPE_CHECKING:
    import httpx2  # clients come from ``fetching``, which imports httpx2 when it builds one

__all__ = ["CacheSettings", "JWKSCache"]


class JWKSCache:
    """The keys published at one JWKS URL (or found through one issuer's discovery document).

    Share one instance between every verifier that trusts the same keys.
    """

    def __init__(
        self,
        jwks_url: str | None = None,
        *,
        issuer: str | None = None,
        settings: CacheSettings | None = None,
        http_client: httpx2.AsyncClient | None = None,
        client_factory: ClientFactory | None = None,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        decoder: KeyDecoder = decode_jwks,
    ) -> None:
        """Give ``jwks_url``, or ``issuer`` alone to discover the JWKS URL (see ``from_issuer``).

        ``http_client`` is used for the fetches async callers start, in the calling task (so on
        the loop it belongs to), and never closed by the cache; background refreshes and sync
        callers use ``client_factory``, a function of no arguments returning a new
        ``httpx2.AsyncClient``, called once per fetch on the fetch's worker thread; the cache
        closes each client after its fetch. Without one, clients follow ``settings``' network
        options (proxy, CA bundle, client certificate, ``trust_env``); with one, the factory
        decides those, so the two cannot be combined. Either way the cache's own deadline, size
        limit and refusal of redirects apply to every request.
        ``decoder`` turns a response body into keys: a JWKS by default (ALB serves PEM per key).
        """
        self.settings = settings or CacheSettings()
        if (client_factory is not None or http_client is not None) and not self.settings.is_default:
            raise ConfigurationError(
                "give the network options (trust_env, ca_bundle, client_cert, proxy) either in "
                "CacheSettings or through your own client_factory/http_client, not both"
            )
        if (jwks_url is None) == (issuer is None):
            raise ConfigurationError("give JWKSCache either a jwks_url or an issuer to discover")
        self._jwks_url = (
            check_url(jwks_url, what="jwks_url", allow_http=self.settings.allow_http) if jwks_url else None
        )
        self._issuer = issuer
        self._discovery_url = discovery_url(issuer, allow_http=self.settings.allow_http) if issuer else None
        self._state = JWKSState(self.settings)
        self._lock = threading.Lock()
        self._flight: Flight | None = None
        self._user_client = http_client
        self._client_factory = client_factory or functools.partial(default_client_factory, self.settings)
        if client_factory is None:
            prepare_default_client(self.settings)
        self._hooks: EventHooks[CacheEvent] = EventHooks(on_event, what="JWKS cache event hook")
        self._clock = clock
        self._decoder = decoder
        #: Completed fetch attempts (successful or not), JWKS and discovery alike.
        self.fetch_count = 0
        #: The reason code and phrase of the last failed fetch, until one succeeds.
        self._last_failure: tuple[str, str] | None = None
        repair_in_forked_child(self, JWKSCache._after_fork)

    def _after_fork(self) -> None:
        """In a forked child (gunicorn with ``--preload``) no fetch thread survives the fork: take
        a new lock (the parent's could have been held), and forget the flight that was under way
        so the child's first request fetches instead of waiting for a thread that is not there."""
        self._lock = threading.Lock()
        self._flight = None
        self._state.forget_flight()

    @classmethod
    def from_issuer(cls, issuer: str, **options: Any) -> JWKSCache:
        """Find the JWKS through ``{issuer}/.well-known/openid-configuration`` on first use."""
        return cls(issuer=issuer, **options)

    def add_event_hook(self, hook: EventHook) -> None:
        """Call ``hook`` with every event from now on, besides ``on_event`` (metrics integrations)."""
        self._hooks.add(hook)

    def remove_event_hook(self, hook: EventHook) -> None:
        self._hooks.remove(hook)

    @property
    def url(self) -> str | None:
        """The JWKS URL: configured, or discovered once discovery has run."""
        return self._jwks_url or self._state.discovered_jwks_url

    @property
    def discovery_url(self) -> str | None:
        """Where the JWKS URL is discovered from; ``None`` for a cache given its ``jwks_url``."""
        return self._discovery_url

    @property
    def keys(self) -> KeySet | None:
        """The current key set, if any was fetched (for inspection and health checks)."""
        return self._state.keys

    @property
    def in_flight(self) -> bool:
        """Whether a fetch is under way (for health checks, and tests that wait for one to land)."""
        return self._state.fetching

    def _label(self) -> str:
        return self.url or self._discovery_url or "?"

    # -- deciding (shared by both drivers) ----------------------------------------------------------

    def _decide(
        self, kid: str | None, algorithm: Algorithm, after_fetch: bool
    ) -> tuple[Decision, Flight | None]:
        """Ask the state machine; return its decision and the flight to start (if the caller now
        owns one) or to wait for."""
        now = self._clock()
        flight: Flight | None
        abandoned: Flight | None = None
        with self._lock:
            if self._state.abandon_stuck_flight(now):
                abandoned, self._flight = self._flight, None
            dropped_age = self._state.keys_dropped_now(now)
            decision = self._state.decide(kid, algorithm, now, after_fetch=after_fetch)
            if decision.action is Action.FETCH or decision.refresh_in_background:
                flight = self._flight = Flight(
                    self._state.flight_time_limit, number=decision.flight, reason=decision.reason
                )
            else:
                flight = self._flight if decision.action is Action.WAIT else None
        if abandoned is not None:
            self._report_failure(
                abandoned, "abandoned: the fetch never reported", FETCH_UNEXPECTED, now, already_recorded=True
            )
            abandoned.land()
        if dropped_age is not None:
            emit(self._hooks.dispatch, KeysExpired(self._label(), dropped_age))
        if decision.report_stale:
            emit(self._hooks.dispatch, StaleKeysServed(self._label(), now - self._state.fetched_at))
        return decision, flight

    def _served(self, decision: Decision, flight: Flight | None) -> VerificationKey | None:
        """The key of a ``USE`` decision (starting the background refresh it claimed), else ``None``."""
        if decision.action is not Action.USE:
            return None
        if flight is not None:
            self._launch(flight)  # a due refresh runs off the request path
        assert decision.key is not None
        return decision.key

    def _decide_after_wait(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        """Decide again once the fetch waited for has landed (or the wait ran out)."""
        decision, flight = self._decide(kid, algorithm, True)
        key = self._served(decision, flight)
        if key is None:
            raise self._refuse(decision)
        return key

    def _refuse(self, decision: Decision) -> KeysUnavailableError | UnknownKeyError:
        if decision.action is Action.REJECT:
            if decision.cooldown_remaining:
                emit(self._hooks.dispatch, UnknownKeyRejected(self._label(), decision.cooldown_remaining))
            return UnknownKeyError()
        delay = self._state.next_attempt_at - self._clock()
        return self._unavailable(min(max(1, math.ceil(delay)), 3600) if math.isfinite(delay) else 5)

    def _unavailable(self, retry_after: int = 5) -> KeysUnavailableError:
        """The refusal for "no keys", naming the fetch failure behind it when there was one."""
        code, reason = self._last_failure or (None, None)
        return KeysUnavailableError(retry_after=retry_after, code=code, fetch_reason=reason)

    # -- fetching (one implementation, every driver) ------------------------------------------------

    async def _fetch_and_install(self, flight: Flight, client: httpx2.AsyncClient | None) -> None:
        """Fetch (discovering first if needed) and record the outcome; raises only BaseExceptions
        (cancellation, a dying thread), which the flight's landing then records."""
        started = self._clock()
        emit(self._hooks.dispatch, FetchStarted(self._label(), flight.reason))
        try:
            if client is not None:
                await self._fetch_with(client, flight, started)
            else:
                async with self._client_factory() as own_client:
                    await self._fetch_with(own_client, flight, started)
        except FetchError as exc:
            self._report_failure(flight, exc.reason, exc.code, started, status=exc.status)
        except JWKError as exc:  # raised decoding a body that came with a 200
            self._report_failure(flight, str(exc), JWKS_UNUSABLE, started, status=200)
        except Exception as exc:
            self._report_failure(flight, f"unexpected {type(exc).__name__}", FETCH_UNEXPECTED, started)

    async def _fetch_with(self, client: httpx2.AsyncClient, flight: Flight, started: float) -> None:
        url = self.url
        if url is None:
            assert self._discovery_url is not None
            assert self._issuer is not None
            discovered = await fetch_json(
                client,
                self._discovery_url,
                timeout=self.settings.timeout,
                max_bytes=self.settings.max_response_bytes,
            )
            self._count_fetch()
            url = jwks_url_from_discovery(discovered.body, self._issuer, allow_http=self.settings.allow_http)
            with self._lock:
                self._state.discovered_jwks_url = url
        remaining = self.settings.timeout - (self._clock() - started)
        if remaining <= 0:
            raise FetchError("timed out", code=FETCH_TIMEOUT)
        fetched = await fetch_bytes(
            client, url, timeout=remaining, max_bytes=self.settings.max_response_bytes
        )
        self._count_fetch()
        keys = self._decoder(fetched.body, self._state.keys, self.settings)
        now = self._clock()
        with self._lock:
            keys = self._state.adopt(keys, fetched.max_age, now, flight.number)
            ttl = self._state.fresh_until - now
            self._last_failure = None
        succeeded = FetchSucceeded(url, len(keys), keys.skipped, now - started, ttl, size=len(fetched.body))
        emit(self._hooks.dispatch, succeeded)

    def _count_fetch(self) -> None:
        with self._lock:
            self.fetch_count += 1

    def _report_failure(
        self,
        flight: Flight,
        reason: str,
        code: str,
        started: float,
        *,
        already_recorded: bool = False,
        status: int | None = None,
    ) -> None:
        now = self._clock()
        with self._lock:
            if already_recorded:
                retry_in = max(0.0, self._state.next_attempt_at - now)
            else:
                retry_in = self._state.fetch_failed(now, flight.number)
            serving_stale = self._state.serving_stale(now)
            self._last_failure = (code, reason)
        failed = FetchFailed(self._label(), reason, now - started, serving_stale, retry_in, code, status)
        emit(self._hooks.dispatch, failed)

    def _land(self, flight: Flight, interrupted_by: str = "") -> None:
        """End ``flight`` whatever happened to it: record a failure if it never reported, wake all."""
        with self._lock:
            if self._flight is flight:
                self._flight = None
            unreported = self._state.owns(flight.number)
        if unreported:
            reason = f"interrupted by {interrupted_by}" if interrupted_by else "interrupted"
            self._report_failure(flight, reason, FETCH_UNEXPECTED, self._state.fetch_started_at)
        flight.land()

    def _launch(self, flight: Flight) -> None:
        """Run ``flight`` on a worker thread of its own (never on a request's event loop)."""
        launch(
            functools.partial(self._fetch_and_install, flight, None),
            functools.partial(self._land, flight),
            name="jwt-middleware-jwks-fetch",
        )

    def _fly_here(self, flight: Flight) -> None:
        """Run ``flight`` in the calling thread (a sync caller that must wait for it anyway)."""
        fly_here(
            functools.partial(self._fetch_and_install, flight, None), functools.partial(self._land, flight)
        )

    # -- async driver -------------------------------------------------------------------------------

    async def _start_async(self, flight: Flight) -> None:
        if self._user_client is None:
            self._launch(flight)
            return
        # The user's client belongs to the caller's loop: fetch right here, shielded so that a
        # cancelled request does not cancel the fetch the others wait for.
        with anyio.CancelScope(shield=True):
            try:
                await self._fetch_and_install(flight, self._user_client)
            finally:
                self._land(flight, interrupted_by="cancellation")

    async def get_key(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        """The key for a token, fetching only when the state machine says so."""
        key = self._state.fresh_key(kid, algorithm, self._clock())
        if key is not None:
            return key
        decision, flight = self._decide(kid, algorithm, False)
        key = self._served(decision, flight)
        if key is not None:
            return key
        if flight is None:
            raise self._refuse(decision)
        if decision.action is Action.FETCH:
            await self._start_async(flight)
        await flight.wait()
        return self._decide_after_wait(kid, algorithm)

    async def hydrate(self) -> None:
        """Load the keys now (application start-up); raise ``KeysUnavailableError`` on failure."""
        flight, owned = self._claim_hydrate()
        if flight is not None:
            if owned:
                await self._start_async(flight)
            await flight.wait()
        if self._state.keys is None:
            raise self._unavailable()

    def _claim_hydrate(self) -> tuple[Flight | None, bool]:
        with self._lock:
            number = self._state.claim_hydrate(self._clock())
            if number is not None:
                self._flight = Flight(self._state.flight_time_limit, number=number, reason="hydrate")
            return self._flight, number is not None

    async def aclose(self) -> None:
        """Nothing to release: the cache holds no connection between fetches (each fetch's client
        is closed when it lands, and a client passed in is the caller's to close)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- sync driver --------------------------------------------------------------------------------

    def get_key_sync(self, kid: str | None, algorithm: Algorithm) -> VerificationKey:
        """``get_key`` for threads. When it would have to wait and an event loop runs on this
        thread, it raises ``BlockingCallError`` (the fetch it needed is started all the same)."""
        key = self._state.fresh_key(kid, algorithm, self._clock())
        if key is not None:
            return key
        decision, flight = self._decide(kid, algorithm, False)
        key = self._served(decision, flight)
        if key is not None:
            return key
        if flight is None:
            raise self._refuse(decision)
        if running_loop() is not None:
            if decision.action is Action.FETCH:
                self._launch(flight)
            raise BlockingCallError(
                "the sync verifier would block a running event loop; use 'await verify()'"
            )
        if decision.action is Action.FETCH:
            self._fly_here(flight)
        else:
            flight.wait_sync()
        return self._decide_after_wait(kid, algorithm)

    def hydrate_sync(self) -> None:
        flight, owned = self._claim_hydrate()
        if flight is not None:
            if owned:
                self._fly_here(flight)
            else:
                flight.wait_sync()
        if self._state.keys is None:
            raise self._unavailable()

    def close(self) -> None:
        """Nothing to release (see ``aclose``); kept so a cache is a ``KeySource``."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JWKSCache({self._label()!r}, keys={len(self._state.keys) if self._state.keys else 0})"
