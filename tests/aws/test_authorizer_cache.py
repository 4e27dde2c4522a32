"""Cached authorizer policies replayed as API Gateway replays them: right for every route and token.

A REST API caches the authorizer's policy per token for the authorizer's TTL and evaluates it for
every later request with that token. Each test takes the policy the authorizer returned for one
method ARN and evaluates it (``tests.aws.iam``, IAM's rules) against the ARNs of every route, and
checks the answer against what the route table says, by hand, for that token.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from jwt_middleware import JWTVerifier
from jwt_middleware.integrations.aws_lambda import Unauthorized, lambda_authorizer
from jwt_middleware.testing import LocalIssuer

from .conftest import load_event
from .iam import evaluate, wildcard_match

PREFIX = "arn:aws:execute-api:eu-west-1:123456789012:s4x3opwd6i/prod/"

ROUTES: dict[str, Any] = {
    "GET /orders": ["orders:read", "orders:admin"],
    "GET /orders/{id}": ["orders:read"],
    "GET /orders/{id}/items": ["orders:read"],
    "GET /orders/mine": [],
    "POST /orders": ["orders:write"],
    "DELETE /orders/{id}": {"roles": ["admin"]},
    "ANY /health": [],
}

#: Concrete requests (method and path, as in a method ARN), two per templated route.
REQUESTS = {
    "GET /orders": "GET /orders",
    "GET /orders/42": "GET /orders/{id}",
    "GET /orders/a-b_c.d": "GET /orders/{id}",
    "GET /orders/42/items": "GET /orders/{id}/items",
    "GET /orders/mine": "GET /orders/mine",
    "POST /orders": "POST /orders",
    "DELETE /orders/42": "DELETE /orders/{id}",
    "DELETE /orders/mine": "DELETE /orders/{id}",
    "GET /health": "ANY /health",
    "POST /health": "ANY /health",
    "HEAD /health": "ANY /health",
}

#: The routes each token may use, by the table above.
TOKENS: dict[str, tuple[dict[str, Any], set[str]]] = {
    "reader": (
        {"scope": "orders:read"},
        {"GET /orders", "GET /orders/{id}", "GET /orders/{id}/items", "GET /orders/mine", "ANY /health"},
    ),
    "writer": ({"scope": "orders:write"}, {"POST /orders", "GET /orders/mine", "ANY /health"}),
    "auditor": ({"scope": "orders:admin"}, {"GET /orders", "GET /orders/mine", "ANY /health"}),
    "admin": (
        {"scope": "profile", "roles": ["admin"]},
        {"DELETE /orders/{id}", "GET /orders/mine", "ANY /health"},
    ),
    "nobody": ({"scope": "profile"}, {"GET /orders/mine", "ANY /health"}),
}


def arn(request: str) -> str:
    method, _, path = request.partition(" ")
    return f"{PREFIX}{method}{path}"


def token_event(token: str, request: str) -> dict[str, Any]:
    event = load_event("authorizer_rest_token", token)
    event["methodArn"] = arn(request)
    return event


def test_the_evaluator_reads_wildcards_as_iam_does() -> None:
    assert wildcard_match("GET/orders/*", "GET/orders/42/items")  # * crosses "/"
    assert wildcard_match("GET/orders/*", "GET/orders/")
    assert not wildcard_match("GET/orders/*", "GET/orders")
    assert wildcard_match("GET/orders/?", "GET/orders/4")
    assert not wildcard_match("GET/orders/?", "GET/orders/42")
    assert wildcard_match("*", "")
    assert not wildcard_match("GET", "GETX")
    deny_wins = {
        "policyDocument": {
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["*"]},
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "a*"},
            ]
        }
    }
    assert evaluate(deny_wins, "b")
    assert not evaluate(deny_wins, "ab")


@pytest.mark.parametrize("who", sorted(TOKENS))
@pytest.mark.parametrize("first", sorted(REQUESTS))
def test_a_cached_policy_is_right_for_every_route(
    issuer: LocalIssuer, verifier: JWTVerifier, who: str, first: str
) -> None:
    claims, allowed_routes = TOKENS[who]
    handler = lambda_authorizer(verifier, routes=ROUTES)
    policy = handler(token_event(issuer.mint(claims), first), None)
    for request, route in REQUESTS.items():
        assert evaluate(policy, arn(request)) is (route in allowed_routes), (who, first, request)


@pytest.mark.parametrize("who", sorted(TOKENS))
@pytest.mark.parametrize("name", ["authorizer_http_v1_request", "authorizer_http_v2_request"])
def test_an_http_api_policy_is_right_for_every_route_too(
    issuer: LocalIssuer, verifier: JWTVerifier, who: str, name: str
) -> None:
    """HTTP APIs cache policy answers per identity source as well (simple responses are apart)."""
    claims, allowed_routes = TOKENS[who]
    handler = lambda_authorizer(verifier, routes=ROUTES, simple_responses=False)
    for first in ("GET /orders/42", "POST /health"):
        event = load_event(name, issuer.mint(claims))
        event["routeArn" if name.endswith("v2_request") else "methodArn"] = arn(first)
        policy = handler(event, None)
        for request, route in REQUESTS.items():
            assert evaluate(policy, arn(request)) is (route in allowed_routes), (who, first, request)


def test_a_rest_request_event_gets_the_same_policy_as_a_token_event(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    token = issuer.mint(scope="orders:read")
    handler = lambda_authorizer(verifier, routes=ROUTES)
    from_request = handler(load_event("authorizer_rest_request", token), None)
    from_token = handler(token_event(token, "GET /orders/42"), None)
    assert from_request["policyDocument"] == from_token["policyDocument"]


def test_without_routes_the_cached_allow_is_the_api_stage(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    policy = lambda_authorizer(verifier)(token_event(issuer.mint(), "GET /orders/42"), None)
    assert policy["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [PREFIX + "*"]}
    ]
    for request in REQUESTS:
        assert evaluate(policy, arn(request))
    assert not evaluate(policy, "arn:aws:execute-api:eu-west-1:123456789012:s4x3opwd6i/test/GET/orders")
    assert not evaluate(policy, "arn:aws:execute-api:eu-west-1:123456789012:otherapi00/prod/GET/orders")


def test_a_token_meeting_no_route_is_denied_everywhere(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes={"GET /orders": ["orders:read"]})
    policy = handler(token_event(issuer.mint(scope="profile"), "GET /orders"), None)
    assert policy["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [PREFIX + "*"]}
    ]
    assert policy["principalId"] == "user-123"  # a valid token: who it is, though refused here


def test_a_request_no_route_matches_is_refused_though_a_pattern_reaches_it(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    """``GET/orders/*`` (``GET /orders/{id}``) also matches ``GET/orders/42/notes``: not a route here."""
    handler = lambda_authorizer(verifier, routes={"GET /orders/{id}": ["orders:read"]})
    policy = handler(token_event(issuer.mint(scope="orders:read"), "GET /orders/42/notes"), None)
    assert not evaluate(policy, arn("GET /orders/42/notes"))
    assert evaluate(policy, arn("GET /orders/42"))


# -- catch-all routes: wildcards IAM cannot separate ---------------------------------------------------

CATCH_ALL: dict[str, Any] = {
    "GET /orders": ["orders:read"],
    "GET /orders/{id}": ["orders:read"],
    "GET /orders/mine": ["orders:own"],
    "ANY /{proxy+}": ["admin"],
    "$default": [],
}
CATCH_ALL_REQUESTS = {
    "GET /orders": "GET /orders",
    "GET /orders/42": "GET /orders/{id}",
    "GET /orders/mine": "GET /orders/mine",
    "GET /orders/42/notes": "ANY /{proxy+}",
    "POST /orders": "ANY /{proxy+}",
    "GET /": "$default",
}
CATCH_ALL_TOKENS: dict[str, tuple[str, set[str]]] = {
    "reader": ("orders:read", {"GET /orders", "GET /orders/{id}", "$default"}),
    "owner": ("orders:own", {"GET /orders/mine", "$default"}),
    "admin": ("admin", {"ANY /{proxy+}", "$default"}),
    "both": ("orders:read orders:own", {"GET /orders", "GET /orders/{id}", "GET /orders/mine", "$default"}),
    "nobody": ("profile", {"$default"}),
}


def test_inseparable_routes_are_reported_when_the_table_is_built(
    verifier: JWTVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jwt_middleware")
    lambda_authorizer(verifier, routes=ROUTES)
    assert not caplog.records  # the first table: every route's policy is exact
    handler: Any = lambda_authorizer(verifier, routes=CATCH_ALL)
    assert ("GET /orders/{id}", "GET /orders/mine") in handler.routes.inseparable
    assert ("GET /orders/mine", "GET /orders") not in handler.routes.inseparable  # apart: exact patterns
    (record,) = caplog.records  # one line for the table, however many pairs
    assert f"{len(handler.routes.inseparable)} route pair(s)" in record.getMessage()


@pytest.mark.parametrize("who", sorted(CATCH_ALL_TOKENS))
@pytest.mark.parametrize("first", sorted(CATCH_ALL_REQUESTS))
def test_where_iam_cannot_say_it_a_cached_policy_only_ever_refuses_more(
    issuer: LocalIssuer, verifier: JWTVerifier, who: str, first: str
) -> None:
    """Never a cached allow the table refuses; the invoked request always gets its own verdict."""
    scope, allowed_routes = CATCH_ALL_TOKENS[who]
    handler = lambda_authorizer(verifier, routes=CATCH_ALL)
    policy = handler(token_event(issuer.mint(scope=scope), first), None)
    assert evaluate(policy, arn(first)) is (CATCH_ALL_REQUESTS[first] in allowed_routes)
    for request, route in CATCH_ALL_REQUESTS.items():
        if evaluate(policy, arn(request)):
            assert route in allowed_routes, (who, first, request)


def test_a_request_path_holding_a_wildcard_is_never_allowed_as_a_pattern(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    handler = lambda_authorizer(verifier, routes=CATCH_ALL)
    admin = issuer.mint(scope="admin")
    # ANY /{proxy+} allows GET /orders/42/notes, but the Deny that GET /orders/{id} needs matches
    # it too: the policy falls back to allowing the invoked ARN itself...
    policy = handler(token_event(admin, "GET /orders/42/notes"), None)
    assert evaluate(policy, arn("GET /orders/42/notes"))
    assert not evaluate(policy, arn("GET /orders/42"))
    # ... which must never be a pattern of the caller's making: then the request is refused.
    sneaky = handler(token_event(admin, "GET /orders/42/*"), None)
    assert not evaluate(sneaky, arn("GET /orders/42/*"))
    assert not evaluate(sneaky, arn("GET /orders/42/x"))


def test_unauthorized_for_a_bad_token_is_not_a_policy(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    with pytest.raises(Unauthorized):
        lambda_authorizer(verifier, routes=ROUTES)(token_event(issuer.mint_expired(), "GET /orders"), None)
