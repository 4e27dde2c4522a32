"""Google ID tokens ("Sign in with Google"): two issuer spellings, Google's keys, your client ids.

Google documents that an ID token's ``iss`` is ``https://accounts.google.com`` or
``accounts.google.com`` (both are issued), that ``aud`` must be one of your app's OAuth client ids,
and that ``exp`` must not have passed; tokens are RS256, signed by the keys at
``https://www.googleapis.com/oauth2/v3/certs``. ``hd`` names the Google Workspace domain of the
account: ``hosted_domain`` requires it, for apps limited to one organisation (checking the email
suffix instead would let any account with a matching alias through). ID tokens grant no scopes,
groups, roles or permissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.policy import ClaimValueCheck
from jwt_middleware.providers._preset import host_name, key_options, refuse_derived, with_checks

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = ["GOOGLE_CLAIM_MAPPING", "GOOGLE_ISSUERS", "GOOGLE_JWKS_URL", "google_verifier"]

#: Both spellings Google documents for the ``iss`` of its ID tokens.
GOOGLE_ISSUERS: Final = ("https://accounts.google.com", "accounts.google.com")
GOOGLE_JWKS_URL: Final = "https://www.googleapis.com/oauth2/v3/certs"
#: ID tokens carry no grants.
GOOGLE_CLAIM_MAPPING: Final = ClaimMapping(scopes=(), groups=(), roles=(), permissions=())


def google_verifier(
    verifier_class: type[JWTVerifier],
    *,
    audience: str | Sequence[str],
    hosted_domain: str | None = None,
    jwks_url: str | None = None,
    **options: Any,
) -> JWTVerifier:
    """A ``JWTVerifier`` for Google ID tokens issued to your OAuth client id(s) ``audience``.

    ``hosted_domain`` requires the Workspace domain in ``hd``. ``jwks_url`` overrides where keys
    come from (tests); the issuers stay Google's.
    """
    refuse_derived(options, "google", "issuer")
    if audience is None:
        raise ConfigurationError("JWTVerifier.google needs your OAuth client id(s) as audience")
    checks = []
    if hosted_domain is not None:
        domain = host_name(hosted_domain, what="hosted_domain", preset="google")
        checks.append(
            ClaimValueCheck(
                "hd",
                frozenset({domain}),
                reasons.HOSTED_DOMAIN_MISMATCH,
                "The token's domain is not accepted",
            )
        )
    options.setdefault("algorithms", ("RS256",))
    keys = key_options("google", GOOGLE_ISSUERS, GOOGLE_JWKS_URL, jwks_url, options)
    return verifier_class(
        issuer=list(GOOGLE_ISSUERS),
        audience=audience,
        **keys,
        **with_checks(options, *checks, mapping=GOOGLE_CLAIM_MAPPING),
    )
