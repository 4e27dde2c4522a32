"""The library's own JWS signing: every algorithm verifies with our verifier; keys bound to algorithms."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from jwt_middleware import JWTVerifier
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.signing import algorithm_for, check_signing_key, encode_compact, load_private_key
from jwt_middleware.testing import SigningKey


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_every_algorithm_signs_what_the_verifier_accepts(alg: str) -> None:
    key = SigningKey.generate(alg, kid="k")
    token = encode_compact({"iss": "me", "sub": "me"}, key.private_key, header={"alg": alg, "kid": "k"})
    verifier = JWTVerifier(issuer="me", audience=None, jwks={"keys": [key.public_jwk()]}, require_exp=False)
    assert verifier.verify_sync(token)["sub"] == "me"


def test_default_algorithms() -> None:
    assert algorithm_for(rsa.generate_private_key(public_exponent=65537, key_size=2048)) == "RS256"
    assert algorithm_for(ec.generate_private_key(ec.SECP384R1())) == "ES384"
    assert algorithm_for(ed25519.Ed25519PrivateKey.generate()) == "EdDSA"


def test_keys_are_bound_to_their_algorithms() -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ConfigurationError, match="cannot sign ES384"):
        check_signing_key(p256, "ES384")
    with pytest.raises(ConfigurationError, match="cannot sign RS256"):
        check_signing_key(p256, "RS256")
    with pytest.raises(ConfigurationError, match="unsupported"):
        check_signing_key(p256, "HS256")
    with pytest.raises(ConfigurationError, match="P-256, P-384 or P-521"):
        algorithm_for(ec.generate_private_key(ec.SECP256K1()))  # type: ignore[arg-type]
    weak = SigningKey.generate("RS256", rsa_bits=1024).private_key
    with pytest.raises(ConfigurationError, match="2048"):
        check_signing_key(weak, "RS256")
    with pytest.raises(ConfigurationError, match="alg"):
        encode_compact({}, p256, header={"typ": "JWT"})


def test_pem_keys_load_and_bad_ones_say_nothing_of_their_content() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert algorithm_for(load_private_key(pem)) == "ES256"
    broken = pem.replace("A", "B", 3)
    with pytest.raises(ConfigurationError) as raised:
        load_private_key(broken)
    assert "BEGIN" not in str(raised.value)
    assert broken[40:80] not in str(raised.value)
    with pytest.raises(ConfigurationError):
        load_private_key(key.public_key())  # type: ignore[arg-type]
