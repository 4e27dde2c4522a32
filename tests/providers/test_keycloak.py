"""``JWTVerifier.keycloak``: a realm served on loopback where Keycloak serves it, roles from two places."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jwt_middleware import (
    ClaimMapping,
    ConfigurationError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTVerifier,
)
from jwt_middleware.testing import LocalIssuer, LocalKeycloakIssuer


@pytest.fixture(scope="module")
def realm() -> Iterator[LocalKeycloakIssuer]:
    with LocalIssuer.keycloak(realm="orders", client_id="orders-api") as issuer:
        yield issuer


def test_the_preset_derives_the_realm_issuer_and_its_certs_url() -> None:
    verifier = JWTVerifier.keycloak(
        server_url="https://sso.example.com/", realm="orders", audience="orders-api"
    )
    assert verifier.issuers == ("https://sso.example.com/realms/orders",)
    source = verifier.key_sources["https://sso.example.com/realms/orders"]
    certs = "https://sso.example.com/realms/orders/protocol/openid-connect/certs"
    assert source.url == certs  # type: ignore[attr-defined]
    legacy = JWTVerifier.keycloak(server_url="https://sso.example.com/auth", realm="orders", audience=None)
    assert legacy.issuers == ("https://sso.example.com/auth/realms/orders",)


def test_realm_and_client_roles_through_the_real_endpoints(realm: LocalKeycloakIssuer) -> None:
    verifier = realm.verifier()
    before = realm.jwks_requests
    token = realm.mint_access_token(
        username="alice",
        realm_roles=["orders-clerk"],
        client_roles={"orders-api": ["refund"], "other-app": ["admin"]},
        groups=["/staff"],
    )
    claims = verifier.verify_sync(token)
    assert claims.roles == {"orders-clerk", "refund"}  # not other-app's admin, not account's roles
    assert claims.scopes == {"openid", "profile", "email"}
    assert claims.groups == {"/staff"}
    assert claims.username == "alice"
    assert claims.issuer == f"{realm.url}/realms/orders"
    assert realm.jwks_requests == before + 1  # keys fetched from /realms/orders/protocol/openid-connect/certs


def test_without_client_id_only_realm_roles(realm: LocalKeycloakIssuer) -> None:
    verifier = realm.verifier(client_id=None)
    token = realm.mint_access_token(realm_roles=["clerk"], client_roles={"orders-api": ["refund"]})
    assert verifier.verify_sync(token).roles == {"clerk"}


def test_a_client_id_with_dots_is_one_path_segment(realm: LocalKeycloakIssuer) -> None:
    verifier = realm.verifier(client_id="com.example.orders", audience=None)
    decoy = {"example": {"orders": {"roles": ["root"]}}}  # what splitting the filled path would read
    token = realm.mint_access_token(
        realm_roles=[], resource_access={"com.example.orders": {"roles": ["refund"]}, "com": decoy}
    )
    assert verifier.verify_sync(token).roles == {"refund"}


@pytest.mark.parametrize("kind", ["id", "refresh"])
def test_the_other_token_kinds_are_refused_at_an_api(realm: LocalKeycloakIssuer, kind: str) -> None:
    token = realm.mint_id_token() if kind == "id" else realm.mint_refresh_token()
    with pytest.raises((InvalidClaimError, InvalidAudienceError)) as caught:
        realm.verifier(audience=None).verify_sync(token)
    assert caught.value.claim == "typ"
    assert caught.value.code == "token_type.mismatch"


def test_id_tokens_when_asked(realm: LocalKeycloakIssuer) -> None:
    verifier = realm.verifier(token_use="id", audience=realm.authorized_party)
    assert verifier.verify_sync(realm.mint_id_token(nonce="n-0S6"))["nonce"] == "n-0S6"
    with pytest.raises(InvalidClaimError):
        verifier.verify_sync(realm.mint_access_token(aud=realm.authorized_party))
    either = realm.verifier(token_use=None, audience=None)
    assert either.verify_sync(realm.mint_id_token())
    assert either.verify_sync(realm.mint_access_token())


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"iss": "https://sso.example.com/realms/other"}, InvalidIssuerError),
        ({"aud": "account"}, InvalidAudienceError),  # no audience mapper for this API
        ({"typ": "bearer"}, InvalidClaimError),
        ({"typ": None}, InvalidClaimError),
    ],
)
def test_refusals(realm: LocalKeycloakIssuer, changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        realm.verifier().verify_sync(realm.mint_access_token(**changes))


def test_another_realm_of_the_same_server_is_refused(realm: LocalKeycloakIssuer) -> None:
    with pytest.raises(InvalidIssuerError):
        realm.verifier().verify_sync(realm.mint_access_token(iss=f"{realm.url}/realms/other"))


def test_a_production_server_url_with_local_keys() -> None:
    with LocalIssuer.keycloak(server_url="https://sso.example.com", realm="shop") as issuer:
        verifier = issuer.verifier()
        assert verifier.issuers == ("https://sso.example.com/realms/shop",)
        assert (
            verifier.verify_sync(issuer.mint_access_token()).issuer == "https://sso.example.com/realms/shop"
        )


def test_a_custom_mapping_gets_the_client_id_filled() -> None:
    mapping = ClaimMapping(roles="resource_access.{client_id}.roles")
    verifier = JWTVerifier.keycloak(
        server_url="https://sso.example.com", realm="r", audience=None, client_id="api", claim_mapping=mapping
    )
    assert verifier.claim_mapping.client_id == "api"
    with pytest.raises(ConfigurationError):
        JWTVerifier.keycloak(
            server_url="https://sso.example.com", realm="r", audience=None, claim_mapping=mapping
        )


@pytest.mark.parametrize(
    "options",
    [
        {"server_url": "sso.example.com", "realm": "r"},
        {"server_url": "http://sso.example.com", "realm": "r"},  # http only on loopback
        {"server_url": "https://sso.example.com?x=1", "realm": "r"},
        {"server_url": "https://sso.example.com", "realm": "a/b"},
        {"server_url": "https://sso.example.com", "realm": ""},
        {"server_url": "https://sso.example.com", "realm": ".."},
        {"server_url": "https://sso.example.com", "realm": "r", "token_use": "refresh"},
        {"server_url": "https://sso.example.com", "realm": "r", "client_id": ""},
    ],
)
def test_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.keycloak(audience=None, **options)
