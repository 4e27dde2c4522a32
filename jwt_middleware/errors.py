"""The errors every layer of the library reports, and nothing else.

Each error that a client can cause carries what an HTTP layer needs to answer it per RFC 6750:
``status_code``, ``error`` (the RFC 6750 code, or ``None`` where the RFC wants a bare challenge) and
``description``, a fixed sentence chosen here, never built from the token, so that it can be sent
to any client and written to any log. The offending values never appear in the message; callers
that want them for debugging opt in through ``unverified_claims``, which is only filled when the
verifier was configured to expose them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "BlockingCallError",
    "ConfigurationError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "JWKError",
    "JWTMiddlewareError",
    "KeysUnavailableError",
    "MalformedTokenError",
    "MissingTokenError",
    "NotYetValidError",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "is_safe_description",
]


def is_safe_description(text: str) -> bool:
    """Whether ``text`` may stand inside an RFC 6750 ``error_description`` quoted string.

    RFC 6750 section 3 allows %x20-21 / %x23-5B / %x5D-7E: printable ASCII without ``"`` and ``\\``.
    """
    return all(0x20 <= ord(ch) <= 0x7E and ch not in '"\\' for ch in text)


class JWTMiddlewareError(Exception):
    """Base of every error a request can cause; carries its HTTP meaning.

    ``claim`` names the claim or header a check was about and ``expected`` the configured values it
    was checked against (configuration, never token content), so that tools such as the CLI can
    explain a rejection without the error itself ever holding token data.
    """

    status_code: ClassVar[int] = 401
    error: ClassVar[str | None] = None
    default_description: ClassVar[str] = "Authentication failed"

    description: str
    claim: str | None
    expected: tuple[str, ...]
    unverified_claims: Mapping[str, Any] | None

    def __init__(
        self,
        description: str | None = None,
        *,
        claim: str | None = None,
        expected: tuple[str, ...] = (),
    ) -> None:
        self.description = description if description is not None else self.default_description
        self.claim = claim
        self.expected = expected
        self.unverified_claims = None
        super().__init__(self.description)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


class MissingTokenError(JWTMiddlewareError):
    """No credentials at all: RFC 6750 section 3.1 says answer with a bare challenge, no code."""

    status_code = 401
    error = None
    default_description = "Authentication is required"


class InvalidRequestError(JWTMiddlewareError):
    """The request carries credentials in a shape RFC 6750 forbids (several, malformed)."""

    status_code = 400
    error = "invalid_request"
    default_description = "The request's credentials are malformed"


class InvalidTokenError(JWTMiddlewareError):
    """The token is present but cannot be trusted: the client must get a new one."""

    status_code = 401
    error = "invalid_token"
    default_description = "The token is invalid"


class MalformedTokenError(InvalidTokenError):
    default_description = "The token is malformed"


class UnsupportedAlgorithmError(InvalidTokenError):
    default_description = "The token's signing algorithm is not accepted"


class InvalidSignatureError(InvalidTokenError):
    default_description = "The token's signature is invalid"


class UnknownKeyError(InvalidTokenError):
    default_description = "The token was signed by an unknown key"


class ExpiredTokenError(InvalidTokenError):
    default_description = "The token has expired"


class NotYetValidError(InvalidTokenError):
    default_description = "The token is not yet valid"


class InvalidIssuerError(InvalidTokenError):
    default_description = "The token's issuer is not accepted"


class InvalidAudienceError(InvalidTokenError):
    default_description = "The token's audience is not accepted"


class InvalidClaimError(InvalidTokenError):
    default_description = "The token's claims are not accepted"


class InsufficientScopeError(JWTMiddlewareError):
    """A valid token that lacks what the route asks for (RFC 6750 section 3.1)."""

    status_code = 403
    error = "insufficient_scope"
    default_description = "The token lacks the required scope"

    scopes: tuple[str, ...]

    def __init__(
        self,
        description: str | None = None,
        *,
        scopes: tuple[str, ...] = (),
        claim: str | None = None,
        expected: tuple[str, ...] | None = None,
    ) -> None:
        # ``scopes`` go into the challenge's scope attribute; ``expected`` (groups, say) do not.
        super().__init__(description, claim=claim, expected=scopes if expected is None else expected)
        self.scopes = scopes


class KeysUnavailableError(JWTMiddlewareError):
    """No usable keys because the identity provider cannot be reached and nothing is cached.

    Answered with 503 and ``Retry-After`` rather than 401: the token may be perfectly good, and a
    401 would send every client back to the login page during the provider's outage.
    """

    status_code = 503
    error = "temporarily_unavailable"
    default_description = "The signing keys are temporarily unavailable"

    retry_after: int

    def __init__(self, description: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class ConfigurationError(ValueError):
    """The library was configured in a way that cannot be made safe; raised at set-up time."""


class JWKError(ValueError):
    """A JWK or JWKS document cannot be used; the message names the rule, never key material."""


class BlockingCallError(RuntimeError):
    """A sync API was called where it would block a running event loop; use the async one.

    A programming error, not a token failure: it is never turned into a 401.
    """
