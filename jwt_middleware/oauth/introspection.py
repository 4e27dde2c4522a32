"""``IntrospectionAuthenticator``: opaque access tokens, checked by the provider (RFC 7662).

Some providers hand out access tokens only they can read (Okta's and Auth0's opaque tokens, a
Keycloak or Curity token in reference format, an API gateway's). The resource server asks the
provider's introspection endpoint about each one, authenticated as a client, and the provider
answers whether it is active and what it carries. This authenticator does that behind the
``Authenticator`` seam, so every adapter, route guard and error answer works unchanged:

* The bearer token is read as ``BearerAuthenticator`` reads it (RFC 6750, the ``Authorization``
  header). With ``jwt_verifier=``, a token shaped like a compact JWS (two dots, a header that
  starts ``eyJ``) is verified locally by it and never leaves the service; anything else is
  introspected. A JWT that fails local verification is refused, not introspected.
* The answer is held to ``introspection_rules`` (``active``, ``token_type``, ``cnf``, ``iss``,
  ``exp``, ``aud``, the identity claims) and becomes ``Claims``.
* Answers are cached by token digest (``answer_cache``): an accepted token until its ``exp`` or
  for ``cache_ttl`` seconds, whichever is sooner (a token revoked at the provider is accepted for
  at most that long); a refused one for ``negative_cache_ttl``. Memory is bounded by
  ``max_cache_entries``.
* One introspection call per token however many requests present it at once, on any threads and
  loops (a ``single_flight.Flight`` per token, run on a worker thread as the JWKS cache runs its
  fetches), and at most ``max_concurrent`` calls under way at all.
* The provider being down, slow, refusing our credentials or answering nonsense is a server-side
  failure: ``IntrospectionUnavailableError``, 503 with ``Retry-After``, never a 401; each call is
  bounded by ``timeout`` (retries included), and after a failure the endpoint is left alone for
  a short backoff, during which uncached tokens get the 503 at once.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

from jwt_middleware import reasons
from jwt_middleware.bearer import TokenLocations
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.claims import Claims
from jwt_middleware.errors import (
    BlockingCallError,
    ConfigurationError,
    JWTMiddlewareError,
    TemporarilyUnavailableError,
)
from jwt_middleware.fetching import FetchError, default_client_factory, prepare_default_client
from jwt_middleware.forks import repair_in_forked_child
from jwt_middleware.network import NetworkSettings
from jwt_middleware.oauth.answer_cache import DEFAULT_MAX_ENTRIES, Answer, AnswerCache, token_key
from jwt_middleware.oauth.client_auth import ClientAuthentication
from jwt_middleware.oauth.endpoints import ProviderEndpoint
from jwt_middleware.oauth.errors import IntrospectionUnavailableError
from jwt_middleware.oauth.introspection_rules import (
    DEFAULT_TOKEN_TYPES,
    IntrospectionRules,
    MalformedAnswerError,
)
from jwt_middleware.oauth.wire import EndpointAnswer, exchange
from jwt_middleware.request_view import RequestView
from jwt_middleware.signing import PrivateKey
from jwt_middleware.single_flight import Flight, fly_here, launch, running_loop
from jwt_middleware.verifier import JWTVerifier

__all__ = ["DEFAULT_MAX_CONCURRENT", "IntrospectionAuthenticator", "looks_like_jws"]

logger = logging.getLogger("jwt_middleware.oauth")

#: Introspection calls one authenticator makes at once; more distinct tokens at that moment get 503.
DEFAULT_MAX_CONCURRENT: Final = 100
#: After a failed call the endpoint is left alone this long, doubling per failure up to the max.
_BACKOFF_INITIAL: Final = 1.0
_BACKOFF_MAX: Final = 8.0
_REFUSED_STATUSES: Final = frozenset({400, 401, 403})
_BEARER_HEADER_ONLY: Final = TokenLocations()


def looks_like_jws(token: str) -> bool:
    """Whether ``token`` has the shape of a compact JWS: three segments, a JSON header (``eyJ``)."""
    return token.startswith("eyJ") and token.count(".") == 2


def _seconds(value: float, name: str, *, zero: bool) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and (value >= 0 if zero else value > 0)):
        raise ConfigurationError(
            f"{name} must be a {'non-negative' if zero else 'positive'} number of seconds"
        )
    return float(value)


class IntrospectionAuthenticator:
    """An ``Authenticator`` for opaque bearer tokens, checked at the provider's RFC 7662 endpoint.

    The endpoint is ``introspection_url``, or found in ``issuer``'s discovery document; with
    ``issuer`` set, the answers' ``iss`` must be it. The service authenticates as ``client_id``
    with ``auth_method`` (``client_secret_basic``, ``client_secret_post`` with ``client_secret``,
    or ``private_key_jwt`` with ``private_key``), as ``ClientCredentialsAuth`` does. ``audience``
    is what ``aud`` must name (``None``: not checked), ``token_types`` the accepted ``token_type``
    values, ``leeway`` the tolerance on ``exp``/``nbf``/``iat``, ``claim_mapping`` where the
    claims' scopes, groups, roles and permissions are (``jwt_verifier``'s by default).
    """

    def __init__(
        self,
        introspection_url: str | None = None,
        issuer: str | None = None,
        *,
        client_id: str,
        client_secret: str | None = None,
        auth_method: str = "client_secret_basic",
        audience: str | Iterable[str] | None = None,
        cache_ttl: float = 60.0,
        negative_cache_ttl: float = 5.0,
        jwt_verifier: JWTVerifier | None = None,
        timeout: float = 5.0,
        private_key: PrivateKey | str | bytes | None = None,
        private_key_alg: str | None = None,
        private_key_kid: str | None = None,
        token_types: str | Iterable[str] = DEFAULT_TOKEN_TYPES,
        leeway: float = 0.0,
        claim_mapping: ClaimMapping | None = None,
        max_cache_entries: int = DEFAULT_MAX_ENTRIES,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        network: NetworkSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        owner = "IntrospectionAuthenticator"
        if jwt_verifier is not None and not isinstance(jwt_verifier, JWTVerifier):
            raise ConfigurationError(f"{owner}: jwt_verifier must be a JWTVerifier")
        if not (isinstance(max_concurrent, int) and max_concurrent >= 1):
            raise ConfigurationError(f"{owner}: max_concurrent must be a positive integer")
        self.client = ClientAuthentication(
            client_id=client_id,
            client_secret=client_secret,
            private_key=private_key,
            auth_method=auth_method,
            private_key_alg=private_key_alg,
            private_key_kid=private_key_kid,
            owner=owner,
        )
        self.endpoint = ProviderEndpoint(
            "introspection_endpoint",
            url=introspection_url,
            issuer=issuer,
            owner=owner,
            url_argument="introspection_url",
        )
        mapping = claim_mapping or (jwt_verifier.claim_mapping if jwt_verifier is not None else None)
        #: The rules every introspection answer is held to.
        self.rules = IntrospectionRules.build(
            issuer=self.endpoint.issuer,
            audience=audience,
            token_types=token_types,
            leeway=leeway,
            claim_mapping=mapping,
        )
        self.cache_ttl = _seconds(cache_ttl, "cache_ttl", zero=False)
        self.negative_cache_ttl = _seconds(negative_cache_ttl, "negative_cache_ttl", zero=True)
        self.timeout = _seconds(timeout, "timeout", zero=False)
        self.jwt_verifier = jwt_verifier
        self.max_concurrent = max_concurrent
        self.network = network.network if network is not None else NetworkSettings()
        prepare_default_client(self.network)
        # Built now, at start-up: it loads Authlib's client, which a request should not wait for.
        self._auth = self.client.httpx_auth()
        self.cache = AnswerCache(max_cache_entries)
        self._clock = clock
        self._lock = threading.Lock()
        self._flights: dict[bytes, Flight] = {}
        self._failures = 0
        self._quiet_until = -math.inf  # monotonic: no new call before this (backoff)
        self._last_failure_code = reasons.INTROSPECTION_UNAVAILABLE
        #: Introspection calls started so far (for tests and health checks).
        self.calls = 0
        repair_in_forked_child(self, IntrospectionAuthenticator._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._flights = {}

    # -- the seam -----------------------------------------------------------------------------------

    async def authenticate(self, request: RequestView) -> Claims | None:
        token = _BEARER_HEADER_ONLY.read(request.header, lambda: request.query_string)
        if token is None:
            return None
        if self.jwt_verifier is not None and looks_like_jws(token):
            return await self.jwt_verifier.verify(token)
        return await self.introspect(token)

    def authenticate_sync(self, request: RequestView) -> Claims | None:
        token = _BEARER_HEADER_ONLY.read(request.header, lambda: request.query_string)
        if token is None:
            return None
        if self.jwt_verifier is not None and looks_like_jws(token):
            return self.jwt_verifier.verify_sync(token)
        return self.introspect_sync(token)

    # -- introspection ------------------------------------------------------------------------------

    async def introspect(self, token: str) -> Claims:
        """The claims of an active, acceptable ``token``; raises the refusal otherwise."""
        key = token_key(token)
        answer, flight, owner = self._begin(key)
        if answer is not None:
            return self._deliver(answer)
        assert flight is not None
        if owner:
            self._launch(flight, token, key)
        await flight.wait()
        return self._outcome(flight)

    def introspect_sync(self, token: str) -> Claims:
        """``introspect`` for threads without a running event loop (WSGI, Django, Flask)."""
        key = token_key(token)
        answer, flight, owner = self._begin(key)
        if answer is not None:
            return self._deliver(answer)
        assert flight is not None
        if running_loop() is not None:
            if owner:
                self._launch(flight, token, key)
            raise BlockingCallError(
                "introspect_sync would block a running event loop; use 'await introspect()'"
            )
        if owner:
            self._fly_here(flight, token, key)
        else:
            flight.wait_sync()
        return self._outcome(flight)

    def _begin(self, key: bytes) -> tuple[Answer | None, Flight | None, bool]:
        """A cached answer; or the flight to wait for, and whether this caller must start it."""
        cached = self.cache.get(key, self._clock())
        if cached is not None:
            return cached, None, False
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and (flight.remaining() > 0 or flight.landed):
                return None, flight, False
            # A flight that landed between the look-up above and this lock cached its answer first.
            cached = self.cache.get(key, self._clock())
            if cached is not None:
                return cached, None, False
            quiet_for = self._quiet_until - time.monotonic()
            if quiet_for > 0:
                raise IntrospectionUnavailableError(
                    retry_after=max(1, math.ceil(quiet_for)), code=self._last_failure_code
                )
            if len(self._flights) >= self.max_concurrent:
                raise IntrospectionUnavailableError(retry_after=1, code=reasons.INTROSPECTION_BUSY)
            flight = self._flights[key] = Flight(self.timeout + 2.0)
            self.calls += 1
            return None, flight, True

    @staticmethod
    def _deliver(answer: Answer) -> Claims:
        if isinstance(answer, Claims):
            return answer
        raise answer

    def _outcome(self, flight: Flight) -> Claims:
        outcome = flight.outcome
        if not flight.landed or outcome is None:
            raise IntrospectionUnavailableError(code=reasons.FETCH_TIMEOUT)
        if isinstance(outcome, Claims):
            return outcome
        raise copy.copy(outcome)  # each waiter raises its own exception object

    # -- the call (one implementation, every driver) ------------------------------------------------

    async def _call(self, flight: Flight, token: str, key: bytes) -> None:
        deadline = time.monotonic() + self.timeout
        form = (("token", token), ("token_type_hint", "access_token"))  # RFC 7662 2.1
        outcome: Answer
        try:
            async with default_client_factory(self.network) as client:
                url = await self.endpoint.resolve(client, deadline=deadline)
                answer = await exchange(client, url, form, auth=self._auth, deadline=deadline)
            outcome = self._judge(answer, key)
        except FetchError as exc:
            outcome = self._failed(exc.code)
        except Exception as exc:
            outcome = self._failed(reasons.FETCH_UNEXPECTED, detail=type(exc).__name__)
        flight.outcome = outcome

    def _judge(self, answer: EndpointAnswer, key: bytes) -> Answer:
        """Turn the endpoint's answer into claims, a refusal (both cached) or a 503 (not cached)."""
        if answer.status == 200 and answer.document is not None:
            now = self._clock()
            try:
                claims = self.rules.claims(answer.document, now)
            except MalformedAnswerError:
                return self._failed(reasons.INTROSPECTION_INVALID)
            except TemporarilyUnavailableError as error:
                return error
            except JWTMiddlewareError as refusal:
                refusal.conceal()
                self._succeeded()
                self.cache.put(key, refusal, now + self.negative_cache_ttl, now)
                return refusal
            self._succeeded()
            until = min(self.rules.valid_until(claims), now + self.cache_ttl)
            self.cache.put(key, claims, until, now)
            return claims
        if answer.status == 200:
            return self._failed(reasons.FETCH_NOT_JSON)
        if answer.status in _REFUSED_STATUSES:
            detail = f"HTTP {answer.status} {answer.oauth_error or ''}".strip()
            return self._failed(reasons.INTROSPECTION_REFUSED, detail=detail)
        code = reasons.FETCH_NOT_FOUND if answer.status in (404, 410) else reasons.FETCH_HTTP_STATUS
        return self._failed(code, detail=f"HTTP {answer.status}")

    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._quiet_until = -math.inf

    def _failed(self, code: str, *, detail: str = "") -> IntrospectionUnavailableError:
        with self._lock:
            self._failures += 1
            delay = min(_BACKOFF_INITIAL * 2 ** min(self._failures - 1, 16), _BACKOFF_MAX)
            self._quiet_until = time.monotonic() + delay
            self._last_failure_code = code
        logger.warning(
            "jwt_middleware.oauth: introspection for client %r failed (%s%s); answering 503 for %.0fs",
            self.client.client_id,
            code,
            f" {detail}" if detail else "",
            delay,
        )
        return IntrospectionUnavailableError(retry_after=max(1, math.ceil(delay)), code=code)

    def _land(self, flight: Flight, key: bytes, interrupted_by: str = "") -> None:
        if flight.outcome is None:
            detail = f"interrupted by {interrupted_by}" if interrupted_by else "interrupted"
            flight.outcome = self._failed(reasons.FETCH_UNEXPECTED, detail=detail)
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
        flight.land()

    def _launch(self, flight: Flight, token: str, key: bytes) -> None:
        body = functools.partial(self._call, flight, token, key)
        launch(body, functools.partial(self._land, flight, key), name="jwt-middleware-introspection")

    def _fly_here(self, flight: Flight, token: str, key: bytes) -> None:
        fly_here(
            functools.partial(self._call, flight, token, key), functools.partial(self._land, flight, key)
        )

    def __repr__(self) -> str:
        where = self.endpoint.url or self.endpoint.issuer
        return (
            f"IntrospectionAuthenticator(endpoint={where!r}, client_id={self.client.client_id!r}, "
            f"cached={len(self.cache)})"
        )
