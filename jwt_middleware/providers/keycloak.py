"""Keycloak: one issuer per realm, realm roles and client roles, access versus ID tokens.

A realm's tokens are issued as ``{server_url}/realms/{realm}`` (Keycloak 17 and later; older
servers have ``/auth`` in ``server_url``) with keys at ``{issuer}/protocol/openid-connect/certs``.
Realm roles are in ``realm_access.roles``, a client's roles in ``resource_access.{client}.roles``,
scopes in ``scope``, groups in ``groups`` when a group mapper adds them. Keycloak marks the kind
of every token in its ``typ`` claim: ``Bearer`` for access tokens, ``ID`` for ID tokens,
``Refresh`` for refresh tokens (all signed by the same realm keys), so the preset accepts access
tokens only unless ``token_use`` says otherwise.

Access tokens name only ``account`` in ``aud`` until an audience mapper adds your client: give
``audience`` the value your realm puts there (or ``None``, explicitly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.fetching import check_url
from jwt_middleware.jwks_state import CacheSettings
from jwt_middleware.policy import ClaimValueCheck
from jwt_middleware.providers._preset import key_options, path_segment, refuse_derived, with_checks

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = ["KEYCLOAK_TOKEN_TYPES", "keycloak_claim_mapping", "keycloak_issuer", "keycloak_verifier"]

#: ``token_use`` to the ``typ`` claim Keycloak gives that kind of token.
KEYCLOAK_TOKEN_TYPES: Final = {"access": "Bearer", "id": "ID"}


def keycloak_claim_mapping(client_id: str | None = None) -> ClaimMapping:
    """Realm roles, plus ``client_id``'s client roles when given; scopes and groups."""
    roles = (
        ("realm_access.roles", "resource_access.{client_id}.roles") if client_id else ("realm_access.roles",)
    )
    return ClaimMapping(scopes="scope", groups="groups", roles=roles, permissions=(), client_id=client_id)


def keycloak_issuer(server_url: str, realm: str, *, allow_http: bool = False) -> str:
    """``{server_url}/realms/{realm}``; ``server_url`` is https unless on loopback (or allowed)."""
    base = check_url(server_url, what="JWTVerifier.keycloak server_url", allow_http=allow_http).rstrip("/")
    if "?" in base or "#" in base:
        raise ConfigurationError("JWTVerifier.keycloak: server_url is the server's base URL, with no query")
    return f"{base}/realms/{path_segment(realm, what='realm', preset='keycloak')}"


def keycloak_verifier(
    verifier_class: type[JWTVerifier],
    *,
    server_url: str,
    realm: str,
    audience: str | Sequence[str] | None,
    client_id: str | None = None,
    token_use: Literal["access", "id"] | None = "access",  # noqa: S107 - not a password
    jwks_url: str | None = None,
    **options: Any,
) -> JWTVerifier:
    """A ``JWTVerifier`` for the tokens of one Keycloak realm (see the module docstring).

    ``client_id`` adds that client's roles to the realm roles; ``token_use`` is ``"access"``
    (``typ: Bearer``), ``"id"`` (``typ: ID``) or ``None`` for either. ``jwks_url`` overrides where
    keys come from; the issuer stays ``{server_url}/realms/{realm}``.
    """
    refuse_derived(options, "keycloak", "issuer")
    if token_use is not None and token_use not in KEYCLOAK_TOKEN_TYPES:
        raise ConfigurationError("JWTVerifier.keycloak: token_use is 'access', 'id' or None")
    if client_id is not None and not (isinstance(client_id, str) and client_id):
        raise ConfigurationError("JWTVerifier.keycloak: client_id must be a non-empty string or None")
    settings = options.get("cache_settings")
    allow_http = settings.allow_http if isinstance(settings, CacheSettings) else False
    issuer = keycloak_issuer(server_url, realm, allow_http=allow_http)
    checks = []
    if token_use is not None:
        checks.append(
            ClaimValueCheck(
                "typ",
                frozenset({KEYCLOAK_TOKEN_TYPES[token_use]}),
                reasons.TOKEN_TYPE_MISMATCH,
                "The token is not of the accepted kind",
            )
        )
    mapping = options.pop("claim_mapping", None) or keycloak_claim_mapping(client_id)
    options["claim_mapping"] = mapping.bind(client_id=client_id)
    options.setdefault("algorithms", ("RS256",))
    keys = key_options("keycloak", [issuer], f"{issuer}/protocol/openid-connect/certs", jwks_url, options)
    return verifier_class(
        issuer=issuer, audience=audience, **keys, **with_checks(options, *checks, mapping=mapping)
    )
