"""Strict base64url (RFC 7515 section 2): one byte string has exactly one accepted encoding.

Malleable encodings let an attacker change a token's bytes without changing what it decodes to,
which defeats token caches keyed by the string and confuses replay detection, so the decoder
rejects padding, characters outside the URL-safe alphabet, impossible lengths and non-zero unused
trailing bits. ALB tokens, which AWS pads, go through the separate ``decode_padded``.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["decode", "decode_padded", "encode", "is_alphabet"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
_PADDED = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")

# For a final group of 2 characters only the top 2 bits of the last one carry data, for a group of
# 3 characters the top 4: the canonical last characters are those whose unused bits are zero.
#: The padding that completes a segment of each length modulo 4 (1 is impossible).
_PADDING = {0: b"", 2: b"==", 3: b"="}
_CANONICAL_LAST = {
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}


def is_alphabet(segment: str) -> bool:
    """Whether ``segment`` uses only the unpadded base64url alphabet."""
    return _ALPHABET.fullmatch(segment) is not None


def decode_prevalidated(segment: str) -> bytes:
    """Like ``decode``, for a segment the caller has checked holds no ``+``, ``/`` or ``=``.

    Those are the only characters outside the base64url alphabet that the strict standard-alphabet
    decoder would accept after translation; it refuses every other one (whitespace, ``.``,
    non-ASCII...), so the whole-string alphabet scan can be skipped on the hot path.
    """
    remainder = len(segment) % 4
    if remainder == 1:
        raise ValueError("impossible base64url length")
    if remainder and segment[-1] not in _CANONICAL_LAST[remainder]:
        raise ValueError("non-canonical base64url")
    data = segment.encode("ascii").translate(_TO_STANDARD) + _PADDING[remainder]
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        raise ValueError("invalid base64url") from None


def decode(segment: str) -> bytes:
    """Decode one unpadded, canonical base64url segment; raise ``ValueError`` on anything else."""
    if _ALPHABET.fullmatch(segment) is None:
        raise ValueError("invalid base64url alphabet")
    return decode_prevalidated(segment)


def decode_padded(segment: str) -> bytes:
    """Decode base64url that may carry correct ``=`` padding (AWS ALB tokens, some JWKs)."""
    if _PADDED.fullmatch(segment) is None:
        raise ValueError("invalid base64url alphabet")
    unpadded = segment.rstrip("=")
    if segment != unpadded and len(segment) % 4:
        raise ValueError("incorrect base64url padding")
    return decode_prevalidated(unpadded)


def encode(data: bytes) -> str:
    """Encode without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
