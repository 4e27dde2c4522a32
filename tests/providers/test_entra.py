"""``JWTVerifier.entra``: v2.0 and v1.0 tokens, one tenant or an explicit list of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    IssuerTemplate,
    JWTVerifier,
)
from jwt_middleware.providers.entra import CONSUMERS_TENANT_ID
from jwt_middleware.testing import LocalEntraIssuer, LocalIssuer

HOME = "72f988bf-86f1-41af-91ab-2d7cd011db47"
PARTNER = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
STRANGER = "0b1d2c3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
API = "6e74172b-be56-4843-9ff4-e66a39bb12e3"


@pytest.fixture(scope="module")
def tenant() -> Iterator[LocalEntraIssuer]:
    with LocalIssuer.entra(tenant_id=HOME, client_id=API) as issuer:
        yield issuer


def test_the_preset_derives_issuers_and_keys() -> None:
    single = JWTVerifier.entra(tenant_id=HOME, audience=API)
    assert single.issuers == (f"https://login.microsoftonline.com/{HOME}/v2.0",)
    keys = single.key_sources[single.issuers[0]]
    assert keys.url == f"https://login.microsoftonline.com/{HOME}/discovery/v2.0/keys"  # type: ignore[attr-defined]
    both = JWTVerifier.entra(tenant_id=HOME, audience=API, versions=("1.0", "2.0"))
    assert set(both.issuers) == {
        f"https://sts.windows.net/{HOME}/",
        f"https://login.microsoftonline.com/{HOME}/v2.0",
    }
    assert len({id(source) for source in both.key_sources.values()}) == 1  # one key set for both forms
    multi = JWTVerifier.entra(tenant_id="organizations", audience=API, allowed_tenants=[HOME, PARTNER])
    assert multi.issuer_templates == (
        IssuerTemplate("https://login.microsoftonline.com/{tid}/v2.0", allowed=[HOME, PARTNER]),
    )
    common = multi.key_sources["https://login.microsoftonline.com/{tid}/v2.0"]
    assert common.url == "https://login.microsoftonline.com/common/discovery/v2.0/keys"  # type: ignore[attr-defined]
    consumers = JWTVerifier.entra(tenant_id="consumers", audience=API)
    assert consumers.issuers == (f"https://login.microsoftonline.com/{CONSUMERS_TENANT_ID}/v2.0",)


def test_a_v2_access_token_with_scopes_and_roles(tenant: LocalEntraIssuer) -> None:
    claims = tenant.verifier().verify_sync(
        tenant.mint_access_token(username="abe", scopes="Orders.Read Orders.Write", roles=["Orders.Admin"])
    )
    assert claims.scopes == {"Orders.Read", "Orders.Write"}
    assert claims.roles == {"Orders.Admin"}
    assert claims.permissions == frozenset()
    assert claims["tid"] == HOME
    assert claims["ver"] == "2.0"
    assert claims.username == "abe@contoso.com"
    assert claims.client_id == tenant.client_app_id  # azp


def test_an_app_only_token_carries_roles_and_no_scopes(tenant: LocalEntraIssuer) -> None:
    claims = tenant.verifier().verify_sync(tenant.mint_access_token(app_only=True, roles=["Orders.Sync"]))
    assert claims.roles == {"Orders.Sync"}
    assert claims.scopes == frozenset()
    assert claims["idtyp"] == "app"


def test_v1_tokens_only_when_asked(tenant: LocalEntraIssuer) -> None:
    v1 = tenant.mint_access_token(version="1.0")
    with pytest.raises(InvalidIssuerError):
        tenant.verifier(audience=[API, f"api://{API}"]).verify_sync(v1)
    both = tenant.verifier(versions=("1.0", "2.0"), audience=[API, f"api://{API}"])
    claims = both.verify_sync(v1)
    assert claims.issuer == f"https://sts.windows.net/{HOME}/"
    assert claims["ver"] == "1.0"
    assert both.verify_sync(tenant.mint_access_token())["ver"] == "2.0"
    only_v1 = tenant.verifier(versions="1.0", audience=[API, f"api://{API}"])
    with pytest.raises(InvalidIssuerError):
        only_v1.verify_sync(tenant.mint_access_token())


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"ver": "1.0"}, InvalidClaimError),  # v2.0 issuer, v1.0 version: one of them is lying
        ({"ver": None}, InvalidClaimError),
        ({"ver": 2}, InvalidClaimError),
        ({"tid": PARTNER}, InvalidClaimError),  # the home tenant's issuer, another tenant's tid
        ({"tid": None}, InvalidClaimError),
        ({"aud": "00000003-0000-0000-c000-000000000000"}, InvalidAudienceError),  # a Graph token
        ({"iss": f"https://login.microsoftonline.com/{HOME}/v2.0/"}, InvalidIssuerError),
        ({"iss": f"https://login.microsoftonline.com/{HOME.upper()}/v2.0"}, InvalidIssuerError),
    ],
)
def test_single_tenant_refusals(
    tenant: LocalEntraIssuer, changes: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        tenant.verifier().verify_sync(tenant.mint_access_token(**changes))


def test_another_tenants_token_is_refused_by_a_single_tenant_api(tenant: LocalEntraIssuer) -> None:
    with pytest.raises(InvalidIssuerError):
        tenant.verifier().verify_sync(tenant.mint_access_token(tenant_id=PARTNER))


def test_a_v1_token_claiming_v2_is_refused(tenant: LocalEntraIssuer) -> None:
    both = tenant.verifier(versions=("1.0", "2.0"), audience=[API, f"api://{API}"])
    with pytest.raises(InvalidClaimError):
        both.verify_sync(tenant.mint_access_token(version="1.0", ver="2.0"))


def test_multi_tenant_accepts_each_allowed_tenant_with_its_own_issuer(tenant: LocalEntraIssuer) -> None:
    verifier = tenant.verifier(tenant_id="organizations", allowed_tenants=[HOME, PARTNER])
    for tid in (HOME, PARTNER):
        claims = verifier.verify_sync(tenant.mint_access_token(tenant_id=tid, roles=["Orders.Read"]))
        assert claims["tid"] == tid
        assert claims.issuer == f"https://login.microsoftonline.com/{tid}/v2.0"
        assert claims.roles == {"Orders.Read"}


@pytest.mark.parametrize(
    ("changes", "claim"),
    [
        ({"tenant_id": STRANGER}, "tid"),  # a tenant this API does not serve
        ({"tid": None}, "iss"),  # no tid: the template cannot be filled
        ({"tid": PARTNER}, "iss"),  # HOME's issuer, PARTNER's tid: they must agree
        ({"tenant_id": PARTNER, "tid": HOME}, "iss"),
        ({"iss": "https://login.microsoftonline.com/{tid}/v2.0"}, "iss"),
        ({"iss": "https://login.microsoftonline.com/common/v2.0", "tid": "common"}, "tid"),
    ],
)
def test_multi_tenant_refusals(tenant: LocalEntraIssuer, changes: dict[str, Any], claim: str) -> None:
    verifier = tenant.verifier(tenant_id="common", allowed_tenants=[HOME, PARTNER])
    with pytest.raises(InvalidIssuerError) as caught:
        verifier.verify_sync(tenant.mint_access_token(**changes))
    assert caught.value.claim == claim


def test_multi_tenant_v1_tokens_use_the_v1_template(tenant: LocalEntraIssuer) -> None:
    verifier = tenant.verifier(
        tenant_id="organizations", allowed_tenants=[PARTNER], versions=("1.0",), audience=f"api://{API}"
    )
    assert verifier.verify_sync(tenant.mint_access_token(tenant_id=PARTNER, version="1.0"))["tid"] == PARTNER
    with pytest.raises(InvalidIssuerError):
        verifier.verify_sync(tenant.mint_access_token(tenant_id=PARTNER))


@pytest.mark.parametrize(
    "options",
    [
        {"tenant_id": "organizations"},  # allowed_tenants is required, explicitly
        {"tenant_id": "common", "allowed_tenants": None},
        {"tenant_id": "common", "allowed_tenants": []},
        {"tenant_id": "common", "allowed_tenants": ["contoso.onmicrosoft.com"]},
        {"tenant_id": HOME, "allowed_tenants": [HOME]},
        {"tenant_id": "contoso.onmicrosoft.com"},
        {"tenant_id": HOME, "versions": ("3.0",)},
        {"tenant_id": HOME, "issuer": "https://elsewhere"},
    ],
)
def test_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JWTVerifier.entra(audience=API, **options)


def test_id_tokens_name_the_client_app(tenant: LocalEntraIssuer) -> None:
    """The other token kind: an ID token names the signed-in app, not the API, in aud."""
    with pytest.raises(InvalidAudienceError):
        tenant.verifier().verify_sync(tenant.mint_id_token())
    app = tenant.verifier(audience=tenant.client_app_id)
    assert app.verify_sync(tenant.mint_id_token(username="abe"))["preferred_username"] == "abe@contoso.com"
