"""Minimal demo: mint a token with a throwaway key and verify it (replaced by the full demo)."""

from __future__ import annotations

import json
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from jwt_middleware import JWTVerifier, b64


def main() -> int:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": "demo",
        "alg": "RS256",
        "n": b64.encode(numbers.n.to_bytes(256, "big")),
        "e": b64.encode(numbers.e.to_bytes(3, "big")),
    }
    header = b64.encode(json.dumps({"alg": "RS256", "kid": "demo"}).encode())
    claims = {"iss": "https://demo.example", "aud": "demo-api", "sub": "alice", "exp": int(time.time()) + 300}
    payload = b64.encode(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{header}.{payload}.{b64.encode(signature)}"
    verifier = JWTVerifier(issuer="https://demo.example", audience="demo-api", jwks={"keys": [jwk]})
    print("verified claims:", dict(verifier.verify_sync(token)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
