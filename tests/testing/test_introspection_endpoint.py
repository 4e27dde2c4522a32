"""The local issuer's RFC 7662 introspection endpoint, opaque access tokens and private_key_jwt.

Driven over real HTTP the way a resource server and a machine client drive a provider: form
posts with client authentication, including every refusal a real provider makes (a wrong
secret, a public client, a replayed or mis-addressed client assertion).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from jwt_middleware.errors import JWTMiddlewareError
from jwt_middleware.testing import LocalIssuer, SigningKey, encode_compact
from jwt_middleware.testing.authorization import CLIENT_ASSERTION_TYPE

RESOURCE = ("orders-api", "orders-secret")


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="orders") as issuer:
        issuer.register_client(*RESOURCE, grant_types=["client_credentials"])
        yield issuer


@pytest.fixture(scope="module")
def machine_key(issuer: LocalIssuer) -> SigningKey:
    key = SigningKey.generate("ES256")
    issuer.register_client("machine", jwks={"keys": [key.public_jwk()]}, grant_types=["client_credentials"])
    return key


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(follow_redirects=False, timeout=10) as client:
        yield client


def introspect(issuer: LocalIssuer, http: httpx2.Client, token: str, auth: Any = RESOURCE) -> httpx2.Response:
    return http.post(issuer.introspection_endpoint, data={"token": token}, auth=auth)


def client_credentials(issuer: LocalIssuer, http: httpx2.Client, scope: str = "orders/read") -> str:
    answer = http.post(
        issuer.token_endpoint, data={"grant_type": "client_credentials", "scope": scope}, auth=RESOURCE
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


# -- introspection --------------------------------------------------------------------------------------


def test_discovery_lists_introspection_and_private_key_jwt(issuer: LocalIssuer, http: httpx2.Client) -> None:
    document = http.get(issuer.discovery_url).json()
    assert document["introspection_endpoint"] == issuer.url + "/introspect"
    assert "private_key_jwt" in document["introspection_endpoint_auth_methods_supported"]
    assert "none" not in document["introspection_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "ES256" in document["token_endpoint_auth_signing_alg_values_supported"]


def test_a_jwt_access_token_introspects_as_its_claims(issuer: LocalIssuer, http: httpx2.Client) -> None:
    token = client_credentials(issuer, http)
    answer = introspect(issuer, http, token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    claims = issuer.verifier().verify_sync(token)
    assert body == {**claims, "active": True, "token_type": "Bearer"}


def test_opaque_access_tokens_are_described_only_by_introspection(http: httpx2.Client) -> None:
    with LocalIssuer(audience="orders", opaque_access_tokens=True) as issuer:
        issuer.register_client(*RESOURCE, grant_types=["client_credentials"])
        token = client_credentials(issuer, http)
        assert token.count(".") == 0
        assert len(token) >= 40
        with pytest.raises(JWTMiddlewareError):
            issuer.verifier().verify_sync(token)
        body = introspect(issuer, http, token).json()
        assert body["active"] is True
        assert body["client_id"] == "orders-api"
        assert body["scope"] == "orders/read"
        assert body["iss"] == issuer.issuer
        assert body["aud"] == "orders"
        assert body["exp"] > time.time()
        issuer.opaque_access_tokens = False
        assert client_credentials(issuer, http).count(".") == 2


def test_mint_opaque(issuer: LocalIssuer, http: httpx2.Client) -> None:
    token = issuer.mint_opaque(sub="bob", scope=["orders/read", "orders/write"], username="bob")
    body = introspect(issuer, http, token).json()
    assert body["active"] is True
    assert body["sub"] == "bob"
    assert body["username"] == "bob"
    assert body["scope"] == "orders/read orders/write"
    assert body["client_id"] == "test-client"
    assert body["aud"] == "orders"
    assert body["iss"] == issuer.issuer


def test_expired_revoked_and_unknown_tokens_are_inactive(issuer: LocalIssuer, http: httpx2.Client) -> None:
    expired = issuer.mint_opaque(expires_in=-10)
    assert introspect(issuer, http, expired).json() == {"active": False}
    revoked = issuer.mint_opaque()
    assert introspect(issuer, http, revoked).json()["active"] is True
    issuer.revoke(revoked)
    assert introspect(issuer, http, revoked).json() == {"active": False}
    assert introspect(issuer, http, "never-issued-here").json() == {"active": False}
    at_the_endpoint = client_credentials(issuer, http)
    http.post(issuer.revocation_endpoint, data={"token": at_the_endpoint}, auth=RESOURCE)
    assert introspect(issuer, http, at_the_endpoint).json() == {"active": False}


def test_introspection_needs_an_authenticated_confidential_client(
    issuer: LocalIssuer, http: httpx2.Client
) -> None:
    token = issuer.mint_opaque()
    wrong = introspect(issuer, http, token, auth=("orders-api", "not-the-secret"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    public = http.post(issuer.introspection_endpoint, data={"token": token, "client_id": "orders"})
    assert public.status_code in (400, 401)
    assert public.json()["error"] == "invalid_client"
    assert http.get(issuer.introspection_endpoint).status_code == 405
    assert (
        http.post(issuer.introspection_endpoint, data={}, auth=RESOURCE).json()["error"] == "invalid_request"
    )


def test_requests_are_counted(issuer: LocalIssuer, http: httpx2.Client) -> None:
    before = issuer.introspection_requests
    introspect(issuer, http, "x")
    assert issuer.introspection_requests == before + 1


def test_cognito_has_no_introspection_endpoint(http: httpx2.Client) -> None:
    with LocalIssuer.cognito() as pool:
        assert "introspection_endpoint" not in pool.discovery_document()
        assert http.post(pool.url + "/introspect", data={"token": "x"}).status_code == 404
        with pytest.raises(RuntimeError, match="no introspection"):
            _ = pool.introspection_endpoint
        assert pool.introspection_requests == 0


# -- private_key_jwt ------------------------------------------------------------------------------------


def assertion(key: SigningKey, *, audience: str, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "machine",
        "sub": "machine",
        "aud": audience,
        "jti": secrets.token_urlsafe(12),
        "iat": now,
        "exp": now + 60,
    }
    claims.update(overrides)
    return encode_compact({name: value for name, value in claims.items() if value is not None}, key)


def assertion_form(signed: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": signed, **extra}


def test_private_key_jwt_at_the_token_endpoint(
    issuer: LocalIssuer, machine_key: SigningKey, http: httpx2.Client
) -> None:
    form = assertion_form(
        assertion(machine_key, audience=issuer.token_endpoint), grant_type="client_credentials"
    )
    answer = http.post(issuer.token_endpoint, data={**form, "scope": "orders/read"})
    assert answer.status_code == 200, answer.text
    assert issuer.verifier().verify_sync(answer.json()["access_token"])["client_id"] == "machine"
    replayed = http.post(issuer.token_endpoint, data=form)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_client"


def test_private_key_jwt_at_the_introspection_endpoint(
    issuer: LocalIssuer, machine_key: SigningKey, http: httpx2.Client
) -> None:
    token = issuer.mint_opaque()
    # The issuer's own identifier is an audience too (RFC 7523 section 3).
    form = assertion_form(assertion(machine_key, audience=issuer.issuer), token=token)
    assert http.post(issuer.introspection_endpoint, data=form).json()["active"] is True


@pytest.mark.parametrize(
    ("why", "overrides"),
    [
        ("addressed to another server", {"aud": "https://elsewhere.example/token"}),
        ("expired", {"exp": int(time.time()) - 120, "iat": int(time.time()) - 180}),
        ("without exp", {"exp": None}),
        ("living too long", {"exp": int(time.time()) + 3600}),
        ("without jti", {"jti": None}),
        ("from another issuer", {"iss": "someone-else"}),
        ("about another client", {"sub": "orders-api"}),
    ],
)
def test_client_assertion_refusals(
    issuer: LocalIssuer, machine_key: SigningKey, http: httpx2.Client, why: str, overrides: dict[str, Any]
) -> None:
    audience = overrides.pop("aud", issuer.token_endpoint)
    token = assertion(machine_key, audience=audience, **overrides)
    answer = http.post(issuer.token_endpoint, data=assertion_form(token, grant_type="client_credentials"))
    assert answer.status_code == 401, why
    assert answer.json()["error"] == "invalid_client", why


def test_an_assertion_signed_by_another_key_is_refused(
    issuer: LocalIssuer, machine_key: SigningKey, http: httpx2.Client
) -> None:
    forger = SigningKey(SigningKey.generate("ES256").private_key, alg="ES256", kid=machine_key.kid)
    token = assertion(forger, audience=issuer.token_endpoint)
    answer = http.post(issuer.token_endpoint, data=assertion_form(token, grant_type="client_credentials"))
    assert answer.status_code == 401


def test_an_assertion_for_a_client_registered_without_keys_is_refused(
    issuer: LocalIssuer, machine_key: SigningKey, http: httpx2.Client
) -> None:
    token = assertion(machine_key, audience=issuer.token_endpoint, iss="orders-api", sub="orders-api")
    form = assertion_form(token, grant_type="client_credentials")
    assert http.post(issuer.token_endpoint, data=form).status_code == 401


def test_a_client_registered_with_keys_has_no_secret(
    issuer: LocalIssuer, machine_key: SigningKey, http: httpx2.Client
) -> None:
    answer = http.post(
        issuer.token_endpoint, data={"grant_type": "client_credentials"}, auth=("machine", "guessed")
    )
    assert answer.status_code == 401


def test_the_introspection_and_assertion_paths_never_import_authlib_jose() -> None:
    script = (
        "import sys\n"
        "from tests.testing.test_introspection_endpoint import assertion, assertion_form\n"
        "from jwt_middleware.testing import LocalIssuer, SigningKey\n"
        "import httpx2\n"
        "key = SigningKey.generate('ES256')\n"
        "with LocalIssuer(opaque_access_tokens=True) as issuer:\n"
        "    issuer.register_client('machine', jwks={'keys': [key.public_jwk()]},"
        " grant_types=['client_credentials'])\n"
        "    form = assertion_form(assertion(key, audience=issuer.token_endpoint),"
        " grant_type='client_credentials')\n"
        "    token = httpx2.post(issuer.token_endpoint, data=form).json()['access_token']\n"
        "    form = assertion_form(assertion(key, audience=issuer.introspection_endpoint), token=token)\n"
        "    assert httpx2.post(issuer.introspection_endpoint, data=form).json()['active'] is True\n"
        "assert 'authlib.jose' not in sys.modules, 'authlib.jose was imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
