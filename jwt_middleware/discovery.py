"""OpenID Connect discovery (OIDC Discovery 1.0 section 4): from an issuer to its JWKS URL.

The document is trusted only as far as it agrees with configuration: its ``issuer`` must equal the
configured issuer exactly (section 4.3, which is what stops one tenant's document from vouching
for another), and its ``jwks_uri`` must be https unless it points at loopback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jwt_middleware import reasons
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.fetching import FetchError, check_url

__all__ = ["discovery_url", "jwks_url_from_discovery"]


def discovery_url(issuer: str, *, allow_http: bool = False) -> str:
    """``{issuer}/.well-known/openid-configuration``, without doubling a trailing slash."""
    check_url(issuer, what="issuer", allow_http=allow_http)
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def jwks_url_from_discovery(document: Mapping[str, Any], issuer: str, *, allow_http: bool = False) -> str:
    """The ``jwks_uri`` of a discovery document that belongs to ``issuer``; ``FetchError`` otherwise."""
    if document.get("issuer") != issuer:
        raise FetchError(
            "discovery document names a different issuer", code=reasons.DISCOVERY_ISSUER_MISMATCH
        )
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise FetchError("discovery document has no jwks_uri", code=reasons.DISCOVERY_NO_JWKS_URI)
    try:
        return check_url(jwks_uri, what="jwks_uri", allow_http=allow_http)
    except ConfigurationError:
        raise FetchError(
            "discovery document's jwks_uri is not https", code=reasons.DISCOVERY_INSECURE_JWKS_URI
        ) from None
