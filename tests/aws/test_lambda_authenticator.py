"""``lambda_authorizer(authenticator=...)`` and ``LambdaRequestView`` over real-shaped authorizer events."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import BearerAuthenticator, ConfigurationError, JWTVerifier, TemporarilyUnavailableError
from jwt_middleware.integrations.aws_lambda import (
    IdentitySourceAuthenticator,
    LambdaRequestView,
    Unauthorized,
    lambda_authorizer,
)
from jwt_middleware.testing import LocalIssuer
from tests.authenticators import GOOD_KEY, UNAVAILABLE_KEY, ApiKeys

from .conftest import load_event

ROUTES = {
    "GET /orders": ["orders:read"],
    "POST /orders": ["orders:write"],
    "GET /orders/{id}": ["orders:read"],
}


def with_key(event: dict[str, Any], key: str | None) -> dict[str, Any]:
    """The event with an ``X-API-Key`` header (in both header maps of a REST event)."""
    if key is not None:
        event["headers"]["X-Api-Key"] = key
        if "multiValueHeaders" in event:
            event["multiValueHeaders"]["X-Api-Key"] = [key]
    return event


def effect(response: dict[str, Any]) -> bool:
    if "isAuthorized" in response:
        return bool(response["isAuthorized"])
    return any(statement["Effect"] == "Allow" for statement in response["policyDocument"]["Statement"])


@pytest.mark.parametrize(
    "name", ["authorizer_http_v2_request", "authorizer_http_v1_request", "authorizer_rest_request"]
)
def test_a_custom_authenticator_decides_for_every_event_shape(name: str) -> None:
    handler = lambda_authorizer(authenticator=ApiKeys())
    assert effect(handler(with_key(load_event(name, "unused"), GOOD_KEY), None))
    with pytest.raises(TemporarilyUnavailableError):  # server-side: an uncached failure, not a deny
        handler(with_key(load_event(name, "unused"), UNAVAILABLE_KEY), None)
    refused = with_key(load_event(name, "unused"), "key-mallory")
    anonymous = load_event(name, "unused")  # no credentials: never optional here
    if name == "authorizer_rest_request":  # REST APIs answer a refused credential with 401
        for event in (refused, anonymous):
            with pytest.raises(Unauthorized):
                handler(event, None)
    else:
        assert not effect(handler(refused, None))
        assert not effect(handler(anonymous, None))


def test_the_allow_carries_the_authenticators_claims_and_routes_apply() -> None:
    handler = lambda_authorizer(authenticator=ApiKeys(), routes=ROUTES)
    event = with_key(load_event("authorizer_http_v2_request", "unused"), GOOD_KEY)
    allowed = handler(event, None)
    assert allowed == {
        "isAuthorized": True,
        "context": {
            "sub": "alice",
            "iss": "https://keys.example",
            "scope": "orders:read",
            "groups": ["admins"],
        },
    }
    post = {**event, "routeArn": event["routeArn"].replace("/GET/", "/POST/")}
    assert handler(post, None) == {"isAuthorized": False, "context": allowed["context"]}


def test_token_events_carry_no_headers_for_a_custom_authenticator() -> None:
    handler = lambda_authorizer(authenticator=ApiKeys())
    with pytest.raises(Unauthorized):
        handler(load_event("authorizer_rest_token", GOOD_KEY), None)


def test_identity_sources_configure_the_verifier_not_an_authenticator() -> None:
    with pytest.raises(ConfigurationError, match="identity_sources"):
        lambda_authorizer(authenticator=ApiKeys(), identity_sources="$request.header.X-Api-Key")


def test_exactly_one_of_verifier_and_authenticator(provider_verifier: JWTVerifier) -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        lambda_authorizer()
    with pytest.raises(ConfigurationError, match="exactly one"):
        lambda_authorizer(provider_verifier, authenticator=ApiKeys())
    with pytest.raises(ConfigurationError, match="authenticate"):
        lambda_authorizer(authenticator=object())  # type: ignore[arg-type]


def test_verifier_means_the_identity_source_bearer_authenticator(
    provider: LocalIssuer, provider_verifier: JWTVerifier
) -> None:
    handler: Any = lambda_authorizer(provider_verifier)
    assert isinstance(handler.authenticator, IdentitySourceAuthenticator)
    assert isinstance(handler.authenticator, BearerAuthenticator)
    assert handler.verifier is provider_verifier
    raw = load_event("authorizer_rest_token", provider.mint(sub="alice"))
    raw["authorizationToken"] = raw["authorizationToken"].removeprefix("Bearer ")  # the bare token works too
    assert effect(handler(raw, None))


@pytest.fixture(scope="module")
def provider() -> Any:
    with LocalIssuer(audience="orders-api") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def provider_verifier(provider: LocalIssuer) -> JWTVerifier:
    return JWTVerifier.api_gateway(issuer=provider.issuer, audience="orders-api")


# -- the view of each event shape --------------------------------------------------------------------


def test_the_view_of_an_http_api_v2_event() -> None:
    event = load_event("authorizer_http_v2_request", "t")
    event["rawQueryString"] = "status=open&tag=a&tag=b"
    event["cookies"] = ["session=abc", "theme=dark"]
    view = LambdaRequestView(event)
    assert (view.method, view.path, view.raw) == ("GET", "/orders", event)
    assert view.url == "https://abcdef123.execute-api.eu-west-1.amazonaws.com/orders?status=open&tag=a&tag=b"
    assert view.header("Authorization") == ["Bearer t"]
    assert view.header("X-Forwarded-For") == ["203.0.113.10"]
    assert (view.query("tag"), view.cookie("theme"), view.cookie("session")) == (["a", "b"], "dark", "abc")


def test_the_view_of_a_rest_request_event() -> None:
    event = load_event("authorizer_rest_request", "t")
    event["multiValueHeaders"]["X-Forwarded-For"] = ["203.0.113.10", "130.176.1.1"]
    event["multiValueQueryStringParameters"] = {"tag": ["a", "b"], "q": ["x y"]}
    event["headers"]["Cookie"] = "theme=dark"
    view = LambdaRequestView(event)
    assert (view.method, view.path) == ("GET", "/orders/42")
    # The path as received: REST default endpoints include the stage.
    assert (
        view.url == "https://s4x3opwd6i.execute-api.eu-west-1.amazonaws.com/prod/orders/42?tag=a&tag=b&q=x+y"
    )
    assert view.header("x-forwarded-for") == ["203.0.113.10", "130.176.1.1"]  # kept apart
    assert view.header("authorization") == ["Bearer t"]
    assert (view.query("tag"), view.query("q"), view.cookie("theme")) == (["a", "b"], ["x y"], "dark")


def test_the_view_of_an_http_api_v1_event() -> None:
    event = load_event("authorizer_http_v1_request", "t")
    event["queryStringParameters"] = {"status": "open"}
    view = LambdaRequestView(event)
    assert (view.method, view.path, view.query("status")) == ("GET", "/orders", ["open"])
    assert view.url == "https://abcdef123.execute-api.eu-west-1.amazonaws.com/orders?status=open"
    assert view.header("HOST") == ["abcdef123.execute-api.eu-west-1.amazonaws.com"]


def test_the_view_of_a_rest_token_event() -> None:
    view = LambdaRequestView(load_event("authorizer_rest_token", "t"))
    assert (view.method, view.path, view.query_string) == ("GET", "/orders/42", "")
    assert view.url == "https://s4x3opwd6i.execute-api.eu-west-1.amazonaws.com/prod/orders/42"
    assert view.header("authorization") == []  # a TOKEN event carries the token alone
    assert view.cookie("session") is None


def test_the_view_of_a_token_event_in_other_partitions() -> None:
    event = load_event("authorizer_rest_token", "t")
    event["methodArn"] = "arn:aws-eusc:execute-api:eusc-de-east-1:123456789012:s4x3opwd6i/prod/GET/orders"
    assert (
        LambdaRequestView(event).url
        == "https://s4x3opwd6i.execute-api.eusc-de-east-1.amazonaws.eu/prod/orders"
    )
    event["methodArn"] = "arn:aws-cn:execute-api:cn-north-1:123456789012:s4x3opwd6i/prod/GET/orders"
    assert LambdaRequestView(event).url.startswith(
        "https://s4x3opwd6i.execute-api.cn-north-1.amazonaws.com.cn/"
    )
    event["methodArn"] = "arn:aws:execute-api:nowhere-1:123456789012:s4x3opwd6i/prod/GET/orders"
    assert LambdaRequestView(event).url.startswith("https://s4x3opwd6i.execute-api.nowhere-1.amazonaws.com/")


def test_a_malformed_event_reads_as_an_empty_request() -> None:
    view = LambdaRequestView({"version": "2.0", "headers": "nope", "requestContext": []})
    assert (view.method, view.path, view.header("host"), view.query("x")) == ("GET", "/", [], [])
    assert view.url == "https:///"
