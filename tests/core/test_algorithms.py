"""Algorithms: every supported one verifies; ``none``, HMAC and anything off the allow-list never do."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jwt_middleware import (
    ConfigurationError,
    JWTVerifier,
    MalformedTokenError,
    UnsupportedAlgorithmError,
    b64,
    verify_compact,
)
from jwt_middleware.algorithms import ALGORITHMS
from tests.core.support import (
    AUDIENCE,
    ISSUER,
    OMIT,
    SIGNING_CASES,
    Keyring,
    claims,
    dumps,
    header_for,
    signed_raw,
    token,
    verifier,
)

# -- every supported algorithm verifies, on every path ---------------------------------------------


@pytest.mark.parametrize("case", SIGNING_CASES)
def test_every_supported_algorithm_verifies_with_verify_sync(keyring: Keyring, case: str) -> None:
    result = verifier(keyring.jwks(case)).verify_sync(token(keyring[case]))
    assert result == claims()
    assert result.header["alg"] == keyring[case].alg


@pytest.mark.anyio
@pytest.mark.parametrize("case", SIGNING_CASES)
async def test_every_supported_algorithm_verifies_with_async_verify(keyring: Keyring, case: str) -> None:
    result = await verifier(keyring.jwks(case)).verify(token(keyring[case]))
    assert result == claims()


@pytest.mark.parametrize("case", SIGNING_CASES)
def test_every_supported_algorithm_verifies_with_verify_compact(keyring: Keyring, case: str) -> None:
    key = keyring[case]
    header, payload = verify_compact(token(key), keyring.jwks(case))
    assert header["alg"] == key.alg
    assert json.loads(payload) == claims()


@pytest.mark.parametrize("case", SIGNING_CASES)
def test_keys_without_jwk_alg_verify_the_algorithms_of_their_type(keyring: Keyring, case: str) -> None:
    jwks = keyring.jwks(case, include_alg=False)
    assert verifier(jwks).verify_sync(token(keyring[case])) == claims()


def test_signing_cases_cover_every_algorithm_the_library_supports() -> None:
    assert {case.split("-")[0] for case in SIGNING_CASES} == set(ALGORITHMS)


# -- "none" ----------------------------------------------------------------------------------------

NONE_SPELLINGS = ["none", "None", "NONE", "nOnE"]


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
def test_alg_none_is_rejected_even_with_a_valid_signature(keyring: Keyring, alg: str) -> None:
    key = keyring["RS256"]
    check = verifier(keyring.jwks("RS256"))
    assert check.verify_sync(signed_raw(key, header_for(key), claims())) == claims()
    forged = signed_raw(key, header_for(key, alg=alg), claims())
    with pytest.raises(UnsupportedAlgorithmError):
        check.verify_sync(forged)
    with pytest.raises(UnsupportedAlgorithmError):
        verify_compact(forged, keyring.jwks("RS256"))


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
def test_alg_none_without_a_signature_is_rejected(keyring: Keyring, alg: str) -> None:
    key = keyring["RS256"]
    unsigned = f"{b64.encode(dumps(header_for(key, alg=alg)))}.{b64.encode(dumps(claims()))}."
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(unsigned)
    with pytest.raises(MalformedTokenError):
        verify_compact(unsigned, keyring.jwks("RS256"))


# -- malformed and unknown alg values -------------------------------------------------------------


@pytest.mark.parametrize("alg", [OMIT, None, 256, ["RS256"], {"RS256": True}, True])
def test_alg_that_is_missing_or_not_a_string_is_malformed(keyring: Keyring, alg: Any) -> None:
    key = keyring["RS256"]
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("RS256")).verify_sync(signed_raw(key, header_for(key, alg=alg), claims()))


@pytest.mark.parametrize(
    "alg", ["rs256", "Rs256", "RS256 ", " RS256", "RS 256", "RS256\u0000", "\uff32\uff33256"]
)
def test_alg_must_match_exactly_case_and_spelling(keyring: Keyring, alg: str) -> None:
    key = keyring["RS256"]
    with pytest.raises(UnsupportedAlgorithmError):
        verifier(keyring.jwks("RS256")).verify_sync(signed_raw(key, header_for(key, alg=alg), claims()))


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "ES256K", "RSA-OAEP", "dir", "EdDSA25519"])
def test_alg_without_an_asymmetric_implementation_is_unsupported(keyring: Keyring, alg: str) -> None:
    key = keyring["RS256"]
    with pytest.raises(UnsupportedAlgorithmError):
        verifier(keyring.jwks("RS256")).verify_sync(signed_raw(key, header_for(key, alg=alg), claims()))


def test_alg_outside_the_verifiers_allow_list_is_rejected(keyring: Keyring) -> None:
    jwks = keyring.jwks("RS256", "ES256")
    ec_only = verifier(jwks, algorithms=["ES256"])
    assert ec_only.verify_sync(token(keyring["ES256"])) == claims()
    assert verifier(jwks).verify_sync(token(keyring["RS256"])) == claims()
    with pytest.raises(UnsupportedAlgorithmError):
        ec_only.verify_sync(token(keyring["RS256"]))


def test_alg_outside_verify_compacts_allow_list_is_rejected(keyring: Keyring) -> None:
    jwks = keyring.jwks("RS256")
    verify_compact(token(keyring["RS256"]), jwks, algorithms=["RS256"])
    with pytest.raises(UnsupportedAlgorithmError):
        verify_compact(token(keyring["RS256"]), jwks, algorithms=["PS256", "ES256"])


@pytest.mark.parametrize(
    "algorithms",
    [["HS256"], ["none"], ["RS256", "HS256"], ["rs256"], [], "RS256", [None], ["RS256", 256]],
    ids=["hs256", "none", "mixed", "lower", "empty", "bare-string", "null", "non-string"],
)
def test_configuring_a_non_asymmetric_or_malformed_allow_list_is_a_configuration_error(
    keyring: Keyring, algorithms: Any
) -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=keyring.jwks("RS256"), algorithms=algorithms)
    with pytest.raises(ConfigurationError):
        verify_compact(token(keyring["RS256"]), keyring.jwks("RS256"), algorithms=algorithms)


# -- algorithm confusion: HMAC keyed with the RSA public key ----------------------------------------


def _public_key_encodings(public_key: rsa.RSAPublicKey, jwk: dict[str, Any]) -> dict[str, bytes]:
    pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
    spki, pkcs1 = serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1
    return {
        "pem-spki": public_key.public_bytes(pem, spki),
        "pem-pkcs1": public_key.public_bytes(pem, pkcs1),
        "der-spki": public_key.public_bytes(der, spki),
        "der-pkcs1": public_key.public_bytes(der, pkcs1),
        "jwk-json": json.dumps(jwk).encode(),
        "jwk-json-compact": dumps(jwk),
    }


@pytest.mark.parametrize("include_alg", [True, False], ids=["jwk-with-alg", "jwk-without-alg"])
@pytest.mark.parametrize(
    "encoding", ["pem-spki", "pem-pkcs1", "der-spki", "der-pkcs1", "jwk-json", "jwk-json-compact"]
)
def test_hs256_signed_with_the_rsa_public_key_is_rejected(
    keyring: Keyring, encoding: str, include_alg: bool
) -> None:
    key = keyring["RS256"]
    private_key = key.private_key
    assert isinstance(private_key, rsa.RSAPrivateKey)
    jwks = keyring.jwks("RS256", include_alg=include_alg)
    secret = _public_key_encodings(private_key.public_key(), jwks["keys"][0])[encoding]
    header = b64.encode(dumps(header_for(key, alg="HS256")))
    payload = b64.encode(dumps(claims()))
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64.encode(mac)}"
    with pytest.raises(UnsupportedAlgorithmError):
        verifier(jwks).verify_sync(forged)
    with pytest.raises(UnsupportedAlgorithmError):
        verify_compact(forged, jwks)
    # Positive control: the same claims under the real algorithm verify with the same key set.
    assert verifier(jwks).verify_sync(token(key)) == claims()


# -- checks that must not depend on the cryptography backend --------------------------------------------

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _permissive_key(base: type[Any], key_size: int) -> Any:
    """A public key whose backend accepts every signature: what a broken backend would do."""
    calls: list[bytes] = []

    def verify(self: object, signature: bytes, *args: object) -> None:
        calls.append(signature)

    namespace: dict[str, Any] = {name: lambda self, *args: None for name in base.__abstractmethods__}
    namespace.update(verify=verify, key_size=key_size, calls=calls)
    return type(f"Permissive{base.__name__}", (base,), namespace)()


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 0), (0, 1), (1, 0), (_P256_ORDER, 1), (1, _P256_ORDER), (2**256 - 1, 2**256 - 1)],
)
def test_ecdsa_scalars_are_range_checked_before_the_backend(r: int, s: int) -> None:
    """CVE-2022-21449: r = s = 0 passed a broken backend; the library must refuse it first."""
    key = _permissive_key(ec.EllipticCurvePublicKey, 256)
    es256 = ALGORITHMS["ES256"]
    assert es256.verify(key, b"data", (1).to_bytes(32, "big") * 2) is True  # the stub accepts
    assert es256.verify(key, b"data", r.to_bytes(32, "big") + s.to_bytes(32, "big")) is False
    assert len(key.calls) == 1


@pytest.mark.parametrize("length", [0, 255, 257, 512])
def test_rsa_signature_length_is_checked_before_the_backend(length: int) -> None:
    key = _permissive_key(rsa.RSAPublicKey, 2048)
    for name in ("RS256", "PS512"):
        assert ALGORITHMS[name].verify(key, b"data", bytes(256)) is True  # the stub accepts
        assert ALGORITHMS[name].verify(key, b"data", bytes(length)) is False
