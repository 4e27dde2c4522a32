"""A user pool in moto's server mode: tokens from a real (emulated) Cognito API, verified end to end.

boto3 talks only to the moto server on 127.0.0.1, with dummy credentials set in the environment
(and the instance metadata service disabled), so no AWS endpoint or credential lookup is tried.

What moto does differently from Cognito, and how the test deals with it:

* Keys: moto serves the JWKS at ``{moto}/{pool}/.well-known/jwks.json`` over plain http, while the
  tokens' ``iss`` is the AWS form ``https://cognito-idp.{region}.amazonaws.com/{pool}``. The
  verifier keeps the AWS issuer and overrides ``jwks_url``, which is what the option is for.
* Every moto pool signs with one fixed RSA key (``kid: "dummy"``) whose private half ships inside
  moto, and ID and access tokens share it; real pools have their own key pair each. Tokens of one
  moto pool therefore carry a valid signature for every other: only ``iss`` tells them apart
  (which the verifier checks before the key).
* Token shapes: headers carry ``typ: JWT`` (Cognito sends only ``kid`` and ``alg``); access tokens
  have no ``version`` or ``event_id``, and the one scope ``aws.cognito.signin.user.admin``; pool
  ids are 32 hex characters after the region instead of 9 alphanumerics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import InvalidIssuerError, JWTAuthMiddleware, JWTUser, JWTVerifier, require_groups

boto3 = pytest.importorskip("boto3", reason="boto3 is a test dependency (moto[server])")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is a test dependency")

REGION = "us-east-1"
PASSWORD = "Correct-Horse-9!"


@dataclass(frozen=True)
class Pool:
    endpoint: str
    pool_id: str
    client_id: str
    id_token: str
    access_token: str

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"


@pytest.fixture(scope="module")
def aws_environment() -> Iterator[None]:
    """Dummy credentials and no metadata service, for the module (monkeypatch is function-scoped)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield


@pytest.fixture(scope="module")
def moto_endpoint(aws_environment: None) -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


def _pool(endpoint: str, name: str, *, group: str | None) -> Pool:
    cognito = _client(endpoint)
    pool_id = cognito.create_user_pool(PoolName=name)["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName=f"{name}-app", ExplicitAuthFlows=["ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(
        UserPoolId=pool_id, Username="alice", TemporaryPassword="Temporary-1!", MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True)
    if group is not None:
        cognito.create_group(GroupName=group, UserPoolId=pool_id)
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName=group)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return Pool(endpoint, pool_id, client_id, result["IdToken"], result["AccessToken"])


@pytest.fixture(scope="module")
def pool(moto_endpoint: str) -> Pool:
    return _pool(moto_endpoint, "orders", group="admins")


async def me(request: Request) -> JSONResponse:
    user = request.user
    assert isinstance(user, JWTUser)
    claims = user.claims
    return JSONResponse(
        {
            "sub": claims.subject,
            "username": claims.username,
            "token_use": claims.token_use,
            "groups": sorted(user.groups),
        }
    )


@require_groups("admins")
async def admin(request: Request) -> JSONResponse:
    return JSONResponse({"admin": True})


def app_for(verifier: JWTVerifier) -> TestClient:
    routes = [Route("/me", me), Route("/admin", admin)]
    return TestClient(JWTAuthMiddleware(Starlette(routes=routes), verifier=verifier))


def verifier_for(pool: Pool, **options: Any) -> JWTVerifier:
    return JWTVerifier.cognito(
        user_pool_id=pool.pool_id, client_id=pool.client_id, jwks_url=pool.jwks_url, **options
    )


def test_moto_issues_aws_form_issuers_and_serves_the_jwks_locally(pool: Pool) -> None:
    verifier = verifier_for(pool, token_use=None)
    classic = f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}"
    assert set(verifier.issuers) == {
        classic,
        f"https://issuer-cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}",
    }
    claims = verifier.verify_sync(pool.access_token)
    assert claims.issuer == classic
    assert claims.header == {"typ": "JWT", "kid": "dummy", "alg": "RS256"}


def test_id_token_through_the_middleware(pool: Pool) -> None:
    client = app_for(verifier_for(pool, token_use="id"))
    response = client.get("/me", headers={"Authorization": f"Bearer {pool.id_token}"})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert body["token_use"] == "id"
    assert body["groups"] == ["admins"]
    assert client.get("/admin", headers={"Authorization": f"Bearer {pool.id_token}"}).json() == {
        "admin": True
    }
    refused = client.get("/me", headers={"Authorization": f"Bearer {pool.access_token}"})
    assert refused.status_code == 401


def test_access_token_through_the_middleware(pool: Pool) -> None:
    verifier = verifier_for(pool, token_use="access", scopes=["aws.cognito.signin.user.admin"])
    client = app_for(verifier)
    response = client.get("/me", headers={"Authorization": f"Bearer {pool.access_token}"})
    assert response.status_code == 200
    assert response.json()["token_use"] == "access"
    assert client.get("/me", headers={"Authorization": f"Bearer {pool.id_token}"}).status_code == 401


def test_another_moto_pool_is_refused_by_issuer_although_its_signature_verifies(
    pool: Pool, moto_endpoint: str
) -> None:
    other = _pool(moto_endpoint, "other", group=None)
    verifier = verifier_for(pool, token_use="access")
    with pytest.raises(InvalidIssuerError):
        verifier.verify_sync(other.access_token)
    # The same key signed it: moto shares one key between all pools.
    assert verifier_for(other, token_use="access").verify_sync(other.access_token)
