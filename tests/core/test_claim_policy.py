"""Claim policy: dates at their exact boundaries, issuer and audience as exact strings, token types."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTVerifier,
    MalformedTokenError,
    NotYetValidError,
)
from jwt_middleware.policy import MAX_LEEWAY, TimeCheck
from tests.core.support import (
    AUDIENCE,
    ISSUER,
    NOW,
    OMIT,
    Clock,
    Keyring,
    claims,
    dumps,
    header_for,
    signed_raw,
    token,
    verifier,
)

EXP = int(NOW) + 300


def _at(keyring: Keyring, now: float, **options: Any) -> JWTVerifier:
    return verifier(keyring.jwks("EdDSA"), clock=Clock(now), token_cache_size=None, **options)


def _eddsa(keyring: Keyring, **changes: Any) -> str:
    return token(keyring["EdDSA"], claims(**changes))


# -- NumericDate values -----------------------------------------------------------------------------------

BAD_DATES: dict[str, Any] = {
    "string": str(EXP),
    "bool-true": True,
    "bool-false": False,
    "negative": -1,
    "huge": 10**30,
    "null": None,
    "list": [EXP],
    "object": {"at": EXP},
    "empty-string": "",
}


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", list(BAD_DATES))
def test_date_claim_that_is_not_a_sane_number_is_invalid(keyring: Keyring, claim: str, value: str) -> None:
    check = _at(keyring, NOW)
    assert check.verify_sync(_eddsa(keyring, **{claim: int(NOW) if claim != "exp" else EXP}))
    with pytest.raises(InvalidClaimError) as caught:
        check.verify_sync(_eddsa(keyring, **{claim: BAD_DATES[value]}))
    assert caught.value.claim == claim


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    ("literal", "error"),
    [
        # Floats that overflow to infinity are refused by strict JSON, before any claim rule.
        ("1e400", MalformedTokenError),
        ("-1e400", MalformedTokenError),
        ("1" * 400, InvalidClaimError),
        ("9" * 4000, InvalidClaimError),
        ("-0.5", InvalidClaimError),
    ],
)
def test_date_claim_that_overflows_or_is_infinite_is_invalid(
    keyring: Keyring, claim: str, literal: str, error: type[Exception]
) -> None:
    key = keyring["EdDSA"]
    text = dumps(claims(**{claim: 12345})).replace(
        b'"' + claim.encode() + b'":12345', f'"{claim}":{literal}'.encode()
    )
    assert literal.encode() in text
    with pytest.raises(error):
        _at(keyring, NOW).verify_sync(signed_raw(key, header_for(key), text))


def test_fractional_dates_are_accepted(keyring: Keyring) -> None:
    assert _at(keyring, NOW).verify_sync(_eddsa(keyring, exp=NOW + 0.5, iat=NOW - 0.5, nbf=NOW - 0.25))


# -- exp ---------------------------------------------------------------------------------------------------


def test_missing_exp_is_invalid_unless_not_required(keyring: Keyring) -> None:
    no_exp = _eddsa(keyring, exp=OMIT)
    with pytest.raises(InvalidClaimError) as caught:
        _at(keyring, NOW).verify_sync(no_exp)
    assert caught.value.claim == "exp"
    assert _at(keyring, NOW, require_exp=False).verify_sync(no_exp) == claims(exp=OMIT)


def test_exp_still_applies_when_not_required(keyring: Keyring) -> None:
    with pytest.raises(ExpiredTokenError):
        _at(keyring, EXP, require_exp=False).verify_sync(_eddsa(keyring))


def test_token_is_expired_exactly_at_exp(keyring: Keyring) -> None:
    good = _eddsa(keyring)
    assert _at(keyring, EXP - 0.001).verify_sync(good) == claims()
    with pytest.raises(ExpiredTokenError):
        _at(keyring, EXP).verify_sync(good)
    with pytest.raises(ExpiredTokenError):
        _at(keyring, EXP + 10_000).verify_sync(good)


def test_leeway_extends_exp_up_to_but_not_including_exp_plus_leeway(keyring: Keyring) -> None:
    good = _eddsa(keyring)
    assert _at(keyring, EXP + 29.999, leeway=30).verify_sync(good) == claims()
    with pytest.raises(ExpiredTokenError):
        _at(keyring, EXP + 30, leeway=30).verify_sync(good)


# -- nbf and iat ------------------------------------------------------------------------------------------


def test_token_is_valid_from_exactly_nbf(keyring: Keyring) -> None:
    nbf = int(NOW) + 60
    good = _eddsa(keyring, nbf=nbf)
    assert _at(keyring, nbf).verify_sync(good)
    with pytest.raises(NotYetValidError):
        _at(keyring, nbf - 0.001).verify_sync(good)


def test_leeway_moves_nbf_earlier_by_exactly_the_leeway(keyring: Keyring) -> None:
    nbf = int(NOW) + 60
    good = _eddsa(keyring, nbf=nbf)
    assert _at(keyring, nbf - 30, leeway=30).verify_sync(good)
    with pytest.raises(NotYetValidError):
        _at(keyring, nbf - 30.001, leeway=30).verify_sync(good)


def test_iat_in_the_future_is_not_yet_valid(keyring: Keyring) -> None:
    assert _at(keyring, NOW).verify_sync(_eddsa(keyring, iat=NOW))
    with pytest.raises(NotYetValidError) as caught:
        _at(keyring, NOW).verify_sync(_eddsa(keyring, iat=NOW + 1))
    assert caught.value.claim == "iat"
    assert _at(keyring, NOW, leeway=5).verify_sync(_eddsa(keyring, iat=NOW + 5))
    with pytest.raises(NotYetValidError):
        _at(keyring, NOW, leeway=5).verify_sync(_eddsa(keyring, iat=NOW + 5.001))


def test_max_age_limits_time_since_iat(keyring: Keyring) -> None:
    iat = int(NOW) - 100
    good = _eddsa(keyring, iat=iat)
    assert _at(keyring, iat + 60, max_age=60).verify_sync(good)
    with pytest.raises(ExpiredTokenError) as caught:
        _at(keyring, iat + 60.001, max_age=60).verify_sync(good)
    assert caught.value.claim == "iat"
    assert _at(keyring, iat + 70, max_age=60, leeway=10).verify_sync(good)
    with pytest.raises(ExpiredTokenError):
        _at(keyring, iat + 70.001, max_age=60, leeway=10).verify_sync(good)


def test_max_age_requires_iat(keyring: Keyring) -> None:
    assert _at(keyring, NOW).verify_sync(_eddsa(keyring, iat=OMIT))
    with pytest.raises(InvalidClaimError) as caught:
        _at(keyring, NOW, max_age=60).verify_sync(_eddsa(keyring, iat=OMIT))
    assert caught.value.claim == "iat"


@pytest.mark.parametrize(
    "options",
    [
        {"leeway": MAX_LEEWAY + 1},
        {"leeway": 601},
        {"leeway": -1},
        {"leeway": -0.001},
        {"leeway": float("nan")},
        {"leeway": float("inf")},
        {"max_age": 0},
        {"max_age": -5},
        {"max_age": float("nan")},
        {"max_age": float("inf")},
    ],
    ids=lambda options: "-".join(f"{k}={v}" for k, v in options.items()),
)
def test_unsafe_time_configuration_is_a_configuration_error(
    keyring: Keyring, options: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        verifier(keyring.jwks("EdDSA"), **options)
    with pytest.raises(ConfigurationError):
        TimeCheck(**options)


def test_largest_allowed_leeway_is_accepted(keyring: Keyring) -> None:
    assert _at(keyring, EXP + MAX_LEEWAY - 1, leeway=MAX_LEEWAY).verify_sync(_eddsa(keyring))


# -- iss -------------------------------------------------------------------------------------------------

BAD_ISSUERS: dict[str, Any] = {
    "trailing-slash": ISSUER + "/",
    "prefix": ISSUER[:-1],
    "superstring": ISSUER + ".evil.example",
    "path-suffix": ISSUER + "/tenant",
    "upper-case": ISSUER.upper(),
    "http": ISSUER.replace("https", "http"),
    "whitespace": ISSUER + " ",
    "list": [ISSUER],
    "number": 1,
    "null": None,
    "missing": OMIT,
    "empty": "",
}


@pytest.mark.parametrize("issuer", list(BAD_ISSUERS))
def test_issuer_must_match_exactly(keyring: Keyring, issuer: str) -> None:
    check = _at(keyring, NOW)
    assert check.verify_sync(_eddsa(keyring))
    with pytest.raises(InvalidIssuerError) as caught:
        check.verify_sync(_eddsa(keyring, iss=BAD_ISSUERS[issuer]))
    assert caught.value.claim == "iss"


def test_each_of_several_configured_issuers_is_accepted(keyring: Keyring) -> None:
    issuers = [ISSUER, "https://other.example.com", "urn:tenant:3"]
    check = _at(keyring, NOW, issuer=issuers)
    for issuer in issuers:
        assert check.verify_sync(_eddsa(keyring, iss=issuer))["iss"] == issuer
    with pytest.raises(InvalidIssuerError):
        check.verify_sync(_eddsa(keyring, iss="https://unlisted.example.com"))


@pytest.mark.parametrize("issuer", ["", [], [""], None, [ISSUER, 1], 123])
def test_issuer_configuration_must_be_non_empty_strings(keyring: Keyring, issuer: Any) -> None:
    with pytest.raises(ConfigurationError):
        verifier(keyring.jwks("EdDSA"), issuer=issuer)


# -- aud -------------------------------------------------------------------------------------------------

BAD_AUDIENCES: dict[str, Any] = {
    "substring": AUDIENCE[:-1],
    "superstring": AUDIENCE + "s",
    "upper-case": AUDIENCE.upper(),
    "empty-list": [],
    "list-with-non-string": [AUDIENCE, 1],
    "list-of-others": ["api://billing", "api://users"],
    "nested-list": [[AUDIENCE]],
    "number": 7,
    "null": None,
    "object": {"aud": AUDIENCE},
    "missing": OMIT,
}


@pytest.mark.parametrize("audience", list(BAD_AUDIENCES))
def test_audience_must_contain_a_configured_value_exactly(keyring: Keyring, audience: str) -> None:
    check = _at(keyring, NOW)
    assert check.verify_sync(_eddsa(keyring))
    with pytest.raises(InvalidAudienceError) as caught:
        check.verify_sync(_eddsa(keyring, aud=BAD_AUDIENCES[audience]))
    assert caught.value.claim == "aud"


def test_audience_list_matches_when_any_member_is_configured(keyring: Keyring) -> None:
    check = _at(keyring, NOW, audience=[AUDIENCE, "api://billing"])
    assert check.verify_sync(_eddsa(keyring, aud=["api://users", AUDIENCE]))
    assert check.verify_sync(_eddsa(keyring, aud="api://billing"))
    assert check.verify_sync(_eddsa(keyring, aud=["api://billing"]))


def test_audience_is_a_required_keyword(keyring: Keyring) -> None:
    with pytest.raises(TypeError):
        JWTVerifier(issuer=ISSUER, jwks=keyring.jwks("EdDSA"))  # type: ignore[call-arg]


def test_audience_none_skips_the_audience_check(keyring: Keyring) -> None:
    check = _at(keyring, NOW, audience=None)
    for aud in (OMIT, "anything", ["a", "b"]):
        assert check.verify_sync(_eddsa(keyring, aud=aud))


@pytest.mark.parametrize("audience", ["", [], [""], [AUDIENCE, None], 5])
def test_audience_configuration_must_be_non_empty_strings(keyring: Keyring, audience: Any) -> None:
    with pytest.raises(ConfigurationError):
        verifier(keyring.jwks("EdDSA"), audience=audience)


# -- required claims and token type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "required", [("jti",), ["jti", "sub"], "jti"], ids=["tuple", "list", "single-string"]
)
def test_required_claims_must_be_present_and_not_null(keyring: Keyring, required: Any) -> None:
    check = _at(keyring, NOW, required_claims=required)
    assert check.verify_sync(_eddsa(keyring, jti="id-1"))
    for value in (OMIT, None):
        with pytest.raises(InvalidClaimError) as caught:
            check.verify_sync(_eddsa(keyring, jti=value))
        assert caught.value.claim == "jti"


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"])
def test_token_type_matches_case_insensitively_with_or_without_application_prefix(
    keyring: Keyring, typ: str
) -> None:
    for configured in ("at+jwt", "application/at+jwt"):
        check = _at(keyring, NOW, token_type=configured)
        assert check.verify_sync(token(keyring["EdDSA"], typ=typ))


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", "at+jwt+x", "at", OMIT, 1, ["at+jwt"]])
def test_token_type_other_than_the_required_one_is_rejected(keyring: Keyring, typ: Any) -> None:
    check = _at(keyring, NOW, token_type="at+jwt")
    assert _at(keyring, NOW).verify_sync(token(keyring["EdDSA"], typ=typ))
    with pytest.raises(InvalidClaimError) as caught:
        check.verify_sync(token(keyring["EdDSA"], typ=typ))
    assert caught.value.claim == "typ"
