"""API Gateway route matching, and route policies checked against IAM's rules on random tables."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jwt_middleware import ConfigurationError
from jwt_middleware.aws.route_policy import RouteTable
from jwt_middleware.aws.routes import Route, best_route, parse_method_arn

from .iam import wildcard_match

PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/"


def route_of(keys: list[str], request: str) -> str | None:
    routes = [Route.parse(key) for key in keys]
    arn = parse_method_arn(PREFIX + request)
    assert arn is not None
    index = best_route(routes, arn.method, arn.segments)
    return keys[index] if index is not None else None


def test_the_route_precedence_of_api_gateways_guide() -> None:
    """The HTTP API guide's example: most specific first, greedy after, ANY for other methods."""
    keys = ["GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default"]
    assert route_of(keys, "GET/pets/dog/1") == "GET /pets/dog/1"
    assert route_of(keys, "GET/pets/dog/2") == "GET /pets/dog/{id}"
    assert route_of(keys, "GET/pets/cat/1") == "GET /pets/{proxy+}"
    assert route_of(keys, "POST/pets/cat/1") == "ANY /{proxy+}"
    assert route_of(keys, "GET/") == "$default"  # a greedy variable needs a segment


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ("GET/orders", "GET /orders"),
        ("HEAD/orders", "ANY /orders"),  # ANY: the methods the path does not name
        ("GET/orders/42", "GET /orders/{id}"),
        ("GET/orders/mine", "GET /orders/mine"),  # a literal before a variable
        ("GET/orders/42/items", "GET /orders/{id}/items"),
        ("GET/orders/42/items/7", "GET /orders/{proxy+}"),
        ("GET/orders//items", None),  # an empty segment is no variable's value, nor a greedy one's first
        ("GET/", "GET /"),
        ("GET/x", None),
    ],
)
def test_requests_reach_the_most_specific_route(request_: str, expected: str | None) -> None:
    keys = [
        "GET /",
        "GET /orders",
        "ANY /orders",
        "GET /orders/{id}",
        "GET /orders/mine",
        "GET /orders/{id}/items",
        "GET /orders/{proxy+}",
    ]
    assert route_of(keys, request_) == expected


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/FETCH/orders",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod",
        "arn:aws:s3:::bucket/prod/GET/orders",
        "arn:aws:execute-api:us-east-1:123:abcdef123/prod/GET/orders",
        5,
    ],
)
def test_only_method_arns_are_read(arn: Any) -> None:
    assert parse_method_arn(arn) is None


def test_a_method_arn_of_any_partition() -> None:
    arn = parse_method_arn("arn:aws-eusc:execute-api:eusc-de-east-1:123456789012:abcdef123/prod/GET/a/b")
    assert arn is not None
    assert (arn.region, arn.api, arn.stage, arn.method, arn.segments) == (
        "eusc-de-east-1",
        "abcdef123",
        "prod",
        "GET",
        ("a", "b"),
    )


def test_routes_and_their_iam_patterns() -> None:
    assert [p.text for p in Route.parse("GET /orders/{id}/items").patterns] == ["GET/orders/*/items"]
    assert [p.text for p in Route.parse("GET /").patterns] == ["GET/"]
    assert [p.text for p in Route.parse("$default").patterns] == ["*"]
    assert sorted(p.text for p in Route.parse("ANY /health").patterns) == [
        f"{method}/health" for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
    ]


def test_one_route_given_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="same route"):
        RouteTable([("GET /a/{x}", None), ("get /a/{y}", None)])


# -- random tables: a policy never allows what the table refuses, and is exact when it says so ----------

TEMPLATES = [
    "GET /orders",
    "POST /orders",
    "GET /orders/{id}",
    "GET /orders/mine",
    "DELETE /orders/{id}",
    "ANY /orders/{id}",
    "GET /orders/{id}/items",
    "GET /orders/{id}/{item}",
    "GET /{proxy+}",
    "ANY /{proxy+}",
    "GET /orders/{rest+}",
    "GET /",
    "$default",
]
SEGMENTS = ["orders", "42", "mine", "items", "x", ""]
REQUESTS = [
    f"{method}/{'/'.join(path)}"
    for method in ("GET", "POST", "DELETE")
    for length in (1, 2, 3)
    for path in itertools.product(SEGMENTS, repeat=length)
]
LABELS = ["a", "b", "c", None]  # None: any valid token


@settings(max_examples=100, deadline=None)
@given(
    table=st.lists(st.sampled_from(TEMPLATES), min_size=1, max_size=6, unique=True).flatmap(
        lambda keys: st.tuples(
            st.just(keys), st.lists(st.sampled_from(LABELS), min_size=len(keys), max_size=len(keys))
        )
    ),
    token=st.sets(st.sampled_from(["a", "b", "c"])),
)
def test_policies_against_iam_evaluation(table: tuple[list[str], list[str | None]], token: set[str]) -> None:
    keys, labels = table
    routes = RouteTable(zip(keys, labels, strict=True))
    policy = routes.statements(PREFIX, lambda label: label is None or label in token)
    # Every pattern starts with the literal PREFIX; matching the rest is the same and cheaper.
    assert all(pattern.startswith(PREFIX) for pattern in (*policy.allow, *policy.deny))
    allow = [pattern[len(PREFIX) :] for pattern in policy.allow]
    deny = [pattern[len(PREFIX) :] for pattern in policy.deny]
    for request in REQUESTS:
        arn = parse_method_arn(PREFIX + request)
        assert arn is not None
        index = routes.route_for(arn)
        if index is None:
            continue  # API Gateway never asks about a request no route of the API matches
        expected = labels[index] is None or labels[index] in token
        denied = any(wildcard_match(pattern, request) for pattern in deny)
        allowed = not denied and any(wildcard_match(pattern, request) for pattern in allow)
        if allowed:
            assert expected, (keys, labels, token, request, policy)
        if not routes.inseparable:
            assert allowed == expected, (keys, labels, token, request, policy)
