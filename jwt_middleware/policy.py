"""The claim policy: which verified tokens a service accepts. Pure functions of (header, claims, now).

A policy is a list of small checks, each owning one rule and one error, so that presets (Cognito,
API Gateway) compose the rules they need instead of growing flags on one function, and so that a
rejection names exactly one rule. Nothing here does I/O or reads a clock: ``now`` is passed in,
which keeps the async and sync verifiers on one implementation and makes the rules testable at
exact boundaries.

The policy runs on every request, so each check of this module also states its rule in a fast
form, ``accepts(header, claims, now)``, beside the full one: a yes/no that answers ``True`` only
where the check would return, and ``False`` for a refusal or anything unusual (a float date, a
list audience of mixed types...). ``ClaimPolicy`` compiles the fast forms once, at construction,
into one flat function (checks without a fast form run in full inside it) and runs only that
while they answer ``True``; from the first ``False`` on, the checks themselves run and decide, so
a refusal (and its report) always comes from the full rule, and a fast form can only ever cost a
token the slower path, never let one through that the full rule refuses. The test suite holds
every fast form to its check over a corpus of tokens (``tests/core/test_compiled_policy.py``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import DEFAULT_CLAIM_MAPPING, ClaimMapping, GrantKind
from jwt_middleware.claims import IDENTITY_CLAIMS, check_identity_claims, granted
from jwt_middleware.errors import (
    ABSENT,
    ConfigurationError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTMiddlewareException,
    NotYetValidError,
    VerificationUnavailableError,
)
from jwt_middleware.issuer_template import IssuerTemplate
from jwt_middleware.safe_json import FrozenList

__all__ = [
    "GROUP_CLAIMS",
    "MAX_LEEWAY",
    "MAX_NUMERIC_DATE",
    "SCOPE_CLAIMS",
    "AudienceCheck",
    "AudienceOrClientIdCheck",
    "ClaimCheck",
    "ClaimPolicy",
    "ClaimValueCheck",
    "ClientIdCheck",
    "CognitoTokenCheck",
    "CompiledCheck",
    "GrantCheck",
    "GroupsCheck",
    "IdentityClaimsCheck",
    "RequiredClaimsCheck",
    "ScopesCheck",
    "TimeCheck",
    "TokenTypeCheck",
    "extension_failure",
    "is_numeric_date",
    "media_type",
    "numeric_date",
    "string_set",
]

logger: Final = logging.getLogger("jwt_middleware")

#: RFC 7519 suggests "a few minutes" of leeway; more than ten turns expiry into a suggestion.
MAX_LEEWAY: Final = 600.0
#: The largest NumericDate a token may carry: 9999-12-31T23:59:59Z.
MAX_NUMERIC_DATE: Final = 253402300799
#: Where granted scopes are read by default: ``scope`` (RFC 8693/9068, space-delimited) and ``scp``
#: (Entra, Okta); the default ``ClaimMapping`` is their one home.
SCOPE_CLAIMS: Final = DEFAULT_CLAIM_MAPPING.scopes
#: Where group membership is read by default: Cognito's ``cognito:groups`` and the generic ``groups``.
GROUP_CLAIMS: Final = DEFAULT_CLAIM_MAPPING.groups


class ClaimCheck(Protocol):
    """One rule over a verified token; raises a ``JWTMiddlewareError`` to reject it.

    Any other exception is the service's failure, not the token's: ``ClaimPolicy`` answers it with
    ``VerificationUnavailableError`` (503), see ``extension_failure``.

    A check may also have a fast form (``CompiledCheck``): see the module docstring.
    """

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        """Raise to reject; return to accept."""


class CompiledCheck(ClaimCheck, Protocol):
    """A ``ClaimCheck`` that also states its rule as a yes/no for the hot path.

    ``accepts`` answers ``True`` only where ``__call__`` would return; ``False`` whenever it would
    raise, and may also answer ``False`` for what it does not decide quickly (the check itself then
    runs). It never raises and builds no report: reports come from ``__call__`` alone.
    """

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        """``True`` only when ``__call__`` would return."""


#: What a fast form reads for a claim that is not there (``None`` is a claim's JSON ``null``).
_MISSING: Final = object()

#: A check's fast form, or the check run in full as one: ``True`` to accept.
_Step = Callable[[Mapping[str, Any], Mapping[str, Any], float], bool]
#: The compiled policy: ``None`` when every step accepts, else where the checks themselves take over.
_Check = Callable[[Mapping[str, Any], Mapping[str, Any], float], None]
_CheckEach = Callable[..., None]


def extension_failure(
    where: object, exc: BaseException, *, code: str = reasons.CHECK_FAILED
) -> VerificationUnavailableError:
    """The 503 for code the service plugged in (a check, ``custom_check``, a key source) that raised.

    A rule that crashes on a token whose signature has already been verified says nothing about the
    token: its revocation store is down, or it has a bug. Only the exception's type and where it
    happened are logged, never its message (it may quote the claims) nor the token.
    """
    name = where if isinstance(where, str) else getattr(where, "__qualname__", type(where).__name__)
    kind = type(exc).__name__
    logger.error("jwt_middleware: %s raised %s; answered 503 (token and claims not logged)", name, kind)
    return VerificationUnavailableError(exception_type=kind, code=code)


def string_set(value: str | Iterable[str] | None, *, name: str) -> frozenset[str] | None:
    """Normalise a configured string or collection of strings; ``None`` stays ``None``."""
    if value is None:
        return None
    message = f"{name} must be a non-empty string or a non-empty list of them"
    try:
        values = [value] if isinstance(value, str) else list(value)
    except TypeError:
        raise ConfigurationError(message) from None
    if not values or not all(isinstance(item, str) and item for item in values):
        raise ConfigurationError(message)
    return frozenset(values)


def is_numeric_date(value: object) -> bool:
    """Whether ``value`` is a NumericDate this library accepts (RFC 7519 section 2).

    bool is an int subclass and strings such as "1700000000" are not NumericDates either; the
    range is compared before any float conversion, so a 4000-digit integer cannot raise.
    """
    return (type(value) is int or type(value) is float) and 0 <= value <= MAX_NUMERIC_DATE


def numeric_date(claims: Mapping[str, Any], name: str, *, location: str = "claims") -> float | None:
    """Read a NumericDate claim; ``None`` when absent, a refusal for anything but a sane number."""
    if name not in claims:
        return None
    value = claims[name]
    if not is_numeric_date(value):
        raise InvalidClaimError(
            f"The {name} claim is not a valid date",
            claim=name,
            code=reasons.DATE_INVALID,
            location=location,
            found=value,
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class TimeCheck:
    """``exp``, ``nbf``, ``iat`` and an optional maximum age, all with the same leeway."""

    leeway: float = 0.0
    require_exp: bool = True
    max_age: float | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.leeway <= MAX_LEEWAY):
            raise ConfigurationError(f"leeway must be between 0 and {MAX_LEEWAY:g} seconds")
        # Written so that NaN fails too: a NaN max_age would silently disable the check.
        if self.max_age is not None and not (self.max_age > 0 and math.isfinite(self.max_age)):
            raise ConfigurationError("max_age must be a positive, finite number of seconds")

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        self.check(claims, now)

    def check(self, values: Mapping[str, Any], now: float, *, location: str = "claims") -> None:
        """The rules over ``values``: the payload's claims, or (ALB) the protected header's."""
        exp = numeric_date(values, "exp", location=location)
        nbf = numeric_date(values, "nbf", location=location)
        iat = numeric_date(values, "iat", location=location)
        # ``limit`` is the instant each date was compared against: now, widened by the leeway.
        if exp is None:
            if self.require_exp:
                raise InvalidClaimError(
                    "The token has no expiry",
                    claim="exp",
                    code=reasons.EXP_MISSING,
                    location=location,
                    found=ABSENT,
                )
        elif now >= exp + self.leeway:
            raise ExpiredTokenError(claim="exp", location=location, limit=now - self.leeway, found=exp)
        if nbf is not None and now < nbf - self.leeway:
            raise NotYetValidError(claim="nbf", location=location, limit=now + self.leeway, found=nbf)
        if iat is not None and iat > now + self.leeway:
            raise NotYetValidError(
                "The token was issued in the future",
                claim="iat",
                code=reasons.IAT_IN_FUTURE,
                location=location,
                limit=now + self.leeway,
                found=iat,
            )
        if self.max_age is not None:
            if iat is None:
                raise InvalidClaimError(
                    "The token has no issue time",
                    claim="iat",
                    code=reasons.IAT_MISSING,
                    location=location,
                    found=ABSENT,
                )
            if now - iat > self.max_age + self.leeway:
                raise ExpiredTokenError(
                    "The token is too old",
                    claim="iat",
                    code=reasons.IAT_TOO_OLD,
                    location=location,
                    limit=now - self.max_age - self.leeway,
                    found=iat,
                )

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        """``check``'s rules for integer dates (floats and the rest are left to ``check``)."""
        leeway = self.leeway
        exp = claims.get("exp", _MISSING)
        if exp is _MISSING:
            if self.require_exp:
                return False
        elif type(exp) is not int or not 0 <= exp <= MAX_NUMERIC_DATE or now >= exp + leeway:
            return False
        nbf = claims.get("nbf", _MISSING)
        if nbf is not _MISSING and (
            type(nbf) is not int or not 0 <= nbf <= MAX_NUMERIC_DATE or now < nbf - leeway
        ):
            return False
        iat = claims.get("iat", _MISSING)
        if iat is _MISSING:
            return self.max_age is None
        if type(iat) is not int or not 0 <= iat <= MAX_NUMERIC_DATE or iat > now + leeway:
            return False
        return self.max_age is None or now - iat <= self.max_age + leeway

    def valid_until(self, claims: Mapping[str, Any]) -> float:
        """The instant this check stops accepting ``claims`` (for caching verified tokens)."""
        limits = [math.inf]
        exp = numeric_date(claims, "exp")
        if exp is not None:
            limits.append(exp + self.leeway)
        iat = numeric_date(claims, "iat")
        if self.max_age is not None and iat is not None:
            limits.append(iat + self.max_age + self.leeway)
        return min(limits)

    def valid_from(self, claims: Mapping[str, Any]) -> float:
        """The instant this check starts accepting ``claims``."""
        starts = [-math.inf]
        nbf = numeric_date(claims, "nbf")
        if nbf is not None:
            starts.append(nbf - self.leeway)
        iat = numeric_date(claims, "iat")
        if iat is not None:
            starts.append(iat - self.leeway)
        return max(starts)


def _audience_values(claims: Mapping[str, Any]) -> list[str] | None:
    """``aud`` as a list of strings, ``None`` when absent; malformed values are rejected."""
    if "aud" not in claims:
        return None
    aud = claims["aud"]
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and aud and all(isinstance(item, str) for item in aud):
        return aud
    raise InvalidAudienceError(
        "The token's audience is malformed", claim="aud", code=reasons.AUD_INVALID, found=aud
    )


def _audience_accepted(claims: Mapping[str, Any], audiences: frozenset[str]) -> bool:
    """``aud`` is a string or a non-empty list of strings, and names one of ``audiences``."""
    aud = claims.get("aud")
    if type(aud) is str:
        return aud in audiences
    return (
        type(aud) is FrozenList and all(type(item) is str for item in aud) and not audiences.isdisjoint(aud)
    )


@dataclass(frozen=True, slots=True)
class AudienceCheck:
    """``aud`` (string or list) must contain one of the configured audiences, exactly."""

    audiences: frozenset[str]

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        return _audience_accepted(claims, self.audiences)

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        values = _audience_values(claims)
        if values is None:
            raise InvalidAudienceError(
                "The token has no audience",
                claim="aud",
                expected=tuple(sorted(self.audiences)),
                code=reasons.AUD_MISSING,
                found=ABSENT,
            )
        if self.audiences.isdisjoint(values):
            raise InvalidAudienceError(claim="aud", expected=tuple(sorted(self.audiences)), found=values)


@dataclass(frozen=True, slots=True)
class AudienceOrClientIdCheck:
    """API Gateway's rule: ``aud`` must match if present, otherwise ``client_id`` must."""

    audiences: frozenset[str]

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        if "aud" in claims:
            return _audience_accepted(claims, self.audiences)
        client_id = claims.get("client_id")
        return type(client_id) is str and client_id in self.audiences

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        values = _audience_values(claims)
        expected = tuple(sorted(self.audiences))
        if values is not None:
            if self.audiences.isdisjoint(values):
                raise InvalidAudienceError(claim="aud", expected=expected, found=values)
            return
        client_id = claims.get("client_id", ABSENT)
        if not isinstance(client_id, str) or client_id not in self.audiences:
            raise InvalidAudienceError(
                "Neither the token's audience nor its client is accepted",
                claim="client_id",
                expected=expected,
                code=reasons.CLIENT_ID_MISMATCH,
                found=client_id,
            )


@dataclass(frozen=True, slots=True)
class ClientIdCheck:
    """``client_id`` (RFC 9068, Cognito access tokens) must be one of the configured clients."""

    client_ids: frozenset[str]

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        value = claims.get("client_id")
        return type(value) is str and value in self.client_ids

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        value = claims.get("client_id", ABSENT)
        if not isinstance(value, str) or value not in self.client_ids:
            raise InvalidAudienceError(
                "The token's client is not accepted",
                claim="client_id",
                expected=tuple(sorted(self.client_ids)),
                code=reasons.CLIENT_ID_MISMATCH,
                found=value,
            )


@dataclass(frozen=True, slots=True)
class CognitoTokenCheck:
    """Cognito's ``token_use`` and where each token type names its app client.

    ID tokens name the client in ``aud``; access tokens in ``client_id`` and have no ``aud``. The
    check never falls back from one to the other, which is what keeps an ID token from being used
    as an access token (and the reverse) at an API that accepts only one of them.
    """

    token_uses: frozenset[str]
    client_ids: frozenset[str] | None

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        use = claims.get("token_use")
        if type(use) is not str or use not in self.token_uses:
            return False
        if self.client_ids is None:
            return True
        if use == "id":
            return _audience_accepted(claims, self.client_ids)
        value = claims.get("client_id")
        return type(value) is str and value in self.client_ids

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        use = claims.get("token_use", ABSENT)
        if not isinstance(use, str) or use not in self.token_uses:
            raise InvalidClaimError(
                "The token_use claim is not accepted",
                claim="token_use",
                expected=tuple(sorted(self.token_uses)),
                code=reasons.TOKEN_USE_MISMATCH,
                found=use,
            )
        if self.client_ids is None:
            return
        expected = tuple(sorted(self.client_ids))
        if use == "id":
            values = _audience_values(claims)
            if values is None or self.client_ids.isdisjoint(values):
                raise InvalidAudienceError(
                    "The token's client is not accepted",
                    claim="aud",
                    expected=expected,
                    code=reasons.AUD_MISSING if values is None else reasons.AUD_MISMATCH,
                    found=ABSENT if values is None else values,
                )
        else:
            ClientIdCheck(self.client_ids)(header, claims, now)


@dataclass(frozen=True, slots=True)
class RequiredClaimsCheck:
    """Each of ``names`` must be present and not ``null``."""

    names: tuple[str, ...]

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        get = claims.get
        return all(get(name) is not None for name in self.names)

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        for name in self.names:
            if claims.get(name) is None:
                raise InvalidClaimError(
                    "The token lacks a required claim",
                    claim=name,
                    expected=(name,),
                    code=reasons.CLAIM_MISSING,
                    found=claims.get(name, ABSENT),
                )


@dataclass(frozen=True, slots=True)
class ClaimValueCheck:
    """The claim ``claim`` must be present and one of ``values``, compared as exact strings.

    For the markers providers put in their tokens: Keycloak's ``typ`` (``Bearer`` for access
    tokens, ``ID`` for ID tokens), Okta's ``cid``, Google's ``hd``, Entra's ``tid``.
    """

    claim: str
    values: frozenset[str]
    code: str = reasons.CLAIM_INVALID
    description: str = "The token's claims are not accepted"

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        value = claims.get(self.claim)
        return type(value) is str and value in self.values

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        value = claims.get(self.claim, ABSENT)
        if not isinstance(value, str) or value not in self.values:
            raise InvalidClaimError(
                self.description,
                claim=self.claim,
                expected=tuple(sorted(self.values)),
                code=reasons.CLAIM_MISSING if value is ABSENT else self.code,
                found=value,
            )


def media_type(value: str) -> str:
    """RFC 7515 4.1.9: ``typ`` is case-insensitive and may omit the ``application/`` prefix."""
    value = value.lower()
    return value[len("application/") :] if value.startswith("application/") else value


@dataclass(frozen=True, slots=True)
class TokenTypeCheck:
    """The ``typ`` header must be one of the configured types (RFC 8725 3.11, RFC 9068 ``at+jwt``)."""

    types: frozenset[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", frozenset(media_type(value) for value in self.types))

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        typ = header.get("typ")
        return type(typ) is str and media_type(typ) in self.types

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        typ = header.get("typ", ABSENT)
        if not isinstance(typ, str) or media_type(typ) not in self.types:
            raise InvalidClaimError(
                "The token type is not accepted",
                claim="typ",
                expected=tuple(sorted(self.types)),
                code=reasons.TYP_MISMATCH,
                location="header",
                found=typ,
            )


@dataclass(frozen=True, slots=True)
class GrantCheck:
    """The token must carry all (or, with ``any_of``, one) of ``names`` among its ``kind``.

    The granted names come from the token's ``ClaimMapping`` (``Claims.scopes``, ``.roles``...), so
    a role means the same thing at the verifier and at a route; ``claim_names`` reads those exact
    top-level claims instead, for presets that must match another product's rule to the letter
    (API Gateway reads ``scope`` and ``scp``, whatever the service maps).
    """

    kind: GrantKind
    names: frozenset[str]
    any_of: bool = False
    claim_names: tuple[str, ...] | None = None
    _reader: ClaimMapping | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.claim_names is not None:
            object.__setattr__(self, "_reader", ClaimMapping().replace(**{self.kind: self.claim_names}))

    def granted(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The names of ``kind`` the token carries, as this check reads them."""
        if self._reader is None:
            return granted(claims, self.kind)
        return self._reader.read(self.kind, claims)

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        have = self.granted(claims)
        ok = not have.isdisjoint(self.names) if self.any_of else self.names <= have
        if not ok:
            claim, description, code = _GRANT_RULES[self.kind]
            expected = tuple(sorted(self.names))
            scopes = expected if self.kind == "scopes" else ()
            raise InsufficientScopeError(
                description,
                scopes=scopes,
                claim=claim,
                expected=expected,
                code=code,
                found=tuple(sorted(have)),
            )


#: Per kind: the claim a refusal names, the sentence it sends (fixed, never token content), its code.
_GRANT_RULES: Final[Mapping[str, tuple[str, str, str]]] = {
    "scopes": ("scope", "The token lacks the required scope", reasons.SCOPE_INSUFFICIENT),
    "groups": ("groups", "The token lacks the required group membership", reasons.GROUPS_MISSING),
    "roles": ("roles", "The token lacks the required role", reasons.ROLES_MISSING),
    "permissions": ("permissions", "The token lacks the required permission", reasons.PERMISSIONS_MISSING),
}


class ScopesCheck(GrantCheck):
    """The token must carry all (or, with ``any_of``, one) of ``scopes`` (``scope``/``scp`` by default)."""

    __slots__ = ()

    def __init__(
        self, scopes: frozenset[str], any_of: bool = False, claim_names: tuple[str, ...] | None = None
    ) -> None:
        super().__init__("scopes", frozenset(scopes), any_of, claim_names)

    @property
    def scopes(self) -> frozenset[str]:
        return self.names


class GroupsCheck(GrantCheck):
    """The token must be in all (or, with ``any_of``, one) of ``groups``.

    Membership is read through the token's mapping: ``cognito:groups`` and the generic ``groups``
    by default; the Cognito preset maps ``cognito:groups`` only, as Cognito (and aws-jwt-verify) do.
    """

    __slots__ = ()

    def __init__(
        self, groups: frozenset[str], any_of: bool = True, claim_names: tuple[str, ...] | None = None
    ) -> None:
        super().__init__("groups", frozenset(groups), any_of, claim_names)

    @property
    def groups(self) -> frozenset[str]:
        return self.names


@dataclass(frozen=True, slots=True)
class IdentityClaimsCheck:
    """Every identity claim present (``IDENTITY_CLAIMS``) must be a non-empty string.

    Run by every verifier: ``sub: 123`` or ``sub: ""`` would otherwise verify and then read as no
    subject at all, one empty identity shared by every such token.
    """

    names: tuple[str, ...] = IDENTITY_CLAIMS
    _name_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_name_set", frozenset(self.names))

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        check_identity_claims(claims, self.names)

    def accepts(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        # The names the token carries, found in one pass over its keys rather than one probe each.
        for name in self._name_set.intersection(claims):
            value = claims[name]
            if type(value) is not str or not value:
                return False
        return True


class ClaimPolicy:
    """Accepted issuers plus an ordered list of checks; decides on a verified token's claims.

    Every policy also checks the identity claims (``IdentityClaimsCheck``), after all the others.
    ``check`` runs the fast forms bound at construction (see the module docstring);
    ``check_each`` runs every check itself, the reference ``check`` must always agree with.
    """

    __slots__ = ("_checks", "check", "issuers", "templates", "time")

    #: Run every check except the issuer's (the verifier settles that before the signature):
    #: ``check(header, claims, now)`` raises the refusal, or returns ``None``.
    #:
    #: Runs after the signature is verified: a refusal is the token's, anything else a check
    #: raises is the service's (503). The fast forms answer while they can; from the first one
    #: that does not, the checks themselves decide, in order (``check_each``). It is the compiled
    #: function itself, not a method calling it: one frame per token, not two.
    check: Callable[[Mapping[str, Any], Mapping[str, Any], float], None]

    def __init__(
        self,
        *,
        issuers: Iterable[str],
        time: TimeCheck,
        checks: Iterable[ClaimCheck] = (),
        templates: Iterable[IssuerTemplate] = (),
    ) -> None:
        self.issuers = frozenset(issuers)
        self.templates: tuple[IssuerTemplate, ...] = tuple(templates)
        if not self.issuers and not self.templates:
            raise ConfigurationError("at least one issuer is required")
        self.time = time
        # The identity rule runs last, so that a rule about one of those claims (Cognito's client,
        # say) reports its own refusal first.
        self._checks: tuple[ClaimCheck, ...] = (time, *checks, _IDENTITY_CHECK)
        self.check = _compiled(tuple(_step(check) for check in self._checks), self.check_each)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The compiled function is set on each instance and would shadow an override unseen.
        if "check" in vars(cls):
            raise TypeError(
                "ClaimPolicy.check is the compiled policy: add a ClaimCheck instead of overriding it"
            )
        super().__init_subclass__(**kwargs)

    @property
    def checks(self) -> tuple[ClaimCheck, ...]:
        """Every check, in the order they run; read-only, since ``check`` runs forms bound to them."""
        return self._checks

    def issuer_of(self, claims: Mapping[str, Any]) -> str:
        """The accepted issuer of a token: its exact ``iss``, or the template its ``iss`` fills.

        Exact issuers are compared as exact strings, and only those; a template is matched with
        the token's own claim (``IssuerTemplate.matches``) and named by its template text.
        """
        iss = claims.get("iss", ABSENT)
        if isinstance(iss, str):
            if iss in self.issuers:
                return iss
            for template in self.templates:
                if template.matches(iss, claims):
                    return template.template
        raise InvalidIssuerError(
            claim="iss",
            expected=(*sorted(self.issuers), *(template.template for template in self.templates)),
            code=reasons.ISS_MISSING if iss is ABSENT else reasons.ISS_MISMATCH,
            found=iss,
        )

    def check_each(
        self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float, *, start: int = 0
    ) -> None:
        """Run the checks themselves, from the ``start``-th on: the reference for ``check``."""
        for check in self._checks[start:]:
            _run(check, header, claims, now)


def _run(check: ClaimCheck, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
    """One check, as the policy runs it: a refusal stays one, any other exception is a 503."""
    try:
        check(header, claims, now)
    except JWTMiddlewareException:
        raise
    except Exception as exc:
        raise extension_failure(check, exc) from None


def _fast_form(check: ClaimCheck) -> _Step | None:
    """``check``'s bound ``accepts``, if the class that defines its rule (``__call__``) states one.

    A subclass that overrides ``__call__`` (a stricter rule, say) without its own ``accepts`` has
    no fast form: its parent's would answer for a rule that is no longer the one that runs.
    """
    for klass in type(check).__mro__:
        namespace = vars(klass)
        if "__call__" in namespace:
            accepts = namespace.get("accepts")
            if not callable(accepts):
                return None
            bound: _Step = accepts.__get__(check)
            return bound
    return None


def _compiled(steps: tuple[_Step, ...], check_each: _CheckEach) -> _Check:
    """One flat function over ``steps``: returns when all accept; from the first that does not
    (or whose fast form failed), ``check_each`` runs the checks themselves from there. A refusal
    raised by a step propagates.

    Generated once per policy so that a request runs one frame with no loop, no counter and no
    per-step dispatch. Its source is fixed text and step positions; the steps themselves, and so
    nothing from the configuration or a token, are only ever referenced, never written into it.
    """
    lines = ["def check(header, claims, now):", "    at = 0", "    try:"]
    indent = "        "
    for index in range(len(steps)):
        # Nested, so that the checks in full run outside the ``try``: their exceptions are theirs.
        lines += [f"{indent}if _s{index}(header, claims, now):", f"{indent}    at = {index + 1}"]
        indent += "    "
    lines += [
        f"{indent}return None",
        "    except JWTMiddlewareException:",
        "        raise",  # a check run in full refused (or failed, as a 503): its own report
        "    except Exception:",
        "        pass",  # a fast form that fails leaves the decision to its check
        "    _full(header, claims, now, start=at)",
    ]
    namespace: dict[str, Any] = {f"_s{index}": step for index, step in enumerate(steps)}
    namespace["JWTMiddlewareException"] = JWTMiddlewareException
    namespace["_full"] = check_each
    exec(compile("\n".join(lines), "<jwt_middleware claim policy>", "exec"), namespace)  # noqa: S102
    function: _Check = namespace["check"]
    return function


def _step(check: ClaimCheck) -> _Step:
    """The hot path's form of ``check``: its fast form, or the check run in full."""
    fast = _fast_form(check)
    if fast is not None:
        return fast

    def run_in_full(header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> bool:
        _run(check, header, claims, now)
        return True

    return run_in_full


_IDENTITY_CHECK: Final = IdentityClaimsCheck()
