"""What errors say about the check that failed, for tools such as the CLI (never token content)."""

from __future__ import annotations

import time

import pytest

from jwt_middleware import InsufficientScopeError, JWTVerifier, UnknownKeyError, UnsupportedAlgorithmError
from jwt_middleware.testing import SigningKey, encode_compact

ISSUER = "https://issuer.example.com"
POOL_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256", kid="known")


def mint(key: SigningKey, **claims: object) -> str:
    return encode_compact({"iss": ISSUER, "exp": time.time() + 60, "sub": "s", **claims}, key)


@pytest.mark.parametrize("expose", [True, False])
def test_key_source_errors_carry_unverified_claims_only_when_opted_in(key: SigningKey, expose: bool) -> None:
    stranger = SigningKey.generate("ES256", kid="stranger")
    verifier = JWTVerifier(
        issuer=ISSUER, audience=None, jwks={"keys": [key.public_jwk()]}, expose_unverified_claims=expose
    )
    with pytest.raises(UnknownKeyError) as rejected:
        verifier.verify_sync(mint(stranger, sub="who"))
    if expose:
        assert rejected.value.unverified_claims is not None
        assert rejected.value.unverified_claims["sub"] == "who"
    else:
        assert rejected.value.unverified_claims is None


def test_a_refused_algorithm_names_the_accepted_ones(key: SigningKey) -> None:
    verifier = JWTVerifier(
        issuer=ISSUER, audience=None, jwks={"keys": [key.public_jwk()]}, algorithms=["RS256"]
    )
    with pytest.raises(UnsupportedAlgorithmError) as rejected:
        verifier.verify_sync(mint(key))
    assert (rejected.value.claim, rejected.value.expected) == ("alg", ("RS256",))


def test_a_group_failure_names_the_groups_without_a_scope_challenge() -> None:
    key = SigningKey.generate("RS256")  # Cognito signs with RS256 only
    verifier = JWTVerifier.cognito(
        user_pool_id="eu-west-1_AbC123",
        client_id=None,
        token_use="access",
        groups=["admins"],
        jwks={"keys": [key.public_jwk()]},
    )
    token = encode_compact(
        {"iss": POOL_ISSUER, "exp": time.time() + 60, "token_use": "access", "groups": ["admins"]}, key
    )
    # Cognito's groups are in cognito:groups only: a generic "groups" claim grants nothing here.
    with pytest.raises(InsufficientScopeError) as rejected:
        verifier.verify_sync(token)
    assert rejected.value.expected == ("admins",)
    assert rejected.value.scopes == ()
    admitted = encode_compact(
        {"iss": POOL_ISSUER, "exp": time.time() + 60, "token_use": "access", "cognito:groups": ["admins"]},
        key,
    )
    assert verifier.verify_sync(admitted)["cognito:groups"] == ["admins"]
