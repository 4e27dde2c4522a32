"""Keys: strict JWK import, algorithm binding, and selection by ``kid`` that never guesses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from jwt_middleware import (
    InvalidSignatureError,
    JWKError,
    KeySet,
    MalformedTokenError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    b64,
    import_key,
    verify_compact,
)
from jwt_middleware.jwk import MAX_KID_LENGTH
from jwt_middleware.testing import SigningKey
from tests.core.support import OMIT, Keyring, claims, header_for, signed_raw, token, verifier

# -- kid in the token -----------------------------------------------------------------------------------


def test_kid_at_the_length_limit_verifies_and_one_longer_is_malformed(keyring: Keyring) -> None:
    rsa_key = keyring["RS256"].private_key
    longest = SigningKey(rsa_key, alg="RS256", kid="k" * MAX_KID_LENGTH)
    assert verifier({"keys": [longest.public_jwk()]}).verify_sync(token(longest)) == claims()
    too_long = SigningKey(rsa_key, alg="RS256", kid="k" * (MAX_KID_LENGTH + 1))
    with pytest.raises(MalformedTokenError):
        verifier({"keys": [longest.public_jwk()]}).verify_sync(token(too_long))


def test_megabyte_kid_is_malformed(keyring: Keyring) -> None:
    key = keyring["EdDSA"]
    huge = signed_raw(key, header_for(key, kid="k" * 1_000_000), claims())
    with pytest.raises(MalformedTokenError) as caught:
        verifier(keyring.jwks("EdDSA"), max_token_length=2_000_000).verify_sync(huge)
    assert "key id" in caught.value.description
    with pytest.raises(MalformedTokenError):
        verify_compact(huge, keyring.jwks("EdDSA"), max_length=2_000_000)


@pytest.mark.parametrize("kid", [7, 0, ["eddsa-key"], {"kid": "eddsa-key"}, True, None, ""])
def test_kid_that_is_not_a_non_empty_string_is_malformed(keyring: Keyring, kid: Any) -> None:
    """Including an explicit ``"kid": null``, which is not the same as leaving ``kid`` out."""
    key = keyring["EdDSA"]
    check = verifier(keyring.jwks("EdDSA"))
    assert check.verify_sync(signed_raw(key, header_for(key, kid=OMIT), claims())) == claims()
    with pytest.raises(MalformedTokenError):
        check.verify_sync(signed_raw(key, header_for(key, kid=kid), claims()))


def test_unknown_kid_is_an_unknown_key(keyring: Keyring) -> None:
    key = keyring["ES256"]
    with pytest.raises(UnknownKeyError):
        verifier(keyring.jwks("ES256")).verify_sync(token(key, kid="not-published"))
    with pytest.raises(UnknownKeyError):
        verify_compact(token(key, kid="not-published"), keyring.jwks("ES256"))


def test_token_without_kid_is_an_unknown_key_when_the_set_has_several(keyring: Keyring) -> None:
    key = keyring["ES256"]
    with pytest.raises(UnknownKeyError):
        verifier(keyring.jwks("ES256", "ES384")).verify_sync(token(key, kid=None))


def test_token_without_kid_verifies_when_the_set_has_exactly_one_key(keyring: Keyring) -> None:
    key = keyring["ES256"]
    assert verifier(keyring.jwks("ES256")).verify_sync(token(key, kid=None)) == claims()


def test_kid_is_matched_exactly(keyring: Keyring) -> None:
    key = keyring["ES256"]
    check = verifier(keyring.jwks("ES256", "ES384"))
    for variant in (key.kid.upper(), key.kid + " ", " " + key.kid, key.kid[:-1]):
        with pytest.raises(UnknownKeyError):
            check.verify_sync(token(key, kid=variant))


# -- import_key: what a JWK may be --------------------------------------------------------------------


def _jwk(keyring: Keyring, case: str, **changes: Any) -> dict[str, Any]:
    jwk = keyring[case].public_jwk()
    for name, value in changes.items():
        if value is OMIT:
            jwk.pop(name, None)
        else:
            jwk[name] = value
    return jwk


def test_rsa_key_below_2048_bits_is_rejected() -> None:
    weak = SigningKey.generate("RS256", rsa_bits=1024)
    with pytest.raises(JWKError):
        import_key(weak.public_jwk())
    key_set = KeySet.from_jwks({"keys": [weak.public_jwk()]})
    assert len(key_set) == 0
    assert key_set.skipped
    with pytest.raises(UnknownKeyError):
        verifier({"keys": [weak.public_jwk()]}).verify_sync(token(weak))


@pytest.mark.parametrize("exponent", [0, 1, 2, 4, 65536], ids=lambda e: f"e={e}")
def test_rsa_exponent_that_is_too_small_or_even_is_rejected(keyring: Keyring, exponent: int) -> None:
    assert import_key(_jwk(keyring, "RS256")).kty == "RSA"
    encoded = b64.encode(exponent.to_bytes(max(1, (exponent.bit_length() + 7) // 8), "big"))
    # The library's own rule, not only the cryptography backend's, must refuse it.
    with pytest.raises(JWKError, match="exponent"):
        import_key(_jwk(keyring, "RS256", e=encoded))


def test_ec_point_off_the_curve_is_rejected(keyring: Keyring) -> None:
    jwk = _jwk(keyring, "ES256")
    y = int.from_bytes(b64.decode(jwk["y"]), "big")
    with pytest.raises(JWKError):
        import_key({**jwk, "y": b64.encode((y ^ 1).to_bytes(32, "big"))})


@pytest.mark.parametrize("change", ["x-short", "x-long", "y-short", "y-long"])
def test_ec_coordinate_of_the_wrong_length_is_rejected(keyring: Keyring, change: str) -> None:
    jwk = _jwk(keyring, "ES256")
    member, how = change.split("-")
    raw = b64.decode(jwk[member])
    jwk[member] = b64.encode(raw[1:] if how == "short" else b"\x00" + raw)
    with pytest.raises(JWKError):
        import_key(jwk)


@pytest.mark.parametrize("crv", ["P-384", "P-521", "secp256k1", "p-256", None])
def test_ec_key_with_a_mismatched_or_unknown_curve_is_rejected(keyring: Keyring, crv: Any) -> None:
    with pytest.raises(JWKError):
        import_key(_jwk(keyring, "ES256", crv=crv))


@pytest.mark.parametrize("crv", ["X25519", "Ed448", "ed25519", None])
def test_okp_key_with_a_mismatched_or_non_signing_curve_is_rejected(keyring: Keyring, crv: Any) -> None:
    with pytest.raises(JWKError):
        import_key(_jwk(keyring, "Ed25519", crv=crv))


def test_symmetric_oct_key_is_rejected() -> None:
    with pytest.raises(JWKError):
        import_key({"kty": "oct", "k": b64.encode(b"secret" * 8), "alg": "HS256", "kid": "hmac"})
    key_set = KeySet.from_jwks({"keys": [{"kty": "oct", "k": b64.encode(b"secret" * 8)}]})
    assert len(key_set) == 0


@pytest.mark.parametrize(
    ("case", "member"),
    [
        ("RS256", "d"),
        ("RS256", "p"),
        ("RS256", "q"),
        ("RS256", "dp"),
        ("RS256", "dq"),
        ("RS256", "qi"),
        ("ES256", "d"),
        ("EdDSA", "d"),
    ],
)
def test_jwk_with_private_members_is_rejected(keyring: Keyring, case: str, member: str) -> None:
    with pytest.raises(JWKError):
        import_key(_jwk(keyring, case, **{member: b64.encode(b"\x01" * 32)}))


@pytest.mark.parametrize(
    "changes",
    [
        {"use": "enc"},
        {"use": "SIG"},
        {"use": ""},
        {"key_ops": ["encrypt"]},
        {"key_ops": ["sign"]},
        {"key_ops": []},
        {"key_ops": "verify"},
        {"key_ops": ["verify", 1]},
    ],
    ids=[
        "use-enc",
        "use-upper",
        "use-empty",
        "ops-encrypt",
        "ops-sign",
        "ops-empty",
        "ops-string",
        "ops-int",
    ],
)
def test_jwk_not_meant_for_verification_is_rejected(keyring: Keyring, changes: dict[str, Any]) -> None:
    assert import_key(_jwk(keyring, "RS256", key_ops=["verify"]))
    with pytest.raises(JWKError):
        import_key(_jwk(keyring, "RS256", **changes))


@pytest.mark.parametrize("kid", [7, ["k"], "k" * (MAX_KID_LENGTH + 1)])
def test_jwk_with_a_malformed_kid_is_rejected(keyring: Keyring, kid: Any) -> None:
    with pytest.raises(JWKError):
        import_key(_jwk(keyring, "RS256", kid=kid))


@pytest.mark.parametrize(
    ("case", "alg"),
    [("RS256", "ES256"), ("RS256", "HS256"), ("ES256", "ES384"), ("EdDSA", "Ed448"), ("RS256", 1)],
)
def test_jwk_alg_that_does_not_fit_the_key_is_rejected(keyring: Keyring, case: str, alg: Any) -> None:
    with pytest.raises(JWKError):
        import_key(_jwk(keyring, case, alg=alg))


@pytest.mark.parametrize("value", [None, [], "jwk", 1])
def test_jwk_that_is_not_an_object_is_rejected(value: Any) -> None:
    with pytest.raises(JWKError):
        import_key(value)


# -- algorithm binding at verification time ------------------------------------------------------------


def test_jwk_alg_binds_the_key_to_that_algorithm(keyring: Keyring) -> None:
    key = keyring["RS256"]
    bound_to_rs512 = {"keys": [_jwk(keyring, "RS256", alg="RS512")]}
    with pytest.raises(UnsupportedAlgorithmError):
        verifier(bound_to_rs512).verify_sync(token(key))
    with pytest.raises(UnsupportedAlgorithmError):
        verify_compact(token(key), bound_to_rs512)
    assert verifier({"keys": [_jwk(keyring, "RS256")]}).verify_sync(token(key)) == claims()


def test_pss_token_against_a_pkcs1_bound_key_is_rejected(keyring: Keyring) -> None:
    pss = SigningKey(keyring["RS256"].private_key, alg="PS256", kid=keyring["RS256"].kid)
    with pytest.raises(UnsupportedAlgorithmError):
        verifier(keyring.jwks("RS256")).verify_sync(token(pss))
    assert verifier(keyring.jwks("RS256", include_alg=False)).verify_sync(token(pss)) == claims()


def test_rsa_token_against_an_ec_key_with_the_same_kid_is_rejected(keyring: Keyring) -> None:
    ec_jwk = _jwk(keyring, "ES256", kid="shared")
    rsa_key = SigningKey(keyring["RS256"].private_key, alg="RS256", kid="shared")
    with pytest.raises(UnsupportedAlgorithmError):
        verifier({"keys": [ec_jwk]}).verify_sync(token(rsa_key))


def test_p384_key_cannot_verify_an_es256_token(keyring: Keyring) -> None:
    es256 = SigningKey(keyring["ES256"].private_key, alg="ES256", kid=keyring["ES384"].kid)
    for include_alg in (True, False):
        with pytest.raises(UnsupportedAlgorithmError):
            verifier(keyring.jwks("ES384", include_alg=include_alg)).verify_sync(token(es256))


def test_ed448_key_cannot_verify_a_token_whose_alg_is_ed25519(keyring: Keyring) -> None:
    ed448_key = keyring["Ed448"]
    header = header_for(ed448_key, alg="Ed25519")
    for include_alg in (True, False):
        with pytest.raises(UnsupportedAlgorithmError):
            verifier(keyring.jwks("Ed448", include_alg=include_alg)).verify_sync(
                signed_raw(ed448_key, header, claims())
            )


def test_eddsa_key_bound_to_eddsa_refuses_the_fully_specified_name(keyring: Keyring) -> None:
    key = keyring["EdDSA"]
    with pytest.raises(UnsupportedAlgorithmError):
        verifier(keyring.jwks("EdDSA")).verify_sync(signed_raw(key, header_for(key, alg="Ed25519"), claims()))
    assert verifier(keyring.jwks("EdDSA", include_alg=False)).verify_sync(
        signed_raw(key, header_for(key, alg="Ed25519"), claims())
    )


# -- KeySet -----------------------------------------------------------------------------------------------


def test_duplicate_kid_of_the_same_type_makes_that_kid_unusable(keyring: Keyring) -> None:
    es256 = keyring["ES256"]
    impostor = SigningKey(ec.generate_private_key(ec.SECP256R1()), alg="ES256", kid=es256.kid)
    jwks = {"keys": [es256.public_jwk(), impostor.public_jwk(), keyring["EdDSA"].public_jwk()]}
    check = verifier(jwks)
    for signer in (es256, impostor):
        with pytest.raises(UnknownKeyError):
            check.verify_sync(token(signer))
    assert check.verify_sync(token(keyring["EdDSA"])) == claims()


def test_identical_duplicate_keys_are_also_ambiguous(keyring: Keyring) -> None:
    jwks = {"keys": [keyring["ES256"].public_jwk(), keyring["ES256"].public_jwk()]}
    with pytest.raises(UnknownKeyError):
        verifier(jwks).verify_sync(token(keyring["ES256"]))


def test_same_kid_on_keys_of_different_types_selects_by_the_tokens_algorithm(keyring: Keyring) -> None:
    rsa_key = SigningKey(keyring["RS256"].private_key, alg="RS256", kid="shared")
    ec_key = SigningKey(keyring["ES256"].private_key, alg="ES256", kid="shared")
    check = verifier({"keys": [rsa_key.public_jwk(), ec_key.public_jwk()]})
    assert check.verify_sync(token(rsa_key)) == claims()
    assert check.verify_sync(token(ec_key)) == claims()


def test_malformed_key_is_skipped_with_a_reason_and_the_others_work(keyring: Keyring) -> None:
    jwks = {
        "keys": [
            keyring["RS256"].public_jwk(),
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            "not an object",
            {"kty": "EC", "crv": "P-256", "x": ["unhashable"], "y": "AA"},
            keyring["ES256"].public_jwk(),
        ]
    }
    key_set = KeySet.from_jwks(jwks)
    assert [key.kid for key in key_set] == [keyring["RS256"].kid, keyring["ES256"].kid]
    assert len(key_set.skipped) == 3
    assert [reason.split(":")[0] for reason in key_set.skipped] == ["key 1", "key 2", "key 3"]
    assert all(reason.split(":", 1)[1].strip() for reason in key_set.skipped)
    check = verifier(jwks)
    assert check.verify_sync(token(keyring["RS256"])) == claims()
    assert check.verify_sync(token(keyring["ES256"])) == claims()
    with pytest.raises(UnknownKeyError):
        check.verify_sync(token(keyring["ES256"], kid="broken"))


def test_jwks_with_more_keys_than_the_limit_is_rejected(keyring: Keyring) -> None:
    jwks = keyring.jwks("RS256", "ES256", "EdDSA")
    assert len(KeySet.from_jwks(jwks, max_keys=3)) == 3
    with pytest.raises(JWKError):
        KeySet.from_jwks(jwks, max_keys=2)
    oversized = {"keys": [keyring["EdDSA"].public_jwk()] * 101}
    with pytest.raises(JWKError):
        KeySet.from_jwks(oversized)


def test_jwks_text_with_duplicate_members_is_rejected(keyring: Keyring) -> None:
    text = json.dumps(keyring.jwks("ES256"))
    assert len(KeySet.from_jwks(text)) == 1
    assert len(KeySet.from_jwks(text.encode())) == 1
    duplicate_top = text[:-1] + ', "keys": []}'
    duplicate_member = text.replace('"kty": "EC"', '"kty": "EC", "kty": "RSA"')
    for document in (duplicate_top, duplicate_member, duplicate_member.encode()):
        with pytest.raises(JWKError):
            KeySet.from_jwks(document)


@pytest.mark.parametrize(
    "document", ["[]", "{}", '{"keys": {}}', '{"keys": "x"}', "not json", '{"keys": [NaN]}', "\ufeff{}"]
)
def test_jwks_that_is_not_a_key_array_is_rejected(document: str) -> None:
    with pytest.raises(JWKError):
        KeySet.from_jwks(document)


def test_verify_compact_with_no_usable_key_is_an_unknown_key(keyring: Keyring) -> None:
    with pytest.raises(UnknownKeyError):
        verify_compact(token(keyring["RS256"]), {"kty": "oct", "k": "c2VjcmV0"})
    with pytest.raises(UnknownKeyError):
        verify_compact(token(keyring["RS256"]), {"keys": []})


def test_verify_compact_accepts_a_single_jwk_a_key_and_a_key_set(keyring: Keyring) -> None:
    key = keyring["PS384"]
    good = token(key)
    imported = import_key(key.public_jwk())
    for keys in (key.public_jwk(), imported, KeySet([imported]), keyring.jwks("PS384")):
        assert verify_compact(good, keys)[0]["kid"] == key.kid
    attacker = SigningKey(keyring["attacker-RS256"].private_key, alg="PS384")
    with pytest.raises(InvalidSignatureError):
        verify_compact(token(attacker, kid=None), key.public_jwk())
