"""``lambda_authorizer``: real-shaped HTTP and REST API events in, AWS-shaped answers out, never a raise."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jwt_middleware import ConfigurationError, JWTVerifier
from jwt_middleware.integrations.aws_lambda import default_context, lambda_authorizer
from jwt_middleware.testing import LocalIssuer

from .conftest import load_event

ROUTES = {
    "GET /orders": ["orders:read", "orders:admin"],
    "GET /orders/{id}": ["orders:read"],
    "POST /orders": ["orders:write"],
    "ANY /health": [],
}


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience="orders-api") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def verifier(provider: LocalIssuer) -> JWTVerifier:
    """Built once, like a module-level verifier in a Lambda: warm invocations reuse its keys."""
    return JWTVerifier.api_gateway(issuer=provider.issuer, audience="orders-api")


def policy_effect(response: dict[str, Any]) -> str:
    statements = response["policyDocument"]["Statement"]
    assert len(statements) == 1
    assert statements[0]["Action"] == "execute-api:Invoke"
    effect: str = statements[0]["Effect"]
    return effect


# -- HTTP API, payload format 2.0 --------------------------------------------------------------------


def test_v2_simple_response_allows_with_a_string_context(
    provider: LocalIssuer, verifier: JWTVerifier
) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    token = provider.mint(sub="alice", scope="orders:read", groups=["admins"])
    response = handler(load_event("authorizer_http_v2_request", token), None)
    assert response["isAuthorized"] is True
    assert response["context"] == {
        "sub": "alice",
        "iss": provider.issuer,
        "scope": "orders:read",
        "groups": "[admins]",
    }
    assert set(response) == {"isAuthorized", "context"}


def test_v2_denies_a_route_whose_scopes_the_token_lacks(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    event = load_event("authorizer_http_v2_request", provider.mint(scope="orders:read"))
    event["routeKey"] = "POST /orders"
    assert handler(event, None) == {"isAuthorized": False, "context": {}}


def test_v2_route_fallbacks_and_unlisted_routes(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    token = provider.mint(scope="profile")
    event = load_event("authorizer_http_v2_request", token)
    handler = lambda_authorizer(verifier, routes=ROUTES)
    event["routeKey"] = "GET /health"  # ANY /health: any valid token
    assert handler(event, None)["isAuthorized"] is True
    event["routeKey"] = "DELETE /orders"  # not listed: denied
    assert handler(event, None)["isAuthorized"] is False
    with_default = lambda_authorizer(verifier, routes={**ROUTES, "$default": ["profile"]})
    assert with_default(event, None)["isAuthorized"] is True
    event["routeKey"] = "$default"
    assert with_default(event, None)["isAuthorized"] is True


def test_without_routes_any_valid_token_is_enough(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier)
    event = load_event("authorizer_http_v2_request", provider.mint())
    event["routeKey"] = "DELETE /anything"
    assert handler(event, None)["isAuthorized"] is True


def test_v2_iam_policy_when_simple_responses_are_off(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES, simple_responses=False)
    event = load_event("authorizer_http_v2_request", provider.mint(sub="ann", scope="orders:admin"))
    response = handler(event, None)
    assert policy_effect(response) == "Allow"
    assert response["principalId"] == "ann"
    assert response["policyDocument"]["Version"] == "2012-10-17"
    assert response["policyDocument"]["Statement"][0]["Resource"] == event["routeArn"]
    assert all(isinstance(value, str) for value in response["context"].values())


def test_v2_token_from_the_authorization_header_when_there_are_several_identity_sources(
    provider: LocalIssuer, verifier: JWTVerifier
) -> None:
    event = load_event("authorizer_http_v2_request", provider.mint(scope="orders:read"))
    event["identitySource"] = [event["headers"]["authorization"], "GET /orders"]
    assert lambda_authorizer(verifier, routes=ROUTES)(event, None)["isAuthorized"] is True


# -- HTTP API 1.0 and REST API events: IAM policies --------------------------------------------------


def test_v1_request_event_gets_a_policy_on_the_method_arn(
    provider: LocalIssuer, verifier: JWTVerifier
) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    event = load_event("authorizer_http_v1_request", provider.mint(sub="bo", scope="orders:read"))
    response = handler(event, None)
    assert policy_effect(response) == "Allow"
    assert response["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]
    assert response["principalId"] == "bo"


def test_rest_token_event_maps_the_request_path(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    token = provider.mint(scope="orders:read")
    handler = lambda_authorizer(verifier, routes={"GET /orders/42": ["orders:read"]})
    event = load_event("authorizer_rest_token", token)
    assert policy_effect(handler(event, None)) == "Allow"
    event["authorizationToken"] = token  # the identity source may hold the token alone
    response = handler(event, None)
    assert policy_effect(response) == "Allow"
    assert response["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]


def test_rest_request_event_maps_the_resource_template(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    allowed = load_event("authorizer_rest_request", provider.mint(scope="orders:read"))
    assert policy_effect(handler(allowed, None)) == "Allow"
    denied = load_event("authorizer_rest_request", provider.mint(scope="orders:write"))
    response = handler(denied, None)
    assert policy_effect(response) == "Deny"
    assert response["principalId"] == "anonymous"
    assert "context" not in response


def test_rest_request_with_two_authorization_headers_is_denied(
    provider: LocalIssuer, verifier: JWTVerifier
) -> None:
    token = provider.mint(scope="orders:read")
    event = load_event("authorizer_rest_request", token)
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}", f"Bearer {token}"]
    assert policy_effect(lambda_authorizer(verifier, routes=ROUTES)(event, None)) == "Deny"


def test_allow_all_methods_allows_the_stage_wildcard(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, allow_all_methods=True)
    event = load_event("authorizer_rest_request", provider.mint())
    response = handler(event, None)
    assert response["policyDocument"]["Statement"][0]["Resource"] == (
        "arn:aws:execute-api:eu-west-1:123456789012:s4x3opwd6i/prod/*"
    )
    denied = handler(load_event("authorizer_rest_request", "x.y.z"), None)
    assert denied["policyDocument"]["Statement"][0]["Resource"] == event["methodArn"]


def test_allow_all_methods_cannot_be_combined_with_route_scopes(verifier: JWTVerifier) -> None:
    with pytest.raises(ConfigurationError):
        lambda_authorizer(verifier, routes=ROUTES, allow_all_methods=True)


@pytest.mark.parametrize(
    "routes", [{"orders": ["a"]}, {"GET orders": ["a"]}, {"GET /x": ["bad scope"]}, {"GET /x": ['q"']}]
)
def test_route_tables_are_checked_at_configuration(verifier: JWTVerifier, routes: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        lambda_authorizer(verifier, routes=routes)


def test_route_methods_are_case_insensitive_in_the_table(
    provider: LocalIssuer, verifier: JWTVerifier
) -> None:
    handler = lambda_authorizer(verifier, routes={"get /orders": "orders:read"})
    event = load_event("authorizer_http_v2_request", provider.mint(scope="orders:read"))
    assert handler(event, None)["isAuthorized"] is True


# -- never raises; logs without token content --------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        None,
        "junk",
        [],
        {},
        {"type": "TOKEN"},
        {"type": "TOKEN", "authorizationToken": "", "methodArn": "arn:aws:execute-api:r:1:a/s/GET/x"},
        {"type": "TOKEN", "authorizationToken": "Basic dXNlcjpwYXNz", "methodArn": 5},
        {"version": "2.0", "identitySource": None, "headers": None},
        {"version": "2.0", "identitySource": [1]},
        {"version": "2.0", "routeKey": 7, "identitySource": ["a.b.c"]},
        {"type": "REQUEST", "headers": {"authorization": ["list"]}},
    ],
)
def test_malformed_events_are_denied_not_raised(verifier: JWTVerifier, event: Any) -> None:
    for simple in (True, False):
        response = lambda_authorizer(verifier, simple_responses=simple)(event, None)
        if "isAuthorized" in response:
            assert response["isAuthorized"] is False
        else:
            assert policy_effect(response) == "Deny"


@pytest.mark.parametrize(
    "bad",
    ["expired", "wrong-audience", "bad-signature", "unknown-key", "unsigned", "garbage"],
)
def test_every_bad_token_is_a_deny_logged_without_the_token(
    provider: LocalIssuer, verifier: JWTVerifier, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    builders: dict[str, Callable[[], str]] = {
        "expired": provider.mint_expired,
        "wrong-audience": lambda: provider.mint(aud="other"),
        "bad-signature": provider.mint_bad_signature,
        "unknown-key": provider.mint_unknown_key,
        "unsigned": provider.mint_unsigned,
        "garbage": lambda: "e30.e30.e30",
    }
    token = builders[bad]()
    caplog.set_level(logging.INFO, logger="jwt_middleware")
    response = lambda_authorizer(verifier)(load_event("authorizer_http_v2_request", token), None)
    assert response == {"isAuthorized": False, "context": {}}
    assert caplog.records
    for record in caplog.records:
        message = record.getMessage()
        assert token not in message
        for segment in token.split("."):
            assert not segment or segment not in message


def test_a_failing_context_builder_or_a_bug_is_a_deny(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    def broken(claims: Any) -> dict[str, str]:
        raise RuntimeError("bug")

    handler = lambda_authorizer(verifier, context=broken)
    event = load_event("authorizer_http_v2_request", provider.mint())
    assert handler(event, None) == {"isAuthorized": False, "context": {}}


def test_custom_context_values_are_kept_scalar(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(
        verifier,
        simple_responses=False,
        context=lambda claims: {
            "tenant": "acme",
            "level": 3,
            "admin": True,
            "roles": ["a", "b"],
            "none": None,
        },
    )
    response = handler(load_event("authorizer_http_v1_request", provider.mint()), None)
    assert response["context"] == {"tenant": "acme", "level": 3, "admin": True, "roles": "[a b]"}


def test_m2m_tokens_use_the_client_as_principal(verifier: JWTVerifier) -> None:
    with LocalIssuer.cognito(user_pool_id="eu-west-1_Lambda123", client_id="machine") as pool:
        cognito = JWTVerifier.cognito(
            user_pool_id=pool.user_pool_id, client_id="machine", token_use="access", jwks_url=pool.jwks_url
        )
        handler = lambda_authorizer(cognito, routes={"GET /orders/{id}": ["orders/read"]})
        token = pool.mint_m2m_access_token(scopes=["orders/read"])
        response = handler(load_event("authorizer_rest_request", token), None)
        assert policy_effect(response) == "Allow"
        assert response["principalId"] == "machine"
        assert response["context"]["client_id"] == "machine"
        assert response["context"]["scope"] == "orders/read"


def test_warm_invocations_reuse_the_verifier_keys() -> None:
    with LocalIssuer(audience="orders-api") as provider:
        handler = lambda_authorizer(JWTVerifier.api_gateway(issuer=provider.issuer, audience="orders-api"))
        for _ in range(5):
            assert handler(load_event("authorizer_http_v2_request", provider.mint()), None)["isAuthorized"]
        assert provider.jwks_requests == 1


@pytest.mark.anyio
async def test_called_on_an_event_loop_it_denies_instead_of_blocking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with LocalIssuer(audience="orders-api") as provider:
        handler = lambda_authorizer(JWTVerifier.api_gateway(issuer=provider.issuer, audience="orders-api"))
        response = handler(load_event("authorizer_http_v2_request", provider.mint()), None)
    assert response["isAuthorized"] is False
    assert any("BlockingCallError" in record.getMessage() for record in caplog.records)


def test_default_context_skips_absent_claims(provider: LocalIssuer, verifier: JWTVerifier) -> None:
    claims = verifier.verify_sync(provider.mint(sub="x"))
    assert default_context(claims) == {"sub": "x", "iss": provider.issuer}
