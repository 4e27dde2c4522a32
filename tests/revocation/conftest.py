"""Keys, tokens and a real Redis for the revocation tests.

``redis`` starts one ``redis-server`` per test on a free loopback port (cheap: a few ms), so a
test may kill, pause or restart it without disturbing any other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jwt_middleware import JWTVerifier
from jwt_middleware.revocation import RevocationList
from jwt_middleware.testing import LocalRedis, SigningKey, encode_compact

ISSUER = "https://issuer.test"
AUDIENCE = "orders-api"

TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate("ES256", kid="revocation-key")


@pytest.fixture(scope="session")
def jwks(signing_key: SigningKey) -> dict[str, Any]:
    return {"keys": [signing_key.public_jwk()]}


@pytest.fixture(scope="session")
def make_token(signing_key: SigningKey) -> TokenFactory:
    """A fresh token per call (its own ``jti``), for subject ``alice`` unless told otherwise."""

    def make(**claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "alice",
            "jti": str(uuid.uuid4()),
            "origin_jti": "refresh-1",
            "iat": now - 5,
            "exp": now + 300,
            "scope": "orders:read",
        }
        payload.update(claims)
        return encode_compact({k: v for k, v in payload.items() if v is not None}, signing_key)

    return make


@pytest.fixture
def revocations() -> RevocationList:
    return RevocationList()


@pytest.fixture
def verifier(jwks: dict[str, Any], revocations: RevocationList) -> JWTVerifier:
    return JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, revocations=revocations)


@pytest.fixture
def redis() -> Iterator[LocalRedis]:
    try:
        server = LocalRedis()
    except RuntimeError as missing:  # python3 dev.py test installs it; a bare pytest may not have it
        pytest.fail(str(missing))
    with server:
        yield server
