"""Trust-the-gateway: take the claims an API Gateway JWT authorizer already verified.

An ASGI app run on Lambda behind an HTTP API (through Mangum, which puts the Lambda event at
``scope["aws.event"]``) can let the gateway's JWT authorizer do the verifying and read the verified
claims from the event, instead of fetching keys and checking the token a second time.

This is never the default and never a fallback: it is this middleware, chosen by name. It is only
sound when every way into the function runs the authorizer first (no function URL, no other
trigger, no route without the authorizer unless ``optional``), because the claims are believed,
not checked. A request whose event carries no authorizer claims is refused (401), and so is every
request outside Lambda, where there is no event at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Scope

from jwt_middleware.asgi import ErrorHandler, JWTAuthMiddleware
from jwt_middleware.aws.gateway_claims import LIST_CLAIMS, claims_from_event
from jwt_middleware.claims import Claims
from jwt_middleware.errors import MissingTokenError
from jwt_middleware.policy import ClaimPolicy, TimeCheck, string_set
from jwt_middleware.verifier import JWTVerifier

__all__ = ["AWS_EVENT_KEY", "APIGatewayClaimsMiddleware"]

#: Where Mangum (and compatible adapters) put the Lambda event in the ASGI scope.
AWS_EVENT_KEY: Final = "aws.event"


def _no_verifier(scope: Scope) -> JWTVerifier | None:
    """Never called: the gateway verified the token, so no verifier runs here."""
    return None


class APIGatewayClaimsMiddleware(JWTAuthMiddleware):
    """``JWTAuthMiddleware``'s behaviour, with the claims taken from the API Gateway event.

    The request then looks exactly as under ``JWTAuthMiddleware`` (``request.user``,
    ``request.auth`` scopes, ``scope["jwt_middleware.claims"]``, the route guards, RFC 6750
    answers). ``issuer`` must be given: the accepted ``iss`` value(s), checked again here so a
    route wired to the wrong authorizer is refused, or ``None`` to skip that check explicitly.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        issuer: str | Iterable[str] | None,
        realm: str = "api",
        exclude_paths: Iterable[str] = (),
        exclude_prefixes: Iterable[str] = (),
        optional: bool = False,
        on_error: ErrorHandler | None = None,
        list_claims: Iterable[str] = LIST_CLAIMS,
    ) -> None:
        super().__init__(
            app,
            verifier_for=_no_verifier,
            realm=realm,
            exclude_paths=exclude_paths,
            exclude_prefixes=exclude_prefixes,
            optional=optional,
            on_error=on_error,
            manage_lifespan=False,
        )
        issuers = string_set(issuer, name="issuer")
        # Only the issuer rule of a claim policy is used: the gateway checked times and audience.
        self._issuers = ClaimPolicy(issuers=issuers, time=TimeCheck()) if issuers is not None else None
        self._list_claims = frozenset(list_claims)

    async def _authenticate(self, scope: Scope) -> Claims | None:
        if self.policy.is_excluded(scope["path"]):
            return None
        claims = claims_from_event(scope.get(AWS_EVENT_KEY), list_claims=self._list_claims)
        if claims is None:
            if self.policy.optional:
                return None
            raise MissingTokenError()
        if self._issuers is not None:
            self._issuers.issuer_of(claims)
        return claims
