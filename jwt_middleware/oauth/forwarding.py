"""``forward_token(request)``: call another service on the caller's behalf, with the caller's token.

A service acting for its caller (an order service reading the caller's own profile) passes the
bearer token it received on to the downstream service, which verifies it again for itself; the
token is not changed, extended or re-signed. The token is read exactly as the library reads it
on the way in (RFC 6750 2.1, the one ``Authorization: Bearer`` header; see ``bearer``), from
whatever request object the framework hands the view:

* Starlette and FastAPI: ``request`` (or a websocket), or the ASGI ``scope``;
* Django: ``request`` (its ``META``); Flask: ``flask.request``; any WSGI ``environ``;
* a ``RequestView`` (inside an ``Authenticator``).

A request without a bearer token raises ``MissingTokenError``: forwarding nothing would send the
downstream call anonymously, which is never what on-behalf-of means.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import httpx2

from jwt_middleware.bearer import TokenLocations
from jwt_middleware.errors import ConfigurationError, MissingTokenError
from jwt_middleware.request_view import ASGIRequestView, RequestView, WSGIRequestView

__all__ = ["ForwardedToken", "forward_token", "request_view_of"]

_BEARER_HEADER_ONLY = TokenLocations()


def request_view_of(request: Any) -> RequestView:
    """A ``RequestView`` of a framework's request object, an ASGI scope or a WSGI environ."""
    if isinstance(request, RequestView):
        return request
    scope = getattr(request, "scope", None)  # Starlette's Request, HTTPConnection, WebSocket
    if isinstance(scope, Mapping) and "headers" in scope:
        return ASGIRequestView(scope)
    meta = getattr(request, "META", None)  # Django's HttpRequest
    if isinstance(meta, Mapping):
        return WSGIRequestView(meta)
    environ = getattr(request, "environ", None)  # Flask's and Werkzeug's request
    if isinstance(environ, Mapping):
        return WSGIRequestView(environ)
    if isinstance(request, Mapping):
        if request.get("type") in ("http", "websocket") and "headers" in request:
            return ASGIRequestView(request)
        if "REQUEST_METHOD" in request:
            return WSGIRequestView(request)
    raise ConfigurationError(
        "forward_token needs a request: Starlette's, Django's, Flask's, an ASGI scope, "
        "a WSGI environ or a RequestView"
    )


class ForwardedToken(httpx2.Auth):
    """An ``httpx2.Auth`` sending one bearer token as is; its ``repr`` never shows the token."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    @property
    def token(self) -> str:
        return self._token

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}``, for HTTP clients other than httpx2."""
        return {"Authorization": f"Bearer {self._token}"}

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "ForwardedToken(<bearer token>)"

    def __reduce__(self) -> Any:
        raise TypeError("ForwardedToken holds a token and cannot be pickled")


def forward_token(request: Any) -> ForwardedToken:
    """The caller's bearer token, as ``auth=`` for a downstream ``httpx2`` call.

    Raises ``MissingTokenError`` when the request carries none, ``InvalidRequestError`` when its
    ``Authorization`` header is malformed (as it would on the way in).
    """
    view = request_view_of(request)
    token = _BEARER_HEADER_ONLY.read(view.header, lambda: view.query_string)
    if token is None:
        raise MissingTokenError("The request carries no bearer token to forward")
    return ForwardedToken(token)
