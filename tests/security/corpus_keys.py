"""Key-set attacks: weak, malformed, misused and ambiguous JWKs in the trusted key set.

A key set is attacker-reachable when the provider, a proxy or a cache on the way is compromised or
misconfigured. Each case publishes one bad key (often beside good ones) and presents a token that
the bad key would verify; the key must be refused at import, so the token names an unknown key.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from jwt_middleware import InvalidSignatureError, UnknownKeyError, UnsupportedAlgorithmError, b64
from jwt_middleware.testing import SigningKey, encode_compact
from tests.security.catalogue import Case
from tests.security.kit import MARKER, Kit, b64json, hmac_token

CATEGORY: Final = "Keys"
RUN_BY: Final = ("test_corpus.py", "test_http.py")

CASES: list[Case] = []

ED25519_P: Final = 2**255 - 19
ED448_P: Final = 2**448 - 2**224 - 1
P521_P: Final = 2**521 - 1


def case(
    name: str,
    how: str,
    expect: Any,
    rule: str,
    jwks: Callable[[Kit], Mapping[str, Any]],
    build: Callable[[Kit], Any],
) -> None:
    CASES.append(Case(name=name, how=how, build=build, expect=expect, rule=rule, jwks=jwks))


def one(jwk: Callable[[Kit], Mapping[str, Any]]) -> Callable[[Kit], Mapping[str, Any]]:
    return lambda k: {"keys": [jwk(k)]}


def _int_b64(value: int, length: int | None = None) -> str:
    return b64.encode(value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big"))


@functools.cache
def _small_rsa(bits: int) -> SigningKey:
    return SigningKey(
        rsa.generate_private_key(public_exponent=65537, key_size=bits), alg="RS256", kid=f"rsa-{bits}"
    )


# -- RSA ------------------------------------------------------------------------------------------

for bits in (1024, 2047):
    case(
        f"rsa-{bits}-bits",
        f"the only key is a {bits}-bit RSA key; the token is genuinely signed by it",
        UnknownKeyError,
        "RFC 7518 §3.3 (2048 bits or larger); NIST SP 800-131A",
        one(lambda k, bits=bits: _small_rsa(bits).public_jwk()),
        lambda k, bits=bits: k.token(_small_rsa(bits)),
    )


def _e_one_forgery(k: Kit) -> str:
    """With e = 1 the "signature" is the padded digest itself: anyone can compute it."""
    signing_input = f"{b64json(k.header(k.rs256))}.{b64json(k.payload(sub='admin'))}"
    digest = hashlib.sha256(signing_input.encode()).digest()
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + digest
    size = 256
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return f"{signing_input}.{b64.encode(encoded)}"


def _rsa_jwk(k: Kit, **changes: Any) -> dict[str, Any]:
    return {**k.rs256.public_jwk(), **changes}


def _modulus(k: Kit) -> int:
    return int.from_bytes(b64.decode(k.rs256.public_jwk()["n"]), "big")


case(
    "rsa-exponent-1-forgery",
    "e = 1 on the published modulus, and a 'signature' equal to the PKCS#1 padded digest",
    UnknownKeyError,
    "Wycheproof exponentOne; RFC 8017 §3.1",
    one(lambda k: _rsa_jwk(k, e="AQ")),
    _e_one_forgery,
)
for label, exponent in {"2": 2, "65536": 65536, "0": 0, "equal-to-n": None, "larger-than-n": -1}.items():
    case(
        f"rsa-exponent-{label}",
        f"public exponent {label}",
        UnknownKeyError,
        "RFC 8017 §3.1 (odd e, 3 <= e < n)",
        one(
            lambda k, exponent=exponent: _rsa_jwk(
                k,
                e=_int_b64(
                    _modulus(k) if exponent is None else _modulus(k) + 2 if exponent == -1 else exponent
                ),
            )
        ),
        lambda k: k.token(k.rs256),
    )


def _roca_shaped_modulus() -> int:
    """A 2048+ bit modulus built the way the Infineon RSALib built primes (CVE-2017-15361):
    p = k * M + (65537^a mod M) with M the product of the primes up to 167."""
    import random

    primorial = 1
    for prime in range(2, 168):
        if all(prime % divisor for divisor in range(2, int(prime**0.5) + 1)):
            primorial *= prime
    generator = random.Random(2017)
    size = 1025 - primorial.bit_length()
    factors = [
        (generator.getrandbits(size) | 1 << (size - 1)) * primorial
        + pow(65537, generator.randrange(1, 10**6), primorial)
        for _ in range(2)
    ]
    modulus = factors[0] * factors[1]
    assert modulus.bit_length() >= 2048
    assert modulus % 2 == 1
    return modulus


case(
    "rsa-roca-fingerprint",
    "an RSA modulus with the ROCA structure (CVE-2017-15361): factorable, so never trusted",
    UnknownKeyError,
    "CVE-2017-15361; Wycheproof rejectsKeyWithRocaVulnerability",
    one(lambda k: _rsa_jwk(k, n=_int_b64(_roca_shaped_modulus()))),
    lambda k: k.token(k.rs256),
)
case(
    "rsa-modulus-empty",
    "'n' is the empty string",
    UnknownKeyError,
    "RFC 7518 §6.3.1",
    one(lambda k: _rsa_jwk(k, n="")),
    lambda k: k.token(k.rs256),
)
case(
    "rsa-modulus-not-base64url",
    "'n' holds characters outside base64url",
    UnknownKeyError,
    "RFC 7518 §6.3.1",
    one(lambda k: _rsa_jwk(k, n="+/" + k.rs256.public_jwk()["n"][2:])),
    lambda k: k.token(k.rs256),
)

# -- EC -------------------------------------------------------------------------------------------


def _ec_jwk(k: Kit, **changes: Any) -> dict[str, Any]:
    return {**k.es256.public_jwk(), **changes}


def _coordinate(jwk: Mapping[str, Any], name: str) -> int:
    return int.from_bytes(b64.decode(jwk[name]), "big")


case(
    "ec-point-off-curve",
    "the P-256 key with y + 1 (not on the curve: invalid-curve attacks start here)",
    UnknownKeyError,
    "RFC 8725 §3.4; SEC 1 §3.2.2.1",
    one(lambda k: _ec_jwk(k, y=_int_b64(_coordinate(k.es256.public_jwk(), "y") + 1, 32))),
    lambda k: k.token(k.es256),
)
case(
    "ec-coordinates-swapped",
    "x and y exchanged",
    UnknownKeyError,
    "RFC 8725 §3.4",
    one(lambda k: _ec_jwk(k, x=k.es256.public_jwk()["y"], y=k.es256.public_jwk()["x"])),
    lambda k: k.token(k.es256),
)
case(
    "ec-zero-point",
    "x = y = 0",
    UnknownKeyError,
    "RFC 8725 §3.4",
    one(lambda k: _ec_jwk(k, x=_int_b64(0, 32), y=_int_b64(0, 32))),
    lambda k: k.token(k.es256),
)
case(
    "ec-short-coordinate",
    "x with its leading byte dropped (31 bytes)",
    UnknownKeyError,
    "RFC 7518 §6.2.1.2 (full-length coordinates)",
    one(lambda k: _ec_jwk(k, x=b64.encode(b64.decode(k.es256.public_jwk()["x"])[1:]))),
    lambda k: k.token(k.es256),
)
case(
    "ec-p521-coordinate-not-reduced",
    "the P-521 key with x + p (fits in 66 bytes; OpenSSL would silently reduce it)",
    UnknownKeyError,
    "RFC 7518 §6.2.1.2",
    one(
        lambda k: {**k.es512.public_jwk(), "x": _int_b64(_coordinate(k.es512.public_jwk(), "x") + P521_P, 66)}
    ),
    lambda k: k.token(k.es512),
)
case(
    "ec-p256-point-labelled-p384",
    "the P-256 coordinates published with crv P-384",
    UnknownKeyError,
    "RFC 7518 §6.2.1.1",
    one(lambda k: _ec_jwk(k, crv="P-384", alg=None)),
    lambda k: k.token(k.es256),
)
case(
    "ec-curve-secp256k1",
    "crv secp256k1 (not a JOSE curve we accept)",
    UnknownKeyError,
    "RFC 8812 (ES256K not accepted)",
    one(lambda k: _ec_jwk(k, crv="secp256k1", alg=None)),
    lambda k: k.token(k.es256),
)
case(
    "ec-alg-for-other-curve",
    "the P-256 key published with alg ES384",
    UnknownKeyError,
    "RFC 7518 §3.4 (curve bound to alg)",
    one(lambda k: _ec_jwk(k, alg="ES384")),
    lambda k: k.token(SigningKey(k.es256.private_key, alg="ES256", kid=k.es256.kid)),
)
case(
    "ec-p384-key-es256-token",
    "a P-384 key without 'alg' and an ES256 token naming it",
    UnsupportedAlgorithmError,
    "RFC 7518 §3.4",
    one(lambda k: k.es384.public_jwk(include_alg=False)),
    lambda k: k.token(SigningKey(k.es256.private_key, alg="ES256", kid=k.es384.kid)),
)

# -- OKP: wrong curve, and small-order points anyone can sign for ----------------------------------

case(
    "okp-ed448-key-ed25519-token",
    "an Ed448 key, and a token with alg Ed25519 naming it",
    UnsupportedAlgorithmError,
    "RFC 9864; RFC 8037 §3.1",
    one(lambda k: k.ed448.public_jwk(include_alg=False)),
    lambda k: k.token(SigningKey(k.ed25519.private_key, alg="Ed25519", kid=k.ed448.kid)),
)
case(
    "okp-ed448-key-eddsa-ed25519-signature",
    "an Ed448 key without 'alg', and an EdDSA token carrying an Ed25519 signature",
    InvalidSignatureError,
    "RFC 8037 §3.1",
    one(lambda k: k.ed448.public_jwk(include_alg=False)),
    lambda k: k.token(SigningKey(k.ed25519.private_key, alg="EdDSA", kid=k.ed448.kid)),
)
case(
    "okp-x25519",
    "crv X25519 (a key-agreement curve) under the token's kid",
    UnknownKeyError,
    "RFC 8037 §3.2",
    one(lambda k: {**k.ed25519.public_jwk(), "crv": "X25519", "alg": None}),
    lambda k: k.token(),
)
case(
    "okp-wrong-length",
    "an Ed25519 'x' of 31 bytes",
    UnknownKeyError,
    "RFC 8037 §2",
    one(lambda k: {**k.ed25519.public_jwk(), "x": b64.encode(b64.decode(k.ed25519.public_jwk()["x"])[:31])}),
    lambda k: k.token(),
)


def _edwards_encoding(y: int, x_odd: bool, size: int) -> bytes:
    if size == 32:
        return (y | (int(x_odd) << 255)).to_bytes(32, "little")
    return y.to_bytes(56, "little") + (b"\x80" if x_odd else b"\x00")


def _ed25519_small_order() -> dict[str, bytes]:
    """The eight points of order dividing 8 on edwards25519, derived here rather than copied."""
    p = ED25519_P
    d = -121665 * pow(121666, -1, p) % p
    sqrt_m1 = pow(2, (p - 1) // 4, p)

    def sqrt(value: int) -> int | None:
        value %= p
        root = pow(value, (p + 3) // 8, p)
        if root * root % p != value:
            root = root * sqrt_m1 % p
        return root if root * root % p == value else None

    points = {
        "identity": (0, 1),
        "order-2": (0, p - 1),
        "order-4-a": (sqrt_m1, 0),
        "order-4-b": (p - sqrt_m1, 0),
    }
    # Order 8: 2P has y = 0, i.e. x^2 = -y^2, so d*y^4 + 2*y^2 - 1 = 0.
    for sign in (1, -1):
        root = sqrt(1 + d)
        assert root is not None
        y_squared = (-1 + sign * root) * pow(d, -1, p) % p
        y = sqrt(y_squared)
        if y is None:
            continue
        for y_value in (y, p - y):
            x = sqrt(-y_value * y_value)
            assert x is not None
            for x_value in (x, p - x):
                points[f"order-8-{len(points) - 3}"] = (x_value, y_value)
    assert len(points) == 8
    encodings = {name: _edwards_encoding(y, x % 2 == 1, 32) for name, (x, y) in points.items()}
    encodings["identity-non-canonical-y"] = _edwards_encoding(1 + p, False, 32)
    encodings["identity-sign-bit"] = _edwards_encoding(1, True, 32)
    return encodings


def _ed448_small_order() -> dict[str, bytes]:
    p = ED448_P
    return {
        "identity": _edwards_encoding(1, False, 57),
        "order-2": _edwards_encoding(p - 1, False, 57),
        "order-4-a": _edwards_encoding(0, True, 57),
        "order-4-b": _edwards_encoding(0, False, 57),
    }


ED25519_SMALL_ORDER: Final = _ed25519_small_order()
ED448_SMALL_ORDER: Final = _ed448_small_order()


def small_order_forgery(k: Kit, crv: str, point: bytes) -> str | None:
    """A token that verifies under the small-order key ``point`` with OpenSSL, if one is found.

    The signature is (R, S = 0) with R itself a small-order point: [S]B = R + [k]A holds whenever
    R = -[k]A, which for a small-order A happens for one R of the torsion group per message.
    """
    public: ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
    table = ED25519_SMALL_ORDER if crv == "Ed25519" else ED448_SMALL_ORDER
    try:
        public = (
            ed25519.Ed25519PublicKey.from_public_bytes(point)
            if crv == "Ed25519"
            else ed448.Ed448PublicKey.from_public_bytes(point)
        )
    except ValueError:
        return None
    header = {"alg": "EdDSA", "kid": f"small-{MARKER}"}
    zero = bytes(len(point))
    for attempt in range(32):
        signing_input = f"{b64json(header)}.{b64json(k.payload(sub='admin', attempt=attempt))}"
        for r in table.values():
            try:
                public.verify(r + zero, signing_input.encode())
            except InvalidSignature:
                continue
            return f"{signing_input}.{b64.encode(r + zero)}"
    return None


def _small_order_case(crv: str, label: str, point: bytes) -> None:
    def build(k: Kit) -> str:
        forged = small_order_forgery(k, crv, point)
        # Where no forgery exists, a token naming the key still has to be refused.
        return forged or encode_compact(
            k.payload(), SigningKey(k.attacker_ed.private_key, alg="EdDSA", kid=f"small-{MARKER}")
        )

    case(
        f"okp-{crv.lower()}-small-order-{label}",
        f"the {crv} public key is the small-order point '{label}'; the token is a forgery (S = 0)",
        UnknownKeyError,
        "RFC 8032 §5.1.7/§5.2.7; RFC 8725 §3.4",
        one(lambda k: {"kty": "OKP", "crv": crv, "kid": f"small-{MARKER}", "x": b64.encode(point)}),
        build,
    )


for label, point in ED25519_SMALL_ORDER.items():
    _small_order_case("Ed25519", label, point)
for label, point in ED448_SMALL_ORDER.items():
    _small_order_case("Ed448", label, point)

# -- symmetric and private keys --------------------------------------------------------------------

_OCT_SECRET: Final = b"attacker-chosen-secret-" + MARKER.encode()
case(
    "oct-key-under-token-kid-hs256",
    "an 'oct' key under the kid of an HS256 token MACed with it",
    UnsupportedAlgorithmError,
    "RFC 8725 §3.1 (no symmetric algorithms)",
    one(lambda k: {"kty": "oct", "kid": k.ed25519.kid, "k": b64.encode(_OCT_SECRET), "alg": "HS256"}),
    lambda k: hmac_token(_OCT_SECRET, "HS256", k.header(), k.payload()),
)
case(
    "oct-key-under-token-kid-eddsa",
    "an 'oct' key alone under the kid of an attacker-signed EdDSA token",
    UnknownKeyError,
    "RFC 8725 §3.1",
    one(lambda k: {"kty": "oct", "kid": k.ed25519.kid, "k": b64.encode(_OCT_SECRET)}),
    lambda k: k.token(SigningKey(k.attacker_ed.private_key, alg="EdDSA", kid=k.ed25519.kid)),
)
case(
    "oct-key-beside-real-key-same-kid",
    "an 'oct' key and the real Ed25519 key under one kid: the oct key is ignored, the token verifies",
    None,
    "positive control",
    lambda k: {
        "keys": [{"kty": "oct", "kid": k.ed25519.kid, "k": b64.encode(_OCT_SECRET)}, k.ed25519.public_jwk()]
    },
    lambda k: k.token(),
)


def _with_private(key: SigningKey) -> dict[str, Any]:
    private = key.private_key
    jwk = key.public_jwk()
    if isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        jwk.update(d=_int_b64(numbers.d), p=_int_b64(numbers.p), q=_int_b64(numbers.q))
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        jwk["d"] = _int_b64(private.private_numbers().private_value, 32)
    else:
        jwk["d"] = b64.encode(private.private_bytes_raw())
    return jwk


for attribute in ("rs256", "es256", "ed25519"):
    case(
        f"private-members-{attribute}",
        f"the {attribute} JWK published with its private members; the token is genuine",
        UnknownKeyError,
        "RFC 7517 §9.2; RFC 8725 §3.4",
        one(lambda k, attribute=attribute: _with_private(getattr(k, attribute))),
        lambda k, attribute=attribute: k.token(getattr(k, attribute)),
    )

# -- intended use ---------------------------------------------------------------------------------

for label, changes in {
    "use-enc": {"use": "enc"},
    "use-upper-case": {"use": "SIG"},
    "use-list": {"use": ["sig"]},
    "key-ops-encrypt": {"key_ops": ["encrypt"]},
    "key-ops-sign-only": {"key_ops": ["sign"]},
    "key-ops-empty": {"key_ops": []},
    "key-ops-string": {"key_ops": "verify"},
    "key-ops-non-string": {"key_ops": ["verify", 1]},
}.items():
    case(
        f"intended-{label}",
        f"the Ed25519 JWK with {changes!r}; the token is genuine",
        UnknownKeyError,
        "RFC 7517 §4.2/§4.3",
        one(lambda k, changes=changes: {**k.ed25519.public_jwk(), **changes}),
        lambda k: k.token(),
    )
case(
    "intended-key-ops-verify",
    "'key_ops': ['verify'] and no 'use'",
    None,
    "positive control; RFC 7517 §4.3",
    one(lambda k: {**k.ed25519.public_jwk(use=None), "key_ops": ["verify"]}),
    lambda k: k.token(),
)
for label, alg in {"hs256": "HS256", "none": "none", "rs256-on-okp": "RS256", "lower-case": "eddsa"}.items():
    case(
        f"jwk-alg-{label}",
        f"the Ed25519 JWK with 'alg': {alg!r}",
        UnknownKeyError,
        "RFC 7517 §4.4; RFC 8725 §3.1",
        one(lambda k, alg=alg: {**k.ed25519.public_jwk(), "alg": alg}),
        lambda k: k.token(),
    )
for label, kty in {"lower-case": "okp", "trailing-space": "OKP ", "missing": None, "unknown": "EC2"}.items():
    case(
        f"jwk-kty-{label}",
        f"the Ed25519 JWK with 'kty': {kty!r}",
        UnknownKeyError,
        "RFC 7517 §4.1",
        one(
            lambda k, kty=kty: {
                name: value
                for name, value in {**k.ed25519.public_jwk(), "kty": kty}.items()
                if value is not None
            }
        ),
        lambda k: k.token(),
    )

# -- ambiguity and robustness of the set -------------------------------------------------------------

case(
    "duplicate-kid-two-rsa-keys",
    "the real RS256 key and the attacker's RSA key under one kid; token signed by the attacker",
    UnknownKeyError,
    "Wycheproof DuplicateKid; RFC 7517 §4.5",
    lambda k: {"keys": [k.rs256.public_jwk(), {**k.attacker_rsa.public_jwk(), "kid": k.rs256.kid}]},
    lambda k: k.token(SigningKey(k.attacker_rsa.private_key, alg="RS256", kid=k.rs256.kid)),
)
case(
    "duplicate-kid-two-rsa-keys-genuine-token",
    "the same ambiguous set and a genuine token: document order never decides",
    UnknownKeyError,
    "RFC 7517 §4.5",
    lambda k: {"keys": [{**k.attacker_rsa.public_jwk(), "kid": k.rs256.kid}, k.rs256.public_jwk()]},
    lambda k: k.token(k.rs256),
)
case(
    "duplicate-kid-identical-jwk",
    "the same Ed25519 JWK published twice",
    UnknownKeyError,
    "RFC 7517 §4.5",
    lambda k: {"keys": [k.ed25519.public_jwk(), k.ed25519.public_jwk()]},
    lambda k: k.token(),
)
case(
    "duplicate-kid-different-types",
    "an RSA and an EC key under one kid; an ES256 token selects the EC key by type",
    None,
    "positive control; RFC 7517 §4.5",
    lambda k: {"keys": [{**k.rs256.public_jwk(), "kid": "same"}, {**k.es256.public_jwk(), "kid": "same"}]},
    lambda k: k.token(SigningKey(k.es256.private_key, alg="ES256", kid="same")),
)
case(
    "malformed-keys-beside-good-one",
    "garbage entries (numbers, strings, null, lists, empty and half-built JWKs) before the good key",
    None,
    "positive control; a bad key never disables the others",
    lambda k: {
        "keys": [
            5,
            "x",
            None,
            [],
            {},
            {"kty": "RSA"},
            {"kty": "EC", "crv": "P-256"},
            {"kty": "OKP", "crv": "Ed25519", "x": "!!"},
            {"kty": "OKP", "crv": "Ed25519", "x": {"nested": ["unhashable"]}},
            k.ed25519.public_jwk(),
        ]
    },
    lambda k: k.token(),
)
case(
    "malformed-keys-only",
    "only garbage entries: the genuine token names an unknown key",
    UnknownKeyError,
    "a bad key never verifies",
    lambda k: {"keys": [5, {}, {"kty": "RSA"}, {"kty": "OKP", "crv": "Ed25519", "x": "!!"}]},
    lambda k: k.token(),
)
