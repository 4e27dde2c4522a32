"""Cognito preset: pool ids, issuers, token_use, where each token type names its client, groups, scopes."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWKSCache,
    JWTVerifier,
    KeySet,
    UnknownKeyError,
    UnsupportedAlgorithmError,
    import_key,
)
from jwt_middleware.cognito import (
    cognito_issuer,
    cognito_jwks_url,
    global_cognito_issuer,
    parse_cognito_issuer,
    parse_user_pool_id,
)
from jwt_middleware.keysource import StaticKeySource
from jwt_middleware.requirements import scopes_requirement
from jwt_middleware.testing import SigningKey
from tests.core.support import NOW, OMIT, Clock, Keyring, token

POOL = "eu-west-1_AbCdEf123"
OTHER_POOL = "us-east-1_XyZ987654"
CLIENT = "3n4b5urk1ft4fl3mg5e62d9ado"
OTHER_CLIENT = "7f0a1c2d3e4b5a6978c0d1e2f3"
ISS = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"


def _access(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": ISS,
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "token_use": "access",
        "client_id": CLIENT,
        "scope": "openid orders/read",
        "cognito:groups": ["admins"],
        "username": "alice",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 3600,
    }
    payload.update(changes)
    return {name: value for name, value in payload.items() if value is not OMIT}


def _id(**changes: Any) -> dict[str, Any]:
    base = _access(token_use="id", client_id=OMIT, scope=OMIT, aud=CLIENT, email="a@example.com")
    base.update(changes)
    return {name: value for name, value in base.items() if value is not OMIT}


def _cognito(keyring: Keyring, **options: Any) -> JWTVerifier:
    options.setdefault("user_pool_id", POOL)
    options.setdefault("client_id", CLIENT)
    options.setdefault("token_use", "access")
    if "jwks_cache" not in options:
        options.setdefault("jwks", keyring.jwks("RS256"))
    return JWTVerifier.cognito(clock=Clock(), **options)


def _sign(keyring: Keyring, payload: dict[str, Any]) -> str:
    return token(keyring["RS256"], payload)


# -- pool ids and issuers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pool",
    [
        "",
        "us-east-1",
        "us-east-1_",
        "_abc",
        "useast1_abc",
        "US-EAST-1_abc",
        "us-east-1_abc/../x",
        "us-east-1_abc\n",
        "us-east-1_ab-c",
        "us-east-1_ab.c",
        "us-east-1_" + "a" * 56,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
        "us-east-1_\u0430bc",
        "xx-east-1_abc",  # no partition has an "xx-" region
        "eusc-east-1_abc",  # the European Sovereign Cloud's regions name their country
        "cn-north_abc",
        123,
        None,
    ],
)
def test_malformed_user_pool_id_is_a_configuration_error(keyring: Keyring, pool: Any) -> None:
    with pytest.raises(ConfigurationError):
        parse_user_pool_id(pool)
    with pytest.raises(ConfigurationError):
        _cognito(keyring, user_pool_id=pool)


@pytest.mark.parametrize(
    ("pool", "region", "domain"),
    [
        ("us-east-1_AbCdEf123", "us-east-1", "amazonaws.com"),
        ("ap-southeast-4_X", "ap-southeast-4", "amazonaws.com"),
        ("il-central-1_a1", "il-central-1", "amazonaws.com"),
        ("mx-central-1_a1", "mx-central-1", "amazonaws.com"),
        ("us-gov-west-1_abc", "us-gov-west-1", "amazonaws.com"),
        ("us-gov-east-1_abc", "us-gov-east-1", "amazonaws.com"),
        ("cn-north-1_abc", "cn-north-1", "amazonaws.com.cn"),
        ("cn-northwest-1_abc", "cn-northwest-1", "amazonaws.com.cn"),
        ("eusc-de-east-1_abc", "eusc-de-east-1", "amazonaws.eu"),
        ("us-isob-east-1_abc", "us-isob-east-1", "sc2s.sgov.gov"),
    ],
)
def test_every_partitions_pool_ids_and_domains(keyring: Keyring, pool: str, region: str, domain: str) -> None:
    """The partition follows from the region, and with it the domain of both issuer forms."""
    assert parse_user_pool_id(pool) == region
    classic = f"https://cognito-idp.{region}.{domain}/{pool}"
    updated = f"https://issuer-cognito-idp.{region}.{domain}/{pool}"
    assert (cognito_issuer(pool), global_cognito_issuer(pool)) == (classic, updated)
    assert cognito_jwks_url(pool) == f"{classic}/.well-known/jwks.json"
    assert cognito_jwks_url(pool, updated=True) == f"{updated}/.well-known/jwks.json"
    assert set(_cognito(keyring, user_pool_id=pool).issuers) == {classic, updated}
    assert parse_cognito_issuer(classic) == (pool, False)
    assert parse_cognito_issuer(updated) == (pool, True)


@pytest.mark.parametrize(
    "issuer",
    [
        "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_AbC",  # pool of another region
        "https://cognito-idp.cn-north-1.amazonaws.com/cn-north-1_AbC",  # China's domain is .com.cn
        "https://cognito-idp.eusc-de-east-1.amazonaws.com/eusc-de-east-1_AbC",  # the EUSC's is .eu
        "https://cognito-idp.eu-west-1.amazonaws.eu/eu-west-1_AbC",
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/",
        "https://issuer-cognito-idp.eu-west-1.amazonaws.com.evil.example/eu-west-1_AbC",
        "http://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
    ],
)
def test_only_exact_issuers_of_a_pool_are_cognito_issuers(issuer: str) -> None:
    assert parse_cognito_issuer(issuer) is None


def test_issuer_and_jwks_url_are_derived_from_the_pool() -> None:
    assert cognito_issuer(POOL) == ISS
    assert global_cognito_issuer(POOL) == f"https://issuer-cognito-idp.eu-west-1.amazonaws.com/{POOL}"
    assert cognito_jwks_url(POOL) == f"{ISS}/.well-known/jwks.json"


def test_each_issuer_form_fetches_its_own_keys_without_network() -> None:
    verifier = JWTVerifier.cognito(user_pool_id=POOL, client_id=CLIENT, token_use="access")
    sources = verifier.key_sources
    assert {issuer: source.url for issuer, source in sources.items() if isinstance(source, JWKSCache)} == {
        ISS: cognito_jwks_url(POOL),
        global_cognito_issuer(POOL): cognito_jwks_url(POOL, updated=True),
    }


def test_jwks_url_override_keeps_the_aws_issuers() -> None:
    verifier = JWTVerifier.cognito(
        user_pool_id=POOL, client_id=CLIENT, token_use="access", jwks_url="https://example.invalid/jwks"
    )
    assert set(verifier.issuers) == {ISS, global_cognito_issuer(POOL)}
    sources = verifier.key_sources
    assert {source.url for source in sources.values() if isinstance(source, JWKSCache)} == {
        "https://example.invalid/jwks"
    }


def test_static_jwks_and_jwks_url_together_are_a_configuration_error(keyring: Keyring) -> None:
    with pytest.raises(ConfigurationError):
        _cognito(keyring, jwks_url="https://example.invalid/jwks")


@pytest.mark.parametrize("omitted", ["client_id", "token_use"])
def test_client_id_and_token_use_are_required_decisions(keyring: Keyring, omitted: str) -> None:
    options: dict[str, Any] = {"user_pool_id": POOL, "client_id": CLIENT, "token_use": "access"}
    del options[omitted]
    with pytest.raises(ConfigurationError):
        JWTVerifier.cognito(jwks=keyring.jwks("RS256"), **options)


@pytest.mark.parametrize("token_use", ["both", "ID", "", "refresh"])
def test_unknown_token_use_setting_is_a_configuration_error(keyring: Keyring, token_use: str) -> None:
    with pytest.raises(ConfigurationError):
        _cognito(keyring, token_use=token_use)


@pytest.mark.parametrize("option", ["audience", "issuer"])
def test_issuer_and_audience_cannot_be_overridden(keyring: Keyring, option: str) -> None:
    with pytest.raises(ConfigurationError):
        _cognito(keyring, **{option: "x"})


# -- token_use and the client ----------------------------------------------------------------------------


def test_access_token_verifies_where_access_tokens_are_required(keyring: Keyring) -> None:
    result = _cognito(keyring).verify_sync(_sign(keyring, _access()))
    assert result.token_use == "access"
    assert result.client_id == CLIENT


def test_id_token_is_rejected_where_access_tokens_are_required(keyring: Keyring) -> None:
    with pytest.raises(InvalidClaimError) as caught:
        _cognito(keyring, token_use="access").verify_sync(_sign(keyring, _id()))
    assert caught.value.claim == "token_use"


def test_access_token_is_rejected_where_id_tokens_are_required(keyring: Keyring) -> None:
    check = _cognito(keyring, token_use="id")
    assert check.verify_sync(_sign(keyring, _id())).token_use == "id"
    with pytest.raises(InvalidClaimError) as caught:
        check.verify_sync(_sign(keyring, _access()))
    assert caught.value.claim == "token_use"


@pytest.mark.parametrize(
    "token_use",
    ["\u0430\u0441\u0441ess", "Access", "access ", "refresh", "", None, ["access"], OMIT],
    ids=[
        "cyrillic-lookalike",
        "capitalised",
        "trailing-space",
        "refresh",
        "empty",
        "null",
        "list",
        "missing",
    ],
)
def test_token_use_must_be_exactly_access_or_id(keyring: Keyring, token_use: Any) -> None:
    for configured in ("access", None):
        with pytest.raises(InvalidClaimError):
            _cognito(keyring, token_use=configured).verify_sync(_sign(keyring, _access(token_use=token_use)))


def test_access_tokens_client_id_is_checked(keyring: Keyring) -> None:
    check = _cognito(keyring)
    for client in (OTHER_CLIENT, CLIENT.upper(), OMIT, None, [CLIENT]):
        with pytest.raises(InvalidAudienceError) as caught:
            check.verify_sync(_sign(keyring, _access(client_id=client)))
        assert caught.value.claim == "client_id"


def test_access_token_never_falls_back_from_client_id_to_aud(keyring: Keyring) -> None:
    check = _cognito(keyring)
    for client in (OTHER_CLIENT, OMIT):
        with pytest.raises(InvalidAudienceError):
            check.verify_sync(_sign(keyring, _access(aud=CLIENT, client_id=client)))


def test_id_tokens_aud_is_checked_and_never_falls_back_to_client_id(keyring: Keyring) -> None:
    check = _cognito(keyring, token_use="id")
    assert check.verify_sync(_sign(keyring, _id(aud=[OTHER_CLIENT, CLIENT])))
    for aud in (OTHER_CLIENT, OMIT, [], [CLIENT, 3]):
        with pytest.raises(InvalidAudienceError):
            check.verify_sync(_sign(keyring, _id(aud=aud, client_id=CLIENT)))


def test_several_client_ids_accept_each(keyring: Keyring) -> None:
    check = _cognito(keyring, client_id=[CLIENT, OTHER_CLIENT])
    for client in (CLIENT, OTHER_CLIENT):
        assert check.verify_sync(_sign(keyring, _access(client_id=client))).client_id == client


def test_client_id_none_skips_the_client_check(keyring: Keyring) -> None:
    check = _cognito(keyring, client_id=None, token_use=None)
    assert check.verify_sync(_sign(keyring, _access(client_id="any-client")))
    assert check.verify_sync(_sign(keyring, _id(aud="any-client")))


def test_token_use_none_accepts_both_token_types_and_still_checks_their_client(keyring: Keyring) -> None:
    check = _cognito(keyring, token_use=None)
    assert check.verify_sync(_sign(keyring, _access())).token_use == "access"
    assert check.verify_sync(_sign(keyring, _id())).token_use == "id"
    with pytest.raises(InvalidAudienceError):
        check.verify_sync(_sign(keyring, _id(aud=OTHER_CLIENT)))
    with pytest.raises(InvalidAudienceError):
        check.verify_sync(_sign(keyring, _access(client_id=OTHER_CLIENT)))


# -- issuers ----------------------------------------------------------------------------------------------


def test_several_pools_dispatch_by_issuer_to_their_own_keys(keyring: Keyring) -> None:
    other_key = SigningKey(keyring["attacker-RS256"].private_key, alg="RS256", kid="other-pool-key")
    other_iss = cognito_issuer(OTHER_POOL)
    sources = {
        ISS: StaticKeySource(KeySet([import_key(keyring["RS256"].public_jwk())])),
        other_iss: StaticKeySource(KeySet([import_key(other_key.public_jwk())])),
    }
    check = _cognito(keyring, user_pool_id=[POOL, OTHER_POOL], jwks_cache=sources)
    assert check.verify_sync(token(keyring["RS256"], _access()))["iss"] == ISS
    assert check.verify_sync(token(other_key, _access(iss=other_iss)))["iss"] == other_iss
    # Each issuer's tokens are checked against that issuer's keys only.
    with pytest.raises(UnknownKeyError):
        check.verify_sync(token(other_key, _access(iss=ISS)))
    with pytest.raises(UnknownKeyError):
        check.verify_sync(token(keyring["RS256"], _access(iss=other_iss)))


def test_token_from_an_unconfigured_pool_is_an_invalid_issuer(keyring: Keyring) -> None:
    check = _cognito(keyring, user_pool_id=[POOL, OTHER_POOL])
    unconfigured = "eu-west-1_Unconfigured1"
    for iss in (cognito_issuer(unconfigured), global_cognito_issuer(unconfigured), ISS + "/"):
        with pytest.raises(InvalidIssuerError):
            check.verify_sync(_sign(keyring, _access(iss=iss)))


def test_the_updated_issuer_form_is_accepted_by_default(keyring: Keyring) -> None:
    """A pool switched to ``IssuerConfiguration: UPDATED`` keeps working, as with aws-jwt-verify 5."""
    updated_token = _sign(keyring, _access(iss=global_cognito_issuer(POOL)))
    check = _cognito(keyring)
    assert check.verify_sync(updated_token).issuer == global_cognito_issuer(POOL)
    assert check.verify_sync(_sign(keyring, _access())).issuer == ISS
    with pytest.raises(InvalidIssuerError):
        _cognito(keyring, global_issuer=False).verify_sync(updated_token)


def test_each_issuer_form_is_bound_to_its_own_pool(keyring: Keyring) -> None:
    """A pool's key never verifies another pool's token, whichever issuer form the token names."""
    other_key = SigningKey(keyring["attacker-RS256"].private_key, alg="RS256", kid="other-pool-key")
    sources = {  # keyed by the classic issuers only: each updated form falls back to its own pool
        ISS: StaticKeySource(KeySet([import_key(keyring["RS256"].public_jwk())])),
        cognito_issuer(OTHER_POOL): StaticKeySource(KeySet([import_key(other_key.public_jwk())])),
    }
    check = _cognito(keyring, user_pool_id=[POOL, OTHER_POOL], jwks_cache=sources)
    assert check.key_sources[global_cognito_issuer(POOL)] is sources[ISS]
    for iss in (global_cognito_issuer(POOL), ISS):
        assert check.verify_sync(token(keyring["RS256"], _access(iss=iss)))
        with pytest.raises(UnknownKeyError):
            check.verify_sync(token(other_key, _access(iss=iss)))
    with pytest.raises(UnknownKeyError):
        check.verify_sync(token(keyring["RS256"], _access(iss=global_cognito_issuer(OTHER_POOL))))


def test_only_rs256_is_accepted_by_default(keyring: Keyring) -> None:
    jwks = keyring.jwks("RS256", "ES256")
    with pytest.raises(UnsupportedAlgorithmError):
        _cognito(keyring, jwks=jwks).verify_sync(token(keyring["ES256"], _access()))


# -- groups and scopes ------------------------------------------------------------------------------------


def test_groups_are_an_any_of_requirement(keyring: Keyring) -> None:
    check = _cognito(keyring, groups=["admins", "ops"])
    assert check.verify_sync(_sign(keyring, _access(**{"cognito:groups": ["ops", "users"]})))
    assert check.verify_sync(_sign(keyring, _access(**{"cognito:groups": ["admins"]})))
    for groups in (["users"], [], OMIT, ["Admins"], "admins ops"):
        with pytest.raises(InsufficientScopeError):
            check.verify_sync(_sign(keyring, _access(**{"cognito:groups": groups})))


def test_scopes_come_from_scope_only_as_cognito_never_issues_scp(keyring: Keyring) -> None:
    """A ``scp`` claim in a Cognito token grants nothing: not at the verifier, not at a route."""
    check = _cognito(keyring, scopes=["orders/admin"])
    smuggled = _sign(keyring, _access(scope="openid", scp=["orders/admin"]))
    with pytest.raises(InsufficientScopeError):
        check.verify_sync(smuggled)
    claims_seen = _cognito(keyring).verify_sync(smuggled)
    assert claims_seen.scopes == {"openid"}
    with pytest.raises(InsufficientScopeError):
        scopes_requirement(["orders/admin"]).enforce(claims_seen)
    groups_seen = _cognito(keyring).verify_sync(
        _sign(keyring, _access(groups=["admins"], **{"cognito:groups": OMIT}))
    )
    assert groups_seen.groups == frozenset()  # only cognito:groups, as before


def test_scopes_are_an_any_of_requirement_including_resource_server_scopes(keyring: Keyring) -> None:
    check = _cognito(keyring, scopes=["orders/read", "orders/admin"])
    assert check.verify_sync(_sign(keyring, _access(scope="openid orders/read")))
    assert check.verify_sync(_sign(keyring, _access(scope="orders/admin")))
    for scope in ("orders/write", "orders/readx", "orders", "openid", "", OMIT, "ORDERS/READ"):
        with pytest.raises(InsufficientScopeError):
            check.verify_sync(_sign(keyring, _access(scope=scope)))
