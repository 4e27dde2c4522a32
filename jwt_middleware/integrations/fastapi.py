"""FastAPI: ``JWTBearer``, a security dependency that yields verified ``Claims``.

FastAPI documents security as dependencies that subclass ``SecurityBase``: the instance is the
dependency, its ``model`` is what OpenAPI (and with it Swagger UI's Authorize button) shows, and
``Security(dependency, scopes=[...])`` declares the scopes an operation needs, handed to the
dependency as ``SecurityScopes``. ``JWTBearer`` is exactly that, so the FastAPI idioms work as the
FastAPI docs describe them::

    auth = JWTBearer(verifier)

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(auth)]): ...

    @app.get("/orders")
    async def orders(claims: Annotated[Claims, Security(auth, scopes=["orders:read"])]): ...

    @app.delete("/orders/{id}")
    async def cancel(claims: Annotated[Claims, Depends(auth.require_roles("orders.admin"))]): ...

Extraction, verification, requirements and the RFC 6750 challenge all come from the shared core,
so a FastAPI route accepts, refuses and challenges exactly like the ASGI middleware. Failures are
raised as ``JWTHTTPException`` (a ``fastapi.HTTPException``) so FastAPI's exception handling, and
any handler a user installs, applies to them.

Note: this module deliberately has no ``from __future__ import annotations``. FastAPI reads the
signature of a callable *instance* without the module's globals, so ``__call__``'s annotations
must be real objects, not strings.
"""

import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, HTTPException, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.openapi.models import OpenIdConnect as OpenIdConnectModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from jwt_middleware.asgi import CLAIMS_KEY
from jwt_middleware.authenticator import Authenticator, BearerAuthenticator, authenticator_from, challenges_of
from jwt_middleware.challenge import ChallengeBuilder, check_scope_tokens, error_response, safe_description
from jwt_middleware.claims import Claims
from jwt_middleware.discovery import discovery_url
from jwt_middleware.errors import ConfigurationError, JWTMiddlewareError, JWTMiddlewareException
from jwt_middleware.jwks_cache import JWKSCache
from jwt_middleware.request_auth import RequestPolicy
from jwt_middleware.request_view import ASGIRequestView
from jwt_middleware.requirements import (
    Requirement,
    dpop_requirement,
    groups_requirement,
    permissions_requirement,
    roles_requirement,
    scopes_requirement,
)
from jwt_middleware.resource_metadata import ProtectedResourceMetadata, with_resource_metadata
from jwt_middleware.verifier import JWTVerifier

__all__ = ["ClaimsDependency", "JWTBearer", "JWTHTTPException", "jwt_exception_handler"]

#: What ``auth.require_roles(...)`` and its siblings return: a dependency for ``Depends``.
ClaimsDependency = Callable[..., Awaitable[Claims]]

# The response headers a handler rebuilds itself: FastAPI's JSONResponse sets its own.
_BODY_HEADERS = frozenset({"content-type", "content-length"})


class JWTHTTPException(HTTPException, JWTMiddlewareException):
    """A ``fastapi.HTTPException`` for an authentication failure, with its RFC 6750 headers.

    FastAPI's default handler answers it as ``{"detail": "<description>"}`` with the
    ``WWW-Authenticate`` challenge (or ``Retry-After`` for a 503) and ``Cache-Control: no-store``.
    ``error`` keeps the library error and ``realm`` the realm, for handlers that want to answer
    differently; ``jwt_exception_handler`` answers exactly like ``JWTAuthMiddleware``.
    ``challenges`` shapes the challenge (the authenticator's; ``Bearer`` by default).
    """

    def __init__(
        self, error: JWTMiddlewareError, realm: str, challenges: ChallengeBuilder | None = None
    ) -> None:
        answer = error_response(error, realm, challenges)
        headers = {name: value for name, value in answer.headers if name not in _BODY_HEADERS}
        detail = safe_description(error)
        super().__init__(status_code=answer.status_code, detail=detail, headers=headers)
        self.error = error
        self.realm = realm
        self.challenges = challenges


async def jwt_exception_handler(request: Request, exc: Exception) -> Response:
    """Answer a ``JWTHTTPException`` with the middleware's body (``{"error", "error_description"}``).

    Install it with ``app.add_exception_handler(JWTHTTPException, jwt_exception_handler)`` when
    clients should see one body shape whether the middleware or a dependency refused them.
    """
    if not isinstance(exc, JWTHTTPException):
        raise exc
    answer = error_response(exc.error, exc.realm, exc.challenges)
    return Response(answer.body, status_code=answer.status_code, headers=dict(answer.headers))


def _discovers_keys(verifier: JWTVerifier | None) -> bool:
    """Whether the verifier's only issuer publishes its keys through OIDC discovery.

    ``JWKSCache`` has no public flag for "constructed from an issuer", so this reads the discovery
    URL it keeps; a cache given a ``jwks_url`` has none.
    """
    if verifier is None or len(verifier.issuers) != 1:
        return False
    source = verifier.key_sources[verifier.issuers[0]]
    return isinstance(source, JWKSCache) and source.discovery_url is not None


def _openapi_model(
    verifier: JWTVerifier | None,
    openid_connect_url: str | bool | None,
    bearer_format: str,
    description: str | None,
) -> HTTPBearerModel | OpenIdConnectModel:
    """The OpenAPI security scheme: OpenID Connect when clients can discover the provider."""
    if openid_connect_url is None:
        openid_connect_url = _discovers_keys(verifier)
    if openid_connect_url is True:
        if verifier is None or len(verifier.issuers) != 1:
            raise ConfigurationError("openid_connect_url=True needs a verifier with a single issuer")
        url = discovery_url(verifier.issuers[0], allow_http=True)
        return OpenIdConnectModel(openIdConnectUrl=url, description=description)
    if isinstance(openid_connect_url, str):
        return OpenIdConnectModel(openIdConnectUrl=openid_connect_url, description=description)
    return HTTPBearerModel(bearerFormat=bearer_format, description=description)


class JWTBearer(SecurityBase):
    """A FastAPI security dependency: ``Depends(auth)`` yields the request's verified ``Claims``.

    * ``Security(auth, scopes=[...])`` also requires every listed scope (scopes from enclosing
      ``Security`` declarations add up, as FastAPI's ``SecurityScopes`` does); a token without
      them gets 403 ``insufficient_scope`` naming them.
    * ``auto_error=False`` makes authentication optional: an anonymous request yields ``None``,
      but a token that is present and invalid is still refused (it is never silently ignored),
      and an operation that declares scopes still needs a token.
    * When ``JWTAuthMiddleware`` already verified the request, its claims are reused; otherwise
      the dependency verifies the token itself, with ``await verifier.verify``.
    * ``authenticator=`` replaces ``verifier=`` with any ``Authenticator`` (exactly one of the
      two): the dependency then yields what it authenticates, refusing and challenging as it says.

    OpenAPI shows an OpenID Connect scheme (``{issuer}/.well-known/openid-configuration``) when
    the verifier finds its keys through discovery, and HTTP bearer (``bearerFormat: JWT``)
    otherwise; ``openid_connect_url`` forces either (a URL or ``True``, or ``False``).
    ``scheme_name`` names the scheme (default: the class name), ``description`` describes it.
    """

    def __init__(
        self,
        verifier: JWTVerifier | None = None,
        *,
        authenticator: Authenticator | None = None,
        auto_error: bool = True,
        scheme_name: str | None = None,
        description: str | None = None,
        realm: str = "api",
        bearer_format: str = "JWT",
        openid_connect_url: str | bool | None = None,
        query_parameter: str | None = None,
        cookie: str | None = None,
        trusted_origins: Iterable[str] = (),
        resource_metadata: ProtectedResourceMetadata | None = None,
    ) -> None:
        self.authenticator = authenticator_from(
            "JWTBearer",
            verifier=verifier,
            authenticator=authenticator,
            query_parameter=query_parameter,
            cookie=cookie,
            trusted_origins=trusted_origins,
        )
        bearer = self.authenticator if isinstance(self.authenticator, BearerAuthenticator) else None
        #: The verifier of a bearer authenticator (``None`` for another authenticator).
        self.verifier = bearer.verifier if bearer is not None else None
        #: The RFC 9728 document, filled from the verifier; 401 challenges name it (serve it with
        #: ``metadata_router``).
        self.resource_metadata = (
            resource_metadata.for_verifier(self.verifier) if resource_metadata is not None else None
        )
        challenges = challenges_of(self.authenticator)
        if self.resource_metadata is not None:
            challenges = with_resource_metadata(challenges, self.resource_metadata)
        self.challenges = challenges
        self.auto_error = auto_error
        self.policy = RequestPolicy(realm=realm, optional=not auto_error)
        self.realm = self.policy.realm
        self.model = _openapi_model(self.verifier, openid_connect_url, bearer_format, description)
        self.scheme_name = scheme_name or type(self).__name__
        # One Requirement per distinct scope list, built on first sight and shared afterwards.
        self._requirements: dict[tuple[str, ...], Requirement] = {}

    async def __call__(self, request: HTTPConnection, security_scopes: SecurityScopes) -> Claims | None:
        try:
            claims = await self.authenticate(request)
            if security_scopes.scopes:
                self.requirement(security_scopes.scopes).enforce(claims)
        except JWTMiddlewareError as error:
            raise JWTHTTPException(error, self.realm, self.challenges) from None
        return claims

    async def authenticate(self, connection: HTTPConnection) -> Claims | None:
        """The request's claims (``None`` if anonymous and allowed); raises ``JWTMiddlewareError``."""
        claims: Claims | None = connection.scope.get(CLAIMS_KEY)
        if claims is not None:
            return claims
        claims = await self.authenticator.authenticate(ASGIRequestView(connection.scope))
        if claims is None:
            self.policy.admit_anonymous()
        return claims

    def requirement(self, scopes: Sequence[str]) -> Requirement:
        """The ``Requirement`` for ``scopes``, built (and validated) once per distinct list."""
        key = tuple(scopes)
        requirement = self._requirements.get(key)
        if requirement is None:
            requirement = self._requirements.setdefault(key, scopes_requirement(key))
        return requirement

    def require_roles(self, *roles: str, any_of: bool = False) -> ClaimsDependency:
        """A dependency yielding the claims of a token with all of ``roles`` (one, with ``any_of``).

        ``Depends(auth.require_roles("admin"))`` as a parameter or in ``dependencies=[...]``; a
        token without them gets 403 ``insufficient_scope``. Validated now, at declaration time.
        """
        return self._guard(roles_requirement(roles, any_of=any_of))

    def require_permissions(self, *permissions: str, any_of: bool = False) -> ClaimsDependency:
        """``require_roles`` for permissions (Auth0's ``permissions``, or wherever the mapping says)."""
        return self._guard(permissions_requirement(permissions, any_of=any_of))

    def require_dpop(self) -> ClaimsDependency:
        """A dependency yielding the claims of a DPoP-bound token only (the route needs proofs).

        A plain bearer token gets 401 ``invalid_token`` with a ``DPoP`` challenge.
        """
        return self._guard(dpop_requirement())

    def metadata_router(self) -> APIRouter:
        """The routes serving ``resource_metadata`` (RFC 9728).

        ``app.include_router(auth.metadata_router())``; answered without authentication.
        """
        metadata = self.resource_metadata
        if metadata is None:
            raise ConfigurationError("metadata_router needs JWTBearer(..., resource_metadata=...)")
        router = APIRouter()

        async def document(request: Request) -> Response:
            answer = metadata.response(request.method)
            return Response(answer.body, status_code=answer.status_code, headers=dict(answer.headers))

        for path in metadata.paths:
            router.add_api_route(path, document, methods=["GET", "HEAD", "OPTIONS"], include_in_schema=False)
        return router

    def require_groups(self, *groups: str, any_of: bool = False) -> ClaimsDependency:
        """``require_roles`` for groups."""
        return self._guard(groups_requirement(groups, any_of=any_of))

    def _guard(self, requirement: Requirement) -> ClaimsDependency:
        # Depends(self) keeps this scheme in OpenAPI and shares the request's verification with any
        # other dependency on it (FastAPI calls a dependency once per request).
        async def guarded(claims: Annotated[Claims | None, Depends(self)]) -> Claims:
            try:
                requirement.enforce(claims)
            except JWTMiddlewareError as error:
                raise JWTHTTPException(error, self.realm, self.challenges) from None
            assert claims is not None  # enforce refuses anonymous requests
            return claims

        return guarded

    def optional(self) -> Self:
        """This scheme with ``auto_error=False``: same authenticator, realm and OpenAPI scheme name.

        Sharing the scheme keeps one entry (one Authorize button) in Swagger UI for routes that
        require a token and routes that merely accept one.
        """
        twin = copy.copy(self)
        twin.auto_error = False
        twin.policy = RequestPolicy(realm=self.realm, optional=True)
        return twin

    def annotated(self, *scopes: str) -> Any:
        """``Annotated[Claims, Security(self, scopes=[...])]``, for a reusable parameter type.

        ``Claims | None`` when ``auto_error`` is off and no scope is required. The scopes are
        validated now, at declaration time. Type checkers only accept ``Annotated`` aliases written
        out, so with mypy write ``Annotated[Claims, Depends(auth)]`` where the alias would go.
        """
        names = list(check_scope_tokens(scopes))
        if names:
            self.requirement(names)
        result: Any = Claims if self.auto_error or names else Claims | None
        return Annotated[result, Security(self, scopes=names)]

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """A FastAPI ``lifespan``: load keys at startup, close the verifier's clients at shutdown.

        Use it when ``JWTAuthMiddleware`` (which does this itself) is not installed:
        ``FastAPI(lifespan=auth.lifespan)``. Without a verifier (a custom authenticator) it does
        nothing.
        """
        verifier = self.verifier
        if verifier is not None:
            await verifier.hydrate()
        try:
            yield
        finally:
            if verifier is not None:
                await verifier.aclose()

    def __repr__(self) -> str:
        shown = self.verifier if self.verifier is not None else self.authenticator
        return f"{type(self).__name__}({shown!r}, scheme_name={self.scheme_name!r})"
