"""Verified JWT bearer authentication for Python web services.

The public API, re-exported here; each name lives in the module that owns its concern.
"""

# First, so that submodules can read it while the package is still initialising.
__version__ = "0.1.0"

from jwt_middleware.asgi import JWTAuthMiddleware, JWTUser
from jwt_middleware.claims import Claims
from jwt_middleware.errors import (
    BlockingCallError,
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
    KeysUnavailableError,
    MalformedTokenError,
    MissingTokenError,
    NotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from jwt_middleware.integrations.starlette import require_groups, require_scopes
from jwt_middleware.jwk import KeySet, VerificationKey, import_key
from jwt_middleware.jwks_cache import CacheSettings, JWKSCache
from jwt_middleware.jws import verify_compact
from jwt_middleware.verifier import JWTVerifier
from jwt_middleware.wsgi import WSGIJWTMiddleware

__all__ = [
    "BlockingCallError",
    "CacheSettings",
    "Claims",
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
    "JWKSCache",
    "JWTAuthMiddleware",
    "JWTMiddlewareError",
    "JWTUser",
    "JWTVerifier",
    "KeySet",
    "KeysUnavailableError",
    "MalformedTokenError",
    "MissingTokenError",
    "NotYetValidError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "VerificationKey",
    "WSGIJWTMiddleware",
    "__version__",
    "import_key",
    "require_groups",
    "require_scopes",
    "verify_compact",
]
