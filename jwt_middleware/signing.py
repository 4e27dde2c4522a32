"""Signing compact JWS with ``cryptography``: the one place the library uses a private key.

The library verifies tokens; it signs only what a client must sign for itself, such as the RFC 7523
client assertion of ``private_key_jwt`` client authentication (``jwt_middleware.oauth``). The test
kit mints its tokens through the same functions, so what it signs is byte for byte what a
conforming signer sends: raw ``R || S`` for ECDSA (RFC 7518 3.4), PSS with a digest-sized salt,
canonical base64url without padding. No JOSE library is involved (``authlib.jose`` is never
imported): the algorithm table is ``jwt_middleware.algorithms``, the verifier's own.

A key is bound to its algorithm here as it is on the verifying side: an RSA key signs only RS*/PS*
and needs 2048 bits at least, an EC key only the ES* algorithm of its curve, an Ed25519 or Ed448
key only EdDSA (or its curve's name); anything else is a ``ConfigurationError`` before any
signature is made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from jwt_middleware import b64
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.jwk import MIN_RSA_BITS

__all__ = [
    "PrivateKey",
    "algorithm_for",
    "check_signing_key",
    "encode_compact",
    "load_private_key",
    "sign",
]

PrivateKey = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
)

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
#: The JWK curve name of each ``cryptography`` curve we sign with, and its coordinate size.
_EC_CURVES: Final[dict[str, tuple[str, int]]] = {
    "secp256r1": ("P-256", 32),
    "secp384r1": ("P-384", 48),
    "secp521r1": ("P-521", 66),
}
_DEFAULT_EC_ALGORITHMS: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


def _kty_and_curve(key: object) -> tuple[str, str | None]:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA", None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curve = _EC_CURVES.get(key.curve.name)
        if curve is None:
            raise ConfigurationError(
                f"EC keys on {key.curve.name} cannot sign JWS (use P-256, P-384 or P-521)"
            )
        return "EC", curve[0]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "OKP", "Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "OKP", "Ed448"
    raise ConfigurationError("the private key must be an RSA, EC (P-256/384/521), Ed25519 or Ed448 key")


def algorithm_for(key: PrivateKey) -> str:
    """The algorithm a key signs with unless told otherwise: RS256, its curve's ES*, or EdDSA."""
    kty, curve = _kty_and_curve(key)
    if kty == "RSA":
        return "RS256"
    if kty == "EC":
        assert curve is not None
        return _DEFAULT_EC_ALGORITHMS[curve]
    return "EdDSA"


def _check_binding(key: object, alg: str) -> None:
    algorithm = ALGORITHMS.get(alg)
    if algorithm is None:
        raise ConfigurationError(f"unsupported signing algorithm {alg!r} (one of {', '.join(ALGORITHMS)})")
    kty, curve = _kty_and_curve(key)
    if kty != algorithm.kty or (curve is not None and curve not in algorithm.curves):
        raise ConfigurationError(f"this {kty} key{f' ({curve})' if curve else ''} cannot sign {alg}")


def check_signing_key(key: object, alg: str) -> None:
    """Refuse a key a service must not sign ``alg`` with: the wrong type or curve, or RSA under
    2048 bits (what the verifier itself refuses; the test kit signs with weak keys on purpose)."""
    _check_binding(key, alg)
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < MIN_RSA_BITS:
        raise ConfigurationError(f"RSA signing keys need at least {MIN_RSA_BITS} bits")


def load_private_key(key: PrivateKey | str | bytes, *, password: bytes | None = None) -> PrivateKey:
    """A ``cryptography`` private key, given one or its PEM (PKCS#8, or the traditional forms).

    The PEM's text never appears in an error: a key that does not load says only that.
    """
    if isinstance(key, str):
        key = key.encode("ascii", errors="replace")
    if isinstance(key, bytes):
        try:
            loaded = serialization.load_pem_private_key(key, password=password)
        except (ValueError, TypeError):
            raise ConfigurationError("private_key is not a PEM private key this library can load") from None
        key = loaded  # type: ignore[assignment]
    _kty_and_curve(key)
    return key  # type: ignore[return-value]


def sign(key: PrivateKey, alg: str, signing_input: bytes) -> bytes:
    """The JWS signature of ``signing_input`` under ``alg`` (the key's type and curve must fit it)."""
    _check_binding(key, alg)
    if isinstance(key, rsa.RSAPrivateKey):
        hash_algorithm = _HASHES[alg[2:]]()
        pad: padding.AsymmetricPadding
        if alg.startswith("PS"):
            pad = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.DIGEST_LENGTH)
        else:
            pad = padding.PKCS1v15()
        return key.sign(signing_input, pad, hash_algorithm)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        _, size = _EC_CURVES[key.curve.name]
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(_HASHES[alg[2:]]())))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return key.sign(signing_input)


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(value), separators=(",", ":")).encode()


def encode_compact(payload: Mapping[str, Any] | bytes, key: PrivateKey, *, header: Mapping[str, Any]) -> str:
    """A compact JWS of ``payload`` (claims, or raw bytes) under ``header``, whose ``alg`` it signs.

    ``header`` is sent as given (it must name ``alg``): choosing ``kid`` and ``typ`` is the caller's.
    """
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise ConfigurationError("the JWS header must name its alg")
    body = payload if isinstance(payload, bytes) else _json(payload)
    signing_input = f"{b64.encode(_json(header))}.{b64.encode(body)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64.encode(sign(key, alg, signing_input))}"
