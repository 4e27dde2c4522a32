"""The claims as an HTTP API JWT authorizer hands them to a Lambda: rendered, and read back."""

from __future__ import annotations

import re
from typing import Any

import pytest

from jwt_middleware import ClaimMapping, Claims, InvalidClaimError
from jwt_middleware.aws import (
    CLAIM_TYPES,
    authorizer_context,
    claims_from_event,
    gateway_claims,
    parse_gateway_claims,
    render_claim,
    rest_gateway_claims,
)
from jwt_middleware.testing import LocalIssuer

from .conftest import load_event


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("alice", "alice"),
        ("", ""),
        (1710000000, "1710000000"),
        (0, "0"),
        (-3, "-3"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
        (None, "<nil>"),
        (["admins", "editors"], "[admins editors]"),
        ([], "[]"),
        (["one"], "[one]"),
        ([1, True, "x"], "[1 true x]"),
        ([["a", "b"], "c"], "[[a b] c]"),
        ({"city": "Seattle", "zip": 98101}, "map[city:Seattle zip:98101]"),
        ({}, "map[]"),
    ],
)
def test_values_render_as_api_gateway_renders_them(value: Any, rendered: str) -> None:
    assert render_claim(value) == rendered


def test_every_claim_of_a_verified_token_becomes_a_string(issuer: LocalIssuer) -> None:
    token = issuer.mint(
        {"cognito:groups": ["admins", "editors"], "email_verified": True, "address": {"city": "Seattle"}},
        scope="orders:read openid",
    )
    claims = issuer.verifier().verify_sync(token)
    rendered = gateway_claims(claims)
    assert all(isinstance(value, str) for value in rendered.values())
    assert rendered["exp"] == str(claims["exp"])
    assert rendered["cognito:groups"] == "[admins editors]"
    assert rendered["email_verified"] == "true"
    assert rendered["address"] == "map[city:Seattle]"
    assert rendered["scope"] == "orders:read openid"


def test_authorizer_context_is_the_payload_2_0_shape(issuer: LocalIssuer) -> None:
    claims = issuer.verifier().verify_sync(issuer.mint(scope="orders:read openid"))
    context = authorizer_context(claims)
    assert set(context) == {"jwt"}
    assert set(context["jwt"]) == {"claims", "scopes"}
    assert context["jwt"]["scopes"] == ["openid", "orders:read"]
    without = authorizer_context(issuer.verifier().verify_sync(issuer.mint()))
    assert without["jwt"]["scopes"] is None


def test_a_real_shaped_v2_event_reads_back_into_claims() -> None:
    claims = claims_from_event(load_event("http_api_v2_integration"))
    assert isinstance(claims, Claims)
    assert claims.subject == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert claims["exp"] == 4102444800
    assert claims.expires_at is not None
    assert claims.groups == {"admins", "editors"}
    assert claims.scopes == {"orders/read", "openid"}
    assert claims.client_id == "3n4b5urk1ft4fl3mg5e62d9ado"
    assert claims["version"] == 2  # Cognito's access token version is a number, as in the token
    assert claims["origin_jti"] == "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    assert claims.header == {}


def test_a_real_shaped_v1_event_reads_back_into_claims() -> None:
    claims = claims_from_event(load_event("http_api_v1_integration"))
    assert claims is not None
    assert claims.token_use == "id"
    assert claims.audience == {"3n4b5urk1ft4fl3mg5e62d9ado"}
    assert claims.groups == {"admins"}
    assert claims["email_verified"] is True  # "true" is not left as a (truthy) string
    assert claims.scopes == frozenset()


def test_rendering_then_reading_back_round_trips_the_common_claims(issuer: LocalIssuer) -> None:
    token = issuer.mint({"cognito:groups": ["a", "b"], "aud": ["x", "orders-api"]}, scope="s1 s2")
    claims = issuer.verifier().verify_sync(token)
    event = {"version": "2.0", "requestContext": {"authorizer": authorizer_context(claims)}}
    back = claims_from_event(event)
    assert back is not None
    for name in ("sub", "iss", "exp", "iat", "cognito:groups", "aud", "scope"):
        assert back[name] == claims[name]


def test_event_scopes_fill_scope_when_the_claims_carry_none() -> None:
    claims = parse_gateway_claims({"sub": "m2m"}, ["orders/read"])
    assert claims.scopes == {"orders/read"}
    kept = parse_gateway_claims({"sub": "x", "scope": "a"}, ["b"])
    assert kept.scopes == {"a"}


@pytest.mark.parametrize(
    "event",
    [
        None,
        "not an event",
        {},
        {"version": "2.0"},
        {"version": "2.0", "requestContext": {}},
        {"version": "2.0", "requestContext": {"authorizer": {"lambda": {"sub": "x"}}}},
        {"version": "2.0", "requestContext": {"authorizer": {"jwt": {"claims": {}}}}},
        {"version": "2.0", "requestContext": {"authorizer": {"jwt": {"claims": "sub=x"}}}},
        {"version": "2.0", "requestContext": {"authorizer": {"jwt": None}}},
        # A REST API Lambda authorizer's context is not claims.
        {"requestContext": {"authorizer": {"principalId": "x", "sub": "x"}}},
        {"requestContext": {"authorizer": {"claims": {}}}},
        {"version": "3.0", "requestContext": {"authorizer": {"claims": {"sub": "x"}}}},
    ],
)
def test_events_without_authorizer_claims_give_none(event: Any) -> None:
    assert claims_from_event(event) is None


def test_a_bracketed_value_stays_a_string_outside_the_list_claims() -> None:
    claims = parse_gateway_claims({"nickname": "[the boss]", "groups": "[a b]", "exp": "soon"})
    assert claims["nickname"] == "[the boss]"
    assert claims["groups"] == ["a", "b"]
    assert claims["exp"] == "soon"
    assert parse_gateway_claims({"nickname": "[x y]"}, list_claims=["nickname"])["nickname"] == ["x", "y"]


def test_the_claim_mapping_reads_roles_back_from_the_gateways_rendering(issuer: LocalIssuer) -> None:
    mapping = ClaimMapping(roles=("app_roles",), permissions="https://example.com/permissions")
    token = issuer.mint(
        {
            "app_roles": ["admin", "ops"],
            "https://example.com/permissions": ["read:orders"],
            "roles": ["not-mapped"],
        }
    )
    claims = issuer.verifier().verify_sync(token)
    event = {"version": "2.0", "requestContext": {"authorizer": authorizer_context(claims)}}
    assert authorizer_context(claims)["jwt"]["claims"]["app_roles"] == "[admin ops]"
    back = claims_from_event(event, claim_mapping=mapping)
    assert back is not None
    assert back.claim_mapping == mapping
    assert back.roles == {"admin", "ops"}
    assert back.permissions == {"read:orders"}
    default = claims_from_event(event)
    assert default is not None
    assert default.roles == {"not-mapped"}  # roles is a list claim by default


@pytest.mark.parametrize(
    "rendered", [{"sub": ""}, {"sub": "u", "client_id": ""}, {"sub": "u", "username": ""}]
)
def test_an_empty_identity_from_the_gateway_is_refused(rendered: dict[str, str]) -> None:
    event = {
        "version": "2.0",
        "requestContext": {"authorizer": {"jwt": {"claims": rendered, "scopes": None}}},
    }
    with pytest.raises(InvalidClaimError):
        claims_from_event(event)


# -- every claim of a known type gets its type back -----------------------------------------------------


#: A value of each claim of ``CLAIM_TYPES``, as a token holds it.
TYPED_CLAIMS: list[tuple[str, Any]] = [
    ("exp", 1710000000),
    ("nbf", 1710000000),
    ("iat", 1710000000),
    ("auth_time", 1710000000),
    ("updated_at", 1710000000),
    ("email_verified", True),
    ("email_verified", False),
    ("phone_number_verified", False),
    ("version", 2),
    ("aud", ["a", "b"]),
    ("aud", "a"),
    ("amr", ["pwd", "mfa"]),
    ("scp", ["orders.read", "orders.write"]),
    ("roles", ["Task.Read", "Task.Write"]),  # Entra app roles: "[Task.Read Task.Write]"
    ("wids", ["62e90394-69f5-4237-9190-012177145e10"]),
    ("groups", ["g1"]),
    ("permissions", ["read:orders"]),
    ("entitlements", []),
    ("allowed-origins", ["https://app.example"]),
    ("cognito:groups", ["admins", "editors"]),
    ("cognito:roles", ["arn:aws:iam::123456789012:role/admins"]),
    ("hasgroups", True),  # Entra, when the user's groups are too many for the token
]


def test_every_typed_claim_of_the_table_is_tested() -> None:
    assert {name for name, _ in TYPED_CLAIMS} == set(CLAIM_TYPES)


@pytest.mark.parametrize(("name", "value"), TYPED_CLAIMS)
def test_known_claims_read_back_as_the_type_the_token_had(name: str, value: Any) -> None:
    assert name in CLAIM_TYPES
    rendered = gateway_claims({name: value})
    assert isinstance(rendered[name], str)
    assert parse_gateway_claims(rendered)[name] == value
    rest = rest_gateway_claims({name: value})
    assert isinstance(rest[name], str)
    assert parse_gateway_claims(rest, rendering="rest")[name] == value


def test_claims_of_unknown_type_stay_the_strings_the_gateway_sent() -> None:
    rendered = gateway_claims(
        {"level": 3, "ver": "2.0", "acr": "1", "address": {"city": "Lyon"}, "nick": "[x y]"}
    )
    claims = parse_gateway_claims(rendered)
    assert claims["level"] == "3"  # a custom number: API Gateway sends "3", and so it stays
    assert claims["ver"] == "2.0"  # Entra's ver is a string ("2.0"), Okta's a number (1): untyped
    assert claims["acr"] == "1"
    assert claims["address"] == "map[city:Lyon]"
    assert claims["nick"] == "[x y]"
    typed = parse_gateway_claims(rendered, claim_types={"level": "number", "nick": "list"})
    assert (typed["level"], typed["nick"]) == (3, ["x", "y"])
    numbers = parse_gateway_claims(
        gateway_claims({"ratio": 0.25, "debt": -12, "code": "12ab"}),
        claim_types={"ratio": "number", "debt": "number", "code": "number"},
    )
    assert (numbers["ratio"], numbers["debt"]) == (0.25, -12)
    assert numbers["code"] == "12ab"  # not a number: kept as sent


@pytest.mark.parametrize("value", ["yes", "1", "True", ""])
def test_a_boolean_claim_that_is_not_true_or_false_is_kept_as_sent(value: str) -> None:
    assert parse_gateway_claims({"email_verified": value})["email_verified"] == value


def test_a_rest_api_cognito_authorizer_event_reads_back_into_claims() -> None:
    """REST's Cognito user pool authorizer: Java dates for exp and iat, commas between groups."""
    claims = claims_from_event(load_event("rest_api_cognito_integration"))
    assert claims is not None
    assert (claims["exp"], claims["iat"], claims["auth_time"]) == (4102444800, 1710086400, 1710086400)
    assert claims.expires_at is not None
    assert claims["cognito:groups"] == ["admins", "editors"]
    assert claims["cognito:roles"] == [
        "arn:aws:iam::123456789012:role/admins",
        "arn:aws:iam::123456789012:role/editors",
    ]
    assert claims["email_verified"] is True
    assert claims["aud"] == "3n4b5urk1ft4fl3mg5e62d9ado"  # one audience stays a string
    assert claims["custom:tenant"] == "acme"
    assert claims.token_use == "id"


def test_rest_rendering_round_trips_a_cognito_id_token() -> None:
    with LocalIssuer.cognito(user_pool_id="eu-west-1_Rest12345", client_id="app") as pool:
        claims = pool.verifier(token_use="id").verify_sync(
            pool.mint_id_token(username="ann", groups=["a", "b"], email="ann@example.com")
        )
    rendered = rest_gateway_claims(claims)
    assert rendered["cognito:groups"] == "a,b"
    assert rendered["email_verified"] == "true"
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9:]{8} UTC [0-9]{4}", rendered["exp"])
    assert rendered["auth_time"].isdigit()
    event = {"requestContext": {"authorizer": {"claims": rendered}}}
    back = claims_from_event(event)
    assert back is not None
    assert dict(back) == dict(claims)
