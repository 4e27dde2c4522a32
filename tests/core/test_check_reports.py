"""Every check reports its refusal as data: reason code, claim or header field, expectation, finding.

For each rule, the report of one refusal is spelled out (``code``, ``claim``, ``location``,
``expected``, and ``limit`` for time rules), and what the rule found is checked too. The token's
content is planted as ``MARKER`` wherever the refusal could pick it up: no ``str()``, ``repr()``
or description of an error or a report may carry it, and ``found`` holds it only when the
verifier was built to expose unverified claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from jwt_middleware import JWTVerifier, KeySet, reasons, verify_compact
from jwt_middleware.algorithms import ALGORITHMS
from jwt_middleware.aws.alb import ALBHeaderExpiryCheck, ALBVerifier, alb_identity
from jwt_middleware.claims import Claims
from jwt_middleware.errors import ABSENT, HIDDEN, CheckReport, JWTMiddlewareError
from jwt_middleware.policy import (
    AudienceCheck,
    AudienceOrClientIdCheck,
    ClaimPolicy,
    ClaimValueCheck,
    ClientIdCheck,
    CognitoTokenCheck,
    GroupsCheck,
    IdentityClaimsCheck,
    RequiredClaimsCheck,
    ScopesCheck,
    TimeCheck,
    TokenTypeCheck,
)
from jwt_middleware.requirements import scopes_requirement
from jwt_middleware.testing import SigningKey
from tests.core.support import (
    AUDIENCE,
    ISSUER,
    MARKER,
    NOW,
    Keyring,
    Rule,
    claims,
    dumps,
    issuer_rule,
    refusal,
    signed_raw,
    token,
)


def _assert_safe(error: JWTMiddlewareError) -> None:
    """Nothing the token held shows in any text an error or its report produces."""
    report = error.report
    for text in (str(error), repr(error), error.description, str(report), repr(report)):
        assert MARKER not in text, text


def _report(rule: Rule, payload: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> CheckReport:
    """The report of ``rule``'s refusal, checked for safety, with the finding made visible."""
    error = refusal(rule, payload, header)
    _assert_safe(error)
    assert error.report.found is HIDDEN  # nothing is exposed until a verifier says so
    error.expose(None)
    _assert_safe(error)
    return error.report


# -- claim rules: (rule, payload, header) -> the report, spelled out -------------------------------

LATER = NOW + 300
CASES: list[tuple[str, Callable[[], Rule], dict[str, Any], dict[str, Any], CheckReport, Any]] = [
    (
        "exp expired",
        lambda: TimeCheck(leeway=30),
        {"exp": NOW - 60},
        {},
        CheckReport(reasons.EXP_EXPIRED, "exp", "claims", (), NOW - 30),
        NOW - 60,
    ),
    (
        "exp missing",
        lambda: TimeCheck(),
        {"sub": MARKER},
        {},
        CheckReport(reasons.EXP_MISSING, "exp", "claims"),
        ABSENT,
    ),
    (
        "exp not a date",
        lambda: TimeCheck(),
        {"exp": MARKER},
        {},
        CheckReport(reasons.DATE_INVALID, "exp", "claims"),
        MARKER,
    ),
    (
        "nbf in the future",
        lambda: TimeCheck(leeway=5),
        {"exp": LATER, "nbf": NOW + 60},
        {},
        CheckReport(reasons.NBF_NOT_YET_VALID, "nbf", "claims", (), NOW + 5),
        NOW + 60,
    ),
    (
        "iat in the future",
        lambda: TimeCheck(leeway=5),
        {"exp": LATER, "iat": NOW + 60},
        {},
        CheckReport(reasons.IAT_IN_FUTURE, "iat", "claims", (), NOW + 5),
        NOW + 60,
    ),
    (
        "iat too old",
        lambda: TimeCheck(max_age=100, leeway=10),
        {"exp": LATER, "iat": NOW - 500},
        {},
        CheckReport(reasons.IAT_TOO_OLD, "iat", "claims", (), NOW - 110),
        NOW - 500,
    ),
    (
        "iat missing for max_age",
        lambda: TimeCheck(max_age=100),
        {"exp": LATER},
        {},
        CheckReport(reasons.IAT_MISSING, "iat", "claims"),
        ABSENT,
    ),
    (
        "aud missing",
        lambda: AudienceCheck(frozenset({AUDIENCE})),
        {"sub": MARKER},
        {},
        CheckReport(reasons.AUD_MISSING, "aud", "claims", (AUDIENCE,)),
        ABSENT,
    ),
    (
        "aud mismatch",
        lambda: AudienceCheck(frozenset({AUDIENCE, "api://b"})),
        {"aud": [MARKER]},
        {},
        CheckReport(reasons.AUD_MISMATCH, "aud", "claims", ("api://b", AUDIENCE)),
        [MARKER],
    ),
    (
        "aud malformed",
        lambda: AudienceCheck(frozenset({AUDIENCE})),
        {"aud": {"x": MARKER}},
        {},
        CheckReport(reasons.AUD_INVALID, "aud", "claims"),
        {"x": MARKER},
    ),
    (
        "API Gateway: aud mismatch",
        lambda: AudienceOrClientIdCheck(frozenset({AUDIENCE})),
        {"aud": MARKER},
        {},
        CheckReport(reasons.AUD_MISMATCH, "aud", "claims", (AUDIENCE,)),
        [MARKER],
    ),
    (
        "API Gateway: client_id mismatch",
        lambda: AudienceOrClientIdCheck(frozenset({AUDIENCE})),
        {"client_id": MARKER},
        {},
        CheckReport(reasons.CLIENT_ID_MISMATCH, "client_id", "claims", (AUDIENCE,)),
        MARKER,
    ),
    (
        "client_id missing",
        lambda: ClientIdCheck(frozenset({"app"})),
        {},
        {},
        CheckReport(reasons.CLIENT_ID_MISMATCH, "client_id", "claims", ("app",)),
        ABSENT,
    ),
    (
        "Cognito token_use",
        lambda: CognitoTokenCheck(frozenset({"access"}), frozenset({"app"})),
        {"token_use": MARKER},
        {},
        CheckReport(reasons.TOKEN_USE_MISMATCH, "token_use", "claims", ("access",)),
        MARKER,
    ),
    (
        "Cognito ID token for another client",
        lambda: CognitoTokenCheck(frozenset({"id"}), frozenset({"app"})),
        {"token_use": "id", "aud": MARKER},
        {},
        CheckReport(reasons.AUD_MISMATCH, "aud", "claims", ("app",)),
        [MARKER],
    ),
    (
        "Cognito ID token without aud",
        lambda: CognitoTokenCheck(frozenset({"id"}), frozenset({"app"})),
        {"token_use": "id"},
        {},
        CheckReport(reasons.AUD_MISSING, "aud", "claims", ("app",)),
        ABSENT,
    ),
    (
        "Cognito access token for another client",
        lambda: CognitoTokenCheck(frozenset({"access"}), frozenset({"app"})),
        {"token_use": "access", "client_id": MARKER},
        {},
        CheckReport(reasons.CLIENT_ID_MISMATCH, "client_id", "claims", ("app",)),
        MARKER,
    ),
    (
        "required claim",
        lambda: RequiredClaimsCheck(("sub", "tenant")),
        {"sub": MARKER, "tenant": None},
        {},
        CheckReport(reasons.CLAIM_MISSING, "tenant", "claims", ("tenant",)),
        None,
    ),
    (
        "typ",
        lambda: TokenTypeCheck(frozenset({"at+jwt"})),
        {},
        {"typ": MARKER},
        CheckReport(reasons.TYP_MISMATCH, "typ", "header", ("at+jwt",)),
        MARKER,
    ),
    (
        "typ missing",
        lambda: TokenTypeCheck(frozenset({"at+jwt"})),
        {},
        {},
        CheckReport(reasons.TYP_MISMATCH, "typ", "header", ("at+jwt",)),
        ABSENT,
    ),
    (
        "scopes",
        lambda: ScopesCheck(frozenset({"orders:write", "orders:read"})),
        {"scope": f"orders:read {MARKER}"},
        {},
        CheckReport(reasons.SCOPE_INSUFFICIENT, "scope", "claims", ("orders:read", "orders:write")),
        tuple(sorted(["orders:read", MARKER])),
    ),
    (
        "groups",
        lambda: GroupsCheck(frozenset({"admins"})),
        {"cognito:groups": [MARKER], "groups": ["staff"]},
        {},
        CheckReport(reasons.GROUPS_MISSING, "groups", "claims", ("admins",)),
        tuple(sorted([MARKER, "staff"])),
    ),
    (
        "issuer missing",
        lambda: issuer_rule(ISSUER),
        {"sub": MARKER},
        {},
        CheckReport(reasons.ISS_MISSING, "iss", "claims", (ISSUER,)),
        ABSENT,
    ),
    (
        "issuer mismatch",
        lambda: issuer_rule(ISSUER, "https://b.example.com"),
        {"iss": MARKER},
        {},
        CheckReport(reasons.ISS_MISMATCH, "iss", "claims", ("https://b.example.com", ISSUER)),
        MARKER,
    ),
    (
        "ALB header exp",
        lambda: ALBHeaderExpiryCheck(TimeCheck()),
        {"exp": LATER},
        {"exp": NOW - 1},
        CheckReport(reasons.EXP_EXPIRED, "exp", "header", (), NOW),
        NOW - 1,
    ),
    (
        "ALB header without exp",
        lambda: ALBHeaderExpiryCheck(TimeCheck()),
        {"exp": LATER},
        {"alg": "ES256"},
        CheckReport(reasons.EXP_MISSING, "exp", "header"),
        ABSENT,
    ),
    (
        "ALB header exp not a date",
        lambda: ALBHeaderExpiryCheck(TimeCheck()),
        {"exp": LATER},
        {"exp": MARKER},
        CheckReport(reasons.DATE_INVALID, "exp", "header"),
        MARKER,
    ),
    (
        "header nbf",
        lambda: ALBHeaderExpiryCheck(TimeCheck()),
        {},
        {"exp": LATER, "nbf": NOW + 60},
        CheckReport(reasons.NBF_NOT_YET_VALID, "nbf", "header", (), NOW),
        NOW + 60,
    ),
    (
        "header iat in the future",
        lambda: ALBHeaderExpiryCheck(TimeCheck()),
        {},
        {"exp": LATER, "iat": NOW + 60},
        CheckReport(reasons.IAT_IN_FUTURE, "iat", "header", (), NOW),
        NOW + 60,
    ),
    (
        "header iat too old",
        lambda: ALBHeaderExpiryCheck(TimeCheck(max_age=10)),
        {},
        {"exp": LATER, "iat": NOW - 60},
        CheckReport(reasons.IAT_TOO_OLD, "iat", "header", (), NOW - 10),
        NOW - 60,
    ),
    (
        "header iat missing",
        lambda: ALBHeaderExpiryCheck(TimeCheck(max_age=10)),
        {},
        {"exp": LATER},
        CheckReport(reasons.IAT_MISSING, "iat", "header"),
        ABSENT,
    ),
    (
        "API Gateway: neither aud nor client_id",
        lambda: AudienceOrClientIdCheck(frozenset({AUDIENCE})),
        {"sub": MARKER},
        {},
        CheckReport(reasons.CLIENT_ID_MISMATCH, "client_id", "claims", (AUDIENCE,)),
        ABSENT,
    ),
    (
        "Cognito token_use missing",
        lambda: CognitoTokenCheck(frozenset({"access"}), None),
        {"sub": MARKER},
        {},
        CheckReport(reasons.TOKEN_USE_MISMATCH, "token_use", "claims", ("access",)),
        ABSENT,
    ),
    (
        "required claim absent",
        lambda: RequiredClaimsCheck(("tenant",)),
        {"sub": MARKER},
        {},
        CheckReport(reasons.CLAIM_MISSING, "tenant", "claims", ("tenant",)),
        ABSENT,
    ),
    (
        "claim value mismatch",
        lambda: ClaimValueCheck("typ", frozenset({"Bearer"}), code=reasons.TYP_MISMATCH),
        {"typ": MARKER},
        {},
        CheckReport(reasons.TYP_MISMATCH, "typ", "claims", ("Bearer",)),
        MARKER,
    ),
    (
        "claim value not a string",
        lambda: ClaimValueCheck("tid", frozenset({"t1", "t2"})),
        {"tid": ["t1"]},
        {},
        CheckReport(reasons.CLAIM_INVALID, "tid", "claims", ("t1", "t2")),
        ["t1"],
    ),
    (
        "claim value missing",
        lambda: ClaimValueCheck("tid", frozenset({"t1"})),
        {"sub": MARKER},
        {},
        CheckReport(reasons.CLAIM_MISSING, "tid", "claims", ("t1",)),
        ABSENT,
    ),
    (
        "scopes are all required by default",
        lambda: ScopesCheck(frozenset({"a", "b"})),
        {"scope": "a"},
        {},
        CheckReport(reasons.SCOPE_INSUFFICIENT, "scope", "claims", ("a", "b")),
        ("a",),
    ),
    (
        "Cognito groups come from cognito:groups only",
        lambda: GroupsCheck(frozenset({"admins"}), claim_names=("cognito:groups",)),
        {"groups": ["admins"]},
        {},
        CheckReport(reasons.GROUPS_MISSING, "groups", "claims", ("admins",)),
        (),
    ),
    (
        "header nbf not a date",
        lambda: ALBHeaderExpiryCheck(TimeCheck()),
        {},
        {"exp": LATER, "nbf": MARKER},
        CheckReport(reasons.DATE_INVALID, "nbf", "header"),
        MARKER,
    ),
    (
        "header iat not a date",
        lambda: ALBHeaderExpiryCheck(TimeCheck()),
        {},
        {"exp": LATER, "iat": [MARKER]},
        CheckReport(reasons.DATE_INVALID, "iat", "header"),
        [MARKER],
    ),
    (
        "identity claims, only those named",
        lambda: IdentityClaimsCheck(names=("sub",)),
        {"sub": 42, "iss": 42},
        {},
        CheckReport(reasons.IDENTITY_INVALID, "sub", "claims"),
        42,
    ),
]


@pytest.mark.parametrize(
    ("make", "payload", "header", "expected", "found"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_claim_rule_reports_its_refusal(
    make: Callable[[], Rule],
    payload: dict[str, Any],
    header: dict[str, Any],
    expected: CheckReport,
    found: Any,
) -> None:
    # Built here, not at collection: a rule's own construction is part of what is tested.
    report = _report(make(), payload, header)
    assert report == expected  # code, claim, location, expected, limit (found is compared below)
    assert report.found == found


def test_every_reported_code_is_catalogued() -> None:
    codes = {case[4].code for case in CASES}
    assert codes <= reasons.all_codes()
    assert len(reasons.all_codes()) == len(
        {name for name in dir(reasons) if name.isupper() and isinstance(getattr(reasons, name), str)}
    )


# -- the token's form, the algorithm, the key and the signature -----------------------------------


def _verify_refusal(check: Callable[[], object]) -> JWTMiddlewareError:
    with pytest.raises(JWTMiddlewareError) as refused:
        check()
    _assert_safe(refused.value)
    return refused.value


def _header_segment(header: Mapping[str, Any]) -> str:
    from jwt_middleware import b64

    return b64.encode(dumps(header))


@pytest.mark.parametrize(
    ("make", "code", "claim"),
    [
        (lambda key: "x" * 20_000, reasons.TOKEN_TOO_LARGE, None),
        (lambda key: f"{MARKER}.only-two", reasons.TOKEN_NOT_COMPACT, None),
        (lambda key: "a.b.c.d.e", reasons.TOKEN_ENCRYPTED, None),
        (lambda key: '{"payload": "' + MARKER + '"}', reasons.TOKEN_JSON_SERIALIZED, None),
        (lambda key: _header_segment({"alg": "ES256"}) + ".e30.AAB", reasons.TOKEN_NOT_BASE64URL, None),
        (lambda key: signed_raw(key, b"[" + MARKER.encode() + b"]", claims()), reasons.HEADER_INVALID, None),
        (lambda key: signed_raw(key, {"typ": MARKER}, claims()), reasons.ALG_MISSING, "alg"),
        (
            lambda key: signed_raw(key, {"alg": "HS256", "kid": MARKER}, claims()),
            reasons.ALG_UNSUPPORTED,
            "alg",
        ),
        (
            lambda key: signed_raw(key, {"alg": "ES256", "crit": [MARKER]}, claims()),
            reasons.HEADER_UNSUPPORTED,
            "crit",
        ),
        (lambda key: signed_raw(key, {"alg": "ES256", "kid": ""}, claims()), reasons.KID_INVALID, "kid"),
        (
            lambda key: signed_raw(key, {"alg": "ES256", "kid": key.kid}, MARKER.encode()),
            reasons.PAYLOAD_INVALID,
            None,
        ),
    ],
    ids=[
        "too large",
        "two segments",
        "JWE",
        "JSON serialization",
        "not base64url",
        "header not an object",
        "no alg",
        "HMAC",
        "crit",
        "empty kid",
        "payload not JSON",
    ],
)
def test_the_parser_reports_what_is_malformed(
    keyring: Keyring, make: Any, code: str, claim: str | None
) -> None:
    key = keyring["ES256"]
    check = JWTVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=keyring.jwks("ES256"), clock=lambda: NOW)
    error = _verify_refusal(lambda: check.verify_sync(make(key)))
    assert (error.code, error.claim) == (code, claim)
    assert error.report.location == ("header" if claim else None)


def test_the_allow_list_is_one_rule_with_one_report_everywhere(keyring: Keyring) -> None:
    es256 = token(keyring["ES256"])
    expected = CheckReport(reasons.ALG_NOT_ALLOWED, "alg", "header", ("PS256", "RS256"))
    via_verifier = JWTVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=keyring.jwks("ES256"), algorithms=["RS256", "PS256"]
    )
    reports = [
        _verify_refusal(lambda: via_verifier.verify_sync(es256)).report,
        _verify_refusal(
            lambda: verify_compact(es256, keyring.jwks("ES256"), algorithms=["RS256", "PS256"])
        ).report,
    ]
    assert reports == [expected, expected]


def test_alb_uses_the_same_allow_list() -> None:
    verifier = ALBVerifier(
        alb_arn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/0123456789abcdef",
        client_id=None,
        issuer=None,
        key_url="http://127.0.0.1:9/{kid}",
    )
    rs256 = SigningKey.generate("RS256", kid="5c6f9f0e-0b7f-4a53-b6d1-000000000000")
    error = _verify_refusal(lambda: verifier.verify_sync(signed_raw(rs256, {"alg": "RS256"}, {"exp": 1})))
    assert error.report == CheckReport(reasons.ALG_NOT_ALLOWED, "alg", "header", ("ES256",))


def test_alb_header_rules_report_their_field() -> None:
    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/0123456789abcdef"
    verifier = ALBVerifier(alb_arn=arn, client_id="app", issuer=None, key_url="http://127.0.0.1:9/{kid}")
    key = SigningKey.generate("ES256")
    kid = "5c6f9f0e-0b7f-4a53-b6d1-000000000000"
    cases = [
        ({"alg": "ES256", "kid": MARKER}, CheckReport(reasons.KID_INVALID, "kid", "header")),
        (
            {"alg": "ES256", "kid": kid, "signer": MARKER},
            CheckReport(reasons.SIGNER_MISMATCH, "signer", "header", (arn,)),
        ),
        (
            {"alg": "ES256", "kid": kid, "signer": arn, "client": MARKER},
            CheckReport(reasons.CLIENT_MISMATCH, "client", "header", ("app",)),
        ),
    ]
    for header, expected in cases:
        signed = signed_raw(key, header, {"exp": 1})
        assert _verify_refusal(lambda: verifier.verify_sync(signed)).report == expected  # noqa: B023


def test_alb_identity_reports() -> None:
    with pytest.raises(JWTMiddlewareError) as refused:
        alb_identity(Claims({"sub": "alice"}, {}), MARKER)
    _assert_safe(refused.value)
    assert refused.value.report == CheckReport(reasons.SUB_IDENTITY_MISMATCH, "sub", "claims")
    with pytest.raises(JWTMiddlewareError) as refused:
        alb_identity(Claims({}, {}), None)
    assert refused.value.code == reasons.SUB_MISSING


def test_key_rules_report_the_kid(keyring: Keyring) -> None:
    es256 = ALGORITHMS["ES256"]
    two = KeySet.from_jwks(keyring.jwks("ES256", "attacker-ES256"))
    with pytest.raises(JWTMiddlewareError) as refused:
        two.lookup(None, es256)
    assert refused.value.report == CheckReport(reasons.KID_MISSING, "kid", "header")
    twins = KeySet.from_jwks(
        {
            "keys": [
                keyring["ES256"].public_jwk(),
                {**keyring["attacker-ES256"].public_jwk(), "kid": "es256-key"},
            ]
        }
    )
    with pytest.raises(JWTMiddlewareError) as refused:
        twins.lookup("es256-key", es256)
    assert refused.value.code == reasons.KID_AMBIGUOUS
    with pytest.raises(JWTMiddlewareError) as refused:
        KeySet.from_jwks(keyring.jwks("EdDSA")).lookup("eddsa-key", es256)
    assert refused.value.report == CheckReport(reasons.ALG_KEY_MISMATCH, "alg", "header", ("EdDSA",))


def test_the_verifier_locates_key_source_refusals_and_signature_failures(keyring: Keyring) -> None:
    check = JWTVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=keyring.jwks("ES256"),
        clock=lambda: NOW,
        expose_unverified_claims=True,
    )
    stranger = _verify_refusal(lambda: check.verify_sync(token(keyring["attacker-ES256"], kid=MARKER)))
    assert stranger.report == CheckReport(reasons.KID_UNKNOWN, "kid", "header")
    assert stranger.report.found == MARKER
    good = token(keyring["ES256"])
    forged = (
        good[: good.rindex(".") + 1] + token(keyring["attacker-ES256"], kid="es256-key").rsplit(".", 1)[1]
    )
    assert _verify_refusal(lambda: check.verify_sync(forged)).report == CheckReport(reasons.SIGNATURE_INVALID)


# -- exposure: the verifier decides ------------------------------------------------------------


@pytest.mark.parametrize("expose", [False, True])
def test_found_is_carried_only_when_the_verifier_exposes_it(keyring: Keyring, expose: bool) -> None:
    check = JWTVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=keyring.jwks("ES256"),
        clock=lambda: NOW,
        expose_unverified_claims=expose,
    )
    error = _verify_refusal(lambda: check.verify_sync(token(keyring["ES256"], claims(aud=MARKER))))
    assert error.report == CheckReport(reasons.AUD_MISMATCH, "aud", "claims", (AUDIENCE,))
    assert error.report.found == ([MARKER] if expose else HIDDEN)
    assert (error.unverified_claims is not None) == expose


def test_route_requirements_never_carry_what_they_found() -> None:
    with pytest.raises(JWTMiddlewareError) as refused:
        scopes_requirement(["orders:write"]).enforce(Claims({"scope": MARKER}, {}))
    _assert_safe(refused.value)
    assert refused.value.report == CheckReport(
        reasons.SCOPE_INSUFFICIENT, "scope", "claims", ("orders:write",)
    )
    refused.value.expose(None)  # even asked afterwards, the finding is gone
    assert refused.value.report.found is HIDDEN


def test_a_custom_check_refusal_has_its_code(keyring: Keyring) -> None:
    check = JWTVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=keyring.jwks("ES256"),
        clock=lambda: NOW,
        custom_check=lambda *a: False,
    )
    assert _verify_refusal(lambda: check.verify_sync(token(keyring["ES256"]))).code == reasons.CUSTOM_REJECTED


# -- rules whose acceptance matters as much as their refusal ---------------------------------------


def test_api_gateway_accepts_a_token_without_aud_by_its_client_id() -> None:
    AudienceOrClientIdCheck(frozenset({AUDIENCE}))({}, {"client_id": AUDIENCE}, NOW)
    ClaimValueCheck("tid", frozenset({"t1"}))({}, {"tid": "t1"}, NOW)


def test_groups_need_one_of_them_by_default_and_scopes_all() -> None:
    GroupsCheck(frozenset({"admins", "staff"}))({}, {"groups": ["staff"]}, NOW)
    ScopesCheck(frozenset({"a", "b"}), any_of=True)({}, {"scope": "b"}, NOW)


def test_a_scope_refusal_names_the_scopes_for_the_challenge() -> None:
    error = refusal(ScopesCheck(frozenset({"orders:read", "orders:write"})), {"scope": "x"})
    assert getattr(error, "scopes", None) == ("orders:read", "orders:write")
    groups = refusal(GroupsCheck(frozenset({"admins"})), {"groups": ["x"]})
    assert getattr(groups, "scopes", None) == ()  # groups never go into a challenge's scope


def test_dates_at_the_upper_bound_are_accepted() -> None:
    from jwt_middleware.policy import MAX_NUMERIC_DATE, is_numeric_date

    assert is_numeric_date(MAX_NUMERIC_DATE)
    assert not is_numeric_date(MAX_NUMERIC_DATE + 1)
    TimeCheck()({}, {"exp": MAX_NUMERIC_DATE}, NOW)


def test_sub_second_max_age_is_a_valid_setting() -> None:
    assert TimeCheck(max_age=0.5).max_age == 0.5


def test_the_token_cache_window_is_exactly_the_time_rule(keyring: Keyring) -> None:
    """``valid_from``/``valid_until`` bound where the verified-token cache may answer."""
    rule = TimeCheck(leeway=30, max_age=1000)
    window = {"exp": NOW + 600, "nbf": NOW - 100, "iat": NOW - 50}
    assert rule.valid_until(window) == min(NOW + 600 + 30, NOW - 50 + 1000 + 30)
    assert rule.valid_from(window) == max(NOW - 100 - 30, NOW - 50 - 30)
    assert TimeCheck(leeway=30).valid_from({"iat": NOW}) == NOW - 30
    assert TimeCheck(leeway=30).valid_until({"exp": NOW}) == NOW + 30


def test_a_crashing_rule_is_logged_by_its_name(caplog: pytest.LogCaptureFixture) -> None:
    def revocation_lookup(header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
        raise ConnectionError(MARKER)

    class Quota:
        def __call__(self, header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> None:
            raise KeyError(MARKER)

    policy = ClaimPolicy(issuers=[ISSUER], time=TimeCheck(require_exp=False), checks=[revocation_lookup])
    with pytest.raises(JWTMiddlewareError):
        policy.check({}, {}, NOW)
    with pytest.raises(JWTMiddlewareError):
        ClaimPolicy(issuers=[ISSUER], time=TimeCheck(require_exp=False), checks=[Quota()]).check({}, {}, NOW)
    messages = [record.getMessage() for record in caplog.records]
    assert any("revocation_lookup" in m and "ConnectionError" in m for m in messages), messages
    assert any(" Quota raised KeyError" in m for m in messages), messages
    assert not any(MARKER in m for m in messages)


def test_identity_claims_not_named_are_not_checked() -> None:
    IdentityClaimsCheck(names=("sub",))({}, {"sub": "alice", "iss": 42}, NOW)


def test_scope_strings_split_on_spaces_only() -> None:
    # The one home of the rule is the claim mapping (RFC 6749 section 3.3: spaces only).
    assert Claims({"scope": " a  b\tc "}).scopes == {"a", "b\tc"}
    assert Claims({"scope": ""}).scopes == frozenset()
