"""Service to service: tokens for the calls a service makes, and introspection for opaque tokens.

* ``ClientCredentialsAuth``: an ``httpx2.Auth`` attaching a client-credentials access token to
  outgoing requests (cached, refreshed ahead, one token request for any number of callers).
* ``forward_token(request)``: an ``httpx2.Auth`` passing the caller's own bearer token on, for
  calls made on the caller's behalf.
* ``IntrospectionAuthenticator``: an ``Authenticator`` that checks opaque tokens with RFC 7662
  introspection (and, given ``jwt_verifier=``, verifies JWTs locally), producing ``Claims``.

The protocol work (request bodies, client authentication) is Authlib's OAuth client; caching,
single flight, bounds and every check of what comes back are the library's own. Names load on
first use: importing this package loads no HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jwt_middleware._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from jwt_middleware.oauth.client_auth import ClientAuthentication
    from jwt_middleware.oauth.client_credentials import ClientCredentialsAuth
    from jwt_middleware.oauth.errors import IntrospectionUnavailableError, TokenEndpointError
    from jwt_middleware.oauth.forwarding import ForwardedToken, forward_token
    from jwt_middleware.oauth.introspection import IntrospectionAuthenticator

__all__ = [
    "ClientAuthentication",
    "ClientCredentialsAuth",
    "ForwardedToken",
    "IntrospectionAuthenticator",
    "IntrospectionUnavailableError",
    "TokenEndpointError",
    "forward_token",
]

_HOMES = {
    "jwt_middleware.oauth.client_auth": ("ClientAuthentication",),
    "jwt_middleware.oauth.client_credentials": ("ClientCredentialsAuth",),
    "jwt_middleware.oauth.errors": ("IntrospectionUnavailableError", "TokenEndpointError"),
    "jwt_middleware.oauth.forwarding": ("ForwardedToken", "forward_token"),
    "jwt_middleware.oauth.introspection": ("IntrospectionAuthenticator",),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _HOMES, submodules=True)
