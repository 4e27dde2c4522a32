"""What goes wrong talking to an authorization server, as the library's own exceptions.

Two different audiences. ``TokenEndpointError`` is raised to the service's own code making an
outgoing call (``ClientCredentialsAuth`` could not get a token): it is not a request refusal, so
it derives from the exception root, not from ``JWTMiddlewareError``. ``IntrospectionUnavailableError``
is a server-side failure while deciding an incoming request: a ``TemporarilyUnavailableError``,
answered 503 with ``Retry-After`` by every adapter, never a 401.

Neither ever holds a secret, a token or what the provider wrote in ``error_description`` (text
we do not control, which may echo the request): only the reason code, the HTTP status, the
RFC 6749 ``error`` code when it is well formed, and how long until the next attempt.
"""

from __future__ import annotations

import re
from typing import Final

from jwt_middleware import reasons
from jwt_middleware.errors import JWTMiddlewareException, TemporarilyUnavailableError

__all__ = ["IntrospectionUnavailableError", "TokenEndpointError", "oauth_error_code"]

#: RFC 6749 section 5.2: ``error`` values are %x20-21 / %x23-5B / %x5D-7E; ours are short words.
_ERROR_CODE: Final = re.compile(r"[a-z0-9_.\-]{1,64}", re.IGNORECASE)


def oauth_error_code(value: object) -> str | None:
    """The ``error`` of an OAuth error response when it is a plain code, else ``None``."""
    return value if isinstance(value, str) and _ERROR_CODE.fullmatch(value) else None


class TokenEndpointError(JWTMiddlewareException):
    """No access token for an outgoing call: the token endpoint failed, refused or is backing off.

    ``code`` is the reason (``fetch.timeout``, ``fetch.connect``, ``token_endpoint.refused``...),
    ``status`` the endpoint's HTTP status when it answered, ``oauth_error`` its RFC 6749 error
    (``invalid_client``, ``invalid_scope``) when it gave one, and ``retry_after`` the seconds
    until a token will be requested again (callers in between get this error at once, so a
    failing endpoint is not hammered).
    """

    code: str
    status: int | None
    oauth_error: str | None
    retry_after: int

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        oauth_error: str | None = None,
        retry_after: int = 1,
    ) -> None:
        self.message = message
        self.code = code
        self.status = status
        self.oauth_error = oauth_error
        self.retry_after = retry_after
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [f"code={self.code}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.oauth_error is not None:
            parts.append(f"error={self.oauth_error}")
        parts.append(f"retry in {self.retry_after}s")
        return f"{self.message} ({', '.join(parts)})"

    def __repr__(self) -> str:
        return f"TokenEndpointError({self._text()!r})"


class IntrospectionUnavailableError(TemporarilyUnavailableError):
    """503: the introspection endpoint cannot decide about the token now (down, slow, refusing us).

    ``code`` is the reason behind it (``fetch.timeout``, ``introspection.refused``...); the
    description a client sees stays fixed.
    """

    default_description = "Token introspection is temporarily unavailable"
    default_code = reasons.INTROSPECTION_UNAVAILABLE

    def __init__(
        self, description: str | None = None, *, retry_after: int = 5, code: str | None = None
    ) -> None:
        super().__init__(description, retry_after=retry_after)
        if code is not None:
            self.code = code
