"""The checks of one DPoP proof, in the order RFC 9449 section 4.3 lists them. Pure, no I/O.

``check_proof`` is given everything it needs (the proof header values, the request's method and
target URI, the access token, the clock's reading) and returns a ``VerifiedProof`` or raises the
error of the first check that failed. The signature is verified by the library's own JWS code
with the same strictness as tokens: canonical base64url, strict JSON, an asymmetric algorithm of
the accepted list, a public key that is neither weak nor private, bound to that algorithm.

What needs I/O or the token's verified claims comes after, in the driver (``JWTVerifier``): the
key binding (``cnf.jkt``) and the replay check of the ``jti``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from jwt_middleware import b64, reasons
from jwt_middleware.algorithms import DEFAULT_ALGORITHMS, validate_algorithms
from jwt_middleware.dpop.nonce import DPoPNonce
from jwt_middleware.dpop.uri import MAX_URI_LENGTH, normalize_uri
from jwt_middleware.errors import (
    ConfigurationError,
    InvalidDPoPProofError,
    InvalidSignatureError,
    JWKError,
    JWTMiddlewareError,
    UnsupportedAlgorithmError,
    UseDPoPNonceError,
)
from jwt_middleware.jwk import VerificationKey, has_private_members, import_key, jwk_thumbprint
from jwt_middleware.jws import parse_compact, verify_signature
from jwt_middleware.policy import MAX_LEEWAY, is_numeric_date
from jwt_middleware.safe_json import JSONError, parse_object

__all__ = [
    "DEFAULT_IAT_WINDOW",
    "DEFAULT_LEEWAY",
    "DEFAULT_MAX_PROOF_LENGTH",
    "MAX_JTI_LENGTH",
    "PROOF_TYPE",
    "ProofRules",
    "VerifiedProof",
    "access_token_hash",
    "check_proof",
]

PROOF_TYPE: Final = "dpop+jwt"
#: How far a proof's ``iat`` may be from the clock, either way, in seconds (RFC 9449 section 11.1).
DEFAULT_IAT_WINDOW: Final = 300.0
#: Added to the window for clocks that disagree a little.
DEFAULT_LEEWAY: Final = 5.0
#: The longest ``DPoP`` header value read: a proof with an RSA-4096 key and a long ``htu`` fits.
DEFAULT_MAX_PROOF_LENGTH: Final = 8192
MAX_JTI_LENGTH: Final = 256
_MAX_METHOD_LENGTH: Final = 32
#: base64url of a SHA-256 digest, the only ``ath`` there is.
_ATH_LENGTH: Final = 43
_REQUIRED_CLAIMS: Final = ("jti", "htm", "htu", "iat")
_KEY_CACHE_SIZE: Final = 1024
_KEY_MEMBERS: Final = ("n", "e", "x", "y")


@dataclass(frozen=True, slots=True)
class ProofRules:
    """What a proof must satisfy: accepted algorithms, the ``iat`` window, nonces, sizes."""

    algorithms: frozenset[str] = frozenset(DEFAULT_ALGORITHMS)
    iat_window: float = DEFAULT_IAT_WINDOW
    leeway: float = DEFAULT_LEEWAY
    nonce: DPoPNonce | None = None
    max_proof_length: int = DEFAULT_MAX_PROOF_LENGTH

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithms", validate_algorithms(self.algorithms))
        for name, value, limit in (
            ("dpop_iat_window", self.iat_window, 3600.0),
            ("leeway", self.leeway, MAX_LEEWAY),
        ):
            if not (isinstance(value, int | float) and 0 <= value <= limit):
                raise ConfigurationError(f"{name} must be a number of seconds from 0 to {limit:g}")
        if self.nonce is not None and not isinstance(self.nonce, DPoPNonce):
            raise ConfigurationError("dpop_nonce must be a DPoPNonce (or True for one with a random secret)")
        if not isinstance(self.max_proof_length, int) or not 512 <= self.max_proof_length <= 65536:
            raise ConfigurationError("the maximum proof length must be from 512 to 65536")

    @property
    def tolerance(self) -> float:
        """How far ``iat`` may be from now, either way: the window plus the leeway."""
        return self.iat_window + self.leeway


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """A proof that passed every check of section 4.3: who signed it, and its ``jti`` and ``iat``."""

    thumbprint: str
    jti: str
    iat: float

    @property
    def replay_key(self) -> str:
        """A fixed-size name for this proof's ``jti``, scoped to its key (stored, never the ``jti``)."""
        digest = hashlib.sha256(f"{self.thumbprint}.{self.jti}".encode()).digest()
        return b64.encode(digest)

    def replay_ttl(self, rules: ProofRules, now: float) -> float:
        """How long the ``jti`` must be remembered: until the proof could no longer be accepted."""
        return max(1.0, self.iat + rules.tolerance - now + 1.0)


class _ProofKeys:
    """Imported proof keys by the exact header segment that carried them.

    A client signs every proof with one key, so its proofs share one header segment (``typ``,
    ``alg`` and ``jwk`` do not change): importing and checking the key once per client instead
    of once per request takes a third off a proof's cost. Keyed by the exact string, so no other
    header can ever be mapped to a cached key; bounded, and cleared when full.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[str, tuple[VerificationKey, str]] = {}
        self._lock = threading.Lock()

    def get(self, segment: str) -> tuple[VerificationKey, str] | None:
        return self._entries.get(segment)

    def put(self, segment: str, value: tuple[VerificationKey, str]) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[segment] = value


_proof_keys: Final = _ProofKeys(_KEY_CACHE_SIZE)


def _proof_key(segment: str, jwk: Mapping[str, Any]) -> tuple[VerificationKey, str]:
    """Checks 6 and 7's key, public, canonical and strong, imported; and its RFC 7638 thumbprint.

    A private key is refused before it is ever imported.
    """
    cached = _proof_keys.get(segment)
    if cached is not None:
        return cached
    if has_private_members(jwk):
        raise _refuse(
            "The DPoP proof's key contains private key material", reasons.DPOP_JWK_PRIVATE, "jwk", "header"
        )
    _canonical_jwk(jwk)
    try:
        found = (import_key(jwk), jwk_thumbprint(jwk))
    except JWKError:
        raise _refuse(
            "The DPoP proof's key is not usable", reasons.DPOP_JWK_INVALID, "jwk", "header"
        ) from None
    _proof_keys.put(segment, found)
    return found


def access_token_hash(token: str) -> str:
    """``ath``: the base64url SHA-256 of the access token's ASCII bytes (RFC 9449 section 4.2)."""
    return b64.encode(hashlib.sha256(token.encode("ascii")).digest())


def _refuse(
    description: str, code: str, claim: str | None = None, location: str = "claims"
) -> InvalidDPoPProofError:
    return InvalidDPoPProofError(description, code=code, claim=claim, location=location if claim else None)


def _single_proof(values: Sequence[str], rules: ProofRules) -> str:
    """Check 1: exactly one ``DPoP`` header (a comma means several folded into one)."""
    if not values:
        raise _refuse("The request has no DPoP proof", reasons.DPOP_PROOF_MISSING)
    if len(values) > 1 or "," in values[0]:
        raise _refuse("The request has more than one DPoP proof", reasons.DPOP_PROOF_MULTIPLE)
    proof = values[0].strip(" \t")
    if len(proof) > rules.max_proof_length:
        raise _refuse("The DPoP proof is too large", reasons.DPOP_PROOF_TOO_LARGE)
    return proof


def _string_claim(claims: Mapping[str, Any], name: str, limit: int) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise _refuse("The DPoP proof has an invalid claim", reasons.DPOP_CLAIM_INVALID, name)
    return value


def _canonical_jwk(jwk: Any) -> None:
    """The key's members must be canonical base64url, RSA integers without leading zeros.

    One key has one encoding, so one thumbprint: a padded or zero-prefixed copy of a key could
    otherwise pass for another key, or fail to match the ``cnf.jkt`` of its own.
    """
    for name in _KEY_MEMBERS:
        if name not in jwk:
            continue
        value = jwk[name]
        try:
            raw = b64.decode(value) if isinstance(value, str) else b""
        except ValueError:
            raw = b""
        if not raw or (name in ("n", "e") and raw[0] == 0):
            raise _refuse("The DPoP proof's key is not canonical", reasons.DPOP_JWK_INVALID, "jwk", "header")


def check_proof(
    values: Sequence[str],
    *,
    method: str,
    target_uri: str | None,
    access_token: str | None,
    now: float,
    rules: ProofRules,
) -> VerifiedProof:
    """Run RFC 9449 section 4.3's checks 1 to 11, and 12's ``ath``, on a request's ``DPoP`` header(s).

    ``target_uri`` is the request's normalised URI (``uri.target_uri``; ``None`` matches nothing);
    ``access_token`` the token presented with the proof (``None`` at a token endpoint).
    """
    proof = _single_proof(values, rules)
    # 2. A well-formed compact JWS: strict base64url segments, a strict JSON header and payload.
    try:
        parsed = parse_compact(proof, max_length=rules.max_proof_length)
    except UnsupportedAlgorithmError:
        raise _refuse(
            "The DPoP proof's algorithm is not accepted", reasons.DPOP_ALG_NOT_ALLOWED, "alg", "header"
        ) from None
    except JWTMiddlewareError:
        raise _refuse("The DPoP proof is malformed", reasons.DPOP_PROOF_MALFORMED) from None
    try:
        claims = parse_object(parsed.payload)
    except JSONError:
        raise _refuse("The DPoP proof is malformed", reasons.DPOP_PROOF_MALFORMED) from None
    header = parsed.header
    # 3. Every required header parameter and claim.
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise _refuse("The DPoP proof carries no public key", reasons.DPOP_JWK_MISSING, "jwk", "header")
    for name in _REQUIRED_CLAIMS:
        if name not in claims:
            raise _refuse("The DPoP proof lacks a required claim", reasons.DPOP_CLAIM_MISSING, name)
    jti = _string_claim(claims, "jti", MAX_JTI_LENGTH)
    htm = _string_claim(claims, "htm", _MAX_METHOD_LENGTH)
    htu = _string_claim(claims, "htu", MAX_URI_LENGTH)
    iat = claims["iat"]
    if not is_numeric_date(iat):
        raise _refuse("The DPoP proof has an invalid claim", reasons.DPOP_CLAIM_INVALID, "iat")
    # 4. The type.
    if header.get("typ") != PROOF_TYPE:
        raise _refuse("The DPoP proof is not of type dpop+jwt", reasons.DPOP_TYP_MISMATCH, "typ", "header")
    # 5. An asymmetric algorithm (parse_compact knows no other), accepted here.
    if parsed.algorithm.name not in rules.algorithms:
        raise _refuse(
            "The DPoP proof's algorithm is not accepted", reasons.DPOP_ALG_NOT_ALLOWED, "alg", "header"
        )
    # 6. and 7. The signature verifies with the header's key, which holds no private part.
    key, thumbprint = _proof_key(proof.partition(".")[0], jwk)
    try:
        verify_signature(parsed, key)
    except UnsupportedAlgorithmError:
        raise _refuse(
            "The DPoP proof's algorithm does not match its key", reasons.DPOP_JWK_INVALID, "jwk", "header"
        ) from None
    except InvalidSignatureError:
        raise _refuse("The DPoP proof's signature is invalid", reasons.DPOP_SIGNATURE_INVALID) from None
    # 8. The method, compared exactly (RFC 9110 methods are case-sensitive).
    if htm != method:
        raise _refuse("The DPoP proof is for another HTTP method", reasons.DPOP_HTM_MISMATCH, "htm")
    # 9. The target URI, both sides normalised; an htu naming a query or fragment matches nothing.
    if "?" in htu or "#" in htu or target_uri is None or normalize_uri(htu) != target_uri:
        raise _refuse("The DPoP proof is for another URL", reasons.DPOP_HTU_MISMATCH, "htu")
    # 10. The server's nonce, when it hands out nonces.
    if rules.nonce is not None and not rules.nonce.is_valid(claims.get("nonce"), now):
        raise UseDPoPNonceError(rules.nonce.current(now))
    # 11. Created recently: iat within the window, either way.
    if iat < now - rules.tolerance:
        raise _refuse("The DPoP proof is too old", reasons.DPOP_IAT_TOO_OLD, "iat")
    if iat > now + rules.tolerance:
        raise _refuse("The DPoP proof was issued in the future", reasons.DPOP_IAT_IN_FUTURE, "iat")
    # 12 (first half). Made for this access token.
    if access_token is not None:
        ath = claims.get("ath")
        if ath is None:
            raise _refuse("The DPoP proof does not name the access token", reasons.DPOP_ATH_MISSING, "ath")
        if not isinstance(ath, str) or len(ath) != _ATH_LENGTH:
            raise _refuse("The DPoP proof is for another access token", reasons.DPOP_ATH_MISMATCH, "ath")
        if not hmac.compare_digest(
            ath.encode("ascii", "replace"), access_token_hash(access_token).encode("ascii")
        ):
            raise _refuse("The DPoP proof is for another access token", reasons.DPOP_ATH_MISMATCH, "ath")
    return VerifiedProof(thumbprint=thumbprint, jti=jti, iat=float(iat))
