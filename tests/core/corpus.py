"""A corpus of bad tokens, one per rule, each with the exact error it must raise.

Every token carries ``MARKER`` wherever the defect allows (claims, kid, issuer, audience), so the
same corpus proves that errors never echo token content. ``corpus_verifier`` is the verifier all
cases are judged by.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from jwt_middleware import (
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSignatureError,
    JWTMiddlewareError,
    JWTVerifier,
    MalformedTokenError,
    NotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    b64,
)
from jwt_middleware.testing import SigningKey
from tests.core.support import (
    MARKER,
    NOW,
    OMIT,
    Keyring,
    claims,
    dumps,
    header_for,
    signature_of,
    signed_raw,
    token,
    verifier,
    with_signature,
)

Builder = Callable[[Keyring], Any]


def corpus_verifier(keyring: Keyring, **options: Any) -> JWTVerifier:
    return verifier(keyring.jwks("RS256", "ES256", "EdDSA"), required_claims=["sub"], **options)


def _marked(**changes: Any) -> dict[str, Any]:
    return claims(**{"sub": MARKER, "note": MARKER, **changes})


def _ed(keyring: Keyring, **changes: Any) -> str:
    return token(keyring["EdDSA"], _marked(**changes))


def _raw(keyring: Keyring, header: Any = None, payload: Any = None) -> str:
    key = keyring["EdDSA"]
    return signed_raw(
        key, header_for(key) if header is None else header, _marked() if payload is None else payload
    )


def _payload_with(extra: str, **changes: Any) -> bytes:
    return dumps(_marked(**changes))[:-1] + b"," + extra.encode() + b"}"


def _tampered_payload(keyring: Keyring) -> str:
    header, _, signature = _ed(keyring).split(".")
    return f"{header}.{b64.encode(dumps(_marked(sub='admin-' + MARKER)))}.{signature}"


def _tampered_header(keyring: Keyring) -> str:
    _, payload, signature = _ed(keyring).split(".")
    header = b64.encode(dumps(header_for(keyring["EdDSA"], typ=MARKER)))
    return f"{header}.{payload}.{signature}"


def _non_canonical(keyring: Keyring) -> str:
    good = token(keyring["RS256"], _marked())
    last = good[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return good[:-1] + alphabet[alphabet.index(last) + 1]


def _der_signature(keyring: Keyring) -> str:
    key = keyring["ES256"]
    good = token(key, _marked())
    private_key = key.private_key
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    der = private_key.sign(good.rsplit(".", 1)[0].encode(), ec.ECDSA(hashes.SHA256()))
    return with_signature(good, der)


def _json_serialization(keyring: Keyring) -> str:
    header, payload, signature = _ed(keyring).split(".")
    return json.dumps({"payload": payload, "protected": header, "signature": signature})


def _pss_for_pkcs1_key(keyring: Keyring) -> str:
    return token(SigningKey(keyring["RS256"].private_key, alg="PS256", kid=keyring["RS256"].kid), _marked())


def _rsa_under_ec_kid(keyring: Keyring) -> str:
    return token(SigningKey(keyring["RS256"].private_key, alg="RS256", kid=keyring["ES256"].kid), _marked())


CASES: Final[dict[str, tuple[Builder, type[JWTMiddlewareError]]]] = {
    "alg-none-signed": (lambda k: _raw(k, header_for(k["EdDSA"], alg="none")), UnsupportedAlgorithmError),
    "alg-none-unsigned": (
        lambda k: _raw(k, header_for(k["EdDSA"], alg="none")).rsplit(".", 1)[0] + ".",
        MalformedTokenError,
    ),
    "alg-hs256": (lambda k: _raw(k, header_for(k["EdDSA"], alg="HS256")), UnsupportedAlgorithmError),
    "alg-lower-case": (lambda k: _raw(k, header_for(k["EdDSA"], alg="eddsa")), UnsupportedAlgorithmError),
    "alg-missing": (lambda k: _raw(k, header_for(k["EdDSA"], alg=OMIT)), MalformedTokenError),
    "alg-marker": (lambda k: _raw(k, header_for(k["EdDSA"], alg=MARKER)), UnsupportedAlgorithmError),
    "stripped-signature": (lambda k: _ed(k).rsplit(".", 1)[0] + ".", MalformedTokenError),
    "tampered-payload": (_tampered_payload, InvalidSignatureError),
    "tampered-header": (_tampered_header, InvalidSignatureError),
    "padding": (lambda k: _ed(k) + "==", MalformedTokenError),
    "non-canonical": (_non_canonical, MalformedTokenError),
    "whitespace": (lambda k: " " + _ed(k), MalformedTokenError),
    "plus-slash": (lambda k: "/" + _ed(k)[1:], MalformedTokenError),
    "two-segments": (lambda k: _ed(k).rsplit(".", 1)[0], MalformedTokenError),
    "four-segments": (lambda k: _ed(k) + "." + _ed(k).split(".")[2], MalformedTokenError),
    "jwe": (lambda k: ".".join([*_ed(k).split("."), "AAAA", "AAAA"]), MalformedTokenError),
    "json-serialization": (_json_serialization, MalformedTokenError),
    "oversize": (lambda k: _ed(k, pad=MARKER * 2000), MalformedTokenError),
    "duplicate-claim": (lambda k: _raw(k, payload=_payload_with(f'"sub":"{MARKER}2"')), MalformedTokenError),
    "duplicate-header": (
        lambda k: _raw(k, header=dumps(header_for(k["EdDSA"]))[:-1] + b',"alg":"EdDSA"}'),
        MalformedTokenError,
    ),
    "nan": (lambda k: _raw(k, payload=_payload_with('"x":NaN')), MalformedTokenError),
    "bom": (lambda k: _raw(k, payload="\ufeff".encode() + dumps(_marked())), MalformedTokenError),
    "lone-surrogate": (lambda k: _raw(k, payload=_payload_with('"x":"\\ud800"')), MalformedTokenError),
    "invalid-utf8": (lambda k: _raw(k, payload=_payload_with('"x":"')[:-1] + b'\xff"}'), MalformedTokenError),
    "array-payload": (lambda k: _raw(k, payload=dumps([_marked()])), MalformedTokenError),
    "deep-nesting": (
        lambda k: _raw(k, payload=_payload_with('"x":' + "[" * 5000 + "]" * 5000)),
        MalformedTokenError,
    ),
    "huge-integer": (lambda k: _raw(k, payload=_payload_with('"x":' + "7" * 4400)), MalformedTokenError),
    "crit": (lambda k: _raw(k, header_for(k["EdDSA"], crit=[MARKER])), MalformedTokenError),
    "b64-false": (lambda k: _raw(k, header_for(k["EdDSA"], b64=False)), MalformedTokenError),
    "zip": (lambda k: _raw(k, header_for(k["EdDSA"], zip="DEF")), MalformedTokenError),
    "kid-unknown-marker": (lambda k: _raw(k, header_for(k["EdDSA"], kid=MARKER)), UnknownKeyError),
    "kid-integer": (lambda k: _raw(k, header_for(k["EdDSA"], kid=7)), MalformedTokenError),
    "kid-null": (lambda k: _raw(k, header_for(k["EdDSA"], kid=None)), MalformedTokenError),
    "kid-missing-several-keys": (lambda k: _raw(k, header_for(k["EdDSA"], kid=OMIT)), UnknownKeyError),
    "embedded-jwk": (
        lambda k: token(
            k["attacker-ES256"], _marked(), kid=k["ES256"].kid, jwk=k["attacker-ES256"].public_jwk()
        ),
        InvalidSignatureError,
    ),
    "es256-zero-signature": (
        lambda k: with_signature(token(k["ES256"], _marked()), bytes(64)),
        InvalidSignatureError,
    ),
    "es256-der-signature": (_der_signature, InvalidSignatureError),
    "signature-too-short": (
        lambda k: with_signature(_ed(k), signature_of(_ed(k))[:-1]),
        InvalidSignatureError,
    ),
    "pss-for-pkcs1-key": (_pss_for_pkcs1_key, UnsupportedAlgorithmError),
    "rsa-under-ec-kid": (_rsa_under_ec_kid, UnsupportedAlgorithmError),
    "expired": (lambda k: _ed(k, exp=int(NOW) - 1), ExpiredTokenError),
    "not-yet-valid": (lambda k: _ed(k, nbf=int(NOW) + 60), NotYetValidError),
    "iat-in-future": (lambda k: _ed(k, iat=int(NOW) + 60), NotYetValidError),
    "exp-string": (lambda k: _ed(k, exp=MARKER), InvalidClaimError),
    "exp-missing": (lambda k: _ed(k, exp=OMIT), InvalidClaimError),
    "exp-huge": (
        lambda k: _raw(k, payload=_payload_with('"exp":' + "9" * 4000, exp=OMIT)),
        InvalidClaimError,
    ),
    "issuer-marker": (lambda k: _ed(k, iss=MARKER), InvalidIssuerError),
    "issuer-missing": (lambda k: _ed(k, iss=OMIT), InvalidIssuerError),
    "audience-marker": (lambda k: _ed(k, aud=MARKER), InvalidAudienceError),
    "audience-malformed": (lambda k: _ed(k, aud=[MARKER, 1]), InvalidAudienceError),
    "required-claim-missing": (lambda k: _ed(k, sub=OMIT), InvalidClaimError),
    "non-ascii-bytes": (lambda k: _ed(k).encode()[:-2] + "\u00e9".encode(), MalformedTokenError),
    "not-a-token": (lambda k: None, MalformedTokenError),
    "empty": (lambda k: "", MalformedTokenError),
}
