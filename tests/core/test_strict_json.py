"""Strict JSON in token segments: one document, one reading, and nothing but ValueError on failure."""

from __future__ import annotations

import pytest

from jwt_middleware import InvalidClaimError, MalformedTokenError
from jwt_middleware.safe_json import FrozenDict, FrozenList, JSONError, parse_object
from tests.core.support import ISSUER, Keyring, claims, dumps, header_for, signed_raw, verifier

# Valid payload text to splice defects into; its claims pass every check.
_BASE = dumps(claims())[1:-1].decode()  # without the braces


def _payload(extra: str) -> bytes:
    return ("{" + _BASE + "," + extra + "}").encode("utf-8")


# -- through a verifier: the rule holds for headers and payloads ------------------------------------

PAYLOAD_DEFECTS = {
    "duplicate-claim": '"sub":"someone-else"',
    "duplicate-iss": f'"iss":"{ISSUER}"',
    "duplicate-nested": '"x":{"a":1,"a":2}',
    "nan": '"x":NaN',
    "infinity": '"x":Infinity',
    "minus-infinity": '"x":-Infinity',
    "lone-high-surrogate": '"x":"\\ud800"',
    "lone-low-surrogate": '"x":"\\udc00"',
    "reversed-pair": '"x":"\\udc00\\ud800"',
    "surrogate-in-key": '"\\ud800":1',
    "huge-integer": '"x":' + "9" * 4301,
    "trailing-comma": '"x":1,',
    "single-quotes": "'x':1",
    "comment": '"x":1/*c*/',
    "control-in-string": '"x":"a\nb"',
}


@pytest.mark.parametrize("defect", list(PAYLOAD_DEFECTS))
def test_payload_that_is_not_strict_json_is_malformed(keyring: Keyring, defect: str) -> None:
    key = keyring["EdDSA"]
    check = verifier(keyring.jwks("EdDSA"))
    assert check.verify_sync(signed_raw(key, header_for(key), _payload('"x":1'))) == claims(x=1)
    with pytest.raises(MalformedTokenError):
        check.verify_sync(signed_raw(key, header_for(key), _payload(PAYLOAD_DEFECTS[defect])))


HEADER_DEFECTS = {
    "duplicate-alg": '{"alg":"EdDSA","alg":"EdDSA","kid":"KID"}',
    "duplicate-kid": '{"alg":"EdDSA","kid":"KID","kid":"other"}',
    "nan": '{"alg":"EdDSA","kid":"KID","x":NaN}',
    "lone-surrogate": '{"alg":"EdDSA","kid":"KID","x":"\\ud800"}',
    "huge-integer": '{"alg":"EdDSA","kid":"KID","x":' + "1" * 4400 + "}",
    "array": '[{"alg":"EdDSA","kid":"KID"}]',
}


@pytest.mark.parametrize("defect", list(HEADER_DEFECTS))
def test_header_that_is_not_strict_json_is_malformed(keyring: Keyring, defect: str) -> None:
    key = keyring["EdDSA"]
    check = verifier(keyring.jwks("EdDSA"), max_token_length=64 * 1024)
    good = '{"alg":"EdDSA","kid":"KID"}'.replace("KID", key.kid).encode()
    assert check.verify_sync(signed_raw(key, good, claims())) == claims()
    with pytest.raises(MalformedTokenError):
        check.verify_sync(signed_raw(key, HEADER_DEFECTS[defect].replace("KID", key.kid).encode(), claims()))


@pytest.mark.parametrize("part", ["header", "payload"])
def test_byte_order_mark_is_malformed(keyring: Keyring, part: str) -> None:
    key = keyring["EdDSA"]
    header, payload = dumps(header_for(key)), dumps(claims())
    if part == "header":
        header = "\ufeff".encode() + header
    else:
        payload = "\ufeff".encode() + payload
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("EdDSA")).verify_sync(signed_raw(key, header, payload))


@pytest.mark.parametrize(
    "payload", [b"[]", b'["sub"]', b'"a string"', b"1700000000", b"null", b"true", b"", b" "]
)
def test_payload_that_is_not_a_json_object_is_malformed(keyring: Keyring, payload: bytes) -> None:
    key = keyring["EdDSA"]
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("EdDSA")).verify_sync(signed_raw(key, header_for(key), payload))


@pytest.mark.parametrize(
    "bad_bytes",
    [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\x80"],
    ids=["ff", "overlong", "encoded-surrogate", "truncated", "five-byte", "continuation"],
)
def test_payload_that_is_not_utf8_is_malformed(keyring: Keyring, bad_bytes: bytes) -> None:
    key = keyring["EdDSA"]
    payload = _payload('"x":"')[:-1] + bad_bytes + b'"}'
    with pytest.raises(MalformedTokenError):
        verifier(keyring.jwks("EdDSA")).verify_sync(signed_raw(key, header_for(key), payload))


def test_surrogate_pair_escape_is_valid(keyring: Keyring) -> None:
    key = keyring["EdDSA"]
    result = verifier(keyring.jwks("EdDSA")).verify_sync(
        signed_raw(key, header_for(key), _payload('"x":"\\ud83d\\ude00"'))
    )
    assert result["x"] == "\U0001f600"


@pytest.mark.parametrize("opening", ["[", '{"a":'], ids=["arrays", "objects"])
def test_deep_nesting_is_malformed_without_recursion_error(keyring: Keyring, opening: str) -> None:
    key = keyring["EdDSA"]
    nested = opening * 100_000
    check = verifier(keyring.jwks("EdDSA"), max_token_length=1_000_000)
    with pytest.raises(MalformedTokenError):
        check.verify_sync(signed_raw(key, header_for(key), _payload(f'"x":{nested}')))


def test_moderate_nesting_is_accepted_and_frozen(keyring: Keyring) -> None:
    key = keyring["EdDSA"]
    result = verifier(keyring.jwks("EdDSA")).verify_sync(
        signed_raw(key, header_for(key), _payload('"x":' + "[" * 30 + "]" * 30))
    )
    inner = result["x"]
    for _ in range(29):
        assert type(inner) is FrozenList
        inner = inner[0]


def test_4300_digit_integer_is_accepted_as_data_but_not_as_a_date(keyring: Keyring) -> None:
    key = keyring["EdDSA"]
    check = verifier(keyring.jwks("EdDSA"), max_token_length=64 * 1024)
    # The largest integer Python parses by default: fine as data...
    assert check.verify_sync(signed_raw(key, header_for(key), _payload('"x":' + "9" * 4300)))["x"] > 0
    # ...and a date claim that large is an invalid date, not an OverflowError.
    huge_exp = dumps(claims())[1:-1].decode().replace(f'"exp":{int(claims()["exp"])}', '"exp":' + "9" * 4000)
    with pytest.raises(InvalidClaimError):
        check.verify_sync(signed_raw(key, header_for(key), ("{" + huge_exp + "}").encode()))


# -- parse_object directly: only JSONError (a ValueError) ever escapes -------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,
        b'{"a":' * 100_000,
        b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"a":' + b"1" * 5000 + b"}",
        b'{"a":-' + b"1" * 5000 + b"}",
        b'{"a":1,"a":1}',
        b'{"a":NaN}',
        b"\xef\xbb\xbf{}",
        b'{"a":"\\udfff"}',
        b"\xff{}",
        b"[]",
        b"{} {}",
        b"",
    ],
    ids=[
        "deep-arrays",
        "deep-objects",
        "deep-inside-object",
        "huge-int",
        "huge-negative-int",
        "duplicate",
        "nan",
        "bom",
        "lone-surrogate",
        "bad-utf8",
        "array",
        "two-documents",
        "empty",
    ],
)
def test_parse_object_raises_only_json_error(raw: bytes) -> None:
    with pytest.raises(JSONError):
        parse_object(raw)


def test_parse_object_accepts_strict_json_into_frozen_containers() -> None:
    result = parse_object(b' {"a": [1, {"b": [2.5, "\\u00e9"]}], "c": null} ')
    assert result == {"a": [1, {"b": [2.5, "\u00e9"]}], "c": None}
    assert type(result) is FrozenDict
    assert type(result["a"]) is FrozenList
    assert type(result["a"][1]) is FrozenDict
    assert type(result["a"][1]["b"]) is FrozenList
