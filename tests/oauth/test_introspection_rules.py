"""What an introspection answer must say before its token is accepted (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import reasons
from jwt_middleware.claim_mapping import ClaimMapping
from jwt_middleware.errors import (
    ExpiredTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidTokenError,
    JWTMiddlewareError,
    NotYetValidError,
)
from jwt_middleware.oauth.introspection_rules import IntrospectionRules, MalformedAnswerError

ISSUER = "https://idp.example"
NOW = 1_800_000_000.0


def rules(**options: Any) -> IntrospectionRules:
    options.setdefault("issuer", ISSUER)
    options.setdefault("audience", "orders")
    return IntrospectionRules.build(**options)


def answer(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "active": True,
        "iss": ISSUER,
        "aud": "orders",
        "sub": "alice",
        "client_id": "web",
        "scope": "orders/read orders/write",
        "token_type": "Bearer",
        "exp": NOW + 60,
        "iat": NOW - 60,
    }
    base.update(fields)
    return {name: value for name, value in base.items() if value is not None}


def test_an_active_answer_becomes_claims() -> None:
    claims = rules().claims(answer(), NOW)
    assert "active" not in claims
    assert claims.subject == "alice"
    assert claims.client_id == "web"
    assert claims.scopes == {"orders/read", "orders/write"}
    assert rules().valid_until(claims) == NOW + 60


def test_scopes_follow_the_claim_mapping() -> None:
    mapping = ClaimMapping(scopes=("scp",))
    claims = rules(claim_mapping=mapping).claims(answer(scope=None, scp=["a", "b"]), NOW)
    assert claims.scopes == {"a", "b"}


@pytest.mark.parametrize(
    ("fields", "error", "code"),
    [
        ({"active": False}, InvalidTokenError, reasons.TOKEN_INACTIVE),
        ({"token_type": "refresh_token"}, InvalidTokenError, reasons.TOKEN_TYPE_MISMATCH),
        ({"token_type": "DPoP"}, InvalidTokenError, reasons.TOKEN_TYPE_MISMATCH),
        ({"token_type": 1}, InvalidTokenError, reasons.TOKEN_TYPE_MISMATCH),
        ({"cnf": {"jkt": "abc"}}, InvalidTokenError, reasons.TOKEN_SENDER_CONSTRAINED),
        ({"iss": "https://other.example"}, InvalidIssuerError, reasons.ISS_MISMATCH),
        ({"iss": None}, InvalidIssuerError, reasons.ISS_MISSING),
        ({"aud": "billing"}, InvalidAudienceError, reasons.AUD_MISMATCH),
        ({"aud": None}, InvalidAudienceError, reasons.AUD_MISSING),
        ({"exp": NOW - 1}, ExpiredTokenError, reasons.EXP_EXPIRED),
        ({"exp": "soon"}, InvalidClaimError, reasons.DATE_INVALID),
        ({"nbf": NOW + 60}, NotYetValidError, reasons.NBF_NOT_YET_VALID),
        ({"sub": ""}, InvalidClaimError, reasons.IDENTITY_INVALID),
        ({"client_id": 7}, InvalidClaimError, reasons.IDENTITY_INVALID),
    ],
)
def test_refusals(fields: dict[str, Any], error: type[JWTMiddlewareError], code: str) -> None:
    with pytest.raises(error) as raised:
        rules().claims(answer(**fields), NOW)
    assert raised.value.code == code
    assert raised.value.status_code == 401


@pytest.mark.parametrize("active", ["true", 1, None, {"x": 1}])
def test_an_answer_without_a_boolean_active_is_the_providers_fault(active: object) -> None:
    document = answer()
    if active is None:
        del document["active"]
    else:
        document["active"] = active
    with pytest.raises(MalformedAnswerError):
        rules().claims(document, NOW)


def test_what_is_not_configured_is_not_checked() -> None:
    loose = rules(issuer=None, audience=None)
    claims = loose.claims(answer(iss="https://anyone.example", aud=None, token_type=None, exp=None), NOW)
    assert claims.subject == "alice"
    assert loose.valid_until(claims) == float("inf")


def test_token_types_and_leeway_are_configurable() -> None:
    relaxed = rules(token_types=["Bearer", "access_token"], leeway=30)
    assert relaxed.claims(answer(token_type="ACCESS_TOKEN", exp=NOW - 10), NOW)["sub"] == "alice"
