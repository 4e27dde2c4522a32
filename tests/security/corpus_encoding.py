"""Encoding attacks on the compact serialization: base64url malleability and token shape.

Each case starts from a genuine token and changes only its encoding, so that a lenient decoder
would read exactly the genuine bytes: acceptance here would mean two strings are one token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from jwt_middleware import MalformedTokenError
from tests.security.catalogue import Case
from tests.security.kit import Kit, b64json, signed_segments

CATEGORY: Final = "Encoding and token shape"
RUN_BY: Final = ("test_corpus.py", "test_http.py")

CASES: list[Case] = []

ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SEGMENTS: Final = ("header", "payload", "signature")


def case(name: str, how: str, build: Callable[[Kit], Any], rule: str, **extra: Any) -> None:
    CASES.append(Case(name=name, how=how, build=build, expect=MalformedTokenError, rule=rule, **extra))


def _with_segment(token: str, index: int, change: Callable[[str], str]) -> str:
    parts = token.split(".")
    parts[index] = change(parts[index])
    return ".".join(parts)


def _sized_token(k: Kit, remainder: int) -> str:
    """A genuine Ed25519 token whose header and payload segments have ``len % 4 == remainder``."""
    for pad in range(12):
        header = k.header(pad="x" * pad)
        for payload_pad in range(12):
            payload = k.payload(pad="y" * payload_pad)
            if len(b64json(header)) % 4 == remainder and len(b64json(payload)) % 4 == remainder:
                return k.raw(header, payload)
    raise AssertionError("no padding found")


def _non_canonical(segment: str) -> str:
    # Setting an unused low bit of the last character: a lenient decoder yields the same bytes.
    assert len(segment) % 4 in (2, 3)
    return segment[:-1] + ALPHABET[ALPHABET.index(segment[-1]) + 1]


# -- padding ---------------------------------------------------------------------------------------

for index, segment in enumerate(SEGMENTS):
    case(
        f"padding-{segment}",
        f"correct '=' padding added to the {segment} segment",
        lambda k, index=index: _with_segment(_sized_token(k, 2), index, lambda s: s + "=="),
        "RFC 7515 §2 (base64url without padding)",
    )
    case(
        f"padding-wrong-{segment}",
        f"one '=' where two are due, on the {segment} segment",
        lambda k, index=index: _with_segment(_sized_token(k, 2), index, lambda s: s + "="),
        "RFC 7515 §2",
    )
case("padding-trailing-only", "'==' after the whole token", lambda k: k.token() + "==", "RFC 7515 §2")
case("padding-percent-encoded", "'%3D%3D' after the token", lambda k: k.token() + "%3D%3D", "RFC 7515 §2")

# -- non-canonical trailing bits and impossible lengths ---------------------------------------------

for remainder in (2, 3):
    for index, segment in enumerate(SEGMENTS[:2]):
        case(
            f"trailing-bits-{segment}-len-mod-4-is-{remainder}",
            f"an unused low bit set in the last character of the {segment} (length % 4 == {remainder})",
            lambda k, index=index, remainder=remainder: _with_segment(
                _sized_token(k, remainder), index, _non_canonical
            ),
            "RFC 4648 §3.5; RFC 7515 §2",
        )
case(
    "trailing-bits-signature",
    "an unused low bit set in the last character of the Ed25519 signature (86 characters)",
    lambda k: _with_segment(k.token(), 2, _non_canonical),
    "RFC 4648 §3.5",
)
case(
    "trailing-bits-signature-es256",
    "an unused low bit set in the last character of an ES256 signature",
    lambda k: _with_segment(k.token(k.es256), 2, _non_canonical),
    "RFC 4648 §3.5",
)
for index, segment in enumerate(SEGMENTS[:2]):
    case(
        f"length-mod-4-is-1-{segment}",
        f"one extra character making the {segment} length % 4 == 1",
        lambda k, index=index: _with_segment(_sized_token(k, 0), index, lambda s: s + "A"),
        "RFC 4648 §5",
    )
case(
    "length-mod-4-is-1-signature",
    "one extra character after an ES384 signature (128 characters), making its length % 4 == 1",
    lambda k: _with_segment(k.token(k.es384), 2, lambda s: s + "A"),
    "RFC 4648 §5",
)

# -- whitespace and characters outside the alphabet --------------------------------------------------

for label, (where, text) in {
    "leading-space": ("prefix", " "),
    "trailing-space": ("suffix", " "),
    "trailing-newline": ("suffix", "\n"),
    "trailing-crlf": ("suffix", "\r\n"),
    "leading-tab": ("prefix", "\t"),
    "nbsp": ("suffix", "\u00a0"),
    "zero-width-space": ("suffix", "\u200b"),
    "bom": ("prefix", "\ufeff"),
    "nul": ("suffix", "\x00"),
}.items():
    case(
        f"whitespace-{label}",
        f"{text!r} as {where} of a genuine token",
        lambda k, where=where, text=text: text + k.token() if where == "prefix" else k.token() + text,
        "RFC 7515 §7.1 (no whitespace)",
    )
for label, text in {"space": " ", "newline": "\n", "tab": "\t"}.items():
    case(
        f"whitespace-inside-payload-{label}",
        f"{text!r} inside the payload segment (a lenient decoder skips it)",
        lambda k, text=text: _with_segment(k.token(), 1, lambda s: s[:10] + text + s[10:]),
        "RFC 7515 §7.1",
    )
    case(
        f"whitespace-around-dot-{label}",
        f"{text!r} after the first dot",
        lambda k, text=text: k.token().replace(".", "." + text, 1),
        "RFC 7515 §7.1",
    )
for label, (old, new) in {
    "plus-for-dash": ("-", "+"),
    "slash-for-underscore": ("_", "/"),
}.items():
    case(
        f"alphabet-{label}",
        f"standard-base64 '{new}' in place of every '{old}' (same bytes under a lenient decoder)",
        lambda k, old=old, new=new: _token_containing(k, old).replace(old, new),
        "RFC 4648 §5; RFC 7515 §2",
    )
for label, text in {
    "asterisk": "*",
    "percent-dot": "%2E",
    "fullwidth-a": "\uff21",
    "latin-e-acute": "\u00e9",
    "backslash": "\\",
    "quote": '"',
}.items():
    case(
        f"alphabet-{label}",
        f"{text!r} inserted into the signature segment",
        lambda k, text=text: _with_segment(k.token(), 2, lambda s: s[:5] + text + s[5:]),
        "RFC 7515 §2",
    )
case(
    "alphabet-non-ascii-bytes",
    "a genuine token as bytes with one byte replaced by 0xE9 (not ASCII)",
    lambda k: k.token().encode()[:-3] + b"\xe9" + k.token().encode()[-2:],
    "RFC 7515 §7.1",
)
case(
    "alphabet-utf16-bytes",
    "a genuine token encoded as UTF-16 bytes",
    lambda k: k.token().encode("utf-16"),
    "RFC 7515 §7.1",
)


def _token_containing(k: Kit, character: str) -> str:
    for attempt in range(200):
        token = k.token(payload=k.payload(attempt=attempt))
        if character in token:
            return token
    raise AssertionError(f"no token containing {character!r}")


# -- shape: segment counts, empty segments, size ------------------------------------------------------

case("segments-1", "the header segment alone", lambda k: k.token().split(".")[0], "RFC 7515 §7.1")
case(
    "segments-2",
    "header.payload without the signature",
    lambda k: k.token().rsplit(".", 1)[0],
    "RFC 7515 §7.1",
)
case(
    "segments-2-trailing-dot",
    "header.payload. (empty signature)",
    lambda k: k.token().rsplit(".", 1)[0] + ".",
    "RFC 7515 §7.1",
)
case(
    "segments-4",
    "a fourth segment after a genuine token",
    lambda k: k.token() + "." + k.token().split(".")[2],
    "RFC 7515 §7.1",
)
case("segments-4-empty", "a trailing dot after a genuine token", lambda k: k.token() + ".", "RFC 7515 §7.1")
case("segments-6", "six segments", lambda k: k.token() + ".a.b.c", "RFC 7515 §7.1")
case(
    "segments-100k",
    "100 000 segments (checked with a 2 MB length limit so that shape, not size, rejects it)",
    lambda k: ".".join(["eyJ"] * 100_000),
    "RFC 7515 §7.1; bounded work",
    options={"max_token_length": 2_000_000},
)
case("empty-header", "'.payload.signature'", lambda k: "." + k.token().split(".", 1)[1], "RFC 7515 §7.1")
case(
    "empty-payload-signed",
    "a genuine signature over an empty payload (valid JWS, not a JWT)",
    lambda k: signed_segments(k.ed25519, b64json(k.header()), ""),
    "RFC 7519 §7.2",
)
case("empty-signature", "'header.payload.'", lambda k: k.token().rsplit(".", 1)[0] + ".", "RFC 7515 §7.1")
case("empty-all", "'..'", lambda k: "..", "RFC 7515 §7.1")
case("empty-string", "''", lambda k: "", "RFC 7515 §7.1")
case("dots-only", "'.' x 4", lambda k: "....", "RFC 7515 §7.1")
case("not-a-string-none", "None as the token", lambda k: None, "input type")
case("not-a-string-int", "an integer as the token", lambda k: 12345, "input type")
case("not-a-string-list", "a list of the three segments", lambda k: k.token().split("."), "input type")
case(
    "oversize-16k-plus-1",
    "a genuine-looking token one character over the 16 KiB limit",
    lambda k: k.token(payload=k.payload(pad="p" * 13000))[:16385].ljust(16385, "A"),
    "bounded input",
)
case(
    "oversize-1mb-str",
    "1 MB of base64url characters with two dots",
    lambda k: "eyJ" + "A" * 500_000 + ".e30." + "A" * 500_000,
    "bounded input",
)
case(
    "oversize-1mb-bytes",
    "the same 1 MB token as bytes",
    lambda k: ("eyJ" + "A" * 500_000 + ".e30." + "A" * 500_000).encode(),
    "bounded input",
)
case("oversize-1mb-dots", "1 MB of dots", lambda k: "." * 1_000_000, "bounded input")
