"""``ClientCredentialsAuth`` against the local issuer's real token endpoint, over real HTTP.

The downstream service (``conftest.Downstream``) verifies every token it receives with the
issuer's published keys, so a passing call proves the token came from the grant, for the right
client and scope.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import anyio
import httpx2
import pytest
from cryptography.hazmat.primitives import serialization

from jwt_middleware import reasons
from jwt_middleware.errors import ConfigurationError
from jwt_middleware.oauth import ClientCredentialsAuth, TokenEndpointError
from jwt_middleware.testing import Fault, LocalIssuer, LoopbackServer, SigningKey
from jwt_middleware.testing.server import Request, Response
from tests.oauth.conftest import CLIENT_ID, CLIENT_SECRET, Downstream

pytestmark = pytest.mark.anyio


def credentials_auth(issuer: LocalIssuer, **options: object) -> ClientCredentialsAuth:
    options.setdefault("client_id", CLIENT_ID)
    options.setdefault("client_secret", CLIENT_SECRET)
    options.setdefault("scopes", ["orders/read"])
    return ClientCredentialsAuth(issuer.token_endpoint, **options)  # type: ignore[arg-type]


# -- the grant ------------------------------------------------------------------------------------------


def test_a_sync_client_calls_with_a_token_and_reuses_it(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer)
    with httpx2.Client(auth=auth) as client:
        for _ in range(5):
            answer = client.get(api.url)
            assert answer.status_code == 200
            assert answer.json()["client_id"] == CLIENT_ID
            assert answer.json()["scope"] == "orders/read"
    assert auth.token_requests == 1
    assert issuer.token_requests == 1
    assert len(set(api.tokens)) == 1


async def test_an_async_client_calls_with_a_token_and_reuses_it(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer, auth_method="client_secret_post")
    async with httpx2.AsyncClient(auth=auth) as client:
        for _ in range(5):
            assert (await client.get(api.url)).json()["client_id"] == CLIENT_ID
    assert issuer.token_requests == 1


def test_the_token_endpoint_from_the_issuers_discovery(issuer: LocalIssuer, api: Downstream) -> None:
    auth = ClientCredentialsAuth(issuer=issuer.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert httpx2.get(api.url, auth=auth).status_code == 200
    assert auth.tokens.endpoint.url == issuer.token_endpoint
    assert issuer.discovery_requests == 1


def test_the_token_for_other_clients(issuer: LocalIssuer) -> None:
    auth = credentials_auth(issuer, scopes="orders/read orders/write")
    token = auth.access_token_sync()
    claims = issuer.verifier().verify_sync(token)
    assert claims.scopes == {"orders/read", "orders/write"}
    assert anyio.run(auth.access_token) == token


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_private_key_jwt(issuer: LocalIssuer, api: Downstream, alg: str) -> None:
    key = SigningKey.generate(alg)
    issuer.register_client("signer", jwks={"keys": [key.public_jwk()]}, grant_types=["client_credentials"])
    auth = ClientCredentialsAuth(
        issuer.token_endpoint,
        client_id="signer",
        private_key=key.private_key,
        private_key_alg=alg,
        private_key_kid=key.kid,
        auth_method="private_key_jwt",
    )
    assert httpx2.get(api.url, auth=auth).json()["client_id"] == "signer"


def test_private_key_jwt_from_a_pem(issuer: LocalIssuer, api: Downstream) -> None:
    key = SigningKey.generate("RS256")
    issuer.register_client("signer", jwks={"keys": [key.public_jwk()]}, grant_types=["client_credentials"])
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    auth = ClientCredentialsAuth(
        issuer.token_endpoint, client_id="signer", private_key=pem, auth_method="private_key_jwt"
    )
    assert httpx2.get(api.url, auth=auth).status_code == 200


def test_cognito_machine_to_machine_app_client(api: Downstream) -> None:
    with LocalIssuer.cognito(user_pool_id="eu-west-1_M2mPool1") as pool:
        pool.register_client("m2m-client", "m2m-secret", grant_types=["client_credentials"])
        auth = ClientCredentialsAuth(
            pool.token_endpoint,  # production: https://<domain>.auth.<region>.amazoncognito.com/oauth2/token
            client_id="m2m-client",
            client_secret="m2m-secret",
            scopes=["orders/read", "orders/write"],
        )
        assert pool.token_endpoint.endswith("/oauth2/token")
        claims = pool.verifier(token_use="access", client_id="m2m-client").verify_sync(
            auth.access_token_sync()
        )
        assert claims["token_use"] == "access"
        assert claims.client_id == "m2m-client"
        assert claims.scopes == {"orders/read", "orders/write"}
        assert "username" not in claims


class TokenEndpoint:
    """A token endpoint of our own making: records each request and answers what it is told."""

    def __init__(self) -> None:
        self.server = LoopbackServer()
        self.requests: list[Request] = []
        self.answer = Response.json({"access_token": "tok-1", "token_type": "Bearer", "expires_in": 300})
        self.server.route("/token", self._token)

    def _token(self, request: Request) -> Response:
        self.requests.append(request)
        return self.answer

    @property
    def url(self) -> str:
        return self.server.url + "/token"


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    with endpoint.server:
        yield endpoint


def test_audience_and_resource_parameters(endpoint: TokenEndpoint) -> None:
    auth = ClientCredentialsAuth(
        endpoint.url,
        client_id="c",
        client_secret="s",
        scopes=["a", "b"],
        audience="https://api.example",
        resource=["https://one.example", "https://two.example"],
    )
    assert auth.access_token_sync() == "tok-1"
    (request,) = endpoint.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.body.decode() == (
        "grant_type=client_credentials&scope=a+b&audience=https%3A%2F%2Fapi.example"
        "&resource=https%3A%2F%2Fone.example&resource=https%3A%2F%2Ftwo.example"
    )
    assert request.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize("expires_in", [300, "300"])
def test_expires_in_as_a_number_or_digits(endpoint: TokenEndpoint, expires_in: object) -> None:
    endpoint.answer = Response.json({"access_token": "t", "token_type": "bearer", "expires_in": expires_in})
    auth = ClientCredentialsAuth(endpoint.url, client_id="c", client_secret="s")
    auth.access_token_sync()
    token = auth.tokens.cached
    assert token is not None
    assert token.expires_at - token.obtained_at == pytest.approx(300)


# -- lifetime -------------------------------------------------------------------------------------------


def test_an_expiring_token_is_replaced(issuer: LocalIssuer, api: Downstream) -> None:
    issuer.access_token_lifetime = 2  # usable for 1 s: the margin takes at most half
    auth = credentials_auth(issuer)
    first = auth.access_token_sync()
    assert auth.access_token_sync() == first
    time.sleep(1.1)
    second = auth.access_token_sync()
    assert second != first
    assert issuer.token_requests == 2
    assert httpx2.get(api.url, auth=auth).status_code == 200


def test_a_token_is_refreshed_ahead_in_the_background(issuer: LocalIssuer) -> None:
    issuer.access_token_lifetime = 4  # usable for 2 s, refreshed from 1.6 s on
    auth = credentials_auth(issuer)
    first = auth.access_token_sync()
    time.sleep(1.7)
    with issuer.server.fault(issuer.ENDPOINT_PATHS.token, Fault.delay(0.2)):
        started = time.monotonic()
        assert auth.access_token_sync() == first  # served at once while the refresh runs
        assert time.monotonic() - started < 0.15
        deadline = time.monotonic() + 5
        while auth.access_token_sync() == first and time.monotonic() < deadline:
            time.sleep(0.05)
    assert auth.access_token_sync() != first
    assert issuer.token_requests == 2


def test_a_token_without_expires_in_is_kept_for_the_default_lifetime(endpoint: TokenEndpoint) -> None:
    endpoint.answer = Response.json({"access_token": "t", "token_type": "Bearer"})
    auth = ClientCredentialsAuth(endpoint.url, client_id="c", client_secret="s", default_lifetime=1.0)
    auth.access_token_sync()
    auth.access_token_sync()
    assert len(endpoint.requests) == 1
    time.sleep(0.6)  # usable for 0.5 s
    auth.access_token_sync()
    assert len(endpoint.requests) == 2


# -- a 401 from the downstream service ------------------------------------------------------------------


def test_a_401_gets_a_new_token_and_one_retry(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer)
    first = auth.access_token_sync()
    api.refuse.add(first)
    with httpx2.Client(auth=auth) as client:
        answer = client.post(api.url, content=b"order-1")
    assert answer.status_code == 200
    assert answer.json()["body"] == "order-1"
    assert api.tokens[-2:] == [first, auth.access_token_sync()]
    assert api.tokens[-1] != first
    assert issuer.token_requests == 2


async def test_a_401_gets_a_new_token_and_one_retry_async(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer)
    api.refuse.add(await auth.access_token())
    async with httpx2.AsyncClient(auth=auth) as client:
        assert (await client.get(api.url)).status_code == 200
    assert issuer.token_requests == 2


def test_a_downstream_that_refuses_everything_costs_one_new_token(
    issuer: LocalIssuer, api: Downstream
) -> None:
    api.refuse_all = True
    auth = credentials_auth(issuer)
    with httpx2.Client(auth=auth) as client:
        for _ in range(10):
            assert client.get(api.url).status_code == 401
    assert issuer.token_requests == 2  # one more token for the first 401, none for the rest
    assert len(api.tokens) == 11


def test_a_streamed_body_is_not_sent_twice(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer)
    api.refuse.add(auth.access_token_sync())

    def body() -> Iterator[bytes]:
        yield b"once"

    with httpx2.Client(auth=auth) as client:
        assert client.post(api.url, content=body(), headers={"Content-Length": "4"}).status_code == 401
    assert len(api.tokens) == 1


# -- concurrency ----------------------------------------------------------------------------------------


async def test_500_concurrent_callers_make_one_token_request(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer)
    with issuer.server.fault(issuer.ENDPOINT_PATHS.token, Fault.delay(0.3)):
        async with httpx2.AsyncClient(
            auth=auth, limits=httpx2.Limits(max_connections=50), timeout=30
        ) as client:
            answers = await asyncio.gather(*(client.get(api.url) for _ in range(500)))
    assert {answer.status_code for answer in answers} == {200}
    assert issuer.token_requests == 1
    assert auth.token_requests == 1
    assert len(api.tokens) == 500
    assert len(set(api.tokens)) == 1


def test_32_threads_make_one_token_request(issuer: LocalIssuer, api: Downstream) -> None:
    auth = credentials_auth(issuer)
    start = threading.Barrier(32)
    statuses: list[int] = []

    def call(client: httpx2.Client) -> None:
        start.wait()
        statuses.append(client.get(api.url).status_code)

    with (
        issuer.server.fault(issuer.ENDPOINT_PATHS.token, Fault.delay(0.3)),
        httpx2.Client(auth=auth) as client,
    ):
        threads = [threading.Thread(target=call, args=(client,)) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert statuses == [200] * 32
    assert issuer.token_requests == 1
    assert auth.token_requests == 1


def test_threads_and_event_loops_together_make_one_token_request(issuer: LocalIssuer) -> None:
    auth = credentials_auth(issuer)
    start = threading.Barrier(8)
    tokens: list[str] = []

    def sync_caller() -> None:
        start.wait()
        tokens.append(auth.access_token_sync())

    def loop_caller() -> None:
        async def many() -> list[str]:
            return list(await asyncio.gather(*(auth.access_token() for _ in range(25))))

        start.wait()
        tokens.extend(asyncio.run(many()))

    with issuer.server.fault(issuer.ENDPOINT_PATHS.token, Fault.delay(0.3)):
        threads = [threading.Thread(target=sync_caller) for _ in range(4)]
        threads += [threading.Thread(target=loop_caller) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(tokens) == 4 + 4 * 25
    assert len(set(tokens)) == 1
    assert issuer.token_requests == 1


async def test_a_cancelled_caller_does_not_cancel_the_request_others_wait_for(issuer: LocalIssuer) -> None:
    auth = credentials_auth(issuer)
    with issuer.server.fault(issuer.ENDPOINT_PATHS.token, Fault.delay(0.4)):
        with anyio.move_on_after(0.1):
            await auth.access_token()
        assert await auth.access_token()
    assert issuer.token_requests == 1


# -- configuration --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"client_secret": None}, "needs client_secret"),
        ({"client_id": ""}, "client_id"),
        ({"auth_method": "client_secret_jwt"}, "auth_method"),
        ({"auth_method": "private_key_jwt"}, "private_key"),
        ({"timeout": 0}, "timeout"),
        ({"scopes": [""]}, "scopes"),
        ({"audience": ""}, "audience"),
    ],
)
def test_configuration_errors(issuer: LocalIssuer, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        credentials_auth(issuer, **options)


def test_where_the_token_endpoint_is_must_be_said_and_safe() -> None:
    with pytest.raises(ConfigurationError, match="token_url, or issuer"):
        ClientCredentialsAuth(client_id="c", client_secret="s")
    with pytest.raises(ConfigurationError, match="https"):
        ClientCredentialsAuth("http://idp.example/token", client_id="c", client_secret="s")
    with pytest.raises(ConfigurationError, match="credentials"):
        ClientCredentialsAuth("https://u:p@idp.example/token", client_id="c", client_secret="s")


def test_a_private_key_is_only_for_private_key_jwt(issuer: LocalIssuer) -> None:
    key = SigningKey.generate("ES256")
    with pytest.raises(ConfigurationError, match="private_key_jwt"):
        credentials_auth(issuer, private_key=key.private_key)
    with pytest.raises(ConfigurationError, match="2048"):
        ClientCredentialsAuth(
            issuer.token_endpoint,
            client_id="c",
            private_key=SigningKey.generate("RS256", rsa_bits=1024).private_key,
            auth_method="private_key_jwt",
        )


def test_tokens_are_reported_by_code(endpoint: TokenEndpoint) -> None:
    endpoint.answer = Response.json({"access_token": "t", "token_type": "DPoP", "expires_in": 60})
    auth = ClientCredentialsAuth(endpoint.url, client_id="c", client_secret="s")
    with pytest.raises(TokenEndpointError) as raised:
        auth.access_token_sync()
    assert raised.value.code == reasons.TOKEN_ENDPOINT_INVALID
