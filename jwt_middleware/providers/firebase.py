"""Firebase Authentication ID tokens, verified the way Firebase documents for third-party libraries.

"Verify ID tokens using a third-party JWT library" lists every rule: the header's ``alg`` is
RS256 and its ``kid`` one of the keys published for the ``securetoken`` service account; ``exp``
is in the future and ``iat`` in the past; ``aud`` is the project id and ``iss``
``https://securetoken.google.com/{project_id}``; ``sub`` is a non-empty string (the user's uid);
``auth_time`` is in the past. The keys are documented as X.509 certificates by ``kid``
(``robot/v1/metadata/x509``), refreshed by the response's ``max-age``; Google also serves them as
a JWKS, which Firebase does not document, so the preset reads the certificates
(``CertificateKeySource``, honouring each certificate's validity). ``jwks_url=`` points at a JWKS
instead (a local issuer in tests), ``certificates_url=`` at another certificate document.

The Firebase Auth emulator issues unsigned tokens (``alg: none``): no verifier that checks
signatures accepts them, this one included. Point tests at a local issuer instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.errors import ConfigurationError, NotYetValidError
from jwt_middleware.jwks_state import CacheSettings
from jwt_middleware.policy import RequiredClaimsCheck, numeric_date
from jwt_middleware.providers._preset import key_options, refuse_derived, with_checks
from jwt_middleware.providers.certificates import CertificateKeySource

if TYPE_CHECKING:
    from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "FIREBASE_CERTIFICATES_URL",
    "FIREBASE_CLAIM_MAPPING",
    "AuthTimeCheck",
    "firebase_issuer",
    "firebase_verifier",
]

FIREBASE_CERTIFICATES_URL: Final = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
#: ID tokens carry no scopes; custom claims set with the Admin SDK may carry the rest.
FIREBASE_CLAIM_MAPPING: Final = ClaimMapping(
    scopes=(), groups="groups", roles="roles", permissions="permissions"
)
#: Project ids: lower-case letters, digits and hyphens.
_PROJECT_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def firebase_issuer(project_id: str) -> str:
    """``https://securetoken.google.com/{project_id}``."""
    if not isinstance(project_id, str) or _PROJECT_ID.fullmatch(project_id) is None:
        raise ConfigurationError(
            "JWTVerifier.firebase: project_id is your project's id, such as 'my-app-1a2b3'"
        )
    return f"https://securetoken.google.com/{project_id}"


@dataclass(frozen=True, slots=True)
class AuthTimeCheck:
    """``auth_time`` (when the user signed in) must be a NumericDate not in the future."""

    leeway: float = 0.0

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        auth_time = numeric_date(claims, "auth_time")
        if auth_time is not None and auth_time > now + self.leeway:
            raise NotYetValidError(
                "The token's sign-in time is in the future",
                claim="auth_time",
                code=reasons.AUTH_TIME_IN_FUTURE,
                limit=now + self.leeway,
                found=auth_time,
            )


def firebase_verifier(
    verifier_class: type[JWTVerifier],
    *,
    project_id: str,
    certificates_url: str = FIREBASE_CERTIFICATES_URL,
    jwks_url: str | None = None,
    **options: Any,
) -> JWTVerifier:
    """A ``JWTVerifier`` for the Firebase Authentication ID tokens of ``project_id``.

    RS256 only; ``sub`` and ``auth_time`` required. Keys from ``certificates_url`` (Google's
    certificate document), or from a JWKS at ``jwks_url`` when given.
    """
    refuse_derived(options, "firebase", "issuer", "audience")
    issuer = firebase_issuer(project_id)
    if tuple(options.setdefault("algorithms", ("RS256",))) != ("RS256",):
        raise ConfigurationError("JWTVerifier.firebase: Firebase signs ID tokens with RS256 only")
    checks = (RequiredClaimsCheck(("sub", "auth_time")), AuthTimeCheck(float(options.get("leeway", 0))))
    own_keys = options.get("jwks") is not None or options.get("jwks_cache") is not None
    if jwks_url is not None or own_keys:
        keys = key_options("firebase", [issuer], "", jwks_url, options)
    else:
        settings = options.get("cache_settings")
        source = CertificateKeySource(
            certificates_url,
            settings=settings if isinstance(settings, CacheSettings) else None,
            clock=options.get("clock", time.time),
        )
        keys = {"jwks_cache": {issuer: source}}
    return verifier_class(
        issuer=issuer,
        audience=project_id,
        **keys,
        **with_checks(options, *checks, mapping=FIREBASE_CLAIM_MAPPING),
    )
