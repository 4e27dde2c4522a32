"""JWK and JWKS to usable public keys, each bound to the algorithms it may verify.

Keys are imported once, when a JWKS is loaded, and reused for every token (parsing a JWK costs more
than checking a signature). Import is strict because a key set is attacker-reachable whenever the
provider, a proxy or a cache in between is compromised or misconfigured: symmetric keys, private
keys, encryption keys, weak RSA and invalid EC points are refused. A bad key in a set is skipped
with a recorded reason and the other keys keep working.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from jwt_middleware import b64, reasons
from jwt_middleware.algorithms import ALGORITHMS, Algorithm, PublicKey
from jwt_middleware.errors import ABSENT, JWKError, UnknownKeyError, UnsupportedAlgorithmError
from jwt_middleware.safe_json import JSONError, parse_object

__all__ = [
    "DEFAULT_MAX_KEYS",
    "MAX_KID_LENGTH",
    "MIN_RSA_BITS",
    "THUMBPRINT_MEMBERS",
    "KeySet",
    "VerificationKey",
    "algorithm_mismatch",
    "has_private_members",
    "import_key",
    "jwk_thumbprint",
]

MAX_KID_LENGTH: Final = 256
MIN_RSA_BITS: Final = 2048
DEFAULT_MAX_KEYS: Final = 100

_PRIVATE_MEMBERS: Final = {
    "RSA": ("d", "p", "q", "dp", "dq", "qi", "oth"),
    "EC": ("d",),
    "OKP": ("d",),
}
#: RFC 7638 section 3.2 (and RFC 8037 section 2 for OKP): the members a thumbprint covers, per key type.
THUMBPRINT_MEMBERS: Final = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
_EC_CURVES: Final[dict[str, tuple[type[ec.EllipticCurve], int]]] = {
    "P-256": (ec.SECP256R1, 32),
    "P-384": (ec.SECP384R1, 48),
    "P-521": (ec.SECP521R1, 66),
}
# The field primes: a coordinate is a field element, so its encoding must be below p (RFC 7518
# 6.2.1.2). OpenSSL would silently reduce a larger value, giving one key several encodings.
_EC_FIELD_PRIMES: Final = {
    "P-256": 2**256 - 2**224 + 2**192 + 2**96 - 1,
    "P-384": 2**384 - 2**128 - 2**96 + 2**32 - 1,
    "P-521": 2**521 - 1,
}
_OKP_CURVES: Final = {"Ed25519": 32, "Ed448": 57}
_ED25519_P: Final = 2**255 - 19
_ED448_P: Final = 2**448 - 2**224 - 1
# The y coordinates of the points of small order (the curves' torsion subgroups). A public key that
# is one of them verifies forged signatures (R a small-order point, S = 0) for any message, and
# OpenSSL does not refuse such keys. Ed25519: the identity (y = 1), order 2 (y = -1), order 4
# (y = 0) and order 8 (y = +-Y8, where Y8^2 = (-1 + sqrt(1 + d)) / d). Ed448: y = 1, -1, 0.
_ED25519_Y8: Final = 0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7
_SMALL_ORDER_Y: Final = {
    "Ed25519": frozenset({0, 1, _ED25519_P - 1, _ED25519_Y8, _ED25519_P - _ED25519_Y8}),
    "Ed448": frozenset({0, 1, _ED448_P - 1}),
}
# ROCA (CVE-2017-15361): moduli from the Infineon RSALib are congruent to a power of 65537 modulo
# every small prime, which makes them factorable. For a random modulus the chance of passing this
# test for all primes up to 167 is about 1 in 2**27.8; every ROCA modulus passes it.
_ROCA_PRIMES: Final = tuple(p for p in range(3, 168) if all(p % q for q in range(2, int(p**0.5) + 1)))


def _powers_of_65537(prime: int) -> frozenset[int]:
    powers, value = set(), 1
    while value not in powers:
        powers.add(value)
        value = value * 65537 % prime
    return frozenset(powers)


_ROCA_RESIDUES: Final = tuple((prime, _powers_of_65537(prime)) for prime in _ROCA_PRIMES)


def _has_roca_fingerprint(n: int) -> bool:
    return all(n % prime in residues for prime, residues in _ROCA_RESIDUES)


class VerificationKey:
    """An imported public key and the exact set of ``alg`` values it may verify.

    ``retired`` becomes true when a refresh of the key set drops or replaces this key, which is how
    the verified-token cache learns that tokens signed by it must no longer be served.
    """

    __slots__ = ("algorithms", "curve", "fingerprint", "kid", "kty", "public_key", "retired")

    def __init__(
        self,
        *,
        kid: str | None,
        kty: str,
        curve: str | None,
        algorithms: frozenset[str],
        public_key: PublicKey,
        fingerprint: tuple[Any, ...],
    ) -> None:
        self.kid = kid
        self.kty = kty
        self.curve = curve
        self.algorithms = algorithms
        self.public_key = public_key
        self.fingerprint = fingerprint
        self.retired = False

    def verify(self, algorithm: Algorithm, signing_input: bytes, signature: bytes) -> bool:
        """Check ``signature``; the caller has already checked ``algorithm`` against this key."""
        return algorithm.verify(self.public_key, signing_input, signature)

    def __repr__(self) -> str:
        return f"VerificationKey(kid={self.kid!r}, kty={self.kty!r}, algorithms={sorted(self.algorithms)})"


def _member(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise JWKError(f"member {name!r} must be a non-empty base64url string")
    try:
        return b64.decode_padded(value)
    except ValueError:
        raise JWKError(f"member {name!r} is not valid base64url") from None


def _import_rsa(jwk: Mapping[str, Any], min_rsa_bits: int) -> tuple[PublicKey, None]:
    n = int.from_bytes(_member(jwk, "n"), "big")
    e = int.from_bytes(_member(jwk, "e"), "big")
    if n.bit_length() < min_rsa_bits:
        raise JWKError(f"RSA modulus of {n.bit_length()} bits is below the {min_rsa_bits}-bit minimum")
    if e < 3 or e % 2 == 0 or e >= n:
        raise JWKError("RSA public exponent must be odd and at least 3")
    if _has_roca_fingerprint(n):
        raise JWKError("RSA modulus has the ROCA fingerprint (CVE-2017-15361) and can be factored")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key(), None
    except ValueError:
        raise JWKError("RSA public key is invalid") from None


def _import_ec(jwk: Mapping[str, Any]) -> tuple[PublicKey, str]:
    crv = jwk.get("crv")
    if not isinstance(crv, str) or crv not in _EC_CURVES:
        raise JWKError("EC key must use curve P-256, P-384 or P-521")
    curve_type, size = _EC_CURVES[crv]
    x, y = _member(jwk, "x"), _member(jwk, "y")
    if len(x) != size or len(y) != size:
        raise JWKError(f"EC coordinates for {crv} must be {size} bytes each")
    x_value, y_value = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    if x_value >= _EC_FIELD_PRIMES[crv] or y_value >= _EC_FIELD_PRIMES[crv]:
        raise JWKError("EC coordinates must be reduced modulo the field prime")
    try:
        numbers = ec.EllipticCurvePublicNumbers(x_value, y_value, curve_type())
        return numbers.public_key(), crv
    except ValueError:
        raise JWKError("EC point is not on the curve") from None


def _import_okp(jwk: Mapping[str, Any]) -> tuple[PublicKey, str]:
    crv = jwk.get("crv")
    if not isinstance(crv, str) or crv not in _OKP_CURVES:
        raise JWKError("OKP key must use curve Ed25519 or Ed448 (X25519/X448 cannot sign)")
    x = _member(jwk, "x")
    if len(x) != _OKP_CURVES[crv]:
        raise JWKError(f"{crv} public key must be {_OKP_CURVES[crv]} bytes")
    # RFC 8032 5.1.3 / 5.2.3: y is little-endian without the top (sign) bit and must be below p.
    y = int.from_bytes(x, "little") & ((1 << (8 * len(x) - 1)) - 1)
    if y >= (_ED25519_P if crv == "Ed25519" else _ED448_P) or y in _SMALL_ORDER_Y[crv]:
        raise JWKError(f"{crv} public key is a non-canonical or small-order point")
    try:
        if crv == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(x), crv
        return ed448.Ed448PublicKey.from_public_bytes(x), crv
    except ValueError:
        raise JWKError(f"{crv} public key is invalid") from None


def _allowed_algorithms(kty: str, curve: str | None, jwk_alg: object) -> frozenset[str]:
    compatible = frozenset(
        name
        for name, algorithm in ALGORITHMS.items()
        if algorithm.kty == kty and (not algorithm.curves or curve in algorithm.curves)
    )
    if jwk_alg is None:
        return compatible
    if not isinstance(jwk_alg, str) or jwk_alg not in compatible:
        raise JWKError("the key's 'alg' is not a signature algorithm for its type and curve")
    return frozenset({jwk_alg})


def _check_intended_use(jwk: Mapping[str, Any]) -> None:
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise JWKError("the key is not meant for signatures ('use' is not 'sig')")
    key_ops = jwk.get("key_ops")
    if key_ops is not None:
        if not isinstance(key_ops, list | tuple) or not all(isinstance(op, str) for op in key_ops):
            raise JWKError("'key_ops' must be a list of strings")
        if "verify" not in key_ops:
            raise JWKError("the key's 'key_ops' do not include 'verify'")


def _fingerprint(jwk: Mapping[str, Any]) -> tuple[Any, ...]:
    """The members that decide how a key verifies; equal fingerprints mean interchangeable keys."""
    names = ("kid", "kty", "crv", "n", "e", "x", "y", "alg", "use")
    key_ops = jwk.get("key_ops")
    # Whether private members appeared matters too: such a JWK must be re-imported (and refused).
    private = any(name in jwk for members in _PRIVATE_MEMBERS.values() for name in members)
    return (*(jwk.get(name) for name in names), tuple(key_ops) if key_ops is not None else None, private)


def has_private_members(jwk: Mapping[str, Any]) -> bool:
    """Whether ``jwk`` holds any private key member of any key type (``d``, ``p``, ``q``...)."""
    return any(name in jwk for members in _PRIVATE_MEMBERS.values() for name in members)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded (what ``cnf.jkt`` holds).

    The required members of its ``kty``, as JSON with the names in lexicographic order and no
    whitespace; raises ``JWKError`` when a member is missing or not a string.
    """
    kty = jwk.get("kty")
    members = THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise JWKError("'kty' must be RSA, EC or OKP")
    values = {name: jwk.get(name) for name in members}
    if not all(isinstance(value, str) and value for value in values.values()):
        raise JWKError("a thumbprint needs every required member of the key as a string")
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return b64.encode(hashlib.sha256(canonical.encode("ascii")).digest())


def import_key(jwk: Mapping[str, Any], *, min_rsa_bits: int = MIN_RSA_BITS) -> VerificationKey:
    """Import one public JWK (RFC 7517) for signature verification; raise ``JWKError`` if unusable."""
    if not isinstance(jwk, Mapping):
        raise JWKError("a JWK must be a JSON object")
    kty = jwk.get("kty")
    if kty == "oct":
        raise JWKError("symmetric ('oct') keys are never used by a public-key verifier")
    if not isinstance(kty, str) or kty not in _PRIVATE_MEMBERS:
        raise JWKError("'kty' must be RSA, EC or OKP")
    if any(name in jwk for name in _PRIVATE_MEMBERS[kty]):
        raise JWKError("the JWK contains private key material")
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or len(kid) > MAX_KID_LENGTH):
        raise JWKError(f"'kid' must be a string of at most {MAX_KID_LENGTH} characters")
    _check_intended_use(jwk)
    public_key: PublicKey
    curve: str | None
    if kty == "RSA":
        public_key, curve = _import_rsa(jwk, min_rsa_bits)
    elif kty == "EC":
        public_key, curve = _import_ec(jwk)
    else:
        public_key, curve = _import_okp(jwk)
    return VerificationKey(
        kid=kid,
        kty=kty,
        curve=curve,
        algorithms=_allowed_algorithms(kty, curve, jwk.get("alg")),
        public_key=public_key,
        fingerprint=_fingerprint(jwk),
    )


_AMBIGUOUS: Final = object()


def algorithm_mismatch(algorithm: Algorithm, allowed: Iterable[str]) -> UnsupportedAlgorithmError:
    """The refusal for a token whose ``alg`` its key cannot have (a forgery, or a confused issuer)."""
    return UnsupportedAlgorithmError(
        "The token's algorithm does not match its key",
        claim="alg",
        location="header",
        expected=tuple(sorted(allowed)),
        code=reasons.ALG_KEY_MISMATCH,
        found=algorithm.name,
    )


class KeySet:
    """The usable keys of one JWKS, indexed for selection by ``kid`` and algorithm.

    Selection never tries several keys: a token names its key (``kid``) or, only when the set holds
    exactly one key, may omit it. Two keys of the same type under one ``kid`` make that ``kid``
    unusable rather than letting the order of the document decide.
    """

    __slots__ = ("_index", "_kids", "keys", "skipped")

    def __init__(self, keys: Iterable[VerificationKey], skipped: Iterable[str] = ()) -> None:
        self.keys: tuple[VerificationKey, ...] = tuple(keys)
        self.skipped: tuple[str, ...] = tuple(skipped)
        self._index: dict[tuple[str | None, str], Any] = {}
        for key in self.keys:
            slot = (key.kid, key.kty)
            self._index[slot] = _AMBIGUOUS if slot in self._index else key
        self._kids = frozenset(key.kid for key in self.keys)

    @classmethod
    def from_jwks(
        cls,
        jwks: Mapping[str, Any] | str | bytes,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        min_rsa_bits: int = MIN_RSA_BITS,
        previous: KeySet | None = None,
    ) -> KeySet:
        """Build a key set from a JWKS document (object, JSON text or bytes).

        Keys that fail import are skipped and their reasons kept in ``skipped``. With ``previous``,
        a key whose JWK did not change keeps its existing object, so tokens verified with it stay
        cached; ``previous.retire_replaced(new)`` then retires the rest once the new set is adopted.
        """
        if isinstance(jwks, str | bytes):
            try:
                jwks = parse_object(jwks.encode("utf-8") if isinstance(jwks, str) else jwks)
            except JSONError:
                raise JWKError("the JWKS is not a strict JSON object") from None
        if not isinstance(jwks, Mapping):
            raise JWKError("a JWKS must be a JSON object")
        entries = jwks.get("keys")
        if not isinstance(entries, list | tuple):
            raise JWKError("a JWKS must have a 'keys' array")
        if len(entries) > max_keys:
            raise JWKError(f"the JWKS holds {len(entries)} keys, more than the limit of {max_keys}")
        reusable = {key.fingerprint: key for key in previous.keys} if previous else {}
        keys: list[VerificationKey] = []
        skipped: list[str] = []
        for position, entry in enumerate(entries):
            try:
                fingerprint = _fingerprint(entry) if isinstance(entry, Mapping) else None
                existing = reusable.get(fingerprint) if fingerprint is not None else None
                keys.append(existing or import_key(entry, min_rsa_bits=min_rsa_bits))
            except (JWKError, TypeError) as exc:
                # TypeError: an unhashable member value in the fingerprint; the key is malformed.
                reason = str(exc) if isinstance(exc, JWKError) else "malformed"
                skipped.append(f"key {position}: {reason}")
        return cls(keys, skipped)

    def retire_replaced(self, successor: KeySet) -> None:
        """Mark retired every key of this set that ``successor`` no longer holds."""
        kept = {id(key) for key in successor.keys}
        for key in self.keys:
            if id(key) not in kept:
                key.retired = True

    def lookup(self, kid: str | None, algorithm: Algorithm) -> VerificationKey | None:
        """The key for a token's ``kid`` and ``alg``; ``None`` when this set does not know it.

        Raises when the set knows the ``kid`` but cannot use it for this token, so that a refresh
        is not attempted for a problem a refresh cannot fix.
        """
        if kid is None:
            if len(self.keys) > 1:
                raise UnknownKeyError(
                    "The token names no key and the issuer has several",
                    claim="kid",
                    location="header",
                    code=reasons.KID_MISSING,
                    found=ABSENT,
                )
            if not self.keys:
                return None
            key = self.keys[0]
        else:
            found = self._index.get((kid, algorithm.kty))
            if found is _AMBIGUOUS:
                raise UnknownKeyError(
                    "Several keys share the token's key id",
                    claim="kid",
                    location="header",
                    code=reasons.KID_AMBIGUOUS,
                    found=kid,
                )
            if found is None:
                if kid in self._kids:
                    known = (key.algorithms for key in self.keys if key.kid == kid)
                    raise algorithm_mismatch(algorithm, frozenset().union(*known))
                return None
            key = found
        if algorithm.name not in key.algorithms:
            raise algorithm_mismatch(algorithm, key.algorithms)
        return key

    def retire_all(self) -> None:
        """Mark every key retired (the set has outlived the longest staleness allowed)."""
        for key in self.keys:
            key.retired = True

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[VerificationKey]:
        return iter(self.keys)

    def __repr__(self) -> str:
        return f"KeySet({len(self.keys)} keys, {len(self.skipped)} skipped)"
