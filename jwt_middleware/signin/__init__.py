"""Sign-in for browser apps: the authorization code flow with PKCE, tokens kept in cookies.

``SignIn`` (see ``core.py``) mounts ``/login``, ``/callback``, ``/logout`` and ``/refresh`` on a
Starlette/FastAPI app (``signin.routes``), a Flask app (``signin.init_app(app)``) or a Django
project (``signin.urls``), and gives the middlewares an ``Authenticator`` reading the session
cookie (``signin.authenticator``). Names load on first use, so the framework glue modules do not
pull in the HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jwt_middleware._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from jwt_middleware.signin.cookies import CookieTooLargeError
    from jwt_middleware.signin.core import (
        ProviderMetadata,
        SessionExpiredError,
        SignIn,
        SignInResponse,
        SignInUnavailableError,
        TokenSet,
    )
    from jwt_middleware.signin.session import SessionAuthenticator

__all__ = [
    "CookieTooLargeError",
    "ProviderMetadata",
    "SessionAuthenticator",
    "SessionExpiredError",
    "SignIn",
    "SignInResponse",
    "SignInUnavailableError",
    "TokenSet",
]

_HOMES = {
    "jwt_middleware.signin.cookies": ("CookieTooLargeError",),
    "jwt_middleware.signin.core": (
        "ProviderMetadata",
        "SessionExpiredError",
        "SignIn",
        "SignInResponse",
        "SignInUnavailableError",
        "TokenSet",
    ),
    "jwt_middleware.signin.session": ("SessionAuthenticator",),
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _HOMES, submodules=True)
