"""Verified JWT bearer authentication for Python web services.

The public API, re-exported here; each name lives in the module that owns its concern.

The names are imported on first use (PEP 562): importing the package, or any of its core modules
(``jws``, ``verifier``, ``jwks_cache``...), loads no web framework and no HTTP client, so a Django
app, a Lambda function or a pytest run pays only for what it touches. ``from jwt_middleware import
JWTAuthMiddleware`` works as it always did (and loads Starlette then); type checkers and IDEs read
the imports in the ``TYPE_CHECKING`` block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jwt_middleware._lazy import lazy_exports as _lazy_exports
from jwt_middleware._version import __version__

if TYPE_CHECKING:
    from jwt_middleware.asgi import JWTAuthMiddleware, JWTUser
    from jwt_middleware.authenticator import Authenticator, BearerAuthenticator
    from jwt_middleware.claim_mapping import ClaimMapping
    from jwt_middleware.claims import Claims
    from jwt_middleware.errors import (
        BlockingCallError,
        CheckReport,
        ConfigurationError,
        ExpiredTokenError,
        InsufficientScopeError,
        InvalidAudienceError,
        InvalidClaimError,
        InvalidIssuerError,
        InvalidRequestError,
        InvalidSignatureError,
        InvalidTokenError,
        JWKError,
        JWTMiddlewareError,
        JWTMiddlewareException,
        KeysUnavailableError,
        MalformedTokenError,
        MissingTokenError,
        NotYetValidError,
        RevocationListFullError,
        RevocationUnavailableError,
        RevokedTokenError,
        StoreUnavailableError,
        TemporarilyUnavailableError,
        UnknownKeyError,
        UnsupportedAlgorithmError,
        VerificationUnavailableError,
    )
    from jwt_middleware.integrations.starlette import (
        require_dpop,
        require_groups,
        require_permissions,
        require_roles,
        require_scopes,
    )
    from jwt_middleware.issuer_template import IssuerTemplate
    from jwt_middleware.jwk import KeySet, VerificationKey, import_key
    from jwt_middleware.jwks_cache import CacheSettings, JWKSCache
    from jwt_middleware.jws import verify_compact
    from jwt_middleware.oauth.client_credentials import ClientCredentialsAuth
    from jwt_middleware.oauth.errors import IntrospectionUnavailableError, TokenEndpointError
    from jwt_middleware.oauth.forwarding import forward_token
    from jwt_middleware.oauth.introspection import IntrospectionAuthenticator
    from jwt_middleware.request_view import RequestView
    from jwt_middleware.resource_metadata import ProtectedResourceMetadata
    from jwt_middleware.verifier import JWTVerifier
    from jwt_middleware.wsgi import WSGIJWTMiddleware

__all__ = [
    "Authenticator",
    "BearerAuthenticator",
    "BlockingCallError",
    "CacheSettings",
    "CheckReport",
    "ClaimMapping",
    "Claims",
    "ClientCredentialsAuth",
    "ConfigurationError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "IntrospectionAuthenticator",
    "IntrospectionUnavailableError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "IssuerTemplate",
    "JWKError",
    "JWKSCache",
    "JWTAuthMiddleware",
    "JWTMiddlewareError",
    "JWTMiddlewareException",
    "JWTUser",
    "JWTVerifier",
    "KeySet",
    "KeysUnavailableError",
    "MalformedTokenError",
    "MissingTokenError",
    "NotYetValidError",
    "ProtectedResourceMetadata",
    "RequestView",
    "RevocationListFullError",
    "RevocationUnavailableError",
    "RevokedTokenError",
    "StoreUnavailableError",
    "TemporarilyUnavailableError",
    "TokenEndpointError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "VerificationKey",
    "VerificationUnavailableError",
    "WSGIJWTMiddleware",
    "__version__",
    "forward_token",
    "import_key",
    "require_dpop",
    "require_groups",
    "require_permissions",
    "require_roles",
    "require_scopes",
    "verify_compact",
]

# Where each name lives: the same imports as above, made on first use (tests keep the three in step).
_HOMES = {
    "jwt_middleware.asgi": ("JWTAuthMiddleware", "JWTUser"),
    "jwt_middleware.authenticator": ("Authenticator", "BearerAuthenticator"),
    "jwt_middleware.claim_mapping": ("ClaimMapping",),
    "jwt_middleware.claims": ("Claims",),
    "jwt_middleware.errors": (
        "BlockingCallError",
        "CheckReport",
        "ConfigurationError",
        "ExpiredTokenError",
        "InsufficientScopeError",
        "InvalidAudienceError",
        "InvalidClaimError",
        "InvalidIssuerError",
        "InvalidRequestError",
        "InvalidSignatureError",
        "InvalidTokenError",
        "JWKError",
        "JWTMiddlewareError",
        "JWTMiddlewareException",
        "KeysUnavailableError",
        "MalformedTokenError",
        "MissingTokenError",
        "NotYetValidError",
        "RevocationListFullError",
        "RevocationUnavailableError",
        "RevokedTokenError",
        "StoreUnavailableError",
        "TemporarilyUnavailableError",
        "UnknownKeyError",
        "UnsupportedAlgorithmError",
        "VerificationUnavailableError",
    ),
    "jwt_middleware.integrations.starlette": (
        "require_dpop",
        "require_groups",
        "require_permissions",
        "require_roles",
        "require_scopes",
    ),
    "jwt_middleware.issuer_template": ("IssuerTemplate",),
    "jwt_middleware.jwk": ("KeySet", "VerificationKey", "import_key"),
    "jwt_middleware.jwks_cache": ("CacheSettings", "JWKSCache"),
    "jwt_middleware.jws": ("verify_compact",),
    "jwt_middleware.oauth.client_credentials": ("ClientCredentialsAuth",),
    "jwt_middleware.oauth.errors": ("IntrospectionUnavailableError", "TokenEndpointError"),
    "jwt_middleware.oauth.forwarding": ("forward_token",),
    "jwt_middleware.oauth.introspection": ("IntrospectionAuthenticator",),
    "jwt_middleware.request_view": ("RequestView",),
    "jwt_middleware.resource_metadata": ("ProtectedResourceMetadata",),
    "jwt_middleware.verifier": ("JWTVerifier",),
    "jwt_middleware.wsgi": ("WSGIJWTMiddleware",),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _HOMES, submodules=True)
