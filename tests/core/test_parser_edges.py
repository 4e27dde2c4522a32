"""Edges of the compact JWS parser that the mutation run (tests/MUTATION.md) found unguarded.

Each test pins one boundary or one field of a report: the ``kid`` length limits, the ALB padded
path's refusals, the header memo, ``verify_compact``'s own limits, and what each refusal says.
"""

from __future__ import annotations

import secrets

import pytest

from jwt_middleware import JWTMiddlewareError, KeySet, reasons, verify_compact
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.errors import ABSENT, CheckReport
from jwt_middleware.jwk import MAX_KID_LENGTH
from jwt_middleware.jws import parse_compact, verify_signature
from tests.core.support import MARKER, Keyring, claims, signed_raw, token


def _fresh(header: dict[str, object]) -> dict[str, object]:
    """``header`` with a nonce: never parsed before, so the header memo cannot answer for the parser.

    (A memo filled by an earlier test, or by an earlier run in the same process, would otherwise
    hide the rule under test: the mutation tool forks its workers from such a process.)
    """
    return {**header, "nonce": secrets.token_hex(8)}


def _refused(make: object) -> JWTMiddlewareError:
    with pytest.raises(JWTMiddlewareError) as refused:
        make()  # type: ignore[operator]
    refused.value.expose(None)
    return refused.value


@pytest.mark.parametrize("length", [1, 2, MAX_KID_LENGTH])
def test_kids_of_every_allowed_length_are_read(keyring: Keyring, length: int) -> None:
    kid = "k" * length
    assert (
        parse_compact(signed_raw(keyring["ES256"], _fresh({"alg": "ES256", "kid": kid}), claims())).kid == kid
    )


def test_a_kid_one_character_too_long_is_refused(keyring: Keyring) -> None:
    kid = "k" * (MAX_KID_LENGTH + 1)
    error = _refused(
        lambda: parse_compact(signed_raw(keyring["ES256"], _fresh({"alg": "ES256", "kid": kid}), claims()))
    )
    assert (error.code, error.report.found) == (reasons.KID_INVALID, kid)


def test_each_refusal_reports_what_it_found(keyring: Keyring) -> None:
    key = keyring["ES256"]
    no_alg = _refused(lambda: parse_compact(signed_raw(key, _fresh({"kid": MARKER}), claims())))
    assert no_alg.report.found is ABSENT
    null_alg = _refused(lambda: parse_compact(signed_raw(key, _fresh({"alg": None}), claims())))
    assert (null_alg.code, null_alg.report.found) == (reasons.ALG_MISSING, None)
    hmac = _refused(lambda: parse_compact(signed_raw(key, _fresh({"alg": "HS256"}), claims())))
    assert hmac.report == CheckReport(reasons.ALG_UNSUPPORTED, "alg", "header", tuple(ALGORITHMS))
    assert hmac.report.found == "HS256"
    crit = _refused(
        lambda: parse_compact(signed_raw(key, _fresh({"alg": "ES256", "crit": ["exp"]}), claims()))
    )
    assert (crit.report.found, crit.description) == (["exp"], "The token uses critical header extensions")
    large = _refused(lambda: parse_compact("a" * 101, max_length=100))
    assert large.report == CheckReport(reasons.TOKEN_TOO_LARGE, expected=("100",))


def test_bytes_that_are_not_ascii_are_not_a_compact_token() -> None:
    assert _refused(lambda: parse_compact("é.b.c".encode())).code == reasons.TOKEN_NOT_COMPACT
    assert _refused(lambda: parse_compact(12345)).code == reasons.TOKEN_NOT_COMPACT  # type: ignore[arg-type]


def test_json_serialization_is_recognised_after_leading_whitespace() -> None:
    assert _refused(lambda: parse_compact(' \t{"payload": "x"}')).code == reasons.TOKEN_JSON_SERIALIZED


def test_the_padded_path_refuses_like_the_strict_one() -> None:
    # ALB tokens: a string that is no compact JWS at all is malformed, not a crash.
    for text in ("not a token", "a.b", '{"payload": "x"}', "a.b.c.d.e"):
        with pytest.raises(JWTMiddlewareError):
            parse_compact(text, allow_padding=True)


def test_a_padded_token_decodes_to_the_same_parts(keyring: Keyring) -> None:
    strict = token(keyring["ES256"])
    padded = ".".join(part + "=" * (-len(part) % 4) for part in strict.split("."))
    assert padded != strict
    a, b = parse_compact(strict), parse_compact(padded, allow_padding=True)
    assert (a.header, a.payload, a.signature, a.kid) == (b.header, b.payload, b.signature, b.kid)


def test_repeated_headers_are_parsed_once_and_padded_ones_never_memoised(keyring: Keyring) -> None:
    header = _fresh({"alg": "ES256", "kid": "es256-key"})
    first = parse_compact(signed_raw(keyring["ES256"], header, claims(sub="a")))
    second = parse_compact(signed_raw(keyring["ES256"], header, claims(sub="b")))
    assert first.header is second.header  # the same segment string: the memo answered
    strict = signed_raw(keyring["ES384"], _fresh({"alg": "ES384"}), claims())
    padded = ".".join(part + "=" * (-len(part) % 4) for part in strict.split("."))
    one, two = parse_compact(padded, allow_padding=True), parse_compact(padded, allow_padding=True)
    assert one.header == two.header
    assert one.header is not two.header  # not canonical: never memoised


def test_verify_compact_applies_its_own_size_limit(keyring: Keyring) -> None:
    good = token(keyring["ES256"])
    assert verify_compact(good, keyring.jwks("ES256"))[0]["kid"] == "es256-key"
    error = _refused(lambda: verify_compact(good, keyring.jwks("ES256"), max_length=len(good) - 1))
    assert error.code == reasons.TOKEN_TOO_LARGE


def test_verify_compact_reports_an_unknown_kid(keyring: Keyring) -> None:
    error = _refused(lambda: verify_compact(token(keyring["ES256"], kid=MARKER), keyring.jwks("ES256")))
    assert error.report == CheckReport(reasons.KID_UNKNOWN, "kid", "header")
    assert error.report.found == MARKER


def test_a_key_of_another_algorithm_is_refused_with_its_report(keyring: Keyring) -> None:
    parsed = parse_compact(token(keyring["ES256"]))
    eddsa = KeySet.from_jwks(keyring.jwks("EdDSA")).keys[0]
    error = _refused(lambda: verify_signature(parsed, eddsa))
    assert error.report == CheckReport(
        reasons.ALG_KEY_MISMATCH, "alg", "header", tuple(sorted(eddsa.algorithms))
    )
    assert error.report.found == "ES256"


def test_the_allow_list_reports_the_refused_algorithm(keyring: Keyring) -> None:
    from jwt_middleware.jws import check_algorithm

    parsed = parse_compact(token(keyring["ES256"]))
    error = _refused(lambda: check_algorithm(parsed, {"RS256"}))
    assert error.report == CheckReport(reasons.ALG_NOT_ALLOWED, "alg", "header", ("RS256",))
    assert error.report.found == "ES256"
