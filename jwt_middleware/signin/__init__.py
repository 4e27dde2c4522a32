"""Sign-in for browser apps: the authorization code flow with PKCE, tokens kept in cookies.

``SignIn`` (see ``core.py``) mounts ``/login``, ``/callback``, ``/logout`` and ``/refresh`` on a
Starlette/FastAPI app (``signin.routes``), a Flask app (``signin.init_app(app)``) or a Django
project (``signin.urls``), and gives the middlewares an ``Authenticator`` reading the session
cookie (``signin.authenticator``).
"""

from __future__ import annotations

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
