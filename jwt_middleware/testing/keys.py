"""Private signing keys for tests: generate, publish as JWK, sign compact JWS.

The verifier never needs private keys; the test kit does, to mint tokens exactly as a provider
would. Signatures come from ``jwt_middleware.signing`` (``cryptography`` directly, raw ``R || S``
for ECDSA per RFC 7518 3.4), so tokens minted here are byte-for-byte what a conforming provider
sends. Unlike a service's own signing key, a test key may be weak on purpose: the suite proves the
verifier refuses it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from jwt_middleware import b64
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.signing import PrivateKey, sign

__all__ = ["PrivateKey", "SigningKey", "encode_compact"]

_EC_CURVES: Final[dict[str, tuple[ec.EllipticCurve, str, int]]] = {
    "ES256": (ec.SECP256R1(), "P-256", 32),
    "ES384": (ec.SECP384R1(), "P-384", 48),
    "ES512": (ec.SECP521R1(), "P-521", 66),
}


def _int_bytes(value: int, length: int | None = None) -> bytes:
    return value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big")


class SigningKey:
    """A private key bound to one JWS algorithm and a ``kid``, as a provider holds it."""

    __slots__ = ("alg", "kid", "private_key")

    def __init__(self, private_key: PrivateKey, *, alg: str, kid: str | None = None) -> None:
        if alg not in ALGORITHMS:
            raise ConfigurationError(f"unsupported algorithm {alg!r}")
        self.private_key = private_key
        self.alg = alg
        self.kid = kid if kid is not None else secrets.token_urlsafe(12)

    @classmethod
    def generate(cls, alg: str = "RS256", *, kid: str | None = None, rsa_bits: int = 2048) -> SigningKey:
        """A fresh key for ``alg`` (``EdDSA`` means Ed25519; use ``Ed448`` for the other curve)."""
        private_key: PrivateKey
        if alg.startswith(("RS", "PS")):
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
        elif alg in _EC_CURVES:
            private_key = ec.generate_private_key(_EC_CURVES[alg][0])
        elif alg in ("EdDSA", "Ed25519"):
            private_key = ed25519.Ed25519PrivateKey.generate()
        elif alg == "Ed448":
            private_key = ed448.Ed448PrivateKey.generate()
        else:
            raise ConfigurationError(f"unsupported algorithm {alg!r}")
        return cls(private_key, alg=alg, kid=kid)

    def public_jwk(self, *, include_alg: bool = True, use: str | None = "sig") -> dict[str, Any]:
        """The public half as a JWK, the way it appears in the provider's JWKS."""
        jwk: dict[str, Any]
        key = self.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            numbers = key.public_key().public_numbers()
            jwk = {
                "kty": "RSA",
                "n": b64.encode(_int_bytes(numbers.n)),
                "e": b64.encode(_int_bytes(numbers.e)),
            }
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            _, crv, size = _EC_CURVES[self.alg]
            point = key.public_key().public_numbers()
            jwk = {
                "kty": "EC",
                "crv": crv,
                "x": b64.encode(_int_bytes(point.x, size)),
                "y": b64.encode(_int_bytes(point.y, size)),
            }
        else:
            crv = "Ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "Ed448"
            raw = key.public_key().public_bytes_raw()
            jwk = {"kty": "OKP", "crv": crv, "x": b64.encode(raw)}
        jwk["kid"] = self.kid
        if use is not None:
            jwk["use"] = use
        if include_alg:
            jwk["alg"] = self.alg
        return jwk

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature over ``signing_input`` under this key's algorithm."""
        return sign(self.private_key, self.alg, signing_input)


def encode_compact(
    claims: Mapping[str, Any] | bytes,
    key: SigningKey,
    *,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS of ``claims`` (a mapping, or raw payload bytes) signed with ``key``.

    The header is ``{"alg": key.alg, "kid": key.kid, "typ": "JWT"}`` updated with ``headers``; a
    ``headers`` value of ``None`` removes that parameter (to mint tokens without ``kid`` or ``typ``).
    """
    header: dict[str, Any] = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
    for name, value in (headers or {}).items():
        if value is None:
            header.pop(name, None)
        else:
            header[name] = value
    payload = (
        claims if isinstance(claims, bytes) else json.dumps(dict(claims), separators=(",", ":")).encode()
    )
    signing_input = (
        b64.encode(json.dumps(header, separators=(",", ":")).encode()) + "." + b64.encode(payload)
    ).encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64.encode(key.sign(signing_input))}"
