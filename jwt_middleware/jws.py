"""Compact JWS (RFC 7515) parsing and signature verification, without any claim semantics.

Everything that can be rejected without cryptography is rejected here first, in order of cost:
size, shape, alphabet, then decoding. The payload is returned as bytes because this layer does not
know what it carries; ``jwt_middleware.verifier`` layers the JWT claim policy on top.

Headers repeat: every token an issuer signs with one key carries the same header segment. Parsed
headers are therefore memoised by their exact segment string in a small bounded table, which takes
base64 and JSON work off the hot path without ever mapping two different strings to one header.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jwt_middleware import b64, reasons
from jwt_middleware.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS, Algorithm, validate_algorithms
from jwt_middleware.errors import (
    ABSENT,
    InvalidSignatureError,
    JWKError,
    MalformedTokenError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from jwt_middleware.jwk import MAX_KID_LENGTH, KeySet, VerificationKey, algorithm_mismatch, import_key
from jwt_middleware.safe_json import FrozenDict, JSONError, parse_object

__all__ = [
    "DEFAULT_MAX_TOKEN_LENGTH",
    "IGNORED_KEY_HEADERS",
    "REJECTED_HEADERS",
    "ParsedJWS",
    "check_algorithm",
    "parse_compact",
    "verify_compact",
    "verify_signature",
]

DEFAULT_MAX_TOKEN_LENGTH: Final = 16 * 1024

_COMPACT_PADDED: Final = re.compile(r"([A-Za-z0-9_-]+=*)\.([A-Za-z0-9_-]*=*)\.([A-Za-z0-9_-]+=*)")

#: Header parameters whose processing would change what the signature covers or means. We
#: implement none of their semantics, so a token using them cannot be verified correctly.
REJECTED_HEADERS: Final = {
    "crit": "The token uses critical header extensions",
    "b64": "The token uses an unencoded payload",
    "zip": "The token uses a compressed payload",
}
#: Header parameters that point at or carry a key. Ignored, never refused: keys only ever come
#: from configuration, so a token cannot choose the key that verifies it.
IGNORED_KEY_HEADERS: Final = ("jku", "x5u", "x5c", "jwk")
_HEADER_CACHE_SIZE: Final = 256


@dataclass(slots=True)
class ParsedJWS:
    """A syntactically valid compact JWS whose signature has not been checked yet.

    Not frozen: a frozen dataclass pays for ``object.__setattr__`` on every field of every token.
    """

    header: FrozenDict
    algorithm: Algorithm
    kid: str | None
    signing_input: bytes
    payload: bytes
    signature: bytes


class _HeaderCache:
    """Parsed, validated headers keyed by their exact base64url segment."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[str, tuple[FrozenDict, Algorithm, str | None]] = {}
        self._lock = threading.Lock()
        #: The parsed header for a segment, if memoised: the dict's own ``get`` (``put`` clears the
        #: dict in place, never replaces it), so that a hit runs no Python code.
        self.get: Callable[[str], tuple[FrozenDict, Algorithm, str | None] | None] = self._entries.get

    def put(self, segment: str, value: tuple[FrozenDict, Algorithm, str | None]) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                # Clearing is cheaper than LRU bookkeeping; real issuers use a handful of headers.
                self._entries.clear()
            self._entries[segment] = value


_header_cache: Final = _HeaderCache(_HEADER_CACHE_SIZE)


def _not_base64url() -> MalformedTokenError:
    return MalformedTokenError("The token is not canonical base64url", code=reasons.TOKEN_NOT_BASE64URL)


def _decode_segment(segment: str, padded: bool) -> bytes:
    try:
        return b64.decode_padded(segment) if padded else b64.decode_prevalidated(segment)
    except ValueError:
        raise _not_base64url() from None


def _parse_header(segment: str, padded: bool) -> tuple[FrozenDict, Algorithm, str | None]:
    try:
        header = parse_object(_decode_segment(segment, padded))
    except JSONError:
        raise MalformedTokenError(
            "The token header is not a valid JSON object", code=reasons.HEADER_INVALID
        ) from None
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise MalformedTokenError(
            "The token header has no algorithm",
            claim="alg",
            location="header",
            code=reasons.ALG_MISSING,
            found=header.get("alg", ABSENT),
        )
    algorithm = ALGORITHMS.get(alg)
    if algorithm is None:
        raise UnsupportedAlgorithmError(claim="alg", location="header", expected=tuple(ALGORITHMS), found=alg)
    for name, description in REJECTED_HEADERS.items():
        if name in header:
            raise MalformedTokenError(
                description,
                claim=name,
                location="header",
                code=reasons.HEADER_UNSUPPORTED,
                found=header[name],
            )
    kid = header.get("kid")
    # An explicit "kid": null is refused rather than read as "no kid": only absence means absent.
    if "kid" in header and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH):
        raise MalformedTokenError(
            "The token's key id is not a short string",
            claim="kid",
            location="header",
            code=reasons.KID_INVALID,
            found=kid,
        )
    # IGNORED_KEY_HEADERS are deliberately not read: keys only ever come from configuration.
    return header, algorithm, kid


def _not_compact(token: str) -> MalformedTokenError:
    if token.count(".") == 4:
        return MalformedTokenError("Encrypted tokens (JWE) are not accepted", code=reasons.TOKEN_ENCRYPTED)
    if token.lstrip().startswith("{"):
        return MalformedTokenError(
            "JSON-serialized tokens are not accepted", code=reasons.TOKEN_JSON_SERIALIZED
        )
    return MalformedTokenError("The token is not a compact JWS", code=reasons.TOKEN_NOT_COMPACT)


def _too_large(max_length: int) -> MalformedTokenError:
    return MalformedTokenError(
        "The token is too large", code=reasons.TOKEN_TOO_LARGE, expected=(str(max_length),)
    )


def _token_text(token: object, max_length: int) -> str:
    """A token given as anything but a ``str``: ``bytes`` are ASCII text, anything else refused.

    The length is judged before any decoding, so that an oversized token costs nothing but that.
    """
    if isinstance(token, str | bytes) and len(token) > max_length:
        raise _too_large(max_length)
    if isinstance(token, bytes):
        try:
            return token.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedTokenError("The token is not ASCII", code=reasons.TOKEN_NOT_COMPACT) from None
    if not isinstance(token, str):
        raise MalformedTokenError(code=reasons.TOKEN_NOT_COMPACT)
    return str(token)


def parse_compact(
    token: str | bytes,
    *,
    max_length: int = DEFAULT_MAX_TOKEN_LENGTH,
    allow_padding: bool = False,
) -> ParsedJWS:
    """Split and decode a compact JWS strictly; raise a ``MalformedTokenError`` family error.

    ``allow_padding`` admits ``=``-padded segments (AWS ALB tokens only); the header of such a
    token is not memoised because its string is not canonical.
    """
    if type(token) is not str:
        token = _token_text(token, max_length)
    elif len(token) > max_length:
        raise _too_large(max_length)
    if allow_padding:
        match = _COMPACT_PADDED.fullmatch(token)
        if match is None:
            raise _not_compact(token)
        header_segment, payload_segment, signature_segment = match.groups()
    else:
        # Split rather than match a regex over the whole token: the strict base64url decoding
        # of each segment below refuses every character outside the alphabet anyway, except the
        # standard alphabet's own "+", "/" and "=", which are refused here.
        segments = token.split(".", 3)  # a fourth part is enough to refuse
        if (
            len(segments) != 3
            or not token.isascii()
            or "+" in token
            or "/" in token
            or "=" in token
            or not segments[0]
            or not segments[2]
        ):
            raise _not_compact(token)
        header_segment, payload_segment, signature_segment = segments
    # The encoding of every segment is judged before the header's content, so a token that is
    # not strict base64url is always reported as malformed, whatever its header says.
    decode = b64.decode_padded if allow_padding else b64.decode_prevalidated
    try:
        payload = decode(payload_segment)
        signature = decode(signature_segment)
    except ValueError:
        raise _not_base64url() from None
    parsed_header = None if allow_padding else _header_cache.get(header_segment)
    if parsed_header is None:
        parsed_header = _parse_header(header_segment, allow_padding)
        if not allow_padding:
            _header_cache.put(header_segment, parsed_header)
    header, algorithm, kid = parsed_header
    signing_input_length = len(header_segment) + 1 + len(payload_segment)
    signing_input = token[:signing_input_length].encode("ascii")
    return ParsedJWS(header, algorithm, kid, signing_input, payload, signature)


def check_algorithm(parsed: ParsedJWS, allowed: Collection[str]) -> None:
    """The algorithm allow-list: refuse a token whose ``alg`` the configuration does not accept.

    The one implementation, used by ``verify_compact``, ``JWTVerifier`` and every verifier built on
    it, so that the rule and its report are the same everywhere.
    """
    if parsed.algorithm.name not in allowed:
        raise UnsupportedAlgorithmError(
            claim="alg",
            location="header",
            expected=tuple(sorted(allowed)),
            code=reasons.ALG_NOT_ALLOWED,
            found=parsed.algorithm.name,
        )


def verify_signature(parsed: ParsedJWS, key: VerificationKey) -> None:
    """Raise ``InvalidSignatureError`` unless ``key`` verifies ``parsed`` under its header ``alg``."""
    if parsed.algorithm.name not in key.algorithms:
        raise algorithm_mismatch(parsed.algorithm, key.algorithms)
    if not key.verify(parsed.algorithm, parsed.signing_input, parsed.signature):
        raise InvalidSignatureError()


def _as_key_set(keys: KeySet | VerificationKey | Mapping[str, Any]) -> KeySet:
    if isinstance(keys, KeySet):
        return keys
    if isinstance(keys, VerificationKey):
        return KeySet([keys])
    if isinstance(keys, Mapping):
        try:
            return KeySet.from_jwks(keys) if "keys" in keys else KeySet([import_key(keys)])
        except JWKError:
            raise UnknownKeyError("No usable key was given") from None
    raise TypeError("keys must be a KeySet, a VerificationKey, a JWKS or a JWK mapping")


def verify_compact(
    token: str | bytes,
    keys: KeySet | VerificationKey | Mapping[str, Any],
    *,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    max_length: int = DEFAULT_MAX_TOKEN_LENGTH,
) -> tuple[dict[str, Any], bytes]:
    """Verify a compact JWS against ``keys``; return its header and raw payload.

    Strict parsing, algorithm allow-list, key selection and the signature: no claim is read, so the
    payload need not be JSON. ``keys`` is a ``KeySet``, one ``VerificationKey``, a JWKS mapping or
    a single JWK mapping.
    """
    allowed = validate_algorithms(algorithms)
    parsed = parse_compact(token, max_length=max_length)
    check_algorithm(parsed, allowed)
    key = _as_key_set(keys).lookup(parsed.kid, parsed.algorithm)
    if key is None:
        raise UnknownKeyError(claim="kid", location="header", found=parsed.kid)
    verify_signature(parsed, key)
    return dict(parsed.header), parsed.payload
