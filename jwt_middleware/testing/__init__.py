"""The test kit: keys, a local issuer and a Redis on loopback, and pytest fixtures for users' suites.

Every name is imported on first use: the pytest plugin lives in this package and is loaded by every
test run of every project that installs the library, so importing the package loads nothing beyond
the standard library (not even ``cryptography``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jwt_middleware._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from jwt_middleware.testing.alb import DEFAULT_ALB_ARN, LocalALB
    from jwt_middleware.testing.dpop import DPoPKey
    from jwt_middleware.testing.issuer import LocalCognitoIssuer, LocalIssuer
    from jwt_middleware.testing.keys import SigningKey, encode_compact
    from jwt_middleware.testing.loop_lag import LoopLagProbe
    from jwt_middleware.testing.providers import (
        LocalAuth0Issuer,
        LocalEntraIssuer,
        LocalFirebaseIssuer,
        LocalGoogleIssuer,
        LocalKeycloakIssuer,
        LocalOktaIssuer,
    )
    from jwt_middleware.testing.proxy import LocalProxy
    from jwt_middleware.testing.redis_server import LocalRedis
    from jwt_middleware.testing.server import Fault, LoopbackServer, Request, Response
    from jwt_middleware.testing.tls import IssuedCertificate, LocalCA

__all__ = [
    "DEFAULT_ALB_ARN",
    "DPoPKey",
    "Fault",
    "IssuedCertificate",
    "LocalALB",
    "LocalAuth0Issuer",
    "LocalCA",
    "LocalCognitoIssuer",
    "LocalEntraIssuer",
    "LocalFirebaseIssuer",
    "LocalGoogleIssuer",
    "LocalIssuer",
    "LocalKeycloakIssuer",
    "LocalOktaIssuer",
    "LocalProxy",
    "LocalRedis",
    "LoopLagProbe",
    "LoopbackServer",
    "Request",
    "Response",
    "SigningKey",
    "encode_compact",
]

_HOMES = {
    "jwt_middleware.testing.alb": ("DEFAULT_ALB_ARN", "LocalALB"),
    "jwt_middleware.testing.dpop": ("DPoPKey",),
    "jwt_middleware.testing.issuer": ("LocalCognitoIssuer", "LocalIssuer"),
    "jwt_middleware.testing.keys": ("SigningKey", "encode_compact"),
    "jwt_middleware.testing.loop_lag": ("LoopLagProbe",),
    "jwt_middleware.testing.redis_server": ("LocalRedis",),
    "jwt_middleware.testing.providers": (
        "LocalAuth0Issuer",
        "LocalEntraIssuer",
        "LocalFirebaseIssuer",
        "LocalGoogleIssuer",
        "LocalKeycloakIssuer",
        "LocalOktaIssuer",
    ),
    "jwt_middleware.testing.proxy": ("LocalProxy",),
    "jwt_middleware.testing.server": ("Fault", "LoopbackServer", "Request", "Response"),
    "jwt_middleware.testing.tls": ("IssuedCertificate", "LocalCA"),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _HOMES)
