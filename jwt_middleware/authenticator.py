"""The one seam for "who is this request": ``Authenticator``, and ``BearerAuthenticator``.

Every adapter (the ASGI and WSGI middlewares, FastAPI's ``JWTBearer``, Django and DRF, Flask's
``JWTAuth``, the Lambda authorizer) runs the same steps. It builds a ``RequestView``; skips an
excluded path without asking anyone; asks its authenticator; and then:

* the authenticator returns ``Claims``: the request is authenticated with them;
* it returns ``None``, meaning "no credentials here": the request passes anonymously in optional
  mode, and is otherwise answered 401 with a bare challenge (RFC 6750 section 3.1);
* it raises a ``JWTMiddlewareError``: the request is refused with that error's status, challenge
  and description, exactly as a bad bearer token is.

``BearerAuthenticator`` is the bearer-token way (RFC 6750 extraction, then a ``JWTVerifier``), and
what ``verifier=`` means everywhere. Other ways (an API gateway that verified already, an API key,
a client certificate forwarded by a proxy, a session cookie, proof-of-possession) are other
authenticators, written against the public ``RequestView`` alone.

An authenticator may also shape the ``WWW-Authenticate`` challenges of its refusals, for instance
to offer several schemes at once (``Bearer`` and ``DPoP``) or to add RFC 9728's
``resource_metadata``: it defines ``challenges(error, realm)`` returning ``Challenge`` objects (see
``ChallengingAuthenticator``). Adapters use it for every refusal of their requests, including a
route guard's 403; without it (``BearerAuthenticator`` has none) they send RFC 6750's ``Bearer``
challenge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final, Protocol, runtime_checkable

from jwt_middleware.bearer import TokenLocations, extract_token, parse_authorization, parse_dpop_authorization
from jwt_middleware.challenge import Challenge, ChallengeBuilder, bearer_challenges
from jwt_middleware.claims import Claims
from jwt_middleware.csrf import OriginPolicy
from jwt_middleware.dpop.policy import DPOP_SCHEME, scheme_challenges
from jwt_middleware.errors import (
    ConfigurationError,
    InvalidRequestError,
    InvalidTokenError,
    JWTMiddlewareError,
)
from jwt_middleware.request_view import RequestView
from jwt_middleware.token_cache import CachedToken
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "Authenticator",
    "BearerAuthenticator",
    "ChallengingAuthenticator",
    "VerifierChoice",
    "authenticator_from",
    "challenges_of",
]

#: Chooses the verifier for one request (multi-tenant apps); ``None`` refuses the request.
VerifierChoice = Callable[[RequestView], JWTVerifier | None]
#: A request's token, its verifier, and the view its DPoP proof is read from (``None``: bearer).
_Credentials = tuple[str, JWTVerifier, "RequestView | None"]
#: The DPoP scheme as compared: case-insensitively (RFC 9110 section 11.1).
_DPOP: Final = DPOP_SCHEME.lower()


@runtime_checkable
class Authenticator(Protocol):
    """Decides who a request comes from, in the spirit of Starlette's ``AuthenticationBackend``.

    Both methods return the verified ``Claims``, or ``None`` when the request carries no
    credentials this authenticator reads, and raise a ``JWTMiddlewareError`` to refuse it (a
    ``TemporarilyUnavailableError``, answered 503 with ``Retry-After``, when the failure is the
    server's, not the client's).
    ``authenticate`` runs on an event loop (ASGI, FastAPI, async Django views) and must not block
    it; ``authenticate_sync`` runs in a thread without a loop (WSGI, Django, Flask, Lambda). Keep
    one implementation behind both, as ``JWTVerifier`` does.
    """

    async def authenticate(self, request: RequestView) -> Claims | None:
        """The request's claims, ``None`` without credentials; raise ``JWTMiddlewareError`` to refuse."""

    def authenticate_sync(self, request: RequestView) -> Claims | None:
        """``authenticate`` for threads without an event loop."""


@runtime_checkable
class ChallengingAuthenticator(Authenticator, Protocol):
    """An ``Authenticator`` that also shapes the ``WWW-Authenticate`` challenges of its refusals.

    ``challenges(error, realm)`` returns the challenges to send with ``error`` (never called for
    a 503, which carries ``Retry-After`` instead): one per accepted scheme, each with the
    parameters its RFC defines. ``bearer_challenges`` gives RFC 6750's; extend its result rather
    than rebuild it (``challenge.with_params(resource_metadata=...)``).
    """

    def challenges(self, error: JWTMiddlewareError, realm: str) -> Sequence[Challenge]:
        """The challenges for a refusal of this authenticator's request."""


def challenges_of(authenticator: Authenticator) -> ChallengeBuilder:
    """How an adapter challenges for ``authenticator``: its ``challenges``, or ``Bearer``'s."""
    if isinstance(authenticator, ChallengingAuthenticator):
        return authenticator.challenges
    return bearer_challenges


def authenticator_from(
    owner: str,
    *,
    verifier: JWTVerifier | None = None,
    authenticator: Authenticator | None = None,
    verifier_for: VerifierChoice | None = None,
    per_request: bool = False,
    bearer: Callable[[JWTVerifier], Authenticator] | None = None,
    query_parameter: str | None = None,
    cookie: str | None = None,
    header: str | None = None,
    trusted_origins: Iterable[str] = (),
) -> Authenticator:
    """The authenticator an adapter's arguments mean; raises ``ConfigurationError`` otherwise.

    Exactly one of ``verifier``, ``verifier_for`` (when ``owner`` has it: ``per_request``) and
    ``authenticator``; the first two mean a ``BearerAuthenticator`` reading the token from the
    given locations, which an ``authenticator`` configures itself. ``bearer`` replaces
    ``BearerAuthenticator`` for ``verifier`` where an adapter reads tokens its own way (an API
    Gateway authorizer reads the identity source).
    """
    given = [
        name
        for name, value in (
            ("verifier", verifier),
            ("verifier_for", verifier_for),
            ("authenticator", authenticator),
        )
        if value is not None
    ]
    if len(given) != 1:
        found = f" (got {' and '.join(given)})" if given else ""
        choices = "verifier, verifier_for or authenticator" if per_request else "verifier or authenticator"
        raise ConfigurationError(f"{owner} needs exactly one of {choices}{found}")
    if authenticator is not None:
        if not isinstance(authenticator, Authenticator):
            raise ConfigurationError(
                f"{owner}: authenticator must have authenticate and authenticate_sync (see Authenticator)"
            )
        if query_parameter is not None or cookie is not None or header is not None or trusted_origins:
            raise ConfigurationError(
                f"{owner}: query_parameter, cookie, header and trusted_origins belong to the "
                "BearerAuthenticator; with authenticator=, configure them on it"
            )
        return authenticator
    if verifier is not None and not isinstance(verifier, JWTVerifier):
        raise ConfigurationError(f"{owner}: verifier must be a JWTVerifier")
    if bearer is not None and verifier is not None:
        return bearer(verifier)
    if verifier_for is not None and not callable(verifier_for):
        raise ConfigurationError(f"{owner}: verifier_for must be a function choosing a JWTVerifier")
    chosen: JWTVerifier | VerifierChoice = verifier if verifier is not None else verifier_for  # type: ignore[assignment]
    return BearerAuthenticator(
        chosen, query_parameter=query_parameter, cookie=cookie, header=header, trusted_origins=trusted_origins
    )


class BearerAuthenticator:
    """Bearer tokens (RFC 6750) and DPoP-bound ones (RFC 9449), verified by a ``JWTVerifier``:
    what ``verifier=`` means everywhere.

    ``Authorization: DPoP <token>`` with its ``DPoP`` proof header goes to ``verify_dpop`` unless
    the verifier's ``dpop`` is ``"disabled"`` (then it is another scheme, as ``Basic`` is), and a
    refusal is challenged as RFC 9449 section 7.1 says: ``DPoP`` with ``algs``, and ``Bearer`` too
    while the verifier accepts bearer tokens.

    The token is read from the ``Authorization`` header (``Bearer <token>``; several headers, a
    malformed one or a token in two places are a 400), and also from the query parameter
    ``query_parameter`` or the cookie ``cookie`` when enabled, or only from the header ``header``
    carrying the raw token (AWS ALB's ``x-amzn-oidc-data``). ``verifier`` may also be a function
    of the ``RequestView`` choosing the verifier per request (multi-tenant apps; ``None`` refuses
    a request that carries a token).

    A token read from the cookie is ambient (the browser attaches it to any request, a forged
    cross-site form post included), so with ``cookie`` every unsafe request that carries it must
    come from the request's own origin or from ``trusted_origins`` (``jwt_middleware.csrf``), and
    with ``csrf_header`` also echo the ``csrf_cookie`` in that header. Bearer headers need neither.
    """

    __slots__ = ("_authorization_only", "_choose", "locations", "origin_policy", "verifier")

    verifier: JWTVerifier | None
    locations: TokenLocations

    def __init__(
        self,
        verifier: JWTVerifier | VerifierChoice,
        query_parameter: str | None = None,
        cookie: str | None = None,
        header: str | None = None,
        *,
        trusted_origins: Iterable[str] = (),
        csrf_header: str | None = None,
        csrf_cookie: str | None = None,
    ) -> None:
        if isinstance(verifier, JWTVerifier):
            #: The one verifier, or ``None`` when it is chosen per request.
            self.verifier = verifier
            self._choose: VerifierChoice | None = None
        elif callable(verifier):
            self.verifier = None
            self._choose = verifier
        else:
            raise ConfigurationError(
                "BearerAuthenticator needs a JWTVerifier, or a function of the request choosing one"
            )
        #: Where the token may come from.
        self.locations = TokenLocations(query_parameter=query_parameter, cookie=cookie, header=header)
        # Both credentials read from one Authorization lookup (see _credentials): only where that
        # header is the one place a token can come from, and a subclass reads them no other way.
        cls = type(self)
        self._authorization_only = (
            self.locations.bearer_only
            and cls.token is BearerAuthenticator.token
            and cls.dpop_token is BearerAuthenticator.dpop_token
        )
        policy = OriginPolicy(trusted_origins, csrf_header=csrf_header, csrf_cookie=csrf_cookie)
        if cookie is None and (policy.trusted_origins or csrf_header is not None):
            raise ConfigurationError("trusted_origins and csrf_header protect cookie tokens: set cookie too")
        #: The cross-origin rule for cookie tokens (``None`` when no cookie is read).
        self.origin_policy = policy if cookie is not None else None

    @property
    def checks_cross_origin(self) -> bool:
        """Whether a cookie this authenticator reads is held to the cross-origin rule (it always is)."""
        return self.origin_policy is not None

    def token(self, request: RequestView) -> str | None:
        """The request's token, ``None`` when it carries none; raises ``InvalidRequestError``.

        A token from the cookie on an unsafe cross-origin request raises ``CrossSiteRequestError``.
        """
        if self._authorization_only:
            return extract_token(request.header("authorization"))
        token = self.locations.read(request.header, lambda: request.query_string)
        policy = self.origin_policy
        cookie = self.locations.cookie
        # A token in two places is refused above, so a cookie present is where it came from.
        if (
            token is not None
            and policy is not None
            and cookie is not None
            and request.cookie(cookie) is not None
        ):
            policy.check(request.method, request.url, request.header, request.cookie)
        return token

    def verifier_for(self, request: RequestView) -> JWTVerifier:
        """The verifier for ``request``: the one given, or the one chosen for it."""
        if self.verifier is not None:
            return self.verifier
        assert self._choose is not None
        chosen = self._choose(request)
        if chosen is None:
            raise InvalidTokenError("No token issuer is accepted for this request")
        return chosen

    def dpop_token(self, request: RequestView) -> tuple[str, JWTVerifier] | None:
        """The token of an ``Authorization: DPoP`` request and its verifier, ``None`` otherwise.

        Only the ``Authorization`` header carries a DPoP token; one anywhere else as well (the
        query, the cookie) is a token in two places, a 400.
        """
        if self.locations.header is not None:
            return None
        return self._dpop_token(request, request.header("authorization"))

    def _dpop_token(self, request: RequestView, values: Sequence[str]) -> tuple[str, JWTVerifier] | None:
        """``dpop_token`` given the request's ``Authorization`` values."""
        if len(values) != 1 or values[0].lstrip(" \t")[:4].lower() != _DPOP:
            return None  # none, another scheme, or several (the bearer path refuses those)
        token = parse_dpop_authorization(values[0])
        if token is None:
            return None
        verifier = self.verifier_for(request)
        if not verifier.dpop.accepts_dpop:
            return None
        if not self.locations.bearer_only and (
            (self.locations.query_parameter is not None and request.query(self.locations.query_parameter))
            or (self.locations.cookie is not None and request.cookie(self.locations.cookie) is not None)
        ):
            raise InvalidRequestError("The request carries a token in more than one place")
        return token, verifier

    @property
    def reads_authorization_only(self) -> bool:
        """Whether the ``Authorization`` header is all this authenticator reads of a request.

        Then an adapter that has read that header's values itself may call
        ``authenticate_authorization`` with them instead of ``authenticate`` with a view.
        """
        return self._authorization_only

    def _credentials(self, request: RequestView) -> _Credentials | None:
        """The request's token, its verifier and the view of a DPoP proof (``None`` for a bearer
        token); ``None`` without a token. A DPoP token is looked for first, then a bearer token.
        """
        if self._authorization_only:
            return self._from_authorization(request.header("authorization"), lambda: request)
        dpop = self.dpop_token(request)
        if dpop is not None:
            return dpop[0], dpop[1], request
        token = self.token(request)
        if token is None:
            return None
        return token, self.verifier if self.verifier is not None else self.verifier_for(request), None

    def _from_authorization(
        self, authorization: Sequence[str], view: Callable[[], RequestView]
    ) -> _Credentials | None:
        """``_credentials`` for a bearer-only authenticator, from the ``Authorization`` values.

        Both kinds of token are read from the one lookup; the view is built only when something
        needs it (a DPoP proof, a verifier chosen per request).
        """
        if len(authorization) == 1 and authorization[0].lstrip(" \t")[:4].lower() != _DPOP:
            # One value of another scheme than DPoP, the usual request: what _dpop_token and
            # extract_token decide for it, without their two calls.
            token = parse_authorization(authorization[0])
        else:
            request = view()
            dpop = self._dpop_token(request, authorization)
            if dpop is not None:
                return dpop[0], dpop[1], request
            token = extract_token(authorization)
        if token is None:
            return None
        verifier = self.verifier
        return token, verifier if verifier is not None else self.verifier_for(view()), None

    # The three shells repeat their last lines rather than await a shared coroutine: that would
    # be one more frame on every request, for five lines.
    async def authenticate(self, request: RequestView) -> Claims | None:
        found = self._credentials(request)
        if found is None:
            return None
        token, verifier, proof_request = found
        if proof_request is None:
            return await verifier.verify(token)
        return await verifier.verify_dpop(token, proof_request)

    async def authenticate_authorization(
        self, authorization: Sequence[str], view: Callable[[], RequestView]
    ) -> Claims | None:
        """``authenticate``, given every ``Authorization`` value of the request (in order).

        Only for an authenticator that ``reads_authorization_only``; ``view()`` builds the
        request's view, called only when one is needed. Lets an adapter that looked at the
        header anyway skip building a view for the usual request.
        """
        if not self._authorization_only:
            raise ConfigurationError("this BearerAuthenticator reads more than the Authorization header")
        found = self._from_authorization(authorization, view)
        if found is None:
            return None
        token, verifier, proof_request = found
        if proof_request is None:
            return await verifier.verify(token)
        return await verifier.verify_dpop(token, proof_request)

    def authenticate_sync(self, request: RequestView) -> Claims | None:
        found = self._credentials(request)
        if found is None:
            return None
        token, verifier, proof_request = found
        if proof_request is None:
            return verifier.verify_sync(token)
        return verifier.verify_dpop_sync(token, proof_request)

    def challenges(self, error: JWTMiddlewareError, realm: str) -> Sequence[Challenge]:
        """``Bearer`` and ``DPoP`` challenges as the verifier's DPoP policy accepts them.

        With a verifier chosen per request the policy is not known here: ``Bearer``, and ``DPoP``
        only for a refusal of DPoP credentials.
        """
        return scheme_challenges(error, realm, self.verifier.dpop if self.verifier is not None else None)

    @property
    def recallable(self) -> bool:
        """Whether a middleware may answer a repeated ``Authorization`` value from memory.

        Only when that header is the only place a token comes from, the verifier is fixed and
        caches tokens (no custom check to run again), and nothing but the token is checked: a
        subclass may check more, so it is not recallable unless it says so by overriding this.
        """
        verifier = self.verifier
        return (
            type(self) is BearerAuthenticator
            and verifier is not None
            and verifier.caches_tokens
            and self.locations.bearer_only
        )

    def cached_entry(self, authorization: str) -> CachedToken | None:
        """The verifier's token-cache entry for the token in one ``Authorization`` value, if any.

        A middleware keeps it for the raw header value and re-checks it with ``entry.usable_at``
        (see ``jwt_middleware.recent``), which is the token cache's own rule.
        """
        if self.verifier is None:
            return None
        try:
            token = parse_authorization(authorization)
        except InvalidRequestError:
            return None
        return self.verifier.cached_entry(token) if token is not None else None

    def __repr__(self) -> str:
        verifier = self.verifier if self.verifier is not None else self._choose
        return f"BearerAuthenticator({verifier!r})"
