"""Interoperability with joserfc, an independent JOSE implementation (Authlib's engine).

Tokens joserfc signs must verify here, and tokens the test kit signs must verify there, for every
algorithm family, so our encoding of keys, signatures (raw ECDSA R||S) and headers is the standard
one and not merely self-consistent. joserfc is a test dependency only: the verifier's hot path
uses ``cryptography`` directly (see the README's design notes).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import pytest

pytest.importorskip("joserfc")
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from jwt_middleware import JWTVerifier
from jwt_middleware.testing import SigningKey, encode_compact

ISSUER = "https://interop.example"
CASES = [
    ("RS256", lambda: RSAKey.generate_key(2048)),
    ("PS384", lambda: RSAKey.generate_key(2048)),
    ("ES256", lambda: ECKey.generate_key("P-256")),
    ("ES512", lambda: ECKey.generate_key("P-521")),
    ("EdDSA", lambda: OKPKey.generate_key("Ed25519")),
]


def _claims() -> dict[str, Any]:
    return {"iss": ISSUER, "sub": "interop", "exp": int(time.time()) + 300}


@pytest.mark.parametrize(("alg", "generate"), CASES, ids=[alg for alg, _ in CASES])
def test_tokens_signed_by_joserfc_verify_here(alg: str, generate: Any) -> None:
    key = generate()
    jwk = {**key.as_dict(private=False), "kid": "from-joserfc"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc flags the EdDSA name as deprecated (RFC 9864)
        token = jose_jwt.encode({"alg": alg, "kid": "from-joserfc"}, _claims(), key, algorithms=[alg])
    verifier = JWTVerifier(issuer=ISSUER, audience=None, jwks={"keys": [jwk]})
    assert verifier.verify_sync(token).subject == "interop"


@pytest.mark.parametrize("alg", [alg for alg, _ in CASES])
def test_tokens_signed_by_the_test_kit_verify_in_joserfc(alg: str) -> None:
    key = SigningKey.generate(alg)
    token = encode_compact(_claims(), key)
    jose_key = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}[key.public_jwk()["kty"]].import_key(
        key.public_jwk()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decoded = jose_jwt.decode(token, jose_key, algorithms=[alg])
    assert decoded.claims["sub"] == "interop"
    assert decoded.header["kid"] == key.kid
