"""Auth0: tenant (or custom) domains, RS256 keys at the tenant's JWKS, RBAC permissions.

Auth0 issues tokens as ``https://{domain}/``, with the trailing slash, for the tenant domain
(``tenant.eu.auth0.com``) or a custom domain, and publishes its keys at
``https://{domain}/.well-known/jwks.json``. An access token for your API names the API identifier
in ``aud`` (often beside ``https://{domain}/userinfo``), its scopes in ``scope`` and, with RBAC's
"Add Permissions in the Access Token" on, the user's permissions in ``permissions``; ID tokens name
the application's client id in ``aud`` instead, so the audience check keeps the two apart.
Roles are not in Auth0 tokens unless an Action adds them, usually under a namespaced claim: map it
with ``claim_mapping=AUTH0_CLAIM_MAPPING.replace(roles="https://example.com/roles")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.providers._preset import host_name, key_options, refuse_derived, with_checks

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = ["AUTH0_CLAIM_MAPPING", "auth0_issuer", "auth0_jwks_url", "auth0_verifier"]

#: Scopes in ``scope``, permissions in ``permissions`` (RBAC); ``roles``/``groups`` if an Action adds them.
AUTH0_CLAIM_MAPPING: Final = ClaimMapping(
    scopes="scope", groups="groups", roles="roles", permissions="permissions"
)


def auth0_issuer(domain: str) -> str:
    """``https://{domain}/``: Auth0's issuer, trailing slash included."""
    return f"https://{host_name(domain, what='domain', preset='auth0')}/"


def auth0_jwks_url(domain: str) -> str:
    return f"{auth0_issuer(domain)}.well-known/jwks.json"


def auth0_verifier(
    verifier_class: type[JWTVerifier],
    *,
    domain: str,
    audience: str | Sequence[str] | None,
    jwks_url: str | None = None,
    **options: Any,
) -> JWTVerifier:
    """A ``JWTVerifier`` for tokens of the Auth0 tenant at ``domain`` (see the module docstring).

    ``audience`` is your API identifier (access tokens) or application client id (ID tokens);
    ``None`` skips the check explicitly. ``jwks_url`` overrides where keys come from (tests); the
    issuer stays Auth0's. Other options go to ``JWTVerifier`` (``checks`` are appended).
    """
    refuse_derived(options, "auth0", "issuer")
    issuer = auth0_issuer(domain)
    options.setdefault("algorithms", ("RS256",))
    keys = key_options("auth0", [issuer], auth0_jwks_url(domain), jwks_url, options)
    return verifier_class(
        issuer=issuer, audience=audience, **keys, **with_checks(options, mapping=AUTH0_CLAIM_MAPPING)
    )
