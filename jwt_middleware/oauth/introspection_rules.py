"""What an RFC 7662 introspection answer must say before its token is accepted. Pure: no I/O.

An introspection endpoint vouches for a token the service cannot check itself, so its answer is
held to the same rules a verified JWT is, through the same rule objects (``policy``):

* ``active`` must be the JSON ``true``; ``false`` refuses the token (401 ``invalid_token``), and
  anything else is a broken answer, the provider's failure (503), never a guess either way.
* ``token_type``, when present, must be an accepted one (``Bearer`` by default): a refresh token,
  or a DPoP token presented as a bearer token, is refused. So is a token bound to a key (``cnf``,
  RFC 7800/8705/9449) presented as a bearer token: whoever holds it without the key stole it.
* ``iss`` must be the configured issuer, when one is configured (and then it must be present).
* ``exp``, ``nbf`` and ``iat``, when present, with the configured leeway (``TimeCheck``).
* ``aud`` must name a configured audience, when audiences are configured (``AudienceCheck``).
* The identity claims (``sub``, ``client_id``, ``username``...) must be non-empty strings.

What remains, without ``active``, becomes the ``Claims`` every route guard reads (``scope`` is
space-delimited there as in a JWT access token).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import DEFAULT_CLAIM_MAPPING, ClaimMapping
from jwt_middleware.claims import Claims
from jwt_middleware.errors import (
    ConfigurationError,
    InvalidClaimError,
    InvalidTokenError,
    JWTMiddlewareException,
)
from jwt_middleware.policy import AudienceCheck, ClaimPolicy, IdentityClaimsCheck, TimeCheck, string_set

__all__ = ["DEFAULT_TOKEN_TYPES", "IntrospectionRules", "MalformedAnswerError"]

#: The ``token_type`` values a bearer-token resource server accepts (compared case-insensitively).
DEFAULT_TOKEN_TYPES: Final = ("Bearer",)
_NO_HEADER: Final[Mapping[str, Any]] = {}


class MalformedAnswerError(JWTMiddlewareException):
    """The answer is not an RFC 7662 answer at all (``active`` is no boolean): the provider's fault,
    which the authenticator answers with a 503, never as a verdict on the token."""


@dataclass(frozen=True, slots=True)
class IntrospectionRules:
    """The configured expectations an active token's introspection answer is checked against."""

    issuer: str | None
    audiences: frozenset[str] | None
    token_types: frozenset[str]
    time: TimeCheck
    claim_mapping: ClaimMapping
    #: The issuer rule (``None`` without a configured issuer): ``ClaimPolicy.issuer_of``.
    issuer_policy: ClaimPolicy | None
    audience_check: AudienceCheck | None

    @classmethod
    def build(
        cls,
        *,
        issuer: str | None,
        audience: str | Iterable[str] | None,
        token_types: str | Iterable[str] = DEFAULT_TOKEN_TYPES,
        leeway: float = 0.0,
        claim_mapping: ClaimMapping | None = None,
    ) -> IntrospectionRules:
        types = string_set(token_types, name="token_types")
        assert types is not None
        if claim_mapping is not None and not isinstance(claim_mapping, ClaimMapping):
            raise ConfigurationError("claim_mapping must be a ClaimMapping")
        audiences = string_set(audience, name="audience")
        single = next(iter(audiences)) if audiences is not None and len(audiences) == 1 else None
        mapping = (claim_mapping or DEFAULT_CLAIM_MAPPING).bind(audience=single).require_bound()
        time = TimeCheck(leeway=float(leeway), require_exp=False)
        return cls(
            issuer=issuer,
            audiences=audiences,
            token_types=frozenset(name.lower() for name in types),
            time=time,
            claim_mapping=mapping,
            issuer_policy=ClaimPolicy(issuers=(issuer,), time=time) if issuer is not None else None,
            audience_check=AudienceCheck(audiences) if audiences is not None else None,
        )

    def claims(self, answer: Mapping[str, Any], now: float) -> Claims:
        """The claims of an active token, or a refusal (``JWTMiddlewareError``).

        Raises ``MalformedAnswerError`` when ``active`` is not a boolean: the provider's fault.
        """
        active = answer.get("active")
        if active is not True and active is not False:
            raise MalformedAnswerError("active")
        if active is False:
            raise InvalidTokenError("The token is not active", code=reasons.TOKEN_INACTIVE)
        claims = {name: value for name, value in answer.items() if name != "active"}
        token_type = claims.get("token_type")
        if token_type is not None and not (
            isinstance(token_type, str) and token_type.lower() in self.token_types
        ):
            raise InvalidTokenError(
                "The token is not a bearer token",
                claim="token_type",
                expected=tuple(sorted(self.token_types)),
                code=reasons.TOKEN_TYPE_MISMATCH,
                found=token_type,
            )
        if "cnf" in claims:
            raise InvalidTokenError(
                "The token is bound to a key and cannot be used as a bearer token",
                claim="cnf",
                code=reasons.TOKEN_SENDER_CONSTRAINED,
            )
        if self.issuer_policy is not None:
            self.issuer_policy.issuer_of(claims)
        self.time.check(claims, now)
        if self.audience_check is not None:
            self.audience_check(_NO_HEADER, claims, now)
        _IDENTITY(_NO_HEADER, claims, now)
        return Claims(claims, None, self.claim_mapping)

    def valid_until(self, claims: Mapping[str, Any]) -> float:
        """When the accepted token stops being acceptable by its own dates (``inf`` without ``exp``)."""
        try:
            return self.time.valid_until(claims)
        except InvalidClaimError:  # pragma: no cover - checked already by ``claims``
            return -math.inf


_IDENTITY: Final = IdentityClaimsCheck()
