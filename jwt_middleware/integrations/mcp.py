"""MCP servers: the ``mcp`` SDK's server authorization (2.x, ``MCPServer``, formerly ``FastMCP``)
backed by a ``JWTVerifier``.

``MCPTokenVerifier(verifier, resource_metadata=...)`` is the SDK's ``TokenVerifier``: pass it as
``MCPServer(token_verifier=..., auth=mcp_verifier.auth_settings())`` and every Streamable HTTP
request's bearer token is verified by our verifier (audience = the MCP server's resource URL,
scopes, revocation), with the SDK's session ownership and ``get_access_token()`` working as the
SDK documents them.

The SDK's own auth layer reads ``Bearer`` tokens only and answers every failure with a 401, so
``mcp_verifier.protect(app)`` puts our authentication in front of the SDK's Starlette app:
``Authorization: DPoP`` with proofs, 503 with ``Retry-After`` when keys or stores are down, both
schemes' challenges with RFC 9728's ``resource_metadata``, and the metadata document itself at
``/.well-known/oauth-protected-resource/...`` (what the MCP authorization spec requires of a
server). A request it accepted reaches the SDK as the same token, which ``verify_token`` then
answers from that acceptance instead of verifying it twice.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable
from typing import Any, Final

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from starlette.types import ASGIApp, Receive, Scope, Send

from jwt_middleware.asgi import CLAIMS_KEY, JWTAuthMiddleware
from jwt_middleware.bearer import parse_authorization, parse_dpop_authorization
from jwt_middleware.claims import Claims
from jwt_middleware.errors import ConfigurationError, InvalidRequestError, JWTMiddlewareError
from jwt_middleware.resource_metadata import ProtectedResourceMetadata
from jwt_middleware.verifier import JWTVerifier

__all__ = ["MCPTokenVerifier"]

logger: Final = logging.getLogger("jwt_middleware.mcp")

#: The token the edge (``protect``) accepted for the request being served, with its claims.
_ACCEPTED: Final = contextvars.ContextVar[tuple[str, Claims] | None](
    "jwt_middleware_mcp_accepted", default=None
)


def access_token(token: str, claims: Claims, resource: str | None) -> AccessToken:
    """The SDK's ``AccessToken`` for verified claims: client, scopes, expiry, resource, subject."""
    client_id = claims.client_id or claims.get("azp") or claims.subject or ""
    audiences = claims.get("aud")
    audience_list = [audiences] if isinstance(audiences, str) else list(audiences or ())
    exp = claims.get("exp")
    return AccessToken(
        token=token,
        client_id=str(client_id),
        scopes=sorted(claims.scopes),
        expires_at=int(exp) if isinstance(exp, int | float) else None,
        resource=resource if resource in audience_list else None,
        subject=claims.subject,
        claims=dict(claims),
    )


class MCPTokenVerifier:
    """The ``mcp`` SDK's ``TokenVerifier`` protocol over a ``JWTVerifier``.

    The verifier must check the audience (the MCP spec: a server accepts only tokens issued for
    it), so one built with ``audience=None`` is refused. ``resource_metadata`` describes the
    server (RFC 9728); members it leaves unset come from the verifier.
    """

    def __init__(
        self, verifier: JWTVerifier, *, resource_metadata: ProtectedResourceMetadata | None = None
    ) -> None:
        if not isinstance(verifier, JWTVerifier):
            raise ConfigurationError("MCPTokenVerifier needs a JWTVerifier")
        if verifier.audiences is None:
            raise ConfigurationError(
                "an MCP server must only accept tokens issued for it: give the verifier audience= "
                "(the server's resource URL)"
            )
        self.verifier = verifier
        self.resource_metadata = resource_metadata.for_verifier(verifier) if resource_metadata else None

    @property
    def resource(self) -> str | None:
        return self.resource_metadata.resource if self.resource_metadata is not None else None

    async def verify_token(self, token: str) -> AccessToken | None:
        """The SDK's hook: the token's ``AccessToken``, or ``None`` when it is refused.

        A token the edge accepted for this very request is answered from that; any other is
        verified as a bearer token (a DPoP-bound one is refused: its proof was never seen).
        """
        accepted = _ACCEPTED.get()
        if accepted is not None and accepted[0] == token:
            return access_token(token, accepted[1], self.resource)
        try:
            claims = await self.verifier.verify(token)
        except JWTMiddlewareError as error:
            logger.info("jwt_middleware: MCP token refused (%s)", error.code)
            return None
        return access_token(token, claims, self.resource)

    def auth_settings(self, *, required_scopes: Iterable[str] | None = None, **options: Any) -> AuthSettings:
        """The SDK's ``AuthSettings`` for this resource: its first authorization server and URL.

        Audience and resource are checked by the verifier, so the SDK's own resource comparison
        is off; ``options`` go to ``AuthSettings`` as they are.
        """
        metadata = self.resource_metadata
        if metadata is None or not metadata.authorization_servers:
            raise ConfigurationError("auth_settings needs resource_metadata naming an authorization server")
        scopes = list(required_scopes) if required_scopes is not None else None
        options.setdefault("validate_token_resource", False)
        return AuthSettings(
            issuer_url=metadata.authorization_servers[0],  # type: ignore[arg-type]  # pydantic parses it
            resource_server_url=metadata.resource,  # type: ignore[arg-type]
            required_scopes=scopes,
            **options,
        )

    def protect(
        self, app: ASGIApp, *, exclude_paths: Iterable[str] = (), realm: str = "mcp"
    ) -> JWTAuthMiddleware:
        """``app`` (the SDK's Streamable HTTP app) behind our authentication; see the module docstring.

        It also runs the verifier's lifespan (keys loaded before the first request).
        """
        return JWTAuthMiddleware(
            _HandOff(app),
            verifier=self.verifier,
            resource_metadata=self.resource_metadata,
            exclude_paths=exclude_paths,
            realm=realm,
        )


class _HandOff:
    """Hands an accepted request to the SDK: the token as ``Bearer``, and its claims for ``verify_token``."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        claims = scope.get(CLAIMS_KEY) if scope["type"] in ("http", "websocket") else None
        if claims is None:
            await self.app(scope, receive, send)
            return
        token, headers = _as_bearer(scope["headers"])
        if token is None:
            await self.app(scope, receive, send)
            return
        marker = _ACCEPTED.set((token, claims))
        try:
            await self.app({**scope, "headers": headers}, receive, send)
        finally:
            _ACCEPTED.reset(marker)


def _as_bearer(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, list[tuple[bytes, bytes]]]:
    """The accepted token, and the headers with its ``Authorization`` in the ``Bearer`` scheme."""
    out: list[tuple[bytes, bytes]] = []
    token: str | None = None
    for name, value in headers:
        if name == b"authorization":
            text = value.decode("latin-1")
            try:
                token = parse_dpop_authorization(text) or parse_authorization(text)
            except InvalidRequestError:
                token = None
            if token is not None:
                value = f"Bearer {token}".encode("latin-1")
        out.append((name, value))
    return token, out
