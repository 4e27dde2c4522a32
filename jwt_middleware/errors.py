"""The errors every layer of the library reports, and nothing else.

Each error that a client can cause carries what an HTTP layer needs to answer it per RFC 6750:
``status_code``, ``error`` (the RFC 6750 code, or ``None`` where the RFC wants a bare challenge) and
``description``, a fixed sentence chosen here, never built from the token, so that it can be sent
to any client and written to any log. The offending values never appear in the message.

What a program needs is in ``code``, the stable reason code of the one rule that refused
(``jwt_middleware.reasons``), and in ``report``, a ``CheckReport`` of what that rule checked: the
claim or header field, the configured expectation, and what the token held. That last part is
token content, so it is ``HIDDEN`` unless the verifier was configured to expose unverified claims
(``expose_unverified_claims=True``, for tools such as the command line); ``unverified_claims``
follows the same rule.

Server-side failures (no keys, a rule that crashed) are ``TemporarilyUnavailableError``s: 503 with
``Retry-After`` in every adapter, never a 401 and never a 500.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from jwt_middleware import reasons

__all__ = [
    "ABSENT",
    "HIDDEN",
    "BlockingCallError",
    "CheckReport",
    "ConfigurationError",
    "DPoPBindingError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidDPoPProofError",
    "InvalidIssuerError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "JWKError",
    "JWTMiddlewareError",
    "JWTMiddlewareException",
    "KeysUnavailableError",
    "MalformedTokenError",
    "MissingTokenError",
    "NotYetValidError",
    "ReplayStoreFullError",
    "RevocationListFullError",
    "RevocationUnavailableError",
    "RevokedTokenError",
    "StoreUnavailableError",
    "TemporarilyUnavailableError",
    "Unexposed",
    "UnknownKeyError",
    "UnsupportedAlgorithmError",
    "UseDPoPNonceError",
    "VerificationUnavailableError",
    "is_safe_description",
]


def is_safe_description(text: str) -> bool:
    """Whether ``text`` may stand inside an RFC 6750 ``error_description`` quoted string.

    RFC 6750 section 3 allows %x20-21 / %x23-5B / %x5D-7E: printable ASCII without ``"`` and ``\\``.
    """
    return all(0x20 <= ord(ch) <= 0x7E and ch not in '"\\' for ch in text)


class Unexposed(enum.Enum):
    """What a ``CheckReport`` holds in ``found`` when it does not hold token content."""

    #: The token's value is not carried (the verifier was not built to expose unverified claims).
    HIDDEN = "hidden"
    #: The token has no such claim or header field.
    ABSENT = "absent"


HIDDEN: Final = Unexposed.HIDDEN
ABSENT: Final = Unexposed.ABSENT


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What one check looked at when it refused a token, as data.

    ``code`` is the stable reason (``jwt_middleware.reasons``); ``claim`` the claim or header field
    the rule is about (``location`` says which of the two), ``None`` for rules about the whole
    token; ``expected`` the configured values it compared against and ``limit`` the instant a time
    rule compared against (configuration and clock, never token content). ``found`` is what the
    token held: unverified, attacker-controlled, and ``HIDDEN`` unless the verifier was built with
    ``expose_unverified_claims=True``. It never appears in ``str()`` or ``repr()``.
    """

    code: str
    claim: str | None = None
    location: str | None = None
    expected: tuple[str, ...] = ()
    limit: float | None = None
    found: Any = field(default=HIDDEN, compare=False)

    def __repr__(self) -> str:
        parts = [f"code={self.code!r}"]
        if self.claim is not None:
            parts.append(f"claim={self.claim!r}")
        if self.location is not None:
            parts.append(f"location={self.location!r}")
        if self.expected:
            parts.append(f"expected={self.expected!r}")
        if self.limit is not None:
            parts.append(f"limit={self.limit!r}")
        return f"CheckReport({', '.join(parts)})"

    __str__ = __repr__


class JWTMiddlewareException(Exception):
    """The root of every exception the library defines, so one ``except`` tells ours from the rest.

    Catch it at a boundary that wants "anything from jwt_middleware" (a log line, a wrapper). To
    handle a refused request, catch ``JWTMiddlewareError``: the root also covers programming and
    set-up errors (``ConfigurationError``, ``BlockingCallError``) that must never become a 401.
    Classes with an older built-in base keep it too (``ConfigurationError`` is still a
    ``ValueError``), so existing ``except ValueError`` code goes on working.
    """


class JWTMiddlewareError(JWTMiddlewareException):
    """Base of every error a request can cause; carries its HTTP meaning and its ``report``.

    ``code`` is the stable reason code of the rule that refused (``jwt_middleware.reasons``),
    ``claim`` the claim or header field it was about and ``expected`` the configured values it was
    checked against (configuration, never token content), so that tools such as the CLI can
    explain a rejection without the error itself ever holding token data. What the token held is
    only reachable, through ``report.found`` and ``unverified_claims``, when the verifier was
    configured to expose it.
    """

    status_code: ClassVar[int] = 401
    error: ClassVar[str | None] = None
    default_description: ClassVar[str] = "Authentication failed"
    default_code: ClassVar[str] = reasons.AUTH_FAILED

    description: str
    code: str
    claim: str | None
    expected: tuple[str, ...]
    unverified_claims: Mapping[str, Any] | None
    #: The auth-scheme of the credentials refused, when it is not ``Bearer`` (``"DPoP"``): the
    #: challenge of that scheme carries the error (RFC 9449 section 7.1).
    scheme: str | None = None
    #: Response headers the refusal must carry besides its challenge (``DPoP-Nonce``), as
    #: lower-case names and values chosen by the library, never taken from the request.
    headers: tuple[tuple[str, str], ...] = ()

    def __init__(
        self,
        description: str | None = None,
        *,
        claim: str | None = None,
        expected: tuple[str, ...] = (),
        code: str | None = None,
        location: str | None = None,
        limit: float | None = None,
        found: Any = HIDDEN,
    ) -> None:
        self.description = description if description is not None else self.default_description
        self.code = code if code is not None else self.default_code
        self.claim = claim
        self.expected = expected
        self.unverified_claims = None
        self._location = location if location is not None or claim is None else "claims"
        self._limit = limit
        self._found = found
        self._exposed = False
        super().__init__(self.description)

    @property
    def report(self) -> CheckReport:
        """The refusal as data; ``found`` is ``HIDDEN`` unless ``expose`` was called."""
        return CheckReport(
            code=self.code,
            claim=self.claim,
            location=self._location,
            expected=self.expected,
            limit=self._limit,
            found=self._found if self._exposed else HIDDEN,
        )

    def locate(self, claim: str, *, location: str, found: Any = HIDDEN) -> None:
        """Name the field this refusal is about when whoever raised it could not see the token.

        A key source refuses a ``kid`` without seeing the header it came from; the verifier then
        says where it was. Does nothing when the error already names its field.
        """
        if self.claim is None:
            self.claim = claim
            self._location = location
            self._found = found

    def expose(self, unverified_claims: Mapping[str, Any] | None) -> None:
        """Make the token's content reachable (``unverified_claims``, ``report.found``).

        Called by a verifier built with ``expose_unverified_claims=True``, and by nothing else.
        """
        self._exposed = True
        if unverified_claims is not None:
            self.unverified_claims = unverified_claims

    def conceal(self) -> None:
        """Drop what the check found in the token: the default for every refusal leaving a verifier."""
        self._found = HIDDEN
        self._exposed = False
        self.unverified_claims = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r}, code={self.code!r})"


class MissingTokenError(JWTMiddlewareError):
    """No credentials at all: RFC 6750 section 3.1 says answer with a bare challenge, no code."""

    status_code = 401
    error = None
    default_description = "Authentication is required"
    default_code = reasons.TOKEN_MISSING


class InvalidRequestError(JWTMiddlewareError):
    """The request carries credentials in a shape RFC 6750 forbids (several, malformed)."""

    status_code = 400
    error = "invalid_request"
    default_description = "The request's credentials are malformed"
    default_code = reasons.REQUEST_INVALID


class InvalidTokenError(JWTMiddlewareError):
    """The token is present but cannot be trusted: the client must get a new one."""

    status_code = 401
    error = "invalid_token"
    default_description = "The token is invalid"
    default_code = reasons.TOKEN_INVALID


class MalformedTokenError(InvalidTokenError):
    default_description = "The token is malformed"
    default_code = reasons.TOKEN_MALFORMED


class UnsupportedAlgorithmError(InvalidTokenError):
    default_description = "The token's signing algorithm is not accepted"
    default_code = reasons.ALG_UNSUPPORTED


class InvalidSignatureError(InvalidTokenError):
    default_description = "The token's signature is invalid"
    default_code = reasons.SIGNATURE_INVALID


class UnknownKeyError(InvalidTokenError):
    default_description = "The token was signed by an unknown key"
    default_code = reasons.KID_UNKNOWN


class ExpiredTokenError(InvalidTokenError):
    default_description = "The token has expired"
    default_code = reasons.EXP_EXPIRED


class NotYetValidError(InvalidTokenError):
    default_description = "The token is not yet valid"
    default_code = reasons.NBF_NOT_YET_VALID


class InvalidIssuerError(InvalidTokenError):
    default_description = "The token's issuer is not accepted"
    default_code = reasons.ISS_MISMATCH


class InvalidAudienceError(InvalidTokenError):
    default_description = "The token's audience is not accepted"
    default_code = reasons.AUD_MISMATCH


class InvalidClaimError(InvalidTokenError):
    default_description = "The token's claims are not accepted"
    default_code = reasons.CLAIM_INVALID


class RevokedTokenError(InvalidTokenError):
    """The token was revoked: by its ``jti``, by its ``origin_jti``, or by ``sub`` issued before a moment.

    ``claim`` names the claim that matched and ``code`` says the same (``jti.revoked``,
    ``origin_jti.revoked``, ``sub.revoked``), so a signed-out session can be told from one revoked
    token without any claim value in the error.
    """

    default_description = "The token has been revoked"
    default_code = reasons.JTI_REVOKED

    _CODES: ClassVar[Mapping[str, str]] = {
        "jti": reasons.JTI_REVOKED,
        "origin_jti": reasons.ORIGIN_JTI_REVOKED,
        "sub": reasons.SUB_REVOKED,
    }

    def __init__(self, description: str | None = None, *, claim: str = "jti") -> None:
        super().__init__(description, claim=claim, code=self._CODES.get(claim, reasons.JTI_REVOKED))


class DPoPBindingError(InvalidTokenError):
    """The token and its presentation disagree about proof of possession (RFC 9449 section 7.1).

    A DPoP-bound token sent as ``Bearer``, a token bound to no key sent as ``DPoP``, a proof signed
    by another key than the one the token is bound to, or a plain bearer token where only bound
    ones are accepted: ``invalid_token``, challenged with the ``DPoP`` scheme.
    """

    default_description = "The token is not bound to the DPoP proof's key"
    default_code = reasons.DPOP_KEY_MISMATCH
    scheme = "DPoP"


class InvalidDPoPProofError(JWTMiddlewareError):
    """The ``DPoP`` proof of a request fails one of RFC 9449 section 4.3's checks, or was replayed.

    401 with ``WWW-Authenticate: DPoP error="invalid_dpop_proof"``; ``code`` names the check.
    """

    status_code = 401
    error = "invalid_dpop_proof"
    default_description = "The DPoP proof is invalid"
    default_code = reasons.DPOP_PROOF_MALFORMED
    scheme = "DPoP"


class UseDPoPNonceError(JWTMiddlewareError):
    """The proof must carry the server's current nonce (RFC 9449 section 9): retry with ``nonce``.

    The answer carries the nonce in ``DPoP-Nonce``; a client signs a fresh proof with it.
    """

    status_code = 401
    error = "use_dpop_nonce"
    default_description = "The DPoP proof must carry the server's nonce"
    default_code = reasons.DPOP_NONCE_REQUIRED
    scheme = "DPoP"

    nonce: str

    def __init__(self, nonce: str, description: str | None = None) -> None:
        super().__init__(description)
        self.nonce = nonce
        self.headers = (("dpop-nonce", nonce),)


class InsufficientScopeError(JWTMiddlewareError):
    """A valid token that lacks what the route asks for (RFC 6750 section 3.1)."""

    status_code = 403
    error = "insufficient_scope"
    default_description = "The token lacks the required scope"
    default_code = reasons.SCOPE_INSUFFICIENT

    scopes: tuple[str, ...]

    def __init__(
        self,
        description: str | None = None,
        *,
        scopes: tuple[str, ...] = (),
        claim: str | None = None,
        expected: tuple[str, ...] | None = None,
        code: str | None = None,
        found: Any = HIDDEN,
    ) -> None:
        # ``scopes`` go into the challenge's scope attribute; ``expected`` (groups, say) do not.
        super().__init__(
            description,
            claim=claim,
            expected=scopes if expected is None else expected,
            code=code,
            found=found,
        )
        self.scopes = scopes


class TemporarilyUnavailableError(JWTMiddlewareError):
    """A server-side failure: the request cannot be decided now, whatever its token.

    Answered with 503 and ``Retry-After`` by every adapter, never 401 (the token may be perfectly
    good, and a 401 would send every client back to the login page) and never 500. Subclasses
    say what is unavailable.
    """

    status_code = 503
    error = "temporarily_unavailable"
    default_description = "Authentication is temporarily unavailable"
    default_code = reasons.SERVER_UNAVAILABLE

    retry_after: int

    def __init__(self, description: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class KeysUnavailableError(TemporarilyUnavailableError):
    """No usable keys because the identity provider cannot be reached and nothing is cached.

    ``code`` is the reason code of the fetch failure that left no keys (``fetch.timeout``, say)
    when one is known, ``keys.unavailable`` otherwise; ``fetch_reason`` is its short phrase.
    Neither reaches the client: the description stays fixed.
    """

    default_description = "The signing keys are temporarily unavailable"
    default_code = reasons.KEYS_UNAVAILABLE

    fetch_reason: str | None

    def __init__(
        self,
        description: str | None = None,
        *,
        retry_after: int = 5,
        code: str | None = None,
        fetch_reason: str | None = None,
    ) -> None:
        super().__init__(description, retry_after=retry_after)
        if code is not None:
            self.code = code
        self.fetch_reason = fetch_reason


class VerificationUnavailableError(TemporarilyUnavailableError):
    """A ``checks=`` rule or the ``custom_check`` raised something other than a refusal.

    That is the service's failure (a revocation store that is down, a bug in the rule), not the
    token's, so it is a 503. ``exception_type`` names what was raised; the exception itself, its
    message and the claims stay out of the error, which may be logged and answered anywhere.
    """

    default_description = "Authentication is temporarily unavailable"
    default_code = reasons.CHECK_FAILED

    exception_type: str

    def __init__(
        self,
        description: str | None = None,
        *,
        retry_after: int = 5,
        exception_type: str = "Exception",
        code: str | None = None,
    ) -> None:
        super().__init__(description, retry_after=retry_after)
        self.exception_type = exception_type
        if code is not None:
            self.code = code


class RevocationUnavailableError(TemporarilyUnavailableError):
    """Whether the token was revoked cannot be told: the revocation mirror is older than ``max_stale``."""

    default_description = "Revocation status is temporarily unavailable"
    default_code = reasons.REVOCATION_UNAVAILABLE


class StoreUnavailableError(TemporarilyUnavailableError):
    """The shared store (Redis) did not answer in time, so a write or a lookup did not happen."""

    default_description = "A shared store is temporarily unavailable"
    default_code = reasons.STORE_UNAVAILABLE


class ReplayStoreFullError(TemporarilyUnavailableError):
    """The in-process DPoP replay store holds as many live proofs as it may: none is dropped early.

    Forgetting a proof before its window ends would let it be replayed, so a full store refuses
    new proofs (503) until old ones expire; raise ``max_entries`` or share a Redis store.
    """

    default_description = "Proof-of-possession checks are temporarily unavailable"
    default_code = reasons.DPOP_REPLAY_FULL


class ConfigurationError(JWTMiddlewareException, ValueError):
    """The library was configured in a way that cannot be made safe; raised at set-up time."""


class RevocationListFullError(ConfigurationError):
    """A revocation would exceed ``max_entries`` live entries: raise the cap or shorten lifetimes.

    Raised by ``revoke_*`` instead of dropping anything, so the caller knows this revocation did
    not happen (a configuration limit, hence a ``ConfigurationError``).
    """


class JWKError(JWTMiddlewareException, ValueError):
    """A JWK or JWKS document cannot be used; the message names the rule, never key material."""


class BlockingCallError(JWTMiddlewareException, RuntimeError):
    """A sync API was called where it would block a running event loop; use the async one.

    A programming error, not a token failure: it is never turned into a 401.
    """
