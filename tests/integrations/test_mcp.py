"""An MCP server protected by our verifier, driven by the ``mcp`` SDK's own client over real HTTP.

The server is the SDK's ``MCPServer`` (Streamable HTTP) under a real uvicorn on 127.0.0.1, with
``MCPTokenVerifier`` as its ``TokenVerifier`` and ``protect`` in front; tokens come from a
``LocalIssuer``. What the MCP authorization spec asks of a server is checked on the wire: the
RFC 9728 document, ``resource_metadata`` in the 401 challenge, audience-bound tokens; then the
SDK's client calls a tool with a bearer token, with a DPoP-bound one, and through the SDK's
whole OAuth flow (discovery from the challenge, authorization code with PKCE at the issuer).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from pydantic import AnyUrl

from jwt_middleware import ProtectedResourceMetadata
from jwt_middleware.integrations.mcp import MCPTokenVerifier
from jwt_middleware.testing import DPoPKey, LocalIssuer
from tests.middleware.test_uvicorn import RunningServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _free_port() -> int:
    """A port nothing listens on (for URLs that must be refused), not one to serve on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _listening_socket() -> socket.socket:
    """A socket bound here first and handed to uvicorn, so no other process on this machine (tests
    run in parallel) can take its port between choosing it and serving on it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


class MCPDeployment:
    """A LocalIssuer, and an MCP server whose resource is ``http://127.0.0.1:{port}/mcp``."""

    def __init__(self, issuer: LocalIssuer, sock: socket.socket) -> None:
        self.issuer = issuer
        self.port: int = sock.getsockname()[1]
        self.resource = f"http://127.0.0.1:{self.port}/mcp"
        verifier = issuer.verifier(audience=self.resource)
        metadata = ProtectedResourceMetadata(resource=self.resource, scopes_supported=["tools:call"])
        self.token_verifier = MCPTokenVerifier(verifier, resource_metadata=metadata)
        server = MCPServer(
            "orders", token_verifier=self.token_verifier, auth=self.token_verifier.auth_settings()
        )

        @server.tool()
        def whoami() -> str:
            """Who the request's token names."""
            token = get_access_token()
            return f"{token.subject} via {token.client_id}" if token is not None else "nobody"

        self.running = RunningServer(self.token_verifier.protect(server.streamable_http_app()), sock=sock)

    def __enter__(self) -> MCPDeployment:
        self.running.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.running.__exit__(*exc_info)


@pytest.fixture
def deployment() -> Iterator[MCPDeployment]:
    sock = _listening_socket()
    # The issuer's tokens name the MCP server as their audience (the resource, RFC 8707).
    resource = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    with (
        LocalIssuer(alg="ES256", audience=resource, auto_approve=True) as issuer,
        MCPDeployment(issuer, sock) as running,
    ):
        yield running


async def _call_whoami(url: str, http_client: httpx2.AsyncClient) -> str:
    async with http_client, Client(streamable_http_client(url, http_client=http_client)) as client:
        result = await client.call_tool("whoami", {})
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def test_the_server_publishes_rfc9728_metadata_and_names_it_in_challenges(
    deployment: MCPDeployment,
) -> None:
    async with httpx2.AsyncClient() as http:
        refused = await http.post(deployment.resource, json={})
        metadata_url = f"http://127.0.0.1:{deployment.port}/.well-known/oauth-protected-resource/mcp"
        document = (await http.get(metadata_url)).json()
        plain = (
            await http.get(f"http://127.0.0.1:{deployment.port}/.well-known/oauth-protected-resource")
        ).json()
    assert refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="mcp", resource_metadata="{metadata_url}", DPoP algs="')
    assert document == plain
    assert document["resource"] == deployment.resource
    assert document["authorization_servers"] == [deployment.issuer.issuer]
    assert document["scopes_supported"] == ["tools:call"]
    assert document["bearer_methods_supported"] == ["header"]
    assert "ES256" in document["dpop_signing_alg_values_supported"]


async def test_the_sdk_client_calls_a_tool_with_a_bearer_token(deployment: MCPDeployment) -> None:
    token = deployment.issuer.mint(aud=deployment.resource, sub="alice", client_id="cli")
    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    assert await _call_whoami(deployment.resource, client) == "alice via cli"


async def test_a_token_for_another_resource_is_refused(deployment: MCPDeployment) -> None:
    token = deployment.issuer.mint(aud="http://127.0.0.1:1/other", sub="alice")
    async with httpx2.AsyncClient() as http:
        response = await http.post(deployment.resource, json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_the_sdk_client_calls_a_tool_with_a_dpop_bound_token(deployment: MCPDeployment) -> None:
    key = DPoPKey.generate()
    token = deployment.issuer.mint(aud=deployment.resource, sub="bob", client_id="agent", dpop_key=key)
    assert (
        await _call_whoami(deployment.resource, httpx2.AsyncClient(auth=key.auth(token))) == "bob via agent"
    )
    async with httpx2.AsyncClient() as http:  # the same token as a bearer one is refused
        response = await http.post(deployment.resource, json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "DPoP error=" in response.headers["www-authenticate"]


async def test_the_sdk_oauth_flow_discovers_the_issuer_through_our_metadata(
    deployment: MCPDeployment,
) -> None:
    from mcp.client.auth import OAuthClientProvider, TokenStorage
    from mcp.shared.auth import (
        AuthorizationCodeResult,
        OAuthClientInformationFull,
        OAuthClientMetadata,
        OAuthToken,
    )

    redirect_uri = "http://127.0.0.1:9/callback"
    issuer = deployment.issuer

    class Storage(TokenStorage):
        tokens: OAuthToken | None = None

        async def get_tokens(self) -> OAuthToken | None:
            return self.tokens

        async def set_tokens(self, tokens: OAuthToken) -> None:
            self.tokens = tokens

        async def get_client_info(self) -> OAuthClientInformationFull | None:
            return OAuthClientInformationFull(
                client_id=issuer.default_client_id, redirect_uris=[AnyUrl(redirect_uri)]
            )

        async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
            pass

    codes: list[AuthorizationCodeResult] = []

    async def redirect(authorization_url: str) -> None:
        # The issuer approves at once (auto_approve) and redirects back with the code.
        async with httpx2.AsyncClient() as browser:
            answer = await browser.get(authorization_url)
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        codes.append(
            AuthorizationCodeResult(
                code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
            )
        )

    async def callback() -> AuthorizationCodeResult:
        return codes.pop()

    storage = Storage()
    provider = OAuthClientProvider(
        server_url=deployment.resource,
        client_metadata=OAuthClientMetadata(redirect_uris=[redirect_uri], client_name="tests"),  # type: ignore[list-item]
        storage=storage,
        redirect_handler=redirect,
        callback_handler=callback,
    )
    text = await _call_whoami(deployment.resource, httpx2.AsyncClient(auth=provider))
    assert text.endswith(f"via {issuer.default_client_id}")
    assert storage.tokens is not None
    claims: dict[str, Any] = deployment.token_verifier.verifier.verify_sync(storage.tokens.access_token)
    assert claims["aud"] == deployment.resource


def test_a_verifier_that_accepts_any_audience_is_refused() -> None:
    from jwt_middleware import ConfigurationError, JWTVerifier

    verifier = JWTVerifier(issuer="https://issuer.test", audience=None, jwks={"keys": []})
    with pytest.raises(ConfigurationError):
        MCPTokenVerifier(verifier)


async def test_verify_token_alone_refuses_bad_and_bound_tokens(deployment: MCPDeployment) -> None:
    token_verifier = deployment.token_verifier
    issuer = deployment.issuer
    good = await token_verifier.verify_token(issuer.mint(sub="carol", client_id="c"))
    assert good is not None
    assert (good.subject, good.client_id, good.resource) == ("carol", "c", deployment.resource)
    assert await token_verifier.verify_token(issuer.mint_expired()) is None
    bound = issuer.mint(dpop_key=DPoPKey.generate())
    assert await token_verifier.verify_token(bound) is None  # its proof was never seen


async def test_the_edge_answers_503_when_the_keys_cannot_be_fetched() -> None:
    from starlette.testclient import TestClient

    from jwt_middleware import JWTVerifier

    resource = "http://127.0.0.1:9/mcp"
    with LocalIssuer(audience=resource) as issuer:
        token = issuer.mint()
        dead = JWTVerifier(
            issuer=issuer.issuer, audience=resource, jwks_url=f"http://127.0.0.1:{_free_port()}/jwks"
        )
        metadata = ProtectedResourceMetadata(resource=resource, authorization_servers=[issuer.issuer])
        token_verifier = MCPTokenVerifier(dead, resource_metadata=metadata)
        server = MCPServer("orders", token_verifier=token_verifier, auth=token_verifier.auth_settings())
        app = token_verifier.protect(server.streamable_http_app())
        with TestClient(app, base_url="http://127.0.0.1:9") as client:
            response = client.post("/mcp", json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["retry-after"]
