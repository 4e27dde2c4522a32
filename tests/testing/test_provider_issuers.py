"""The test kit's provider stand-ins mint tokens shaped like each provider's documented examples."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import JWTVerifier, b64
from jwt_middleware.safe_json import parse_object
from jwt_middleware.testing import (
    LocalAuth0Issuer,
    LocalEntraIssuer,
    LocalFirebaseIssuer,
    LocalGoogleIssuer,
    LocalIssuer,
    LocalKeycloakIssuer,
    LocalOktaIssuer,
)


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return dict(parse_object(b64.decode(header))), dict(parse_object(b64.decode(payload)))


@pytest.mark.parametrize(
    ("preset", "kind"),
    [
        ("auth0", LocalAuth0Issuer),
        ("entra", LocalEntraIssuer),
        ("keycloak", LocalKeycloakIssuer),
        ("okta", LocalOktaIssuer),
        ("google", LocalGoogleIssuer),
        ("firebase", LocalFirebaseIssuer),
    ],
)
def test_each_preset_is_a_local_issuer_and_refuses_a_hand_set_issuer(preset: str, kind: type) -> None:
    issuer = getattr(LocalIssuer, preset)()
    assert isinstance(issuer, kind)
    assert isinstance(issuer, LocalIssuer)
    with pytest.raises(TypeError):
        getattr(LocalIssuer, preset)(issuer="https://elsewhere.example")


def test_auth0_shapes() -> None:
    with LocalIssuer.auth0(domain="t.eu.auth0.com", audience="https://api.example.com") as auth0:
        header, access = _parts(auth0.mint_access_token(permissions=["read:orders"]))
        assert header == {"alg": "RS256", "kid": auth0.current_key.kid, "typ": "JWT"}
        assert set(access) == {"iss", "sub", "aud", "iat", "exp", "azp", "scope", "permissions"}
        assert access["iss"] == "https://t.eu.auth0.com/"
        assert access["aud"] == ["https://api.example.com", "https://t.eu.auth0.com/userinfo"]
        _, m2m = _parts(auth0.mint_m2m_access_token())
        assert m2m["sub"] == f"{auth0.client_id}@clients"
        assert m2m["aud"] == "https://api.example.com"
        _, id_token = _parts(auth0.mint_id_token())
        assert id_token["aud"] == auth0.client_id
        assert {"nickname", "name", "picture", "updated_at", "email", "email_verified", "sid"} <= set(
            id_token
        )


def test_entra_shapes() -> None:
    with LocalIssuer.entra() as entra:
        _, v2 = _parts(entra.mint_access_token(roles=["Orders.Read"]))
        assert v2["ver"] == "2.0"
        assert v2["iss"] == f"https://login.microsoftonline.com/{entra.tenant_id}/v2.0"
        assert v2["nbf"] == v2["iat"]
        assert {"aud", "azp", "azpacr", "oid", "preferred_username", "scp", "tid", "uti", "roles"} <= set(v2)
        _, v1 = _parts(entra.mint_access_token(version="1.0"))
        assert v1["iss"] == f"https://sts.windows.net/{entra.tenant_id}/"
        assert {"appid", "appidacr", "unique_name", "upn"} <= set(v1)
        _, app = _parts(entra.mint_access_token(app_only=True, roles=["Sync"]))
        assert "scp" not in app
        assert app["idtyp"] == "app"
        other = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
        _, foreign = _parts(entra.mint_access_token(tenant_id=other))
        assert foreign["tid"] == other
        assert other in foreign["iss"]
        _, expired = _parts(entra.mint_access_token(expires_in=-60))
        assert expired["iat"] == expired["nbf"] < expired["exp"]


def test_keycloak_serves_its_realm_where_keycloak_does() -> None:
    with LocalIssuer.keycloak(realm="shop", client_id="shop-api") as keycloak:
        assert keycloak.issuer == f"{keycloak.url}/realms/shop"
        assert keycloak.jwks_url == f"{keycloak.url}/realms/shop/protocol/openid-connect/certs"
        # OIDC discovery at the realm's own path, as a plain verifier would find it.
        discovering = JWTVerifier(issuer=keycloak.issuer, audience="shop-api")
        header, access = _parts(keycloak.mint_access_token(client_roles={"shop-api": ["refund"]}))
        assert discovering.verify_sync(keycloak.mint_access_token()).subject == access["sub"]
        assert keycloak.discovery_requests == 0  # the realm's document, not the root one
        assert access["typ"] == "Bearer"
        assert access["aud"] == ["shop-api", "account"]
        assert access["resource_access"]["shop-api"] == {"roles": ["refund"]}
        assert access["realm_access"]["roles"] == [
            "default-roles-shop",
            "offline_access",
            "uma_authorization",
        ]
        assert header["typ"] == "JWT"
        assert _parts(keycloak.mint_id_token())[1]["typ"] == "ID"
        assert _parts(keycloak.mint_refresh_token())[1]["typ"] == "Refresh"


def test_okta_google_firebase_shapes() -> None:
    with LocalIssuer.okta() as okta:
        header, access = _parts(okta.mint_access_token(groups=["Everyone"]))
        assert "typ" not in header
        assert access["ver"] == 1
        assert isinstance(access["scp"], list)
        assert {"cid", "uid", "jti", "auth_time"} <= set(access)
    with LocalIssuer.google() as google:
        _, id_token = _parts(google.mint_id_token(hosted_domain="example.com"))
        assert id_token["iss"] == "https://accounts.google.com"
        assert id_token["hd"] == "example.com"
        assert id_token["azp"] == id_token["aud"] == google.client_id
        assert _parts(google.mint_id_token(issuer="accounts.google.com"))[1]["iss"] == "accounts.google.com"
    with LocalIssuer.firebase(project_id="demo-app") as firebase:
        _, id_token = _parts(firebase.mint_id_token(uid="u1"))
        assert id_token["iss"] == "https://securetoken.google.com/demo-app"
        assert id_token["aud"] == "demo-app"
        assert id_token["sub"] == id_token["user_id"] == "u1"
        assert id_token["firebase"]["sign_in_provider"] == "password"
        certificates = firebase.certificates()
        assert set(certificates) == {firebase.current_key.kid}
        assert certificates[firebase.current_key.kid].startswith("-----BEGIN CERTIFICATE-----")
        firebase.rotate()
        assert len(firebase.certificates()) == 2
