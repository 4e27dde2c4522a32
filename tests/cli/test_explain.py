"""``explain`` and ``humanize`` without a network: each reason code, worded exactly.

The errors come from the library's own rules (the claim checks, the key set, the verifier), run
on the claims each test gives, so an explanation is tested against the report the rule really
makes, not against a hand-built error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from jwt_middleware import JWTVerifier, reasons
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.cli.explain import Configuration, Explanation, KeyState, explain
from jwt_middleware.cli.humanize import describe_time, duration, iso_utc, relative
from jwt_middleware.errors import JWTMiddlewareError, KeysUnavailableError, MalformedTokenError
from jwt_middleware.events import FetchFailed
from jwt_middleware.issuer_template import IssuerTemplate
from jwt_middleware.jwk import KeySet
from jwt_middleware.policy import (
    AudienceCheck,
    ClaimPolicy,
    CognitoTokenCheck,
    GroupsCheck,
    IdentityClaimsCheck,
    RequiredClaimsCheck,
    ScopesCheck,
    TimeCheck,
    TokenTypeCheck,
)
from jwt_middleware.testing import SigningKey, encode_compact
from tests.core.support import Rule, issuer_rule, refusal

NOW = 1_795_000_000.0
CONFIG = Configuration(
    issuers=("https://auth.example.com",), audiences=("orders-api",), algorithms=("EdDSA",)
)
_KEY = SigningKey.generate("EdDSA", kid="k1")
_OTHER = SigningKey.generate("EdDSA", kid="k2")
KEYS = KeyState(KeySet.from_jwks({"keys": [_KEY.public_jwk(), _OTHER.public_jwk()]}), "https://x/jwks.json")


def _explain(
    rule: Rule | JWTMiddlewareError,
    claims: dict[str, Any],
    *,
    headers: dict[str, Any] | None = None,
    config: Configuration = CONFIG,
    keys: KeyState = KEYS,
    expose: bool = True,
) -> Explanation:
    token = encode_compact(claims, _KEY, headers=headers)
    header = {"alg": "EdDSA", "kid": "k1", **{k: v for k, v in (headers or {}).items() if v is not None}}
    error = rule if isinstance(rule, JWTMiddlewareError) else refusal(rule, claims, header, now=NOW)
    if expose:
        error.expose(claims)
    else:
        error.conceal()
    explanation = explain(error, token=token, config=config, keys=keys, now=NOW)
    json.dumps([explanation.expected, explanation.actual, list(explanation.hints)])  # JSON-ready
    assert explanation.code == error.code
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
    explanation = _explain(issuer_rule(configured), {"iss": actual}, config=config)
    assert explanation.check == "iss"
    assert explanation.reason.startswith(f"issuer {actual!r} does not match {configured!r} (")
    assert difference in explanation.reason
    assert explanation.expected == [configured]
    assert explanation.actual == actual


def test_missing_and_non_string_issuer() -> None:
    rule = issuer_rule("https://auth.example.com")
    missing = _explain(rule, {})
    assert missing.reason == "the token has no iss claim; this API expects 'https://auth.example.com'"
    assert missing.code == reasons.ISS_MISSING
    assert _explain(rule, {"iss": 42}).reason == "iss is 42, not a string"


def test_cognito_issuer_without_the_preset_suggests_it() -> None:
    rule = issuer_rule("https://auth.example.com")
    explanation = _explain(rule, {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"})
    assert any("--cognito-pool eu-west-1_Pool" in hint for hint in explanation.hints)


def test_claims_are_decoded_from_the_token_when_not_exposed() -> None:
    rule = issuer_rule("https://auth.example.com")
    explanation = _explain(rule, {"iss": "https://auth.example.com/"}, expose=False)
    assert "a trailing slash differs" in explanation.reason


# -- audience and client ----------------------------------------------------------------------------


def test_audience_near_miss() -> None:
    explanation = _explain(AudienceCheck(frozenset({"orders-api"})), {"aud": ["web", "Orders-API"]})
    assert explanation.reason == (
        "audience ['web', 'Orders-API'] does not include 'orders-api' "
        "('Orders-API' vs 'orders-api': letter case differs)"
    )


def test_several_accepted_audiences() -> None:
    explanation = _explain(AudienceCheck(frozenset({"a", "b"})), {"aud": "c"})
    assert explanation.reason == "audience ['c'] does not include any of 'a', 'b'"


def test_missing_audience() -> None:
    explanation = _explain(AudienceCheck(frozenset({"orders-api"})), {"sub": "alice"})
    assert explanation.reason == "the token has no aud claim; this API's audience is 'orders-api'"


def test_malformed_audience_uses_the_configuration() -> None:
    explanation = _explain(AudienceCheck(frozenset({"orders-api"})), {"aud": 42})
    assert explanation.reason == "aud must be a string or a non-empty list of strings, not 42"
    assert explanation.expected == ["orders-api"]


def test_cognito_id_token_for_another_client() -> None:
    config = Configuration(
        issuers=("https://x",), audiences=None, algorithms=("RS256",), cognito=True, client_ids=("mine",)
    )
    rule = CognitoTokenCheck(frozenset({"id"}), frozenset({"mine"}))
    explanation = _explain(rule, {"aud": "theirs", "token_use": "id"}, config=config)
    assert explanation.reason == "the ID token's aud ['theirs'] does not include 'mine'"


def test_cognito_access_token_for_another_client() -> None:
    rule = CognitoTokenCheck(frozenset({"access"}), frozenset({"orders-client"}))
    explanation = _explain(rule, {"client_id": "test-client", "token_use": "access"})
    assert explanation.reason == "client_id 'test-client' is not the app client 'orders-client'"


# -- other claims -----------------------------------------------------------------------------------


def test_token_use_missing() -> None:
    explanation = _explain(CognitoTokenCheck(frozenset({"access"}), None), {})
    assert explanation.reason.startswith("the token has no token_use claim, this API expects 'access'")


def test_typ_missing_and_wrong() -> None:
    rule = TokenTypeCheck(frozenset({"at+jwt"}))
    explanation = _explain(rule, {}, headers={"typ": None})
    assert explanation.reason == "the token has no typ header; this API expects 'at+jwt'"
    assert _explain(rule, {}, headers={"typ": "JWT"}).reason == "typ is 'JWT', this API expects 'at+jwt'"


def test_exp_missing_and_invalid_dates() -> None:
    assert _explain(TimeCheck(), {}).reason == "the token has no exp claim, and an expiry is required"
    explanation = _explain(TimeCheck(), {"exp": NOW + 60, "nbf": "tomorrow"})
    assert explanation.reason == "nbf 'tomorrow' is not a valid NumericDate (seconds since 1970)"


def test_required_and_custom_claims() -> None:
    explanation = _explain(RequiredClaimsCheck(("tenant",)), {})
    assert explanation.reason == "the token lacks the required claim 'tenant'"
    verifier = JWTVerifier(
        issuer="https://auth.example.com",
        audience=None,
        jwks={"keys": [_KEY.public_jwk()]},
        custom_check=lambda header, claims, key: False,
        expose_unverified_claims=True,
        clock=lambda: NOW,
    )
    claims = {"iss": "https://auth.example.com", "exp": NOW + 60}
    with pytest.raises(JWTMiddlewareError) as refused:
        verifier.verify_sync(encode_compact(claims, _KEY))
    custom = _explain(refused.value, claims)
    assert (custom.check, custom.code) == ("custom", reasons.CUSTOM_REJECTED)


def test_expired_names_the_limit_it_was_compared_against() -> None:
    config = Configuration(issuers=("https://x",), audiences=None, algorithms=("EdDSA",), leeway=30)
    explanation = _explain(TimeCheck(leeway=30), {"exp": NOW - 600}, config=config)
    assert explanation.check == "exp"
    assert explanation.reason.endswith("(10 min ago); leeway is 30 s")
    assert explanation.expected == f"exp after {iso_utc(NOW - 30)} (now minus 30 s leeway)"
    assert explanation.actual == iso_utc(NOW - 600)


def test_not_yet_valid_and_issued_in_the_future() -> None:
    explanation = _explain(TimeCheck(), {"exp": NOW + 3600, "iat": NOW + 600})
    assert explanation.check == "iat"
    assert explanation.reason.startswith("the token was issued in the future, ")
    assert "(in 10 min); leeway is 0 s" in explanation.reason
    later = _explain(TimeCheck(), {"exp": NOW + 3600, "nbf": NOW + 300})
    assert later.reason.startswith("the token is not valid until ")
    assert later.expected == f"nbf before {iso_utc(NOW)} (now plus 0 s leeway)"


def test_max_age() -> None:
    explanation = _explain(TimeCheck(max_age=3600), {"exp": NOW + 60, "iat": NOW - 9000})
    assert (explanation.check, explanation.code) == ("iat", reasons.IAT_TOO_OLD)
    assert explanation.reason.startswith(f"the token was issued {iso_utc(NOW - 9000)} (2 h 30 min ago)")
    assert explanation.expected.startswith(f"iat after {iso_utc(NOW - 3600)}")
    assert _explain(TimeCheck(max_age=3600), {"exp": NOW + 60}).code == reasons.IAT_MISSING


# -- keys -------------------------------------------------------------------------------------------


def _lookup(kid: str | None, alg: str) -> Rule:
    assert KEYS.keys is not None
    key_set = KEYS.keys
    return lambda header, claims, now: key_set.lookup(kid, ALGORITHMS[alg]) and None


def test_no_kid_with_several_keys() -> None:
    explanation = _explain(_lookup(None, "EdDSA"), {}, headers={"kid": None})
    assert explanation.reason == (
        "the token has no kid and the JWKS at https://x/jwks.json holds 2 keys ('k1', 'k2'): "
        "the verifier cannot tell which one signed it"
    )


def test_algorithm_that_its_key_cannot_have() -> None:
    explanation = _explain(
        _lookup("k1", "ES256"),
        {},
        headers={"alg": "ES256"},
        config=Configuration(issuers=("https://x",), audiences=None, algorithms=("EdDSA", "ES256")),
    )
    assert explanation.reason.startswith("key 'k1' is an EdDSA (OKP) Ed25519 key for ")
    assert explanation.reason.endswith("it cannot verify an ES256 signature")
    assert KEYS.keys is not None
    assert explanation.expected == sorted(KEYS.keys.keys[0].algorithms)  # what the key can verify


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
    explanation = _explain(KeysUnavailableError(code=code, fetch_reason=reason), {}, keys=keys)
    assert explanation.check == "keys"
    assert reason in explanation.reason
    assert any(hint in line for line in explanation.hints)


def test_malformed_uses_the_token_not_the_message() -> None:
    token = "a.b"
    explanation = explain(MalformedTokenError(), token=token, config=CONFIG, keys=KEYS, now=NOW)
    assert explanation.check == "format"
    assert explanation.reason.startswith("the token is malformed: ")


def test_groups_report_which_groups_were_wanted() -> None:
    explanation = _explain(GroupsCheck(frozenset({"admins"})), {"cognito:groups": ["staff"]})
    assert explanation.reason == "the token's groups ['staff'] include none of ['admins']"
    assert (explanation.expected, explanation.actual) == (["admins"], ["staff"])


def test_scopes() -> None:
    explanation = _explain(ScopesCheck(frozenset({"orders:write"})), {"scope": "openid orders:read"})
    assert explanation.reason == "scope 'openid orders:read' lacks 'orders:write'"
    hidden = _explain(ScopesCheck(frozenset({"orders:write"})), {"scope": "openid orders:read"}, expose=False)
    assert hidden.reason == explanation.reason  # read from the token when the report does not carry it


def test_an_identity_claim_that_is_not_a_string() -> None:
    explanation = _explain(IdentityClaimsCheck(), {"iss": "https://auth.example.com", "azp": ["web"]})
    assert explanation.check == "azp"
    assert explanation.actual == ["web"]
    assert explanation.reason == 'azp is ["web"], not a non-empty string: it would read as no identity at all'


def test_a_tenant_outside_the_allowed_ones() -> None:
    template = IssuerTemplate("https://login.example.com/{tid}/v2.0", allowed=["tenant-a", "tenant-b"])
    policy = ClaimPolicy(issuers=(), templates=[template], time=TimeCheck())

    def tenant_rule(header: Any, payload: Any, now: float) -> None:
        policy.issuer_of(payload)

    claims = {"iss": "https://login.example.com/tenant-c/v2.0", "tid": "tenant-c"}
    explanation = _explain(tenant_rule, claims)
    assert explanation.check == "tid"
    assert explanation.actual == "tenant-c"
    assert explanation.reason == "tenant 'tenant-c' is not among the accepted ones (['tenant-a', 'tenant-b'])"
