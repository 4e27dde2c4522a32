"""``APIGatewayClaimsMiddleware``: ``JWTAuthMiddleware`` trusting API Gateway's JWT authorizer.

The claims come from the Lambda event Mangum puts at ``scope["aws.event"]``, through
``APIGatewayClaimsAuthenticator`` (``jwt_middleware.aws.gateway_authenticator``, which says when
this is sound); this module only wires it into the ASGI middleware, for existing users.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from jwt_middleware.asgi import ErrorHandler, JWTAuthMiddleware
from jwt_middleware.aws.gateway_authenticator import AWS_EVENT_KEY, APIGatewayClaimsAuthenticator
from jwt_middleware.aws.gateway_claims import LIST_CLAIMS, ClaimType
from jwt_middleware.claim_mapping import ClaimMapping

if TYPE_CHECKING:
    from jwt_middleware.revocation import RevocationList

__all__ = ["AWS_EVENT_KEY", "APIGatewayClaimsMiddleware"]


class APIGatewayClaimsMiddleware(JWTAuthMiddleware):
    """``JWTAuthMiddleware`` with an ``APIGatewayClaimsAuthenticator``: claims from the event.

    The request then looks exactly as under ``JWTAuthMiddleware`` (``request.user``,
    ``request.auth`` scopes, ``scope["jwt_middleware.claims"]``, the route guards, RFC 6750
    answers). ``issuer`` must be given, and ``claim_types``, ``claim_mapping`` and ``revocations``
    may be, as for the authenticator.
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
        claim_types: Mapping[str, ClaimType] | None = None,
        claim_mapping: ClaimMapping | None = None,
        revocations: RevocationList | None = None,
    ) -> None:
        authenticator = APIGatewayClaimsAuthenticator(
            issuer=issuer,
            list_claims=list_claims,
            claim_types=claim_types,
            claim_mapping=claim_mapping,
            revocations=revocations,
        )
        super().__init__(
            app,
            authenticator=authenticator,
            realm=realm,
            exclude_paths=exclude_paths,
            exclude_prefixes=exclude_prefixes,
            optional=optional,
            on_error=on_error,
            manage_lifespan=False,
        )
