"""API Gateway HTTP API JWT authorizers: accept exactly the tokens such an authorizer accepts.

AWS documents the authorizer's checks (HTTP API developer guide, "Control access to HTTP APIs
with JWT authorizers"): the token comes from the identity source, alone or after ``Bearer``; it is
signed with an RSA algorithm by a key of the issuer's ``jwks_uri`` named by its ``kid``; ``iss``
equals the one configured issuer; ``aud`` matches a configured audience, or, only when there is
no ``aud``, ``client_id`` does; ``exp`` is in the future, ``nbf`` and ``iat`` are not; and the
token carries at least one of the route's scopes in ``scope`` or ``scp``. The preset composes the
core's checks into those rules, so a service reached both through the gateway and directly (or
tested locally) answers every token the way the gateway would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware.bearer import parse_authorization, parse_raw_token
from jwt_middleware.challenge import check_scope_tokens
from jwt_middleware.errors import ConfigurationError, UnknownKeyError
from jwt_middleware.fetching import check_url
from jwt_middleware.policy import AudienceOrClientIdCheck, ClaimCheck, ScopesCheck, string_set

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "API_GATEWAY_ALGORITHMS",
    "KeyIdRequiredCheck",
    "api_gateway_verifier",
    "identity_source_token",
]

#: "Currently, only RSA-based algorithms are supported." RSASSA-PSS is RSA-based too, but AWS has
#: never listed it, so it is left to an explicit ``algorithms=`` rather than accepted by default.
API_GATEWAY_ALGORITHMS: Final = ("RS256", "RS384", "RS512")


@dataclass(frozen=True, slots=True)
class KeyIdRequiredCheck:
    """The authorizer finds the signing key by ``kid`` only; a token without one is refused.

    The core accepts a ``kid``-less token when the issuer publishes exactly one key; API Gateway
    does not, so neither does its preset.
    """

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        if not isinstance(header.get("kid"), str):
            raise UnknownKeyError("The token names no signing key", claim="kid")


def api_gateway_verifier(
    verifier_class: type[JWTVerifier],
    *,
    issuer: str,
    audience: str | Iterable[str],
    scopes: str | Iterable[str] | None = None,
    jwks_url: str | None = None,
    **options: Any,
) -> JWTVerifier:
    """Build a ``JWTVerifier`` with an HTTP API JWT authorizer's rules (see the module docstring).

    ``issuer`` is one URL, as in the authorizer's ``JwtConfiguration``; ``audience`` one or several
    accepted values, matched against ``aud``, or against ``client_id`` when the token has no
    ``aud``. ``scopes`` are the route's ``authorizationScopes``: any one of them must be in
    ``scope``/``scp``. Keys are found through OIDC discovery, as API Gateway finds them, unless
    ``jwks_url`` says where. Other options go to ``JWTVerifier`` (``checks`` are appended).
    """
    if not isinstance(issuer, str) or not issuer:
        raise ConfigurationError("an API Gateway JWT authorizer has exactly one issuer URL")
    check_url(issuer, what="issuer")
    audiences = string_set(audience, name="audience")
    if audiences is None:
        raise ConfigurationError("an API Gateway JWT authorizer needs at least one audience")
    checks: list[ClaimCheck] = [KeyIdRequiredCheck(), AudienceOrClientIdCheck(audiences)]
    route_scopes = string_set(scopes, name="scopes")
    if route_scopes is not None:
        # The authorizer's own rule, ``scope`` or ``scp``, whatever the service's claim mapping says.
        checks.append(
            ScopesCheck(
                frozenset(check_scope_tokens(route_scopes)), any_of=True, claim_names=("scope", "scp")
            )
        )
    options.setdefault("algorithms", API_GATEWAY_ALGORITHMS)
    options["checks"] = (*checks, *options.get("checks", ()))
    return verifier_class(issuer=issuer, audience=None, jwks_url=jwks_url, **options)


def identity_source_token(value: str) -> str:
    """The token in an identity source value: the token alone, or after ``Bearer ``.

    That is the authorizer's rule for ``$request.header.Authorization``; another scheme (``Basic``)
    or anything that is not a single token raises ``InvalidRequestError``.
    """
    token = parse_authorization(value)
    return token if token is not None else parse_raw_token(value)
