"""The Cognito preset end to end against Cognito-shaped tokens from loopback user pools.

Covers what aws-jwt-verify's ``CognitoJwtVerifier`` promises: several pools in one verifier, keys
cached per pool, tokens from other pools refused as wrong issuers without a fetch, ``client_id``
one or several, ``token_use``, ``groups`` and ``scopes`` any-of, both issuer forms, a
``jwks_url`` override, and M2M (client credentials) access tokens.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from jwt_middleware import (
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTVerifier,
    UnknownKeyError,
)
from jwt_middleware.cli.inspection import decode_unverified
from jwt_middleware.cognito import global_cognito_issuer
from jwt_middleware.testing import LocalCognitoIssuer, LocalIssuer

POOL_A = "eu-west-1_PoolAaaa1"
POOL_B = "us-east-1_PoolBbbb2"
POOL_C = "eu-central-1_Unconfigured"


@pytest.fixture(scope="module")
def pool_a() -> Iterator[LocalCognitoIssuer]:
    with LocalIssuer.cognito(user_pool_id=POOL_A, client_id="client-a") as pool:
        yield pool


@pytest.fixture(scope="module")
def pool_b() -> Iterator[LocalCognitoIssuer]:
    with LocalIssuer.cognito(user_pool_id=POOL_B, client_id="client-b") as pool:
        yield pool


def two_pools(a: LocalCognitoIssuer, b: LocalCognitoIssuer, **options: object) -> JWTVerifier:
    options.setdefault("client_id", ["client-a", "client-b"])
    options.setdefault("token_use", None)
    return JWTVerifier.cognito(
        user_pool_id=[POOL_A, POOL_B],
        jwks_url={POOL_A: a.jwks_url, POOL_B: b.jwks_url},
        **options,
    )


def test_several_pools_dispatch_by_iss_and_fetch_each_pool_once(
    pool_a: LocalCognitoIssuer, pool_b: LocalCognitoIssuer
) -> None:
    before = (pool_a.jwks_requests, pool_b.jwks_requests)
    verifier = two_pools(pool_a, pool_b)
    for _ in range(3):
        assert verifier.verify_sync(pool_a.mint_id_token(username="ann")).issuer == pool_a.issuer
        assert verifier.verify_sync(pool_b.mint_access_token(username="bo")).issuer == pool_b.issuer
    assert (pool_a.jwks_requests - before[0], pool_b.jwks_requests - before[1]) == (1, 1)
    assert verifier.key_sources[pool_a.issuer] is not verifier.key_sources[pool_b.issuer]


def test_a_token_from_an_unconfigured_pool_is_a_wrong_issuer_without_any_fetch(
    pool_a: LocalCognitoIssuer, pool_b: LocalCognitoIssuer
) -> None:
    with LocalIssuer.cognito(user_pool_id=POOL_C, client_id="client-a") as stranger:
        verifier = two_pools(pool_a, pool_b)
        before = (pool_a.jwks_requests, pool_b.jwks_requests)
        with pytest.raises(InvalidIssuerError):
            verifier.verify_sync(stranger.mint_access_token())
        assert (pool_a.jwks_requests, pool_b.jwks_requests) == before
        assert stranger.jwks_requests == 0


def test_a_pool_key_does_not_verify_another_pools_issuer(
    pool_a: LocalCognitoIssuer, pool_b: LocalCognitoIssuer
) -> None:
    """Pool A's key signing a token that claims pool B's iss: B's keys are used, and refuse it."""
    forged = pool_a.mint_access_token(iss=pool_b.issuer)
    with pytest.raises(UnknownKeyError):
        two_pools(pool_a, pool_b).verify_sync(forged)


@pytest.mark.parametrize(
    ("client_id", "accepted"),
    [("client-a", True), (["other", "client-a"], True), ("other", False), (["x", "y"], False), (None, True)],
)
def test_client_id_one_or_several_or_skipped(
    pool_a: LocalCognitoIssuer, client_id: str | list[str] | None, accepted: bool
) -> None:
    verifier = pool_a.verifier(client_id=client_id, token_use=None)
    for token in (pool_a.mint_id_token(), pool_a.mint_access_token()):
        if accepted:
            assert verifier.verify_sync(token)
        else:
            with pytest.raises(InvalidAudienceError):
                verifier.verify_sync(token)


def test_token_use_keeps_id_and_access_tokens_apart(pool_a: LocalCognitoIssuer) -> None:
    access_only = pool_a.verifier(token_use="access")
    id_only = pool_a.verifier(token_use="id")
    assert access_only.verify_sync(pool_a.mint_access_token()).token_use == "access"
    assert id_only.verify_sync(pool_a.mint_id_token()).token_use == "id"
    with pytest.raises(InvalidClaimError):
        access_only.verify_sync(pool_a.mint_id_token())
    with pytest.raises(InvalidClaimError):
        id_only.verify_sync(pool_a.mint_access_token())


def test_groups_any_of(pool_a: LocalCognitoIssuer) -> None:
    verifier = pool_a.verifier(token_use="id", groups=["admins", "editors"])
    assert verifier.verify_sync(pool_a.mint_id_token(groups=["editors", "x"])).groups == {"editors", "x"}
    with pytest.raises(InsufficientScopeError):
        verifier.verify_sync(pool_a.mint_id_token(groups=["viewers"]))
    with pytest.raises(InsufficientScopeError):
        verifier.verify_sync(pool_a.mint_id_token())


def test_scopes_any_of_including_resource_server_scopes(pool_a: LocalCognitoIssuer) -> None:
    verifier = pool_a.verifier(token_use="access", scopes=["orders/read", "orders/write"])
    claims = verifier.verify_sync(pool_a.mint_access_token(scopes=["openid", "orders/read"]))
    assert claims.scopes == {"openid", "orders/read"}
    with pytest.raises(InsufficientScopeError) as caught:
        verifier.verify_sync(pool_a.mint_access_token(scopes=["openid", "orders/readx"]))
    assert caught.value.scopes == ("orders/read", "orders/write")


def test_m2m_access_tokens_verify_and_expose_their_scopes(pool_a: LocalCognitoIssuer) -> None:
    verifier = pool_a.verifier(token_use="access", scopes=["orders/read"])
    claims = verifier.verify_sync(pool_a.mint_m2m_access_token(scopes=["orders/read", "orders/write"]))
    assert claims.subject == claims.client_id == "client-a"
    assert claims.username is None
    assert "username" not in claims
    assert claims.scopes == {"orders/read", "orders/write"}
    with pytest.raises(InvalidAudienceError):
        pool_a.verifier(token_use="access", client_id="someone-else").verify_sync(
            pool_a.mint_m2m_access_token()
        )


def test_a_pool_switched_to_the_updated_issuer_keeps_verifying(pool_a: LocalCognitoIssuer) -> None:
    """``IssuerConfiguration: UPDATED``: tokens say ``issuer-cognito-idp``; the default accepts them."""
    with LocalIssuer.cognito(user_pool_id=POOL_A, client_id="client-a", updated_issuer=True) as updated:
        assert updated.issuer == global_cognito_issuer(POOL_A)
        token = updated.mint_access_token()
        assert updated.verifier(token_use="access").verify_sync(token).issuer == updated.issuer
        with pytest.raises(InvalidIssuerError):
            updated.verifier(token_use="access", global_issuer=False).verify_sync(token)
        # Both forms of pool A are pool A's: the keys of the pool at that URL, no other pool's.
        with pytest.raises(UnknownKeyError):
            pool_a.verifier(token_use="access").verify_sync(token)


def test_the_pool_signs_id_and_access_tokens_with_two_cognito_shaped_keys(pool_a: LocalCognitoIssuer) -> None:
    kids = [key["kid"] for key in pool_a.jwks()["keys"]]
    assert len(kids) == 2
    assert {pool_a.id_token_key.kid, pool_a.access_token_key.kid} == set(kids)
    for kid in kids:
        assert len(kid) == 44
        assert kid.endswith("=")
        assert base64.b64decode(kid, validate=True)  # standard base64, as Cognito's kids are
    assert decode_unverified(pool_a.mint_id_token())[0]["kid"] == pool_a.id_token_key.kid
    assert decode_unverified(pool_a.mint_access_token())[0]["kid"] == pool_a.access_token_key.kid
    assert decode_unverified(pool_a.mint_m2m_access_token())[0]["kid"] == pool_a.access_token_key.kid
    verifier = pool_a.verifier(token_use=None)
    assert verifier.verify_sync(pool_a.mint_id_token()).token_use == "id"
    assert verifier.verify_sync(pool_a.mint_access_token()).token_use == "access"


def test_a_verifier_that_knows_only_the_access_key_refuses_id_tokens(pool_a: LocalCognitoIssuer) -> None:
    access_only = {"keys": [pool_a.access_token_key.public_jwk()]}
    verifier = JWTVerifier.cognito(
        user_pool_id=POOL_A, client_id="client-a", token_use=None, jwks=access_only
    )
    assert verifier.verify_sync(pool_a.mint_access_token())
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(pool_a.mint_id_token())


def test_jwks_url_override_keeps_the_aws_issuer(pool_a: LocalCognitoIssuer) -> None:
    verifier = JWTVerifier.cognito(
        user_pool_id=POOL_A, client_id="client-a", token_use="access", jwks_url=pool_a.jwks_url
    )
    assert set(verifier.issuers) == {
        f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL_A}",
        f"https://issuer-cognito-idp.eu-west-1.amazonaws.com/{POOL_A}",
    }
    assert verifier.verify_sync(pool_a.mint_access_token())


@pytest.mark.anyio
async def test_the_async_path_is_the_same(pool_a: LocalCognitoIssuer, pool_b: LocalCognitoIssuer) -> None:
    verifier = two_pools(pool_a, pool_b, token_use="access", scopes=["orders/read"])
    try:
        assert await verifier.verify(pool_b.mint_access_token(scopes=["orders/read"]))
        with pytest.raises(InsufficientScopeError):
            await verifier.verify(pool_a.mint_access_token())
    finally:
        await verifier.aclose()
