"""``JWTAuthMiddleware``: bearer-token (or any ``Authenticator``) authentication as pure ASGI.

It speaks Starlette's authentication vocabulary, so everything Starlette documents for
``AuthenticationMiddleware`` works unchanged: ``request.user`` is a ``BaseUser``, ``request.auth``
holds ``AuthCredentials`` with the token's scopes, and ``starlette.authentication.requires``
guards endpoints. The verified ``Claims`` are also at ``scope["jwt_middleware.claims"]`` for any
ASGI framework.

It is pure ASGI (no ``BaseHTTPMiddleware``) so streaming responses, background tasks and
websockets pass through untouched, and it takes part in the lifespan protocol to load keys before
the first request and close its verifiers at shutdown (a Redis revocation list's or replay store's
connections; the key caches hold no connection between fetches).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from starlette.authentication import AuthCredentials, BaseUser, UnauthenticatedUser
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jwt_middleware.authenticator import Authenticator, BearerAuthenticator, authenticator_from, challenges_of
from jwt_middleware.challenge import ChallengeBuilder, bearer_challenges, error_response
from jwt_middleware.claims import Claims
from jwt_middleware.errors import JWTMiddlewareError, TemporarilyUnavailableError
from jwt_middleware.recent import RecentTokens
from jwt_middleware.request_auth import HeaderReader, RequestPolicy
from jwt_middleware.request_view import ASGIRequestView, RequestView, asgi_header
from jwt_middleware.resource_metadata import ProtectedResourceMetadata, with_resource_metadata
from jwt_middleware.safe_json import FrozenList
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "CHALLENGES_KEY",
    "CLAIMS_KEY",
    "REALM_KEY",
    "ErrorHandler",
    "JWTAuthMiddleware",
    "JWTUser",
    "VerifierSelector",
    "scope_headers",
    "send_response",
]

logger = logging.getLogger("jwt_middleware")

#: Where the verified claims live in the ASGI scope (``None`` for an anonymous request).
CLAIMS_KEY: Final = "jwt_middleware.claims"
#: The realm of the middleware that handled the request, for responses built further in.
REALM_KEY: Final = "jwt_middleware.realm"
#: The ``ChallengeBuilder`` of the middleware's authenticator, for responses built further in;
#: absent when it challenges with RFC 6750's ``Bearer`` (the default).
CHALLENGES_KEY: Final = "jwt_middleware.challenges"

VerifierSelector = Callable[[Scope], JWTVerifier | None]
ErrorHandler = Callable[[HTTPConnection, JWTMiddlewareError], Response | Awaitable[Response]]

_WEBSOCKET_DENIAL: Final = "websocket.http.response"
_POLICY_VIOLATION: Final = 1008
_TRY_AGAIN_LATER: Final = 1013


class JWTUser(BaseUser):
    """The authenticated principal: Starlette's ``BaseUser`` carrying the verified claims.

    Read-only, because one object serves every request of a token: keep per-request data on
    ``request.state``, as Starlette recommends, not on the user.
    """

    __slots__ = ("claims",)

    claims: Claims

    def __init__(self, claims: Claims) -> None:
        object.__setattr__(self, "claims", claims)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("JWTUser is read-only; keep per-request data on request.state")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("JWTUser is read-only")

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.claims.username or self.claims.subject or ""

    @property
    def identity(self) -> str:
        return self.claims.subject or ""

    @property
    def scopes(self) -> frozenset[str]:
        return self.claims.scopes

    @property
    def groups(self) -> frozenset[str]:
        return self.claims.groups

    @property
    def roles(self) -> frozenset[str]:
        return self.claims.roles

    @property
    def permissions(self) -> frozenset[str]:
        return self.claims.permissions

    def __repr__(self) -> str:
        return f"JWTUser(identity={self.identity!r})"


def scope_headers(scope: Scope) -> HeaderReader:
    """A ``HeaderReader`` over an ASGI scope (whose header names arrive lower-cased, as bytes)."""

    def read(name: str) -> list[str]:
        return asgi_header(scope, name.encode("latin-1"))

    return read


def _per_scope(verifier_for: VerifierSelector) -> Callable[[RequestView], JWTVerifier | None]:
    """``verifier_for(scope)`` as the ``BearerAuthenticator``'s choice of verifier per request."""

    def choose(request: RequestView) -> JWTVerifier | None:
        return verifier_for(request.raw)

    return choose


class JWTCredentials(AuthCredentials):
    """Starlette's ``AuthCredentials`` for verified claims: ``authenticated`` plus the token's scopes.

    The scopes are read from the claims when first asked for (most requests never ask), and are a
    read-only list, since one object may serve every request of a token.
    """

    def __init__(self, claims: Claims) -> None:  # no super().__init__: ``scopes`` is derived
        self._claims = claims
        self._scopes: FrozenList | None = None

    @property  # Starlette's plain attribute, derived and read-only here
    def scopes(self) -> list[str]:
        found = self._scopes
        if found is None:
            found = self._scopes = FrozenList(["authenticated", *self._claims.scopes])
        return found

    @scopes.setter
    def scopes(self, value: object) -> None:
        raise AttributeError("JWTCredentials are read-only; their scopes are the token's")


def credentials_for(claims: Claims) -> AuthCredentials:
    """Starlette credentials for verified claims: ``authenticated`` plus the token's scopes."""
    return JWTCredentials(claims)


def _single_authorization(scope: Scope) -> bytes | None:
    """The raw value of the request's only ``Authorization`` header; ``None`` for none or several."""
    found = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if found is not None:
                return None
            found = value
    return found


class JWTAuthMiddleware:
    """Authenticate every HTTP and websocket request before the app sees it.

    Give one ``verifier`` (bearer tokens, read as ``query_parameter``, ``cookie`` and ``header``
    say), ``verifier_for(scope)`` to choose one per request (multi-tenant apps; returning ``None``
    rejects the request), or any ``authenticator`` (see ``jwt_middleware.authenticator``).
    ``verifiers`` lists extra verifiers whose keys are loaded at startup and whose clients are
    closed at shutdown (the verifiers a custom authenticator uses, say). ``resource_metadata``
    (RFC 9728) is served at its well-known paths, unauthenticated, and named in 401 challenges.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: JWTVerifier | None = None,
        *,
        authenticator: Authenticator | None = None,
        verifier_for: VerifierSelector | None = None,
        verifiers: Iterable[JWTVerifier] = (),
        realm: str = "api",
        exclude_paths: Iterable[str] = (),
        exclude_prefixes: Iterable[str] = (),
        optional: bool = False,
        query_parameter: str | None = None,
        cookie: str | None = None,
        header: str | None = None,
        trusted_origins: Iterable[str] = (),
        on_error: ErrorHandler | None = None,
        manage_lifespan: bool = True,
        resource_metadata: ProtectedResourceMetadata | None = None,
    ) -> None:
        self.authenticator = authenticator_from(
            "JWTAuthMiddleware",
            verifier=verifier,
            authenticator=authenticator,
            verifier_for=_per_scope(verifier_for) if verifier_for is not None else None,
            per_request=True,
            query_parameter=query_parameter,
            cookie=cookie,
            header=header,
            trusted_origins=trusted_origins,
        )
        self.app = app
        self.verifier = verifier
        self.verifier_for = verifier_for
        self.policy = RequestPolicy(
            realm=realm, exclude_paths=exclude_paths, exclude_prefixes=exclude_prefixes, optional=optional
        )
        self.on_error = on_error
        self.manage_lifespan = manage_lifespan
        self._has_exclusions = self.policy.has_exclusions
        challenges = challenges_of(self.authenticator)
        bearer_verifier = (
            self.authenticator.verifier if isinstance(self.authenticator, BearerAuthenticator) else None
        )
        #: The RFC 9728 document this middleware serves, filled from the verifier (``None``: none).
        self.resource_metadata = (
            resource_metadata.for_verifier(bearer_verifier) if resource_metadata is not None else None
        )
        if self.resource_metadata is not None:
            challenges = with_resource_metadata(challenges, self.resource_metadata)
        self._challenges: ChallengeBuilder | None = None if challenges is bearer_challenges else challenges
        # Repeated Authorization values skip extraction, when that is all a token can come from.
        self._recent: RecentTokens[bytes, tuple[JWTUser, AuthCredentials]] | None = (
            RecentTokens.for_authenticator(self.authenticator)
        )
        bearer = self.authenticator if isinstance(self.authenticator, BearerAuthenticator) else None
        self._bearer = bearer
        # The stock bearer authenticator (not a subclass, which may authenticate its own way)
        # reading nothing but the Authorization header is handed that header's values.
        self._authorization_reader = (
            bearer if type(bearer) is BearerAuthenticator and bearer.reads_authorization_only else None
        )
        managed = [bearer.verifier] if bearer is not None and bearer.verifier is not None else []
        managed.extend(verifiers)
        self._managed = managed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        metadata = self.resource_metadata
        if metadata is not None and scope_type == "http" and metadata.serves(scope["method"], scope["path"]):
            answer = metadata.response(scope["method"])
            await send_response(scope, send, answer.status_code, answer.headers, answer.body)
            return
        if scope_type == "http" or scope_type == "websocket":
            if self._challenges is not None:
                scope[CHALLENGES_KEY] = self._challenges
            recent = self._recent
            header_value = recalled = None
            if recent is not None:
                header_value = _single_authorization(scope)
                if header_value is not None and not (
                    self._has_exclusions and self.policy.is_excluded(scope["path"])
                ):
                    recalled = recent.recall(header_value)
            if recalled is not None:
                scope["user"], scope["auth"] = recalled[1]
                scope[CLAIMS_KEY] = recalled[0].claims
            else:
                try:
                    await self._authenticate(scope, header_value)
                except JWTMiddlewareError as error:
                    await self._reject(scope, receive, send, error)
                    return
            scope[REALM_KEY] = self.policy.realm
            await self.app(scope, receive, send)
        elif scope_type == "lifespan" and self.manage_lifespan:
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope, header_value: bytes | None) -> None:
        """Authenticate the request and put who it is in ``scope``; ``header_value`` is its only
        ``Authorization`` value when the caller already looked (for the memo of recent tokens)."""
        if self._has_exclusions and self.policy.is_excluded(scope["path"]):
            claims = None
        else:
            reader = self._authorization_reader
            if reader is not None:
                # The header read here, and a view built only if the authenticator needs one.
                claims = await reader.authenticate_authorization(
                    asgi_header(scope, b"authorization"), functools.partial(ASGIRequestView, scope)
                )
            else:
                claims = await self.authenticator.authenticate(ASGIRequestView(scope))
            if claims is None:
                self.policy.admit_anonymous()
        if claims is None:
            scope["user"] = UnauthenticatedUser()
            scope["auth"] = AuthCredentials()
            scope[CLAIMS_KEY] = None
            return
        principal = JWTUser(claims), JWTCredentials(claims)
        scope["user"], scope["auth"] = principal
        scope[CLAIMS_KEY] = claims
        if header_value is not None and self._bearer is not None:
            recent = self._recent
            assert recent is not None  # a header value is only read for it
            entry = self._bearer.cached_entry(header_value.decode("latin-1"))
            recent.remember(header_value, entry, principal)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, error: JWTMiddlewareError) -> None:
        if scope["type"] == "websocket" and _WEBSOCKET_DENIAL not in scope.get("extensions", {}):
            code = _TRY_AGAIN_LATER if isinstance(error, TemporarilyUnavailableError) else _POLICY_VIOLATION
            await send({"type": "websocket.close", "code": code, "reason": error.description})
            return
        if self.on_error is not None:
            response = self.on_error(HTTPConnection(scope), error)
            if inspect.isawaitable(response):
                response = await response
            await response(scope, receive, send)
            return
        await send_error(scope, send, error, self.policy.realm, self._challenges)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                for verifier in self._managed:
                    await verifier.hydrate()
            elif message["type"] == "lifespan.shutdown.complete":
                for verifier in self._managed:
                    await verifier.aclose()
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def send_error(
    scope: Scope,
    send: Send,
    error: JWTMiddlewareError,
    realm: str,
    challenges: ChallengeBuilder | None = None,
) -> None:
    """Send the RFC 6750 response for ``error`` (over the websocket denial extension if needed)."""
    response = error_response(error, realm, challenges)
    await send_response(scope, send, response.status_code, response.headers, response.body)


async def send_response(
    scope: Scope, send: Send, status: int, headers: Iterable[tuple[str, str]], body: bytes
) -> None:
    """Send a whole response the middleware answers itself (over the websocket denial extension if needed)."""
    prefix = "websocket." if scope["type"] == "websocket" else ""
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    await send({"type": f"{prefix}http.response.start", "status": status, "headers": raw})
    await send({"type": f"{prefix}http.response.body", "body": body})
