"""What can be revoked, as values: one token, one refresh-token family, one subject's past tokens.

An entry names its issuer (a ``jti`` or ``sub`` means nothing across issuers) and carries the
moment it stops mattering (``until``), after which every copy of it, local or in Redis, is dropped:
memory is bounded by the live entries alone. The builders here turn the arguments of
``revoke_token``/``revoke_origin``/``revoke_subject`` into entries, so every store applies the same
defaults.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeGuard

from jwt_middleware.errors import ConfigurationError

__all__ = [
    "DEFAULT_EXPIRY_MARGIN",
    "DEFAULT_TOKEN_LIFETIME",
    "EntryKind",
    "RevocationEntry",
    "origin_entry",
    "subject_entry",
    "token_entry",
]

#: How long a token may live when nothing says otherwise: Cognito's longest ID/access token
#: lifetime (1 day), also Auth0's and Okta's maximum default. Tokens derived from a revoked
#: refresh token, or issued before a global sign-out, are all expired by then.
DEFAULT_TOKEN_LIFETIME: Final = 86_400.0
#: Kept past a token's ``exp``, so that a verifier's ``leeway`` cannot outlive the entry.
DEFAULT_EXPIRY_MARGIN: Final = 300.0


class EntryKind(enum.Enum):
    """Which claim an entry matches; the value is the claim's name, as errors report it."""

    TOKEN = "jti"  # noqa: S105 - a claim name
    ORIGIN = "origin_jti"
    SUBJECT = "sub"


@dataclass(frozen=True, slots=True)
class RevocationEntry:
    """One revocation. ``value`` is the ``jti``, ``origin_jti`` or ``sub`` it matches.

    A ``SUBJECT`` entry refuses that subject's tokens whose ``iat`` is before ``issued_before``
    (a token without ``iat`` cannot show it is newer, so it is refused too).
    """

    kind: EntryKind
    issuer: str
    value: str
    until: float
    issued_before: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.issuer, str) or not self.issuer:
            raise ConfigurationError("a revocation needs the token's issuer (a non-empty string)")
        if not isinstance(self.value, str) or not self.value:
            raise ConfigurationError(f"a revocation needs a non-empty string {self.kind.value}")
        if not _finite(self.until):
            raise ConfigurationError("a revocation's 'until' must be a finite timestamp")
        if (self.kind is EntryKind.SUBJECT) != (self.issued_before is not None):
            raise ConfigurationError("issued_before is given for subject revocations and only for them")
        if self.issued_before is not None and not _finite(self.issued_before):
            raise ConfigurationError("issued_before must be a finite timestamp")

    @property
    def identity(self) -> tuple[EntryKind, str, str, float | None]:
        """What makes two entries the same revocation (their ``until`` aside)."""
        return (self.kind, self.issuer, self.value, self.issued_before)

    def __repr__(self) -> str:
        # Identifiers, not secrets, but still kept out of reprs that end up in logs.
        return f"RevocationEntry({self.kind.name}, issuer={self.issuer!r}, until={self.until:.0f})"


def _finite(value: object) -> TypeGuard[int | float]:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def _timestamp(value: object, name: str) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigurationError(f"{name} must be an aware datetime (a naive one has no fixed moment)")
        value = value.timestamp()
    if not _finite(value):
        raise ConfigurationError(f"{name} must be a UNIX timestamp or an aware datetime")
    return float(value)


def token_entry(
    claims: Mapping[str, Any],
    now: float,
    *,
    until: Any = None,
    margin: float = DEFAULT_EXPIRY_MARGIN,
    lifetime: float = DEFAULT_TOKEN_LIFETIME,
) -> RevocationEntry:
    """The entry revoking the token whose verified ``claims`` are given, kept until its ``exp``."""
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise ConfigurationError(
            "these claims have no 'jti', so the token cannot be revoked alone; "
            "revoke its subject (revoke_subject) or its refresh token family (revoke_origin)"
        )
    if until is None:
        exp = claims.get("exp")
        until = exp + margin if _finite(exp) else now + lifetime
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise ConfigurationError("these claims have no 'iss': pass the verified claims of a token")
    return RevocationEntry(EntryKind.TOKEN, issuer, jti, _timestamp(until, "until"))


def origin_entry(
    issuer: str, origin_jti: str, now: float, *, until: Any = None, lifetime: float
) -> RevocationEntry:
    """Every token derived from one refresh token (Cognito's ``origin_jti``).

    The provider stops issuing tokens from a revoked refresh token, so the entry only has to
    outlive the tokens already issued: ``lifetime`` from now unless ``until`` says otherwise.
    """
    moment = now + lifetime if until is None else _timestamp(until, "until")
    return RevocationEntry(EntryKind.ORIGIN, issuer, origin_jti, moment)


def subject_entry(
    issuer: str, subject: str, now: float, *, issued_before: Any = None, until: Any = None, lifetime: float
) -> RevocationEntry:
    """Every token of ``subject`` issued before ``issued_before`` (default: now), a global sign-out."""
    before = now if issued_before is None else _timestamp(issued_before, "issued_before")
    moment = before + lifetime if until is None else _timestamp(until, "until")
    return RevocationEntry(EntryKind.SUBJECT, issuer, subject, moment, before)
