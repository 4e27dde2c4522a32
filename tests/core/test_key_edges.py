"""Edges of JWK import and key lookup that the mutation run (tests/MUTATION.md) found unguarded.

Coordinates exactly at the field prime, an exponent equal to the modulus, members of the wrong
type, the configured RSA minimum, and above all the reuse of unchanged keys across refreshes:
a key is reused only when every member that decides how it verifies is the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import JWKError, JWTMiddlewareError, KeySet, b64, import_key, reasons
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import ABSENT, CheckReport
from jwt_middleware.jwks_state import CacheSettings, decode_jwks
from jwt_middleware.testing import SigningKey
from tests.core.support import Keyring

P256 = 2**256 - 2**224 + 2**192 + 2**96 - 1
ED25519_P = 2**255 - 19


def _int(value: int, size: int) -> str:
    return b64.encode(value.to_bytes(size, "big"))


def test_members_must_be_strings(keyring: Keyring) -> None:
    jwk = keyring["RS256"].public_jwk()
    with pytest.raises(JWKError, match="member 'n'"):
        import_key({**jwk, "n": 12345})


def test_an_exponent_equal_to_the_modulus_is_refused(keyring: Keyring) -> None:
    jwk = keyring["RS256"].public_jwk()
    with pytest.raises(JWKError, match="exponent"):
        import_key({**jwk, "e": jwk["n"]})


def test_an_ec_coordinate_equal_to_the_field_prime_is_unreduced(keyring: Keyring) -> None:
    jwk = keyring["ES256"].public_jwk()
    for member in ("x", "y"):
        with pytest.raises(JWKError, match="reduced modulo the field prime"):
            import_key({**jwk, member: _int(P256, 32)})


def test_an_ed25519_y_equal_to_the_field_prime_is_non_canonical() -> None:
    jwk = SigningKey.generate("Ed25519").public_jwk()
    with pytest.raises(JWKError, match="non-canonical"):
        import_key({**jwk, "x": b64.encode(ED25519_P.to_bytes(32, "little"))})


def test_the_configured_rsa_minimum_applies_to_fetched_key_sets(keyring: Keyring) -> None:
    jwks = keyring.jwks("RS256")
    assert len(decode_jwks(jwks, None, CacheSettings())) == 1
    stricter = decode_jwks(jwks, None, CacheSettings(min_rsa_bits=3072))
    assert len(stricter) == 0
    assert stricter.skipped == ("key 0: RSA modulus of 2048 bits is below the 3072-bit minimum",)


def _refreshed(old: dict[str, Any], new: dict[str, Any]) -> tuple[KeySet, KeySet]:
    previous = KeySet.from_jwks({"keys": [old]})
    return previous, KeySet.from_jwks({"keys": [new]}, previous=previous)


def test_an_unchanged_key_is_reused_across_a_refresh(keyring: Keyring) -> None:
    old = keyring["RS256"].public_jwk()
    previous, refreshed = _refreshed(old, dict(old))
    assert refreshed.keys[0] is previous.keys[0]


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("a new kid", lambda old, other: {**old, "kid": "renamed"}),
        ("a narrower alg", lambda old, other: {**old, "alg": "PS256"}),
        ("new key material, same kid", lambda old, other: {**other, "kid": old["kid"]}),
        ("a new exponent", lambda old, other: {**old, "e": b64.encode((65539).to_bytes(3, "big"))}),
    ],
)
def test_a_refreshed_rsa_key_is_new_when_anything_that_verifies_changed(
    keyring: Keyring, name: str, change: Any
) -> None:
    old = keyring["RS256"].public_jwk(include_alg=False)
    new = change(old, keyring["attacker-RS256"].public_jwk(include_alg=False))
    previous, refreshed = _refreshed(old, new)
    key = refreshed.keys[0]
    assert key is not previous.keys[0], name
    expected = import_key(new)
    assert (key.kid, key.algorithms) == (expected.kid, expected.algorithms)
    assert key.public_key.public_numbers() == expected.public_key.public_numbers()


@pytest.mark.parametrize("member", ["x", "y"])
def test_a_refreshed_ec_key_is_new_when_its_point_changed(keyring: Keyring, member: str) -> None:
    old = keyring["ES256"].public_jwk()
    other = keyring["attacker-ES256"].public_jwk()
    new = {**other, "kid": old["kid"]} if member == "x" else {**old, "x": other["x"], "y": other["y"]}
    previous, refreshed = _refreshed(old, new)
    assert refreshed.keys[0] is not previous.keys[0]
    assert refreshed.keys[0].public_key.public_numbers() == import_key(new).public_key.public_numbers()


def test_a_refreshed_ec_key_is_new_when_only_y_changed(keyring: Keyring) -> None:
    old = keyring["ES256"].public_jwk()
    y = int.from_bytes(b64.decode(old["y"]), "big")
    mirrored = {**old, "y": _int(P256 - y, 32)}  # the point's negation: same x, another key
    previous, refreshed = _refreshed(old, mirrored)
    assert refreshed.keys[0] is not previous.keys[0]
    assert refreshed.keys[0].public_key.public_numbers().y == P256 - y


def test_a_refreshed_okp_key_is_new_when_its_x_changed() -> None:
    old = SigningKey.generate("Ed25519", kid="k").public_jwk()
    new = {**SigningKey.generate("Ed25519").public_jwk(), "kid": "k"}
    previous, refreshed = _refreshed(old, new)
    assert refreshed.keys[0] is not previous.keys[0]


def test_a_refreshed_ec_key_is_new_when_its_curve_changed(keyring: Keyring) -> None:
    old = keyring["ES256"].public_jwk(include_alg=False)
    new = {**keyring["ES384"].public_jwk(include_alg=False), "kid": old["kid"]}
    previous, refreshed = _refreshed(old, new)
    assert refreshed.keys[0] is not previous.keys[0]
    assert refreshed.keys[0].curve == "P-384"


@pytest.mark.parametrize(("member", "value"), [("use", "enc"), ("key_ops", ["encrypt"])])
def test_a_refreshed_key_whose_use_changed_is_refused_not_reused(
    keyring: Keyring, member: str, value: Any
) -> None:
    old = keyring["ES256"].public_jwk()
    _, refreshed = _refreshed(old, {**old, member: value})
    assert len(refreshed) == 0
    assert refreshed.skipped


def test_key_lookup_refusals_report_the_kid(keyring: Keyring) -> None:
    es256 = ALGORITHMS["ES256"]
    two = KeySet.from_jwks(keyring.jwks("ES256", "attacker-ES256"))
    with pytest.raises(JWTMiddlewareError) as refused:
        two.lookup(None, es256)
    refused.value.expose(None)
    assert refused.value.report == CheckReport(reasons.KID_MISSING, "kid", "header")
    assert refused.value.report.found is ABSENT
    twin = {**keyring["attacker-ES256"].public_jwk(), "kid": "es256-key"}
    twins = KeySet.from_jwks({"keys": [keyring["ES256"].public_jwk(), twin]})
    with pytest.raises(JWTMiddlewareError) as refused:
        twins.lookup("es256-key", es256)
    refused.value.expose(None)
    assert refused.value.report == CheckReport(reasons.KID_AMBIGUOUS, "kid", "header")
    assert refused.value.report.found == "es256-key"
    with pytest.raises(JWTMiddlewareError) as refused:
        KeySet.from_jwks(keyring.jwks("EdDSA")).lookup("eddsa-key", es256)
    refused.value.expose(None)
    assert refused.value.report.found == "ES256"
