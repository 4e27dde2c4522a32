"""Amazon Cognito user pools: issuers, key URLs and the token rules Cognito documents.

Cognito issues two kinds of JWT from one issuer and one key set (two keys: one signs ID tokens,
the other access tokens): ID tokens (``token_use: "id"``, the app client in ``aud``) and access
tokens (``token_use: "access"``, the app client in ``client_id``, no ``aud``). A verifier that
only checks signature and issuer accepts either where only one is meant, so the preset makes
``token_use`` and ``client_id`` explicit decisions, the way aws-jwt-verify does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from jwt_middleware.aws.partitions import REGION_PATTERN, partition_of
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.policy import (
    ClaimCheck,
    CognitoTokenCheck,
    GroupsCheck,
    ScopesCheck,
    string_set,
)

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "COGNITO_CLAIM_MAPPING",
    "cognito_issuer",
    "cognito_jwks_url",
    "cognito_verifier",
    "global_cognito_issuer",
    "parse_cognito_issuer",
    "parse_user_pool_id",
]

_POOL_SUFFIX: Final = r"_[A-Za-z0-9]{1,55}"
_USER_POOL_ID: Final = re.compile(rf"(?P<region>{REGION_PATTERN}){_POOL_SUFFIX}")
#: Both issuer forms a pool's tokens can carry (see ``cognito_issuer`` and ``global_cognito_issuer``);
#: the domain and the pool's own region are checked against the host's after the match.
_ISSUER: Final = re.compile(
    rf"https://(?P<form>issuer-)?cognito-idp\.(?P<region>{REGION_PATTERN})\.(?P<domain>[a-z0-9.-]+)"
    rf"/(?P<pool>{REGION_PATTERN}{_POOL_SUFFIX})"
)
_NOT_GIVEN: Final[Any] = object()

#: Cognito puts scopes in ``scope`` only (it never issues ``scp``) and groups in ``cognito:groups``.
COGNITO_CLAIM_MAPPING: Final = ClaimMapping(scopes=("scope",), groups=("cognito:groups",))


def parse_user_pool_id(user_pool_id: str) -> str:
    """Validate a user pool id (``us-east-1_AbCdEf123``) and return its region."""
    if not isinstance(user_pool_id, str):
        raise ConfigurationError("user_pool_id must be a string such as 'us-east-1_AbCdEf123'")
    match = _USER_POOL_ID.fullmatch(user_pool_id)
    if match is None:
        raise ConfigurationError(f"{user_pool_id!r} is not a Cognito user pool id (expected '<region>_<id>')")
    return match["region"]


def _host(user_pool_id: str, prefix: str) -> str:
    region = parse_user_pool_id(user_pool_id)
    return f"https://{prefix}cognito-idp.{region}.{partition_of(region).dns_suffix}/{user_pool_id}"


def cognito_issuer(user_pool_id: str) -> str:
    """The classic ``iss`` of a pool's tokens: ``https://cognito-idp.{region}.{domain}/{pool}``.

    ``domain`` is the region's partition's: ``amazonaws.com`` (GovCloud too), ``amazonaws.com.cn``
    in China, ``amazonaws.eu`` in the European Sovereign Cloud.
    """
    return _host(user_pool_id, "")


def global_cognito_issuer(user_pool_id: str) -> str:
    """The updated issuer form, ``https://issuer-cognito-idp.{region}.{domain}/{pool}``.

    A pool whose ``IssuerConfiguration`` is ``UPDATED`` (the form multi-Region pools need) signs
    its tokens with this ``iss``, and publishes its keys under it.
    """
    return _host(user_pool_id, "issuer-")


def parse_cognito_issuer(issuer: str) -> tuple[str, bool] | None:
    """The user pool id in a Cognito issuer URL and whether it is the updated form; else ``None``.

    Only an exact issuer counts: the pool's own region in the host, that partition's domain.
    """
    match = _ISSUER.fullmatch(issuer) if isinstance(issuer, str) else None
    if match is None or match["pool"].partition("_")[0] != match["region"]:
        return None
    if match["domain"] != partition_of(match["region"]).dns_suffix:
        return None
    return match["pool"], match["form"] is not None


def cognito_jwks_url(user_pool_id: str, *, updated: bool = False) -> str:
    """Where a pool publishes its keys (no discovery round trip needed), under either issuer form."""
    issuer = global_cognito_issuer(user_pool_id) if updated else cognito_issuer(user_pool_id)
    return f"{issuer}/.well-known/jwks.json"


def cognito_verifier(
    verifier_class: type[JWTVerifier],
    *,
    user_pool_id: str | Iterable[str],
    client_id: str | Iterable[str] | None = _NOT_GIVEN,
    token_use: Literal["access", "id"] | None = _NOT_GIVEN,
    groups: str | Iterable[str] | None = None,
    scopes: str | Iterable[str] | None = None,
    jwks_url: str | Mapping[str, str] | None = None,
    global_issuer: bool = True,
    **options: Any,
) -> JWTVerifier:
    """Build a ``JWTVerifier`` for one or several Cognito user pools.

    ``client_id`` and ``token_use`` must be given; ``None`` skips that check explicitly. ``groups``
    and ``scopes`` are any-of requirements on ``cognito:groups`` and ``scope``, the only claims
    Cognito puts them in (``COGNITO_CLAIM_MAPPING``, which route guards read too). ``jwks_url``
    overrides where keys come from (LocalStack, moto) while the issuer stays the AWS one; with
    several pools it maps each pool id to its URL, used for both issuer forms of that pool.

    Both issuer forms are accepted, as aws-jwt-verify 5 accepts them: the classic
    ``cognito-idp`` one and the updated ``issuer-cognito-idp`` one a pool signs with once its
    ``IssuerConfiguration`` is ``UPDATED``, so switching a pool over does not lock its users out.
    Each form is its own issuer, bound to its own pool and verified with keys from its own
    ``/.well-known/jwks.json``; ``global_issuer=False`` accepts the classic form only.

    ``jwks`` (a static key set, for tests and offline use) or ``jwks_cache`` replace the pool URLs
    and pass through to ``JWTVerifier``; they cannot be combined with ``jwks_url``. A
    ``jwks_cache`` mapping is keyed by issuer; a pool's updated form falls back to the entry of its
    classic form.
    """
    if client_id is _NOT_GIVEN or token_use is _NOT_GIVEN:
        raise ConfigurationError(
            "JWTVerifier.cognito needs client_id and token_use (pass None to skip a check)"
        )
    if token_use not in ("access", "id", None):
        raise ConfigurationError("token_use must be 'access', 'id' or None")
    if "audience" in options or "issuer" in options:
        raise ConfigurationError("JWTVerifier.cognito derives issuer and audience from the pool and client")
    own_keys = options.get("jwks") is not None or options.get("jwks_cache") is not None
    if own_keys and jwks_url is not None:
        raise ConfigurationError("give JWTVerifier.cognito at most one of jwks_url, jwks and jwks_cache")
    pool_ids = string_set(user_pool_id, name="user_pool_id")
    if pool_ids is None:
        raise ConfigurationError("user_pool_id is required, such as 'us-east-1_AbCdEf123'")
    pools = sorted(pool_ids)
    client_ids = string_set(client_id, name="client_id")

    issuer_urls: dict[str, str] = {}
    for pool in pools:
        issuer_urls[cognito_issuer(pool)] = _pool_jwks_url(pool, jwks_url, several=len(pools) > 1)
        if global_issuer:
            updated_url = None if jwks_url is not None else cognito_jwks_url(pool, updated=True)
            issuer_urls[global_cognito_issuer(pool)] = updated_url or issuer_urls[cognito_issuer(pool)]
    caches = options.get("jwks_cache")
    if isinstance(caches, Mapping) and global_issuer:
        options["jwks_cache"] = {
            **{
                global_cognito_issuer(pool): caches[cognito_issuer(pool)]
                for pool in pools
                if cognito_issuer(pool) in caches
            },
            **caches,
        }

    checks: list[ClaimCheck] = [
        CognitoTokenCheck(
            token_uses=frozenset({token_use}) if token_use else frozenset({"access", "id"}),
            client_ids=client_ids,
        )
    ]
    required_groups = string_set(groups, name="groups")
    if required_groups is not None:
        checks.append(GroupsCheck(required_groups, any_of=True))
    required_scopes = string_set(scopes, name="scopes")
    if required_scopes is not None:
        checks.append(ScopesCheck(required_scopes, any_of=True))
    options.setdefault("algorithms", ("RS256",))
    options.setdefault("claim_mapping", COGNITO_CLAIM_MAPPING)
    options["checks"] = (*checks, *options.get("checks", ()))
    return verifier_class(
        issuer=list(issuer_urls),
        audience=None,  # Cognito's client check replaces aud: access tokens have none.
        jwks_url=None if own_keys else issuer_urls,
        **options,
    )


def _pool_jwks_url(pool: str, jwks_url: str | Mapping[str, str] | None, *, several: bool) -> str:
    if jwks_url is None:
        return cognito_jwks_url(pool)
    if isinstance(jwks_url, str):
        if several:
            raise ConfigurationError("with several user pools, jwks_url must map each pool id to its URL")
        return jwks_url
    if pool not in jwks_url:
        raise ConfigurationError(f"jwks_url has no entry for user pool {pool!r}")
    return jwks_url[pool]
