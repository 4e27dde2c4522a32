"""Claim attacks on correctly signed tokens: dates, exact boundaries, issuer and audience matching,
look-alikes, cross-issuer replay, Cognito token confusion, explicit typing and scope matching."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from jwt_middleware import (
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSignatureError,
    MalformedTokenError,
    NotYetValidError,
)
from jwt_middleware.policy import GrantCheck, ScopesCheck
from tests.security.catalogue import Case
from tests.security.kit import (
    AUDIENCE,
    CLIENT,
    COGNITO_ISSUER,
    ISSUER,
    ISSUER_B,
    MARKER,
    NOW,
    OTHER_CLIENT,
    Kit,
    dumps,
)

CATEGORY: Final = "Claims"
RUN_BY: Final = ("test_corpus.py", "test_http.py")

CASES: list[Case] = []

CYRILLIC: Final = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440"})


def case(name: str, how: str, expect: Any, rule: str, build: Callable[[Kit], Any], **extra: Any) -> None:
    CASES.append(Case(name=name, how=how, build=build, expect=expect, rule=rule, **extra))


def claims_case(
    name: str, how: str, expect: Any, rule: str, changes: Mapping[str, Any], **extra: Any
) -> None:
    case(name, how, expect, rule, lambda k: k.token(payload=k.payload(**changes)), **extra)


def raw_claim(name: str, how: str, expect: Any, rule: str, claim: str, json_value: str, **extra: Any) -> None:
    """A claim given as raw JSON text (for null and other values a dict cannot tell from absence)."""
    case(
        name,
        how,
        expect,
        rule,
        lambda k: k.raw(payload=k.payload_with(f'"{claim}":{json_value}', **{claim: None})),
        **extra,
    )


# -- NumericDate types and bounds ------------------------------------------------------------------

_BAD_DATES: Final = {
    "string": '"1700000300"',
    "empty-string": '""',
    "true": "true",
    "false": "false",
    "null": "null",
    "list": "[1700000300]",
    "object": '{"$date":1700000300}',
    "negative": "-1",
    "negative-fraction": "-0.5",
    "after-year-9999": "253402300800",
    "huge-integer": "1" + "0" * 30,
}
for claim in ("exp", "nbf", "iat"):
    for label, literal in _BAD_DATES.items():
        raw_claim(
            f"date-{claim}-{label}",
            f"'{claim}': {literal}",
            InvalidClaimError,
            "RFC 7519 §2 (NumericDate), §4.1.4-6",
            claim,
            literal,
        )
for claim in ("exp", "nbf", "iat"):
    # Grammatical JSON, but no finite number: refused by strict JSON before any date rule.
    raw_claim(
        f"date-{claim}-overflowing-float",
        f"'{claim}': 1e999",
        MalformedTokenError,
        "RFC 8259 §6 (numbers are finite); RFC 7519 §2",
        claim,
        "1e999",
    )
claims_case(
    "date-exp-missing",
    "no 'exp' (required by default)",
    InvalidClaimError,
    "RFC 7519 §4.1.4 (required by policy)",
    {"exp": None},
)
claims_case("date-exp-zero", "'exp': 0", ExpiredTokenError, "RFC 7519 §4.1.4", {"exp": 0})
claims_case(
    "date-exp-fraction",
    "'exp' with a fractional part, in the future",
    None,
    "positive control; RFC 7519 §2",
    {"exp": NOW + 0.5},
)

# -- exact boundaries, leeway 0 and 30 s ------------------------------------------------------------


def boundary(
    name: str, how: str, expect: Any, changes: Mapping[str, Any], now: float, **options: Any
) -> None:
    claims_case(
        name,
        how,
        expect,
        "RFC 7519 §4.1.4-6; leeway ≤ 600 s",
        changes,
        options={"now": now, **options},
    )


EPS: Final = 0.001
for leeway in (0, 30):
    boundary(
        f"exp-leeway-{leeway}-last-instant",
        f"now = exp + {leeway} - 1 ms",
        None,
        {"exp": NOW},
        NOW + leeway - EPS,
        leeway=leeway,
    )
    boundary(
        f"exp-leeway-{leeway}-at-boundary",
        f"now = exp + {leeway}",
        ExpiredTokenError,
        {"exp": NOW},
        NOW + leeway,
        leeway=leeway,
    )
    boundary(
        f"nbf-leeway-{leeway}-first-instant",
        f"now = nbf - {leeway}",
        None,
        {"nbf": NOW},
        NOW - leeway,
        leeway=leeway,
    )
    boundary(
        f"nbf-leeway-{leeway}-before-boundary",
        f"now = nbf - {leeway} - 1 ms",
        NotYetValidError,
        {"nbf": NOW},
        NOW - leeway - EPS,
        leeway=leeway,
    )
    boundary(
        f"iat-leeway-{leeway}-first-instant",
        f"now = iat - {leeway}",
        None,
        {"iat": NOW},
        NOW - leeway,
        leeway=leeway,
    )
    boundary(
        f"iat-leeway-{leeway}-in-future",
        f"now = iat - {leeway} - 1 ms (issued in the future)",
        NotYetValidError,
        {"iat": NOW},
        NOW - leeway - EPS,
        leeway=leeway,
    )
    boundary(
        f"max-age-leeway-{leeway}-last-instant",
        f"max_age 60: now = iat + 60 + {leeway}",
        None,
        {"iat": NOW, "exp": NOW + 3600},
        NOW + 60 + leeway,
        leeway=leeway,
        max_age=60,
    )
    boundary(
        f"max-age-leeway-{leeway}-too-old",
        f"max_age 60: now = iat + 60 + {leeway} + 1 ms",
        ExpiredTokenError,
        {"iat": NOW, "exp": NOW + 3600},
        NOW + 60 + leeway + EPS,
        leeway=leeway,
        max_age=60,
    )
boundary(
    "max-age-without-iat",
    "max_age set, token without 'iat'",
    InvalidClaimError,
    {"iat": None},
    NOW,
    max_age=60,
)
boundary(
    "exp-leeway-600-maximum",
    "the largest leeway, 600 s, one ms short of expiry",
    None,
    {"exp": NOW},
    NOW + 600 - EPS,
    leeway=600,
)

# -- issuer ---------------------------------------------------------------------------------------

_BAD_ISSUERS: Final[dict[str, Any]] = {
    "trailing-slash": ISSUER + "/",
    "upper-host": ISSUER.replace("issuer", "ISSUER"),
    "upper-scheme": ISSUER.replace("https", "HTTPS"),
    "http-scheme": ISSUER.replace("https", "http"),
    "default-port": ISSUER + ":443",
    "prefix-of-attacker-host": ISSUER + ".attacker.example",
    "userinfo": ISSUER + "@attacker.example",
    "path-suffix": ISSUER + "/" + MARKER,
    "substring": ISSUER[:-4],
    "percent-encoded-dot": ISSUER.replace(".", "%2E", 1),
    "leading-space": " " + ISSUER,
    "trailing-newline": ISSUER + "\n",
    "trailing-nul": ISSUER + "\u0000",
    "cyrillic-lookalike": ISSUER.translate(CYRILLIC),
    "fullwidth-dot": ISSUER.replace(".", "\uff0e"),
    "dotless-i": ISSUER.replace("i", "\u0131"),
    "empty": "",
    "list": [ISSUER],
    "object": {"iss": ISSUER},
    "integer": 1,
    "true": True,
    "other-trusted-issuer-elsewhere": ISSUER_B,
}
for label, value in _BAD_ISSUERS.items():
    claims_case(
        f"iss-{label}",
        f"'iss': {value!r}",
        InvalidIssuerError,
        "RFC 7519 §4.1.1; RFC 8725 §3.8",
        {"iss": value},
    )
claims_case("iss-missing", "no 'iss'", InvalidIssuerError, "RFC 8725 §3.8", {"iss": None})
raw_claim("iss-null", "'iss': null", InvalidIssuerError, "RFC 8725 §3.8", "iss", "null")

# -- audience -------------------------------------------------------------------------------------

_BAD_AUDIENCES: Final[dict[str, Any]] = {
    "substring": AUDIENCE[:-1],
    "superstring": AUDIENCE + "-admin",
    "path-suffix": AUDIENCE + "/" + MARKER,
    "upper-case": AUDIENCE.upper(),
    "trailing-space": AUDIENCE + " ",
    "cyrillic-lookalike": AUDIENCE.translate(CYRILLIC),
    "space-joined": f"{MARKER} {AUDIENCE}",
    "comma-joined": f"{MARKER},{AUDIENCE}",
    "empty-string": "",
    "empty-list": [],
    "mixed-types": [AUDIENCE, 1],
    "list-with-null": [AUDIENCE, None],
    "nested-list": [[AUDIENCE]],
    "object": {"aud": AUDIENCE},
    "integer": 1,
    "true": True,
}
for label, value in _BAD_AUDIENCES.items():
    claims_case(
        f"aud-{label}",
        f"'aud': {value!r}",
        InvalidAudienceError,
        "RFC 7519 §4.1.3; RFC 8725 §3.9",
        {"aud": value},
    )
claims_case(
    "aud-missing",
    "no 'aud' while an audience is configured",
    InvalidAudienceError,
    "RFC 8725 §3.9",
    {"aud": None},
)
raw_claim("aud-null", "'aud': null", InvalidAudienceError, "RFC 7519 §4.1.3", "aud", "null")
claims_case(
    "aud-list-containing-ours",
    "'aud': [another, ours]",
    None,
    "positive control; RFC 7519 §4.1.3",
    {"aud": [MARKER, AUDIENCE]},
)
claims_case(
    "aud-list-duplicated", "'aud': [ours, ours]", None, "positive control", {"aud": [AUDIENCE, AUDIENCE]}
)

# -- cross-issuer replay: two trusted issuers, one kid ----------------------------------------------


def _cross(signer: str, iss: Any) -> Callable[[Kit], str]:
    return lambda k: k.token(getattr(k, signer), k.payload(iss=iss))


case(
    "cross-issuer-b-key-claims-a",
    "issuers A and B both publish kid 'shared'; B's key signs a token claiming iss A",
    InvalidSignatureError,
    "RFC 8725 §3.8 (keys are per issuer)",
    _cross("issuer_b_key", ISSUER),
    verifier="two-issuers",
)
case(
    "cross-issuer-a-key-claims-b",
    "A's 'shared' key signs a token claiming iss B",
    InvalidSignatureError,
    "RFC 8725 §3.8",
    _cross("issuer_a_key", ISSUER_B),
    verifier="two-issuers",
)
case(
    "cross-issuer-control-a",
    "A's key, iss A",
    None,
    "positive control",
    _cross("issuer_a_key", ISSUER),
    verifier="two-issuers",
)
case(
    "cross-issuer-control-b",
    "B's key, iss B",
    None,
    "positive control",
    _cross("issuer_b_key", ISSUER_B),
    verifier="two-issuers",
)
case(
    "cross-issuer-list-iss",
    "'iss': [A, B]",
    InvalidIssuerError,
    "RFC 7519 §4.1.1",
    _cross("issuer_a_key", [ISSUER, ISSUER_B]),
    verifier="two-issuers",
)

# -- Cognito: token_use and client_id -------------------------------------------------------------


def cognito(
    name: str,
    how: str,
    expect: Any,
    build: Callable[[Kit], Mapping[str, Any]],
    verifier: str,
    rule: str = "RFC 8725 §3.12; Cognito token rules (aws-jwt-verify)",
) -> None:
    case(name, how, expect, rule, lambda k: k.cognito_token(build(k)), verifier=verifier)


cognito(
    "cognito-access-control",
    "a Cognito access token at an access-token API",
    None,
    lambda k: k.cognito_access(),
    "cognito-access",
    "positive control",
)
cognito(
    "cognito-id-control",
    "a Cognito ID token at an ID-token API",
    None,
    lambda k: k.cognito_id(),
    "cognito-id",
    "positive control",
)
cognito(
    "cognito-id-token-as-access",
    "an ID token (token_use id, aud = client) at an access-token API",
    InvalidClaimError,
    lambda k: k.cognito_id(),
    "cognito-access",
)
cognito(
    "cognito-id-token-with-client-id-as-access",
    "an ID token that also carries client_id = client, at an access-token API",
    InvalidClaimError,
    lambda k: k.cognito_id(client_id=CLIENT),
    "cognito-access",
)
cognito(
    "cognito-access-token-as-id",
    "an access token at an ID-token API",
    InvalidClaimError,
    lambda k: k.cognito_access(),
    "cognito-id",
)
cognito(
    "cognito-access-aud-right-client-id-wrong",
    "access token with aud = our client but client_id another (no fallback to aud)",
    InvalidAudienceError,
    lambda k: k.cognito_access(aud=CLIENT, client_id=OTHER_CLIENT),
    "cognito-access",
)
cognito(
    "cognito-id-client-id-right-aud-wrong",
    "ID token with client_id = our client but aud another (no fallback to client_id)",
    InvalidAudienceError,
    lambda k: k.cognito_id(aud=OTHER_CLIENT, client_id=CLIENT),
    "cognito-id",
)
for label, value in {
    "cyrillic-lookalike": "access".translate(CYRILLIC),
    "capitalised": "Access",
    "upper": "ACCESS",
    "trailing-space": "access ",
    "trailing-nul": "access\u0000",
    "list": ["access"],
    "id-token-spelling": "id_token",
    "empty": "",
}.items():
    cognito(
        f"cognito-token-use-{label}",
        f"'token_use': {value!r}",
        InvalidClaimError,
        lambda k, value=value: k.cognito_access(token_use=value),
        "cognito-access",
    )
cognito(
    "cognito-token-use-missing",
    "no 'token_use'",
    InvalidClaimError,
    lambda k: k.cognito_access(token_use=None),
    "cognito-access",
)
for label, value in {
    "cyrillic-lookalike": CLIENT.translate(CYRILLIC),
    "upper": CLIENT.upper(),
    "trailing-space": CLIENT + " ",
    "prefix": CLIENT[:-1],
    "list": [CLIENT],
    "other-client": OTHER_CLIENT,
}.items():
    cognito(
        f"cognito-client-id-{label}",
        f"access token with 'client_id': {value!r}",
        InvalidAudienceError,
        lambda k, value=value: k.cognito_access(client_id=value),
        "cognito-access",
    )
    # An aud list containing our client is a match (any-of), so the list form is a control here.
    cognito(
        f"cognito-id-aud-{label}",
        f"ID token with 'aud': {value!r}",
        None if value == [CLIENT] else InvalidAudienceError,
        lambda k, value=value: k.cognito_id(aud=value),
        "cognito-id",
    )
cognito(
    "cognito-client-id-missing",
    "access token without 'client_id'",
    InvalidAudienceError,
    lambda k: k.cognito_access(client_id=None),
    "cognito-access",
)
# A pool whose IssuerConfiguration is UPDATED signs with the issuer-cognito-idp form: accepted by
# default (as by aws-jwt-verify 5), bound to this pool like the classic form.
cognito(
    "cognito-iss-updated-form",
    "'iss' in the pool's updated form (issuer-cognito-idp)",
    None,
    lambda k: k.cognito_access(iss=COGNITO_ISSUER.replace("cognito-idp", "issuer-cognito-idp")),
    "cognito-access",
    "RFC 8725 §3.8; Cognito issuer (aws-jwt-verify 5)",
)
for label, iss in {
    "updated-form-other-pool": COGNITO_ISSUER.replace("cognito-idp", "issuer-cognito-idp").replace(
        "AbCdEf123", "AbCdEf124"
    ),
    "updated-form-other-domain": COGNITO_ISSUER.replace("cognito-idp", "issuer-cognito-idp").replace(
        "amazonaws.com", "amazonaws.eu"
    ),
    "other-pool": COGNITO_ISSUER.replace("AbCdEf123", "AbCdEf124"),
    "other-region": COGNITO_ISSUER.replace("eu-west-1.", "us-east-1."),
    "trailing-slash": COGNITO_ISSUER + "/",
    "pool-lower-case": COGNITO_ISSUER.lower(),
}.items():
    cognito(
        f"cognito-iss-{label}",
        f"'iss': {iss!r}",
        InvalidIssuerError,
        lambda k, iss=iss: k.cognito_access(iss=iss),
        "cognito-access",
        "RFC 8725 §3.8; Cognito issuer",
    )

# -- explicit typing (token_type="at+jwt") ---------------------------------------------------------

_TYPED: Final = {"token_type": "at+jwt"}
for label, typ, expect in (
    ("control-at-jwt", "at+jwt", None),
    ("control-media-type", "application/at+jwt", None),
    ("control-upper-case", "AT+JWT", None),
    ("jwt", "JWT", InvalidClaimError),
    ("missing", None, InvalidClaimError),
    ("cyrillic-lookalike", "at+jwt".translate(CYRILLIC), InvalidClaimError),
    ("suffix", "at+jwt+x", InvalidClaimError),
    ("list", ["at+jwt"], InvalidClaimError),
):
    case(
        f"typ-{label}",
        f"typ {typ!r} where 'at+jwt' is required",
        expect,
        "RFC 8725 §3.11; RFC 9068 §4",
        lambda k, typ=typ: k.token(typ=typ),
        options=_TYPED,
    )

# -- scopes: exact scope-tokens ----------------------------------------------------------------------

_READ_ALL: Final = {"checks": (ScopesCheck(frozenset({"read:all"})),)}
for label, changes, expect in (
    ("superstring", {"scope": "read:allx"}, InsufficientScopeError),
    ("prefix", {"scope": "read"}, InsufficientScopeError),
    ("suffix-of-other", {"scope": "xread:all"}, InsufficientScopeError),
    ("comma-delimited", {"scope": "read:all,write"}, InsufficientScopeError),
    ("upper-case", {"scope": "READ:ALL"}, InsufficientScopeError),
    ("cyrillic-lookalike", {"scope": "read:all".translate(CYRILLIC)}, InsufficientScopeError),
    ("nbsp-delimited", {"scope": "write\u00a0read:all"}, InsufficientScopeError),
    ("tab-delimited", {"scope": "write\tread:all"}, InsufficientScopeError),
    ("line-separator-delimited", {"scope": "write\u2028read:all"}, InsufficientScopeError),
    ("scp-superstring", {"scp": ["read:allx"]}, InsufficientScopeError),
    ("scope-as-object", {"scope": {"read:all": True}}, InsufficientScopeError),
    ("missing", {}, InsufficientScopeError),
    ("control-space-delimited", {"scope": "openid read:all"}, None),
    ("control-double-space", {"scope": "openid  read:all "}, None),
    ("control-scp-list", {"scp": ["read:all"]}, None),
    ("control-scp-string", {"scp": "profile read:all"}, None),
):
    claims_case(
        f"scope-{label}",
        f"'read:all' required; claims {changes!r}",
        expect,
        "RFC 6749 §3.3; RFC 9068 §2.2.3",
        changes,
        options=_READ_ALL,
    )

# -- required claims are about presence, not truthiness ---------------------------------------------

raw_claim(
    "required-sub-null",
    "'sub': null where 'sub' is required",
    InvalidClaimError,
    "RFC 7519 §4.1.2",
    "sub",
    "null",
    options={"required_claims": ("sub",)},
)
case(
    "required-claim-name-is-not-split",
    "required_claims='sub' (a string) means the claim 'sub', not 's', 'u', 'b'",
    None,
    "positive control",
    lambda k: k.raw(payload=dumps(k.payload())),
    options={"required_claims": "sub"},
)

# -- identity claims: a present sub, iss, client_id, azp, token_use or user name is a non-empty string

_IDENTITY_VALUES: Final = {
    "integer": "123",
    "zero": "0",
    "true": "true",
    "false": "false",
    "null": "null",
    "empty-string": '""',
    "list": f'["{MARKER}"]',
    "empty-list": "[]",
    "object": f'{{"id":"{MARKER}"}}',
    "float": "1.5",
}
for claim in ("sub", "client_id", "azp", "token_use", "username", "cognito:username", "preferred_username"):
    for label, literal in _IDENTITY_VALUES.items():
        raw_claim(
            f"identity-{claim.replace(':', '-')}-{label}",
            f"'{claim}': {literal} (would read as no identity, shared by every such token)",
            InvalidClaimError,
            "RFC 7519 §4.1.2 (StringOrURI); identity claims are non-empty strings",
            claim,
            literal,
        )
for label, literal in _IDENTITY_VALUES.items():
    raw_claim(
        f"identity-iss-{label}",
        f"'iss': {literal}",
        InvalidIssuerError,
        "RFC 7519 §4.1.1 (StringOrURI)",
        "iss",
        literal,
    )
claims_case(
    "identity-sub-control",
    "'sub' a non-empty string, with a username and a client",
    None,
    "positive control",
    {"sub": "user-1", "azp": "web", "preferred_username": "alice"},
)

# -- roles and permissions: exact names, from the mapped claims only --------------------------------

_ADMIN_ROLE: Final = {"checks": (GrantCheck("roles", frozenset({"admin"})),)}
for label, changes, expect in (
    ("control-list", {"roles": ["reader", "admin"]}, None),
    ("control-string", {"roles": "admin"}, None),
    ("space-delimited-string", {"roles": "reader admin"}, InsufficientScopeError),
    ("superstring", {"roles": ["administrator"]}, InsufficientScopeError),
    ("upper-case", {"roles": ["ADMIN"]}, InsufficientScopeError),
    ("cyrillic-lookalike", {"roles": ["admin".translate(CYRILLIC)]}, InsufficientScopeError),
    ("as-object", {"roles": {"admin": True}}, InsufficientScopeError),
    ("nested-list", {"roles": [["admin"]]}, InsufficientScopeError),
    ("in-scope-instead", {"scope": "admin"}, InsufficientScopeError),
    ("in-groups-instead", {"groups": ["admin"]}, InsufficientScopeError),
    ("unmapped-nested-path", {"realm_access": {"roles": ["admin"]}}, InsufficientScopeError),
):
    claims_case(
        f"role-{label}",
        f"role 'admin' required; claims {changes!r}",
        expect,
        "grants come only from the mapped claims, as exact names",
        changes,
        options=_ADMIN_ROLE,
    )
