"""Okta: custom authorization servers, their key sets, ``scp`` and ``groups``.

Only a custom authorization server (the built-in ``default`` one, or one you create) issues access
tokens a resource server may verify; the org authorization server's (issuer ``https://{domain}``)
are for Okta's own APIs. A custom server issues as ``https://{domain}/oauth2/{server}`` and
publishes keys at ``{issuer}/v1/keys``. Access tokens carry scopes as a list in ``scp``, the
requesting application in ``cid``, the user's id in ``uid``, and ``groups`` when a groups claim is
configured. Okta documents ``aud`` (``api://default`` for the default server) as the check that
matters; ``client_id`` adds the ``cid`` check it suggests for APIs serving known applications.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.policy import ClaimValueCheck, string_set
from jwt_middleware.providers._preset import host_name, key_options, path_segment, refuse_derived, with_checks

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = ["OKTA_CLAIM_MAPPING", "okta_issuer", "okta_verifier"]

#: Scopes in ``scp``, groups in ``groups``; ``roles``/``permissions`` if you add such claims.
OKTA_CLAIM_MAPPING: Final = ClaimMapping(
    scopes="scp", groups="groups", roles="roles", permissions="permissions"
)


def okta_issuer(domain: str, authorization_server: str = "default") -> str:
    """``https://{domain}/oauth2/{authorization_server}``."""
    host = host_name(domain, what="domain", preset="okta")
    server = path_segment(authorization_server, what="authorization_server", preset="okta")
    return f"https://{host}/oauth2/{server}"


def okta_verifier(
    verifier_class: type[JWTVerifier],
    *,
    domain: str,
    audience: str | Sequence[str] | None,
    authorization_server: str = "default",
    client_id: str | Iterable[str] | None = None,
    jwks_url: str | None = None,
    **options: Any,
) -> JWTVerifier:
    """A ``JWTVerifier`` for tokens of an Okta custom authorization server (see the module docstring).

    ``audience`` is the server's audience (``api://default`` for the default server); ``client_id``
    (one or several) requires ``cid`` to name one of them. ``jwks_url`` overrides where keys come from.
    """
    refuse_derived(options, "okta", "issuer")
    issuer = okta_issuer(domain, authorization_server)
    checks = []
    clients = string_set(client_id, name="client_id")
    if clients is not None:
        checks.append(
            ClaimValueCheck("cid", clients, reasons.CLIENT_ID_MISMATCH, "The token's client is not accepted")
        )
    options.setdefault("algorithms", ("RS256",))
    keys = key_options("okta", [issuer], f"{issuer}/v1/keys", jwks_url, options)
    return verifier_class(
        issuer=issuer, audience=audience, **keys, **with_checks(options, *checks, mapping=OKTA_CLAIM_MAPPING)
    )
