"""Signature-value attacks: psychic signatures (CVE-2022-21449), out-of-range and mis-encoded
ECDSA values, truncated and padded signatures, and the malleability we accept on purpose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from jwt_middleware import InvalidSignatureError, b64
from tests.security.catalogue import Case
from tests.security.kit import CURVE_ORDERS, CURVE_SIZES, Kit, with_signature

CATEGORY: Final = "Signature values (psychic signatures, ECDSA ranges, lengths)"
RUN_BY: Final = ("test_corpus.py", "test_http.py")

CASES: list[Case] = []


def case(name: str, how: str, expect: Any, rule: str, build: Callable[[Kit], Any]) -> None:
    CASES.append(Case(name=name, how=how, build=build, expect=expect, rule=rule))


def _ec_key(k: Kit, alg: str) -> Any:
    return {"ES256": k.es256, "ES384": k.es384, "ES512": k.es512}[alg]


def _rs(alg: str, r: int, s: int) -> bytes:
    size = CURVE_SIZES[alg]
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _genuine_rs(k: Kit, alg: str) -> tuple[str, int, int]:
    token = k.token(_ec_key(k, alg), payload=k.payload(sub="admin"))
    signature = b64.decode(token.rsplit(".", 1)[1])
    size = CURVE_SIZES[alg]
    return token, int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")


def _with_rs(
    alg: str, r_of: Callable[[int, int, int], int], s_of: Callable[[int, int, int], int]
) -> Callable[[Kit], str]:
    def build(k: Kit) -> str:
        token, r, s = _genuine_rs(k, alg)
        n = CURVE_ORDERS[alg]
        return with_signature(token, _rs(alg, r_of(r, s, n), s_of(r, s, n)))

    return build


for alg in ("ES256", "ES384", "ES512"):
    lower = alg.lower()
    psychic = "CVE-2022-21449; FIPS 186-5 §6.4.2 (1 <= r, s <= n-1)"
    case(
        f"psychic-{lower}-r0-s0",
        f"{alg}: r = s = 0",
        InvalidSignatureError,
        psychic,
        _with_rs(alg, lambda r, s, n: 0, lambda r, s, n: 0),
    )
    case(
        f"psychic-{lower}-rn-sn",
        f"{alg}: r = s = n",
        InvalidSignatureError,
        psychic,
        _with_rs(alg, lambda r, s, n: n, lambda r, s, n: n),
    )
    case(
        f"psychic-{lower}-r0",
        f"{alg}: r = 0, genuine s",
        InvalidSignatureError,
        psychic,
        _with_rs(alg, lambda r, s, n: 0, lambda r, s, n: s),
    )
    case(
        f"psychic-{lower}-s0",
        f"{alg}: genuine r, s = 0",
        InvalidSignatureError,
        psychic,
        _with_rs(alg, lambda r, s, n: r, lambda r, s, n: 0),
    )
    case(
        f"psychic-{lower}-rn",
        f"{alg}: r = n, genuine s",
        InvalidSignatureError,
        psychic,
        _with_rs(alg, lambda r, s, n: n, lambda r, s, n: s),
    )
    case(
        f"psychic-{lower}-sn",
        f"{alg}: genuine r, s = n",
        InvalidSignatureError,
        psychic,
        _with_rs(alg, lambda r, s, n: r, lambda r, s, n: n),
    )
    case(
        f"ecdsa-{lower}-r1-s1",
        f"{alg}: r = s = 1",
        InvalidSignatureError,
        "FIPS 186-5 §6.4.2",
        _with_rs(alg, lambda r, s, n: 1, lambda r, s, n: 1),
    )
    case(
        f"ecdsa-{lower}-all-ones",
        f"{alg}: every byte 0xFF (r, s >= n)",
        InvalidSignatureError,
        "FIPS 186-5 §6.4.2",
        lambda k, alg=alg: with_signature(k.token(_ec_key(k, alg)), b"\xff" * (2 * CURVE_SIZES[alg])),
    )
    case(
        f"ecdsa-{lower}-swapped",
        f"{alg}: r and s exchanged",
        InvalidSignatureError,
        "FIPS 186-5 §6.4.2",
        _with_rs(alg, lambda r, s, n: s, lambda r, s, n: r),
    )
    case(
        f"ecdsa-{lower}-der-encoded",
        f"{alg}: a genuine signature in DER (ASN.1) form instead of R || S",
        InvalidSignatureError,
        "RFC 7518 §3.4",
        lambda k, alg=alg: _der(k, alg),
    )
    case(
        f"ecdsa-{lower}-extra-byte",
        f"{alg}: a genuine R || S with a zero byte appended",
        InvalidSignatureError,
        "RFC 7518 §3.4",
        lambda k, alg=alg: _edit_signature(k.token(_ec_key(k, alg)), lambda sig: sig + b"\x00"),
    )
    case(
        f"ecdsa-{lower}-zero-prefixed-halves",
        f"{alg}: r and s each given one extra leading zero byte",
        InvalidSignatureError,
        "RFC 7518 §3.4",
        lambda k, alg=alg: _edit_signature(
            k.token(_ec_key(k, alg)),
            lambda sig, size=CURVE_SIZES[alg]: b"\x00" + sig[:size] + b"\x00" + sig[size:],
        ),
    )
    case(
        f"ecdsa-{lower}-high-s-accepted",
        f"{alg}: the genuine signature's twin (r, n - s); ECDSA malleability is accepted by design",
        None,
        "documented non-goal: ECDSA malleability (SECURITY.md)",
        _with_rs(alg, lambda r, s, n: r, lambda r, s, n: n - s),
    )
case(
    "ecdsa-es512-r-plus-n",
    "ES512: r + n still fits in 66 bytes; an unreduced r must be refused",
    InvalidSignatureError,
    "FIPS 186-5 §6.4.2",
    _with_rs("ES512", lambda r, s, n: r + n, lambda r, s, n: s),
)
case(
    "ecdsa-es512-s-plus-n",
    "ES512: s + n (unreduced s)",
    InvalidSignatureError,
    "FIPS 186-5 §6.4.2",
    _with_rs("ES512", lambda r, s, n: r, lambda r, s, n: s + n),
)


def _der(k: Kit, alg: str) -> str:
    key = _ec_key(k, alg)
    token = k.token(key)
    private = key.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    hash_algorithm = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}[alg]
    der = private.sign(token.rsplit(".", 1)[0].encode(), ec.ECDSA(hash_algorithm))
    r, s = decode_dss_signature(der)
    assert encode_dss_signature(r, s) == der
    return with_signature(token, der)


def _edit_signature(token: str, edit: Callable[[bytes], bytes]) -> str:
    return with_signature(token, edit(b64.decode(token.rsplit(".", 1)[1])))


# -- RSA and EdDSA signature lengths and values -------------------------------------------------------

case(
    "rsa-signature-zero",
    "RS256: an all-zero signature of modulus length",
    InvalidSignatureError,
    "RFC 8017 §8.2.2",
    lambda k: with_signature(k.token(k.rs256), bytes(256)),
)
case(
    "rsa-signature-one",
    "RS256: the integer 1 as signature",
    InvalidSignatureError,
    "RFC 8017 §5.2.2",
    lambda k: with_signature(k.token(k.rs256), (1).to_bytes(256, "big")),
)
case(
    "rsa-signature-modulus",
    "RS256: the modulus itself as signature (not below n)",
    InvalidSignatureError,
    "RFC 8017 §5.2.2",
    lambda k: with_signature(k.token(k.rs256), b64.decode(k.rs256.public_jwk()["n"])),
)
case(
    "rsa-signature-zero-prefixed",
    "RS256: a genuine signature with a leading zero byte (257 bytes)",
    InvalidSignatureError,
    "RFC 7518 §3.3 (signature as long as the modulus)",
    lambda k: _edit_signature(k.token(k.rs256), lambda sig: b"\x00" + sig),
)
case(
    "rsa-signature-truncated",
    "PS256: a genuine signature without its last byte",
    InvalidSignatureError,
    "RFC 7518 §3.5",
    lambda k: _edit_signature(k.token(k.ps256), lambda sig: sig[:-1]),
)
case(
    "eddsa-signature-zero",
    "EdDSA: 64 zero bytes",
    InvalidSignatureError,
    "RFC 8032 §5.1.7",
    lambda k: with_signature(k.token(), bytes(64)),
)
case(
    "eddsa-signature-truncated",
    "EdDSA: a genuine signature without its last byte",
    InvalidSignatureError,
    "RFC 8032 §5.1.7",
    lambda k: _edit_signature(k.token(), lambda sig: sig[:-1]),
)
case(
    "eddsa-signature-s-plus-l",
    "EdDSA: the genuine (R, S + L) (non-canonical S, the Ed25519 malleability)",
    InvalidSignatureError,
    "RFC 8032 §5.1.7 (S < L)",
    lambda k: _edit_signature(
        k.token(),
        lambda sig: (
            sig[:32]
            + (int.from_bytes(sig[32:], "little") + 2**252 + 27742317777372353535851937790883648493).to_bytes(
                32, "little"
            )
        ),
    ),
)
case(
    "ed448-signature-of-other-message",
    "Ed448: a genuine signature moved onto other claims",
    InvalidSignatureError,
    "RFC 8032 §5.2.7",
    lambda k: with_signature(
        k.token(k.ed448, payload=k.payload(sub="admin")), b64.decode(k.token(k.ed448).rsplit(".", 1)[1])
    ),
)
