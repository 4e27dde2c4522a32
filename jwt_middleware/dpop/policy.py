"""``DPoPPolicy``: what a verifier accepts of sender-constrained tokens, and how it challenges.

One object per ``JWTVerifier`` (``verifier.dpop``), built from its ``dpop*`` arguments, holding
every DPoP rule of the verifier in one place: the mode (``"allowed"``, ``"required"``,
``"disabled"``), the proof rules, the replay store, where the request's URI comes from, and the
challenges a refusal carries (RFC 9449 section 7.1: ``DPoP`` with ``algs``, and ``Bearer`` too
while bearer tokens are accepted).

Everything here is pure; the verifier drives it and does the only I/O (keys, the replay store).
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping
from typing import Any, Final, Literal, get_args

from jwt_middleware import b64, reasons
from jwt_middleware.algorithms import DEFAULT_ALGORITHMS
from jwt_middleware.challenge import Challenge, bearer_challenge, bearer_challenges, error_params
from jwt_middleware.dpop.nonce import DPoPNonce
from jwt_middleware.dpop.proof import (
    DEFAULT_IAT_WINDOW,
    DEFAULT_LEEWAY,
    DEFAULT_MAX_PROOF_LENGTH,
    ProofRules,
    VerifiedProof,
    check_proof,
)
from jwt_middleware.dpop.replay import MemoryReplayStore, ReplayStore
from jwt_middleware.dpop.uri import check_base_url, target_uri
from jwt_middleware.errors import (
    ConfigurationError,
    DPoPBindingError,
    InsufficientScopeError,
    InvalidClaimError,
    InvalidDPoPProofError,
    InvalidTokenError,
    JWTMiddlewareError,
)
from jwt_middleware.request_view import RequestView

__all__ = [
    "DPOP_SCHEME",
    "DPoPBoundCheck",
    "DPoPMode",
    "DPoPPolicy",
    "confirmation_thumbprint",
    "scheme_challenges",
]

DPoPMode = Literal["allowed", "required", "disabled"]
DPOP_SCHEME: Final = "DPoP"
_MODES: Final = get_args(DPoPMode)
_THUMBPRINT_LENGTH: Final = 43


def confirmation_thumbprint(claims: Mapping[str, Any]) -> str | None:
    """The RFC 7638 thumbprint a verified token is bound to (``cnf.jkt``), ``None`` for a bearer token.

    A ``cnf`` that is not an object, or whose ``jkt`` is not a SHA-256 thumbprint, is refused; so
    is a token bound by another method (``x5t#S256`` for mutual TLS), which cannot be checked here
    and must never pass as a bearer token.
    """
    if "cnf" not in claims:
        return None
    cnf = claims["cnf"]
    if not isinstance(cnf, Mapping):
        raise InvalidClaimError(
            "The token's confirmation claim is malformed", claim="cnf", code=reasons.CNF_INVALID
        )
    if "jkt" not in cnf:
        raise InvalidTokenError(
            "The token is bound to a key in a way this service cannot check",
            claim="cnf",
            code=reasons.CNF_UNSUPPORTED,
        )
    jkt = cnf["jkt"]
    if not isinstance(jkt, str) or len(jkt) != _THUMBPRINT_LENGTH or not b64.is_alphabet(jkt):
        raise InvalidClaimError(
            "The token's confirmation claim is malformed", claim="cnf", code=reasons.CNF_INVALID
        )
    return jkt


class DPoPBoundCheck:
    """The route rule "DPoP-bound tokens only" (``require_dpop`` in every adapter).

    Every path that returns the claims of a bound token has checked its proof, so a route only
    needs to know the token is bound.
    """

    __slots__ = ()

    def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        if confirmation_thumbprint(claims) is None:
            raise DPoPBindingError("This resource accepts DPoP-bound tokens only", code=reasons.DPOP_REQUIRED)


def _dpop_challenge(error: JWTMiddlewareError | None, algorithms: tuple[str, ...]) -> Challenge:
    params = error_params(error)
    if algorithms:
        params = (*params, ("algs", " ".join(algorithms)))
    return Challenge(DPOP_SCHEME, params)


def scheme_challenges(
    error: JWTMiddlewareError, realm: str, policy: DPoPPolicy | None = None
) -> tuple[Challenge, ...]:
    """The challenges of a refusal, for ``policy`` (``None``: the verifier is chosen per request).

    The error goes into the challenge of the scheme it is about (``error.scheme``); the other
    accepted scheme is offered bare, with ``algs`` for ``DPoP``.
    """
    if policy is None:
        if error.scheme != DPOP_SCHEME:
            return bearer_challenges(error, realm)
        return (bearer_challenge(realm), _dpop_challenge(error, ()))
    if not policy.accepts_dpop:
        return (bearer_challenge(realm, error),)
    if isinstance(error, InsufficientScopeError):
        # Authenticated already: only the scheme the token came with is named (RFC 6750 3.1).
        if error.scheme == DPOP_SCHEME:
            return (_dpop_challenge(error, policy.algorithms),)
        return (bearer_challenge(realm, error),)
    if not policy.accepts_bearer or error.code == reasons.DPOP_REQUIRED:
        return (_dpop_challenge(error, policy.algorithms),)
    if error.scheme == DPOP_SCHEME:
        return (bearer_challenge(realm), _dpop_challenge(error, policy.algorithms))
    return (bearer_challenge(realm, error), _dpop_challenge(None, policy.algorithms))


class DPoPPolicy:
    """The DPoP rules of one verifier; see ``JWTVerifier``'s ``dpop*`` arguments."""

    __slots__ = (
        "_mode",
        "accepts_bearer",
        "accepts_dpop",
        "algorithms",
        "base_url",
        "replay",
        "rules",
        "trust_forwarded",
    )

    #: Whether a token sent as ``Bearer`` may be accepted (every mode but ``"required"``), and
    #: whether a DPoP-bound one may (every mode but ``"disabled"``). Plain attributes, fixed with
    #: the mode at construction: every bearer verification reads the first.
    accepts_bearer: bool
    accepts_dpop: bool

    def __init__(
        self,
        mode: DPoPMode = "allowed",
        *,
        iat_window: float = DEFAULT_IAT_WINDOW,
        leeway: float = DEFAULT_LEEWAY,
        nonce: DPoPNonce | bool | None = None,
        replay: ReplayStore | None = None,
        algorithms: Collection[str] | None = None,
        base_url: str | None = None,
        trust_forwarded: bool = False,
        max_proof_length: int = DEFAULT_MAX_PROOF_LENGTH,
    ) -> None:
        if mode not in _MODES:
            raise ConfigurationError('dpop must be "allowed", "required" or "disabled"')
        self._mode: DPoPMode = mode
        self.accepts_bearer = mode != "required"
        self.accepts_dpop = mode != "disabled"
        if nonce is True:
            nonce = DPoPNonce()
        self.rules = ProofRules(
            algorithms=frozenset(DEFAULT_ALGORITHMS if algorithms is None else algorithms),
            iat_window=iat_window,
            leeway=leeway,
            nonce=nonce or None,
            max_proof_length=max_proof_length,
        )
        #: The accepted proof algorithms, sorted (``algs`` in challenges, RFC 9728 metadata).
        self.algorithms: tuple[str, ...] = tuple(sorted(self.rules.algorithms))
        if replay is not None and not isinstance(replay, ReplayStore):
            raise ConfigurationError("dpop_replay must have first_use and afirst_use (see ReplayStore)")
        #: Where proof ``jti`` values are remembered; in-process unless a shared store is given.
        self.replay: ReplayStore = replay if replay is not None else MemoryReplayStore()
        self.base_url = check_base_url(base_url)
        if base_url is not None and trust_forwarded:
            raise ConfigurationError("give dpop_base_url or dpop_trust_forwarded, not both")
        self.trust_forwarded = bool(trust_forwarded)

    @property
    def mode(self) -> DPoPMode:
        """``"allowed"``, ``"required"`` or ``"disabled"``; read-only, as what follows from it is."""
        return self._mode

    def check_bearer(self, claims: Mapping[str, Any]) -> None:
        """A verified token presented as ``Bearer``: refused if bound to a key (RFC 9449 7.1)."""
        # "cnf" tested first: a bearer token's usual case decided without a call.
        if "cnf" in claims and confirmation_thumbprint(claims) is not None:
            raise DPoPBindingError(
                "A DPoP-bound token must be sent with a DPoP proof", code=reasons.TOKEN_SENDER_CONSTRAINED
            )

    def refuse_bearer_if_required(self) -> None:
        """With ``dpop="required"``, no token is accepted without a proof."""
        if not self.accepts_bearer:
            raise DPoPBindingError("This resource accepts DPoP-bound tokens only", code=reasons.DPOP_REQUIRED)

    def target_uri(self, request: RequestView) -> str | None:
        """The normalised URI the request's proof must name (``htu``)."""
        return target_uri(
            request.url, request.header, base_url=self.base_url, trust_forwarded=self.trust_forwarded
        )

    def check_proof(self, token: str, request: RequestView, now: float) -> VerifiedProof:
        """RFC 9449 section 4.3's checks on the request's ``DPoP`` header, for ``token``."""
        if not self.accepts_dpop:
            raise DPoPBindingError("DPoP-bound tokens are not accepted here", code=reasons.DPOP_TOKEN_UNBOUND)
        return check_proof(
            request.header("dpop"),
            method=request.method,
            target_uri=self.target_uri(request),
            access_token=token,
            now=now,
            rules=self.rules,
        )

    def check_binding(self, claims: Mapping[str, Any], proof: VerifiedProof) -> None:
        """Section 7.1: the token must be bound (``cnf.jkt``) to the key that signed the proof."""
        bound_to = confirmation_thumbprint(claims)
        if bound_to is None:
            raise DPoPBindingError("The token is not bound to a DPoP key", code=reasons.DPOP_TOKEN_UNBOUND)
        if not hmac.compare_digest(bound_to, proof.thumbprint):
            raise DPoPBindingError()

    @staticmethod
    def replayed() -> InvalidDPoPProofError:
        return InvalidDPoPProofError("The DPoP proof has already been used", code=reasons.DPOP_REPLAYED)

    def challenges(self, error: JWTMiddlewareError, realm: str) -> tuple[Challenge, ...]:
        """The ``WWW-Authenticate`` challenges for a refusal by a verifier with this policy."""
        return scheme_challenges(error, realm, self)

    def __repr__(self) -> str:
        return f"DPoPPolicy({self.mode!r}, algorithms={list(self.algorithms)!r})"
