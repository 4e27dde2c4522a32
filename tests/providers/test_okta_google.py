"""``JWTVerifier.okta`` and ``JWTVerifier.google``: custom authorization servers; Google's two issuers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTVerifier,
)
from jwt_middleware.testing import LocalGoogleIssuer, LocalIssuer, LocalOktaIssuer


@pytest.fixture(scope="module")
def okta() -> Iterator[LocalOktaIssuer]:
    with LocalIssuer.okta(domain="dev-123456.okta.com", audience="api://default") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def google() -> Iterator[LocalGoogleIssuer]:
    with LocalIssuer.google(client_id="1234-abc.apps.googleusercontent.com") as issuer:
        yield issuer


# -- Okta -------------------------------------------------------------------------------------------


def test_okta_issuer_and_keys() -> None:
    verifier = JWTVerifier.okta(domain="dev-123456.okta.com", audience="api://default")
    assert verifier.issuers == ("https://dev-123456.okta.com/oauth2/default",)
    source = verifier.key_sources[verifier.issuers[0]]
    assert source.url == "https://dev-123456.okta.com/oauth2/default/v1/keys"  # type: ignore[attr-defined]
    custom = JWTVerifier.okta(domain="id.example.com", audience="api", authorization_server="aus1a2b3c")
    assert custom.issuers == ("https://id.example.com/oauth2/aus1a2b3c",)


def test_okta_access_token_scp_list_and_groups(okta: LocalOktaIssuer) -> None:
    claims = okta.verifier().verify_sync(
        okta.mint_access_token(scopes=["openid", "orders:read"], groups=["Everyone", "Order Managers"])
    )
    assert claims.scopes == {"openid", "orders:read"}
    assert claims.groups == {"Everyone", "Order Managers"}  # list items are never split
    assert claims.subject == "alice@example.com"
    assert claims.header.get("typ") is None


def test_okta_cid_check(okta: LocalOktaIssuer) -> None:
    assert okta.verifier(client_id=okta.client_id).verify_sync(okta.mint_access_token())
    with pytest.raises(InvalidClaimError) as caught:
        okta.verifier(client_id="0oaOTHERAPP").verify_sync(okta.mint_access_token())
    assert caught.value.claim == "cid"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"iss": "https://dev-123456.okta.com/oauth2/aus9other"}, InvalidIssuerError),  # another server
        ({"iss": "https://dev-123456.okta.com"}, InvalidIssuerError),  # the org authorization server
        ({"aud": "api://other"}, InvalidAudienceError),
    ],
)
def test_okta_refusals(okta: LocalOktaIssuer, changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        okta.verifier().verify_sync(okta.mint_access_token(**changes))


@pytest.mark.parametrize(
    "options",
    [
        {"domain": "https://dev-1.okta.com"},
        {"domain": "dev-1.okta.com", "authorization_server": "a/b"},
        {"domain": "dev-1.okta.com", "client_id": ""},
    ],
)
def test_okta_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.okta(audience="api://default", **options)


# -- Google ------------------------------------------------------------------------------------------


def test_google_issuers_and_keys() -> None:
    verifier = JWTVerifier.google(audience="1234-abc.apps.googleusercontent.com")
    assert set(verifier.issuers) == {"https://accounts.google.com", "accounts.google.com"}
    urls = {source.url for source in verifier.key_sources.values()}  # type: ignore[attr-defined]
    assert urls == {"https://www.googleapis.com/oauth2/v3/certs"}
    assert len({id(source) for source in verifier.key_sources.values()}) == 1


@pytest.mark.parametrize("spelling", ["https://accounts.google.com", "accounts.google.com"])
def test_both_documented_issuer_spellings_are_accepted(google: LocalGoogleIssuer, spelling: str) -> None:
    claims = google.verifier().verify_sync(google.mint_id_token(username="bob", issuer=spelling))
    assert claims.issuer == spelling
    assert claims.subject == google.subject_for("bob")
    assert claims["email"] == "bob@gmail.com"
    assert claims.scopes == claims.roles == claims.groups == claims.permissions == frozenset()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"aud": "9999-other.apps.googleusercontent.com"}, InvalidAudienceError),
        ({"iss": "https://accounts.google.com/"}, InvalidIssuerError),
        ({"iss": "http://accounts.google.com"}, InvalidIssuerError),
        ({"iss": "https://accounts.google.co"}, InvalidIssuerError),
        ({"iss": "https://securetoken.google.com/my-app"}, InvalidIssuerError),  # a Firebase token
    ],
)
def test_google_refusals(google: LocalGoogleIssuer, changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        google.verifier().verify_sync(google.mint_id_token(**changes))


def test_google_hosted_domain(google: LocalGoogleIssuer) -> None:
    verifier = google.verifier(hosted_domain="example.com")
    assert verifier.verify_sync(google.mint_id_token(hosted_domain="example.com"))["hd"] == "example.com"
    for token in (google.mint_id_token(), google.mint_id_token(hosted_domain="example.org")):
        with pytest.raises(InvalidClaimError) as caught:
            verifier.verify_sync(token)
        assert caught.value.claim == "hd"


def test_google_needs_an_audience() -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.google(audience=None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        JWTVerifier.google(audience="x", hosted_domain="@example.com")
