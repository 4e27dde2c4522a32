"""The claims as an HTTP API JWT authorizer hands them to a Lambda: rendered, and read back."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import ClaimMapping, Claims, InvalidClaimError
from jwt_middleware.aws import (
    authorizer_context,
    claims_from_event,
    gateway_claims,
    parse_gateway_claims,
    render_claim,
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
    assert claims["version"] == "2"  # only known date claims become numbers
    assert claims.header == {}


def test_a_real_shaped_v1_event_reads_back_into_claims() -> None:
    claims = claims_from_event(load_event("http_api_v1_integration"))
    assert claims is not None
    assert claims.token_use == "id"
    assert claims.audience == {"3n4b5urk1ft4fl3mg5e62d9ado"}
    assert claims.groups == {"admins"}
    assert claims["email_verified"] == "true"
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
        # REST API events (no version): a Lambda authorizer's context, or a Cognito authorizer's
        # claims in another rendering, are not JWT-authorizer claims.
        {"requestContext": {"authorizer": {"claims": {"sub": "x"}}}},
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
