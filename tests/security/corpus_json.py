"""Strict JSON: documents two parsers could read differently are refused, in header and payload.

Every token here is correctly signed over exactly the bytes shown, so only the JSON rules stand
between the document and acceptance.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from jwt_middleware import MalformedTokenError
from tests.security.catalogue import Case
from tests.security.kit import MARKER, Kit, dumps

CATEGORY: Final = "Strict JSON"
RUN_BY: Final = ("test_corpus.py", "test_http.py")

CASES: list[Case] = []


def case(name: str, how: str, expect: Any, rule: str, build: Callable[[Kit], Any], **extra: Any) -> None:
    CASES.append(Case(name=name, how=how, build=build, expect=expect, rule=rule, **extra))


def _header_text(k: Kit) -> str:
    return dumps(k.header()).decode()


def _payload_text(k: Kit) -> str:
    return dumps(k.payload()).decode()


def in_payload(
    name: str, how: str, text: Callable[[Kit], bytes], rule: str, expect: Any = MalformedTokenError
) -> None:
    case(f"payload-{name}", f"payload: {how}", expect, rule, lambda k: k.raw(payload=text(k)))


def in_header(
    name: str, how: str, text: Callable[[Kit], bytes], rule: str, expect: Any = MalformedTokenError
) -> None:
    case(f"header-{name}", f"header: {how}", expect, rule, lambda k: k.raw(header=text(k)))


def both(name: str, how: str, edit: Callable[[str], str], rule: str) -> None:
    """The same textual edit applied to the header's JSON and, separately, to the payload's."""
    in_header(name, how, lambda k: edit(_header_text(k)).encode("utf-8", "surrogatepass"), rule)
    in_payload(name, how, lambda k: edit(_payload_text(k)).encode("utf-8", "surrogatepass"), rule)


def _append(member: str) -> Callable[[str], str]:
    return lambda text: text[:-1] + "," + member + "}"


# -- duplicate members ---------------------------------------------------------------------------

in_header(
    "duplicate-alg",
    "'alg' twice, EdDSA then none",
    lambda k: _append('"alg":"none"')(_header_text(k)).encode(),
    "RFC 7515 §5.2 step 4; RFC 8259 §4",
)
in_header(
    "duplicate-alg-reversed",
    "'alg' twice, none then EdDSA",
    lambda k: ('{"alg":"none",' + _header_text(k)[1:]).encode(),
    "RFC 7515 §5.2 step 4",
)
in_header(
    "duplicate-kid",
    "'kid' twice with different values",
    lambda k: _append(f'"kid":"{MARKER}"')(_header_text(k)).encode(),
    "RFC 7515 §5.2 step 4",
)
in_header(
    "duplicate-alg-escaped",
    "'alg' and its escaped spelling '\\u0061lg'",
    lambda k: _append('"\\u0061lg":"none"')(_header_text(k)).encode(),
    "RFC 7515 §5.2 step 4; RFC 8259 §7",
)
for claim, value in {
    "sub": '"admin"',
    "iss": '"https://attacker.example"',
    "exp": "9999999999",
    "aud": '"api://orders"',
}.items():
    in_payload(
        f"duplicate-{claim}",
        f"'{claim}' twice (the second would win in most parsers)",
        lambda k, claim=claim, value=value: _append(f'"{claim}":{value}')(_payload_text(k)).encode(),
        "RFC 7519 §4; RFC 8259 §4",
    )
in_payload(
    "duplicate-sub-escaped",
    "'sub' and '\\u0073ub'",
    lambda k: _append('"\\u0073ub":"admin"')(_payload_text(k)).encode(),
    "RFC 7519 §4; RFC 8259 §7",
)
in_payload(
    "duplicate-nested",
    "a duplicate member inside a nested object claim",
    lambda k: _append('"roles":{"admin":false,"admin":true}')(_payload_text(k)).encode(),
    "RFC 8259 §4",
)
in_payload(
    "duplicate-identical",
    "the same member and value twice",
    lambda k: _append(f'"note":"{MARKER}"')(_payload_text(k)).encode(),
    "RFC 7519 §4",
)

# -- top-level type -------------------------------------------------------------------------------

for label, text in {
    "array": lambda k: dumps([k.payload()]),
    "string": lambda k: dumps(MARKER),
    "number": lambda k: b"1700000000",
    "true": lambda k: b"true",
    "null": lambda k: b"null",
    "empty": lambda k: b"",
    "whitespace-only": lambda k: b"  ",
    "two-objects": lambda k: dumps(k.payload()) + dumps(k.payload()),
    "trailing-garbage": lambda k: dumps(k.payload()) + b"x",
}.items():
    in_payload(f"top-level-{label}", f"top level is {label}", text, "RFC 7519 §7.2 step 10")
in_header("top-level-array", "top level is an array", lambda k: dumps([k.header()]), "RFC 7515 §5.2 step 3")
in_header("top-level-string", "top level is a string", lambda k: dumps("EdDSA"), "RFC 7515 §5.2 step 3")

# -- numbers --------------------------------------------------------------------------------------

for literal in ("NaN", "Infinity", "-Infinity"):
    both(
        f"number-{literal.lower()}",
        f"a member with the value {literal}",
        _append(f'"x":{literal}'),
        "RFC 8259 §6",
    )
in_payload(
    "number-exp-nan",
    "'exp': NaN",
    lambda k: dumps(k.payload(exp=None))[:-1] + b',"exp":NaN}',
    "RFC 8259 §6; RFC 7519 §2",
)
in_payload(
    "number-exp-overflow",
    "'exp': 1e999 (overflows to infinity)",
    lambda k: dumps(k.payload(exp=None))[:-1] + b',"exp":1e999}',
    "RFC 8259 §6 (numbers are finite); RFC 7519 §2",
)
in_payload(
    "number-custom-claim-overflow",
    "a custom claim of -1e999 (overflows to infinity)",
    lambda k: dumps(k.payload())[:-1] + b',"ratio":-1e999}',
    "RFC 8259 §6 (numbers are finite)",
)
for digits in (4301, 10_000):
    both(
        f"number-{digits}-digit-integer",
        f"an integer of {digits} digits",
        _append('"x":' + "7" * digits),
        "RFC 8259 §6; bounded work",
    )
in_payload(
    "number-leading-zero", "'x': 01", lambda k: _append('"x":01')(_payload_text(k)).encode(), "RFC 8259 §6"
)
in_payload("number-hex", "'x': 0x10", lambda k: _append('"x":0x10')(_payload_text(k)).encode(), "RFC 8259 §6")
in_payload("number-plus", "'x': +1", lambda k: _append('"x":+1')(_payload_text(k)).encode(), "RFC 8259 §6")

# -- nesting --------------------------------------------------------------------------------------

# Checked with a 2 MB length limit, so that the JSON rules, not the size limit, reject them.
_LARGE: Final = {"max_token_length": 2_000_000}
for depth in (2_000, 100_000):
    for where in ("header", "payload"):
        for label, member in {
            "arrays": '"x":' + "[" * depth + "]" * depth,
            "objects": '"x":' + '{"a":' * depth + "1" + "}" * depth,
            "unclosed-arrays": '"x":' + "[" * depth,
        }.items():
            case(
                f"{where}-nesting-{label}-{depth}",
                f"{where}: {depth} nested {label.replace('-', ' ')}",
                MalformedTokenError,
                "RFC 8259 §9 (implementation limits); bounded work",
                lambda k, where=where, member=member: k.raw(
                    **{
                        where: _append(member)(
                            (_header_text if where == "header" else _payload_text)(k)
                        ).encode()
                    }
                ),
                options=_LARGE,
            )

# -- encodings ------------------------------------------------------------------------------------

for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
    in_payload(
        f"encoding-{codec}",
        f"the claims encoded as {codec.upper()}",
        lambda k, codec=codec: _payload_text(k).encode(codec),
        "RFC 8259 §8.1; RFC 8725 §3.7",
    )
    in_header(
        f"encoding-{codec}",
        f"the header encoded as {codec.upper()}",
        lambda k, codec=codec: _header_text(k).encode(codec),
        "RFC 8259 §8.1",
    )
both(
    "encoding-utf8-bom",
    "a UTF-8 byte order mark before the object",
    lambda text: "\ufeff" + text,
    "RFC 8259 §8.1",
)
for label, raw in {
    "invalid-byte": b"\xff",
    "overlong-slash": b"\xc0\xaf",
    "encoded-surrogate": b"\xed\xa0\x80",
    "truncated-sequence": b"\xe2\x82",
    "latin1-e-acute": b"\xe9",
}.items():
    in_payload(
        f"invalid-utf8-{label}",
        f"the bytes {raw!r} inside a string claim",
        lambda k, raw=raw: _payload_text(k)[:-1].encode() + b',"x":"' + raw + b'"}',
        "RFC 8259 §8.1; RFC 3629",
    )
in_header(
    "invalid-utf8-in-kid",
    "the byte 0xFF inside the kid string",
    lambda k: b'{"alg":"EdDSA","kid":"okp-ed25519\xff"}',
    "RFC 8259 §8.1",
)
for label, escape in {
    "high": "\\ud800",
    "low": "\\udc00",
    "reversed-pair": "\\udc00\\ud800",
    "high-then-text": "\\ud83dx",
}.items():
    both(
        f"lone-surrogate-{label}",
        f"the escape {escape} in a string",
        _append(f'"x":"{escape}"'),
        "RFC 8259 §8.2",
    )
both("lone-surrogate-in-key", "a member name holding \\ud800", _append('"\\ud800":1'), "RFC 8259 §8.2")

# -- not JSON -------------------------------------------------------------------------------------

for label, edit in {
    "single-quotes": lambda text: text.replace('"', "'"),
    "trailing-comma": lambda text: text[:-1] + ",}",
    "comment": lambda text: "/* x */" + text,
    "raw-newline-in-string": _append('"x":"a\nb"'),
    "raw-nul-in-string": _append('"x":"a\u0000b"'),
    "unquoted-key": _append("x:1"),
    "truncated": lambda text: text[:-1],
}.items():
    both(f"syntax-{label}", f"not JSON: {label.replace('-', ' ')}", edit, "RFC 8259 §2")

# -- positive controls ----------------------------------------------------------------------------

case(
    "control-escaped-surrogate-pair",
    "a properly paired surrogate escape (an emoji) in a claim",
    None,
    "positive control; RFC 8259 §7",
    lambda k: k.raw(payload=_append('"x":"\\ud83d\\ude00"')(_payload_text(k)).encode()),
)
case(
    "control-insignificant-whitespace",
    "spaces and newlines between JSON tokens of header and payload",
    None,
    "positive control; RFC 8259 §2",
    lambda k: k.raw(json.dumps(k.header(), indent=1).encode(), json.dumps(k.payload(), indent=2).encode()),
)
case(
    "control-unicode-escapes",
    "member names written with \\u escapes ('\\u0069ss' is 'iss')",
    None,
    "positive control; RFC 8259 §7",
    lambda k: k.raw(payload=_payload_text(k).replace('"iss"', '"\\u0069ss"').encode()),
)
case(
    "control-jws-non-json-payload",
    "signature-only layer: a genuine signature over a payload that is not JSON",
    None,
    "positive control; RFC 7515 (the JWS payload is arbitrary octets)",
    lambda k: k.raw(payload=b"\xff\x00not json"),
    verifier="jws",
)
case(
    "payload-not-json-at-jwt-layer",
    "the same genuine non-JSON payload at the JWT layer",
    MalformedTokenError,
    "RFC 7519 §7.2 step 10",
    lambda k: k.raw(payload=b"\xff\x00not json"),
)
