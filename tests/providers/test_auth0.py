"""``JWTVerifier.auth0``: Auth0-shaped tokens from a local tenant, accepted and refused as Auth0 documents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jwt_middleware import (
    ClaimMapping,
    ConfigurationError,
    InvalidAudienceError,
    InvalidIssuerError,
    JWTVerifier,
    UnknownKeyError,
)
from jwt_middleware.providers.auth0 import AUTH0_CLAIM_MAPPING
from jwt_middleware.testing import LocalAuth0Issuer, LocalIssuer


@pytest.fixture(scope="module")
def tenant() -> Iterator[LocalAuth0Issuer]:
    with LocalIssuer.auth0(domain="orders.eu.auth0.com", audience="https://orders.example.com") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def verifier(tenant: LocalAuth0Issuer) -> JWTVerifier:
    return tenant.verifier()


def test_the_preset_derives_auth0s_issuer_and_key_url() -> None:
    verifier = JWTVerifier.auth0(domain="orders.eu.auth0.com", audience="https://orders.example.com")
    assert verifier.issuers == ("https://orders.eu.auth0.com/",)
    source = verifier.key_sources["https://orders.eu.auth0.com/"]
    assert source.url == "https://orders.eu.auth0.com/.well-known/jwks.json"  # type: ignore[attr-defined]
    assert verifier.algorithms == frozenset({"RS256"})
    assert verifier.claim_mapping == AUTH0_CLAIM_MAPPING


def test_access_token_with_rbac_permissions(tenant: LocalAuth0Issuer, verifier: JWTVerifier) -> None:
    token = tenant.mint_access_token(
        username="alice", scopes="openid profile read:orders", permissions=["read:orders", "refund:orders"]
    )
    claims = verifier.verify_sync(token)
    assert claims.issuer == "https://orders.eu.auth0.com/"
    assert claims.audience == {"https://orders.example.com", "https://orders.eu.auth0.com/userinfo"}
    assert claims.permissions == {"read:orders", "refund:orders"}
    assert claims.scopes == {"openid", "profile", "read:orders"}
    assert claims.client_id == tenant.client_id  # azp
    assert claims.subject == tenant.subject_for("alice")
    assert claims.subject.startswith("auth0|")


def test_client_credentials_token(tenant: LocalAuth0Issuer, verifier: JWTVerifier) -> None:
    claims = verifier.verify_sync(tenant.mint_m2m_access_token(permissions=["read:orders"]))
    assert claims.subject == f"{tenant.client_id}@clients"
    assert claims["gty"] == "client-credentials"
    assert claims.permissions == {"read:orders"}


def test_scopes_come_from_scope_only(tenant: LocalAuth0Issuer, verifier: JWTVerifier) -> None:
    claims = verifier.verify_sync(tenant.mint_access_token(scopes="openid", scp=["admin"]))
    assert claims.scopes == {"openid"}


def test_an_id_token_is_refused_at_the_api(tenant: LocalAuth0Issuer, verifier: JWTVerifier) -> None:
    """The other token kind: an ID token names the application, not the API, in aud."""
    with pytest.raises(InvalidAudienceError):
        verifier.verify_sync(tenant.mint_id_token())
    assert tenant.verifier(audience=tenant.client_id).verify_sync(tenant.mint_id_token()).subject


def test_wrong_audience_and_other_tenant_are_refused(tenant: LocalAuth0Issuer, verifier: JWTVerifier) -> None:
    with pytest.raises(InvalidAudienceError):
        verifier.verify_sync(tenant.mint_access_token(aud="https://other-api.example.com"))
    with pytest.raises(InvalidIssuerError):
        verifier.verify_sync(tenant.mint_access_token(iss="https://other.eu.auth0.com/"))
    with pytest.raises(InvalidIssuerError):  # without Auth0's trailing slash
        verifier.verify_sync(tenant.mint_access_token(iss="https://orders.eu.auth0.com"))
    with LocalIssuer.auth0(domain="orders.eu.auth0.com", audience="https://orders.example.com") as impostor:
        forged = impostor.mint_access_token()  # same names, someone else's keys
    with pytest.raises(UnknownKeyError):
        verifier.verify_sync(forged)


def test_namespaced_roles_through_the_mapping(tenant: LocalAuth0Issuer) -> None:
    mapping = AUTH0_CLAIM_MAPPING.replace(roles="https://orders.example.com/roles")
    verifier = tenant.verifier(claim_mapping=mapping)
    token = tenant.mint_access_token(**{"https://orders.example.com/roles": ["clerk"]})
    assert verifier.verify_sync(token).roles == {"clerk"}
    assert tenant.verifier(claim_mapping=ClaimMapping()).claim_mapping == ClaimMapping()


@pytest.mark.parametrize(
    "domain", ["https://orders.eu.auth0.com", "orders.eu.auth0.com/", "orders .auth0.com", "", "a/b", None]
)
def test_domains_are_host_names(domain: object) -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.auth0(domain=domain, audience="api")


def test_issuer_cannot_be_overridden_and_keys_have_one_source() -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.auth0(domain="t.auth0.com", audience="api", issuer="https://elsewhere/")
    with pytest.raises(ConfigurationError):
        JWTVerifier.auth0(domain="t.auth0.com", audience="api", jwks_url="https://k/", jwks={"keys": []})
