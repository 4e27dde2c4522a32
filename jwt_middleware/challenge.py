"""The HTTP answer to an authentication failure (RFC 6750 section 3), framework-free.

Every adapter turns a ``JWTMiddlewareError`` into the same status, ``WWW-Authenticate`` challenge
and small JSON body through ``error_response``, so a client sees identical errors whichever
framework serves it. Values placed in the challenge are checked against RFC 6750's character rules
here, once, at configuration time for the realm and scopes and per error for descriptions, so no
input can ever break the header's quoting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Self

from jwt_middleware.errors import (
    ConfigurationError,
    InsufficientScopeError,
    JWTMiddlewareError,
    TemporarilyUnavailableError,
    is_safe_description,
)

__all__ = [
    "HTTP_TOKEN",
    "Challenge",
    "ChallengeBuilder",
    "ErrorResponse",
    "bearer_challenge",
    "bearer_challenges",
    "check_realm",
    "check_scope_tokens",
    "error_params",
    "error_response",
    "render_challenges",
    "safe_description",
    "www_authenticate",
]

#: RFC 9110 5.6.2: token = 1*tchar. Auth-schemes, auth-param names, header field names and (RFC
#: 6265) cookie names are all tokens.
HTTP_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 6750 3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
_FALLBACK_DESCRIPTION: Final = "Authentication failed"


def check_realm(realm: str) -> str:
    if not isinstance(realm, str) or not realm or not is_safe_description(realm):
        raise ConfigurationError('realm must be printable ASCII without " or \\')
    return realm


def check_scope_tokens(scopes: Iterable[str]) -> tuple[str, ...]:
    """Validate required scopes so they can be named in a challenge's ``scope`` attribute."""
    result = tuple(scopes)
    for scope in result:
        if not isinstance(scope, str) or _SCOPE_TOKEN.fullmatch(scope) is None:
            raise ConfigurationError(f"{scope!r} is not a valid OAuth scope token (RFC 6749 3.3)")
    return result


def safe_description(error: JWTMiddlewareError) -> str:
    """``error.description`` if it may go into a challenge and a body, else a fixed fallback."""
    return error.description if is_safe_description(error.description) else _FALLBACK_DESCRIPTION


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: an auth-scheme and its parameters.

    RFC 9110 section 11.6.1 lets a response carry several challenges (``Bearer`` and ``DPoP``,
    say), each with ``name="value"`` parameters in order. Values are checked once, here, against
    what a quoted string may hold without escaping (printable ASCII without ``"`` and ``\\``), so
    no challenge can break the header, whoever built it.
    """

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, str) or HTTP_TOKEN.fullmatch(self.scheme) is None:
            raise ConfigurationError("a challenge's scheme must be an HTTP token, such as Bearer")
        for name, value in self.params:
            if not isinstance(name, str) or HTTP_TOKEN.fullmatch(name) is None:
                raise ConfigurationError("a challenge parameter's name must be an HTTP token")
            if not isinstance(value, str) or not is_safe_description(value):
                raise ConfigurationError(
                    f'the challenge parameter {name} must be printable ASCII without " or \\'
                )

    def with_params(self, **params: str) -> Self:
        """This challenge with ``params`` added after its own (``resource_metadata=...``, say)."""
        return type(self)(self.scheme, (*self.params, *params.items()))

    def __str__(self) -> str:
        if not self.params:
            return self.scheme
        return self.scheme + " " + ", ".join(f'{name}="{value}"' for name, value in self.params)


#: Shapes the challenges of a refusal: ``(error, realm) -> challenges``. ``bearer_challenges``
#: is the default; an ``Authenticator`` that defines ``challenges`` replaces it for its requests.
ChallengeBuilder = Callable[[JWTMiddlewareError, str], Sequence[Challenge]]


def error_params(error: JWTMiddlewareError | None) -> tuple[tuple[str, str], ...]:
    """``error``, ``error_description`` (and ``scope``) for a challenge; none without an error code.

    RFC 6750 section 3 defines them for ``Bearer``, and RFC 9449 section 7.1 reuses them for
    ``DPoP``, so every scheme's challenge carries an error the same way.
    """
    if error is None or error.error is None or isinstance(error, TemporarilyUnavailableError):
        return ()
    params = [("error", error.error), ("error_description", safe_description(error))]
    if isinstance(error, InsufficientScopeError) and error.scopes:
        scopes = " ".join(scope for scope in error.scopes if _SCOPE_TOKEN.fullmatch(scope))
        if scopes:
            params.append(("scope", scopes))
    return tuple(params)


def bearer_challenge(realm: str, error: JWTMiddlewareError | None = None) -> Challenge:
    """RFC 6750 section 3's ``Bearer`` challenge for ``error``; bare without an RFC 6750 code."""
    return Challenge("Bearer", (("realm", realm), *error_params(error)))


def bearer_challenges(error: JWTMiddlewareError, realm: str) -> tuple[Challenge, ...]:
    """The default ``ChallengeBuilder``: the one ``Bearer`` challenge."""
    return (bearer_challenge(realm, error),)


def render_challenges(challenges: Iterable[Challenge]) -> str:
    """Several challenges as one ``WWW-Authenticate`` value (comma-separated, RFC 9110 11.6.1)."""
    return ", ".join(str(challenge) for challenge in challenges)


def www_authenticate(realm: str, error: JWTMiddlewareError | None = None) -> str:
    """The ``Bearer`` ``WWW-Authenticate`` value; a bare challenge when ``error`` has no RFC 6750 code."""
    return str(bearer_challenge(realm, error))


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """Status, headers (lower-case names, latin-1-safe values) and JSON body for one error."""

    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def error_response(
    error: JWTMiddlewareError, realm: str, challenges: ChallengeBuilder | None = None
) -> ErrorResponse:
    """What to send for ``error``: 401/400/403 with a challenge, or 503 with ``Retry-After``.

    ``challenges`` shapes the ``WWW-Authenticate`` value (an authenticator's ``challenges``);
    the default is the ``Bearer`` challenge of RFC 6750.
    """
    description = safe_description(error)
    document: dict[str, str] = {}
    if error.error is not None:
        document["error"] = error.error
    document["error_description"] = description
    body = json.dumps(document, separators=(",", ":")).encode()
    headers: list[tuple[str, str]] = [("content-type", "application/json"), ("cache-control", "no-store")]
    if isinstance(error, TemporarilyUnavailableError):
        headers.append(("retry-after", str(error.retry_after)))
    else:
        built = (challenges or bearer_challenges)(error, realm)
        headers.append(("www-authenticate", render_challenges(built)))
    headers.extend(error.headers)
    headers.append(("content-length", str(len(body))))
    return ErrorResponse(error.status_code, tuple(headers), body)
