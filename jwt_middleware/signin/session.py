"""The session cookie as an ``Authenticator``, with refresh on expiry, once per refresh token.

``SessionAuthenticator`` reads the session token from its cookie, applies the cross-origin rule
(``jwt_middleware.csrf``) and verifies the token with the app's verifier. When the token has
expired it redeems the refresh token: one token request per refresh token in this process,
whatever the number of concurrent requests (tasks and threads alike), and the result is kept for
``refresh_grace`` seconds so that requests the browser sent with the old cookies before it saw
the new ones get the same tokens instead of presenting a rotated refresh token again (which a
provider with reuse detection answers by revoking the whole session).

An ``Authenticator`` returns claims; it cannot answer. The new cookies (or, when the refresh is
refused, the cleared ones) are left in the request (``PENDING_KEY`` in the ASGI scope or WSGI
environ) for the framework glue to add to whatever response the app sends.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from jwt_middleware.claims import Claims
from jwt_middleware.errors import ExpiredTokenError
from jwt_middleware.request_view import RequestView
from jwt_middleware.signin.cookies import read_split
from jwt_middleware.single_flight import Flight

if TYPE_CHECKING:
    from jwt_middleware.signin.core import SignIn, TokenSet

__all__ = [
    "PENDING_KEY",
    "PendingResponse",
    "RefreshFlights",
    "SessionAuthenticator",
    "is_navigation",
    "login_redirect",
    "pending_for",
]

#: Where the session cookies to send with the response wait, in the ASGI scope or WSGI environ.
PENDING_KEY: Final = "jwt_middleware.signin.pending"
#: Bound on remembered refreshes (a flood of distinct refresh tokens must not grow memory).
_MAX_REMEMBERED: Final = 10_000


@dataclass(slots=True)
class PendingResponse:
    """What the response must carry because of how the request was authenticated."""

    cookies: list[str] = field(default_factory=list)


def is_navigation(method: str, header: Callable[[str], Sequence[str]]) -> bool:
    """A person's browser loading a page (not a script's fetch): worth a redirect to sign in."""
    if method not in ("GET", "HEAD"):
        return False
    mode = header("sec-fetch-mode")
    if mode:
        return mode[0].strip().lower() == "navigate"
    return any("text/html" in accept for accept in header("accept"))


def login_redirect(
    prefix: str, method: str, path: str, query_string: str, header: Callable[[str], Sequence[str]]
) -> str | None:
    """Where a refused browser navigation goes: ``{prefix}/login`` with the page to come back to.

    ``None`` for anything else: a script's request keeps its 401, and so do the sign-in routes.
    """
    if path == prefix or path.startswith(prefix + "/") or not is_navigation(method, header):
        return None
    target = path + (f"?{query_string}" if query_string else "")
    return f"{prefix}/login?{urlencode({'next': target})}"


def pending_for(raw: Any) -> PendingResponse | None:
    """The pending response of a request, from its scope or environ (``None`` if nothing waits)."""
    if isinstance(raw, MutableMapping):
        pending = raw.get(PENDING_KEY)
        if isinstance(pending, PendingResponse):
            return pending
    return None


def _pending(request: RequestView) -> PendingResponse:
    raw = request.raw
    pending = pending_for(raw)
    if pending is None:
        pending = PendingResponse()
        if isinstance(raw, MutableMapping):
            raw[PENDING_KEY] = pending
    return pending


@dataclass(slots=True)
class _Redemption:
    """One refresh token's redemption: the flight every request presenting it waits for."""

    flight: Flight
    finished_at: float = 0.0

    def expired(self, now: float, grace: float) -> bool:
        return self.flight.landed and now - self.finished_at > grace


class RefreshFlights:
    """Single-flight refresh keyed by the refresh token (its digest: tokens are never keys).

    Each redemption is a ``single_flight.Flight``, the JWKS cache's: requests on other threads
    and other event loops wait for it and are woken when it lands, rather than polling.
    """

    def __init__(self, *, grace: float) -> None:
        if not grace >= 0:
            raise ValueError("refresh_grace must be a non-negative number of seconds")
        self.grace = grace
        self._lock = threading.Lock()
        self._flights: dict[bytes, _Redemption] = {}
        #: Token requests made, for tests and metrics.
        self.redeemed = 0

    def _join(self, key: bytes) -> tuple[_Redemption, bool]:
        now = time.monotonic()
        with self._lock:
            redemption = self._flights.get(key)
            if redemption is not None and not redemption.expired(now, self.grace):
                return redemption, False
            if len(self._flights) >= _MAX_REMEMBERED:
                self._prune(now)
            # The leader lands it whatever happens (``run``), so the waiters need no time limit.
            redemption = self._flights[key] = _Redemption(Flight(math.inf))
            self.redeemed += 1
            return redemption, True

    def _prune(self, now: float) -> None:
        for key, redemption in list(self._flights.items()):
            if redemption.expired(now, self.grace):
                del self._flights[key]
        while len(self._flights) >= _MAX_REMEMBERED:
            self._flights.pop(next(iter(self._flights)))

    def _land(self, key: bytes, redemption: _Redemption) -> None:
        redemption.finished_at = time.monotonic()
        if isinstance(redemption.flight.outcome, BaseException):
            # A failure is not remembered: the next request may try again.
            with self._lock:
                if self._flights.get(key) is redemption:
                    del self._flights[key]
        redemption.flight.land()

    async def run(self, refresh_token: str, redeem: Callable[[], Awaitable[TokenSet]]) -> TokenSet:
        key = hashlib.sha256(refresh_token.encode()).digest()
        redemption, leader = self._join(key)
        flight = redemption.flight
        if leader:
            try:
                tokens = await redeem()
            except BaseException as exc:
                flight.outcome = exc
                raise
            else:
                flight.outcome = tokens
            finally:
                self._land(key, redemption)
            return tokens
        await flight.wait()
        outcome = flight.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        result: TokenSet = outcome
        return result


class SessionAuthenticator:
    """``signin.authenticator``: the session cookie, the cross-origin rule and refresh on expiry."""

    __slots__ = ("signin",)

    def __init__(self, signin: SignIn) -> None:
        self.signin = signin

    @property
    def checks_cross_origin(self) -> bool:
        """The session cookie is always held to the cross-origin rule (``jwt_middleware.csrf``)."""
        return True

    def _credentials(self, request: RequestView) -> tuple[str | None, str | None] | None:
        """The session and refresh tokens (``None`` without either), once the request passed the
        cross-origin rule."""
        names = self.signin.cookie_names
        session, refresh = read_split(request.cookie, names.session), request.cookie(names.refresh)
        if session is None and refresh is None:
            return None
        self.signin.origin_policy.check(request.method, request.url, request.header, request.cookie)
        return session, refresh

    def _admit(self, request: RequestView, tokens: TokenSet) -> Claims:
        _pending(request).cookies.extend(self.signin.session_cookies(tokens))
        return tokens.claims

    def _expire(self, request: RequestView) -> None:
        _pending(request).cookies.extend(self.signin.clear_session_cookies())

    def _refresh_or_reraise(self, request: RequestView, refresh: str | None) -> None:
        """Called while an ``ExpiredTokenError`` is handled: re-raise it when there is no refresh token."""
        if refresh is None:
            self._expire(request)
            raise  # the ExpiredTokenError being handled

    async def authenticate(self, request: RequestView) -> Claims | None:
        found = self._credentials(request)
        if found is None:
            return None
        session, refresh = found
        if session is not None:
            try:
                return await self.signin.verifier.verify(session)
            except ExpiredTokenError:
                self._refresh_or_reraise(request, refresh)
        return await self._refresh(request, refresh)

    def authenticate_sync(self, request: RequestView) -> Claims | None:
        from jwt_middleware.signin.core import run_blocking

        found = self._credentials(request)
        if found is None:
            return None
        session, refresh = found
        if session is not None:
            try:
                return self.signin.verifier.verify_sync(session)
            except ExpiredTokenError:
                self._refresh_or_reraise(request, refresh)
        # The refresh (and the verification of its tokens) runs on a private loop.
        return run_blocking(lambda: self._refresh(request, refresh))

    async def _refresh(self, request: RequestView, refresh: str | None) -> Claims:
        from jwt_middleware.signin.core import SessionExpiredError

        assert refresh is not None
        try:
            tokens = await self.signin.refresh(refresh)
        except SessionExpiredError:
            self._expire(request)
            raise
        return self._admit(request, tokens)

    def __repr__(self) -> str:
        return f"SessionAuthenticator({self.signin!r})"
