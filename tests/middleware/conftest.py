"""Keys, a verifier and a token factory for the middleware tests (static JWKS: no network).

The ASGI tests run on asyncio, uvloop and trio (``tests.loops``): async tests through anyio's
plugin, test-client tests through ``test_client_loop``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from jwt_middleware import JWTVerifier
from jwt_middleware.testing import SigningKey, encode_compact
from tests.loops import anyio_backend, test_client_loop

__all__ = ["anyio_backend", "test_client_loop"]

ISSUER = "https://issuer.test"
AUDIENCE = "orders-api"

TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate("ES256", kid="middleware-key")


@pytest.fixture(scope="session")
def verifier(signing_key: SigningKey) -> JWTVerifier:
    return JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks={"keys": [signing_key.public_jwk()]})


@pytest.fixture(scope="session")
def make_token(signing_key: SigningKey) -> TokenFactory:
    def make(*, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "exp": int(time.time()) + 300,
            "iat": int(time.time()),
            "scope": "orders:read profile",
        }
        for name, value in claims.items():
            if value is None:
                payload.pop(name, None)
            else:
                payload[name] = value
        return encode_compact(payload, signing_key, headers=headers)

    return make
