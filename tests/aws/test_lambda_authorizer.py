"""``lambda_authorizer``: events shaped like AWS's samples in, the answers API Gateway requires out.

What API Gateway does with each answer is in ``jwt_middleware.integrations.aws_lambda``: on a REST
API a raised ``Unauthorized`` is a 401, a policy's ``Deny`` a 403; on an HTTP API a simple
response ``isAuthorized: false`` or a ``Deny`` is a 403. Cached policies are replayed across
routes in ``test_authorizer_cache.py``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import pytest

from jwt_middleware import ConfigurationError, JWTVerifier
from jwt_middleware.integrations.aws_lambda import Unauthorized, default_context, lambda_authorizer
from jwt_middleware.testing import LocalIssuer

from .conftest import load_event
from .iam import evaluate

ROUTES = {
    "GET /orders": ["orders:read", "orders:admin"],
    "GET /orders/{id}": ["orders:read"],
    "POST /orders": ["orders:write"],
    "ANY /health": [],
}
REST_EVENTS = ("authorizer_rest_token", "authorizer_rest_request")
HTTP_EVENTS = ("authorizer_http_v1_request", "authorizer_http_v2_request")


def at(event: dict[str, Any], route: str) -> dict[str, Any]:
    """``event`` for the request ``"METHOD /path"``, changed everywhere the event says it."""
    method, _, path = route.partition(" ")
    changed = copy.deepcopy(event)
    key = "routeArn" if changed.get("version") == "2.0" else "methodArn"
    prefix = changed[key].split("/", 2)
    changed[key] = f"{prefix[0]}/{prefix[1]}/{method}{path}"
    if changed.get("version") == "2.0":
        changed["routeKey"] = route
        changed["rawPath"] = path
        changed["requestContext"]["http"].update(method=method, path=path)
    elif changed.get("type") == "REQUEST":
        changed.update(httpMethod=method, path=path, resource=path)
    return changed


def statements(response: dict[str, Any]) -> dict[str, list[str]]:
    """``{effect: resources}`` of a policy response, checking the statements' shape."""
    assert response["policyDocument"]["Version"] == "2012-10-17"
    found: dict[str, list[str]] = {}
    for statement in response["policyDocument"]["Statement"]:
        assert statement["Action"] == "execute-api:Invoke"
        assert statement["Effect"] not in found
        assert isinstance(statement["Resource"], list)
        assert statement["Resource"]
        found[statement["Effect"]] = statement["Resource"]
    return found


def allowed(response: dict[str, Any], event: dict[str, Any]) -> bool:
    """What API Gateway does with ``response`` for the request ``event`` describes."""
    if "isAuthorized" in response:
        assert set(response) <= {"isAuthorized", "context"}
        return bool(response["isAuthorized"])
    arn = event["routeArn"] if event.get("version") == "2.0" else event["methodArn"]
    return evaluate(response, arn)


# -- a valid token: the answer for every event shape ----------------------------------------------------


def test_v2_simple_response_allows_with_a_json_context(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    token = issuer.mint(sub="alice", scope="orders:read", groups=["admins", "ops"])
    response = handler(load_event("authorizer_http_v2_request", token), None)
    assert response == {
        "isAuthorized": True,
        "context": {
            "sub": "alice",
            "iss": issuer.issuer,
            "scope": "orders:read",
            "groups": ["admins", "ops"],
        },
    }


def test_v2_denies_a_route_whose_scopes_the_token_lacks(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    event = load_event("authorizer_http_v2_request", issuer.mint(sub="alice", scope="orders:read"))
    response = handler(at(event, "POST /orders"), None)
    assert response["isAuthorized"] is False
    assert response["context"]["sub"] == "alice"  # a valid token: the same context on every route


@pytest.mark.parametrize("name", [*REST_EVENTS, *HTTP_EVENTS])
def test_route_fallbacks_and_unlisted_routes(issuer: LocalIssuer, verifier: JWTVerifier, name: str) -> None:
    event = load_event(name, issuer.mint(scope="profile"))
    handler = lambda_authorizer(verifier, routes=ROUTES)
    assert allowed(handler(at(event, "GET /health"), None), at(event, "GET /health"))  # ANY /health
    assert allowed(handler(at(event, "PATCH /health"), None), at(event, "PATCH /health"))
    assert not allowed(handler(at(event, "DELETE /orders"), None), at(event, "DELETE /orders"))  # unlisted
    with_default = lambda_authorizer(verifier, routes={**ROUTES, "$default": ["profile"]})
    assert allowed(with_default(at(event, "DELETE /orders"), None), at(event, "DELETE /orders"))
    assert not allowed(with_default(at(event, "POST /orders"), None), at(event, "POST /orders"))


def test_without_routes_any_valid_token_is_enough(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier)
    event = at(load_event("authorizer_http_v2_request", issuer.mint()), "DELETE /anything")
    assert handler(event, None)["isAuthorized"] is True


def test_v2_iam_policy_when_simple_responses_are_off(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES, simple_responses=False)
    event = load_event(
        "authorizer_http_v2_request", issuer.mint(sub="ann", scope="orders:admin", groups=["a"])
    )
    response = handler(event, None)
    assert set(response) == {"principalId", "policyDocument", "context"}
    assert response["principalId"] == "ann"
    assert allowed(response, event)
    assert not allowed(response, at(event, "GET /orders/42"))  # orders:admin is not enough there
    assert response["context"]["groups"] == ["a"]  # payload 2.0: arrays stay arrays


def test_v1_request_event_gets_a_policy_and_a_flat_context(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    event = load_event(
        "authorizer_http_v1_request", issuer.mint(sub="bo", scope="orders:read", groups=["a", "b"])
    )
    response = handler(event, None)
    assert allowed(response, event)
    assert response["principalId"] == "bo"
    assert response["context"]["groups"] == "[a b]"
    assert all(isinstance(value, str) for value in response["context"].values())


def test_rest_token_event_finds_the_templated_route_of_its_concrete_path(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    """A TOKEN event only has ``methodArn``, with the concrete path: ``/orders/42``."""
    token = issuer.mint(scope="orders:read")
    handler = lambda_authorizer(verifier, routes=ROUTES)
    event = load_event("authorizer_rest_token", token)
    assert event["methodArn"].endswith("/GET/orders/42")
    assert allowed(handler(event, None), event)
    event["authorizationToken"] = token  # the identity source may hold the token alone
    assert allowed(handler(event, None), event)
    greedy = lambda_authorizer(verifier, routes={"GET /orders/{proxy+}": ["orders:read"]})
    assert allowed(greedy(at(event, "GET /orders/42/items/7"), None), at(event, "GET /orders/42/items/7"))
    assert not allowed(greedy(at(event, "GET /orders"), None), at(event, "GET /orders"))


def test_rest_request_event_with_a_valid_token_lacking_the_scope_gets_a_deny(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    handler = lambda_authorizer(verifier, routes=ROUTES)
    event = load_event("authorizer_rest_request", issuer.mint(sub="cy", scope="orders:write"))
    response = handler(event, None)  # GET /orders/{id}: orders:read
    assert not allowed(response, event)  # 403, not 401: the token is fine, the route is not its
    assert response["principalId"] == "cy"
    assert allowed(response, at(event, "POST /orders"))


def test_m2m_tokens_use_the_client_as_principal() -> None:
    with LocalIssuer.cognito(user_pool_id="eu-west-1_Lambda123", client_id="machine") as pool:
        cognito = pool.verifier(token_use="access")
        handler = lambda_authorizer(cognito, routes={"GET /orders/{id}": ["orders/read"]})
        event = load_event("authorizer_rest_request", pool.mint_m2m_access_token(scopes=["orders/read"]))
        response = handler(event, None)
        assert allowed(response, event)
        assert response["principalId"] == "machine"
        assert response["context"]["client_id"] == "machine"
        assert response["context"]["scope"] == "orders/read"


# -- 401 versus 403 ------------------------------------------------------------------------------------

BAD_TOKENS: dict[str, Callable[[LocalIssuer], str]] = {
    "expired": lambda issuer: issuer.mint_expired(),
    "not-yet-valid": lambda issuer: issuer.mint_not_yet_valid(),
    "wrong-audience": lambda issuer: issuer.mint(aud="other"),
    "wrong-issuer": lambda issuer: issuer.mint_wrong_issuer(),
    "bad-signature": lambda issuer: issuer.mint_bad_signature(),
    "unknown-key": lambda issuer: issuer.mint_unknown_key(),
    "unsigned": lambda issuer: issuer.mint_unsigned(),
    "garbage": lambda issuer: "e30.e30.e30",
    "not-a-jwt": lambda issuer: "definitely-not-a-jwt",
}


@pytest.mark.parametrize("name", REST_EVENTS)
@pytest.mark.parametrize("bad", sorted(BAD_TOKENS))
def test_rest_apis_get_unauthorized_for_a_bad_token_logged_without_it(
    issuer: LocalIssuer, verifier: JWTVerifier, name: str, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = BAD_TOKENS[bad](issuer)
    caplog.set_level(logging.INFO, logger="jwt_middleware")
    with pytest.raises(Unauthorized) as caught:
        lambda_authorizer(verifier, routes=ROUTES)(load_event(name, token), None)
    # API Gateway's contract: the error message is exactly "Unauthorized" (then 401).
    assert str(caught.value) == "Unauthorized"
    assert caught.value.args == ("Unauthorized",)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert caught.value.code  # the reason, for metrics
    assert caplog.records
    for record in caplog.records:
        message = record.getMessage()
        for segment in token.split("."):
            assert not segment or segment not in message


def test_rest_apis_get_unauthorized_without_a_token_or_with_a_malformed_header(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    handler = lambda_authorizer(verifier)
    token_event = load_event("authorizer_rest_token", "x")
    token_event["authorizationToken"] = ""
    request = load_event("authorizer_rest_request", issuer.mint())
    del request["headers"]["Authorization"], request["multiValueHeaders"]["Authorization"]
    twice = load_event("authorizer_rest_request", issuer.mint())
    twice["multiValueHeaders"]["Authorization"] *= 2
    basic = load_event("authorizer_rest_request", "x")
    basic["headers"]["Authorization"] = basic["multiValueHeaders"]["Authorization"][0] = "Basic dXNlcjpwYXNz"
    for event in (token_event, request, twice, basic):
        with pytest.raises(Unauthorized):
            handler(event, None)


@pytest.mark.parametrize("bad", ["expired", "garbage", "wrong-audience"])
def test_http_apis_get_a_deny_for_a_bad_token(issuer: LocalIssuer, verifier: JWTVerifier, bad: str) -> None:
    """HTTP APIs offer no 401 from the function: ``isAuthorized: false`` (or a Deny) is their 403."""
    token = BAD_TOKENS[bad](issuer)
    handler = lambda_authorizer(verifier, routes=ROUTES)
    v2 = load_event("authorizer_http_v2_request", token)
    assert handler(v2, None) == {"isAuthorized": False, "context": {}}
    for event in (load_event("authorizer_http_v1_request", token), v2):
        response = lambda_authorizer(verifier, simple_responses=False)(event, None)
        assert response["principalId"] == "anonymous"
        assert "context" not in response
        prefix = (event["routeArn"] if "routeArn" in event else event["methodArn"]).split("/", 2)
        assert statements(response) == {"Deny": [f"{prefix[0]}/{prefix[1]}/*"]}


def test_an_insufficient_scope_from_the_verifier_itself_is_a_deny_not_a_401() -> None:
    with LocalIssuer.cognito(user_pool_id="eu-west-1_Scopes123", client_id="app") as pool:
        strict = pool.verifier(token_use="access", scopes=["orders/read"])
        event = load_event("authorizer_rest_token", pool.mint_access_token(scopes=["openid"]))
        response = lambda_authorizer(strict)(event, None)
        assert statements(response) == {"Deny": [event["methodArn"].rsplit("/GET/", 1)[0] + "/*"]}


@pytest.mark.parametrize(
    "event",
    [
        None,
        "junk",
        [],
        {},
        {"version": "2.0", "identitySource": None, "headers": None},
        {"version": "2.0", "identitySource": [1], "headers": {"authorization": 7}},
        {"version": "2.0", "routeKey": 7, "headers": {"authorization": "Bearer a.b.c"}},
        {"version": "1.0", "type": "REQUEST", "headers": {"authorization": ["list"]}},
        {"version": "1.0", "type": "REQUEST", "methodArn": 5, "headers": {}},
    ],
)
def test_malformed_http_events_are_denied_not_raised(verifier: JWTVerifier, event: Any) -> None:
    for simple in (True, False):
        response = lambda_authorizer(verifier, routes=ROUTES, simple_responses=simple)(event, None)
        if "isAuthorized" in response:
            assert response["isAuthorized"] is False
        else:
            assert set(statements(response)) == {"Deny"}


def test_a_valid_token_in_an_event_without_a_method_arn_is_denied(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    for name in ("authorizer_rest_request", "authorizer_http_v1_request"):
        event = load_event(name, issuer.mint(scope="orders:read"))
        event["methodArn"] = "arn:aws:execute-api:eu-west-1:123456789012:api/stage/FETCH/orders"
        assert statements(lambda_authorizer(verifier, routes=ROUTES)(event, None)) == {"Deny": ["*"]}
        del event["methodArn"]
        assert statements(lambda_authorizer(verifier)(event, None)) == {"Deny": ["*"]}


# -- identity sources --------------------------------------------------------------------------------


def test_the_sam_request_event_with_its_headerauth1_identity_source(
    issuer: LocalIssuer, verifier: JWTVerifier
) -> None:
    token = issuer.mint(scope="orders:read")
    event = load_event("authorizer_rest_request_headerauth", token)
    assert "Authorization" not in event["headers"]
    handler = lambda_authorizer(verifier, identity_sources="method.request.header.HeaderAuth1")
    assert allowed(handler(event, None), event)
    with pytest.raises(Unauthorized):  # by default the token is in Authorization, absent here
        lambda_authorizer(verifier)(event, None)
    several = lambda_authorizer(
        verifier,
        identity_sources=["method.request.header.HeaderAuth1", "method.request.querystring.QueryString1"],
    )
    assert allowed(several(event, None), event)


def test_v2_custom_header_plus_route_key(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    token = issuer.mint(scope="orders:read")
    event = load_event("authorizer_http_v2_request", token)
    del event["headers"]["authorization"]
    event["headers"]["headerauth1"] = token
    event["identitySource"] = [token, event["routeKey"]]
    handler = lambda_authorizer(
        verifier, routes=ROUTES, identity_sources=["$request.header.HeaderAuth1", "$context.routeKey"]
    )
    assert handler(event, None)["isAuthorized"] is True
    assert lambda_authorizer(verifier, routes=ROUTES)(event, None)["isAuthorized"] is False


@pytest.mark.parametrize("name", ["authorizer_http_v2_request", "authorizer_rest_request"])
def test_a_query_string_identity_source(issuer: LocalIssuer, verifier: JWTVerifier, name: str) -> None:
    token = issuer.mint(scope="orders:read")
    event = load_event(name, "not-here")
    for headers in ("headers", "multiValueHeaders"):
        event.get(headers, {}).pop("authorization", None)
        event.get(headers, {}).pop("Authorization", None)
    if name.endswith("v2_request"):
        event["rawQueryString"] = f"status=open&token={token}"
        expression = "$request.querystring.token"
    else:
        event["queryStringParameters"] = {"token": token}
        event["multiValueQueryStringParameters"] = {"token": [token]}
        expression = "method.request.querystring.token"
    handler = lambda_authorizer(verifier, identity_sources=expression)
    assert allowed(handler(event, None), event)
    if name.endswith("v2_request"):
        event["rawQueryString"] += f"&token={token}"  # twice: refused, as a second header would be
        assert handler(event, None)["isAuthorized"] is False
    else:
        event["multiValueQueryStringParameters"] = {"token": [token, token]}
        with pytest.raises(Unauthorized):
            handler(event, None)


@pytest.mark.parametrize(
    "sources",
    [
        "Authorization",
        "$request.header.",
        "request.header.Authorization",
        "$request.body.token",
        "$context.routeKey",  # no source holding the token
        ["$stageVariables.tier", "$context.routeKey"],
        "$request.header.Bad Name",
        [],
        5,
    ],
)
def test_identity_sources_are_checked_at_configuration(verifier: JWTVerifier, sources: Any) -> None:
    with pytest.raises(ConfigurationError):
        lambda_authorizer(verifier, identity_sources=sources)


# -- usage plans ---------------------------------------------------------------------------------------


def test_usage_identifier_key_for_rest_apis(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    keys = {"alice": "key-of-alice-0123456789", "bo": None}
    handler = lambda_authorizer(verifier, usage_identifier_key=lambda claims: keys.get(claims.subject or ""))
    for name in REST_EVENTS:
        response = handler(load_event(name, issuer.mint(sub="alice")), None)
        assert response["usageIdentifierKey"] == "key-of-alice-0123456789"  # top level, beside the policy
        assert "usageIdentifierKey" not in response.get("context", {})  # not where API Gateway ignores it
        assert "usageIdentifierKey" not in handler(load_event(name, issuer.mint(sub="bo")), None)
    # HTTP APIs have no usage plans: the key is not sent.
    assert "usageIdentifierKey" not in handler(
        load_event("authorizer_http_v1_request", issuer.mint(sub="alice")), None
    )
    v2 = handler(load_event("authorizer_http_v2_request", issuer.mint(sub="alice")), None)
    assert set(v2) == {"isAuthorized", "context"}


@pytest.mark.parametrize("result", [RuntimeError("lookup failed"), 42, ""])
def test_a_failing_usage_key_function_is_a_deny(
    issuer: LocalIssuer, verifier: JWTVerifier, result: Any
) -> None:
    def usage_key(claims: Any) -> Any:
        if isinstance(result, Exception):
            raise result
        return result

    event = load_event("authorizer_rest_request", issuer.mint())
    response = lambda_authorizer(verifier, usage_identifier_key=usage_key)(event, None)
    assert not allowed(response, event)


# -- context -------------------------------------------------------------------------------------------


def test_context_values_rest_and_v1_flat_v2_as_json(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    def context(claims: Any) -> dict[str, Any]:
        return {
            "tenant": "acme",
            "level": 3,
            "admin": True,
            "roles": ["a", "b"],
            "plan": {"tier": 2},
            "none": None,
            "regions": {"eu-west-1", "eu-central-1", "af-south-1"},
        }

    for name in ("authorizer_http_v1_request", *REST_EVENTS):
        flat = lambda_authorizer(verifier, context=context)(load_event(name, issuer.mint()), None)
        assert flat["context"] == {
            "tenant": "acme",
            "level": 3,
            "admin": True,
            "roles": "[a b]",
            "plan": "map[tier:2]",
            "regions": "[af-south-1 eu-central-1 eu-west-1]",  # a set: sorted, the same on every call
        }
    for simple in (True, False):
        handler = lambda_authorizer(verifier, context=context, simple_responses=simple)
        typed = handler(load_event("authorizer_http_v2_request", issuer.mint()), None)
        assert typed["context"] == {
            "tenant": "acme",
            "level": 3,
            "admin": True,
            "roles": ["a", "b"],
            "plan": {"tier": 2},
            "regions": ["af-south-1", "eu-central-1", "eu-west-1"],
        }


def test_a_failing_context_builder_is_a_deny(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    def broken(claims: Any) -> dict[str, str]:
        raise RuntimeError("bug")

    handler = lambda_authorizer(verifier, context=broken)
    assert handler(load_event("authorizer_http_v2_request", issuer.mint()), None) == {
        "isAuthorized": False,
        "context": {},
    }
    event = load_event("authorizer_rest_request", issuer.mint())
    assert not allowed(handler(event, None), event)


def test_default_context_skips_absent_claims(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    claims = verifier.verify_sync(issuer.mint(sub="x"))
    assert default_context(claims) == {"sub": "x", "iss": issuer.issuer}


# -- configuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "routes",
    [
        {"orders": ["a"]},
        {"GET orders": ["a"]},
        {"FETCH /orders": ["a"]},
        {"GET /x": ["bad scope"]},
        {"GET /x": ['q"']},
        {"GET /orders/{id}": [], "GET /orders/{orderId}": []},  # one route, twice
        {"GET /{proxy+}/x": []},
        {"GET /orders/*": []},
        {"GET /orders/": []},
        {"GET /a//b": []},
        {"GET /x": {"scope": ["a"]}},
    ],
)
def test_route_tables_are_checked_at_configuration(verifier: JWTVerifier, routes: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        lambda_authorizer(verifier, routes=routes)


def test_route_methods_are_case_insensitive_in_the_table(issuer: LocalIssuer, verifier: JWTVerifier) -> None:
    handler = lambda_authorizer(verifier, routes={"get /orders": "orders:read"})
    event = load_event("authorizer_http_v2_request", issuer.mint(scope="orders:read"))
    assert handler(event, None)["isAuthorized"] is True


def test_v2_simple_responses_warn_once_when_the_route_key_is_no_identity_source(
    issuer: LocalIssuer, verifier: JWTVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jwt_middleware")
    event = load_event("authorizer_http_v2_request", issuer.mint(scope="orders:read"))
    keyed = copy.deepcopy(event)
    keyed["identitySource"].append(keyed["routeKey"])
    lambda_authorizer(verifier, routes=ROUTES)(keyed, None)
    assert not caplog.records
    lambda_authorizer(verifier, routes={"GET /orders": []})(event, None)  # one requirement: nothing to mix up
    assert not caplog.records
    handler = lambda_authorizer(verifier, routes=ROUTES)
    handler(event, None)
    handler(event, None)
    assert len([record for record in caplog.records if "$context.routeKey" in record.getMessage()]) == 1


# -- the verifier's life in Lambda ----------------------------------------------------------------------


def test_warm_invocations_reuse_the_verifier_keys() -> None:
    with LocalIssuer(audience="orders-api") as issuer:
        handler = lambda_authorizer(JWTVerifier.api_gateway(issuer=issuer.issuer, audience="orders-api"))
        for _ in range(5):
            assert handler(load_event("authorizer_http_v2_request", issuer.mint()), None)["isAuthorized"]
        assert issuer.jwks_requests == 1


@pytest.mark.anyio
async def test_called_on_an_event_loop_it_denies_instead_of_blocking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with LocalIssuer(audience="orders-api") as issuer:
        handler = lambda_authorizer(JWTVerifier.api_gateway(issuer=issuer.issuer, audience="orders-api"))
        response = handler(load_event("authorizer_http_v2_request", issuer.mint()), None)
    assert response["isAuthorized"] is False
    assert any("BlockingCallError" in record.getMessage() for record in caplog.records)
