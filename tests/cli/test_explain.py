"""``explain`` and ``humanize`` without a network: each error type and claim, worded exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jwt_middleware import reasons
from jwt_middleware.cli.explain import Configuration, Explanation, KeyState, explain
from jwt_middleware.cli.humanize import describe_time, duration, iso_utc, relative
from jwt_middleware.errors import (
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    JWTMiddlewareError,
    KeysUnavailableError,
    MalformedTokenError,
    NotYetValidError,
    UnknownKeyError,
    UnsupportedAlgorithmError,
)
from jwt_middleware.events import FetchFailed
from jwt_middleware.jwk import KeySet
from jwt_middleware.testing import SigningKey, encode_compact

NOW = 1_795_000_000.0
CONFIG = Configuration(
    issuers=("https://auth.example.com",), audiences=("orders-api",), algorithms=("EdDSA",)
)
_KEY = SigningKey.generate("EdDSA", kid="k1")
_OTHER = SigningKey.generate("EdDSA", kid="k2")
KEYS = KeyState(KeySet.from_jwks({"keys": [_KEY.public_jwk(), _OTHER.public_jwk()]}), "https://x/jwks.json")


def _explain(
    error: JWTMiddlewareError,
    claims: dict[str, Any],
    *,
    headers: dict[str, Any] | None = None,
    config: Configuration = CONFIG,
    keys: KeyState = KEYS,
    expose: bool = True,
) -> Explanation:
    token = encode_compact(claims, _KEY, headers=headers)
    if expose:
        error.unverified_claims = claims
    explanation = explain(error, token=token, config=config, keys=keys, now=NOW)
    json.dumps([explanation.expected, explanation.actual, list(explanation.hints)])  # JSON-ready
    return explanation


# -- humanize ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (59.4, "59 s"),
        (60, "1 min"),
        (14 * 60 + 10, "14 min"),
        (59 * 60, "59 min"),
        (3600, "1 h"),
        (3 * 3600 + 5 * 60, "3 h 5 min"),
        (47 * 3600, "47 h"),
        (12 * 86400, "12 days"),
        (-180, "3 min"),
    ],
)
def test_duration(seconds: float, words: str) -> None:
    assert duration(seconds) == words


def test_iso_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00Z"
    assert iso_utc(1_795_000_000) == "2026-11-18T11:06:40Z"
    assert iso_utc(1.5) == "1970-01-01T00:00:01.500Z"
    with pytest.raises(ValueError, match="NumericDate"):
        iso_utc(1e15)


def test_relative_words() -> None:
    assert relative(NOW - 180, NOW) == "3 min ago"
    assert relative(NOW + 180, NOW) == "in 3 min"
    assert relative(NOW + 0.2, NOW) == "now"
    assert describe_time("exp", NOW - 180, NOW) == "expired 3 min ago"
    assert describe_time("exp", NOW + 52 * 60, NOW) == "valid for another 52 min"
    assert describe_time("nbf", NOW + 60, NOW) == "not valid for another 1 min"
    assert describe_time("iat", NOW + 60, NOW) == "issued 1 min in the future"
    assert describe_time("auth_time", NOW - 7200, NOW) == "signed in 2 h ago"
    assert describe_time("iat", NOW, NOW) == "issued just now"


# -- issuer -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "configured", "difference"),
    [
        ("https://auth.example.com/", "https://auth.example.com", "a trailing slash differs"),
        ("https://Auth.Example.com", "https://auth.example.com", "letter case differs"),
        ("http://auth.example.com", "https://auth.example.com", "the scheme differs (http, not https)"),
        (
            "https://auth.example.com/v2.0",
            "https://auth.example.com/v1",
            "the path differs ('/v2.0', not '/v1')",
        ),
        (
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mine",
            "a different user pool: eu-west-1_Other, not eu-west-1_Mine",
        ),
        (
            "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mine",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Mine",
            "global issuer form",
        ),
    ],
)
def test_issuer_differences(actual: str, configured: str, difference: str) -> None:
    config = Configuration(issuers=(configured,), audiences=None, algorithms=("EdDSA",))
    error = InvalidIssuerError(claim="iss", expected=(configured,))
    explanation = _explain(error, {"iss": actual}, config=config)
    assert explanation.check == "iss"
    assert explanation.reason.startswith(f"issuer {actual!r} does not match {configured!r} (")
    assert difference in explanation.reason
    assert explanation.expected == [configured]
    assert explanation.actual == actual


def test_missing_and_non_string_issuer() -> None:
    error = InvalidIssuerError(claim="iss", expected=("https://auth.example.com",))
    assert (
        _explain(error, {}).reason
        == "the token has no iss claim; this API expects 'https://auth.example.com'"
    )
    assert _explain(error, {"iss": 42}).reason == "iss is 42, not a string"


def test_cognito_issuer_without_the_preset_suggests_it() -> None:
    error = InvalidIssuerError(claim="iss", expected=("https://auth.example.com",))
    explanation = _explain(error, {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"})
    assert any("--cognito-pool eu-west-1_Pool" in hint for hint in explanation.hints)


def test_claims_are_decoded_from_the_token_when_not_exposed() -> None:
    error = InvalidIssuerError(claim="iss", expected=("https://auth.example.com",))
    explanation = _explain(error, {"iss": "https://auth.example.com/"}, expose=False)
    assert "a trailing slash differs" in explanation.reason


# -- audience and client ----------------------------------------------------------------------------


def test_audience_near_miss() -> None:
    error = InvalidAudienceError(claim="aud", expected=("orders-api",))
    explanation = _explain(error, {"aud": ["web", "Orders-API"]})
    assert explanation.reason == (
        "audience ['web', 'Orders-API'] does not include 'orders-api' "
        "('Orders-API' vs 'orders-api': letter case differs)"
    )


def test_several_accepted_audiences() -> None:
    error = InvalidAudienceError(claim="aud", expected=("a", "b"))
    assert _explain(error, {"aud": "c"}).reason == "audience ['c'] does not include any of 'a', 'b'"


def test_malformed_audience_uses_the_configuration() -> None:
    error = InvalidAudienceError("The token's audience is malformed", claim="aud")
    explanation = _explain(error, {"aud": 42})
    assert explanation.reason == "aud must be a string or a non-empty list of strings, not 42"
    assert explanation.expected == ["orders-api"]


def test_cognito_id_token_for_another_client() -> None:
    config = Configuration(
        issuers=("https://x",), audiences=None, algorithms=("RS256",), cognito=True, client_ids=("mine",)
    )
    error = InvalidAudienceError("The token's client is not accepted", claim="aud", expected=("mine",))
    explanation = _explain(error, {"aud": "theirs", "token_use": "id"}, config=config)
    assert explanation.reason == "the ID token's aud ['theirs'] does not include 'mine'"


# -- other claims -----------------------------------------------------------------------------------


def test_token_use_missing() -> None:
    error = InvalidClaimError(claim="token_use", expected=("access",))
    assert _explain(error, {}).reason.startswith(
        "the token has no token_use claim, this API expects 'access'"
    )


def test_typ_missing() -> None:
    error = InvalidClaimError(claim="typ", expected=("at+jwt",))
    explanation = _explain(error, {}, headers={"typ": None})
    assert explanation.reason == "the token has no typ header; this API expects 'at+jwt'"


def test_exp_missing_and_invalid_dates() -> None:
    assert _explain(InvalidClaimError("The token has no expiry", claim="exp"), {}).reason == (
        "the token has no exp claim, and an expiry is required"
    )
    explanation = _explain(InvalidClaimError(claim="nbf"), {"nbf": "tomorrow"})
    assert explanation.reason == "nbf 'tomorrow' is not a valid NumericDate (seconds since 1970)"


def test_required_and_custom_claims() -> None:
    explanation = _explain(InvalidClaimError(claim="tenant", expected=("tenant",)), {})
    assert explanation.reason == "the token lacks the required claim 'tenant'"
    custom = _explain(InvalidClaimError("The token was rejected by a custom check"), {})
    assert custom.check == "custom"


def test_issued_in_the_future() -> None:
    explanation = _explain(
        NotYetValidError("The token was issued in the future", claim="iat"), {"iat": NOW + 600}
    )
    assert explanation.check == "iat"
    assert explanation.reason.startswith("the token was issued in the future, ")
    assert "(in 10 min); leeway is 0 s" in explanation.reason


def test_max_age_falls_back_to_the_fixed_description() -> None:
    explanation = _explain(ExpiredTokenError("The token is too old", claim="iat"), {"iat": NOW - 9000})
    assert explanation.check == "iat"
    assert explanation.reason == "The token is too old"


# -- keys -------------------------------------------------------------------------------------------


def test_no_kid_with_several_keys() -> None:
    explanation = _explain(UnknownKeyError(), {}, headers={"kid": None})
    assert explanation.reason == (
        "the token has no kid and the JWKS at https://x/jwks.json holds 2 keys ('k1', 'k2'): "
        "the verifier cannot tell which one signed it"
    )


def test_algorithm_that_its_key_cannot_have() -> None:
    explanation = _explain(
        UnsupportedAlgorithmError(),
        {},
        headers={"alg": "ES256"},
        config=Configuration(issuers=("https://x",), audiences=None, algorithms=("EdDSA", "ES256")),
    )
    assert explanation.reason.startswith("key 'k1' is an EdDSA (OKP) Ed25519 key for ")
    assert explanation.reason.endswith("it cannot verify an ES256 signature")


@pytest.mark.parametrize(
    ("url", "reason", "code", "hint"),
    [
        ("https://x/jwks.json", "HTTP 404", reasons.FETCH_NOT_FOUND, "answered 404"),
        ("https://x/jwks.json", "timed out", reasons.FETCH_TIMEOUT, "--timeout"),
        (
            "https://x/jwks.json",
            "redirect refused (HTTP 302)",
            reasons.FETCH_REDIRECT,
            "never follow redirects",
        ),
        ("https://x/jwks.json", "ConnectError", reasons.FETCH_CONNECT, "nothing answered at x"),
        (
            "https://x/.well-known/openid-configuration",
            "discovery document names a different issuer",
            reasons.DISCOVERY_ISSUER_MISMATCH,
            "trailing slash",
        ),
        (
            "https://x/.well-known/openid-configuration",
            "discovery document has no jwks_uri",
            reasons.DISCOVERY_NO_JWKS_URI,
            "--jwks-url",
        ),
    ],
)
def test_keys_unavailable_hints(url: str, reason: str, code: str, hint: str) -> None:
    keys = KeyState(None, url, (FetchFailed(url, reason, 0.1, False, 1.0, code),))
    explanation = _explain(KeysUnavailableError(), {}, keys=keys)
    assert explanation.check == "keys"
    assert reason in explanation.reason
    assert any(hint in line for line in explanation.hints)


def test_malformed_uses_the_token_not_the_message() -> None:
    token = "a.b"
    explanation = explain(MalformedTokenError(), token=token, config=CONFIG, keys=KEYS, now=NOW)
    assert explanation.check == "format"
    assert explanation.reason.startswith("the token is malformed: ")


def test_groups() -> None:
    from jwt_middleware.errors import InsufficientScopeError

    error = InsufficientScopeError("The token lacks the required group membership", claim="groups")
    explanation = _explain(error, {"cognito:groups": ["staff"]})
    assert explanation.reason == "the token's groups ['staff'] are not the required ones"
    error.expected = ("admins",)  # once GroupsCheck reports what it wanted
    assert (
        _explain(error, {"cognito:groups": ["staff"]}).reason
        == "the token's groups ['staff'] include none of ['admins']"
    )
