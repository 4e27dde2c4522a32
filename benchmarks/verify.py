"""Verification cost: ours against the physical floor and the peers, in one process and one run.

The floor is what any verifier must do: the signature check itself (``cryptography``, key already
built) plus splitting, base64url-decoding and ``json.loads`` of a Cognito-sized token. Peers get
the same pre-built key, the same token and the same claim checks (issuer, audience, expiry).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from benchmarks.timing import Measurement, measure_interleaved
from jwt_middleware import JWTVerifier
from jwt_middleware.testing import SigningKey, encode_compact

__all__ = ["ALGORITHMS", "VerifyFigures", "cognito_sized_claims", "run"]

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Bench0001"
AUDIENCE = "3n4b5urk1ft4fl3mg5e62d9ado"
ALGORITHMS = ("RS256", "ES256", "EdDSA")


def cognito_sized_claims() -> dict[str, Any]:
    """An ID-token-shaped payload of realistic size (about 1 KB once encoded)."""
    now = int(time.time())
    subject = str(uuid.uuid4())
    return {
        "sub": subject,
        "cognito:groups": ["admins", "orders-team"],
        "email_verified": True,
        "iss": ISSUER,
        "cognito:username": "alice.example",
        "origin_jti": str(uuid.uuid4()),
        "aud": AUDIENCE,
        "event_id": str(uuid.uuid4()),
        "token_use": "id",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "email": "alice@example.com",
        "custom:tenant": "tenant-42",
    }


@dataclass(frozen=True, slots=True)
class VerifyFigures:
    alg: str
    token_bytes: int
    measurements: dict[str, Measurement]

    @property
    def floor_us(self) -> float:
        return self.measurements["floor: signature"].median_us + self.measurements["floor: parse"].median_us


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _floor_signature(key: SigningKey, token: str) -> Callable[[], object]:
    header, payload, signature_segment = token.split(".")
    data = f"{header}.{payload}".encode()
    signature = _b64decode(signature_segment)
    public = key.private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        rsa_key, pad, digest = public, padding.PKCS1v15(), hashes.SHA256()
        return lambda: rsa_key.verify(signature, data, pad, digest)
    if isinstance(public, ec.EllipticCurvePublicKey):
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        ec_key, ecdsa = public, ec.ECDSA(hashes.SHA256())
        return lambda: ec_key.verify(der, data, ecdsa)
    assert isinstance(public, ed25519.Ed25519PublicKey)
    ed_key = public
    return lambda: ed_key.verify(signature, data)


def _floor_parse(token: str) -> Callable[[], object]:
    def parse() -> object:
        header, payload, signature = token.split(".")
        json.loads(_b64decode(header))
        _b64decode(signature)
        return json.loads(_b64decode(payload))

    return parse


def _peers(key: SigningKey, token: str) -> dict[str, Callable[[], object]]:
    """PyJWT and joserfc with a pre-built key, when installed (``python3 dev.py bench`` installs both)."""
    peers: dict[str, Callable[[], object]] = {}
    public = key.private_key.public_key()
    try:
        import jwt as pyjwt

        def with_pyjwt() -> object:
            return pyjwt.decode(token, key=public, algorithms=[key.alg], audience=AUDIENCE, issuer=ISSUER)

        with_pyjwt()
        peers["PyJWT"] = with_pyjwt
    except ImportError:
        pass
    try:
        from joserfc import jwt as jose_jwt
        from joserfc.jwk import import_key

        jose_key = import_key(key.public_jwk())
        registry = jose_jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": AUDIENCE}
        )

        def with_joserfc() -> object:
            decoded = jose_jwt.decode(token, jose_key, algorithms=[key.alg])
            registry.validate(decoded.claims)
            return decoded.claims

        with_joserfc()
        peers["joserfc"] = with_joserfc
    except ImportError:
        pass
    return peers


def run(rounds: int = 15) -> list[VerifyFigures]:
    figures = []
    for alg in ALGORITHMS:
        key = SigningKey.generate(alg)
        token = encode_compact(cognito_sized_claims(), key, headers={"typ": None})
        jwks = {"keys": [key.public_jwk()]}
        full = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks, token_cache_size=None)
        cached = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks)
        full.verify_sync(token)
        cached.verify_sync(token)
        functions: dict[str, Callable[[], object]] = {
            "floor: signature": _floor_signature(key, token),
            "floor: parse": _floor_parse(token),
            "jwt_middleware: full verify": partial(full.verify_sync, token),
            "jwt_middleware: token cache hit": partial(cached.verify_sync, token),
        }
        functions.update(_peers(key, token))
        figures.append(VerifyFigures(alg, len(token), measure_interleaved(functions, rounds=rounds)))
    return figures
