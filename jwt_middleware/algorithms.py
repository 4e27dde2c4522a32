"""The JWS algorithms a public-key verifier can accept, and how each one checks a signature.

Only asymmetric algorithms exist here. ``none`` and the HMAC family are not merely disabled: they
have no entry, so no configuration, header or key can reach them (RFC 8725 section 3.1). Each
algorithm names the key type and curve it needs, which is how a key is bound to its algorithms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from jwt_middleware.errors import ConfigurationError

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "Algorithm",
    "PublicKey",
    "validate_algorithms",
]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey

_Verify = Callable[[PublicKey, bytes, bytes], bool]

# Curve orders, to reject r or s outside [1, n-1] before OpenSSL ever sees them.
_CURVE_ORDERS: Final = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "P-521": int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One JWS ``alg``: the key it needs and the function that checks its signatures."""

    name: str
    kty: str
    curves: frozenset[str]
    verify: _Verify
    #: Every length, in bytes, a valid signature can have (for diagnostics); empty for RSA, where it
    #: is the length of the key's modulus.
    signature_sizes: tuple[int, ...] = ()


def _rsa(hash_algorithm: hashes.HashAlgorithm, pad: padding.AsymmetricPadding) -> _Verify:
    def verify(key: PublicKey, data: bytes, signature: bytes) -> bool:
        if TYPE_CHECKING:  # bound by type at import (jws.verify_signature): no cost per token
            assert isinstance(key, rsa.RSAPublicKey)
        # RFC 7518 3.3: the signature is exactly as long as the modulus.
        if len(signature) != (key.key_size + 7) // 8:
            return False
        try:
            key.verify(signature, data, pad, hash_algorithm)
        except InvalidSignature:
            return False
        return True

    return verify


def _pss(hash_algorithm: hashes.HashAlgorithm) -> padding.PSS:
    # RFC 7518 3.5: MGF1 with the same hash and a salt exactly as long as the hash output.
    return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.DIGEST_LENGTH)


def _ecdsa(hash_algorithm: hashes.HashAlgorithm, curve: str, size: int) -> _Verify:
    order = _CURVE_ORDERS[curve]
    signature_algorithm = ec.ECDSA(hash_algorithm)

    def verify(key: PublicKey, data: bytes, signature: bytes) -> bool:
        if TYPE_CHECKING:
            assert isinstance(key, ec.EllipticCurvePublicKey)
        # RFC 7518 3.4: R || S, each exactly the curve size; DER signatures are not JWS.
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        if not (0 < r < order and 0 < s < order):
            return False
        try:
            key.verify(encode_dss_signature(r, s), data, signature_algorithm)
        except InvalidSignature:
            return False
        return True

    return verify


def _ec(name: str, hash_algorithm: hashes.HashAlgorithm, curve: str, size: int) -> Algorithm:
    """An ECDSA algorithm over ``curve``, whose coordinates are ``size`` bytes long."""
    return Algorithm(name, "EC", frozenset({curve}), _ecdsa(hash_algorithm, curve, size), (2 * size,))


#: RFC 8032 section 5: Ed25519 signatures are 64 bytes, Ed448 signatures 114.
_EDDSA_SIGNATURE_SIZES: Final = {"Ed25519": 64, "Ed448": 114}


def _eddsa_algorithm(name: str, curves: frozenset[str]) -> Algorithm:
    sizes = tuple(sorted(_EDDSA_SIGNATURE_SIZES[curve] for curve in curves))
    return Algorithm(name, "OKP", curves, _eddsa, sizes)


def _eddsa(key: PublicKey, data: bytes, signature: bytes) -> bool:
    if TYPE_CHECKING:
        assert isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _build() -> dict[str, Algorithm]:
    sha256, sha384, sha512 = hashes.SHA256(), hashes.SHA384(), hashes.SHA512()
    pkcs1 = padding.PKCS1v15()
    rsa_curves: frozenset[str] = frozenset()
    table = [
        Algorithm("RS256", "RSA", rsa_curves, _rsa(sha256, pkcs1)),
        Algorithm("RS384", "RSA", rsa_curves, _rsa(sha384, pkcs1)),
        Algorithm("RS512", "RSA", rsa_curves, _rsa(sha512, pkcs1)),
        Algorithm("PS256", "RSA", rsa_curves, _rsa(sha256, _pss(sha256))),
        Algorithm("PS384", "RSA", rsa_curves, _rsa(sha384, _pss(sha384))),
        Algorithm("PS512", "RSA", rsa_curves, _rsa(sha512, _pss(sha512))),
        _ec("ES256", sha256, "P-256", 32),
        _ec("ES384", sha384, "P-384", 48),
        _ec("ES512", sha512, "P-521", 66),
        # RFC 8037 "EdDSA" covers both curves; RFC 9864 adds the fully specified names.
        _eddsa_algorithm("EdDSA", frozenset({"Ed25519", "Ed448"})),
        _eddsa_algorithm("Ed25519", frozenset({"Ed25519"})),
        _eddsa_algorithm("Ed448", frozenset({"Ed448"})),
    ]
    return {algorithm.name: algorithm for algorithm in table}


ALGORITHMS: Final[dict[str, Algorithm]] = _build()

#: Every supported algorithm. Safe as a default because each key is bound to the algorithms its
#: type and curve allow (and to its JWK ``alg`` when present), so no token can pick a weaker use.
DEFAULT_ALGORITHMS: Final[tuple[str, ...]] = tuple(ALGORITHMS)


def validate_algorithms(algorithms: object) -> frozenset[str]:
    """Check a configured allow-list, refusing anything that is not an asymmetric JWS algorithm."""
    if isinstance(algorithms, str) or not hasattr(algorithms, "__iter__"):
        raise ConfigurationError("algorithms must be a sequence of algorithm names")
    names = list(algorithms)
    if not names:
        raise ConfigurationError("algorithms must not be empty")
    for name in names:
        if not isinstance(name, str) or name not in ALGORITHMS:
            raise ConfigurationError(
                f"unsupported algorithm {name!r}: only asymmetric JWS algorithms "
                f"({', '.join(ALGORITHMS)}) can be verified with public keys"
            )
    return frozenset(names)
