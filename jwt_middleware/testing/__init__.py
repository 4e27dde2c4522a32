"""The test kit: keys, a local issuer on loopback, and pytest fixtures for users' own suites.

The server and issuer are imported on first use: the pytest plugin lives in this package and is
loaded by every test run of every project that installs the library, so importing the package
must stay cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from jwt_middleware.testing.keys import SigningKey, encode_compact

if TYPE_CHECKING:
    from jwt_middleware.testing.issuer import LocalCognitoIssuer, LocalIssuer
    from jwt_middleware.testing.server import Fault, LoopbackServer, Request, Response

__all__ = [
    "Fault",
    "LocalCognitoIssuer",
    "LocalIssuer",
    "LoopbackServer",
    "Request",
    "Response",
    "SigningKey",
    "encode_compact",
]

_LAZY = {
    "Fault": "jwt_middleware.testing.server",
    "LoopbackServer": "jwt_middleware.testing.server",
    "Request": "jwt_middleware.testing.server",
    "Response": "jwt_middleware.testing.server",
    "LocalIssuer": "jwt_middleware.testing.issuer",
    "LocalCognitoIssuer": "jwt_middleware.testing.issuer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
