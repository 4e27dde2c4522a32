"""No client secret, private key, client assertion or token in any log, repr or exception message.

One run through every path (grants with each client authentication, a downstream 401, each token
endpoint and introspection fault, introspection accepting and refusing, forwarding) with every
logger at DEBUG; then everything that came out is searched for every secret that went in.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives import serialization

from jwt_middleware.errors import JWTMiddlewareException
from jwt_middleware.oauth import (
    ClientCredentialsAuth,
    IntrospectionAuthenticator,
    forward_token,
)
from jwt_middleware.testing import Fault, LocalIssuer, LoopbackServer, SigningKey
from jwt_middleware.testing.server import Request, Response
from tests.oauth.conftest import AUDIENCE, CLIENT_ID, CLIENT_SECRET, RESOURCE_ID, RESOURCE_SECRET, Downstream


class Witness:
    """Collects everything the library shows: reprs, exception texts; the logs come from caplog."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def look_at(self, *objects: object) -> None:
        for item in objects:
            self.shown.append(repr(item))
            self.shown.append(str(item))

    def run(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except JWTMiddlewareException as error:
            self.look_at(error, error.args, vars(error))
            if error.__cause__ is not None or error.__context__ is not None:
                self.look_at(error.__cause__, error.__context__)
            return None


@pytest.fixture
def recording_endpoint() -> Iterator[tuple[LoopbackServer, list[Request]]]:
    """A token endpoint that keeps what clients send it (to know the assertions they signed)."""
    seen: list[Request] = []

    def token(request: Request) -> Response:
        seen.append(request)
        return Response.json(
            {"access_token": "recorded-token-0123456789", "token_type": "Bearer", "expires_in": 60}
        )

    server = LoopbackServer()
    server.route("/token", token)
    with server:
        yield server, seen


def test_nothing_secret_comes_out(
    issuer: LocalIssuer,
    api: Downstream,
    recording_endpoint: tuple[LoopbackServer, list[Request]],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    witness = Witness()
    secrets_in: list[str] = [CLIENT_SECRET, RESOURCE_SECRET]

    key = SigningKey.generate("ES256")
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    secrets_in += [line for line in pem.splitlines() if not line.startswith("-----")]
    secrets_in.append(str(key.private_key.private_numbers().private_value))
    issuer.register_client("signer", jwks={"keys": [key.public_jwk()]}, grant_types=["client_credentials"])

    # -- grants with every client authentication, and a downstream 401 --------------------------
    for options in (
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "auth_method": "client_secret_post"},
        {"client_id": "signer", "private_key": pem, "auth_method": "private_key_jwt"},
    ):
        auth = ClientCredentialsAuth(issuer.token_endpoint, scopes=["orders/read"], timeout=1.0, **options)  # type: ignore[arg-type]
        with httpx2.Client(auth=auth) as client:
            api.refuse.add(auth.access_token_sync())
            assert client.get(api.url).status_code == 200
        witness.look_at(auth, auth.tokens, auth.tokens.cached, auth.tokens.client, auth.tokens.endpoint)
        for holder in (auth, auth.tokens.client):
            with pytest.raises(TypeError):
                pickle.dumps(holder)
    recorder, seen = recording_endpoint
    signer = ClientCredentialsAuth(
        recorder.url + "/token", client_id="signer", private_key=pem, auth_method="private_key_jwt"
    )
    secrets_in.append(signer.access_token_sync())
    secrets_in += [
        field.split("=", 1)[1]
        for request in seen
        for field in request.body.decode().split("&")
        if field.startswith("client_assertion=")
    ]
    witness.look_at(signer, signer.tokens.cached)

    # -- token endpoint faults --------------------------------------------------------------------
    for path, fault in (
        (None, Fault.refuse()),
        ("/token", Fault.delay(5)),
        ("/token", Fault.status(500)),
        ("/token", Fault.body("<html>oops</html>", content_type="text/html")),
        ("/token", Fault.body('{"error":"invalid_scope"}', status=400)),
    ):
        with issuer.server.fault(path, fault):
            failing = ClientCredentialsAuth(
                issuer.token_endpoint, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, timeout=0.5
            )
            witness.run(failing.access_token_sync)
            witness.run(lambda failing=failing: httpx2.get(api.url, auth=failing))
    wrong = ClientCredentialsAuth(
        issuer.token_endpoint, client_id=CLIENT_ID, client_secret=CLIENT_SECRET + "x"
    )
    witness.run(wrong.access_token_sync)

    # -- introspection ----------------------------------------------------------------------------
    introspection = IntrospectionAuthenticator(
        issuer.introspection_endpoint,
        issuer.issuer,
        client_id=RESOURCE_ID,
        client_secret=RESOURCE_SECRET,
        audience=AUDIENCE,
        jwt_verifier=issuer.verifier(),
        timeout=0.5,
    )
    opaque = [issuer.mint_opaque(), issuer.mint_opaque(expires_in=-1), issuer.mint_opaque(aud="other")]
    secrets_in += opaque
    for token in opaque:
        witness.run(lambda token=token: introspection.introspect_sync(token))
    with issuer.server.fault("/introspect", Fault.status(500)):
        fresh = issuer.mint_opaque()
        secrets_in.append(fresh)
        witness.run(lambda: introspection.introspect_sync(fresh))
    wrong_resource = IntrospectionAuthenticator(
        issuer.introspection_endpoint, client_id=RESOURCE_ID, client_secret=RESOURCE_SECRET + "x"
    )
    witness.run(lambda: wrong_resource.introspect_sync(opaque[0]))
    witness.look_at(introspection, introspection.cache, wrong_resource, introspection.client)

    # -- forwarding ---------------------------------------------------------------------------------
    forwarded = forward_token({"REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": f"Bearer {opaque[0]}"})
    witness.look_at(forwarded)

    secrets_in += api.tokens
    out, err = capfd.readouterr()
    # Every record counts, the test kit's too: its authorization server is Authlib's, whose grants
    # log each token they issue at DEBUG, and the kit drops those records.
    records = caplog.records
    logs = [record.getMessage() for record in records] + [repr(record.args) for record in records]
    everything = "\n".join([*witness.shown, *logs, out, err])
    assert caplog.records, "the run logged nothing: the search below would prove nothing"
    assert any("token request" in line for line in logs)
    assert any("introspection" in line for line in logs)
    for secret in secrets_in:
        if secret and secret in everything:
            at = everything.index(secret)
            print("leaked after:", repr(everything[max(0, at - 300) : at]))
    leaked = sorted({secret[:12] + "..." for secret in secrets_in if secret and secret in everything})
    assert leaked == []
    assert "eyJ" not in everything  # no JWT of any kind (tokens, assertions)
