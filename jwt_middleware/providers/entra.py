"""Microsoft Entra ID (the Microsoft identity platform): v2.0 and v1.0 tokens, one or many tenants.

A registered API receives access tokens in the version its registration asks for
(``requestedAccessTokenVersion``): v2.0 tokens are issued as
``https://login.microsoftonline.com/{tid}/v2.0`` and carry ``"ver": "2.0"``, v1.0 tokens as
``https://sts.windows.net/{tid}/`` with ``"ver": "1.0"``. Only v2.0 is accepted unless
``versions`` says otherwise, and a token whose ``ver`` disagrees with its issuer's form is refused.
Delegated permissions are in ``scp`` (space-delimited), app roles (for users or for applications)
in ``roles``, group object ids in ``groups``; ``tid`` is the tenant, ``oid`` the user's object id.

A single-tenant API gives its tenant id: the issuer is exact and ``tid`` must be that tenant.
A multi-tenant API (``tenant_id="organizations"`` or ``"common"``) cannot list one issuer per
tenant: each token's issuer must be the template filled with the token's own ``tid``
(``IssuerTemplate``), and that ``tid`` must be one of ``allowed_tenants``, given explicitly
(there is no "any tenant" default: that is how multi-tenant APIs end up open to every Entra
tenant in the world). Keys come from the tenant's key set, or the common one for multi-tenant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.errors import ABSENT, ConfigurationError, InvalidClaimError
from jwt_middleware.issuer_template import IssuerTemplate
from jwt_middleware.policy import ClaimValueCheck, string_set
from jwt_middleware.providers._preset import key_options, refuse_derived, with_checks

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "CONSUMERS_TENANT_ID",
    "ENTRA_CLAIM_MAPPING",
    "MULTI_TENANT",
    "EntraVersionCheck",
    "entra_issuer",
    "entra_jwks_url",
    "entra_verifier",
]

#: Delegated scopes in ``scp``, app roles in ``roles``, group object ids in ``groups``.
ENTRA_CLAIM_MAPPING: Final = ClaimMapping(scopes="scp", groups="groups", roles="roles", permissions=())
#: The tenant names that stand for many tenants.
MULTI_TENANT: Final = frozenset({"organizations", "common"})
#: The tenant of personal Microsoft accounts: ``tenant_id="consumers"`` means this one tenant.
CONSUMERS_TENANT_ID: Final = "9188040d-6c67-4c5b-b112-36a304b66dad"

_GUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LOGIN: Final = "https://login.microsoftonline.com"
#: The issuer of each token version, ``{tid}`` the tenant.
_ISSUERS: Final = {"2.0": _LOGIN + "/{tid}/v2.0", "1.0": "https://sts.windows.net/{tid}/"}


def _tenant(value: object, what: str) -> str:
    if not isinstance(value, str) or _GUID.fullmatch(value) is None:
        raise ConfigurationError(
            f"JWTVerifier.entra: {what} must be a tenant id (a GUID such as "
            "'72f988bf-86f1-41af-91ab-2d7cd011db47'); the issuer names tenants by id, not by domain"
        )
    return value.lower()


def entra_issuer(tenant_id: str, version: str = "2.0") -> str:
    """The issuer of a tenant's tokens of ``version`` (``"2.0"`` or ``"1.0"``)."""
    if version not in _ISSUERS:
        raise ConfigurationError("Entra token versions are '2.0' and '1.0'")
    return _ISSUERS[version].replace("{tid}", _tenant(tenant_id, "tenant_id"))


def entra_jwks_url(tenant: str) -> str:
    """Where a tenant (or ``common``) publishes its signing keys."""
    return f"{_LOGIN}/{tenant}/discovery/v2.0/keys"


@dataclass(frozen=True, slots=True)
class EntraVersionCheck:
    """``ver`` must be an accepted version and the one the token's issuer is the form of.

    A v1.0 and a v2.0 token of one tenant carry different issuers, so the issuer rule already keeps
    an unaccepted version out; this also refuses a token whose ``ver`` and issuer disagree.
    """

    versions: frozenset[str]

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        ver = claims.get("ver", ABSENT)
        iss = claims.get("iss")
        form = "1.0" if isinstance(iss, str) and iss.startswith("https://sts.windows.net/") else "2.0"
        if ver != form or ver not in self.versions:
            raise InvalidClaimError(
                "The token's version is not accepted",
                claim="ver",
                expected=tuple(sorted(self.versions)),
                code=reasons.CLAIM_MISSING if ver is ABSENT else reasons.VERSION_MISMATCH,
                found=ver,
            )


def entra_verifier(
    verifier_class: type[JWTVerifier],
    *,
    tenant_id: str,
    audience: str | Sequence[str] | None,
    allowed_tenants: Iterable[str] | None = None,
    versions: str | Iterable[str] = ("2.0",),
    jwks_url: str | None = None,
    **options: Any,
) -> JWTVerifier:
    """A ``JWTVerifier`` for Microsoft Entra ID tokens (see the module docstring).

    ``tenant_id`` is your tenant's id, or ``"organizations"``/``"common"`` for a multi-tenant
    API, which then needs ``allowed_tenants`` (tenant ids). ``audience`` is your API's application
    (client) id, or its App ID URI for v1.0 tokens (``api://...``); a list accepts either.
    ``versions`` are the accepted token versions. ``jwks_url`` overrides where keys come from.
    """
    refuse_derived(options, "entra", "issuer")
    accepted = string_set(versions, name="versions")
    if accepted is None or not accepted <= set(_ISSUERS):
        raise ConfigurationError("JWTVerifier.entra: versions are '2.0' and/or '1.0'")
    if tenant_id == "consumers":
        tenant_id = CONSUMERS_TENANT_ID
    checks: list[Any] = [EntraVersionCheck(accepted)]
    issuers: list[str | IssuerTemplate]
    if tenant_id in MULTI_TENANT:
        if allowed_tenants is None:
            raise ConfigurationError(
                f"JWTVerifier.entra(tenant_id={tenant_id!r}) accepts many tenants: list the ones "
                "you serve in allowed_tenants (tenant ids); there is no 'any tenant' default"
            )
        if isinstance(allowed_tenants, str):
            allowed_tenants = (allowed_tenants,)
        tenants = {_tenant(tenant, "every allowed tenant") for tenant in allowed_tenants}
        if not tenants:
            raise ConfigurationError("JWTVerifier.entra: allowed_tenants must name at least one tenant id")
        issuers = [IssuerTemplate(_ISSUERS[version], allowed=tenants) for version in sorted(accepted)]
        default_keys = entra_jwks_url("common")
    else:
        if allowed_tenants is not None:
            raise ConfigurationError(
                "JWTVerifier.entra: allowed_tenants is for tenant_id='organizations' or 'common'"
            )
        tenant = _tenant(tenant_id, "tenant_id")
        issuers = [entra_issuer(tenant, version) for version in sorted(accepted)]
        checks.append(
            ClaimValueCheck(
                "tid", frozenset({tenant}), reasons.TENANT_NOT_ALLOWED, "The token's tenant is not accepted"
            )
        )
        default_keys = entra_jwks_url(tenant)
    options.setdefault("algorithms", ("RS256",))
    keys = key_options("entra", issuers, default_keys, jwks_url, options)
    return verifier_class(
        issuer=issuers,
        audience=audience,
        **keys,
        **with_checks(options, *checks, mapping=ENTRA_CLAIM_MAPPING),
    )
