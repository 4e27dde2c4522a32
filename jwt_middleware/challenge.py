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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from jwt_middleware.errors import (
    ConfigurationError,
    InsufficientScopeError,
    JWTMiddlewareError,
    KeysUnavailableError,
    is_safe_description,
)

__all__ = [
    "ErrorResponse",
    "check_realm",
    "check_scope_tokens",
    "error_response",
    "safe_description",
    "www_authenticate",
]

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


def www_authenticate(realm: str, error: JWTMiddlewareError | None = None) -> str:
    """The ``WWW-Authenticate`` value; a bare challenge when ``error`` has no RFC 6750 code."""
    parts = [f'Bearer realm="{realm}"']
    if error is not None and error.error is not None and not isinstance(error, KeysUnavailableError):
        description = safe_description(error)
        parts.append(f'error="{error.error}"')
        parts.append(f'error_description="{description}"')
        if isinstance(error, InsufficientScopeError) and error.scopes:
            scopes = " ".join(scope for scope in error.scopes if _SCOPE_TOKEN.fullmatch(scope))
            if scopes:
                parts.append(f'scope="{scopes}"')
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """Status, headers (lower-case names, latin-1-safe values) and JSON body for one error."""

    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def error_response(error: JWTMiddlewareError, realm: str) -> ErrorResponse:
    """What to send for ``error``: 401/400/403 with a challenge, or 503 with ``Retry-After``."""
    description = safe_description(error)
    document: dict[str, str] = {}
    if error.error is not None:
        document["error"] = error.error
    document["error_description"] = description
    body = json.dumps(document, separators=(",", ":")).encode()
    headers: list[tuple[str, str]] = [("content-type", "application/json"), ("cache-control", "no-store")]
    if isinstance(error, KeysUnavailableError):
        headers.append(("retry-after", str(error.retry_after)))
    else:
        headers.append(("www-authenticate", www_authenticate(realm, error)))
    headers.append(("content-length", str(len(body))))
    return ErrorResponse(error.status_code, tuple(headers), body)
