"""Keys, tokens and requests for the DPoP tests: a static JWKS, proofs made by ``DPoPKey``.

Requests are real ``RequestView``s over ASGI scopes, so the verifier reads them exactly as every
adapter hands them over; nothing is mocked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import pytest

from jwt_middleware import JWTVerifier
from jwt_middleware.request_view import ASGIRequestView, RequestView
from jwt_middleware.testing import DPoPKey, SigningKey, encode_compact

ISSUER = "https://issuer.test"
AUDIENCE = "https://api.example.com"
URL = "https://api.example.com/orders"

TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate("ES256", kid="dpop-issuer-key")


@pytest.fixture(scope="session")
def jwks(signing_key: SigningKey) -> dict[str, Any]:
    return {"keys": [signing_key.public_jwk()]}


@pytest.fixture(scope="session")
def dpop_key() -> DPoPKey:
    return DPoPKey.generate("ES256")


@pytest.fixture(scope="session")
def make_token(signing_key: SigningKey) -> TokenFactory:
    """A fresh token per call; ``key=`` binds it to a ``DPoPKey``."""

    def make(key: DPoPKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "alice",
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 300,
            "scope": "orders:read",
        }
        if key is not None:
            payload["cnf"] = key.confirmation
        payload.update(claims)
        return encode_compact({k: v for k, v in payload.items() if v is not None}, signing_key)

    return make


@pytest.fixture
def verifier(jwks: dict[str, Any]) -> JWTVerifier:
    return JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks)


def request(
    method: str = "GET",
    url: str = URL,
    *,
    token: str | None = None,
    proofs: Sequence[str] = (),
    scheme: str = "DPoP",
    headers: Sequence[tuple[str, str]] = (),
) -> RequestView:
    """A ``RequestView`` of a request to ``url`` with ``Authorization`` and ``DPoP`` headers."""
    parts = urlsplit(url)
    raw: list[tuple[bytes, bytes]] = [(b"host", parts.netloc.encode())]
    if token is not None:
        raw.append((b"authorization", f"{scheme} {token}".encode()))
    raw.extend((b"dpop", proof.encode()) for proof in proofs)
    raw.extend((name.lower().encode(), value.encode()) for name, value in headers)
    default_port = 443 if parts.scheme == "https" else 80
    scope = {
        "type": "http",
        "method": method,
        "scheme": parts.scheme,
        "server": (parts.hostname, parts.port or default_port),
        "path": parts.path or "/",
        "raw_path": (parts.path or "/").encode(),
        "root_path": "",
        "query_string": parts.query.encode(),
        "headers": raw,
    }
    return ASGIRequestView(scope)
