"""``ClientCredentialsAuth``: an ``httpx2.Auth`` that calls other services with a token of our own.

Give it to any ``httpx2.Client`` or ``httpx2.AsyncClient`` (``auth=`` on the client or on one
request) and every request goes out with ``Authorization: Bearer <token>``, the token coming from
the OAuth 2.0 client-credentials grant (RFC 6749 4.4) at the provider's token endpoint. It is what
a Cognito machine-to-machine app client, an Auth0 machine-to-machine application, an Entra ID
daemon app or a Keycloak service account does to call an API.

The flows follow httpx2's ``Auth`` API: ``sync_auth_flow`` for ``Client`` and ``async_auth_flow``
for ``AsyncClient``, over one token cache (``token_source.ClientCredentialsTokens``). A 401 from the
downstream service drops the token it was sent with and the request is sent once more with a new
one (a service may have revoked it, or rotated keys under it); a second 401 is the answer. A
request whose body is a stream (it cannot be sent twice) keeps its first 401.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterable
from typing import Any

import httpx2

from jwt_middleware.errors import ConfigurationError
from jwt_middleware.network import NetworkSettings
from jwt_middleware.oauth.client_auth import ClientAuthentication
from jwt_middleware.oauth.endpoints import ProviderEndpoint
from jwt_middleware.oauth.token_source import ClientCredentialsTokens, token_request_form
from jwt_middleware.oauth.token_state import AccessToken, TokenPolicy
from jwt_middleware.signing import PrivateKey

__all__ = ["ClientCredentialsAuth"]


def _names(value: str | Iterable[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    names = tuple(value.split()) if isinstance(value, str) else tuple(value)
    if not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError(f"{what} must be a string or a list of non-empty strings")
    return names


class ClientCredentialsAuth(httpx2.Auth):
    """Attach a client-credentials access token to every request, for sync and async clients.

    The token endpoint is ``token_url``, or found in ``issuer``'s discovery document. The client
    authenticates with ``auth_method``: ``client_secret_basic`` (default) or ``client_secret_post``
    with ``client_secret``, or ``private_key_jwt`` (RFC 7523) with ``private_key``, a
    ``cryptography`` private key or its PEM (``private_key_alg`` and ``private_key_kid`` choose the
    assertion's ``alg`` and ``kid``). ``scopes`` (Cognito resource-server scopes such as
    ``orders/read``), ``audience`` (Auth0's API identifier) and ``resource`` (RFC 8707, one URI or
    several) shape the token asked for.

    The token is cached until ``expiry_margin`` seconds before it expires (a token without
    ``expires_in`` for ``default_lifetime``), refreshed in the background before that, and asked
    for once however many tasks and threads need it at the same moment. A token request takes at
    most ``timeout`` seconds, retries included; when it fails, ``TokenEndpointError`` is raised from
    the request being sent, and for a short backoff every request fails the same way at once.
    ``network`` is how the token endpoint is reached (proxy, CA bundle, client certificate).
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        token_url: str | None = None,
        issuer: str | None = None,
        *,
        client_id: str,
        client_secret: str | None = None,
        private_key: PrivateKey | str | bytes | None = None,
        auth_method: str = "client_secret_basic",
        scopes: str | Iterable[str] = (),
        audience: str | None = None,
        resource: str | Iterable[str] | None = None,
        timeout: float = 5.0,
        expiry_margin: float = 30.0,
        default_lifetime: float = 300.0,
        private_key_alg: str | None = None,
        private_key_kid: str | None = None,
        network: NetworkSettings | None = None,
    ) -> None:
        owner = "ClientCredentialsAuth"
        client = ClientAuthentication(
            client_id=client_id,
            client_secret=client_secret,
            private_key=private_key,
            auth_method=auth_method,
            private_key_alg=private_key_alg,
            private_key_kid=private_key_kid,
            owner=owner,
        )
        if audience is not None and (not isinstance(audience, str) or not audience):
            raise ConfigurationError(f"{owner}: audience must be a non-empty string")
        #: The scopes asked for, in order.
        self.scopes = _names(scopes, "scopes")
        self.audience = audience
        self.resources = _names(resource, "resource")
        policy = TokenPolicy(timeout=timeout, expiry_margin=expiry_margin, default_lifetime=default_lifetime)
        endpoint = ProviderEndpoint(
            "token_endpoint", url=token_url, issuer=issuer, owner=owner, url_argument="token_url"
        )
        #: The token cache behind both flows.
        self.tokens = ClientCredentialsTokens(
            client=client,
            endpoint=endpoint,
            form=token_request_form(self.scopes, audience, self.resources),
            policy=policy,
            network=network,
        )

    @property
    def client_id(self) -> str:
        return self.tokens.client.client_id

    @property
    def token_requests(self) -> int:
        """Token requests made so far (each one stands for every caller that waited for it)."""
        return self.tokens.requests

    async def access_token(self) -> str:
        """The current access token itself, for clients other than httpx2 (gRPC metadata, boto)."""
        return (await self.tokens.token()).value

    def access_token_sync(self) -> str:
        """``access_token`` for threads."""
        return self.tokens.token_sync().value

    @staticmethod
    def _present(request: httpx2.Request, token: AccessToken) -> httpx2.Request:
        request.headers["Authorization"] = token.authorization
        return request

    @staticmethod
    def _may_resend(request: httpx2.Request, response: httpx2.Response) -> bool:
        return response.status_code == 401 and isinstance(request.stream, httpx2.ByteStream)

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        token = self.tokens.token_sync()
        response = yield self._present(request, token)
        if self._may_resend(request, response) and self.tokens.invalidate(token):
            yield self._present(request, self.tokens.token_sync())

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        token = await self.tokens.token()
        response = yield self._present(request, token)
        if self._may_resend(request, response) and self.tokens.invalidate(token):
            yield self._present(request, await self.tokens.token())

    def __repr__(self) -> str:
        where = self.tokens.endpoint.url or self.tokens.endpoint.issuer
        scopes = " ".join(self.scopes)
        return f"ClientCredentialsAuth(client_id={self.client_id!r}, endpoint={where!r}, scopes={scopes!r})"

    def __reduce__(self) -> Any:
        raise TypeError("ClientCredentialsAuth holds credentials and cannot be pickled")
