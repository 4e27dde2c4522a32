"""``ClientCredentialsTokens``: one client's access tokens, for tasks on any loop and threads at once.

The decisions are ``token_state.TokenState``'s; this module carries them out the way the JWKS
cache carries out ``JWKSState``'s, with the same pieces (``single_flight``):

* A token request is a ``Flight``. It runs on a short-lived worker thread of its own, on a
  private event loop with an HTTP client built there, so no caller's loop builds a client or
  loads a trust store, a cancelled caller never cancels the request the others wait for, and a
  background refresh outlives the loop that started it. A sync caller that must wait anyway
  makes the request in its own thread.
* Every caller that needs a token while the request is under way waits for that flight, however
  many there are and whatever thread or loop they are on: one request for all of them.
* Every exit of a request (a token, a refusal, a failure, an exception in any step, a dying
  thread) lands its flight, every wait is bounded by the flight's time limit, and the state
  machine gives up on a flight that outlives it, so nothing can strand the callers.

The grant itself is RFC 6749 4.4 through Authlib's client: its token request body, its client
authentication (``client_auth``), and our bounded, retried form POST (``wire``). The answer is
checked before it is kept: an ``access_token`` that can stand in an ``Authorization`` header, a
``token_type`` of ``Bearer``.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from jwt_middleware import reasons
from jwt_middleware.bearer import is_b64token
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.fetching import FetchError, default_client_factory, prepare_default_client
from jwt_middleware.forks import repair_in_forked_child
from jwt_middleware.network import NetworkSettings
from jwt_middleware.oauth.client_auth import ClientAuthentication
from jwt_middleware.oauth.endpoints import ProviderEndpoint
from jwt_middleware.oauth.errors import TokenEndpointError
from jwt_middleware.oauth.token_state import AccessToken, Action, Decision, TokenPolicy, TokenState
from jwt_middleware.oauth.wire import EndpointAnswer, exchange
from jwt_middleware.single_flight import Flight, fly_here, launch, running_loop

__all__ = ["ClientCredentialsTokens", "token_request_form"]

logger = logging.getLogger("jwt_middleware.oauth")

_REFUSED_STATUSES: Final = frozenset({400, 401, 403})


def token_request_form(
    scopes: Sequence[str], audience: str | None, resources: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """The RFC 6749 4.4.2 request: Authlib's body for the grant, plus RFC 8707 ``resource``s.

    ``audience`` is the parameter Auth0 (and others) use to name the API the token is for.
    """
    from authlib.common.urls import url_decode
    from authlib.oauth2.rfc6749.parameters import prepare_token_request

    extra = {"scope": list(scopes)} if scopes else {}
    if audience is not None:
        extra["audience"] = audience  # type: ignore[assignment]
    body = prepare_token_request("client_credentials", **extra)
    fields = [(str(name), str(value)) for name, value in url_decode(body)]
    fields += [("resource", resource) for resource in resources]
    return tuple(fields)


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why the last token request failed, as ``TokenEndpointError`` reports it."""

    message: str
    code: str
    status: int | None = None
    oauth_error: str | None = None

    def error(self, retry_after: float) -> TokenEndpointError:
        seconds = max(1, math.ceil(retry_after)) if math.isfinite(retry_after) else 1
        return TokenEndpointError(
            self.message,
            code=self.code,
            status=self.status,
            oauth_error=self.oauth_error,
            retry_after=seconds,
        )


@dataclass(frozen=True, slots=True)
class _Granted:
    value: str = field(repr=False)
    expires_in: float | None
    scope: str | None


def _number(value: object) -> float | None:
    """``expires_in`` as sent: a number, or the digit string some providers send."""
    if type(value) is int or type(value) is float:
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 10:
        return float(value)
    return None


def _read_token(answer: EndpointAnswer) -> _Granted | _Failure:
    """The token of a 200 answer, or why there is none."""
    document = answer.document
    if answer.status == 200 and document is not None:
        value = document.get("access_token")
        token_type = document.get("token_type", "Bearer")
        if not isinstance(value, str) or not is_b64token(value):
            return _Failure(
                "the token endpoint sent no usable access token", reasons.TOKEN_ENDPOINT_INVALID, 200
            )
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            # A DPoP or MAC token would be refused by the service it is sent to as Bearer.
            return _Failure("the token endpoint sent no bearer token", reasons.TOKEN_ENDPOINT_INVALID, 200)
        scope = document.get("scope")
        return _Granted(value, _number(document.get("expires_in")), scope if isinstance(scope, str) else None)
    if answer.status == 200:
        return _Failure("the token endpoint's answer is not a JSON object", reasons.FETCH_NOT_JSON, 200)
    if answer.status in _REFUSED_STATUSES:
        return _Failure(
            "the token endpoint refused the request",
            reasons.TOKEN_ENDPOINT_REFUSED,
            answer.status,
            answer.oauth_error,
        )
    code = reasons.FETCH_NOT_FOUND if answer.status in (404, 410) else reasons.FETCH_HTTP_STATUS
    return _Failure("the token endpoint failed", code, answer.status)


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class ClientCredentialsTokens:
    """Access tokens from the client-credentials grant, for one client, scope and audience."""

    def __init__(
        self,
        *,
        client: ClientAuthentication,
        endpoint: ProviderEndpoint,
        form: Sequence[tuple[str, str]],
        policy: TokenPolicy,
        network: NetworkSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(client, ClientAuthentication):
            raise ConfigurationError("client must be a ClientAuthentication")
        self.client = client
        self.endpoint = endpoint
        self.form = tuple(form)
        self.policy = policy
        self.network = network.network if network is not None else NetworkSettings()
        prepare_default_client(self.network)  # off the event loop, before the first token is needed
        self._clock = clock
        # Built now, at start-up: it loads Authlib's client, which a request should not wait for
        # (and a process forked in the middle of that import could never finish it).
        self._auth = client.httpx_auth()
        self._state = TokenState(policy)
        self._lock = threading.Lock()
        self._flight: Flight | None = None
        self._last_failure: _Failure | None = None
        repair_in_forked_child(self, ClientCredentialsTokens._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._flight = None
        self._state.forget_flight()

    @property
    def requests(self) -> int:
        """Token requests started so far (for tests and health checks)."""
        return self._state.requests

    @property
    def in_flight(self) -> bool:
        """Whether a token request is under way (for health checks, and tests that wait for one)."""
        return self._state.fetching

    @property
    def cached(self) -> AccessToken | None:
        """The token callers use now, if any (its value never shows in a ``repr``)."""
        token = self._state.token
        return token if token is not None and token.usable_at(self._clock()) else None

    # -- deciding -----------------------------------------------------------------------------------

    def _decide(self, after_fetch: bool) -> tuple[Decision, Flight | None]:
        now = self._clock()
        with self._lock:
            abandoned = self._flight if self._state.abandon_stuck_flight(now) else None
            if abandoned is not None:
                self._flight = None
                self._last_failure = _Failure("the token request never finished", reasons.FETCH_UNEXPECTED)
            decision = self._state.decide(now, after_fetch=after_fetch)
            flight: Flight | None
            if decision.action is Action.FETCH or decision.refresh_in_background:
                flight = self._flight = Flight(self.policy.flight_time_limit, number=decision.flight)
            else:
                flight = self._flight if decision.action is Action.WAIT else None
        if abandoned is not None:
            abandoned.land()
        return decision, flight

    def _unavailable(self) -> TokenEndpointError:
        failure = self._last_failure or _Failure("the token request timed out", reasons.FETCH_TIMEOUT)
        return failure.error(self._state.retry_in(self._clock()))

    def _served(self, decision: Decision, flight: Flight | None) -> AccessToken | None:
        if decision.action is not Action.USE:
            return None
        if flight is not None:
            self._launch(flight)  # a refresh that is due runs off the caller's path
        return decision.token

    def _after_wait(self) -> AccessToken:
        decision, flight = self._decide(True)
        token = self._served(decision, flight)
        if token is None:
            raise self._unavailable()
        return token

    # -- the request (one implementation, every driver) ---------------------------------------------

    async def _request(self, flight: Flight) -> None:
        """Make the token request and record its outcome; raises only BaseExceptions (a dying
        thread), which the flight's landing then records."""
        deadline = time.monotonic() + self.policy.timeout
        url = self.endpoint.url or self.endpoint.issuer or "?"
        outcome: _Granted | _Failure
        try:
            async with default_client_factory(self.network) as client:
                url = await self.endpoint.resolve(client, deadline=deadline)
                answer = await exchange(client, url, self.form, auth=self._auth, deadline=deadline)
            outcome = _read_token(answer)
        except FetchError as exc:
            outcome = _Failure(f"the token request failed: {exc.reason}", exc.code)
        except Exception as exc:
            outcome = _Failure(f"unexpected {type(exc).__name__}", reasons.FETCH_UNEXPECTED)
        if isinstance(outcome, _Failure):
            self._failed(flight, outcome, url)
            return
        with self._lock:
            self._state.adopt(
                outcome.value,
                token_type="Bearer",
                expires_in=outcome.expires_in,
                scope=outcome.scope,
                now=self._clock(),
                flight=flight.number,
            )
            self._last_failure = None

    def _failed(self, flight: Flight, failure: _Failure, url: str) -> None:
        with self._lock:
            retry_in = self._state.fetch_failed(self._clock(), flight.number)
            self._last_failure = failure
        status = f" HTTP {failure.status}" if failure.status is not None else ""
        oauth_error = f" {failure.oauth_error}" if failure.oauth_error is not None else ""
        logger.warning(
            "jwt_middleware.oauth: token request for client %r at %s failed (%s%s%s); next in %.1fs",
            self.client.client_id,
            _without_query(url),
            failure.code,
            status,
            oauth_error,
            retry_in,
        )

    def _land(self, flight: Flight, interrupted_by: str = "") -> None:
        with self._lock:
            if self._flight is flight:
                self._flight = None
            unreported = self._state.owns(flight.number)
        if unreported:
            reason = f"interrupted by {interrupted_by}" if interrupted_by else "interrupted"
            self._failed(flight, _Failure(f"the token request was {reason}", reasons.FETCH_UNEXPECTED), "?")
        flight.land()

    def _launch(self, flight: Flight) -> None:
        body = functools.partial(self._request, flight)
        launch(body, functools.partial(self._land, flight), name="jwt-middleware-token-request")

    def _fly_here(self, flight: Flight) -> None:
        fly_here(functools.partial(self._request, flight), functools.partial(self._land, flight))

    # -- drivers ------------------------------------------------------------------------------------

    async def token(self) -> AccessToken:
        """A usable token, requesting one if needed; raises ``TokenEndpointError``."""
        decision, flight = self._decide(False)
        token = self._served(decision, flight)
        if token is not None:
            return token
        if flight is None:
            raise self._unavailable()
        if decision.action is Action.FETCH:
            self._launch(flight)
        await flight.wait()
        return self._after_wait()

    def token_sync(self) -> AccessToken:
        """``token`` for threads (a sync client); it blocks only while a request is under way."""
        decision, flight = self._decide(False)
        token = self._served(decision, flight)
        if token is not None:
            return token
        if flight is None:
            raise self._unavailable()
        if decision.action is Action.FETCH:
            if running_loop() is None:
                self._fly_here(flight)  # this thread waits anyway: make the request here
            else:
                self._launch(flight)  # a sync client inside a loop: the request runs beside it
        flight.wait_sync()
        return self._after_wait()

    def invalidate(self, token: AccessToken) -> bool:
        """The downstream service answered 401 to ``token``: whether to retry with a new one."""
        with self._lock:
            return self._state.invalidate(token, self._clock())

    def __repr__(self) -> str:
        where = self.endpoint.url or self.endpoint.issuer
        return f"ClientCredentialsTokens(client_id={self.client.client_id!r}, endpoint={where!r})"
