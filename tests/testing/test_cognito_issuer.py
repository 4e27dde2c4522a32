"""The Cognito preset: AWS-form issuer, keys on loopback, tokens shaped exactly like Cognito's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from jwt_middleware import (
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    JWTVerifier,
    b64,
)
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.testing import LocalCognitoIssuer, LocalIssuer
from jwt_middleware.testing.issuer import DEFAULT_LIFETIME

POOL = "eu-west-1_AbCdEf123"
CLIENT = "4example0client0id"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"

ID_CLAIMS = {"sub", "aud", "token_use", "cognito:username", "auth_time", "event_id", "origin_jti", "jti"}
ACCESS_CLAIMS = {
    "sub",
    "client_id",
    "token_use",
    "scope",
    "username",
    "auth_time",
    "event_id",
    "origin_jti",
    "jti",
    "version",
}
M2M_CLAIMS = {"sub", "client_id", "token_use", "scope", "auth_time", "jti", "version"}
STANDARD = {"iss", "iat", "exp"}


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64.decode(header)), json.loads(b64.decode(payload))


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalCognitoIssuer]:
    with LocalIssuer.cognito(user_pool_id=POOL, client_id=CLIENT) as issuer:
        yield issuer


def aws_verifier(pool: LocalCognitoIssuer, **options: object) -> JWTVerifier:
    """Configured exactly as in production, except for where the keys come from."""
    return JWTVerifier.cognito(user_pool_id=POOL, client_id=CLIENT, jwks_url=pool.jwks_url, **options)


def test_issuer_is_the_aws_one_while_keys_are_local(pool: LocalCognitoIssuer) -> None:
    assert pool.issuer == ISSUER
    assert pool.jwks_url.startswith("http://127.0.0.1:")
    assert (pool.user_pool_id, pool.client_id, pool.region) == (POOL, CLIENT, "eu-west-1")
    assert pool.current_key.alg == "RS256"
    assert pool.discovery_document()["issuer"] == ISSUER


def test_default_pool_and_client() -> None:
    with LocalIssuer.cognito() as issuer:
        assert issuer.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"
        assert issuer.client_id == "test-client"
        token = issuer.mint_access_token()
        assert issuer.verifier(token_use="access").verify_sync(token)["client_id"] == "test-client"


def test_id_token(pool: LocalCognitoIssuer) -> None:
    token = pool.mint_id_token(username="bob", groups=["admins", "staff"], email="bob@example.com")
    header, claims = decode(token)
    assert header == {"alg": "RS256", "kid": pool.id_token_key.kid}  # Cognito sends no typ
    assert set(claims) == ID_CLAIMS | STANDARD | {"cognito:groups", "email", "email_verified"}
    assert claims["token_use"] == "id"
    assert claims["aud"] == CLIENT
    assert claims["cognito:username"] == "bob"
    assert claims["cognito:groups"] == ["admins", "staff"]
    assert (claims["email"], claims["email_verified"]) == ("bob@example.com", True)
    assert claims["auth_time"] == claims["iat"]
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["iss"] == ISSUER
    uuid.UUID(str(claims["sub"]))
    assert len({claims["jti"], claims["origin_jti"], claims["event_id"]}) == 3

    verified = aws_verifier(pool, token_use="id").verify_sync(token)
    assert verified.groups == {"admins", "staff"}
    assert set(decode(pool.mint_id_token())[1]) == ID_CLAIMS | STANDARD  # no groups, no email


def test_access_token(pool: LocalCognitoIssuer) -> None:
    token = pool.mint_access_token(username="bob", scopes=("openid", "orders/read"), groups=["staff"])
    header, claims = decode(token)
    assert header == {"alg": "RS256", "kid": pool.current_key.kid}
    assert set(claims) == ACCESS_CLAIMS | STANDARD | {"cognito:groups"}
    assert "aud" not in claims
    assert (claims["token_use"], claims["client_id"], claims["username"]) == ("access", CLIENT, "bob")
    assert (claims["scope"], claims["version"]) == ("openid orders/read", 2)
    assert set(decode(pool.mint_access_token())[1]) == ACCESS_CLAIMS | STANDARD
    assert decode(pool.mint_access_token())[1]["scope"] == "openid email"

    verifier = aws_verifier(pool, token_use="access", scopes="orders/read", groups="staff")
    assert verifier.verify_sync(token).scopes == {"openid", "orders/read"}
    with pytest.raises(InsufficientScopeError):
        verifier.verify_sync(pool.mint_access_token(username="bob", groups=["staff"]))


def test_id_and_access_tokens_of_one_user_share_the_subject(pool: LocalCognitoIssuer) -> None:
    id_sub = decode(pool.mint_id_token(username="carol"))[1]["sub"]
    assert id_sub == decode(pool.mint_access_token(username="carol"))[1]["sub"] == pool.subject_for("carol")
    assert pool.subject_for("dave") != id_sub


def test_m2m_access_token(pool: LocalCognitoIssuer) -> None:
    token = pool.mint_m2m_access_token(scopes=["orders/read", "orders/write"])
    header, claims = decode(token)
    assert header == {"alg": "RS256", "kid": pool.current_key.kid}
    assert set(claims) == M2M_CLAIMS | STANDARD
    assert claims["sub"] == claims["client_id"] == CLIENT
    assert (claims["token_use"], claims["scope"], claims["version"]) == (
        "access",
        "orders/read orders/write",
        2,
    )
    assert decode(pool.mint_m2m_access_token())[1]["scope"] == "api/read"
    verified = aws_verifier(pool, token_use="access", scopes="orders/write").verify_sync(token)
    assert verified.subject == CLIENT


def test_token_types_are_not_interchangeable(pool: LocalCognitoIssuer) -> None:
    with pytest.raises(InvalidClaimError):
        aws_verifier(pool, token_use="access").verify_sync(pool.mint_id_token())
    with pytest.raises(InvalidClaimError):
        aws_verifier(pool, token_use="id").verify_sync(pool.mint_access_token())
    other_client = JWTVerifier.cognito(
        user_pool_id=POOL, client_id="another-client", token_use=None, jwks_url=pool.jwks_url
    )
    with pytest.raises(InvalidAudienceError):
        other_client.verify_sync(pool.mint_id_token())
    with pytest.raises(InvalidAudienceError):
        other_client.verify_sync(pool.mint_access_token())


def test_claims_can_be_overridden_and_removed(pool: LocalCognitoIssuer) -> None:
    _, claims = decode(pool.mint_access_token(expires_in=-10, origin_jti=None, **{"custom:tenant": "acme"}))
    assert "origin_jti" not in claims
    assert claims["custom:tenant"] == "acme"
    assert claims["exp"] == claims["iat"] + DEFAULT_LIFETIME  # expired, issued a lifetime before


def test_bound_verifier(pool: LocalCognitoIssuer) -> None:
    verifier = pool.verifier(token_use="id")
    assert set(verifier.issuers) == {ISSUER, ISSUER.replace("://cognito-idp.", "://issuer-cognito-idp.")}
    assert verifier.verify_sync(pool.mint_id_token(username="erin"))["cognito:username"] == "erin"
    with pytest.raises(ConfigurationError, match="token_use"):
        pool.verifier()  # as in production, the token type is a decision


def test_preset_rejects_what_it_derives() -> None:
    with pytest.raises(TypeError, match="derives"):
        LocalIssuer.cognito(issuer="https://x.example")
    with pytest.raises(ConfigurationError):
        LocalIssuer.cognito(user_pool_id="not-a-pool")
