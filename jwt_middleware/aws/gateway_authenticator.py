"""Trust-the-gateway: an ``Authenticator`` taking the claims API Gateway's authorizer verified.

An app run on Lambda behind API Gateway can let the gateway's authorizer (an HTTP API's JWT
authorizer, a REST API's Cognito user pool authorizer) do the verifying and read the verified
claims from the Lambda event, instead of fetching keys and checking the token a second time; they
arrive typed as the verifier would give them (``jwt_middleware.aws.gateway_claims``). Mangum
(ASGI) puts the event at ``scope["aws.event"]``; WSGI adapters put it in the environ under a key
of their own (``event_key=`` names it).

This is never the default and never a fallback: it is this authenticator, chosen by name. It is
only sound when every way into the function runs the authorizer first (no function URL, no other
trigger, no route without the authorizer unless ``optional``), because the claims are believed,
not checked. A request whose event carries no authorizer claims has no credentials (401 unless
``optional``), and so has every request outside Lambda, where there is no event at all.
``jwt_middleware.aws.gateway_trust.APIGatewayClaimsMiddleware`` is the ASGI middleware using it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final

from jwt_middleware.aws.gateway_claims import LIST_CLAIMS, ClaimType, claims_from_event
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.claims import Claims
from jwt_middleware.policy import ClaimPolicy, TimeCheck, string_set
from jwt_middleware.request_view import RequestView

if TYPE_CHECKING:
    from jwt_middleware.revocation import RevocationList

__all__ = ["AWS_EVENT_KEY", "APIGatewayClaimsAuthenticator"]

#: Where Mangum (and compatible adapters) put the Lambda event in the ASGI scope.
AWS_EVENT_KEY: Final = "aws.event"


class APIGatewayClaimsAuthenticator:
    """An ``Authenticator`` believing the claims API Gateway's JWT authorizer put in the event.

    ``issuer`` must be given: the accepted ``iss`` value(s), checked again here so a route wired
    to the wrong authorizer is refused, or ``None`` to skip that check explicitly. ``event_key``
    is where the event is in the request's scope or environ (``request.raw``); ``list_claims``
    and ``claim_types`` add to the claims read back as lists, numbers, dates or booleans (the
    table is ``jwt_middleware.aws.gateway_claims.CLAIM_TYPES``); ``claim_mapping`` says where the
    claims carry roles and permissions, as for a verifier. HTTP API events (JWT authorizer,
    payload 2.0 or 1.0) and REST API events (Cognito user pool authorizer) are read alike.
    ``revocations`` refuses revoked tokens (the gateway knows nothing of them), as
    ``JWTVerifier(revocations=...)`` does.
    """

    __slots__ = ("_issuers", "claim_mapping", "claim_types", "event_key", "list_claims", "revocations")

    def __init__(
        self,
        *,
        issuer: str | Iterable[str] | None,
        event_key: str = AWS_EVENT_KEY,
        list_claims: Iterable[str] = LIST_CLAIMS,
        claim_types: Mapping[str, ClaimType] | None = None,
        claim_mapping: ClaimMapping | None = None,
        revocations: RevocationList | None = None,
    ) -> None:
        issuers = string_set(issuer, name="issuer")
        # Only the issuer rule of a claim policy is used: the gateway checked times and audience.
        self._issuers = ClaimPolicy(issuers=issuers, time=TimeCheck()) if issuers is not None else None
        self.event_key = event_key
        self.list_claims = frozenset(list_claims)
        self.claim_types = dict(claim_types or {})
        self.claim_mapping = claim_mapping.require_bound("the gateway") if claim_mapping else None
        self.revocations = revocations

    def authenticate_sync(self, request: RequestView) -> Claims | None:
        raw = request.raw
        event = raw.get(self.event_key) if hasattr(raw, "get") else None
        claims = claims_from_event(
            event,
            list_claims=self.list_claims,
            claim_types=self.claim_types,
            claim_mapping=self.claim_mapping,
        )
        if claims is not None and self._issuers is not None:
            self._issuers.issuer_of(claims)
        if claims is not None and self.revocations is not None:
            self.revocations.check(claims, self.revocations.clock())
        return claims

    async def authenticate(self, request: RequestView) -> Claims | None:
        # Reading the event does no I/O: the async path is the sync one.
        return self.authenticate_sync(request)

    def __repr__(self) -> str:
        issuers = sorted(self._issuers.issuers) if self._issuers is not None else None
        return f"APIGatewayClaimsAuthenticator(issuer={issuers!r})"
